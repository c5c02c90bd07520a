// System.map: `address type name` per line (scripts/mksysmap), the symbols `link-module
// --symbols` resolves modules against.
//
// Debian's packages ship a placeholder in its place (every arm64 linux-image package, 5.10 to
// 7.x): one line, `ffffffffffffffff B The real System.map is in the linux-image-<version>-dbg
// package`. Taken as a map it would resolve nothing correctly, so it is refused by name.

import SlideCore

public enum SystemMap {
    public static func read(_ path: String) throws(SlideKitError) -> [String: UInt64] {
        let text = String(decoding: try Files.read(path), as: UTF8.self)
        if text.contains("The real System.map is in") {
            let package = text.split(separator: " ").first { $0.hasPrefix("linux-image-") }.map(String.init) ?? "the -dbg package"
            throw SlideKitError(path, "a placeholder, not a symbol map (Debian keeps the real System.map in \(package)); "
                + "give --kernel with the -dbg package's vmlinux, or --undefined-at ADDRESS")
        }
        var symbols: [String: UInt64] = [:]
        var n = 0
        for line in text.split(omittingEmptySubsequences: true, whereSeparator: { $0 == "\n" || $0 == "\r\n" }) {
            n += 1
            let parts = line.split(separator: " ", omittingEmptySubsequences: true)
            guard parts.count >= 3, parts[1].count == 1, let v = UInt64(parts[0], radix: 16) else {
                throw SlideKitError(path, "line \(n): expected 'address type name', found '\(line.prefix(80))'")
            }
            symbols[String(parts[2])] = v
        }
        if symbols.isEmpty { throw SlideKitError(path, "no symbols (an empty System.map)") }
        return symbols
    }
}
