// The relative-base layout (KALLSYMS_BASE_RELATIVE, 4.6 to 6.x): kallsyms_offsets, a u32 per
// symbol, then kallsyms_relative_base, a u64; address = relative_base + offset.
//
//   to 6.3   offsets | pad | relative_base | num_syms ...          (before the count)
//   6.4+     ... token_index | pad | offsets | pad | relative_base | seqs_of_names
// every label 8-byte aligned (`ALGN`). scripts/kallsyms.c takes relative_base as the first
// symbol's address (record_relative_base()), so offsets[0] is 0; it emits relative_base as
// `_text + x`, a relocated word: read at its link-time value (the RELA addend on 5.10 and 6.1).

import SlideCore

struct RelativeBaseLayout: KallsymsAddressLayout {
    var name: String { "relative-base" }

    func read(_ core: KallsymsCore, _ input: KallsymsInput) -> KallsymsLayoutReading {
        var why: [String] = []
        for placement in [KallsymsPlacement.afterTokenIndex, .beforeCount] {
            do throws(SlideError) {
                let n = core.count
                let offsets: Int, base: Int
                switch placement {
                case .afterTokenIndex:
                    offsets = KallsymsLocator.alignUp(core.tokenIndex.upperBound, 8)
                    base = KallsymsLocator.alignUp(offsets + 4 * n, 8)
                case .beforeCount:
                    base = core.countOffset - 8
                    offsets = (base - 4 * n) & ~7
                }
                guard offsets >= 0, base >= 0 else { why.append("\(placement.rawValue): the table would start before the image"); continue }
                let values = try input.words32(at: offsets, count: n)
                guard values.first == 0 else {
                    why.append("\(placement.rawValue): kallsyms_offsets[0] at \(hex(UInt64(offsets))) is \(hex(UInt64(values.first ?? 0))), not 0")
                    continue
                }
                let relativeBase = try input.linkTimeWords(at: base, count: 1)[0]
                let addresses = values.map { relativeBase &+ UInt64($0) }
                if let p = input.problem(addresses, tables: core.span(min(offsets, base)..<max(offsets + 4 * n, base + 8)),
                                                starts: core.starts + [offsets, base]) {
                    why.append("\(placement.rawValue): kallsyms_relative_base at \(hex(UInt64(base))) is \(hex(relativeBase)), and \(p)")
                    continue
                }
                return .found(KallsymsAddresses(values: addresses, table: offsets..<(offsets + 4 * n), relativeBase: base,
                                                placement: placement, seqsAfter: placement == .afterTokenIndex ? base + 8 : nil))
            } catch {
                why.append("\(placement.rawValue): \(error)")
            }
        }
        return .notThisLayout(why.joined(separator: "; "))
    }
}
