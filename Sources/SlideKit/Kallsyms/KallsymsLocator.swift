// Finding the kallsyms tables in a flat image by their structure alone: no symbols, no section
// headers, no per-build constants.
//
// scripts/kallsyms.c emits the tables into .rodata in one of these orders (each label aligned to
// 8 bytes on 64-bit kernels up to 6.x, where `ALGN` is `.balign 8`, and to 4 bytes from 7.0):
//   5.10–6.1   offsets relative_base num_syms names markers token_table token_index
//   6.2–6.3    offsets relative_base num_syms names markers seqs_of_names token_table token_index
//              (Debian's 6.1.y carries 6.2's seqs_of_names as a backport: it has this order)
//   6.4–6.x    num_syms names markers token_table token_index offsets relative_base seqs_of_names
//   7.0+       num_syms names markers token_table token_index offsets seqs_of_names
// with kallsyms_addresses in place of offsets + relative_base when KALLSYMS_BASE_RELATIVE is off
// (possible up to 6.10).
//
// The anchor is the token index (KallsymsNames.swift). From it, backwards:
//   markers    u32 offsets into names, one every `stride` symbols (256 in every version read so
//              far; the stride is taken from the data, not assumed), strictly increasing from 0,
//              ending at the token table, or at kallsyms_seqs_of_names (3 bytes a symbol) when
//              that sits in between;
//   num_syms   a u32 (zero-padded to 8 bytes before 7.0), followed by names, whose records, read
//              one by one, land on every marker and end (padded) exactly where the markers begin.
// Where the addresses are is each address layout's business (AddressLayout.swift).

import SlideCore

/// The tables every layout shares, as image offsets.
struct KallsymsCore {
    /// kallsyms_num_syms, and where it is.
    var count: Int
    var countOffset: Int
    /// kallsyms_names: `count` records.
    var names: Range<Int>
    /// kallsyms_markers: one u32 every `markerStride` symbols.
    var markers: Range<Int>
    var markerStride: Int
    var tokens: KallsymsTokens
    /// kallsyms_token_index: 256 u16.
    var tokenIndex: Range<Int>
    /// kallsyms_seqs_of_names when it sits between the markers and the token table (6.2–6.3 order).
    var seqsBeforeTokens: Range<Int>?

    /// From the first table to the last, with the address tables at `addresses`.
    func span(_ addresses: Range<Int>) -> Range<Int> {
        min(countOffset, addresses.lowerBound)..<max(tokenIndex.upperBound, addresses.upperBound)
    }

    /// Where each shared table starts (their labels).
    var starts: [Int] {
        [countOffset, names.lowerBound, markers.lowerBound, tokens.table.lowerBound, tokenIndex.lowerBound] + (seqsBeforeTokens.map { [$0.lowerBound] } ?? [])
    }
}

enum KallsymsLocator {
    /// Most symbols considered: 20 times the largest kernel read so far (7.x with KALLSYMS_ALL,
    /// 210 k). Bounds the backward searches, so a hostile image cannot make them scan forever.
    static let mostSymbols = 1 << 22
    /// Largest marker stride considered (Linux: 256).
    static let largestStride = 1024

    static func locate(_ view: ByteView, limit: Int, path: String) throws(SlideKitError) -> KallsymsCore {
        let end = min(limit, view.count) - KallsymsTokens.indexSize
        var tokenTables = 0
        var o = 0
        while o <= end {
            defer { o += 4 }
            // Cheap filter first: offsets 0, then three increasing ones.
            let w0 = view.u32Unchecked(at: o)
            guard w0 & 0xffff == 0 else { continue }
            let w1 = view.u32Unchecked(at: o + 4)
            guard w0 >> 16 > 0, w1 & 0xffff > w0 >> 16, w1 >> 16 > w1 & 0xffff else { continue }
            guard let tokens = KallsymsTokens.read(view, index: o) else { continue }
            tokenTables += 1
            if let core = core(view, tokens: tokens, index: o) { return core }
        }
        if tokenTables == 0 {
            throw SlideKitError(path, "no kallsyms token table found (256 NUL-terminated tokens followed by their 256 u16 offsets): "
                + "the kernel was built without CONFIG_KALLSYMS, or this is not a kernel image")
        }
        throw SlideKitError(path, "found \(tokenTables) token table\(tokenTables == 1 ? "" : "s") of kallsyms' shape, but no kallsyms_markers "
            + "and kallsyms_names that fit one (names that decode, land on every marker and end where the markers begin)")
    }

    /// The markers, names and count that belong to the token table whose index is at `index`.
    static func core(_ view: ByteView, tokens: KallsymsTokens, index: Int) -> KallsymsCore? {
        let table = tokens.table.lowerBound
        var e = table & ~3
        let lowest = max(4, table - 3 * mostSymbols - 8)
        while e >= lowest {
            defer { e -= 4 }
            guard let markers = markerRun(view, end: e) else { continue }
            let base = KallsymsCore(count: 0, countOffset: 0, names: 0..<0, markers: markers, markerStride: 0, tokens: tokens,
                                    tokenIndex: index..<(index + KallsymsTokens.indexSize), seqsBeforeTokens: nil)
            if table - e < 8 {
                if let core = names(view, core: base, exactCount: nil) { return core }
                continue
            }
            // kallsyms_seqs_of_names in between: 3 bytes a symbol, from the next aligned offset
            // to the token table's (aligned) start, as many as the markers allow.
            let m = markers.count / 4
            for alignment in [8, 4] {
                let start = Self.alignUp(e, alignment)
                guard start < table else { continue }
                // The padding after the last entry is under `alignment` bytes: up to three counts fit.
                for n in stride(from: (table - start) / 3, through: max(1, (table - start - alignment + 3) / 3), by: -1) {
                    guard n > (m - 1) * 2, n <= m * largestStride, Self.alignUp(start + 3 * n, alignment) == table,
                          isPermutation(view, at: start, count: n) else { continue }
                    var c = base
                    c.seqsBeforeTokens = start..<(start + 3 * n)
                    if let core = names(view, core: c, exactCount: n) { return core }
                }
            }
        }
        return nil
    }

