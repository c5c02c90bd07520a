// Messages built from StaticString literals and run-time strings.
//
// Inside the kernel a String literal longer than 15 UTF-8 bytes is an immortal String pointing into
// the image, at a 0xffff… virtual address whose top bits overlap String's flag bits: using it traps
// (it reads as a "foreign" string). StaticString keeps a plain pointer. So every message SlideCore
// may build inside the kernel — its errors — is assembled from pieces whose literals are StaticStrings.

/// One piece of a message: a literal (as a StaticString) or a run-time String.
public struct TextPiece: ExpressibleByStringLiteral {
    let literal: StaticString?
    let string: String
    public init(stringLiteral value: StaticString) { literal = value; string = "" }
    public init(_ s: String) { literal = nil; string = s }
}

/// The pieces joined: `text("at ", .init(hex(p)), " out of range")`.
public func text(_ pieces: TextPiece...) -> String {
    var out = String()
    for p in pieces {
        if let l = p.literal { l.withUTF8Buffer { out += String(decoding: $0, as: UTF8.self) } } else { out += p.string }
    }
    return out
}

extension TextPiece {
    public static func hex(_ v: UInt64) -> TextPiece { TextPiece(hexString(v)) }
    public static func hex(signed v: Int64) -> TextPiece { TextPiece(hexString(signed: v)) }
    public static func name(_ s: StaticString) -> TextPiece { TextPiece(s.description) }
    public static func string(_ s: String) -> TextPiece { TextPiece(s) }
    public static func number<T: BinaryInteger>(_ v: T) -> TextPiece { TextPiece(String(v)) }
}

// The global hex formatters under names the static members above do not shadow.
private func hexString(_ v: UInt64) -> String { hex(v) }
private func hexString(signed v: Int64) -> String { hex(signed: v) }
