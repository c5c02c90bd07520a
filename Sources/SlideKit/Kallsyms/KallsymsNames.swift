// Decoding kallsyms names: kallsyms_token_table, kallsyms_token_index and kallsyms_names, as
// scripts/kallsyms.c writes them in every version from 5.10 to 7.x.
//
// Names are compressed by table lookup: each byte of a compressed name is a token code, and
// kallsyms_token_table holds the 256 tokens, each NUL-terminated, starting at the u16 offsets in
// kallsyms_token_index. A token is either the code itself (a byte that occurs in the names as a
// character: "T", "_", "a"), the expansion of a pair of codes the compressor chose (two or more
// characters), or empty (a code nothing uses). The expanded name starts with the nm type letter:
// read_symbol() stores it as sym[0] and compresses it with the rest.
//
// kallsyms_names is one record per symbol, in address order: a length, then that many codes. The
// length is one byte up to 6.0; from 6.1 ("big" symbols for Rust, KSYM_NAME_LEN 512) it is
// ULEB128 of one or two bytes: below 0x80 one byte, else (len & 0x7f | 0x80, len >> 7). Before 6.1
// KSYM_NAME_LEN was 128, so a compressed length never reached 0x80 and one decoder reads both.
//
// Everything here reads through ByteView's checked reads and never trusts a length: hostile bytes
// give a SlideError, never a trap.

import SlideCore

/// The 256 tokens of kallsyms_token_table, as kallsyms_token_index locates them.
struct KallsymsTokens {
    static let count = 256
    /// kallsyms_token_index: 256 little-endian u16 offsets into the token table.
    static let indexSize = 2 * count
    /// Longest expanded name: KSYM_NAME_LEN (512, from 6.1; 128 before) plus the type letter.
    static let longestName = 513
    /// Longest compressed record: the two-byte ULEB128 length's maximum (scripts/kallsyms.c, "huge").
    static let longestRecord = 0x3fff

    /// Each token's bytes.
    let tokens: [[UInt8]]
    /// kallsyms_token_table's image offsets (up to and including the last token's NUL).
    let table: Range<Int>

    /// The tokens whose index is at `index`, or nil when the bytes there do not have the shape:
    /// offset 0 first, 255 strictly increasing offsets, a table that ends (NUL, then fewer than
    /// eight bytes of zero padding) right before the index, every token NUL-terminated where the
    /// next one starts, printable, and every one-character token its own code.
    static func read(_ view: ByteView, index: Int) -> KallsymsTokens? {
        guard view.contains(offset: index, size: indexSize), let base = view.base else { return nil }
        var offsets = [Int](repeating: 0, count: count)
        for i in 0..<count { offsets[i] = Int((try? view.u16(at: index + 2 * i)) ?? 0) }
        guard offsets[0] == 0 else { return nil }
        for i in 1..<count where offsets[i] <= offsets[i - 1] { return nil }
        func byte(_ o: Int) -> UInt8 { base.load(fromByteOffset: o, as: UInt8.self) }
        // The table ends with token 255's NUL, then padding to the index's alignment (at most 7
        // zero bytes). Token 255's length is what runs back from that NUL to token 254's.
        for padding in 0..<8 {
            let end = index - padding
            guard end >= 1, byte(end - 1) == 0 else { break }
            var start = end - 1
            while start > 0, byte(start - 1) != 0, end - 1 - start < longestName { start -= 1 }
            let table = start - offsets[255]
            guard table >= 0, table % 4 == 0 else { continue }
            if let tokens = tokensIfValid(view, table: table, offsets: offsets, end: end) {
                return KallsymsTokens(tokens: tokens, table: table..<end)
            }
        }
        return nil
    }

    private static func tokensIfValid(_ view: ByteView, table: Int, offsets: [Int], end: Int) -> [[UInt8]]? {
        guard let base = view.base else { return nil }
        var tokens: [[UInt8]] = []
        tokens.reserveCapacity(count)
        var longTokens = 0
        for i in 0..<count {
            let start = table + offsets[i]
            let stop = i + 1 < count ? table + offsets[i + 1] - 1 : end - 1 // the token's NUL
            guard start <= stop, stop < end else { return nil }
            var token: [UInt8] = []
            for o in start..<stop {
                let c = base.load(fromByteOffset: o, as: UInt8.self)
                guard c > 0x20, c < 0x7f else { return nil } // symbol names are printable ASCII, no spaces
                token.append(c)
            }
            guard base.load(fromByteOffset: stop, as: UInt8.self) == 0 else { return nil }
            // A one-character token is a character of the names standing for itself.
            if token.count == 1, token[0] != UInt8(i) { return nil }
            if token.count >= 2 { longTokens += 1 }
            tokens.append(token)
        }
        // A table of single characters and empty slots compresses nothing: not kallsyms.
        return longTokens > 0 ? tokens : nil
    }

    /// Appends the expansion of the codes at `codes` to `name`; false when it grows past the
    /// longest name a kernel can have.
    func expand(_ view: ByteView, codes: Range<Int>, into name: inout [UInt8]) throws(SlideError) -> Bool {
        for o in codes {
            name += tokens[Int(try view.u8(at: o, "kallsyms_names code"))]
            if name.count > Self.longestName { return false }
        }
        return true
    }
}

/// One record of kallsyms_names: where its codes are and where the next record starts.
struct KallsymsNameRecord {
    var codes: Range<Int>
    var next: Int { codes.upperBound }

    /// The record at image offset `offset`.
    static func read(_ view: ByteView, at offset: Int) throws(SlideError) -> KallsymsNameRecord {
        let first = Int(try view.u8(at: offset, "kallsyms_names length"))
        var length = first, start = offset + 1
        if first & 0x80 != 0 {
            let second = Int(try view.u8(at: offset + 1, "kallsyms_names length"))
            // Two ULEB128 bytes at most (lengths up to 0x3fff): a continuation bit here is no kallsyms.
            guard second & 0x80 == 0 else { throw SlideError.invalid("kallsyms_names length byte", value: UInt64(second)) }
            length = first & 0x7f | second << 7
            start += 1
        }
        guard length > 0 else { throw SlideError.invalid("kallsyms_names record length (no type letter)", value: 0) }
        guard view.contains(offset: start, size: length) else {
            throw SlideError.truncated("kallsyms_names record", offset: start, size: length, available: view.count)
        }
        return KallsymsNameRecord(codes: start..<(start + length))
    }
}
