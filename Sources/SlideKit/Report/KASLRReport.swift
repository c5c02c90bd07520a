// `slide kaslr`'s text and JSON: the prediction, its facts, assumptions and entropy.

import SlideCore

extension Predicted {
    /// `0x…`, `0x…-0x… (random at boot)`, or `unknown`.
    public var text: String {
        switch self {
        case .exact(let v): hex(v)
        case .within(let l, let h): "\(hex(l))..\(hex(h)) (drawn at boot)"
        case .unknown: "unknown"
        }
    }

    public var json: JSON {
        switch self {
        case .exact(let v): .hex(v)
        case .within(let l, let h): .object([("low", .hex(l)), ("high", .hex(h)), ("random_at_boot", .bool(true))])
        case .unknown: .null
        }
    }
}

extension KASLRPrediction {
    /// What the kernel prints when it panics: "Kernel Offset: …" and, when the offset is not 0,
    /// "PHYS_OFFSET: …" (Linux's dump_kernel_offset).
    public var printedOffset: String {
        switch offset {
        case .exact(0): "disabled"
        case .exact(let o): "\(hex(o)) from \(hex(linkBase))"
        default: offset.text
        }
    }

    public func text(query q: KASLRQuery, entropy showEntropy: Bool) -> String {
        var rows: [(String, String)] = []
        rows.append(("Kernel", kind == .linux ? "Linux \(version ?? "?")" : "Slide"))
        rows.append(("Model", "\(model): \(modelSource)"))
        rows.append(("  checked against", modelMeasured))
        rows += facts.map { ("  " + $0.0, $0.1) }
        let f = q.cpu.features
        rows.append(("CPU", "\(q.cpu.name): PA \(q.paBits ?? f.paBits) bits, \(f.lpa2 ? "LPA2 (52-bit VA)" : "no LPA2"), \(f.rndr ? "RNDR" : "no RNDR")"
                     + (kind == .linux ? "; the kernel runs with \(vaBitsActual)-bit VA" : "")))
        rows.append(("Seed", q.seed == 0 ? "none" : hex(q.seed)))
        rows.append(("  used", seedSource == "rndr" ? "rndr (the CPU's random number: not predictable)" : seedSource))
        rows.append(("Kernel Offset", printedOffset))
        let end = kernelStart.adding(imageSize)
        rows.append(("Kernel VA", kernelStart.exact != nil ? "\(kernelStart.text)-\(end.text) (image_size \(hex(imageSize)))" : kernelStart.text))
        rows.append(("Physical address", physicalAddress.text + (physicalCandidates.map { " (\($0) candidates)" } ?? "")))
        rows.append(("kimage_voffset", kimageVoffset.text))
        rows.append(("PHYS_OFFSET", physOffset.text))
        rows.append(("Modules", "base \(moduleBase.text), \(sizeText(moduleSize)) window; \(moduleRandomness)"))
        if showEntropy {
            for e in entropy {
                rows.append(("Entropy " + e.part, String(format: "%.2f bits (%@)", e.bits, e.seedBits)))
            }
        }
        for a in assumptions { rows.append(("Assumed", a)) }
        let width = (rows.map(\.0.count).max() ?? 0) + 2
        return rows.map { $0.0.padding(toLength: width, withPad: " ", startingAt: 0) + $0.1 }.joined(separator: "\n") + "\n"
    }

    public func json(file: String, query q: KASLRQuery, entropy showEntropy: Bool) -> JSON {
        var fields: [(String, JSON)] = [
            ("schema", .string(jsonSchemaVersion)), ("file", .string(file)), ("kind", .string(kind.rawValue)),
            ("version", version.map { .string($0) } ?? .null),
            ("model", .object([("name", .string(model)), ("source", .string(modelSource)), ("checked_against", .string(modelMeasured))])),
            ("cpu", .object([("name", .string(q.cpu.name)), ("pa_bits", .int(q.paBits ?? q.cpu.features.paBits)),
                             ("lpa2", .bool(q.cpu.features.lpa2)), ("rndr", .bool(q.cpu.features.rndr))])),
            ("va_bits", .int(vaBits)), ("va_bits_actual", .int(vaBitsActual)),
            ("seed", .hex(q.seed)), ("seed_source", .string(seedSource)),
            ("link_base", .hex(linkBase)), ("link_base_standing", .string(linkBaseStanding.rawValue)), ("image_size", .hex(imageSize)),
            ("kernel_offset", offset.json), ("printed_kernel_offset", .string(printedOffset)),
            ("kernel_start", kernelStart.json), ("physical_address", physicalAddress.json),
            ("physical_candidates", physicalCandidates.map { .int(Int($0)) } ?? .null),
            ("kimage_voffset", kimageVoffset.json), ("phys_offset", physOffset.json),
            ("module_base", moduleBase.json), ("module_size", .hex(moduleSize)), ("module_randomness", .string(moduleRandomness)),
            ("assumptions", .array(assumptions.map { .string($0) })),
        ]
        if showEntropy {
            fields.append(("entropy", .array(entropy.map { .object([("part", .string($0.part)), ("bits", .double($0.bits)), ("seed_bits", .string($0.seedBits))]) })))
        }
        return .object(fields)
    }
}
