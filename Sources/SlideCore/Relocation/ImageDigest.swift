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
    /// The PE header's CheckSum and certificate table entry, which a Secure Boot signer rewrites
    /// (`sbsign`), are read as zeros too: see `signerFields`.
    public static func compute(_ image: ByteView, covered: Int, sealOffset: Int) -> UInt64 {
        var h: UInt64 = 0x736c_6964_652d_3634 // "slide-64"
        let words = min(covered, image.count) / 8
        guard let base = image.base else { return h }
        let signer = signerFields(image, covered: words * 8)
        var i = 0
        while i < words {
            let o = i * 8
            var w: UInt64 = o >= sealOffset && o < sealOffset + sealSize ? 0
                : UInt64(littleEndian: base.load(fromByteOffset: o, as: UInt64.self))
            if o == signer.checkSumWord { w &= 0xffff_ffff_0000_0000 } // CheckSum: the word's low 4 bytes
            if o == signer.directoryWord { w = 0 }
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

    /// Where an EFI Image's signer writes: the PE optional header's CheckSum (4 bytes at the start
    /// of an 8-byte word) and the certificate table's data directory entry (one word). Authenticode
    /// hashes the image without these fields (Microsoft PE Format, "Process for Generating the
    /// Authenticode PE Image Hash"), and `sbsign` fills both in, after the seal was made. Only for
    /// an arm64 Image with "MZ" in code0 and a PE header at an 8-aligned res5 past the Image header;
    /// otherwise -1 (no word).
    static func signerFields(_ image: ByteView, covered: Int) -> (checkSumWord: Int, directoryWord: Int) {
        let none = (-1, -1)
        guard covered >= ImageHeader.size, image.u32Unchecked(at: 0x38) == ImageHeader.magic,
              image.u32Unchecked(at: 0) & 0xffff == 0x5a4d else { return none }
        let pe = Int(image.u32Unchecked(at: 0x3c))
        guard pe >= ImageHeader.size, pe % 8 == 0, pe <= covered - PECOFF.headerSize,
              image.u32Unchecked(at: pe) == PECOFF.signature else { return none }
        return (PEHeader.checkSumOffset(headerAt: pe), PEHeader.certificateDirectoryOffset(headerAt: pe))
    }

    /// Digest of all whole 8-byte words of `bytes` (no seal: a linked module region).
    public static func compute(_ bytes: ByteView) -> UInt64 { compute(bytes, covered: bytes.count & ~7, sealOffset: -2 * sealSize) }
}
