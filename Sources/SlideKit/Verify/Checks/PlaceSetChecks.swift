// Checks over all the places the entry walk collected (RelocationEntriesCheck runs first).

import SlideCore

/// Null pointers: relocated like any other, they become the bare offset (GNU ld writes them for
/// `__mcount_loc` slots of discarded functions; LinkBase.swift). One warning per table.
struct NullPointerCheck: VerifyCheck {
    func run(_ c: inout VerifyContext) {
        for (table, list) in [("RELA", c.nulls.rela), ("RELR", c.nulls.relr)] where !list.isEmpty {
            c.add(.warning, "null-pointer", "\(table): \(list.count) relocated places hold a null pointer (link-time value 0), first \(table)[\(list[0].0)] at \(hex(list[0].1)): after relocation each holds the displacement itself",
                  table: table, index: list[0].0)
        }
    }
}

struct DuplicatePlaceCheck: VerifyCheck {
    func run(_ c: inout VerifyContext) {
        let places = c.places.sorted { $0.0 < $1.0 }
        guard places.count > 1 else { return }
        for i in 1..<places.count where places[i].0 == places[i - 1].0 {
            let (p, t, idx) = places[i], (_, t0, idx0) = places[i - 1]
            c.add(.error, "duplicate-place", "place \(hex(p)) is relocated twice: \(t0)[\(idx0)] and \(t)[\(idx)]", table: t, index: idx)
        }
    }
}
