import Testing
@testable import SlideCore

/// Applies one relocation to a 4- or 8-byte place holding `template`, P = 0x10000.
func applyOne(_ t: RelocationType, template: UInt64, s: UInt64, a: Int64 = 0, size: Int = 4) throws(RelocationError) -> UInt64 {
    var bytes = [UInt8](repeating: 0, count: 8)
    for i in 0..<8 { bytes[i] = UInt8(truncatingIfNeeded: template >> (8 * UInt64(i))) }
    let p: UInt64 = 0x10000
    let v = StaticRelocation.value(t, s: s, a: a, p: p) ?? 0
    var thrown: RelocationError? = nil
    bytes.withUnsafeMutableBytes { raw in
        do throws(RelocationError) { try StaticRelocation.apply(t, value: v, to: MutableByteView(raw), offset: 0, p: p) } catch { thrown = error }
    }
    if let thrown { throw thrown }
    let n = size == 8 ? 8 : size == 2 ? 2 : 4
    return (0..<n).reduce(UInt64(0)) { $0 | UInt64(bytes[$1]) << (8 * UInt64($1)) }
}

let P: UInt64 = 0x10000

struct Row: Sendable, CustomTestStringConvertible {
    var type: RelocationType, template: UInt64, s: UInt64, a: Int64, expected: UInt64
    init(_ type: RelocationType, _ template: UInt64, _ s: UInt64, _ a: Int64, _ expected: UInt64) {
        self.type = type; self.template = template; self.s = s; self.a = a; self.expected = expected
    }
    var testDescription: String { type.description }
}

struct OverflowRow: Sendable, CustomTestStringConvertible {
    var type: RelocationType, s: UInt64, a: Int64, message: String
    init(_ type: RelocationType, _ s: UInt64, _ a: Int64, _ message: String) { self.type = type; self.s = s; self.a = a; self.message = message }
    var testDescription: String { type.description }
}

let rows: [Row] = [
        Row(.call26, 0x9400_0000, P + 0x100, 0, 0x9400_0040),     // 0x100 >> 2 = 0x40
        Row(.call26, 0x9400_0000, P - 4, 0, 0x97ff_ffff),                                                 // -1 in 26 bits
        Row(.jump26, 0x1400_0000, P + 0x7ff_fffc, 0, 0x15ff_ffff),                                        // the largest forward branch
        Row(.condbr19, 0x5400_0000, P + 0x20, 0, 0x5400_0100),                                            // 8 << 5
        Row(.tstbr14, 0x3600_0000, P + 8, 0, 0x3600_0040),                                                // 2 << 5
        Row(.ldPrelLo19, 0x5800_0000, P + 0x10, 0, 0x5800_0080),                                          // 4 << 5
        Row(.adrPrelLo21, 0x1000_0000, P + 0x12345, 0, 0x3009_1a20),                                      // immlo 1, immhi 0x48d1
        Row(.adrPrelPgHi21, 0x9000_0000, 0x1234_5678, 0, 0xb009_19a0),                                    // (0x12345000-0x10000)>>12 = 0x12335
        Row(.addAbsLo12Nc, 0x9100_0000, 0x1234_5678, 0, 0x9119_e000),                                     // 0x678 << 10
        Row(.ldst8AbsLo12Nc, 0x3940_0000, 0x1234_5678, 0, 0x3959_e000),
        Row(.ldst16AbsLo12Nc, 0x7940_0000, 0x1234_5676, 0, 0x794c_ec00),                                  // 0x676 >> 1 = 0x33b
        Row(.ldst32AbsLo12Nc, 0xb940_0000, 0x1234_5678, 0, 0xb946_7800),                                  // 0x678 >> 2 = 0x19e
        Row(.ldst64AbsLo12Nc, 0xf940_0000, 0x1234_5678, 0, 0xf943_3c00),                                  // 0x678 >> 3 = 0xcf
        Row(.ldst128AbsLo12Nc, 0x3dc0_0000, 0x1234_5670, 0, 0x3dc1_9c00),                                 // 0x670 >> 4 = 0x67
        Row(.movwUabsG0, 0xd280_0000, 0x1234, 0, 0xd282_4680),
        Row(.movwUabsG1Nc, 0xf280_0000, 0x1234_5678, 0, 0xf282_4680),                                     // MOVK keeps its opcode
        Row(.movwUabsG2, 0xf280_0000, 0xabcd_0000_0000, 0, 0xf295_79a0),                                  // 0xabcd << 5
        Row(.movwUabsG3, 0xf280_0000, 0xffff_8000_0000_0000, 0, 0xf29f_ffe0),
        Row(.movwSabsG0, 0xd280_0000, 0, -2, 0x9280_0020),                                                // -2 → MOVN #1
        Row(.movwSabsG1, 0x9280_0000, 0x2_0000, 0, 0xd280_0040),                                          // positive → MOVZ #2
        Row(.movwPrelG0Nc, 0xf280_0000, P + 0x1_2345, 0, 0xf284_68a0),                                    // low 16 bits 0x2345
        Row(.prel32, 0, P - 0x10, 0, 0xffff_fff0),
        Row(.abs16, 0, 0xffff, 0, 0xffff),
]

