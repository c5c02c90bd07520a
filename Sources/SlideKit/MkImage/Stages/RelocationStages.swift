// The relocations: only what the boot code processes, nothing in the header; then, on request,
// RELATIVE RELA entries repacked as RELR or their places zeroed.

import SlideCore

struct CollectRelocations: MkImageStage {
    func run(_ b: inout ImageBuild) throws(SlideKitError) {
        // Linux's own vmlinux keeps a few ABS64/GLOB_DAT entries its boot code skips (Debian 5.10-7.2:
        // three ABS64 and one GLOB_DAT; head.S __relocate_kernel and pi/relocate.c apply RELATIVE only):
        // a Linux kernel (it has linux_banner) is accepted with them, and they are reported.
        let allowSymbolic = b.options.allowSymbolic || b.elf.symbols["linux_banner"] != nil
        let k = b.input
        let header = k.linkBase &+ UInt64(ImageHeader.size)
        func inHeader(_ p: UInt64) -> SlideError {
            .outOfRange("relocation place inside the Image header", value: p, low: k.linkBase &+ 64, high: k.linkBase &+ k.memorySize)
        }
        var places: [UInt64] = [], kept: [RelaEntry] = [], symbolic = 0
        try k.withTables { (_, rela, relr) throws(SlideError) in
            for i in 0..<(rela?.count ?? 0) {
                let e = rela![i]
                switch e.type {
                case .relative: places.append(e.offset)
                case .none: kept.append(e)
                case .abs64 where allowSymbolic, .globDat where allowSymbolic: kept.append(e); symbolic += 1
                default:
                    throw SlideError.unsupported("dynamic relocation type for the boot code (only R_AARCH64_RELATIVE)", value: UInt64(e.type.rawValue))
                }
                if e.type == .relative && e.offset < header { throw inHeader(e.offset) }
            }
            if let relr {
                var it = relr.makePlaces()
                while let p = it.next() { if p < header { throw inHeader(p) } }
                if let e = it.error { throw e }
            }
        }
        b.relativePlaces = places
        b.kept = kept
        if symbolic > 0 {
            b.notes.append("\(symbolic) symbol-based entries left untouched (\(b.options.allowSymbolic ? "--allow-symbolic" : "a Linux kernel")): the boot code skips them")
        }
        if let t = k.rela { b.relaRange = t.imageOffset..<(t.imageOffset + t.size); b.relaEntries = t.size / RelaEntry.size }
        if let t = k.relr { b.relrRange = t.imageOffset..<(t.imageOffset + t.size); b.relrWords = t.size / 8 }
        for r in [b.relaRange, b.relrRange] where !r.isEmpty && r.upperBound > k.dataSize {
            throw b.refuse("relocation table \(hex(UInt64(r.lowerBound)))..\(hex(UInt64(r.upperBound))) lies outside the image data")
        }
    }
}

/// `--pack-relr`: RELATIVE RELA → RELR in the RELA table's own space (RELR places hold their
/// link value); `--zero-relocated-places`: RELA places zeroed. Then the RELR places are counted.
struct RepackRelocations: MkImageStage {
    func run(_ b: inout ImageBuild) throws(SlideKitError) {
        if b.options.packRelr && b.elf.symbols["slide_seal"] == nil {
            throw b.refuse("--pack-relr needs a slide_seal placeholder: the boot code must read the repacked table bounds from the seal, not from link-time symbols")
        }
        if b.options.packRelr && !b.relativePlaces.isEmpty {
            try pack(&b)
        } else if b.options.zeroRelocatedPlaces {
            let places = b.relativePlaces, base = b.linkBase
            try b.edit { (m) throws(SlideError) in for p in places { try m.setU64(0, at: Int(p - base)) } }
            b.notes.append("zeroed \(places.count) RELA places")
        }
        let range = b.relrRange
        let words = try b.lift { () throws(SlideError) in
            try b.image.withView { (v) throws(SlideError) -> [UInt64] in
                try stride(from: range.lowerBound, to: range.upperBound, by: 8).map { (o) throws(SlideError) -> UInt64 in try v.u64(at: o) }
            }
        }
        b.relrPlaces = try b.lift { () throws(SlideError) in try RelrTool.unpack(words).count }
    }

    private func pack(_ b: inout ImageBuild) throws(SlideKitError) {
        let existing = try RelrTool.words(of: b.input)
        let places = b.relativePlaces
        let words = try b.lift { () throws(SlideError) in try RelrTool.pack(places + (try RelrTool.unpack(existing))) }
        let relaRange = b.relaRange, relrRange = b.relrRange, kept = b.kept, base = b.linkBase
        let relaKeep = kept.count * RelaEntry.size
        guard relaKeep + words.count * 8 <= relaRange.count else { throw b.refuse("RELR words do not fit in the RELA table's space") }
        try b.edit { (m) throws(SlideError) in
            // Each RELATIVE place takes its link-time value (the addend), as RELR expects.
            let rela = try RelaTable(m.readOnly.slice(offset: relaRange.lowerBound, size: relaRange.count))
            var relative: [RelaEntry] = []
            for i in 0..<rela.count where rela[i].type == .relative { relative.append(rela[i]) }
            for e in relative { try m.setU64(UInt64(bitPattern: e.addend), at: Int(e.offset - base)) }
            // The kept entries, then the RELR words, then zeros, in the RELA table's space.
            for (i, e) in kept.enumerated() { try RelaTable.write(e, to: try m.slice(relaRange.lowerBound, relaKeep), index: i) }
            let wordsStart = relaRange.lowerBound + relaKeep
            for (i, w) in words.enumerated() { try m.setU64(w, at: wordsStart + i * 8) }
            for o in stride(from: wordsStart + words.count * 8, to: relaRange.upperBound, by: 8) { try m.setU64(0, at: o) }
            for o in stride(from: relrRange.lowerBound, to: relrRange.upperBound, by: 8) { try m.setU64(0, at: o) }
        }
        b.saved = relaRange.count + relrRange.count - relaKeep - words.count * 8
        b.relrRange = (relaRange.lowerBound + relaKeep)..<(relaRange.lowerBound + relaKeep + words.count * 8)
        b.relaRange = relaRange.lowerBound..<(relaRange.lowerBound + relaKeep)
        b.relaEntries = kept.count
        b.relrWords = words.count
        b.notes.append("packed \(places.count) RELATIVE entries into \(words.count) RELR words, saving \(b.saved) bytes")
    }
}
