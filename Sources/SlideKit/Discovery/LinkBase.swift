// The link address of image byte 0 (Linux's KIMAGE_VADDR, `_text`), from evidence in the Image.
//
// Every place a table relocates lies inside [base, base + image_size): that bounds the base to an
// interval, max(places) - image_size < base <= min(places). The pointers the places hold narrow it
// further: the RELATIVE addends, and the RELR places' implicit addends (the link-time values the
// linker leaves in them; booting.rst: the image runs where it is linked only after relocation, so
// these values are link addresses). A pointer of 0 is a null pointer, not an address: GNU ld 2.40
// writes RELATIVE entries with addend 0 for `__mcount_loc` slots of discarded functions (341 in
// Debian's bookworm-backports 6.12), so zeros are counted and set aside, and pointers are only
// ever a refinement of the places' interval, never the whole evidence.
//
// Linux links at an address with far more alignment than 2 MiB (0xffff800008000000,
// 0xffff800010000000, 0xffff800080000000). The base is *established* when the interval holds one
// 2 MiB-aligned value, or when a constant the relocation routine builds (head.S's KIMAGE_VADDR)
// is the one taken; with several candidates and no constant, the most aligned one is an
// inference, said so, and commands that need the base refuse it (`KernelImage.requireLinkBase`).

import SlideCore

struct LinkBase {
    var value: UInt64
    var source: Provenance
    var reason: String
    /// Established by the evidence (one candidate, a confirming constant, a seal, section
    /// headers) or given by the user; false for an inference among several candidates.
    var established: Bool = true

    /// The smallest alignment a link base has (arm64 images are 2 MiB-aligned, booting.rst §4).
    static let alignment: UInt64 = ImageAlignment.kernel

    static func derive(_ data: ByteView, rela: TableBounds?, relr: TableBounds?, memorySize: UInt64,
                       constant: UInt64?, constantEvidence: String?) -> LinkBase? {
        let span = max(memorySize, UInt64(data.count))
        let e = Evidence(data, rela: rela, relr: relr)
        guard e.places > 0 else {
            return constant.map { LinkBase(value: $0, source: .codeConstant, reason: constantEvidence ?? "constant in the relocation routine") }
        }
        let byPlaces = candidates(low: e.low, high: e.high, span: span)
        guard let c = byPlaces.best else {
            // No base puts every place inside the image: a corrupt table. Only the routine's constant is left.
            let why = "the \(e.places) places span \(hex(e.high &- e.low)) bytes, more than the image (\(hex(span)))"
            return constant.map { LinkBase(value: $0, source: .codeConstant, reason: (constantEvidence ?? "constant") + "; " + why, established: false) }
        }
        var nulls = e.nulls
        if let b = narrowed(data, e, byPlaces, span: span, nulls: &nulls) {
            let nullText = nulls > 0 ? "; \(nulls) null pointers (addend 0) set aside" : ""
            var reason = "all \(e.places) places and \(b.pointers) pointers lie in [base, base + \(hex(span))) only for base in [\(hex(b.lowest)), \(hex(b.low))]; "
                + (b.count == 1 ? "\(hex(b.base)) is the one 2 MiB-aligned value there"
                    : "\(hex(b.base)) is the most aligned of the \(b.count) 2 MiB-aligned values there") + nullText
            if let constant {
                if constant == b.base { return LinkBase(value: b.base, source: .codeConstant, reason: (constantEvidence ?? "constant") + "; confirmed: " + reason) }
                reason += "; the routine's constant \(hex(constant)) disagrees"
                return LinkBase(value: b.base, source: .addendRange, reason: reason, established: false)
            }
            return LinkBase(value: b.base, source: .addendRange, reason: reason, established: b.count == 1)
        }
        // The pointers fit no candidate: the places alone, an inference.
        let nullText = nulls > 0 ? "; \(nulls) null pointers (addend 0) set aside" : ""
        var reason = "the \(e.places) places lie in [base, base + \(hex(span))) for base in [\(hex(byPlaces.lowest)), \(hex(e.low))], "
            + "\(hex(c)) the most aligned of \(byPlaces.count); the pointers they hold do not all fit one base" + nullText
        if let constant {
            if constant == c { return LinkBase(value: c, source: .codeConstant, reason: (constantEvidence ?? "constant") + "; confirmed by the places: " + reason) }
            reason += "; the routine's constant \(hex(constant)) disagrees"
        }
        return LinkBase(value: c, source: .addendRange, reason: reason, established: false)
    }

