// The EFI memory map as Linux prints it with `efi=debug` (drivers/firmware/efi/efi-init.c,
// reserve_regions; the bracket from efi.c, efi_md_typeattr_format), 5.10 to 7.x:
//
//   efi:   0x000040000000-0x000043ffffff [Conventional|   |  |  |  |  |  |  |  |  |  |   |WB|  |  |  ]
//
// the first and last byte, the type (memory_type_name[], or `type=N` beyond it), then one column
// per attribute Linux knows, blank or its token (or `attr=0x…` when an unknown bit is set). A
// user may paste a whole dmesg: lines that are not map lines are skipped, and so is the timestamp.
// `slide boot --loader efi` saves the map in this form (--save-efi-memmap) and `slide kaslr
// --efi-memmap` reads it.

import Foundation
import SlideCore

public enum EFIMemoryMapText {
    /// memory_type_name[] (drivers/firmware/efi/efi.c): the name of type N is entry N.
    static let typeNames = ["Reserved", "Loader Code", "Loader Data", "Boot Code", "Boot Data", "Runtime Code", "Runtime Data",
                            "Conventional", "Unusable", "ACPI Reclaim", "ACPI Mem NVS", "MMIO", "MMIO Port", "PAL Code",
                            "Persistent", "Unaccepted"]
    /// The attribute columns in Linux's order, with their tokens.
    static let attributeTokens: [(String, UInt64)] = {
        typealias A = EFIMemoryAttribute
        return [("RUN", A.runtime), ("HP", A.hotPluggable), ("MR", A.moreReliable), ("CC", A.cpuCrypto), ("SP", A.specificPurpose),
                ("NV", A.nv), ("XP", A.xp), ("RP", A.rp), ("WP", A.wp), ("RO", A.ro), ("UCE", A.uce), ("WB", A.wb),
                ("WT", A.wt), ("WC", A.wc), ("UC", A.uc)]
    }()
    static let knownAttributes = attributeTokens.reduce(UInt64(0)) { $0 | $1.1 }
    /// More regions than any firmware reports: a bound on what a pasted file may hold.
    static let maximumRegions = 65536

