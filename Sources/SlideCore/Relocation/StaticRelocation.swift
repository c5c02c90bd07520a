// The AArch64 static relocations a module loader processes (AAELF64 §5.7; docs/modules.md, with the
// Linux module loader's range rules). Value apart from encoding, as lld does:
//   compute — S + A (ABS), S + A − P (PREL), Page(S + A) − Page(P) (PAGE);
//   check   — by bit width, signed or unsigned, and alignment;
//   encode  — named field writers below, each with its decoder for round trips.
// Errors are values (no allocation) and print as lld's do:
//   relocation R_AARCH64_CALL26 at 0xffff800012345678 out of range: 0x8000004 is not in [-0x8000000, 0x7ffffff]

/// Why a static relocation could not be applied.
public struct RelocationError: Error, Equatable, CustomStringConvertible {
    public enum Kind: Equatable, Sendable { case outOfRange, misaligned, unsupported, placeOutside }
    public var kind: Kind
    public var type: RelocationType
    public var place: UInt64
    public var value: Int64 = 0
    public var low: Int64 = 0
    public var high: Int64 = 0

    public var description: String {
        // Built from StaticString pieces: the kernel prints these too (see Text.swift).
        let t = TextPiece(type.description)
        switch kind {
        case .outOfRange:
            return text("relocation ", t, " at ", .hex(place), " out of range: ", .hex(signed: value), " is not in [", .hex(signed: low), ", ", .hex(signed: high), "]")
        case .misaligned:
            return text("relocation ", t, " at ", .hex(place), ": improper alignment for relocation: ", .hex(signed: value), " is not ", .number(high), "-byte aligned")
        case .unsupported:
            return text("unsupported relocation ", t, " at ", .hex(place))
        case .placeOutside:
            return text("relocation ", t, " at ", .hex(place), " lies outside its section")
        }
    }
}

/// How a relocation computes its value.
public enum RelocationOperation { case abs, prel, page, none }

public enum StaticRelocation {
    /// The operation of each supported type, or nil when unsupported.
    public static func operation(_ t: RelocationType) -> RelocationOperation? {
        switch t {
        case .none, .noneAlias: RelocationOperation.none
        case .abs64, .abs32, .abs16,
             .movwUabsG0, .movwUabsG0Nc, .movwUabsG1, .movwUabsG1Nc, .movwUabsG2, .movwUabsG2Nc, .movwUabsG3,
             .movwSabsG0, .movwSabsG1, .movwSabsG2,
             .addAbsLo12Nc, .ldst8AbsLo12Nc, .ldst16AbsLo12Nc, .ldst32AbsLo12Nc, .ldst64AbsLo12Nc, .ldst128AbsLo12Nc: .abs
        case .prel64, .prel32, .prel16, .ldPrelLo19, .adrPrelLo21, .tstbr14, .condbr19, .jump26, .call26,
             .movwPrelG0, .movwPrelG0Nc, .movwPrelG1, .movwPrelG1Nc, .movwPrelG2, .movwPrelG2Nc, .movwPrelG3: .prel
        case .adrPrelPgHi21, .adrPrelPgHi21Nc: .page
        default: nil
        }
    }

    /// The value a relocation of type `t` produces for symbol value S, addend A and place P.
    public static func value(_ t: RelocationType, s: UInt64, a: Int64, p: UInt64) -> UInt64? {
        guard let op = operation(t) else { return nil }
        let sa = s &+ UInt64(bitPattern: a)
        switch op {
        case .abs: return sa
        case .prel: return sa &- p
        case .page: return (sa & ~0xfff) &- (p & ~0xfff)
        case .none: return 0
        }
    }

    /// True for CALL26/JUMP26: the branches that may go through a PLT.
    public static func isBranch26(_ t: RelocationType) -> Bool { t == .call26 || t == .jump26 }