    /// What the tables say about the base: the places (every non-NONE RELA place, every RELR
    /// place) and the RELA addends' range (which does not depend on the base), in one pass.
    struct Evidence {
        var low = UInt64.max, high: UInt64 = 0, places = 0
        var pointerLow = UInt64.max, pointerHigh: UInt64 = 0, relaPointers = 0, nulls = 0
        var relrPlaces: [UInt64] = []

        init(_ data: ByteView, rela: TableBounds?, relr: TableBounds?) {
            if let t = rela, t.end <= data.count {
                var o = t.offset
                while o + RelaEntry.size <= t.end {
                    defer { o += RelaEntry.size }
                    let e = RelaEntry(unchecked: data, at: o)
                    guard e.type != .none else { continue }
                    low = min(low, e.offset); high = max(high, e.offset); places += 1
                    if e.info == UInt64(RelocationType.relative.rawValue) {
                        let addend = UInt64(bitPattern: e.addend)
                        if addend == 0 { nulls += 1 } else { pointerLow = min(pointerLow, addend); pointerHigh = max(pointerHigh, addend); relaPointers += 1 }
                    }
                }
            }
            if let t = relr, t.end <= data.count, let table = try? RelrTable(data.slice(offset: t.offset, size: t.size)) {
                var it = table.makePlaces()
                while let p = it.next() { low = min(low, p); high = max(high, p); places += 1; relrPlaces.append(p) }
            }
        }
    }

    /// The pointers narrow the places' interval. RELR's implicit addends are read at a candidate
    /// base; the most aligned candidates are tried first. The RELR null pointers at the base
    /// taken are added to `nulls`.
    static func narrowed(_ data: ByteView, _ e: Evidence, _ byPlaces: Candidates, span: UInt64,
                         nulls: inout Int) -> (base: UInt64, count: Int, lowest: UInt64, low: UInt64, pointers: Int)? {
        for c in byPlaces.mostAlignedFirst().prefix(16) {
            var l = min(e.low, e.pointerLow), h = max(e.high, e.pointerHigh), n = e.relaPointers
            var relrNulls = 0
            for p in e.relrPlaces where p >= c && p - c < UInt64(data.count) && UInt64(data.count) - (p - c) >= 8 {
                let v = data.u64Unchecked(at: Int(p - c))
                if v == 0 { relrNulls += 1; continue }
                l = min(l, v); h = max(h, v); n += 1
            }
            let narrowed = candidates(low: l, high: h, span: span)
            if narrowed.best != nil, narrowed.lowest <= c, c <= l {
                nulls += relrNulls
                return (c, narrowed.count, narrowed.lowest, l, n)
            }
        }
        return nil
    }

    /// The 2 MiB-aligned bases b with high - span < b <= low.
    struct Candidates {
        /// The most aligned one, nil when there is none.
        var best: UInt64?
        var count: Int
        /// The lowest base the values allow (before 2 MiB rounding).
        var lowest: UInt64
        /// The range of candidates, in units of 2 MiB.
        var units: ClosedRange<UInt64>?

        /// Up to `limit` candidates, most trailing zero bits first.
        func mostAlignedFirst(limit: Int = 16) -> [UInt64] {
            guard let units else { return [] }
            var out: [UInt64] = []
            var bit = UInt64(1) << 42
            while bit > 0, out.count < limit {
                // The multiples of `bit` in the range that no larger power already listed.
                var m = (units.lowerBound + bit - 1) / bit * bit
                while m <= units.upperBound, out.count < limit {
                    if !out.contains(m * alignment) { out.append(m * alignment) }
                    guard m <= UInt64.max - bit else { break }
                    m += bit
                }
                bit >>= 1
            }
            return out
        }
    }

    static func candidates(low: UInt64, high: UInt64, span: UInt64) -> Candidates {
        guard span > 0 else { return Candidates(best: nil, count: 0, lowest: high) }
        let lowest = high >= span ? high - span + 1 : 0
        guard lowest <= low else { return Candidates(best: nil, count: 0, lowest: lowest) }
        // Rounded up without overflow: lowest may lie in the last 2 MiB below 2^64.
        let first = lowest / alignment + (lowest % alignment == 0 ? 0 : 1), last = low / alignment
        guard first <= last else { return Candidates(best: nil, count: 0, lowest: lowest) }
        let c = Candidates(best: nil, count: Int(min(last - first + 1, UInt64(Int.max))), lowest: lowest, units: first...last)
        var r = c
        r.best = c.mostAlignedFirst(limit: 1).first
        return r
    }
}
