// The digest `slide mkimage` seals into an image and the kernel checks before relocating
// (docs/image.md, "What `slide mkimage` adds and refuses": the fixup step made trustworthy by a
// check at boot).
//
// A 64-bit word-wise mixing hash over the image bytes [0, covered), with the 64-byte seal
// itself read as zeros. It detects corruption (any changed word changes the digest with
// overwhelming probability); it is not a cryptographic signature and guards against no attacker.
// Runs before relocation: no allocation, aligned 64-bit loads only.

public enum ImageDigest {
    /// The seal is ImageSeal (64 bytes), read as zeros while hashing.
    public static let sealSize = ImageSeal.size
    public static let sealMagic: UInt64 = 0x3146_5645_4449_4c53 // "SLIDEVF1" little-endian

    /// Digest of `image[0..<covered]` with `[sealOffset, sealOffset + 32)` read as zero.
    /// `covered` and `sealOffset` must be multiples of 8 and the image 8-byte aligned.
    public static func compute(_ image: ByteView, covered: Int, sealOffset: Int) -> UInt64 {
        var h: UInt64 = 0x736c_6964_652d_3634 // "slide-64"
        let words = min(covered, image.count) / 8
        guard let base = image.base else { return h }
        var i = 0
        while i < words {
            let o = i * 8
            let w: UInt64 = o >= sealOffset && o < sealOffset + sealSize ? 0
                : UInt64(littleEndian: base.load(fromByteOffset: o, as: UInt64.self))
            h ^= w
            h = (h << 29 | h >> 35) &* 0x9e37_79b9_7f4a_7c15
            i += 1
        }
        h ^= UInt64(words)
        h ^= h >> 32
        h = h &* 0xd6e8_feb8_6659_fd93
        h ^= h >> 32
        return h
    }

    /// Digest of all whole 8-byte words of `bytes` (no seal: a linked module region).
    public static func compute(_ bytes: ByteView) -> UInt64 { compute(bytes, covered: bytes.count & ~7, sealOffset: -2 * sealSize) }
}
