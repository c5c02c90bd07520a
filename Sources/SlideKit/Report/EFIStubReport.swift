// `slide kaslr --loader efi`'s text and JSON: the stub model, the slots it counts in the map, and
// with a seed the slot it takes.

import Foundation
import SlideCore

extension EFIStubPrediction {
    /// The candidate slots, one run per region: (first, last, count).
    var runRows: [(first: UInt64, last: UInt64, count: UInt64)] { runs.map { ($0.first, $0.address($0.count - 1), $0.count) } }

    public func text() -> String {
        var rows: [(String, String)] = [
            ("Model", "\(model) (Linux \(version.0).\(version.1)'s EFI stub)"),
            ("Source", source), ("Measured", measured),
            ("Image size", "\(hex(imageSize)) (allocated: \(hex(alloc.size)))"),
            ("Alignment", hex(alloc.align)),
            ("Slot type", EFIMemoryMapText.typeNames[Int(alloc.rules.slotType.rawValue)]),
        ]
        if let g = givenBack { rows.append(("Given back", "\(hex(g.start))-\(hex(g.start &+ g.pageCount &* EFIMemoryRegion.pageSize &- 1)) (the stub's own slot in the printed map)")) }
        rows.append(("Candidates", "\(total) slots (\(String(format: "%.2f", entropyBits)) bits) in \(runs.count) regions"))
        var out = rows.map { $0.0.padded(to: 18) + $0.1 + "\n" }.joined()
        for r in runRows { out += "  \(hex(r.first))-\(hex(r.last)) every \(hex(alloc.align)): \(r.count)\n" }
        if let seed {
            out += "Seed".padded(to: 18) + "\(hex(UInt64(seed))) (the first 4 bytes EFI_RNG_PROTOCOL returns, little-endian)\n"
            out += "Physical address".padded(to: 18) + (address.map { "\(hex($0)) (slot \(index ?? 0) of \(total))" } ?? "none: no slot fits, the stub falls back") + "\n"
        }
        return out
    }

    public func json(file: String) -> JSON {
        var fields: [(String, JSON)] = [
            ("schema", .string(jsonSchemaVersion)), ("image", .string(file)), ("loader", .string("efi")),
            ("model", .string(model)), ("model_source", .string(source)), ("model_measured", .string(measured)),
            ("version", .string("\(version.0).\(version.1)")), ("image_size", .hex(imageSize)), ("allocation_size", .hex(alloc.size)),
            ("alignment", .hex(alloc.align)), ("slot_type", .string(EFIMemoryMapText.typeNames[Int(alloc.rules.slotType.rawValue)])),
            ("given_back", givenBack.map { .object([("start", .hex($0.start)), ("size", .hex($0.pageCount &* EFIMemoryRegion.pageSize))]) } ?? .null),
            ("candidates", .int(Int(clamping: total))), ("entropy_bits", .double((entropyBits * 100).rounded() / 100)),
            ("runs", .array(runRows.map { .object([("first", .hex($0.first)), ("last", .hex($0.last)), ("count", .int(Int(clamping: $0.count)))]) })),
        ]
        fields.append(("seed", seed.map { .hex(UInt64($0)) } ?? .null))
        fields.append(("slot", index.map { .int(Int(clamping: $0)) } ?? .null))
        fields.append(("physical_address", address.map { .hex($0) } ?? .null))
        return .object(fields)
    }
}
