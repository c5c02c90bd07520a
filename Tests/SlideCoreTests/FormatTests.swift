import Testing
@testable import SlideCore

@Suite struct Bytes {
    /// Errors compare by case, field name and numbers, not by their text.
    @Test func errorsCompareByValue() {
        #expect(SlideError.invalid("sh_entsize", value: 24) == .invalid("sh_entsize", value: 24))
        #expect(SlideError.invalid("sh_entsize", value: 24) != .invalid("sh_entsize", value: 25))
        #expect(SlideError.invalid("sh_entsize", value: 24) != .invalid("sh_size", value: 24))
        #expect(SlideError.invalid("x", value: 1) != .unsupported("x", value: 1))
        #expect(SlideError.truncated("ELF header", offset: 0, size: 64, available: 10)
                == .truncated("ELF header", offset: 0, size: 64, available: 10))
        #expect(SlideError.truncated("ELF header", offset: 0, size: 64, available: 10)
                != .truncated("ELF header", offset: 0, size: 64, available: 11))
    }

    @Test func boundsAreOverflowSafe() {
        let data: [UInt8] = [1, 2, 3, 4, 5, 6, 7, 8, 9]
        data.withUnsafeBytes { raw in
            let v = ByteView(raw)
            #expect(try! v.u64(at: 1) == 0x0908_0706_0504_0302)
            #expect(throws: SlideError.self) { try v.u64(at: 2) }
            #expect(throws: SlideError.self) { try v.u32(at: Int.max - 1) }
            #expect(throws: SlideError.self) { try v.u8(at: -1) }
            #expect(throws: SlideError.self) { try v.slice(offset: UInt64.max, size: 2) }
            #expect(throws: SlideError.self) { try v.slice(offset: 4, size: UInt64.max - 2) }
            #expect(!v.contains(offset: 9, size: 1) && v.contains(offset: 9, size: 0))
        }
    }

    @Test func errorText() {
        #expect(SlideError.truncated("section header", offset: 0x40, size: 0x40, available: 0x60).description
                == "section header at 0x40 needs 0x40 bytes but only 0x20 remain")
        #expect(SlideError.outOfRange("RELA place", value: 0x10, low: 0x20, high: 0x30).description
                == "RELA place 0x10 is not in [0x20, 0x30]")
    }

    @Test func hexFormatting() {
        #expect(hex(0x1ca7af8) == "0x1ca7af8")
        #expect(hex(signed: -16) == "-0x10")
    }
}

@Suite struct ImageHeaders {
    // Debian 6.1's header, field by field (docs/debian-kernels.md).
    @Test func decodesDebianFields() throws {
        var b = [UInt8](repeating: 0, count: 64)
        b.withUnsafeMutableBytes { raw in
            let m = MutableByteView(raw)
            try! m.setU32(0xfa40_5a4d, at: 0); try! m.setU32(0x1459_a356, at: 4)
            try! m.setU64(0x201_0000, at: 0x10); try! m.setU64(0xa, at: 0x18)
            try! m.setU32(0x644d_5241, at: 0x38); try! m.setU32(0x40, at: 0x3c)
        }
        let h = try b.withUnsafeBytes { try ImageHeader(from: ByteView($0)) }
        #expect(h.hasMZ && h.imageSize == 0x201_0000 && h.reserved5 == 0x40)
        #expect(h.flags.pageSize == .kib4 && h.flags.placementAnywhere && !h.flags.isBigEndian)
        // b imm26 = 0x059a356 → 4 + 0x59a356 * 4 = 0x1668d5c (primary_entry, docs/debian-kernels.md).
        #expect(h.entryOffset == 0x166_8d5c)
    }

    @Test func roundTrip() throws {
        for flags in [ImageFlags(pageSize: .kib4, placementAnywhere: true), ImageFlags(bigEndian: true, pageSize: .kib64, placementAnywhere: false)] {
            let h = ImageHeader(code1: 0x1400_0010, textOffset: 0x8_0000, imageSize: 0x1234_5000, flags: flags, peHeaderOffset: 0x40)
            var b = [UInt8](repeating: 0, count: 64)
            try b.withUnsafeMutableBytes { try h.write(to: MutableByteView($0)) }
            #expect(try b.withUnsafeBytes { try ImageHeader(from: ByteView($0)) } == h)
        }
        #expect(ImageFlags(pageSize: .kib16, placementAnywhere: true).rawValue == 0xc)
        #expect(ImageFlags(rawValue: 0x1a).reservedBits == 0x10)
    }

    @Test func badMagic() {
        let b = [UInt8](repeating: 0, count: 64)
        #expect(throws: SlideError.badMagic("arm64 Image", offset: 0x38)) { try b.withUnsafeBytes { _ = try ImageHeader(from: ByteView($0)) } }
        let short = [UInt8](repeating: 0, count: 10)
        #expect(throws: SlideError.self) { try short.withUnsafeBytes { _ = try ImageHeader(from: ByteView($0)) } }
    }
}