    /// Writes `v` (from `value`) into the place at `offset` of `section`, whose address is P.
    public static func apply(_ t: RelocationType, value v: UInt64, to section: MutableByteView, offset: Int, p: UInt64) throws(RelocationError) {
        func err(_ k: RelocationError.Kind, _ value: Int64 = 0, _ low: Int64 = 0, _ high: Int64 = 0) -> RelocationError {
            RelocationError(kind: k, type: t, place: p, value: value, low: low, high: high)
        }
        let s = Int64(bitPattern: v)
        func checkSigned(_ bits: Int) throws(RelocationError) {
            let low = -(Int64(1) << (bits - 1)), high = (Int64(1) << (bits - 1)) - 1
            guard s >= low && s <= high else { throw err(.outOfRange, s, low, high) }
        }
        func checkUnsigned(_ bits: Int) throws(RelocationError) {
            let high = bits == 64 ? Int64.max : (Int64(1) << bits) - 1
            guard v <= UInt64(high) else { throw err(.outOfRange, s, 0, high) }
        }
        func checkAligned(_ n: Int64) throws(RelocationError) {
            guard s & (n - 1) == 0 else { throw err(.misaligned, s, 0, n) }
        }
        let size = t == .abs64 || t == .prel64 ? 8 : t == .abs16 || t == .prel16 ? 2 : 4
        guard section.contains(offset: offset, size: size) else { throw err(.placeOutside) }
        func word() -> UInt32 { UInt32(littleEndian: section.base!.loadUnaligned(fromByteOffset: offset, as: UInt32.self)) }
        func put(_ w: UInt32) { section.base!.storeBytes(of: w.littleEndian, toByteOffset: offset, as: UInt32.self) }

        switch t {
        case .none, RelocationType(rawValue: 256): return
        case .abs64, .prel64:
            section.base!.storeBytes(of: v.littleEndian, toByteOffset: offset, as: UInt64.self)
        case .abs32:
            try checkUnsigned(32)
            put(UInt32(truncatingIfNeeded: v))
        case .prel32:
            try checkSigned(32)
            put(UInt32(truncatingIfNeeded: v))
        case .abs16:
            try checkUnsigned(16)
            section.base!.storeBytes(of: UInt16(truncatingIfNeeded: v).littleEndian, toByteOffset: offset, as: UInt16.self)
        case .prel16:
            try checkSigned(16)
            section.base!.storeBytes(of: UInt16(truncatingIfNeeded: v).littleEndian, toByteOffset: offset, as: UInt16.self)
        case .call26, .jump26:
            try checkAligned(4); try checkSigned(28)
            put(A64Fields.setImm26(word(), v >> 2))
        case .condbr19, .ldPrelLo19:
            try checkAligned(4); try checkSigned(21)
            put(A64Fields.setImm19(word(), v >> 2))
        case .tstbr14:
            try checkAligned(4); try checkSigned(16)
            put(A64Fields.setImm14(word(), v >> 2))
        case .adrPrelLo21:
            try checkSigned(21)
            put(A64Fields.setAdrImm(word(), v))
        case .adrPrelPgHi21:
            try checkSigned(33)
            put(A64Fields.setAdrImm(word(), UInt64(bitPattern: s >> 12)))
        case .adrPrelPgHi21Nc:
            put(A64Fields.setAdrImm(word(), UInt64(bitPattern: s >> 12)))
        case .addAbsLo12Nc, .ldst8AbsLo12Nc:
            put(A64Fields.setImm12(word(), v & 0xfff))
        case .ldst16AbsLo12Nc, .ldst32AbsLo12Nc, .ldst64AbsLo12Nc, .ldst128AbsLo12Nc:
            let shift: UInt64 = t == .ldst16AbsLo12Nc ? 1 : t == .ldst32AbsLo12Nc ? 2 : t == .ldst64AbsLo12Nc ? 3 : 4
            try checkAligned(Int64(1) << Int64(shift)) // lld: improper alignment; Linux silently drops the low bits
            put(A64Fields.setImm12(word(), (v & 0xfff) >> shift))
        default:
            guard let movw = MovWide.kind(t) else { throw err(.unsupported) }
            let shifted = s >> Int64(movw.lsb)
            if movw.signed {
                // MOVZ for a non-negative value, MOVN (of the inverted value) for a negative one.
                let imm = shifted >= 0 ? UInt64(shifted) : ~UInt64(bitPattern: shifted)
                if movw.checked { guard imm <= 0xffff else { throw err(.outOfRange, s, -(Int64(1) << (movw.lsb + 16)), (Int64(1) << (movw.lsb + 16)) - 1) } }
                put(A64Fields.setMovOpcode(A64Fields.setImm16(word(), imm & 0xffff), movz: shifted >= 0))
            } else {
                if movw.checked { guard v >> UInt64(movw.lsb) <= 0xffff else { throw err(.outOfRange, s, 0, (Int64(1) << (movw.lsb + 16)) - 1) } }
                put(A64Fields.setImm16(word(), UInt64(bitPattern: shifted)))
            }
        }
    }
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
    /// Bits 30:29: MOVZ (0b10) or MOVN (0b00).
    public static func setMovOpcode(_ w: UInt32, movz: Bool) -> UInt32 { w & ~(3 << 29) | (movz ? 2 << 29 : 0) }
}

/// Module PLT entries (docs/modules.md): 12 bytes that reach any address within ±4 GiB.
public enum PLTEntry {
    public static let size = 12
    /// Writes the entry for `target` at `offset` of `section`, whose address is `address`.
    public static func write(target: UInt64, to section: MutableByteView, offset: Int, address: UInt64) throws(RelocationError) {
        guard section.contains(offset: offset, size: size) else { throw RelocationError(kind: .placeOutside, type: .call26, place: address) }
        let delta = Int64(bitPattern: (target & ~0xfff) &- (address & ~0xfff)) >> 12
        guard delta >= -(1 << 20) && delta < 1 << 20 else {
            throw RelocationError(kind: .outOfRange, type: .adrPrelPgHi21, place: address, value: delta << 12, low: -(1 << 32), high: (1 << 32) - 1)
        }
        let words: [UInt32] = [
            A64Fields.setAdrImm(0x9000_0010, UInt64(bitPattern: delta)),   // adrp x16, page(target)
            A64Fields.setImm12(0x9100_0210, target & 0xfff),                // add  x16, x16, #lo12(target)
            0xd61f_0200,                                                    // br   x16
        ]
        for (i, w) in words.enumerated() { section.base!.storeBytes(of: w.littleEndian, toByteOffset: offset + 4 * i, as: UInt32.self) }
    }

    /// The target an entry at `address` branches to, or nil when the bytes are not a PLT entry.
    public static func target(of section: ByteView, offset: Int, address: UInt64) -> UInt64? {
        guard let a = try? section.u32(at: offset), let b = try? section.u32(at: offset + 4), let c = try? section.u32(at: offset + 8),
              a & 0x9f00_001f == 0x9000_0010, b & 0xffc0_03ff == 0x9100_0210, c == 0xd61f_0200 else { return nil }
        return (address & ~0xfff) &+ UInt64(bitPattern: A64Fields.adrImm(a) << 12) &+ A64Fields.imm12(b)
    }
}
