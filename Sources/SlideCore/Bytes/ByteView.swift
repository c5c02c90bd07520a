// Bounds-checked little-endian reads and writes over raw memory.
//
// Every file format in Slide is decoded field by field through these views; nothing overlays
// a Swift struct on file bytes. Bounds are checked in the overflow-safe form
// `offset <= count && size <= count - offset`, so hostile offsets and counts cannot wrap.
// The same code runs inside the kernel, where the view covers the loaded image.

/// A read-only window onto bytes, addressed from 0.
public struct ByteView {
    /// The first byte of the window.
    public let base: UnsafeRawPointer?
    /// The number of bytes in the window.
    public let count: Int

    @inlinable
    public init(_ buffer: UnsafeRawBufferPointer) {
        self.base = buffer.baseAddress
        self.count = buffer.count
    }

    @inlinable
    public init(start: UnsafeRawPointer?, count: Int) {
        self.base = start
        self.count = start == nil ? 0 : count
    }

    /// True when `[offset, offset + size)` lies inside the window.
    @inlinable @inline(__always)
    public func contains(offset: Int, size: Int) -> Bool {
        offset >= 0 && size >= 0 && offset <= count && size <= count - offset
    }

    @inlinable @inline(__always)
    func check(_ offset: Int, _ size: Int, _ what: StaticString) throws(SlideError) {
        guard contains(offset: offset, size: size) else {
            throw SlideError.truncated(what, offset: offset, size: size, available: count)
        }
    }

    @inlinable
    public func u8(at offset: Int, _ what: StaticString = "byte") throws(SlideError) -> UInt8 {
        try check(offset, 1, what)
        return base.unsafelyUnwrapped.load(fromByteOffset: offset, as: UInt8.self)
    }

    @inlinable
    public func u16(at offset: Int, _ what: StaticString = "16-bit field") throws(SlideError) -> UInt16 {
        try check(offset, 2, what)
        return UInt16(littleEndian: base.unsafelyUnwrapped.loadUnaligned(fromByteOffset: offset, as: UInt16.self))
    }

    @inlinable
    public func u32(at offset: Int, _ what: StaticString = "32-bit field") throws(SlideError) -> UInt32 {
        try check(offset, 4, what)
        return UInt32(littleEndian: base.unsafelyUnwrapped.loadUnaligned(fromByteOffset: offset, as: UInt32.self))
    }

    @inlinable
    public func u64(at offset: Int, _ what: StaticString = "64-bit field") throws(SlideError) -> UInt64 {
        try check(offset, 8, what)
        return UInt64(littleEndian: base.unsafelyUnwrapped.loadUnaligned(fromByteOffset: offset, as: UInt64.self))
    }

    /// Reads a 64-bit word the caller has already bounds-checked (hot loops check a whole range once).
    @inlinable @inline(__always)
    public func u64Unchecked(at offset: Int) -> UInt64 {
        UInt64(littleEndian: base.unsafelyUnwrapped.loadUnaligned(fromByteOffset: offset, as: UInt64.self))
    }

    /// Reads a 32-bit word the caller has already bounds-checked.
    @inlinable @inline(__always)
    public func u32Unchecked(at offset: Int) -> UInt32 {
        UInt32(littleEndian: base.unsafelyUnwrapped.loadUnaligned(fromByteOffset: offset, as: UInt32.self))
    }

    /// A sub-window `[offset, offset + size)`.
    @inlinable
    public func slice(offset: Int, size: Int, _ what: StaticString = "range") throws(SlideError) -> ByteView {
        try check(offset, size, what)
        return ByteView(start: base.map { $0 + offset }, count: size)
    }

    /// A sub-window addressed by 64-bit file values, which may not fit in `Int`.
    @inlinable
    public func slice(offset: UInt64, size: UInt64, _ what: StaticString = "range") throws(SlideError) -> ByteView {
        guard offset <= UInt64(count), size <= UInt64(count) - offset else {
            throw SlideError.truncated(what, offset: offset, size: size, available: UInt64(count))
        }
        return ByteView(start: base.map { $0 + Int(offset) }, count: Int(size))
    }

    /// True when the bytes at `offset` equal `expected`.
    public func matches(_ expected: StaticString, at offset: Int) -> Bool {
        let n = expected.utf8CodeUnitCount
        guard contains(offset: offset, size: n), let base else { return false }
        let e = expected.utf8Start
        for i in 0..<n where base.load(fromByteOffset: offset + i, as: UInt8.self) != e[i] { return false }
        return true
    }

