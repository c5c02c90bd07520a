// AArch64 ELF relocation types (AAELF64 §5.7, names exactly as LLVM's AArch64.def).
//
// An open struct: a type Slide does not know keeps its number and prints as
// `R_AARCH64_<0x...>`, so nothing traps on a value read from a file.

/// `ELF64_R_TYPE(r_info)` for EM_AARCH64.
public struct RelocationType: RawRepresentable, Sendable, Equatable, Hashable, Comparable, CustomStringConvertible {
    public var rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }
    public static func < (a: Self, b: Self) -> Bool { a.rawValue < b.rawValue }

    public static let none = RelocationType(rawValue: 0)
    /// 256: the other code AAELF64's relocation table gives R_AARCH64_NONE (§5.7.2); the boot code skips it too.
    public static let noneAlias = RelocationType(rawValue: 256)
    public static let abs64 = RelocationType(rawValue: 0x101)
    public static let abs32 = RelocationType(rawValue: 0x102)
    public static let abs16 = RelocationType(rawValue: 0x103)
    public static let prel64 = RelocationType(rawValue: 0x104)
    public static let prel32 = RelocationType(rawValue: 0x105)
    public static let prel16 = RelocationType(rawValue: 0x106)
    public static let movwUabsG0 = RelocationType(rawValue: 0x107)
    public static let movwUabsG0Nc = RelocationType(rawValue: 0x108)
    public static let movwUabsG1 = RelocationType(rawValue: 0x109)
    public static let movwUabsG1Nc = RelocationType(rawValue: 0x10a)
    public static let movwUabsG2 = RelocationType(rawValue: 0x10b)
    public static let movwUabsG2Nc = RelocationType(rawValue: 0x10c)
    public static let movwUabsG3 = RelocationType(rawValue: 0x10d)
    public static let movwSabsG0 = RelocationType(rawValue: 0x10e)
    public static let movwSabsG1 = RelocationType(rawValue: 0x10f)
    public static let movwSabsG2 = RelocationType(rawValue: 0x110)
    public static let ldPrelLo19 = RelocationType(rawValue: 0x111)
    public static let adrPrelLo21 = RelocationType(rawValue: 0x112)
    public static let adrPrelPgHi21 = RelocationType(rawValue: 0x113)
    public static let adrPrelPgHi21Nc = RelocationType(rawValue: 0x114)
    public static let addAbsLo12Nc = RelocationType(rawValue: 0x115)
    public static let ldst8AbsLo12Nc = RelocationType(rawValue: 0x116)
    public static let tstbr14 = RelocationType(rawValue: 0x117)
    public static let condbr19 = RelocationType(rawValue: 0x118)
    public static let jump26 = RelocationType(rawValue: 0x11a)
    public static let call26 = RelocationType(rawValue: 0x11b)
    public static let ldst16AbsLo12Nc = RelocationType(rawValue: 0x11c)
    public static let ldst32AbsLo12Nc = RelocationType(rawValue: 0x11d)
    public static let ldst64AbsLo12Nc = RelocationType(rawValue: 0x11e)
    public static let movwPrelG0 = RelocationType(rawValue: 0x11f)
    public static let movwPrelG0Nc = RelocationType(rawValue: 0x120)
    public static let movwPrelG1 = RelocationType(rawValue: 0x121)
    public static let movwPrelG1Nc = RelocationType(rawValue: 0x122)
    public static let movwPrelG2 = RelocationType(rawValue: 0x123)
    public static let movwPrelG2Nc = RelocationType(rawValue: 0x124)
    public static let movwPrelG3 = RelocationType(rawValue: 0x125)
    public static let ldst128AbsLo12Nc = RelocationType(rawValue: 0x12b)
    public static let movwGotoffG0 = RelocationType(rawValue: 0x12c)
    public static let movwGotoffG0Nc = RelocationType(rawValue: 0x12d)
    public static let movwGotoffG1 = RelocationType(rawValue: 0x12e)
    public static let movwGotoffG1Nc = RelocationType(rawValue: 0x12f)
    public static let movwGotoffG2 = RelocationType(rawValue: 0x130)
    public static let movwGotoffG2Nc = RelocationType(rawValue: 0x131)
    public static let movwGotoffG3 = RelocationType(rawValue: 0x132)
    public static let gotrel64 = RelocationType(rawValue: 0x133)
    public static let gotrel32 = RelocationType(rawValue: 0x134)
    public static let gotLdPrel19 = RelocationType(rawValue: 0x135)
    public static let ld64GotoffLo15 = RelocationType(rawValue: 0x136)
    public static let adrGotPage = RelocationType(rawValue: 0x137)
    public static let ld64GotLo12Nc = RelocationType(rawValue: 0x138)
    public static let ld64GotpageLo15 = RelocationType(rawValue: 0x139)
    public static let plt32 = RelocationType(rawValue: 0x13a)
    public static let tlsgdAdrPrel21 = RelocationType(rawValue: 0x200)
    public static let tlsgdAdrPage21 = RelocationType(rawValue: 0x201)
    public static let tlsgdAddLo12Nc = RelocationType(rawValue: 0x202)
    public static let tlsgdMovwG1 = RelocationType(rawValue: 0x203)
    public static let tlsgdMovwG0Nc = RelocationType(rawValue: 0x204)
    public static let tlsldAdrPrel21 = RelocationType(rawValue: 0x205)
    public static let tlsldAdrPage21 = RelocationType(rawValue: 0x206)
    public static let tlsldAddLo12Nc = RelocationType(rawValue: 0x207)
    public static let tlsldMovwG1 = RelocationType(rawValue: 0x208)
    public static let tlsldMovwG0Nc = RelocationType(rawValue: 0x209)
    public static let tlsldLdPrel19 = RelocationType(rawValue: 0x20a)
    public static let tlsldMovwDtprelG2 = RelocationType(rawValue: 0x20b)
    public static let tlsldMovwDtprelG1 = RelocationType(rawValue: 0x20c)
    public static let tlsldMovwDtprelG1Nc = RelocationType(rawValue: 0x20d)
    public static let tlsldMovwDtprelG0 = RelocationType(rawValue: 0x20e)
    public static let tlsldMovwDtprelG0Nc = RelocationType(rawValue: 0x20f)
    public static let tlsldAddDtprelHi12 = RelocationType(rawValue: 0x210)
    public static let tlsldAddDtprelLo12 = RelocationType(rawValue: 0x211)
    public static let tlsldAddDtprelLo12Nc = RelocationType(rawValue: 0x212)
    public static let tlsldLdst8DtprelLo12 = RelocationType(rawValue: 0x213)
    public static let tlsldLdst8DtprelLo12Nc = RelocationType(rawValue: 0x214)
    public static let tlsldLdst16DtprelLo12 = RelocationType(rawValue: 0x215)
    public static let tlsldLdst16DtprelLo12Nc = RelocationType(rawValue: 0x216)
    public static let tlsldLdst32DtprelLo12 = RelocationType(rawValue: 0x217)
    public static let tlsldLdst32DtprelLo12Nc = RelocationType(rawValue: 0x218)
    public static let tlsldLdst64DtprelLo12 = RelocationType(rawValue: 0x219)
    public static let tlsldLdst64DtprelLo12Nc = RelocationType(rawValue: 0x21a)
    public static let tlsieMovwGottprelG1 = RelocationType(rawValue: 0x21b)
    public static let tlsieMovwGottprelG0Nc = RelocationType(rawValue: 0x21c)
    public static let tlsieAdrGottprelPage21 = RelocationType(rawValue: 0x21d)
    public static let tlsieLd64GottprelLo12Nc = RelocationType(rawValue: 0x21e)
    public static let tlsieLdGottprelPrel19 = RelocationType(rawValue: 0x21f)
    public static let tlsleMovwTprelG2 = RelocationType(rawValue: 0x220)
    public static let tlsleMovwTprelG1 = RelocationType(rawValue: 0x221)
    public static let tlsleMovwTprelG1Nc = RelocationType(rawValue: 0x222)
    public static let tlsleMovwTprelG0 = RelocationType(rawValue: 0x223)
    public static let tlsleMovwTprelG0Nc = RelocationType(rawValue: 0x224)
    public static let tlsleAddTprelHi12 = RelocationType(rawValue: 0x225)
    public static let tlsleAddTprelLo12 = RelocationType(rawValue: 0x226)
    public static let tlsleAddTprelLo12Nc = RelocationType(rawValue: 0x227)
    public static let tlsleLdst8TprelLo12 = RelocationType(rawValue: 0x228)
    public static let tlsleLdst8TprelLo12Nc = RelocationType(rawValue: 0x229)
    public static let tlsleLdst16TprelLo12 = RelocationType(rawValue: 0x22a)
    public static let tlsleLdst16TprelLo12Nc = RelocationType(rawValue: 0x22b)
    public static let tlsleLdst32TprelLo12 = RelocationType(rawValue: 0x22c)
    public static let tlsleLdst32TprelLo12Nc = RelocationType(rawValue: 0x22d)
    public static let tlsleLdst64TprelLo12 = RelocationType(rawValue: 0x22e)
    public static let tlsleLdst64TprelLo12Nc = RelocationType(rawValue: 0x22f)
    public static let tlsdescLdPrel19 = RelocationType(rawValue: 0x230)
    public static let tlsdescAdrPrel21 = RelocationType(rawValue: 0x231)
    public static let tlsdescAdrPage21 = RelocationType(rawValue: 0x232)
    public static let tlsdescLd64Lo12 = RelocationType(rawValue: 0x233)
    public static let tlsdescAddLo12 = RelocationType(rawValue: 0x234)
    public static let tlsdescOffG1 = RelocationType(rawValue: 0x235)
    public static let tlsdescOffG0Nc = RelocationType(rawValue: 0x236)
    public static let tlsdescLdr = RelocationType(rawValue: 0x237)
    public static let tlsdescAdd = RelocationType(rawValue: 0x238)
    public static let tlsdescCall = RelocationType(rawValue: 0x239)
    public static let tlsleLdst128TprelLo12 = RelocationType(rawValue: 0x23a)
    public static let tlsleLdst128TprelLo12Nc = RelocationType(rawValue: 0x23b)
    public static let tlsldLdst128DtprelLo12 = RelocationType(rawValue: 0x23c)
    public static let tlsldLdst128DtprelLo12Nc = RelocationType(rawValue: 0x23d)
    public static let authAbs64 = RelocationType(rawValue: 0x244)
    public static let copy = RelocationType(rawValue: 0x400)
    public static let globDat = RelocationType(rawValue: 0x401)
    public static let jumpSlot = RelocationType(rawValue: 0x402)
    public static let relative = RelocationType(rawValue: 0x403)
    public static let tlsDtpmod64 = RelocationType(rawValue: 0x404)
    public static let tlsDtprel64 = RelocationType(rawValue: 0x405)
    public static let tlsTprel64 = RelocationType(rawValue: 0x406)
    public static let tlsdesc = RelocationType(rawValue: 0x407)
    public static let irelative = RelocationType(rawValue: 0x408)
    public static let authRelative = RelocationType(rawValue: 0x411)

    /// Number → name, in numeric order (one table; every name comes from here).
    static let names: [(UInt32, StaticString)] = [
        (0, "NONE"),
        (0x101, "ABS64"),
        (0x102, "ABS32"),
        (0x103, "ABS16"),
        (0x104, "PREL64"),
        (0x105, "PREL32"),
        (0x106, "PREL16"),
        (0x107, "MOVW_UABS_G0"),
        (0x108, "MOVW_UABS_G0_NC"),
        (0x109, "MOVW_UABS_G1"),
        (0x10a, "MOVW_UABS_G1_NC"),
        (0x10b, "MOVW_UABS_G2"),
        (0x10c, "MOVW_UABS_G2_NC"),
        (0x10d, "MOVW_UABS_G3"),
        (0x10e, "MOVW_SABS_G0"),
        (0x10f, "MOVW_SABS_G1"),
        (0x110, "MOVW_SABS_G2"),
        (0x111, "LD_PREL_LO19"),
        (0x112, "ADR_PREL_LO21"),
        (0x113, "ADR_PREL_PG_HI21"),
        (0x114, "ADR_PREL_PG_HI21_NC"),
        (0x115, "ADD_ABS_LO12_NC"),
        (0x116, "LDST8_ABS_LO12_NC"),
        (0x117, "TSTBR14"),
        (0x118, "CONDBR19"),
        (0x11a, "JUMP26"),
        (0x11b, "CALL26"),
        (0x11c, "LDST16_ABS_LO12_NC"),
        (0x11d, "LDST32_ABS_LO12_NC"),
        (0x11e, "LDST64_ABS_LO12_NC"),
        (0x11f, "MOVW_PREL_G0"),
        (0x120, "MOVW_PREL_G0_NC"),
        (0x121, "MOVW_PREL_G1"),
        (0x122, "MOVW_PREL_G1_NC"),
        (0x123, "MOVW_PREL_G2"),
        (0x124, "MOVW_PREL_G2_NC"),
        (0x125, "MOVW_PREL_G3"),
        (0x12b, "LDST128_ABS_LO12_NC"),
        (0x12c, "MOVW_GOTOFF_G0"),
        (0x12d, "MOVW_GOTOFF_G0_NC"),
        (0x12e, "MOVW_GOTOFF_G1"),
        (0x12f, "MOVW_GOTOFF_G1_NC"),
        (0x130, "MOVW_GOTOFF_G2"),
        (0x131, "MOVW_GOTOFF_G2_NC"),
        (0x132, "MOVW_GOTOFF_G3"),
        (0x133, "GOTREL64"),
        (0x134, "GOTREL32"),
        (0x135, "GOT_LD_PREL19"),
        (0x136, "LD64_GOTOFF_LO15"),
        (0x137, "ADR_GOT_PAGE"),
        (0x138, "LD64_GOT_LO12_NC"),
        (0x139, "LD64_GOTPAGE_LO15"),
        (0x13a, "PLT32"),
        (0x200, "TLSGD_ADR_PREL21"),
        (0x201, "TLSGD_ADR_PAGE21"),
        (0x202, "TLSGD_ADD_LO12_NC"),
        (0x203, "TLSGD_MOVW_G1"),
        (0x204, "TLSGD_MOVW_G0_NC"),
        (0x205, "TLSLD_ADR_PREL21"),
        (0x206, "TLSLD_ADR_PAGE21"),
        (0x207, "TLSLD_ADD_LO12_NC"),
        (0x208, "TLSLD_MOVW_G1"),
        (0x209, "TLSLD_MOVW_G0_NC"),
        (0x20a, "TLSLD_LD_PREL19"),
        (0x20b, "TLSLD_MOVW_DTPREL_G2"),
        (0x20c, "TLSLD_MOVW_DTPREL_G1"),
        (0x20d, "TLSLD_MOVW_DTPREL_G1_NC"),
        (0x20e, "TLSLD_MOVW_DTPREL_G0"),
        (0x20f, "TLSLD_MOVW_DTPREL_G0_NC"),
        (0x210, "TLSLD_ADD_DTPREL_HI12"),
        (0x211, "TLSLD_ADD_DTPREL_LO12"),
        (0x212, "TLSLD_ADD_DTPREL_LO12_NC"),
        (0x213, "TLSLD_LDST8_DTPREL_LO12"),
        (0x214, "TLSLD_LDST8_DTPREL_LO12_NC"),
        (0x215, "TLSLD_LDST16_DTPREL_LO12"),
        (0x216, "TLSLD_LDST16_DTPREL_LO12_NC"),
        (0x217, "TLSLD_LDST32_DTPREL_LO12"),
        (0x218, "TLSLD_LDST32_DTPREL_LO12_NC"),
        (0x219, "TLSLD_LDST64_DTPREL_LO12"),
        (0x21a, "TLSLD_LDST64_DTPREL_LO12_NC"),
        (0x21b, "TLSIE_MOVW_GOTTPREL_G1"),
        (0x21c, "TLSIE_MOVW_GOTTPREL_G0_NC"),
        (0x21d, "TLSIE_ADR_GOTTPREL_PAGE21"),
        (0x21e, "TLSIE_LD64_GOTTPREL_LO12_NC"),
        (0x21f, "TLSIE_LD_GOTTPREL_PREL19"),
        (0x220, "TLSLE_MOVW_TPREL_G2"),
        (0x221, "TLSLE_MOVW_TPREL_G1"),
        (0x222, "TLSLE_MOVW_TPREL_G1_NC"),
        (0x223, "TLSLE_MOVW_TPREL_G0"),
        (0x224, "TLSLE_MOVW_TPREL_G0_NC"),
        (0x225, "TLSLE_ADD_TPREL_HI12"),
        (0x226, "TLSLE_ADD_TPREL_LO12"),
        (0x227, "TLSLE_ADD_TPREL_LO12_NC"),
        (0x228, "TLSLE_LDST8_TPREL_LO12"),
        (0x229, "TLSLE_LDST8_TPREL_LO12_NC"),
        (0x22a, "TLSLE_LDST16_TPREL_LO12"),
        (0x22b, "TLSLE_LDST16_TPREL_LO12_NC"),
        (0x22c, "TLSLE_LDST32_TPREL_LO12"),
        (0x22d, "TLSLE_LDST32_TPREL_LO12_NC"),
        (0x22e, "TLSLE_LDST64_TPREL_LO12"),
        (0x22f, "TLSLE_LDST64_TPREL_LO12_NC"),
        (0x230, "TLSDESC_LD_PREL19"),
        (0x231, "TLSDESC_ADR_PREL21"),
        (0x232, "TLSDESC_ADR_PAGE21"),
        (0x233, "TLSDESC_LD64_LO12"),
        (0x234, "TLSDESC_ADD_LO12"),
        (0x235, "TLSDESC_OFF_G1"),
        (0x236, "TLSDESC_OFF_G0_NC"),
        (0x237, "TLSDESC_LDR"),
        (0x238, "TLSDESC_ADD"),
        (0x239, "TLSDESC_CALL"),
        (0x23a, "TLSLE_LDST128_TPREL_LO12"),
        (0x23b, "TLSLE_LDST128_TPREL_LO12_NC"),
        (0x23c, "TLSLD_LDST128_DTPREL_LO12"),
        (0x23d, "TLSLD_LDST128_DTPREL_LO12_NC"),
        (0x244, "AUTH_ABS64"),
        (0x400, "COPY"),
        (0x401, "GLOB_DAT"),
        (0x402, "JUMP_SLOT"),
        (0x403, "RELATIVE"),
        (0x404, "TLS_DTPMOD64"),
        (0x405, "TLS_DTPREL64"),
        (0x406, "TLS_TPREL64"),
        (0x407, "TLSDESC"),
        (0x408, "IRELATIVE"),
        (0x411, "AUTH_RELATIVE"),
    ]

    /// The spec name, `R_AARCH64_RELATIVE`, or `R_AARCH64_<0x...>` for an unknown number.
    public var description: String {
        specName(rawValue, in: Self.names).map { "R_AARCH64_" + $0.description } ?? "R_AARCH64_<" + hex(UInt64(rawValue)) + ">"
    }

    /// The type named `name` (with or without the `R_AARCH64_` prefix).
    public init?(name: String) {
        let short = name.hasPrefix("R_AARCH64_") ? String(name.dropFirst(10)) : name
        for (value, n) in Self.names where n.description == short {
            self.init(rawValue: value)
            return
        }
        return nil
    }

    /// True for the types a dynamic loader resolves through a symbol (`S + A`).
    public var isSymbolic: Bool { self == .abs64 || self == .globDat }
}
