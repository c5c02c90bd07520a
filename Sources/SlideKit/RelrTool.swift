// `slide relr pack|unpack`: RELATIVE places ⇄ RELR words, with SlideCore's codec.

import SlideCore

public enum RelrTool {
    /// Packs places (sorted and de-duplicated first) into RELR words.
    public static func pack(_ places: [UInt64]) throws(SlideError) -> [UInt64] {
        let sorted = Array(Set(places)).sorted()
        var words: [UInt64] = []
        try Relr.encode(count: sorted.count, place: { sorted[$0] }, emit: { words.append($0) })
        return words
    }

    /// Decodes RELR words into places.
    public static func unpack(_ words: [UInt64]) throws(SlideError) -> [UInt64] {
        try words.withView { (view) throws(SlideError) -> [UInt64] in
            let table = try RelrTable(view)
            var it = table.makePlaces()
            var out: [UInt64] = []
            while let p = it.next() { out.append(p) }
            if let e = it.error { throw e }
            return out
        }
    }

    /// The RELATIVE places of a kernel's RELA table (what `pack` would encode).
    public static func relativePlaces(of k: KernelImage) throws(SlideKitError) -> [UInt64] {
        try k.withTables { (_, rela, relr) throws(SlideError) -> [UInt64] in
            var out: [UInt64] = []
            if let rela { for i in 0..<rela.count where rela[i].type == .relative { out.append(rela[i].offset) } }
            if let relr {
                var it = relr.makePlaces()
                while let p = it.next() { out.append(p) }
                if let e = it.error { throw e }
            }
            return out
        }
    }

    /// RELR words of a kernel's RELR table.
    public static func words(of k: KernelImage) throws(SlideKitError) -> [UInt64] {
        try k.withTables { (_, _, relr) throws(SlideError) -> [UInt64] in
            guard let relr else { return [] }
            return (0..<relr.count).map { relr[$0] }
        }
    }
}
