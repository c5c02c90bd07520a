// `slide symbols` output: nm's layout (`ffff800080000000 T _text`), or JSON, at the link base or
// displaced by a slide.

import SlideCore

extension KallsymsTable {
    /// One line per symbol: 16 hex digits, the type letter, the name.
    public func text(displacement: UInt64 = 0) -> String {
        var out = ""
        out.reserveCapacity(symbols.count * 40)
        for s in symbols {
            out += hexPadded(s.address &+ displacement)
            out += " "
            out.append(s.type)
            out += " "
            out += s.name
            out += "\n"
        }
        return out
    }

    public func json(file: String, linkBase: UInt64, linkBaseStanding: Standing, displacement: UInt64 = 0) -> JSON {
        let t = tableOffsets
        func range(_ r: Range<Int>) -> JSON { .object([("offset", .hex(r.lowerBound)), ("size", .hex(r.count))]) }
        var tables: [(String, JSON)] = [
            ("kallsyms_num_syms", .object([("offset", .hex(t.numSyms)), ("size", .hex(4))])),
            ("kallsyms_names", range(t.names)),
            ("kallsyms_markers", range(t.markers)),
            ("kallsyms_token_table", range(t.tokenTable)),
            ("kallsyms_token_index", range(t.tokenIndex)),
            (layout == "absolute" ? "kallsyms_addresses" : "kallsyms_offsets", range(t.addresses)),
        ]
        if let b = t.relativeBase { tables.append(("kallsyms_relative_base", .object([("offset", .hex(b)), ("size", .hex(8))]))) }
        if let s = t.seqsOfNames { tables.append(("kallsyms_seqs_of_names", range(s))) }
        return .object([
            ("schema", .string(jsonSchemaVersion)),
            ("file", .string(file)),
            ("layout", .string(layout)),
            ("placement", .string(placement)),
            ("link_base", .hex(linkBase)),
            ("link_base_standing", .string(linkBaseStanding.rawValue)),
            ("slide", .string(hex(signed: Int64(bitPattern: displacement)))),
            ("count", .int(symbols.count)),
            ("marker_stride", .int(markerStride)),
            ("tables", .object(tables)),
            ("markers", .object(Self.markerNames.compactMap { n in markers[n].map { (n, .hex($0 &+ displacement)) } })),
            ("symbols", .array(symbols.map { s in
                .object([("address", .hex(s.address &+ displacement)), ("type", .string(String(s.type))), ("name", .string(s.name))])
            })),
        ])
    }
}
