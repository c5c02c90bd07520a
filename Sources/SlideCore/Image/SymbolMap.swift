// The function symbols `slide mkimage` embeds in a Slide Image, for crash reports that name the
// faulting function (`function+0xoff`) without section headers or relocation.
//
// Written into the kernel's `slide_symtab` placeholder (magic "SLIDESYM", its size is the
// capacity), read by the kernel's exception vector PC-relatively. Every field is an image offset
// or an offset inside the map, so it reads the same at any address and needs no relocation:
//   0x00 magic "SLIDESYM"   0x08 u32 count   0x0c u32 strings offset (from the map's start)
//   0x10 count × { u32 image offset of the function, u32 name offset (from the strings) }, sorted
//   strings: NUL-terminated names

public struct SymbolMap {
    public static let magic: UInt64 = 0x4d59_5345_4449_4c53 // "SLIDESYM", little-endian
    public static let headerSize = 16, entrySize = 8
    public let bytes: ByteView
    public let count: Int
    let strings: Int

    /// The map in `bytes`, or nil when it is absent, empty or inconsistent.
    public init?(_ bytes: ByteView) {
        guard bytes.count >= Self.headerSize, bytes.u64Unchecked(at: 0) == Self.magic else { return nil }
        let n = Int(bytes.u32Unchecked(at: 8)), s = Int(bytes.u32Unchecked(at: 12))
        guard n > 0, n <= (bytes.count - Self.headerSize) / Self.entrySize, s >= Self.headerSize + n * Self.entrySize, s <= bytes.count else { return nil }
        self.bytes = bytes; count = n; strings = s
    }

    /// Image offset of entry `i`'s function.
    public func start(_ i: Int) -> UInt64 { UInt64(bytes.u32Unchecked(at: Self.headerSize + i * Self.entrySize)) }

    /// Entry `i`'s name (without its NUL), empty when it runs off the map.
    public func name(_ i: Int) -> ByteView {
        let from = strings + Int(bytes.u32Unchecked(at: Self.headerSize + i * Self.entrySize + 4))
        guard from < bytes.count, let base = bytes.base else { return ByteView(start: nil, count: 0) }
        var end = from
        while end < bytes.count, base.load(fromByteOffset: end, as: UInt8.self) != 0 { end += 1 }
        return ByteView(start: base + from, count: end - from)
    }

    /// The function holding image offset `offset`: the entry with the greatest start not above it.
    public func lookup(_ offset: UInt64) -> Int? {
        var low = 0, high = count
        while low < high {
            let mid = low + (high - low) / 2
            if start(mid) <= offset { low = mid + 1 } else { high = mid }
        }
        return low == 0 ? nil : low - 1
    }

    /// Bytes a map of these symbols takes.
    public static func size(count: Int, nameBytes: Int) -> Int { headerSize + count * entrySize + nameBytes + count }

    /// Writes `symbols` (sorted by offset, offsets below 4 GiB) into `out`; throws when they do not fit.
    public static func write(_ symbols: [(offset: UInt32, name: [UInt8])], to out: MutableByteView) throws(SlideError) {
        var nameBytes = 0
        for s in symbols { nameBytes += s.name.count }
        let need = size(count: symbols.count, nameBytes: nameBytes)
        guard need <= out.count else { throw .outOfRange("slide_symtab bytes needed", value: UInt64(need), low: 0, high: UInt64(out.count)) }
        let strings = headerSize + symbols.count * entrySize
        try out.setU64(magic, at: 0)
        try out.setU32(UInt32(symbols.count), at: 8)
        try out.setU32(UInt32(strings), at: 12)
        var at = 0
        for (i, s) in symbols.enumerated() {
            try out.setU32(s.offset, at: headerSize + i * entrySize)
            try out.setU32(UInt32(at), at: headerSize + i * entrySize + 4)
            for (j, b) in s.name.enumerated() { try out.setU8(b, at: strings + at + j) }
            try out.setU8(0, at: strings + at + s.name.count)
            at += s.name.count + 1
        }
        for o in (strings + at)..<out.count { try out.setU8(0, at: o) }
    }
}
