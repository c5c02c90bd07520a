// Numbers on the command line and in text files: `0x` hex or decimal, `-` for two's complement,
// `_` separators; sizes with K/M/G; ranges BASE:SIZE.

import SlideCore

public enum Numbers {
    /// `0x…` hex or decimal, `-` for a negative (two's complement) value, `_` ignored. nil when not a number.
    public static func parse(_ s: String) -> UInt64? {
        var t = Substring(s.filter { $0 != "_" && $0 != " " && $0 != "\t" })
        var negative = false
        if t.hasPrefix("-") { negative = true; t = t.dropFirst() }
        let value = t.lowercased().hasPrefix("0x") ? UInt64(t.dropFirst(2), radix: 16) : UInt64(t, radix: 10)
        guard let v = value else { return nil }
        return negative ? 0 &- v : v
    }

    /// A size: a number, optionally followed by K, M or G. nil when not a size or it overflows.
    public static func size(_ s: String) -> UInt64? {
        let units: [Character: UInt64] = ["K": 1 << 10, "M": 1 << 20, "G": 1 << 30]
        if let last = s.uppercased().last, let unit = units[last], let n = parse(String(s.dropLast())) {
            let (v, overflow) = n.multipliedReportingOverflow(by: unit)
            return overflow ? nil : v
        }
        return parse(s)
    }

    /// BASE:SIZE (hex or decimal; SIZE may end in K, M or G), for --memory and --reserve.
    public static func range(_ s: String, _ option: String) throws(SlideKitError) -> (base: UInt64, size: UInt64) {
        let parts = s.split(separator: ":")
        guard parts.count == 2, let base = parse(String(parts[0])), let n = size(String(parts[1])), n > 0, base <= UInt64.max - n else {
            throw SlideKitError(option, "'\(s)' is not BASE:SIZE (for example 0x40000000:4G)")
        }
        return (base, n)
    }
}