    /// The regions of every map line in `text`, in order. Throws naming `path` and the line for
    /// a map line that does not parse, regions that overlap, or a text with no map line.
    public static func parse(_ text: String, path: String) throws(SlideKitError) -> [EFIMemoryRegion] {
        var regions: [(EFIMemoryRegion, Int)] = []
        for (index, raw) in text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline).enumerated() {
            guard let body = mapLineBody(raw) else { continue }
            guard regions.count < maximumRegions else { throw SlideKitError(path, "line \(index + 1): more than \(maximumRegions) regions") }
            do throws(MapLineError) { regions.append((try region(body), index + 1)) } catch {
                throw SlideKitError(path, "line \(index + 1): \(error.reason)")
            }
        }
        guard !regions.isEmpty else { throw SlideKitError(path, "no EFI memory map lines (Linux prints them with efi=debug: `efi:   0x…-0x… [Conventional|…]`)") }
        let sorted = regions.sorted { $0.0.start < $1.0.start }
        for (a, b) in zip(sorted, sorted.dropFirst()) where b.0.start <= a.0.start &+ (a.0.pageCount &* EFIMemoryRegion.pageSize &- 1) {
            throw SlideKitError(path, "line \(max(a.1, b.1)): overlaps line \(min(a.1, b.1)) (two maps in one file?)")
        }
        return regions.map(\.0)
    }

    /// The map lines of a kernel's log, as printed, without their timestamps.
    public static func mapLines(in output: String) -> [String] {
        output.split(whereSeparator: \.isNewline).compactMap { line in mapLineBody(line).map { "efi:   " + $0 } }
    }

    /// One region as Linux 6.x prints it.
    public static func line(_ r: EFIMemoryRegion) -> String {
        let last = r.start &+ (r.pageCount &* EFIMemoryRegion.pageSize &- 1)
        let type = Int(r.type.rawValue) < typeNames.count ? typeNames[Int(r.type.rawValue)].padded(to: 12) : "type=\(r.type.rawValue)"
        let attributes = r.attributes & ~knownAttributes != 0 ? "|attr=0x" + hex16(r.attributes)
            : attributeTokens.map { "|" + (r.attributes & $0.1 != 0 ? $0.0 : "").padded(to: $0.0 == "RUN" || $0.0 == "UCE" ? 3 : 2) }.joined()
        return "efi:   0x\(hex12(r.start))-0x\(hex12(last)) [\(type)\(attributes)]"
    }

    // MARK: - One line

    struct MapLineError: Error { var reason: String }

    /// "0x…-0x… […]" when the line is a map line: after an optional `[ seconds]` timestamp, either
    /// `efi:` and spaces, or nothing, then `0x`.
    static func mapLineBody(_ line: Substring) -> Substring? {
        var s = line.drop { $0 == " " || $0 == "\t" }
        if s.hasPrefix("["), let close = s.firstIndex(of: "]"), s[s.index(after: s.startIndex)..<close].allSatisfy({ $0 == " " || $0 == "." || $0.isNumber }) {
            s = s[s.index(after: close)...].drop { $0 == " " }
        }
        if s.hasPrefix("efi:") {
            let rest = s.dropFirst(4)
            guard rest.first == " " else { return nil }
            s = rest.drop { $0 == " " }
        }
        guard s.hasPrefix("0x") else { return nil }
        return Substring(s.reversed().drop { $0 == " " || $0 == "\r" || $0 == "\t" }.reversed())
    }

    static func region(_ body: Substring) throws(MapLineError) -> EFIMemoryRegion {
        guard let dash = body.firstIndex(of: "-"), let open = body.firstIndex(of: "["), dash < open, body.last == "]" else {
            throw MapLineError(reason: "expected `0xSTART-0xLAST [Type|attributes]`")
        }
        let start = try address(body[..<dash]), last = try address(body[body.index(after: dash)..<open])
        guard start & 0xfff == 0, last & 0xfff == 0xfff, last >= start else {
            throw MapLineError(reason: "\(body[..<open].trimmingCharacters(in: .whitespaces)) is not a whole number of 4 KiB pages")
        }
        let bracket = body[body.index(after: open)..<body.index(before: body.endIndex)]
        guard let bar = bracket.firstIndex(of: "|") else { throw MapLineError(reason: "no `|` after the memory type") }
        let type = try memoryType(bracket[..<bar].trimmingCharacters(in: .whitespaces))
        let attributes = try attributeBits(bracket[bracket.index(after: bar)...])
        return EFIMemoryRegion(type: type, start: start, pageCount: (last - start) / EFIMemoryRegion.pageSize + 1, attributes: attributes)
    }

    static func address(_ s: Substring) throws(MapLineError) -> UInt64 {
        let t = s.trimmingCharacters(in: .whitespaces)
        guard t.hasPrefix("0x"), t.count > 2, t.count <= 18, let v = UInt64(t.dropFirst(2), radix: 16) else {
            throw MapLineError(reason: "'\(t.prefix(40))' is not a 64-bit hex address")
        }
        return v
    }

    static func memoryType(_ name: String) throws(MapLineError) -> EFIMemoryType {
        if let n = typeNames.firstIndex(of: name) { return EFIMemoryType(rawValue: UInt32(n)) }
        if name.hasPrefix("type="), let v = UInt32(name.dropFirst(5)) { return EFIMemoryType(rawValue: v) }
        throw MapLineError(reason: "unknown memory type '\(name.prefix(40))'")
    }

    static func attributeBits(_ columns: Substring) throws(MapLineError) -> UInt64 {
        if columns.hasPrefix("attr=0x") {
            guard columns.count <= 23, let v = UInt64(columns.dropFirst(7), radix: 16) else { throw MapLineError(reason: "bad attr=0x… value") }
            return v
        }
        var bits: UInt64 = 0
        for token in columns.split(separator: "|", omittingEmptySubsequences: false) {
            let t = token.trimmingCharacters(in: .whitespaces)
            if t.isEmpty { continue }
            guard let bit = attributeTokens.first(where: { $0.0 == t })?.1 else { throw MapLineError(reason: "unknown attribute '\(t.prefix(20))'") }
            bits |= bit
        }
        return bits
    }

    static func hex12(_ v: UInt64) -> String { let h = String(v, radix: 16); return String(repeating: "0", count: max(0, 12 - h.count)) + h }
    static func hex16(_ v: UInt64) -> String { let h = String(v, radix: 16); return String(repeating: "0", count: max(0, 16 - h.count)) + h }
}
