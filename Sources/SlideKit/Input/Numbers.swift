// Numbers on the command line and in text files: `0x` hex or decimal, `-` for two's complement,
// `_` separators; sizes with K/M/G/T; ranges BASE:SIZE; RAM as `--memory` takes it. Every
// rejection says why ("exceeds 64 bits", "'P' is not a size suffix"), for one-line usage errors.

import SlideCore

public enum Numbers {
    /// Why a string is not the number it should be.
    public struct Problem: Error, CustomStringConvertible {
        public var description: String
    }

    /// `0x…` hex or decimal, `-` for a negative (two's complement) value, `_` ignored.
    public static func value(_ s: String) throws(Problem) -> UInt64 {
        var t = Substring(s.filter { $0 != "_" && $0 != " " && $0 != "\t" })
        var negative = false
        if t.hasPrefix("-") { negative = true; t = t.dropFirst() }
        let hex = t.lowercased().hasPrefix("0x")
        let digits = hex ? t.dropFirst(2) : t
        let radix = hex ? 16 : 10
        guard !digits.isEmpty else { throw Problem(description: "'\(s)' is not a number (use 0x-prefixed hex or decimal)") }
        guard digits.allSatisfy({ $0.hexDigitValue.map { $0 < radix } ?? false }) else {
            throw Problem(description: "'\(s)' is not a number (use 0x-prefixed hex or decimal)")
        }
        guard let v = UInt64(digits, radix: radix) else { throw Problem(description: "'\(s)' exceeds 64 bits") }
        if negative && v > UInt64(Int64.max) + 1 { throw Problem(description: "'\(s)' exceeds 64 bits") }
        return negative ? 0 &- v : v
    }

    /// `value`, or nil (for text lists, where the caller names the line).
    public static func parse(_ s: String) -> UInt64? { try? value(s) }

    static let units: [Character: (UInt64, String)] = ["K": (1 << 10, "K"), "M": (1 << 20, "M"), "G": (1 << 30, "G"), "T": (1 << 40, "T")]

    /// A size: a number, optionally followed by K, M, G or T (binary units).
    public static func sizeValue(_ s: String) throws(Problem) -> UInt64 {
        guard let last = s.last, last.isLetter, !s.lowercased().hasPrefix("0x") || !last.isHexDigit else { return try value(s) }
        guard let (unit, _) = units[Character(last.uppercased())] else {
            throw Problem(description: "'\(s)': '\(last)' is not a size suffix (K, M, G or T)")
        }
        let n = try value(String(s.dropLast()))
        let (v, overflow) = n.multipliedReportingOverflow(by: unit)
        if overflow { throw Problem(description: "'\(s)' exceeds 64 bits") }
        return v
    }

    /// `sizeValue`, or nil.
    public static func size(_ s: String) -> UInt64? { try? sizeValue(s) }

    /// BASE:SIZE (hex or decimal; SIZE may end in K, M, G or T), for --reserve.
    public static func rangeValue(_ s: String) throws(Problem) -> (base: UInt64, size: UInt64) {
        let parts = s.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 2 else { throw Problem(description: "'\(s)' is not BASE:SIZE (for example 0x40000000:4G)") }
        let base = try value(String(parts[0])), n = try sizeValue(String(parts[1]))
        guard n > 0 else { throw Problem(description: "'\(s)': the size is 0") }
        guard base <= UInt64.max - n else { throw Problem(description: "'\(s)': BASE + SIZE exceeds 64 bits") }
        return (base, n)
    }

    /// Where RAM starts when `--memory` gives only a size: QEMU virt's 0x40000000.
    public static var defaultRAMBase: UInt64 { BootOptions.ramBase }

    /// `--memory` in every command: BASE:SIZE, or a SIZE alone at `defaultRAMBase`. A SIZE alone
    /// without a suffix is decimal MiB, as QEMU's `-m 2048` (a lone hex number is refused: it reads
    /// like a base); in BASE:SIZE a bare SIZE is bytes.
    public static func memory(_ s: String) throws(Problem) -> (base: UInt64, size: UInt64) {
        if s.contains(":") { return try rangeValue(s) }
        let bare = s.last.map { !$0.isLetter } ?? true
        if bare && s.lowercased().hasPrefix("0x") {
            throw Problem(description: "'\(s)' is neither BASE:SIZE nor a size (for example 0x40000000:4G, 4G, or 4096 for MiB)")
        }
        var n = try sizeValue(s)
        if bare {
            let (v, overflow) = n.multipliedReportingOverflow(by: 1 << 20)
            if overflow { throw Problem(description: "'\(s)' MiB exceeds 64 bits") }
            n = v
        }
        guard n > 0 else { throw Problem(description: "'\(s)': the size is 0") }
        return (defaultRAMBase, n)
    }

    /// `rangeValue` for code that reports a file or an option by name.
    public static func range(_ s: String, _ option: String) throws(SlideKitError) -> (base: UInt64, size: UInt64) {
        do throws(Problem) { return try rangeValue(s) } catch { throw SlideKitError(option, error.description) }
    }
}