let overflowRows: [OverflowRow] = [
        OverflowRow(.call26, P + 0x800_0000, 0, "relocation R_AARCH64_CALL26 at 0x10000 out of range: 0x8000000 is not in [-0x8000000, 0x7ffffff]"),
        OverflowRow(.jump26, P &- 0x800_0004, 0, "relocation R_AARCH64_JUMP26 at 0x10000 out of range: -0x8000004 is not in [-0x8000000, 0x7ffffff]"),
        OverflowRow(.condbr19, P + 0x10_0000, 0, "relocation R_AARCH64_CONDBR19 at 0x10000 out of range: 0x100000 is not in [-0x100000, 0xfffff]"),
        OverflowRow(.ldPrelLo19, P + 0x10_0000, 0, "relocation R_AARCH64_LD_PREL_LO19 at 0x10000 out of range: 0x100000 is not in [-0x100000, 0xfffff]"),
        OverflowRow(.tstbr14, P + 0x8000, 0, "relocation R_AARCH64_TSTBR14 at 0x10000 out of range: 0x8000 is not in [-0x8000, 0x7fff]"),
        OverflowRow(.adrPrelLo21, P + 0x10_0000, 0, "relocation R_AARCH64_ADR_PREL_LO21 at 0x10000 out of range: 0x100000 is not in [-0x100000, 0xfffff]"),
        OverflowRow(.adrPrelPgHi21, P + 0x1_0000_0000, 0, "relocation R_AARCH64_ADR_PREL_PG_HI21 at 0x10000 out of range: 0x100000000 is not in [-0x100000000, 0xffffffff]"),
        OverflowRow(.abs32, 0x1_0000_0000, 0, "relocation R_AARCH64_ABS32 at 0x10000 out of range: 0x100000000 is not in [0x0, 0xffffffff]"),
        OverflowRow(.abs16, 0x1_0000, 0, "relocation R_AARCH64_ABS16 at 0x10000 out of range: 0x10000 is not in [0x0, 0xffff]"),
        OverflowRow(.prel32, P + 0x8000_0000, 0, "relocation R_AARCH64_PREL32 at 0x10000 out of range: 0x80000000 is not in [-0x80000000, 0x7fffffff]"),
        OverflowRow(.prel16, P + 0x8000, 0, "relocation R_AARCH64_PREL16 at 0x10000 out of range: 0x8000 is not in [-0x8000, 0x7fff]"),
        OverflowRow(.movwUabsG0, 0x1_0000, 0, "relocation R_AARCH64_MOVW_UABS_G0 at 0x10000 out of range: 0x10000 is not in [0x0, 0xffff]"),
        OverflowRow(.movwUabsG1, 0x1_0000_0000, 0, "relocation R_AARCH64_MOVW_UABS_G1 at 0x10000 out of range: 0x100000000 is not in [0x0, 0xffffffff]"),
        OverflowRow(.movwUabsG2, 0x1_0000_0000_0000, 0, "relocation R_AARCH64_MOVW_UABS_G2 at 0x10000 out of range: 0x1000000000000 is not in [0x0, 0xffffffffffff]"),
        OverflowRow(.movwSabsG0, 0, -0x1_0001, "relocation R_AARCH64_MOVW_SABS_G0 at 0x10000 out of range: -0x10001 is not in [-0x10000, 0xffff]"),
        OverflowRow(.movwSabsG1, 0x1_0000_0000, 0, "relocation R_AARCH64_MOVW_SABS_G1 at 0x10000 out of range: 0x100000000 is not in [-0x100000000, 0xffffffff]"),
        OverflowRow(.movwSabsG2, 0x1_0000_0000_0000, 0, "relocation R_AARCH64_MOVW_SABS_G2 at 0x10000 out of range: 0x1000000000000 is not in [-0x1000000000000, 0xffffffffffff]"),
        OverflowRow(.movwPrelG0, P + 0x1_0000, 0, "relocation R_AARCH64_MOVW_PREL_G0 at 0x10000 out of range: 0x10000 is not in [-0x10000, 0xffff]"),
        OverflowRow(.movwPrelG1, P + 0x1_0000_0000, 0, "relocation R_AARCH64_MOVW_PREL_G1 at 0x10000 out of range: 0x100000000 is not in [-0x100000000, 0xffffffff]"),
        OverflowRow(.movwPrelG2, P + 0x1_0000_0000_0000, 0, "relocation R_AARCH64_MOVW_PREL_G2 at 0x10000 out of range: 0x1000000000000 is not in [-0x1000000000000, 0xffffffffffff]"),
]

@Suite struct StaticRelocationRows {
    @Test(arguments: rows)
    func row(_ r: Row) throws {
        #expect(try applyOne(r.type, template: r.template, s: r.s, a: r.a, size: r.type == .abs16 ? 2 : 4) == r.expected)
    }

