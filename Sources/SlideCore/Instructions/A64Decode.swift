// Decoders for the few A64 instructions Slide reads (Arm ARM C4.1 encoding index).
//
// Each returns nil for any other word, so a scan over arbitrary data never traps. Register
// number 31 means XZR or SP depending on the instruction, as in the Arm ARM.

public enum A64 {
    /// `ADRP Xd, label`: Xd = (PC & ~0xfff) + imm21 << 12.
    public static func adrp(_ w: UInt32) -> (rd: Int, pageDelta: Int64)? {
        guard w & 0x9f00_0000 == 0x9000_0000 else { return nil }
        return (Int(w & 31), immhilo(w) << 12)
    }

    /// `ADR Xd, label`: Xd = PC + imm21.
    public static func adr(_ w: UInt32) -> (rd: Int, delta: Int64)? {
        guard w & 0x9f00_0000 == 0x1000_0000 else { return nil }
        return (Int(w & 31), immhilo(w))
    }

    static func immhilo(_ w: UInt32) -> Int64 {
        let lo = Int64((w >> 29) & 3), hi = Int64((w >> 5) & 0x7ffff)
        return ((hi << 2 | lo) << 43) >> 43
    }

    /// `ADD Xd, Xn, #imm{, lsl #12}` (64-bit, not setting flags).
    public static func addImmediate(_ w: UInt32) -> (rd: Int, rn: Int, imm: UInt64)? {
        guard w & 0xff80_0000 == 0x9100_0000 else { return nil }
        let imm = UInt64((w >> 10) & 0xfff) << ((w >> 22) & 1 == 1 ? 12 : 0)
        return (Int(w & 31), Int((w >> 5) & 31), imm)
    }

    /// `MOVZ`/`MOVN`/`MOVK` (64-bit): `kind` 0 = MOVN, 2 = MOVZ, 3 = MOVK; `shift` in bits.
    public static func moveWide(_ w: UInt32) -> (kind: Int, rd: Int, imm16: UInt64, shift: UInt64)? {
        guard w & 0x9f80_0000 == 0x9280_0000 else { return nil }
        let opc = Int((w >> 29) & 3)
        guard opc != 1 else { return nil }
        return (opc, Int(w & 31), UInt64((w >> 5) & 0xffff), UInt64((w >> 21) & 3) * 16)
    }

    /// `CMP Wn, #imm` (SUBS WZR, Wn, #imm, 32-bit, no shift).
    public static func cmpImmediate32(_ w: UInt32) -> (rn: Int, imm: UInt32)? {
        guard w & 0xffc0_001f == 0x7100_001f else { return nil }
        return (Int((w >> 5) & 31), (w >> 10) & 0xfff)
    }

    /// `CMP Xn, Xm` (SUBS XZR, Xn, Xm, LSL #0).
    public static func cmpRegister64(_ w: UInt32) -> (rn: Int, rm: Int)? {
        guard w & 0xffe0_fc1f == 0xeb00_001f else { return nil }
        return (Int((w >> 5) & 31), Int((w >> 16) & 31))
    }

    /// `LDP Xt1, Xt2, [Xn], #imm` (64-bit, post-index); `imm` in bytes.
    public static func ldpPostIndex(_ w: UInt32) -> (rt1: Int, rt2: Int, rn: Int, imm: Int64)? {
        guard w & 0xffc0_0000 == 0xa8c0_0000 else { return nil }
        let imm7 = (Int64((w >> 15) & 0x7f) << 57) >> 57
        return (Int(w & 31), Int((w >> 10) & 31), Int((w >> 5) & 31), imm7 * 8)
    }

    /// `LDR Xt, [Xn], #imm` (64-bit, post-index).
    public static func ldrPostIndex(_ w: UInt32) -> (rt: Int, rn: Int, imm: Int64)? {
        guard w & 0xffe0_0c00 == 0xf840_0400 else { return nil }
        let imm9 = (Int64((w >> 12) & 0x1ff) << 55) >> 55
        return (Int(w & 31), Int((w >> 5) & 31), imm9)
    }

    /// `TBZ`/`TBNZ Rt, #bit, label`.
    public static func testBranch(_ w: UInt32) -> (rt: Int, bit: Int)? {
        guard w & 0x7e00_0000 == 0x3600_0000 else { return nil }
        return (Int(w & 31), Int((w >> 31) << 5 | (w >> 19) & 31))
    }

    /// `MOV Xd, Xm` (ORR Xd, XZR, Xm).
    public static func movRegister(_ w: UInt32) -> (rd: Int, rm: Int)? {
        guard w & 0xffe0_ffe0 == 0xaa00_03e0 else { return nil }
        return (Int(w & 31), Int((w >> 16) & 31))
    }

    /// `RET {Xn}`.
    public static func isReturn(_ w: UInt32) -> Bool { w & 0xffff_fc1f == 0xd65f_0000 }
}
