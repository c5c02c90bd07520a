// Hexadecimal formatting that works in Embedded Swift (no Foundation, no String(format:)).

/// `0x`-prefixed lowercase hex, as used in prose and diagnostics: `0x1ca7af8`.
public func hex(_ value: UInt64) -> String { "0x" + String(value, radix: 16) }

/// Signed hex: `-0x10` for negative values.
public func hex(signed value: Int64) -> String {
    value < 0 ? "-0x" + String(value.magnitude, radix: 16) : "0x" + String(value, radix: 16)
}
