// The 64-byte arm64 Image header (Documentation/arm64/booting.rst; docs/image.md).
//
//   0x00 code0        0x04 code1        0x08 text_offset   0x10 image_size
//   0x18 flags        0x20 res2         0x28 res3          0x30 res4
//   0x38 magic "ARM\x64"                0x3c res5 (PE header offset)

public struct ImageHeader: Equatable {
    public static let size = 64
    /// "ARM\x64" read as a little-endian u32.
    public static let magic: UInt32 = 0x644d_5241

    /// `code0`: `MZ`-carrying `ccmp` (0xfa405a4d) for EFI Images, otherwise usually `nop`.
    public var code0: UInt32
    /// `code1`: usually `b primary_entry`.
    public var code1: UInt32
    /// `text_offset`: offset from a 2 MiB-aligned base (0 since Linux 5.8).
    public var textOffset: UInt64
    /// `image_size`: bytes the kernel occupies in memory, BSS included (0 before Linux 3.17).
    public var imageSize: UInt64
    /// `flags`: bit 0 big-endian, bits 1-2 page size, bit 3 placement anywhere.
    public var flags: ImageFlags
    /// `res2`, `res3`, `res4`.
    public var reserved2: UInt64, reserved3: UInt64, reserved4: UInt64
    /// `magic`.
    public var magicValue: UInt32
    /// `res5`: offset of the PE header for EFI Images, else 0.
    public var reserved5: UInt32

    public init(code0: UInt32 = 0xd503_201f, code1: UInt32 = 0, textOffset: UInt64 = 0, imageSize: UInt64,
                flags: ImageFlags, peHeaderOffset: UInt32 = 0) {
        self.code0 = code0
        self.code1 = code1
        self.textOffset = textOffset
        self.imageSize = imageSize
        self.flags = flags
        reserved2 = 0; reserved3 = 0; reserved4 = 0
        magicValue = Self.magic
        reserved5 = peHeaderOffset
    }

    /// Decodes the header; the magic must be "ARM\x64".
    public init(from b: ByteView) throws(SlideError) {
        guard b.count >= Self.size else { throw .truncated("Image header", offset: 0, size: Self.size, available: b.count) }
        magicValue = try b.u32(at: 0x38)
        guard magicValue == Self.magic else { throw .badMagic("arm64 Image", offset: 0x38) }
        code0 = try b.u32(at: 0)
        code1 = try b.u32(at: 4)
        textOffset = try b.u64(at: 8)
        imageSize = try b.u64(at: 0x10)
        flags = ImageFlags(rawValue: try b.u64(at: 0x18))
        reserved2 = try b.u64(at: 0x20)
        reserved3 = try b.u64(at: 0x28)
        reserved4 = try b.u64(at: 0x30)
        reserved5 = try b.u32(at: 0x3c)
    }

    public static func isPresent(in b: ByteView) -> Bool {
        (try? b.u32(at: 0x38)) == magic
    }

    public func write(to b: MutableByteView) throws(SlideError) {
        try b.setU32(code0, at: 0)
        try b.setU32(code1, at: 4)
        try b.setU64(textOffset, at: 8)
        try b.setU64(imageSize, at: 0x10)
        try b.setU64(flags.rawValue, at: 0x18)
        try b.setU64(reserved2, at: 0x20)
        try b.setU64(reserved3, at: 0x28)
        try b.setU64(reserved4, at: 0x30)
        try b.setU32(magicValue, at: 0x38)
        try b.setU32(reserved5, at: 0x3c)
    }

    /// True when code0 starts with "MZ": the Image doubles as a PE/COFF (EFI) executable.
    public var hasMZ: Bool { code0 & 0xffff == 0x5a4d }

    /// The target of `code1` when it is an unconditional `b`, as an offset from the Image start.
    public var entryOffset: Int64? {
        guard code1 & 0xfc00_0000 == 0x1400_0000 else { return nil }
        let imm = Int64(Int32(bitPattern: (code1 & 0x03ff_ffff) << 6) >> 6)
        return 4 + imm * 4
    }
}

/// The header's `flags` word.
public struct ImageFlags: RawRepresentable, Sendable, Equatable {
    public var rawValue: UInt64
    public init(rawValue: UInt64) { self.rawValue = rawValue }

    public init(bigEndian: Bool = false, pageSize: PageSizeField, placementAnywhere: Bool) {
        rawValue = (bigEndian ? 1 : 0) | UInt64(pageSize.rawValue) << 1 | (placementAnywhere ? 8 : 0)
    }

    /// Bit 0: kernel endianness (1 = big-endian).
    public var isBigEndian: Bool { rawValue & 1 != 0 }
    /// Bits 1-2: kernel page size.
    public var pageSize: PageSizeField { PageSizeField(rawValue: UInt8((rawValue >> 1) & 3))! }
    /// Bit 3: the 2 MiB-aligned base may be anywhere in physical memory.
    public var placementAnywhere: Bool { rawValue & 8 != 0 }
    /// Bits 4-63, reserved (must be zero).
    public var reservedBits: UInt64 { rawValue & ~0xf }
}

/// Flags bits 1-2.
public enum PageSizeField: UInt8, CustomStringConvertible {
    case unspecified = 0, kib4 = 1, kib16 = 2, kib64 = 3

    public init?(bytes: UInt64) {
        switch bytes {
        case 4096: self = .kib4
        case 16384: self = .kib16
        case 65536: self = .kib64
        default: return nil
        }
    }

    public var bytes: UInt64? {
        switch self {
        case .unspecified: nil
        case .kib4: 4096
        case .kib16: 16384
        case .kib64: 65536
        }
    }

    public var description: String {
        switch self {
        case .unspecified: "unspecified"
        case .kib4: "4K"
        case .kib16: "16K"
        case .kib64: "64K"
        }
    }
}
