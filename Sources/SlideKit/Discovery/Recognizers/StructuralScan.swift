// Tables found from their data alone, for kernels whose relocation routine no recognizer knows.
//
// It knows the formats, not the code: a RELA table is a run of 24-byte records, each
// R_AARCH64_RELATIVE (no symbol), R_AARCH64_ABS64 or R_AARCH64_GLOB_DAT (with a symbol), or an
// all-zero R_AARCH64_NONE record, every non-NONE place in one window the size of the image; a RELR
// table is an address word (even) followed by bitmaps (odd) and further address words, every
// place ascending and inside such a window. What it cannot know is where a RELA table's trailing
// NONE records end (they look like zero padding): it takes them up to the next non-zero data or
// the next table, and says so. So it is a guess with a confidence, never a proof.

import SlideCore

struct StructuralScan: TableRecognizer {
    static let name = "structural-scan"
    static let summary = "no code: RELA and RELR by their format"
    var readsCode: Bool { false }

    /// Fewest non-NONE records, or RELR words, a run needs to count (a real table has thousands).
    static let minimumRecords = 16

    func recognize(_ input: DiscoveryInput) -> Recognition? {
        let relr = Self.relrRun(input)
        var rela = Self.relaRun(input)
        // A RELA table right before the RELR table is trusted with fewer records (6.12+: a handful).
        if let r = rela, r.records < Self.minimumRecords, !(relr.map { r.bounds.end == $0.offset } ?? false) { rela = nil }
        guard rela != nil || relr != nil else { return nil }
        var parts: [String] = [], caveats: [String] = []
        if let r = rela {
            parts.append("RELA: \(r.records) RELATIVE/ABS64/GLOB_DAT records and \(r.zeros) all-zero NONE records from \(hex(UInt64(r.bounds.offset)))")
            if r.trailingZeros > 0 {
                caveats.append(relr.map { r.bounds.end == $0.offset } ?? false
                    ? "the RELA table's \(r.trailingZeros) trailing NONE records are taken up to the RELR table that follows them"
                    : "the RELA table's end is a guess: its \(r.trailingZeros) trailing all-zero records (NONE, or padding) run up to the next non-zero data at \(hex(UInt64(r.bounds.end)))")
            }
        }
        if let r = relr { parts.append("RELR: \(r.size / 8) words from \(hex(UInt64(r.offset))), every place ascending inside one image-sized window") }
        let confidence = rela.map { $0.records >= 1000 } ?? true && relr.map { $0.size / 8 >= 1000 } ?? true ? 0.9 : 0.6
        return Recognition(source: source, rela: rela?.bounds, relr: relr, reason: parts.joined(separator: "; "),
                           evidence: nil, confidence: confidence, caveat: caveats.isEmpty ? nil : caveats.joined(separator: "; "))
    }

    struct RelaRun { var bounds: TableBounds; var records: Int; var zeros: Int; var trailingZeros: Int }

    /// The RELA run with the most non-NONE records.
    static func relaRun(_ input: DiscoveryInput) -> RelaRun? {
        let data = input.data
        let window = max(input.memorySize, UInt64(data.count))
        let end = data.count
        var best: RelaRun? = nil
        var o = 0
        while o + 24 <= end {
            guard let first = record(data, o), first.kind == .placed else { o += 8; continue }
            var low = first.place, high = first.place
            var p = o, records = 0, zeros = 0, trailing = 0
            while p + 24 <= end, let r = record(data, p) {
                if r.kind == .zero { zeros += 1; trailing += 1; p += 24; continue }
                let l = min(low, r.place), h = max(high, r.place)
                guard h - l < window, r.value.map({ ($0 >= l ? $0 - l : l - $0) <= window }) ?? true else { break }
                low = l; high = h; records += 1; trailing = 0; p += 24
            }
            // Trailing zero records run up to the next record that is neither zero nor plausible.
            let run = RelaRun(bounds: TableBounds(offset: o, size: p - o), records: records, zeros: zeros, trailingZeros: trailing)
            if records > (best?.records ?? 0) { best = run }
            o = max(p, o + 8)
        }
        return best
    }

