// Setting properties of a top-level node in a blob in place, in a buffer with room after the
// blob (Devicetree Specification v0.4, ch. 5): what the kernel's EFI stub does to its copy of
// the firmware's FDT before it hands it to the kernel, as Linux's stub does with libfdt's
// fdt_open_into and fdt_setprop (drivers/firmware/efi/libstub/fdt.c, 6.1). The result is the
// blob `FDTEditor` (the host's, over arrays) makes from the same edits, with totalsize the room.
// Runs in the stub before relocation: no allocation, aligned 32-bit accesses, bytes moved one
// at a time.

public struct FDTWriter {
    public let base: UnsafeMutableRawPointer
    public let capacity: Int

    /// Opens the blob at `base` (4-byte aligned) in a buffer of `capacity` bytes and makes all of
    /// the buffer its totalsize. The blocks must be in the usual order (reservation map,
    /// structure, strings), which is what lets the structure grow into the strings' place.
    public init(at base: UnsafeMutableRawPointer, capacity: Int) throws(SlideError) {
        let fdt = try FDT(at: base, limit: capacity)
        guard Self.be32(base, 16) <= fdt.structOffset, fdt.structOffset + fdt.structSize <= fdt.stringsOffset else {
            throw .unsupported("FDT block order (reservation map, structure, strings), off_dt_strings", value: UInt64(fdt.stringsOffset))
        }
        self.base = base
        self.capacity = capacity
        setBE32(UInt32(truncatingIfNeeded: capacity), at: 4)
    }

    static func be32(_ p: UnsafeRawPointer, _ o: Int) -> Int { Int(UInt32(bigEndian: p.load(fromByteOffset: o, as: UInt32.self))) }
    func be32(_ o: Int) -> Int { Self.be32(base, o) }
    func setBE32(_ v: UInt32, at o: Int) { base.storeBytes(of: v.bigEndian, toByteOffset: o, as: UInt32.self) }
    func byte(_ o: Int) -> UInt8 { base.load(fromByteOffset: o, as: UInt8.self) }

    var structOffset: Int { be32(8) }
    var stringsOffset: Int { be32(12) }
    var stringsSize: Int { be32(32) }
    var structSize: Int { be32(36) }
    /// One past the strings block: the end of what the blob uses.
    public var usedSize: Int { stringsOffset + stringsSize }

    /// Sets `node`'s property `name` to the `length` bytes at `value`: in place when the padded
    /// size is the same, else removed and inserted at the same place (or first in the node when new).
    public func setProperty(node: StaticString, name: StaticString, value: UnsafeRawPointer, length: Int) throws(SlideError) {
        let (first, existing) = try locate(node: node, name: name)
        let size = 12 + (length + 3) & ~3
        guard let old = existing else {
            let known = findString(name)
            let grows = size + (known == nil ? name.utf8CodeUnitCount + 1 : 0)
            guard usedSize + grows <= capacity else { throw .truncated("FDT room for property", offset: usedSize, size: grows, available: capacity) }
            insert(at: first, nameOffset: known ?? appendString(name), value: value, length: length)
            return
        }
        let oldSize = 12 + (be32(old + 4) + 3) & ~3
        if oldSize == size { return writeRecord(at: old, nameOffset: be32(old + 8), value: value, length: length) }
        guard usedSize - oldSize + size <= capacity else { throw .truncated("FDT room for property", offset: usedSize, size: size - oldSize, available: capacity) }
        let nameOffset = be32(old + 8)
        move(from: old + oldSize, to: old, count: usedSize - old - oldSize)
        setBE32(UInt32(structSize - oldSize), at: 36)
        setBE32(UInt32(stringsOffset - oldSize), at: 12)
        insert(at: old, nameOffset: nameOffset, value: value, length: length)
    }

    /// Opens `12 + padded length` bytes at `at` in the structure block and writes the property there.
    func insert(at: Int, nameOffset: Int, value: UnsafeRawPointer, length: Int) {
        let size = 12 + (length + 3) & ~3
        move(from: at, to: at + size, count: usedSize - at)
        writeRecord(at: at, nameOffset: nameOffset, value: value, length: length)
        setBE32(UInt32(structSize + size), at: 36)
        setBE32(UInt32(stringsOffset + size), at: 12)
    }

    /// A big-endian 64-bit property, as Linux's stub writes kaslr-seed and linux,uefi-*.
    public func setU64(node: StaticString, name: StaticString, _ v: UInt64) throws(SlideError) {
        var be = v.bigEndian
        try withUnsafeBytes(of: &be) { (b) throws(SlideError) in try setProperty(node: node, name: name, value: b.baseAddress!, length: 8) }
    }