    // R_AARCH64_NONE (0, and Linux's legacy 256) is supported and changes nothing.
    @Test func noneIsANoOp() throws {
        #expect(StaticRelocation.operation(.none) == RelocationOperation.none)
        #expect(StaticRelocation.operation(RelocationType(rawValue: 256)) == RelocationOperation.none)
        #expect(try applyOne(.none, template: 0x1234_5678, s: 0xffff) == 0x1234_5678)
        #expect(StaticRelocation.operation(.tlsdescCall) == nil)
    }

    @Test func dataWords() throws {
        #expect(try applyOne(.abs64, template: 0, s: 0xffff_8000_1234_5678, a: 8, size: 8) == 0xffff_8000_1234_5680)
        #expect(try applyOne(.prel64, template: 0, s: P - 8, a: 0, size: 8) == UInt64(bitPattern: -8))
        #expect(try applyOne(.abs32, template: 0, s: 0xffff_ffff) == 0xffff_ffff)
    }

    @Test(arguments: overflowRows)
    func overflow(_ r: OverflowRow) {
        do {
            _ = try applyOne(r.type, template: 0, s: r.s, a: r.a)
            Issue.record("no error for \(r.type)")
        } catch {
            #expect(error.description == r.message)
        }
    }

    func failure(_ t: RelocationType, _ template: UInt64, _ s: UInt64) -> RelocationError? {
        do { _ = try applyOne(t, template: template, s: s); return nil } catch { return error }
    }

    @Test func misalignedAndUnsupported() {
        #expect(failure(.ldst64AbsLo12Nc, 0xf940_0000, 0x1234_5674)?.description
                == "relocation R_AARCH64_LDST64_ABS_LO12_NC at 0x10000: improper alignment for relocation: 0x12345674 is not 8-byte aligned")
        #expect(failure(.call26, 0x9400_0000, P + 2)?.kind == .misaligned)
        #expect(failure(.tlsdescCall, 0, 0)?.description == "unsupported relocation R_AARCH64_TLSDESC_CALL at 0x10000")
    }

    // Every encoder has a decoder: round trips over the fields' whole ranges.
    @Test func fieldRoundTrips() {
        var rng = SplitMix64(seed: 26)
        for _ in 0..<2000 {
            let w = UInt32(truncatingIfNeeded: rng.next())
            let v = Int64(bitPattern: rng.next())
            #expect(A64Fields.imm26(A64Fields.setImm26(w, UInt64(bitPattern: v))) == (v << 38) >> 38)
            #expect(A64Fields.imm19(A64Fields.setImm19(w, UInt64(bitPattern: v))) == (v << 45) >> 45)
            #expect(A64Fields.imm14(A64Fields.setImm14(w, UInt64(bitPattern: v))) == (v << 50) >> 50)
            #expect(A64Fields.adrImm(A64Fields.setAdrImm(w, UInt64(bitPattern: v))) == (v << 43) >> 43)
            #expect(A64Fields.imm12(A64Fields.setImm12(w, UInt64(bitPattern: v))) == UInt64(bitPattern: v) & 0xfff)
            #expect(A64Fields.imm16(A64Fields.setImm16(w, UInt64(bitPattern: v))) == UInt64(bitPattern: v) & 0xffff)
            #expect(A64Fields.hw(A64Fields.setHw(w, UInt64(bitPattern: v))) == UInt64(bitPattern: v) & 3)
            #expect(A64Fields.imm9(A64Fields.setImm9(w, UInt64(bitPattern: v))) == (v << 55) >> 55)
            #expect(A64Fields.imm7(A64Fields.setImm7(w, UInt64(bitPattern: v))) == (v << 57) >> 57)
            #expect(A64Fields.testBit(A64Fields.setTestBit(w, UInt64(bitPattern: v))) == Int(v & 63))
            // Bits outside the field are untouched.
            #expect(A64Fields.setImm26(w, 0) & ~0x03ff_ffff == w & ~0x03ff_ffff)
        }
    }

    // A PLT entry reaches its target: the decoder reads back what the encoder wrote.
    @Test func pltEntries() throws {
        var plt = [UInt8](repeating: 0, count: 24)
        for (address, target) in [(UInt64(0xffff_8000_0000_1000), UInt64(0xffff_8000_0912_3458)), (0xffff_8000_8000_0ff0, 0xffff_8000_0800_0004)] {
            var thrown: RelocationError? = nil
            plt.withUnsafeMutableBytes { raw in
                do throws(RelocationError) { try PLTEntry.write(target: target, to: MutableByteView(raw), offset: 12, address: address) } catch { thrown = error }
            }
            #expect(thrown == nil)
            #expect(plt.withUnsafeBytes { PLTEntry.target(of: ByteView($0), offset: 12, address: address) } == target)
        }
        #expect(plt.withUnsafeBytes { PLTEntry.target(of: ByteView($0), offset: 0, address: 0) } == nil)
    }
}
