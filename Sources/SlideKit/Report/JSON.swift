// A small ordered JSON value and writer: keys keep the order reports give them, 64-bit
// addresses are written as "0x..." strings (JSON numbers lose precision above 2^53).

public indirect enum JSON: Equatable {
    case null
    case bool(Bool)
    case int(Int)
    case double(Double)
    case string(String)
    case array([JSON])
    case object([(String, JSON)])

    public static func == (a: JSON, b: JSON) -> Bool { a.rendered() == b.rendered() }

    /// An address or other 64-bit value: `"0x..."`.
    public static func hex(_ v: UInt64) -> JSON { .string(SlideCore.hex(v)) }
    public static func hex(_ v: Int) -> JSON { .string(SlideCore.hex(UInt64(v))) }

    public func rendered(pretty: Bool = true) -> String {
        var out = ""
        write(into: &out, indent: pretty ? 0 : -1)
        return out
    }

    private func write(into out: inout String, indent: Int) {
        let pretty = indent >= 0
        let pad = pretty ? String(repeating: "  ", count: indent + 1) : ""
        let closePad = pretty ? String(repeating: "  ", count: indent) : ""
        switch self {
        case .null: out += "null"
        case .bool(let b): out += b ? "true" : "false"
        case .int(let i): out += String(i)
        case .double(let d): out += d.isFinite ? String(d) : "null"
        case .string(let s): JSON.escape(s, into: &out)
        case .array(let items):
            if items.isEmpty { out += "[]"; return }
            out += "["
            for (i, item) in items.enumerated() {
                out += (i == 0 ? "" : ",") + (pretty ? "\n" + pad : "")
                item.write(into: &out, indent: pretty ? indent + 1 : -1)
            }
            out += (pretty ? "\n" + closePad : "") + "]"
        case .object(let fields):
            if fields.isEmpty { out += "{}"; return }
            out += "{"
            for (i, (key, value)) in fields.enumerated() {
                out += (i == 0 ? "" : ",") + (pretty ? "\n" + pad : "")
                JSON.escape(key, into: &out)
                out += pretty ? ": " : ":"
                value.write(into: &out, indent: pretty ? indent + 1 : -1)
            }
            out += (pretty ? "\n" + closePad : "") + "}"
        }
    }

    static func escape(_ s: String, into out: inout String) {
        out += "\""
        for u in s.unicodeScalars {
            switch u {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if u.value < 0x20 {
                    let h = String(u.value, radix: 16)
                    out += "\\u" + String(repeating: "0", count: 4 - h.count) + h
                } else {
                    out.unicodeScalars.append(u)
                }
            }
        }
        out += "\""
    }
}

import SlideCore

/// The schema tag every document carries.
public let jsonSchemaVersion = "slide/v1"
