// `slide relocs`: every relocation, in llvm-readelf's GNU layout (so the two can be diffed),
// or as JSON. ELF inputs list every relocation section in section-header order; a raw Image
// lists the tables the finder located, named as the linker names them.

import SlideCore

public struct RelocRow {
    public var offset: UInt64
    public var info: UInt64
    /// nil for REL-style rows (RELR places): no explicit addend.
    public var addend: Int64?
    public var symbolName: String?
    public var symbolValue: UInt64?
    public var type: RelocationType { RelocationType(rawValue: UInt32(truncatingIfNeeded: info)) }
    public var symbol: UInt32 { UInt32(truncatingIfNeeded: info >> 32) }
}

public struct RelocSection {
    public enum Kind: String { case rela, relr }
    public var name: String
    public var fileOffset: Int
    public var kind: Kind
    public var rows: [RelocRow]
    /// RELR only: the encoded words.
    public var words: [UInt64]
}

public enum RelocListing {
    public static func sections(of k: KernelImage) throws(SlideKitError) -> [RelocSection] {
        if let elfBytes = k.elfBytes, k.rela?.source != .elfDynamic, k.relr?.source != .elfDynamic {
            return try elfSections(elfBytes, path: k.path)
        }
        return try k.withTables { (_, rela, relr) throws(SlideError) in
            var out: [RelocSection] = []
            if let rela, let loc = k.rela {
                out.append(RelocSection(name: ".rela.dyn", fileOffset: loc.fileOffset, kind: .rela,
                                        rows: (0..<rela.count).map { rowFrom(rela[$0], symbols: nil) }, words: []))
            }
            if let relr, let loc = k.relr { out.append(try relrSection(relr, name: ".relr.dyn", fileOffset: loc.fileOffset)) }
            return out
        }
    }

    static func rowFrom(_ e: RelaEntry, symbols: (ELFFile, Int)?) -> RelocRow {
        var row = RelocRow(offset: e.offset, info: e.info, addend: e.addend)
        if e.symbol != 0, let (elf, table) = symbols, let sym = try? elf.symbol(Int(e.symbol), inTable: table) {
            row.symbolValue = sym.value
            row.symbolName = (try? elf.name(of: sym, inTable: table)) ?? "<corrupt>"
        }
        return row
    }

    static func relrSection(_ relr: RelrTable, name: String, fileOffset: Int) throws(SlideError) -> RelocSection {
        var rows: [RelocRow] = []
        var it = relr.makePlaces()
        while let p = it.next() { rows.append(RelocRow(offset: p, info: UInt64(RelocationType.relative.rawValue), addend: nil)) }
        if let e = it.error { throw e }
        return RelocSection(name: name, fileOffset: fileOffset, kind: .relr, rows: rows, words: (0..<relr.count).map { relr[$0] })
    }

    static func elfSections(_ bytes: [UInt8], path: String) throws(SlideKitError) -> [RelocSection] {
        do throws(SlideError) {
            return try bytes.withView { (view) throws(SlideError) -> [RelocSection] in
                let elf = try ELFFile(view)
                var out: [RelocSection] = []
                for i in 0..<elf.sectionCount {
                    let s = try elf.section(i)
                    let name = try elf.name(of: s)
                    if s.type == .rela {
                        let n = try elf.entryCount(of: s, entrySize: RelaEntry.size, "RELA sh_entsize")
                        let table = try RelaTable(try elf.contents(of: s).slice(offset: 0, size: n * RelaEntry.size))
                        let symbols: (ELFFile, Int)? = s.link != 0 && Int(s.link) < elf.sectionCount ? (elf, Int(s.link)) : nil
                        out.append(RelocSection(name: name, fileOffset: Int(s.offset), kind: .rela,
                                                rows: (0..<table.count).map { rowFrom(table[$0], symbols: symbols) }, words: []))
                    } else if s.type == .relr || s.type == .androidRelr {
                        _ = try elf.entryCount(of: s, entrySize: 8, "RELR sh_entsize")
                        out.append(try relrSection(try RelrTable(try elf.contents(of: s)), name: name, fileOffset: Int(s.offset)))
                    }
                }
                return out
            }
        } catch {
            throw SlideKitError(path, error)
        }
    }

    // MARK: text

    /// llvm-readelf's GNU layout: columns at 0, 18, 35, 58 (value) and 75 (name); a row
    /// without a symbol puts its addend at column 69.
    public static func text(_ sections: [RelocSection], rawRelr: Bool) -> String {
        var out = ""
        if sections.isEmpty { return "\nThere are no relocations in this file.\n" }
        for s in sections {
            let count = s.kind == .relr && rawRelr ? s.words.count : s.rows.count
            out += "\nRelocation section '\(s.name)' at offset \(hex(UInt64(s.fileOffset))) contains \(count) entries:\n"
            if s.kind == .relr && rawRelr {
                out += "    Data               Info             Type               Symbol's Value  Symbol's Name\n"
                for w in s.words { out += hexPadded(w) + "\n" }
                continue
            }
            out += s.kind == .rela
                ? "    Offset             Info             Type               Symbol's Value  Symbol's Name + Addend\n"
                : "    Offset             Info             Type               Symbol's Value  Symbol's Name\n"
            for r in s.rows {
                let head = (hexPadded(r.offset) + "  " + hexPadded(r.info) + " " + r.type.description).padded(to: 57) + " "
                if let name = r.symbolName, r.symbol != 0 {
                    let a = r.addend ?? 0
                    out += head + hexPadded(r.symbolValue ?? 0) + " " + name + (a < 0 ? " - " : " + ")
                        + String(a.magnitude, radix: 16) + "\n"
                } else if let a = r.addend {
                    out += head.padded(to: 69) + String(UInt64(bitPattern: a), radix: 16) + "\n" // unsigned, as llvm-readelf
                } else {
                    out += head.padded(to: 69) + "\n"
                }
            }
        }
        return out
    }

    // MARK: JSON

    public static func json(_ sections: [RelocSection], kernel k: KernelImage, rawRelr: Bool) -> JSON {
        .object([
            ("schema", .string(jsonSchemaVersion)),
            ("file", .string(k.path)),
            ("sections", .array(sections.map { s in
                var fields: [(String, JSON)] = [
                    ("name", .string(s.name)), ("offset", .hex(s.fileOffset)), ("kind", .string(s.kind.rawValue)),
                    ("count", .int(s.rows.count)),
                ]
                if s.kind == .relr { fields.append(("words", .array(s.words.map { .hex($0) }))) }
                if !(s.kind == .relr && rawRelr) {
                    fields.append(("entries", .array(s.rows.map { r in
                        var e: [(String, JSON)] = [("offset", .hex(r.offset)), ("type", .string(r.type.description))]
                        if r.symbol != 0 {
                            e.append(("symbol", .int(Int(r.symbol))))
                            if let n = r.symbolName { e.append(("symbol_name", .string(n))) }
                            if let v = r.symbolValue { e.append(("symbol_value", .hex(v))) }
                        }
                        // Unsigned 64-bit hex, like every address in the documents (a RELATIVE addend is one).
                        if let a = r.addend { e.append(("addend", .hex(UInt64(bitPattern: a)))) }
                        return .object(e)
                    })))
                }
                return .object(fields)
            })),
        ])
    }
}
