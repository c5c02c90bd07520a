// Each RELA entry and each RELR place, against what the boot code can apply and where it may write.

import SlideCore

struct RelocationEntriesCheck: VerifyCheck {
    func run(_ c: inout VerifyContext) throws(SlideKitError) {
        let rules = PlaceRules(c.image)
        try c.image.withTables { (_, rela, relr) throws(SlideError) in
            if let rela { Self.entries(rela, rules, &c) }
            if let relr { Self.places(relr, rules, &c) }
        }
    }

    private static func entries(_ rela: RelaTable, _ rules: PlaceRules, _ c: inout VerifyContext) {
        c.report.relaEntries = rela.count
        var noneRun: (start: Int, count: Int)? = nil
        func flushNone(_ c: inout VerifyContext) {
            guard let r = noneRun else { return }
            c.add(.warning, "none-padding", "RELA[\(r.start)..\(r.start + r.count - 1)]: \(r.count) R_AARCH64_NONE entries (linker padding), skipped by the boot code",
                  table: "RELA", index: r.start)
            noneRun = nil
        }
        for i in 0..<rela.count {
            let e = rela[i]
            if e.type == .none {
                if e.offset != 0 || e.info != 0 || e.addend != 0 {
                    c.add(.warning, "none-not-zero", "RELA[\(i)] R_AARCH64_NONE entry has non-zero fields", table: "RELA", index: i)
                }
                if let r = noneRun, r.start + r.count == i { noneRun = (r.start, r.count + 1) } else { flushNone(&c); noneRun = (i, 1) }
                continue
            }
            flushNone(&c)
            entry(e, index: i, rules, &c)
        }
        flushNone(&c)
    }

    private static func entry(_ e: RelaEntry, index i: Int, _ rules: PlaceRules, _ c: inout VerifyContext) {
        switch e.type {
        case .relative:
            if e.symbol != 0 {
                c.add(.error, "relative-with-symbol", "RELA[\(i)] R_AARCH64_RELATIVE names symbol \(e.symbol)", table: "RELA", index: i)
            }
            rules.check(e.offset, table: "RELA", index: i, what: "R_AARCH64_RELATIVE", &c)
            let a = UInt64(bitPattern: e.addend)
            if a == 0 {
                c.nulls.rela.append((i, e.offset))
            } else if a < rules.base || a > rules.end {
                c.add(.error, "addend-outside-image", "RELA[\(i)] R_AARCH64_RELATIVE addend \(hex(a)) is outside [\(hex(rules.base)), \(hex(rules.end))]",
                      table: "RELA", index: i)
            }
        case .abs64, .globDat:
            c.add(.warning, "symbolic-entry", "RELA[\(i)] \(e.type) against symbol \(e.symbol) at \(hex(e.offset)), addend \(hex(UInt64(bitPattern: e.addend))): the boot code skips it and the place stays \(Verifier.placeValue(c.image, e.offset))",
                  table: "RELA", index: i)
            rules.check(e.offset, table: "RELA", index: i, what: e.type.description, &c)
        default:
            c.add(.error, "unsupported-type", "RELA[\(i)] \(e.type) at \(hex(e.offset)) cannot be processed by the boot code", table: "RELA", index: i)
        }
    }

    private static func places(_ relr: RelrTable, _ rules: PlaceRules, _ c: inout VerifyContext) {
        var it = relr.makePlaces()
        var n = 0
        while let p = it.next() {
            rules.check(p, table: "RELR", index: it.wordIndex, what: "RELR", &c)
            if Verifier.placeValue(c.image, p) == "0x0" { c.nulls.relr.append((it.wordIndex, p)) }
            n += 1
        }
        c.report.relrPlaces = n
        if let e = it.error { c.add(.error, "relr-bitmap-first", e.description, table: "RELR") }
    }
}

/// Where a relocation may write: inside the image, aligned, not in the header or a table, not in BSS.
struct PlaceRules {
    let base: UInt64, end: UInt64
    let hasHeader: Bool, inBSSFrom: UInt64?
    let tables: [(String, Range<UInt64>)]

    init(_ k: KernelImage) {
        base = k.linkBase
        end = base &+ k.span
        hasHeader = k.header != nil
        inBSSFrom = k.format == .image ? UInt64(k.dataSize) : nil
        let base = base
        tables = [k.rela, k.relr].compactMap { t in
            t.map { ($0.kind == .rela ? "RELA" : "RELR", (base &+ UInt64($0.imageOffset))..<(base &+ UInt64($0.imageOffset + $0.size))) }
        }
    }

    func check(_ p: UInt64, table: String, index: Int, what: String, _ c: inout VerifyContext) {
        c.places.append((p, table, index))
        let at = "\(table)[\(index)] \(what) place \(hex(p))"
        guard p >= base, p < end, end - p >= 8 else {
            c.add(.error, "place-outside-image", "\(at) is outside the image [\(hex(base)), \(hex(end)))", table: table, index: index)
            return
        }
        if p % 2 != 0 {
            c.add(.error, "place-misaligned", "\(at) is odd", table: table, index: index)
        } else if p % 8 != 0 {
            // GNU ld 2.47 relocates pointers inside packed structures through RELR; the kernel's
            // store is unaligned, fine with the MMU on (Linux relocates after enabling it).
            c.add(.warning, "place-unaligned", "\(at) is not 8-byte aligned (an unaligned store: needs the MMU on)", table: table, index: index)
        }
        if p < base + UInt64(ImageHeader.size), hasHeader {
            c.add(.error, "place-in-header", "\(at) is inside the Image header", table: table, index: index)
        }
        for (name, r) in tables where r.overlaps(p..<(p &+ 8)) {
            c.add(.error, "place-in-relocation-table", "\(at) is inside the \(name) table itself", table: table, index: index)
        }
        if let bss = inBSSFrom, p - base >= bss {
            c.add(.warning, "place-in-bss", "\(at) lies past the file data (in BSS, cleared after relocation)", table: table, index: index)
        }
    }
}
