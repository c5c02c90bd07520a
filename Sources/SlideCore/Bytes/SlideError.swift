// Errors as small values with a location.
//
// The core never allocates to describe a failure: each case carries a static field name and
// the numbers that prove what went wrong. `description` builds the text only when asked;
// the CLI prefixes it with `slide: error: 'FILE': `.

public enum SlideError: Error, Equatable, CustomStringConvertible {
    /// `what` needs `size` bytes at `offset`, but only `available` exist.
    case truncated(StaticString, offset: UInt64, size: UInt64, available: UInt64)
    /// `what` at `offset` does not carry the expected magic bytes.
    case badMagic(StaticString, offset: UInt64)
    /// Field `what` holds `value`, which the format does not allow.
    case invalid(StaticString, value: UInt64)
    /// `what` = `value` lies outside `[low, high]`.
    case outOfRange(StaticString, value: UInt64, low: UInt64, high: UInt64)
    /// `what` = `value` is not a multiple of `alignment`.
    case misaligned(StaticString, value: UInt64, alignment: UInt64)
    /// A valid value Slide does not handle (big-endian ELF, 32-bit ELF, ...).
    case unsupported(StaticString, value: UInt64)
    /// `count` × `size` overflows or exceeds what the input can hold.
    case countOverflow(StaticString, count: UInt64, size: UInt64)

    public static func truncated(_ what: StaticString, offset: Int, size: Int, available: Int) -> SlideError {
        .truncated(what, offset: UInt64(truncatingIfNeeded: offset), size: UInt64(truncatingIfNeeded: size),
                   available: UInt64(truncatingIfNeeded: available))
    }

    /// Same case, same field name, same numbers.
    public static func == (a: SlideError, b: SlideError) -> Bool {
        switch (a, b) {
        case let (.truncated(w, o, s, n), .truncated(w2, o2, s2, n2)): return same(w, w2) && o == o2 && s == s2 && n == n2
        case let (.badMagic(w, o), .badMagic(w2, o2)): return same(w, w2) && o == o2
        case let (.invalid(w, v), .invalid(w2, v2)): return same(w, w2) && v == v2
        case let (.outOfRange(w, v, l, h), .outOfRange(w2, v2, l2, h2)): return same(w, w2) && v == v2 && l == l2 && h == h2
        case let (.misaligned(w, v, n), .misaligned(w2, v2, n2)): return same(w, w2) && v == v2 && n == n2
        case let (.unsupported(w, v), .unsupported(w2, v2)): return same(w, w2) && v == v2
        case let (.countOverflow(w, c, s), .countOverflow(w2, c2, s2)): return same(w, w2) && c == c2 && s == s2
        default: return false
        }
    }

    /// Two field names with the same text.
    static func same(_ a: StaticString, _ b: StaticString) -> Bool {
        a.withUTF8Buffer { x in b.withUTF8Buffer { y in x.count == y.count && zip(x, y).allSatisfy { $0 == $1 } } }
    }

    public var description: String {
        switch self {
        case let .truncated(what, offset, size, available):
            if offset > available { return text(.name(what), " at ", .hex(offset), " starts past the end of the data (", .hex(available), " bytes)") }
            return text(.name(what), " at ", .hex(offset), " needs ", .hex(size), " bytes but only ", .hex(available - offset), " remain")
        case let .badMagic(what, offset):
            return text("bad ", .name(what), " magic at ", .hex(offset))
        case let .invalid(what, value):
            return text("invalid ", .name(what), " ", .hex(value))
        case let .outOfRange(what, value, low, high):
            return text(.name(what), " ", .hex(value), " is not in [", .hex(low), ", ", .hex(high), "]")
        case let .misaligned(what, value, alignment):
            return text(.name(what), " ", .hex(value), " is not ", .number(alignment), "-byte aligned")
        case let .unsupported(what, value):
            return text("unsupported ", .name(what), " ", .hex(value))
        case let .countOverflow(what, count, size):
            return text(.name(what), ": ", .number(count), " entries of ", .number(size), " bytes do not fit in the input")
        }
    }
}
