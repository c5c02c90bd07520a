// The relative exception table: sort and lookup against a brute-force reference on random
// tables; the relative encoding round-trips at every position; the checks inspect and verify make.

import Testing
@testable import SlideCore

@Suite struct ExceptionTables {
    struct Rng {
        var s: UInt64
        mutating func next() -> UInt64 { s ^= s << 13; s ^= s >> 7; s ^= s << 17; return s }
    }

    /// Builds a table at image offset `at` from absolute entries.
    func table(_ entries: [ExceptionEntry], at: Int) throws -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: entries.count * ExceptionEntry.size)
        try bytes.withUnsafeMutableBytes { raw in
            for (i, e) in entries.enumerated() { try ExceptionTable.write(e, to: MutableByteView(raw), index: i, offset: at) }
        }
        return bytes
    }

    @Test func sortAndLookupAgreeWithBruteForce() throws {
        var rng = Rng(s: 0x5eed_e7ab)
        for round in 0..<200 {
            let n = Int(rng.next() % 64)
            let at = 0x10_0000 + Int(rng.next() % 0x1000) * 12
            var entries: [ExceptionEntry] = []
            var used = Set<Int64>()
            while entries.count < n {
                let insn = Int64(rng.next() % 0x8_0000) * 4
                guard used.insert(insn).inserted else { continue }
                entries.append(ExceptionEntry(instruction: insn, fixup: insn + 4 * Int64(rng.next() % 64),
                                              type: round % 2 == 0 ? .fixup : .accessErrorZero, data: UInt16(truncatingIfNeeded: rng.next() & 0x3ff)))
            }
            var bytes = try table(entries, at: at)
            let sortedCount = try bytes.withUnsafeMutableBytes { try ExceptionTable.sort(MutableByteView($0), at: at) }
            #expect(sortedCount == n)
            try bytes.withUnsafeBytes { raw in
                let t = try ExceptionTable(ByteView(raw), at: at)
                #expect(t.count == n)
                let reference = entries.sorted { $0.instruction < $1.instruction }
                for i in 0..<n { #expect(t[i] == reference[i]) }
                #expect(t.problem(text: 0..<0x20_0000) == nil)
                // Every present instruction is found with its own entry; absent ones are not.
                for e in entries { #expect(t.lookup(e.instruction) == e) }
                for _ in 0..<32 {
                    let probe = Int64(rng.next() % 0x8_0000) * 4 + Int64(rng.next() % 2) * 2
                    #expect(t.lookup(probe) == entries.first { $0.instruction == probe })
                }
            }
        }
    }

    /// A hand-written entry: insn 0x1000 and fixup 0x1010 from a table at 0x2000 are stored as
    /// 0x1000 - 0x2000 = -0x1000 and 0x1010 - 0x2004 = -0xff4; type 3 with x0 (error) and x3 (zero).
    @Test func relativeEncoding() throws {
        let e = ExceptionEntry(instruction: 0x1000, fixup: 0x1010, type: .accessErrorZero, data: 0 | 3 << 5)
        let bytes = try table([e], at: 0x2000)
        #expect(bytes == [0x00, 0xf0, 0xff, 0xff, 0x0c, 0xf0, 0xff, 0xff, 0x03, 0x00, 0x60, 0x00])
        #expect(e.errorRegister == 0 && e.zeroRegister == 3)
        let far = ExceptionEntry(instruction: 0x1_0000_0000, fixup: 0, type: .fixup, data: 0)
        #expect(throws: SlideError.self) { _ = try table([far], at: 0) }
    }

    @Test func problems() throws {
        func check(_ entries: [ExceptionEntry]) throws -> ExceptionTableProblem? {
            let bytes = try table(entries, at: 0x8000)
            return try bytes.withUnsafeBytes { try ExceptionTable(ByteView($0), at: 0x8000).problem(text: 0x1000..<0x4000) }
        }
        let a = ExceptionEntry(instruction: 0x1000, fixup: 0x1100, type: .fixup, data: 0)
        let b = ExceptionEntry(instruction: 0x2000, fixup: 0x2100, type: .fixup, data: 0)
        #expect(try check([a, b]) == nil)
        #expect(try check([b, a]) == ExceptionTableProblem(kind: .unsorted, index: 1, value: 0x1000))
        #expect(try check([a, a]) == ExceptionTableProblem(kind: .duplicate, index: 1, value: 0x1000))
        #expect(try check([a, ExceptionEntry(instruction: 0x5000, fixup: 0x1000, type: .fixup, data: 0)])?.kind == .instructionOutsideText)
        #expect(try check([ExceptionEntry(instruction: 0x1000, fixup: 0x9000, type: .fixup, data: 0)])?.kind == .fixupOutsideText)
        #expect(throws: SlideError.self) { _ = try [UInt8](repeating: 0, count: 13).withUnsafeBytes { try ExceptionTable(ByteView($0), at: 0) } }
    }
}