    /// The u32 run ending at `end` that is strictly increasing from a 0: kallsyms_markers' shape.
    static func markerRun(_ view: ByteView, end: Int) -> Range<Int>? {
        var k = end - 4
        guard k >= 0, view.contains(offset: k, size: 4) else { return nil }
        let longest = mostSymbols / 16
        while view.u32Unchecked(at: k) != 0 {
            guard k >= 4, (end - k) / 4 < longest, view.u32Unchecked(at: k - 4) < view.u32Unchecked(at: k) else { return nil }
            k -= 4
        }
        return k..<end
    }

    /// Finds kallsyms_num_syms and kallsyms_names before `core.markers`: a count, then records that
    /// decode, land on every marker and end where the markers begin.
    static func names(_ view: ByteView, core: KallsymsCore, exactCount: Int?) -> KallsymsCore? {
        let m = core.markers.count / 4
        func marker(_ j: Int) -> Int { Int(view.u32Unchecked(at: core.markers.lowerBound + 4 * j)) }
        let last = marker(m - 1)
        let namesEndBound = core.markers.lowerBound
        // The names start at least `last` bytes, plus one record, before the markers.
        guard namesEndBound - last - 2 >= 4 else { return nil }
        var at = (namesEndBound - last - 2 - 4) & ~3
        let lowest = max(0, namesEndBound - last - 8 - largestStride * (KallsymsTokens.longestName + 2))
        while at >= lowest {
            defer { at -= 4 }
            let n = Int(view.u32Unchecked(at: at))
            if let exactCount { guard n == exactCount else { continue } }
            guard n >= m, n <= m * largestStride, n <= mostSymbols else { continue }
            for start in [at + 4, at + 8] where start == at + 4 || view.u32Unchecked(at: at + 4) == 0 {
                guard let (stride, end) = walk(view, core: core, start: start, count: n, markers: m, marker: marker),
                      end <= namesEndBound, namesEndBound - end < 8 else { continue }
                var c = core
                c.count = n
                c.countOffset = at
                c.names = start..<end
                c.markerStride = stride
                return c
            }
        }
        return nil
    }

    /// Reads `count` name records from `start`, checking each marker and each type letter; returns
    /// the marker stride and where the records end.
    static func walk(_ view: ByteView, core: KallsymsCore, start: Int, count: Int, markers m: Int,
                     marker: (Int) -> Int) -> (stride: Int, end: Int)? {
        var stride: Int? = m == 1 ? 256 : nil
        var position = start
        for i in 0..<count {
            let offset = position - start
            if let s = stride {
                if i % s == 0 { guard i / s < m, offset == marker(i / s) else { return nil } }
            } else if offset == marker(1), i > 0 {
                guard i & (i - 1) == 0, i >= 2 else { return nil } // a power of two
                stride = i
            } else if offset > marker(1) {
                return nil
            }
            guard let record = try? KallsymsNameRecord.read(view, at: position), record.next <= core.markers.lowerBound,
                  let code = try? view.u8(at: record.codes.lowerBound),
                  let letter = core.tokens.tokens[Int(code)].first, isTypeLetter(letter) else { return nil }
            position = record.next
        }
        guard let stride, (count + stride - 1) / stride == m else { return nil }
        return (stride, position)
    }

    /// kallsyms_seqs_of_names: `count` 3-byte big-endian symbol numbers, each below `count`, each once.
    static func isPermutation(_ view: ByteView, at offset: Int, count: Int) -> Bool {
        guard count <= mostSymbols, view.contains(offset: offset, size: 3 * count), let base = view.base else { return false }
        func entry(_ i: Int) -> Int {
            let o = offset + 3 * i
            return Int(base.load(fromByteOffset: o, as: UInt8.self)) << 16 | Int(base.load(fromByteOffset: o + 1, as: UInt8.self)) << 8
                | Int(base.load(fromByteOffset: o + 2, as: UInt8.self))
        }
        for i in 0..<count where entry(i) >= count { return false } // before allocating anything
        var seen = [UInt64](repeating: 0, count: (count + 63) / 64)
        for i in 0..<count {
            let v = entry(i)
            guard seen[v / 64] & 1 << (v % 64) == 0 else { return false }
            seen[v / 64] |= 1 << (v % 64)
        }
        return true
    }

    /// nm's type letters (the first character of every name).
    static func isTypeLetter(_ c: UInt8) -> Bool { (0x41...0x5a).contains(c) || (0x61...0x7a).contains(c) }

    /// `v` rounded up to a multiple of `alignment` (a power of two): where `.balign` puts the next label.
    static func alignUp(_ v: Int, _ alignment: Int) -> Int { (v + alignment - 1) & ~(alignment - 1) }
}
