// The absolute layout (KALLSYMS_BASE_RELATIVE off, to 6.10): kallsyms_addresses, a u64 per
// symbol, each emitted as `_text + x` and so relocated at boot.
//
//   to 6.3   addresses | num_syms ...                              (before the count)
//   6.4+     ... token_index | pad | addresses | seqs_of_names
// every label 8-byte aligned. No arm64 kernel from 5.10 on builds it by default (arm64 gets
// KALLSYMS_BASE_RELATIVE); it is read for completeness, and each word at its link-time value,
// since a RELA kernel leaves zeros where its RELATIVE entries will write.

import SlideCore

struct AbsoluteLayout: KallsymsAddressLayout {
    var name: String { "absolute" }

    func read(_ core: KallsymsCore, _ input: KallsymsInput) -> KallsymsLayoutReading {
        var why: [String] = []
        for placement in [KallsymsPlacement.afterTokenIndex, .beforeCount] {
            do throws(SlideError) {
                let n = core.count
                let table = placement == .afterTokenIndex ? KallsymsLocator.alignUp(core.tokenIndex.upperBound, 8) : core.countOffset - 8 * n
                guard table >= 0 else { why.append("\(placement.rawValue): the table would start before the image"); continue }
                let addresses = try input.linkTimeWords(at: table, count: n)
                if let p = input.problem(addresses, tables: core.span(table..<(table + 8 * n)), starts: core.starts + [table]) { why.append("\(placement.rawValue): \(p)"); continue }
                return .found(KallsymsAddresses(values: addresses, table: table..<(table + 8 * n), relativeBase: nil, placement: placement,
                                                seqsAfter: placement == .afterTokenIndex ? table + 8 * n : nil))
            } catch {
                why.append("\(placement.rawValue): \(error)")
            }
        }
        return .notThisLayout(why.joined(separator: "; "))
    }
}
