// `slide kaslr --loader efi` for a Slide Image: the Slide stub model's text and JSON.

import Foundation
import SlideCore

extension SlideEFIPrediction {
    public func text() -> String {
        var rows: [(String, String)] = [
            ("Model", "the Slide kernel's EFI stub (SlideKASLR.efiSlot: PhysicalPlacement over EFI_CONVENTIONAL_MEMORY, 2 MiB aligned)"),
            ("Image size", hex(imageSize)), ("Granule", "\(granule.pageSize / 1024) KiB"),
            ("Conventional", "\(ranges.count) ranges, \(hex(ranges.reduce(0) { $0 &+ $1.size })) bytes" + (rangesLeftOut > 0 ? " (\(rangesLeftOut) more left out: the rule holds \(PhysicalPlacement.maxRAM))" : "")),
            ("Candidates", "\(candidates) (\(String(format: "%.2f", candidates > 0 ? log2(Double(candidates)) : 0)) bits)"),
        ]
        if let seed {
            rows.append(("Seed", "\(hex(seed)) (EFI_RNG_PROTOCOL, 8 bytes)"))
            rows.append(("Physical address", address.map(hex) ?? "none: no candidate (the stub refuses to boot)"))
        }
        return rows.map { $0.0.padded(to: 18) + $0.1 + "\n" }.joined()
    }

    public func json(file: String) -> JSON {
        .object([
            ("schema", .string(jsonSchemaVersion)), ("image", .string(file)), ("loader", .string("efi")), ("model", .string("slide-efi-stub")),
            ("image_size", .hex(imageSize)), ("granule", .int(Int(granule.pageSize))),
            ("ranges", .array(ranges.map { .object([("base", .hex($0.base)), ("size", .hex($0.size))]) })), ("ranges_left_out", .int(rangesLeftOut)),
            ("candidates", .int(Int(clamping: candidates))), ("seed", seed.map { .hex($0) } ?? .null), ("physical_address", address.map { .hex($0) } ?? .null),
        ])
    }
}