    /// True when the window holds exactly `expected` (names compared without building a String).
    public func equals(_ expected: StaticString) -> Bool { count == expected.utf8CodeUnitCount && matches(expected, at: 0) }
    public func hasPrefix(_ expected: StaticString) -> Bool { matches(expected, at: 0) }
    public func hasSuffix(_ expected: StaticString) -> Bool { matches(expected, at: count - expected.utf8CodeUnitCount) }

    /// True when both windows hold the same bytes.
    public func equals(_ other: ByteView) -> Bool {
        guard count == other.count else { return false }
        for i in 0..<count where base.unsafelyUnwrapped.load(fromByteOffset: i, as: UInt8.self)
            != other.base.unsafelyUnwrapped.load(fromByteOffset: i, as: UInt8.self) { return false }
        return true
    }

    /// Byte-wise order (shorter first on a common prefix), as strcmp sorts names.
    public func compare(_ other: ByteView) -> Int {
        let n = min(count, other.count)
        for i in 0..<n {
            let a = base.unsafelyUnwrapped.load(fromByteOffset: i, as: UInt8.self)
            let b = other.base.unsafelyUnwrapped.load(fromByteOffset: i, as: UInt8.self)
            if a != b { return a < b ? -1 : 1 }
        }
        return count == other.count ? 0 : count < other.count ? -1 : 1
    }

    /// The bytes from `offset` up to (not including) the first NUL, or to the end.
    public func cString(at offset: Int) throws(SlideError) -> ByteView {
        guard offset >= 0, offset <= count else { throw SlideError.truncated("string", offset: offset, size: 1, available: count) }
        var end = offset
        while end < count, base.unsafelyUnwrapped.load(fromByteOffset: end, as: UInt8.self) != 0 { end += 1 }
        return ByteView(start: base.map { $0 + offset }, count: end - offset)
    }
}

/// A writable window onto bytes, addressed from 0.
public struct MutableByteView {
    public let base: UnsafeMutableRawPointer?
    public let count: Int

    @inlinable
    public init(_ buffer: UnsafeMutableRawBufferPointer) {
        self.base = buffer.baseAddress
        self.count = buffer.count
    }

    @inlinable
    public var readOnly: ByteView { ByteView(start: base.map { UnsafeRawPointer($0) }, count: count) }

    @inlinable @inline(__always)
    public func contains(offset: Int, size: Int) -> Bool {
        offset >= 0 && size >= 0 && offset <= count && size <= count - offset
    }

    @inlinable
    public func setU8(_ value: UInt8, at offset: Int, _ what: StaticString = "byte") throws(SlideError) {
        guard contains(offset: offset, size: 1) else { throw .truncated(what, offset: offset, size: 1, available: count) }
        base.unsafelyUnwrapped.storeBytes(of: value, toByteOffset: offset, as: UInt8.self)
    }

    @inlinable
    public func setU16(_ value: UInt16, at offset: Int, _ what: StaticString = "16-bit field") throws(SlideError) {
        guard contains(offset: offset, size: 2) else { throw .truncated(what, offset: offset, size: 2, available: count) }
        base.unsafelyUnwrapped.storeBytes(of: value.littleEndian, toByteOffset: offset, as: UInt16.self)
    }

    @inlinable
    public func setU32(_ value: UInt32, at offset: Int, _ what: StaticString = "32-bit field") throws(SlideError) {
        guard contains(offset: offset, size: 4) else { throw .truncated(what, offset: offset, size: 4, available: count) }
        base.unsafelyUnwrapped.storeBytes(of: value.littleEndian, toByteOffset: offset, as: UInt32.self)
    }

    @inlinable
    public func setU64(_ value: UInt64, at offset: Int, _ what: StaticString = "64-bit field") throws(SlideError) {
        guard contains(offset: offset, size: 8) else { throw .truncated(what, offset: offset, size: 8, available: count) }
        base.unsafelyUnwrapped.storeBytes(of: value.littleEndian, toByteOffset: offset, as: UInt64.self)
    }

    @inlinable @inline(__always)
    public func u64Unchecked(at offset: Int) -> UInt64 {
        UInt64(littleEndian: base.unsafelyUnwrapped.loadUnaligned(fromByteOffset: offset, as: UInt64.self))
    }

    @inlinable @inline(__always)
    public func setU64Unchecked(_ value: UInt64, at offset: Int) {
        base.unsafelyUnwrapped.storeBytes(of: value.littleEndian, toByteOffset: offset, as: UInt64.self)
    }
}

extension String {
    /// The bytes of a window (names in string tables, cpio members), decoded as UTF-8. A copy: the
    /// result lives on the heap, never at the window's address (see Text.swift for why that matters).
    public init(_ bytes: ByteView) {
        self = bytes.count == 0 ? "" : String(decoding: UnsafeRawBufferPointer(start: bytes.base, count: bytes.count), as: UTF8.self)
    }
}
