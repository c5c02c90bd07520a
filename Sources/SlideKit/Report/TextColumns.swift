// Column layout for the text reports: readelf-style zero-padded hex and padded cells. Host-only:
// the kernel prints `0x` hex (SlideCore's `hex`).

import SlideCore

/// Zero-padded lowercase hex without prefix, as in readelf tables: `00000000019a7290`.
public func hexPadded(_ value: UInt64, width: Int = 16) -> String {
    let digits = String(value, radix: 16)
    return digits.count >= width ? digits : String(repeating: "0", count: width - digits.count) + digits
}

extension String {
    /// The string padded with spaces to `width` columns, or followed by one space when it is wider:
    /// a cell that never runs into the next.
    func padded(_ width: Int) -> String { count >= width ? self + " " : self + String(repeating: " ", count: width - count) }

    /// The string padded with spaces to `column` (unchanged when it is that long already).
    public func padded(to column: Int) -> String { count >= column ? self : self + String(repeating: " ", count: column - count) }
}
