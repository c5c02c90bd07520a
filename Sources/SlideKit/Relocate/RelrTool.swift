// `slide relr pack|unpack`: RELATIVE places ⇄ RELR words, with SlideCore's codec.

import SlideCore

public enum RelrTool {
    /// Input formats: a kernel/ELF file (its tables), text (hex numbers, one or more per line,
    /// `0x` optional, `#` comments), or binary (little-endian 64-bit words); auto picks by magic.
    public enum InputFormat: String, CaseIterable, Sendable { case auto, kernel, text, binary }
    public enum OutputFormat: String, CaseIterable, Sendable { case text, binary }

    /// The numbers of an input file: a kernel's (through `kernel`), or the file's own words.
    public static func read(_ path: String, format: InputFormat,
                            kernel: (KernelImage) throws(SlideKitError) -> [UInt64]) throws(SlideKitError) -> [UInt64] {
        let bytes = try Files.read(path)
        var format = format
        if format == .auto {
            format = FileKind(bytes).isKernelInput ? .kernel : bytes.allSatisfy({ $0 < 0x80 }) ? .text : .binary
        }
        switch format {
        case .kernel: return try kernel(try KernelImage.load(bytes: bytes, path: path))
        case .binary:
            guard bytes.count % 8 == 0 else { throw SlideKitError(path, "binary input is \(bytes.count) bytes, not a multiple of 8") }
            return stride(from: 0, to: bytes.count, by: 8).map { i in
                (0..<8).reduce(UInt64(0)) { $0 | UInt64(bytes[i + $1]) << (8 * UInt64($1)) }
            }
        case .text, .auto:
            return try numbers(text: bytes, path: path)
        }
    }

    /// Values as a file: one `0x` hex number per line, or little-endian 64-bit words.
    public static func encode(_ values: [UInt64], _ format: OutputFormat) -> [UInt8] {
        switch format {
        case .text:
            return Array(values.map { hex($0) + "\n" }.joined().utf8)
        case .binary:
            var bytes: [UInt8] = []
            bytes.reserveCapacity(values.count * 8)
            for v in values { for i in 0..<8 { bytes.append(UInt8(truncatingIfNeeded: v >> (8 * UInt64(i)))) } }
            return bytes
        }
    }

    /// `relr pack --json`.
    public static func packDocument(file: String, places: [UInt64], words: [UInt64]) -> JSON {
        let distinct = Set(places).count
        return .object([
            ("schema", .string(jsonSchemaVersion)), ("file", .string(file)), ("places", .int(distinct)),
            ("words", .int(words.count)), ("rela_bytes", .int(distinct * 24)), ("relr_bytes", .int(words.count * 8)),
            ("relr", .array(words.map { .hex($0) })),
        ])
    }

    /// `relr unpack --json`.
    public static func unpackDocument(file: String, words: [UInt64], places: [UInt64]) -> JSON {
        .object([
            ("schema", .string(jsonSchemaVersion)), ("file", .string(file)), ("words", .int(words.count)),
            ("places", .int(places.count)), ("relocated", .array(places.map { .hex($0) })),
        ])
    }

    /// Packs places (sorted and de-duplicated first) into RELR words.
    public static func pack(_ places: [UInt64]) throws(SlideError) -> [UInt64] {
        let sorted = Array(Set(places)).sorted()
        var words: [UInt64] = []
        try Relr.encode(count: sorted.count, place: { sorted[$0] }, emit: { words.append($0) })
        return words
    }

    /// Decodes RELR words into places: counted first, so words that would decode to more than
    /// `limit` places (not a kernel's table: Debian's 7.x has 462,262) fail before memory grows.
    public static func unpack(_ words: [UInt64], limit: Int = Containers.maxOutput / 8) throws(SlideError) -> [UInt64] {
        try words.withView { (view) throws(SlideError) -> [UInt64] in
            let table = try RelrTable(view)
            // An address word is one place, a bitmap one per set bit above bit 0.
            let count = words.reduce(0) { $0 + ($1 & 1 == 0 ? 1 : ($1 >> 1).nonzeroBitCount) }
            guard count <= limit else { throw .outOfRange("number of RELR places (more than any kernel has; --max-size raises the limit)", value: UInt64(count), low: 0, high: UInt64(limit)) }
            var it = table.makePlaces()
            var out: [UInt64] = []
            out.reserveCapacity(count)
            while let p = it.next() { out.append(p) }
            if let e = it.error { throw e }
            return out
        }
    }

    /// Numbers from a text list, by the command line's rule (`0x` hex, else decimal: Numbers.value):
    /// one or more per line (LF or CRLF), separated by spaces, tabs or commas, `#` starting a
    /// comment; a UTF-8 byte order mark (editors on Windows write one) is skipped. An error quotes
    /// the bad token's first 80 characters and says why.
    public static func numbers(text input: [UInt8], path: String) throws(SlideKitError) -> [UInt64] {
        let bytes = input.starts(with: [0xef, 0xbb, 0xbf]) ? Array(input.dropFirst(3)) : input
        var out: [UInt64] = []
        var line = 1, token: [UInt8] = [], comment = false
        func flush() throws(SlideKitError) {
            defer { token.removeAll(keepingCapacity: true) }
            guard !token.isEmpty else { return }
            let text = String(decoding: token.prefix(80), as: UTF8.self) + (token.count > 80 ? "…" : "")
            do throws(Numbers.Problem) {
                out.append(try Numbers.value(String(decoding: token, as: UTF8.self)))
            } catch {
                let why = error.description.hasSuffix("exceeds 64 bits") ? "exceeds 64 bits" : "is not a number (0x-prefixed hex or decimal)"
                throw SlideKitError(path, "line \(line): '\(text)' \(why)")
            }
        }
        for b in bytes {
            switch b {
            case UInt8(ascii: "\n"): try flush(); comment = false; line += 1
            case UInt8(ascii: "\r"), UInt8(ascii: " "), UInt8(ascii: "\t"), UInt8(ascii: ","): try flush()
            case UInt8(ascii: "#"): try flush(); comment = true
            default: if !comment { token.append(b) }
            }
        }
        try flush()
        return out
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
