// The Slide kernel's own EFI stub (Kernel/Early/EFIStub.swift) on the host: where it copies the
// Image, from the firmware's EFI_CONVENTIONAL_MEMORY and the 64-bit seed EFI_RNG_PROTOCOL gave.
// The stub and this model call the same SlideCore rule, SlideKASLR.efiSlot (PhysicalPlacement
// over the conventional regions in map order, at most PhysicalPlacement.maxRAM of them, 2 MiB
// aligned). The kernel reports the ranges it saw (`efi_ranges`) and its seed (`efi_seed`), so a
// boot's slot is checked exactly (`slide boot --loader efi`).

import SlideCore

public struct SlideEFIPrediction {
    public var imageSize: UInt64
    public var granule: Granule
    /// The conventional ranges the rule takes, in map order, and how many it had to leave out.
    public var ranges: [(base: UInt64, size: UInt64)]
    public var rangesLeftOut: Int
    public var candidates: UInt64
    public var seed: UInt64?
    /// The slot the seed picks (nil without a seed, or without a candidate).
    public var address: UInt64?
}

public enum SlideEFIModel {
    /// The slot for a Slide Image of `imageSize` bytes, `granule` pages, over `map`'s conventional
    /// memory; without a seed only the candidates are counted.
    public static func predict(imageSize: UInt64, granule: Granule, conventional: [(base: UInt64, size: UInt64)], seed: UInt64?) -> SlideEFIPrediction {
        var placement = PhysicalPlacement(granule: granule)
        for r in conventional { placement.addRAM(base: r.base, size: r.size) }
        let taken = Array(conventional.filter { $0.size > 0 }.prefix(PhysicalPlacement.maxRAM))
        var p = SlideEFIPrediction(imageSize: imageSize, granule: granule, ranges: taken,
                                   rangesLeftOut: conventional.filter { $0.size > 0 }.count - taken.count,
                                   candidates: placement.candidateCount(imageSize: imageSize, misalignment: 0), seed: seed, address: nil)
        if let seed, let choice = SlideKASLR.efiSlot(seed: seed, placement: placement, imageSize: imageSize) {
            p.address = choice.address
            p.candidates = choice.candidates
        }
        return p
    }

    /// The EFI_CONVENTIONAL_MEMORY regions of a map, in its order.
    public static func conventional(_ map: [EFIMemoryRegion]) -> [(base: UInt64, size: UInt64)] {
        map.filter { $0.type == .conventional }.compactMap { r in r.size.map { (r.start, $0) } }
    }

    /// The ranges of a Slide report's `efi_ranges=BASE+SIZE,...` value; nil when malformed.
    public static func reportedRanges(_ value: String) -> [(base: UInt64, size: UInt64)]? {
        if value == "none" { return [] }
        var out: [(base: UInt64, size: UInt64)] = []
        for item in value.split(separator: ",") {
            let parts = item.split(separator: "+")
            guard parts.count == 2, let b = parseHex(parts[0]), let s = parseHex(parts[1]) else { return nil }
            out.append((b, s))
        }
        return out
    }

    static func parseHex(_ s: Substring) -> UInt64? { s.hasPrefix("0x") ? UInt64(s.dropFirst(2), radix: 16) : nil }

    /// The ranges written in `text`: a Slide kernel's boot output (its `efi_ranges` line), else an
    /// EFI memory map as Linux prints it with efi=debug (its conventional regions).
    public static func conventional(text: String, path: String) throws(SlideKitError) -> [(base: UInt64, size: UInt64)] {
        let key = BootReportKey.prefix.description + BootReportKey.efiRanges.name.description + "="
        if let line = text.split(whereSeparator: \.isNewline).last(where: { $0.hasPrefix(key) }) {
            guard let r = reportedRanges(String(line.dropFirst(key.count))) else { throw SlideKitError(path, "malformed \(key) line") }
            return r
        }
        return conventional(try EFIMemoryMapText.parse(text, path: path))
    }
}