    /// A big-endian 32-bit property (linux,uefi-mmap-desc-ver).
    public func setU32(node: StaticString, name: StaticString, _ v: UInt32) throws(SlideError) {
        var be = v.bigEndian
        try withUnsafeBytes(of: &be) { (b) throws(SlideError) in try setProperty(node: node, name: name, value: b.baseAddress!, length: 4) }
    }

    func writeRecord(at o: Int, nameOffset: Int, value: UnsafeRawPointer, length: Int) {
        setBE32(3, at: o)
        setBE32(UInt32(length), at: o + 4)
        setBE32(UInt32(nameOffset), at: o + 8)
        for i in 0..<((length + 3) & ~3) {
            base.storeBytes(of: i < length ? value.load(fromByteOffset: i, as: UInt8.self) : 0, toByteOffset: o + 12 + i, as: UInt8.self)
        }
    }

    /// Moves `count` bytes, overlapping or not, one at a time (no memmove before relocation).
    func move(from: Int, to: Int, count: Int) {
        guard count > 0, from != to else { return }
        if to < from {
            for i in 0..<count { base.storeBytes(of: byte(from + i), toByteOffset: to + i, as: UInt8.self) }
        } else {
            for i in stride(from: count - 1, through: 0, by: -1) { base.storeBytes(of: byte(from + i), toByteOffset: to + i, as: UInt8.self) }
        }
    }

    /// `name`'s offset in the strings block, if there.
    func findString(_ name: StaticString) -> Int? {
        var s = 0
        while s < stringsSize {
            if equals(stringsOffset + s, name, limit: usedSize) { return s }
            while s < stringsSize && byte(stringsOffset + s) != 0 { s += 1 }
            s += 1
        }
        return nil
    }

    /// Appends `name` to the strings block (the caller checked the room); its offset there.
    func appendString(_ name: StaticString) -> Int {
        let n = name.utf8CodeUnitCount
        for i in 0..<n { base.storeBytes(of: name.utf8Start[i], toByteOffset: usedSize + i, as: UInt8.self) }
        base.storeBytes(of: 0, toByteOffset: usedSize + n, as: UInt8.self)
        let offset = stringsSize
        setBE32(UInt32(stringsSize + n + 1), at: 32)
        return offset
    }

    /// The NUL-terminated string at `o` (ending before `limit`) is `s`.
    func equals(_ o: Int, _ s: StaticString, limit: Int) -> Bool {
        let n = s.utf8CodeUnitCount
        guard o + n < limit else { return false }
        for i in 0..<n where byte(o + i) != s.utf8Start[i] { return false }
        return byte(o + n) == 0
    }

    /// The top-level node `node`'s first property position, and its property `name` if present.
    func locate(node: StaticString, name: StaticString) throws(SlideError) -> (first: Int, existing: Int?) {
        let end = structOffset + structSize
        var o = structOffset, depth = 0
        var first: Int? = nil
        while o + 4 <= end {
            let token = be32(o), at = o
            o += 4
            switch token {
            case 1:
                let nameStart = o
                while o < end && byte(o) != 0 { o += 1 }
                guard o < end else { throw .truncated("FDT node name", offset: nameStart, size: 1, available: end) }
                depth += 1
                o = (o + 4) & ~3
                if first != nil { return (first!, nil) } // properties come before subnodes
                if depth == 2 && nodeNameMatches(nameStart, node) { first = o }
            case 2:
                if first != nil { return (first!, nil) }
                depth -= 1
                guard depth >= 0 else { throw .invalid("FDT END_NODE without a node at", value: UInt64(at)) }
            case 3:
                guard o + 8 <= end else { throw .truncated("FDT property", offset: o, size: 8, available: end) }
                let length = be32(o), nameOffset = be32(o + 4)
                guard length <= end - o - 8, nameOffset < stringsSize else { throw .invalid("FDT property at", value: UInt64(at)) }
                if first != nil && equals(stringsOffset + nameOffset, name, limit: usedSize) { return (first!, at) }
                o = (o + 8 + length + 3) & ~3
            case 4: continue
            default:
                if let first { return (first, nil) }
                throw .invalid("FDT: no such top-level node; token", value: UInt64(token))
            }
        }
        if let first { return (first, nil) }
        throw .invalid("FDT: no such top-level node; structure end", value: UInt64(end))
    }

    /// The node name at `nameStart` is `s` or `s@unit`.
    func nodeNameMatches(_ nameStart: Int, _ s: StaticString) -> Bool {
        let m = s.utf8CodeUnitCount
        for i in 0..<m where byte(nameStart + i) != s.utf8Start[i] { return false }
        let next = byte(nameStart + m)
        return next == 0 || next == UInt8(ascii: "@")
    }
}
