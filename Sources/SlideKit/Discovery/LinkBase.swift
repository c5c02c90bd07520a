// The link address of image byte 0 (Linux's KIMAGE_VADDR, `_text`), from evidence in the Image.
//
// Every relocated place lies inside [base, base + image_size), and so does every pointer a
// place holds: the RELA RELATIVE addends, and the RELR places' implicit addends (the link-time
// values the linker leaves in them; booting.rst: the image runs where it is linked only after
// relocation, so these values are link addresses). That bounds the base to an interval:
//     max(values) - image_size < base <= min(values).
// Linux links at an address with far more alignment than 2 MiB (0xffff800008000000,
// 0xffff800010000000, 0xffff800080000000); the 2 MiB-aligned candidate in the interval with the
// most trailing zero bits is taken. A constant the relocation routine builds (head.S's
// KIMAGE_VADDR) is cross-checked against the interval: it confirms the result or is reported.

import SlideCore

struct LinkBase {
    var value: UInt64
    var source: Provenance
    var reason: String

    /// The smallest alignment a link base has (arm64 images are 2 MiB-aligned, booting.rst §4).
    static let alignment: UInt64 = 0x20_0000

    static func derive(_ data: ByteView, rela: TableBounds?, relr: TableBounds?, memorySize: UInt64,
                       constant: UInt64?, constantEvidence: String?) -> LinkBase? {
        var low = UInt64.max, high: UInt64 = 0, places = 0, pointers = 0
        func see(_ v: UInt64) { low = min(low, v); high = max(high, v) }
        if let t = rela, t.end <= data.count {
            var o = t.offset
            while o + RelaEntry.size <= t.end {
                let info = data.u64Unchecked(at: o + 8)
                if info == UInt64(RelocationType.relative.rawValue) {
                    see(data.u64Unchecked(at: o)); places += 1
                    see(data.u64Unchecked(at: o + 16)); pointers += 1
                }
                o += RelaEntry.size
            }
        }
        var relrPlaces: [UInt64] = []
        if let t = relr, t.end <= data.count, let table = try? RelrTable(data.slice(offset: t.offset, size: t.size)) {
            var it = table.makePlaces()
            while let p = it.next() { see(p); places += 1; relrPlaces.append(p) }
        }
        let span = max(memorySize, UInt64(data.count))
        guard places > 0 else {
            return constant.map { LinkBase(value: $0, source: .codeConstant, reason: constantEvidence ?? "constant in the relocation routine") }
        }
        var interval = candidates(low: low, high: high, span: span)
        // The RELR places' implicit addends, read at the base the places allow, narrow it further.
        if let first = interval.best, !relrPlaces.isEmpty {
            var l = low, h = high, n = 0
            for p in relrPlaces where p >= first && p - first < UInt64(data.count) && UInt64(data.count) - (p - first) >= 8 {
                let v = data.u64Unchecked(at: Int(p - first))
                guard v != 0 else { continue }
                l = min(l, v); h = max(h, v); n += 1
            }
            let narrowed = candidates(low: l, high: h, span: span)
            if narrowed.best != nil { interval = narrowed; low = l; high = h; pointers += n }
        }
        let lowest = interval.lowest
        let what = "\(places) places and \(pointers) pointers"
        guard let best = interval.best else {
            // No base fits every value (a corrupt entry): the constant, or the lowest value rounded down.
            if let constant { return LinkBase(value: constant, source: .codeConstant, reason: (constantEvidence ?? "constant") + "; not every one of the \(what) fits inside the image above it") }
            return LinkBase(value: low & ~(alignment - 1), source: .addendRange,
                            reason: "lowest of \(what) \(hex(low)) rounded down to 2 MiB; they span \(hex(high - low)) bytes, more than the image (\(hex(span)))")
        }
        let count = interval.count
        var reason = "all \(what) lie in [base, base + \(hex(span))) only for base in [\(hex(lowest)), \(hex(low))]; "
            + (count == 1 ? "\(hex(best)) is the one 2 MiB-aligned value there"
                : "\(hex(best)) is the most aligned of the \(count) 2 MiB-aligned values there")
        if let constant {
            if constant == best { return LinkBase(value: best, source: .codeConstant, reason: (constantEvidence ?? "constant") + "; confirmed: " + reason) }
            reason += "; the routine's constant \(hex(constant)) disagrees"
        }
        return LinkBase(value: best, source: .addendRange, reason: reason)
    }

    /// The 2 MiB-aligned bases b with high - span < b <= low: how many, the lowest bound, and the most aligned.
    static func candidates(low: UInt64, high: UInt64, span: UInt64) -> (best: UInt64?, count: Int, lowest: UInt64) {
        guard span > 0 else { return (nil, 0, high) }
        let lowest = high >= span ? high - span + 1 : 0
        guard lowest <= low else { return (nil, 0, lowest) }
        // Rounded up without overflow: lowest may lie in the last 2 MiB below 2^64.
        let first = lowest / alignment + (lowest % alignment == 0 ? 0 : 1), last = low / alignment
        guard first <= last else { return (nil, 0, lowest) }
        // The multiple of 2 MiB in [first, last] (in units of 2 MiB) with the most trailing zeros.
        var best = last
        var bit = UInt64(1) << 42
        while bit > 0 {
            let m = last & ~(bit - 1)
            if m >= first { best = m; break }
            bit >>= 1
        }
        return (best * alignment, Int(min(last - first + 1, UInt64(Int.max))), lowest)
    }
}
