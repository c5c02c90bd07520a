// What a traced routine's relocation loops say, whatever the code's shape.
//
// Every arm64 relocation routine Linux has had walks the tables the same way, because the
// formats dictate it (AAELF64 §5.7; the RELR proposal, generic-abi thread "Proposal for a new
// section type SHT_RELR", 2017):
// - RELA: a cursor advanced by 24 bytes per record; the 32-bit type from r_info (record + 8)
//   compared with R_AARCH64_RELATIVE (1027); the addend (record + 16) added to the run-time
//   offset; the loop bounded by a compare of the cursor with the table's end.
// - RELR: a cursor advanced by 8 bytes per word; bit 0 of each word tested (address or bitmap);
//   the loop bounded the same way.
// The code around them differs by version and compiler; the recognizers decide which shape a
// routine is from the facts below (where the bounds come from, which register holds the offset).

struct RelocationLoop {
    enum Kind { case rela, relr }
    var kind: Kind
    /// The register that walks the table.
    var cursor: Int
    /// The cursor's value at the first record, and the value it is compared against.
    var start: TracedValue
    var end: TracedValue
    /// The instruction that reads the record's type (RELA) or the word (RELR).
    var loadPC: Int
    /// Bytes the cursor advances by on each pass.
    var stride: Int64
    /// The register whose entry value is added to addends or places: the run-time offset.
    var offsetRegister: Int?
    /// How the record is read: `ldp` (a pair, as head.S does) or separate loads (compiled C).
    var readsPair: Bool

    /// The table size, when both bounds have the same symbolic part.
    var size: Int? {
        guard start.isSameKind(as: end), end.constant >= start.constant, end.constant - start.constant <= UInt64(Int32.max) else { return nil }
        return Int(end.constant - start.constant)
    }
}

enum RelocationLoops {
    /// R_AARCH64_RELATIVE (AAELF64 Table 5-13).
    static let relative: UInt64 = 1027

    /// The RELA and RELR loops of one traced routine.
    static func find(in trace: CodeTrace) -> (rela: RelocationLoop?, relr: RelocationLoop?) {
        var rela: RelocationLoop? = nil, relr: RelocationLoop? = nil
        for event in trace.events {
            switch event {
            case .compareImmediate(_, _, let operand, let imm) where imm == relative && rela == nil:
                guard let origin = operand.origin, origin.size >= 4 else { continue }
                // The type lives at record + 8: the record starts 8 bytes before the load.
                let start = origin.address.adding(0 &- 8)
                rela = loop(.rela, trace: trace, origin: origin, start: start, stride: 24)
            case .testBit(_, let operand, 0) where relr == nil:
                guard let origin = operand.origin, origin.size == 8 else { continue }
                relr = loop(.relr, trace: trace, origin: origin, start: origin.address, stride: 8)
            default:
                continue
            }
        }
        return (rela, relr)
    }

    static func loop(_ kind: RelocationLoop.Kind, trace: CodeTrace, origin: LoadOrigin, start: TracedValue, stride: Int64) -> RelocationLoop? {
        let cursor = origin.baseRegister
        let body = trace.loop(through: origin.pc)
        guard !body.isEmpty else { return nil }
        var advanced = false, end: TracedValue? = nil, offsetRegister: Int? = nil, readsPair = false
        for event in trace.events where body.contains(event.pc) {
            switch event {
            case .advance(_, let r, let by) where r == cursor:
                if by == stride { advanced = true }
            case .compareRegisters(_, let rn, let rm, let a, let b) where end == nil:
                if rn == cursor, let b, a.map({ $0.isSameKind(as: b) }) ?? b.isSameKind(as: start) { end = b }
                else if rm == cursor, let a, b.map({ $0.isSameKind(as: a) }) ?? a.isSameKind(as: start) { end = a }
            case .add(_, let a, let b) where offsetRegister == nil:
                // The addend (RELA record + 16) or the RELR address word, plus the offset.
                for (loaded, other) in [(a, b), (b, a)] {
                    guard let o = loaded.origin, o.baseRegister == cursor || o.pc == origin.pc, let r = other.value?.pureEntry else { continue }
                    let field = o.address.constant &- start.constant
                    if (kind == .rela && o.address.isSameKind(as: start) && field == 16) || (kind == .relr && o.pc == origin.pc) {
                        offsetRegister = r
                    }
                }
            case .load(let pc, let o, _) where pc == origin.pc && o.baseRegister == cursor:
                if trace.events.contains(where: { if case .load(pc, let other, _) = $0 { return other.offset != o.offset } else { return false } }) {
                    readsPair = true
                }
            default:
                continue
            }
        }
        guard advanced, let end, end.isSameKind(as: start) else { return nil }
        return RelocationLoop(kind: kind, cursor: cursor, start: start, end: end, loadPC: origin.pc, stride: stride,
                              offsetRegister: offsetRegister, readsPair: readsPair)
    }
}
