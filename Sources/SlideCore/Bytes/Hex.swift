// Hexadecimal formatting that works in Embedded Swift (no Foundation, no String(format:)).

/// `0x`-prefixed lowercase hex, as used in prose and diagnostics: `0x1ca7af8`.
public func hex(_ value: UInt64) -> String { "0x" + String(value, radix: 16) }

/// Signed hex: `-0x10` for negative values.
public func hex(signed value: Int64) -> String {
    value < 0 ? "-0x" + String(value.magnitude, radix: 16) : "0x" + String(value, radix: 16)
}

/// Zero-padded lowercase hex without prefix, as in readelf tables: `00000000019a7290`.
public func hexPadded(_ value: UInt64, width: Int = 16) -> String {
    let digits = String(value, radix: 16)
    return digits.count >= width ? digits : String(repeating: "0", count: width - digits.count) + digits
}
