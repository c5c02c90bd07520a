// Whether an Image's places still hold their link-time values, or were relocated already (by
// `slide relocate`, or dumped from memory after boot). A relocated Image verifies clean and would
// be relocated again from the wrong base, so discovery checks, and every command that relocates
// or reads pointers refuses it.
//
// At link time a RELA RELATIVE place holds 0 (GNU ld --no-apply-dynamic-relocs, Debian's kernels)
// or its addend; after relocation by d it holds addend + d. A RELR place holds a link-time pointer,
// inside [base, base + image size); after relocation every pointer has moved by d, so they no
// longer fit above the base the places give (the places themselves never move).

import SlideCore

enum RelocationState {
    /// The displacement the places show: exact (from RELA entries), or the range RELR's pointers
    /// allow; nil when they hold link-time values.
    enum Shown: Equatable {
        case exact(UInt64)
        case within(low: UInt64, high: UInt64)

        var text: String {
            switch self {
            case .exact(let d): return "already relocated by \(signedHex(d))"
            case .within(let l, let h): return "already relocated by \(signedHex(l))..\(signedHex(h)) (its pointers lie that far from where its places say it was linked)"
            }
        }
    }

    static func signedHex(_ d: UInt64) -> String { Int64(bitPattern: d) < 0 ? hex(signed: Int64(bitPattern: d)) : "+" + hex(d) }

    static func shown(_ data: ByteView, rela: TableBounds?, relr: TableBounds?, base: UInt64, span: UInt64) -> Shown? {
        func value(at p: UInt64) -> UInt64? {
            guard p >= base, p - base < UInt64(data.count), UInt64(data.count) - (p - base) >= 8 else { return nil }
            return data.u64Unchecked(at: Int(p - base))
        }
        // RELA: the displacement most RELATIVE places agree on, when they are not at link time.
        var linkTime = 0, moved: [UInt64: Int] = [:]
        if let t = rela, t.end <= data.count {
            var o = t.offset
            while o + RelaEntry.size <= t.end {
                defer { o += RelaEntry.size }
                let e = RelaEntry(unchecked: data, at: o)
                guard e.info == UInt64(RelocationType.relative.rawValue), let v = value(at: e.offset) else { continue }
                let addend = UInt64(bitPattern: e.addend)
                if v == 0 || v == addend { linkTime += 1 } else { moved[v &- addend, default: 0] += 1 }
            }
        }
        if let (d, n) = moved.max(by: { $0.value < $1.value }), n > linkTime, d != 0 { return .exact(d) }
        // RELR: the displacements d for which every non-null pointer - d lies in the image.
        guard let t = relr, t.end <= data.count, let table = try? RelrTable(data.slice(offset: t.offset, size: t.size)) else { return nil }
        var low = UInt64.max, high: UInt64 = 0, n = 0
        var it = table.makePlaces()
        while let p = it.next() {
            guard let v = value(at: p), v != 0 else { continue }
            low = min(low, v); high = max(high, v); n += 1
        }
        guard n > 0, span > 0 else { return nil }
        // At link time: base <= low and high < base + span.
        if low >= base && high &- base < span { return nil }
        let most = low &- base, least = high &- (base &+ span &- 1)
        guard Int64(bitPattern: most) >= Int64(bitPattern: least) else { return nil } // the pointers do not fit any one image: not a relocation
        return least == most ? .exact(most) : .within(low: least, high: most)
    }
}
