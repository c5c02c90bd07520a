import Testing
@testable import SlideCore

@Suite struct Bytes {
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
        #expect(hexPadded(0x19a7290) == "00000000019a7290")
        #expect(hex(signed: -16) == "-0x10")
    }
}

@Suite struct ImageHeaders {
    // Debian 6.1's header, field by field (spec §9).
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
        // b imm26 = 0x059a356 → 4 + 0x59a356 * 4 = 0x1668d5c (primary_entry, spec §9).
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

@Suite struct A64Decoding {
    // Words from Debian 6.1's __relocate_kernel (spec §9), decoded by hand.
    @Test func relocateKernelWords() {
        // adrp x9, . + 0xb1f000 (at 0xcfd43c → page 0x181c000)
        let adrp = A64.adrp(0xf000_58e9)!
        #expect(adrp.rd == 9 && 0xcfd000 + adrp.pageDelta == 0x181_c000)
        #expect(A64.addImmediate(0x9105_0129)! == (9, 9, 320))
        #expect(A64.cmpImmediate32(0x7110_0dbf)! == (13, 1027))
        #expect(A64.cmpRegister64(0xeb0a_013f)! == (9, 10))
        #expect(A64.ldpPostIndex(0xa8c1_b52c)! == (12, 13, 9, 24))
        let movn = A64.moveWide(0x92cf_ffeb)!    // mov x11, #-0x7fff00000001 (MOVN)
        #expect(movn.kind == 0 && movn.rd == 11 && ~(movn.imm16 << movn.shift) == 0xffff_8000_ffff_ffff)
        #expect(A64.moveWide(0xf2a1_000b)!.imm16 == 0x800)
        #expect(A64.isReturn(0xd65f_03c0))
        #expect(A64.adrp(0xd503_201f) == nil)
        #expect(A64.ldrPostIndex(0xf840_852b)! == (11, 9, 8))   // ldr x11, [x9], #8
        #expect(A64.testBranch(0x3700_006b)! == (11, 0))         // tbnz w11, #0, ...
    }
}
