// The seal `slide mkimage` writes into an image (symbol `slide_seal`, 64 bytes, 8-aligned) and
// the kernel reads, PC-relatively, before relocating:
//
//   0x00 magic "SLIDEVF1"   0x08 digest        0x10 covered bytes (= file data size)
//   0x18 RELA offset        0x20 RELA size     0x28 RELR offset    0x30 RELR size
//   0x38 __ex_table offset (u32)  0x3c __ex_table size (u32): for inspect and verify (the kernel
//        reaches its table through linker symbols)
//
// Offsets are from the image start. Keeping the table bounds here (not only in linker symbols)
// lets mkimage repack RELA into RELR without relinking.

public struct ImageSeal: Equatable {
    public static let size = 64
    public var digest: UInt64 = 0
    public var covered: UInt64 = 0
    public var relaOffset: UInt64 = 0, relaSize: UInt64 = 0
    public var relrOffset: UInt64 = 0, relrSize: UInt64 = 0
    public var extableOffset: UInt32 = 0, extableSize: UInt32 = 0
    public init() {}

    /// Reads the seal at `offset`; nil when the magic is missing.
    public init?(from image: ByteView, at offset: Int) {
        guard image.contains(offset: offset, size: Self.size), offset & 7 == 0,
              image.u64Unchecked(at: offset) == ImageDigest.sealMagic else { return nil }
        digest = image.u64Unchecked(at: offset + 8)
        covered = image.u64Unchecked(at: offset + 16)
        relaOffset = image.u64Unchecked(at: offset + 24)
        relaSize = image.u64Unchecked(at: offset + 32)
        relrOffset = image.u64Unchecked(at: offset + 40)
        relrSize = image.u64Unchecked(at: offset + 48)
        extableOffset = image.u32Unchecked(at: offset + 56)
        extableSize = image.u32Unchecked(at: offset + 60)
    }

    /// What checking a seal found.
    public enum Verdict: Equatable {
        /// The digest of the image's data matches: its bounds can be trusted.
        case ok(ImageSeal)
        /// The seal covers another size than the image data has (truncated or extended).
        case sizeMismatch(covered: UInt64, dataSize: UInt64)
        /// The data changed since the seal was written.
        case digestMismatch(computed: UInt64, sealed: UInt64)
    }

    /// The one seal check, for the kernel before it relocates, table discovery and `mkimage
    /// --check`: the seal at `offset` (nil when there is none) against the first `dataSize`
    /// bytes of `image` (the file data: no appended signature, no BSS).
    public static func verify(_ image: ByteView, at offset: Int, dataSize: Int) -> Verdict? {
        guard dataSize >= 0, dataSize <= image.count, let seal = ImageSeal(from: image, at: offset), offset + size <= dataSize else { return nil }
        guard seal.covered == UInt64(dataSize) else { return .sizeMismatch(covered: seal.covered, dataSize: UInt64(dataSize)) }
        let digest = ImageDigest.compute(image, covered: dataSize, sealOffset: offset)
        return digest == seal.digest ? .ok(seal) : .digestMismatch(computed: digest, sealed: seal.digest)
    }

    /// The first seal after the header (8-aligned), checked; nil when the image has none.
    public static func find(in image: ByteView, dataSize: Int) -> (offset: Int, verdict: Verdict)? {
        var o = ImageHeader.size
        while o + size <= min(image.count, dataSize) {
            if image.u64Unchecked(at: o) == ImageDigest.sealMagic, let v = verify(image, at: o, dataSize: dataSize) { return (o, v) }
            o += 8
        }
        return nil
    }

    public func write(to image: MutableByteView, at offset: Int) throws(SlideError) {
        try image.setU64(ImageDigest.sealMagic, at: offset)
        try image.setU64(digest, at: offset + 8)
        try image.setU64(covered, at: offset + 16)
        try image.setU64(relaOffset, at: offset + 24)
        try image.setU64(relaSize, at: offset + 32)
        try image.setU64(relrOffset, at: offset + 40)
        try image.setU64(relrSize, at: offset + 48)
        try image.setU32(extableOffset, at: offset + 56)
        try image.setU32(extableSize, at: offset + 60)
    }
}
