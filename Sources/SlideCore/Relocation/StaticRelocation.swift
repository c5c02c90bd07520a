// The AArch64 static relocations a module loader processes (AAELF64 §5.7; docs/modules.md, with the
// Linux module loader's range rules). Value apart from encoding, as lld does:
//   compute — S + A (ABS), S + A − P (PREL), Page(S + A) − Page(P) (PAGE);
//   check   — by bit width, signed or unsigned, and alignment;
//   encode  — the named field writers of A64Fields.swift, each with its decoder for round trips.
// Errors are values (no allocation) and print as lld's do:
//   relocation R_AARCH64_CALL26 at 0xffff800012345678 out of range: 0x8000004 is not in [-0x8000000, 0x7ffffff]

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
        let place = RelocationPlace(type: t, section: section, offset: offset, p: p, v: v)
        let size = t == .abs64 || t == .prel64 ? 8 : t == .abs16 || t == .prel16 ? 2 : 4
        guard section.contains(offset: offset, size: size) else { throw place.error(.placeOutside) }
        switch t {
        case .none, RelocationType(rawValue: 256): return
        case .abs64, .prel64, .abs32, .prel32, .abs16, .prel16: try applyData(place)
        default:
            if let movw = MovWide.kind(t) { try applyMovWide(place, movw) } else { try applyInstruction(place) }
        }
    }

    /// A data word: 64 bits as is, 32 and 16 bits range-checked (unsigned for ABS, signed for PREL).
    static func applyData(_ place: RelocationPlace) throws(RelocationError) {
        let v = place.v
        switch place.type {
        case .abs64, .prel64: place.store(v)
        case .abs32: try place.checkUnsigned(32); place.put(UInt32(truncatingIfNeeded: v))
        case .prel32: try place.checkSigned(32); place.put(UInt32(truncatingIfNeeded: v))
        case .abs16: try place.checkUnsigned(16); place.store(UInt16(truncatingIfNeeded: v))
        default: try place.checkSigned(16); place.store(UInt16(truncatingIfNeeded: v))
        }
    }

    /// An instruction's immediate: branches, ADR/ADRP, and the low 12 bits of ADD and loads/stores.
    static func applyInstruction(_ place: RelocationPlace) throws(RelocationError) {
        let t = place.type, v = place.v, s = place.s
        switch t {
        case .call26, .jump26:
            try place.checkAligned(4); try place.checkSigned(28)
            place.put(A64Fields.setImm26(place.word(), v >> 2))
        case .condbr19, .ldPrelLo19:
            try place.checkAligned(4); try place.checkSigned(21)
            place.put(A64Fields.setImm19(place.word(), v >> 2))
        case .tstbr14:
            try place.checkAligned(4); try place.checkSigned(16)
            place.put(A64Fields.setImm14(place.word(), v >> 2))
        case .adrPrelLo21:
            try place.checkSigned(21)
            place.put(A64Fields.setAdrImm(place.word(), v))
        case .adrPrelPgHi21:
            try place.checkSigned(33)
            place.put(A64Fields.setAdrImm(place.word(), UInt64(bitPattern: s >> 12)))
        case .adrPrelPgHi21Nc:
            place.put(A64Fields.setAdrImm(place.word(), UInt64(bitPattern: s >> 12)))
        case .addAbsLo12Nc, .ldst8AbsLo12Nc:
            place.put(A64Fields.setImm12(place.word(), v & 0xfff))
        case .ldst16AbsLo12Nc, .ldst32AbsLo12Nc, .ldst64AbsLo12Nc, .ldst128AbsLo12Nc:
            let shift: UInt64 = t == .ldst16AbsLo12Nc ? 1 : t == .ldst32AbsLo12Nc ? 2 : t == .ldst64AbsLo12Nc ? 3 : 4
            try place.checkAligned(Int64(1) << Int64(shift)) // lld: improper alignment; Linux silently drops the low bits
            place.put(A64Fields.setImm12(place.word(), (v & 0xfff) >> shift))
        default:
            throw place.error(.unsupported)
        }
    }

    /// MOVZ/MOVK/MOVN: 16 bits of the value at the group's bit offset; the signed groups pick MOVZ
    /// for a non-negative value and MOVN (of the inverted value) for a negative one.
    static func applyMovWide(_ place: RelocationPlace, _ movw: (lsb: Int, signed: Bool, checked: Bool)) throws(RelocationError) {
        let s = place.s, v = place.v
        let shifted = s >> Int64(movw.lsb)
        if movw.signed {
            let imm = shifted >= 0 ? UInt64(shifted) : ~UInt64(bitPattern: shifted)
            if movw.checked { guard imm <= 0xffff else { throw place.error(.outOfRange, s, -(Int64(1) << (movw.lsb + 16)), (Int64(1) << (movw.lsb + 16)) - 1) } }
            place.put(A64Fields.setMovOpcode(A64Fields.setImm16(place.word(), imm & 0xffff), movz: shifted >= 0))
        } else {
            if movw.checked { guard v >> UInt64(movw.lsb) <= 0xffff else { throw place.error(.outOfRange, s, 0, (Int64(1) << (movw.lsb + 16)) - 1) } }
            place.put(A64Fields.setImm16(place.word(), UInt64(bitPattern: shifted)))
        }
    }
}

/// One place being relocated: the range checks and the loads and stores every type shares. The
/// caller has checked that the place lies inside the section.
struct RelocationPlace {
    let type: RelocationType
    let section: MutableByteView
    let offset: Int
    let p: UInt64
    /// The value to write, and the same bits signed.
    let v: UInt64
    var s: Int64 { Int64(bitPattern: v) }

    func error(_ k: RelocationError.Kind, _ value: Int64 = 0, _ low: Int64 = 0, _ high: Int64 = 0) -> RelocationError {
        RelocationError(kind: k, type: type, place: p, value: value, low: low, high: high)
    }
    func checkSigned(_ bits: Int) throws(RelocationError) {
        let low = -(Int64(1) << (bits - 1)), high = (Int64(1) << (bits - 1)) - 1
        guard s >= low && s <= high else { throw error(.outOfRange, s, low, high) }
    }
    func checkUnsigned(_ bits: Int) throws(RelocationError) {
        let high = bits == 64 ? Int64.max : (Int64(1) << bits) - 1
        guard v <= UInt64(high) else { throw error(.outOfRange, s, 0, high) }
    }
    func checkAligned(_ n: Int64) throws(RelocationError) {
        guard s & (n - 1) == 0 else { throw error(.misaligned, s, 0, n) }
    }
    func word() -> UInt32 { UInt32(littleEndian: section.base!.loadUnaligned(fromByteOffset: offset, as: UInt32.self)) }
    func put(_ w: UInt32) { store(w) }
    func store<T: FixedWidthInteger>(_ x: T) { section.base!.storeBytes(of: x.littleEndian, toByteOffset: offset, as: T.self) }
}