    enum RecordKind { case zero, placed }

    /// A plausible dynamic relocation record at `o`: its place, and for RELATIVE its addend (a pointer).
    static func record(_ data: ByteView, _ o: Int) -> (kind: RecordKind, place: UInt64, value: UInt64?)? {
        let e = RelaEntry(unchecked: data, at: o)
        let offset = e.offset, addend = UInt64(bitPattern: e.addend), symbol = e.symbol
        if offset == 0 && e.info == 0 && addend == 0 { return (.zero, 0, nil) }
        guard offset & 1 == 0, offset != 0 else { return nil }
        switch e.type {
        // Addend 0 is a null pointer (LinkBase.swift): a place, but no pointer to check.
        case .relative where symbol == 0: return (.placed, offset, addend == 0 ? nil : addend)
        case .abs64 where symbol != 0, .globDat where symbol != 0: return (.placed, offset, nil)
        default: return nil
        }
    }

    /// The well-formed RELR run that encodes the most places. A real table is mostly bitmaps (odd
    /// words) with an address word every few dozen words (Debian 6.12: one in 16; 7.2: one in 14);
    /// a sorted array of pointers is all address words, and a run of odd instructions (NOP
    /// padding) is one address word and then bitmaps: neither is taken for a table.
    static func relrRun(_ input: DiscoveryInput) -> TableBounds? {
        let data = input.data
        let window = max(input.memorySize, UInt64(data.count))
        var runs: [(bounds: TableBounds, places: Int, low: UInt64, high: UInt64)] = []
        var start = -1, low: UInt64 = 0, next: UInt64 = 0, last: UInt64 = 0, places = 0, addresses = 0
        func close(at o: Int) {
            let words = (o - start) / 8
            if start >= 0, words >= minimumRecords, addresses * 4 <= words, addresses * 256 >= words {
                runs.append((TableBounds(offset: start, size: o - start), places, low, last))
            }
            start = -1
        }
        var o = 0
        while o + 8 <= data.count {
            let w = data.u64Unchecked(at: o)
            if start >= 0 {
                if w & 1 == 1 {
                    // A bitmap: bit i marks next + (i - 1) * 8; the highest must stay in the window.
                    let highest = 63 - w.leadingZeroBitCount
                    let top = next &+ UInt64(max(highest, 1) - 1) * 8
                    if top &- low < window {
                        if highest > 0 { last = top }
                        next &+= 63 * 8; places += w.nonzeroBitCount - 1; o += 8; continue
                    }
                } else if w > last, w &- low < window {
                    // An address word: a place past every place so far (GNU ld puts 2-aligned places here too).
                    next = w &+ 8; last = w; places += 1; addresses += 1; o += 8; continue
                }
                close(at: o)
            }
            if w & 1 == 0, w != 0 { start = o; low = w; next = w &+ 8; last = w; places = 1; addresses = 1 }
            o += 8
        }
        close(at: o)
        // The places of a real table hold link-time pointers into the same image (RELR's implicit
        // addends): code or other data at those places does not.
        for run in runs.sorted(by: { $0.places > $1.places }).prefix(8) {
            guard let base = LinkBase.candidates(low: run.low, high: run.high, span: window).best,
                  let table = try? RelrTable(data.slice(offset: run.bounds.offset, size: run.bounds.size)) else { continue }
            var it = table.makePlaces()
            var seen = 0, pointers = 0
            while seen < 4096, let p = it.next() {
                guard p >= base, p - base < UInt64(data.count), UInt64(data.count) - (p - base) >= 8 else { continue }
                let v = data.u64Unchecked(at: Int(p - base))
                seen += 1
                if v >= base, v - base <= window { pointers += 1 }
            }
            if seen > 0, pointers * 2 >= seen { return run.bounds }
        }
        return nil
    }
}
