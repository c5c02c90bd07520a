// The A64 instruction fields relocations write, each writer beside its reader (Arm ARM C4.1),
// and the MOVW group selection (AAELF64 §5.7.8: which 16 bits, MOVZ or MOVN, checked or not).

/// Named A64 immediate-field writers, each with its reader (Arm ARM C4.1).
public enum A64Fields {
    /// B/BL imm26, bits 25:0.
    public static func setImm26(_ w: UInt32, _ imm: UInt64) -> UInt32 { w & ~0x03ff_ffff | UInt32(truncatingIfNeeded: imm) & 0x03ff_ffff }
    public static func imm26(_ w: UInt32) -> Int64 { (Int64(w & 0x03ff_ffff) << 38) >> 38 }
    /// B.cond / CBZ / LDR literal imm19, bits 23:5.
    public static func setImm19(_ w: UInt32, _ imm: UInt64) -> UInt32 { w & ~(0x7ffff << 5) | (UInt32(truncatingIfNeeded: imm) & 0x7ffff) << 5 }
    public static func imm19(_ w: UInt32) -> Int64 { (Int64((w >> 5) & 0x7ffff) << 45) >> 45 }
    /// TBZ/TBNZ imm14, bits 18:5.
    public static func setImm14(_ w: UInt32, _ imm: UInt64) -> UInt32 { w & ~(0x3fff << 5) | (UInt32(truncatingIfNeeded: imm) & 0x3fff) << 5 }
    public static func imm14(_ w: UInt32) -> Int64 { (Int64((w >> 5) & 0x3fff) << 50) >> 50 }
    /// ADR/ADRP: immlo (2 bits) at 30:29, immhi (19 bits) at 23:5.
    public static func setAdrImm(_ w: UInt32, _ imm: UInt64) -> UInt32 {
        let i = UInt32(truncatingIfNeeded: imm) & 0x1f_ffff
        return w & ~(3 << 29 | 0x7ffff << 5) | (i & 3) << 29 | (i >> 2) << 5
    }
    public static func adrImm(_ w: UInt32) -> Int64 { (Int64(((w >> 5) & 0x7ffff) << 2 | (w >> 29) & 3) << 43) >> 43 }
    /// ADD/LDR/STR imm12, bits 21:10.
    public static func setImm12(_ w: UInt32, _ imm: UInt64) -> UInt32 { w & ~(0xfff << 10) | (UInt32(truncatingIfNeeded: imm) & 0xfff) << 10 }
    public static func imm12(_ w: UInt32) -> UInt64 { UInt64((w >> 10) & 0xfff) }
    /// MOVZ/MOVN/MOVK imm16, bits 20:5.
    public static func setImm16(_ w: UInt32, _ imm: UInt64) -> UInt32 { w & ~(0xffff << 5) | (UInt32(truncatingIfNeeded: imm) & 0xffff) << 5 }
    public static func imm16(_ w: UInt32) -> UInt64 { UInt64((w >> 5) & 0xffff) }
    /// MOVZ/MOVN/MOVK hw, bits 22:21: the imm16 shift in units of 16 bits.
    public static func setHw(_ w: UInt32, _ hw: UInt64) -> UInt32 { w & ~(3 << 21) | (UInt32(truncatingIfNeeded: hw) & 3) << 21 }
    public static func hw(_ w: UInt32) -> UInt64 { UInt64((w >> 21) & 3) }
    /// LDUR/STUR and LDR/STR (pre- and post-index) imm9, bits 20:12, signed bytes.
    public static func setImm9(_ w: UInt32, _ imm: UInt64) -> UInt32 { w & ~(0x1ff << 12) | (UInt32(truncatingIfNeeded: imm) & 0x1ff) << 12 }
    public static func imm9(_ w: UInt32) -> Int64 { (Int64((w >> 12) & 0x1ff) << 55) >> 55 }
    /// LDP/STP imm7, bits 21:15, signed, in units of the register size.
    public static func setImm7(_ w: UInt32, _ imm: UInt64) -> UInt32 { w & ~(0x7f << 15) | (UInt32(truncatingIfNeeded: imm) & 0x7f) << 15 }
    public static func imm7(_ w: UInt32) -> Int64 { (Int64((w >> 15) & 0x7f) << 57) >> 57 }
    /// TBZ/TBNZ bit number: b5 at bit 31, b40 at bits 23:19.
    public static func setTestBit(_ w: UInt32, _ bit: UInt64) -> UInt32 {
        let b = UInt32(truncatingIfNeeded: bit) & 63
        return w & ~(1 << 31 | 31 << 19) | (b >> 5) << 31 | (b & 31) << 19
    }
    public static func testBit(_ w: UInt32) -> Int { Int((w >> 31) << 5 | (w >> 19) & 31) }
    /// Bits 30:29: MOVZ (0b10) or MOVN (0b00).
    public static func setMovOpcode(_ w: UInt32, movz: Bool) -> UInt32 { w & ~(3 << 29) | (movz ? 2 << 29 : 0) }
}

/// The MOVW relocation family: which 16 bits, signed (MOVZ/MOVN selection) or not, checked or not.
enum MovWide {
    static func kind(_ t: RelocationType) -> (lsb: Int, signed: Bool, checked: Bool)? {
        switch t {
        case .movwUabsG0: (0, false, true)
        case .movwUabsG0Nc: (0, false, false)
        case .movwUabsG1: (16, false, true)
        case .movwUabsG1Nc: (16, false, false)
        case .movwUabsG2: (32, false, true)
        case .movwUabsG2Nc: (32, false, false)
        case .movwUabsG3: (48, false, false)
        case .movwSabsG0: (0, true, true)
        case .movwSabsG1: (16, true, true)
        case .movwSabsG2: (32, true, true)
        case .movwPrelG0: (0, true, true)
        case .movwPrelG0Nc: (0, false, false)
        case .movwPrelG1: (16, true, true)
        case .movwPrelG1Nc: (16, false, false)
        case .movwPrelG2: (32, true, true)
        case .movwPrelG2Nc: (32, false, false)
        case .movwPrelG3: (48, true, false)
        default: nil
        }
    }
}
