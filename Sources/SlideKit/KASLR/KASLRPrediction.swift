// `slide kaslr`: the layout a seed gives a kernel Image on a CPU. For Linux, the SlideCore model
// of the Image's version (chosen from its banner; the kernel's VA_BITS from its own cpufeature
// table, VA_BITS_MIN from its link base); for a Slide kernel, the Slide kernel's own rules (the
// SlideCore code it runs at boot). Every input the Image cannot give is said to be an assumption.

import Foundation
import SlideCore

public struct KASLRQuery {
    public var seed: UInt64 = 0
    public var commandLine = ""
    /// The CLI takes `QEMUCPU.defaultCPU` for the Image's page size when none is named.
    public var cpu: QEMUCPU = QEMUCPU.named("cortex-a57")!
    /// Overrides of the CPU's sizes.
    public var vaBits: Int? = nil, paBits: Int? = nil
    /// PA of the image's first byte (default: where QEMU's -kernel puts it).
    public var loadPA: UInt64 = BootOptions.qemuKernelAddress
    /// RAM ranges (default: QEMU virt's 1 GiB at 0x40000000) and, for a Slide kernel, ranges it must avoid.
    public var memory: [(base: UInt64, size: UInt64)] = [(BootOptions.ramBase, 1 << 30)]
    public var reserved: [(base: UInt64, size: UInt64)] = []
    public init() {}

    var ramLow: UInt64 { memory.map(\.base).min() ?? 0 }
    var ramHigh: UInt64 { memory.map { $0.base &+ $0.size }.max() ?? 0 }
}

public struct KASLRPrediction {
    public enum Kind: String { case linux, slide }
    public var kind: Kind
    /// "linux-6.9", or "slide".
    public var model: String
    public var modelSource: String
    public var modelMeasured: String
    /// The Image's version and how far the model is from what was measured.
    public var version: String?
    public var facts: [(String, String)] = []
    /// Inputs taken on trust (said wherever they are used).
    public var assumptions: [String] = []
    public var linkBase: UInt64
    /// Established from the Image, or given with --link-base (said in the text and the JSON).
    public var linkBaseStanding: Standing = .established
    public var imageSize: UInt64
    public var vaBits: Int, vaBitsActual: Int
    /// The Image's page size (PHYS_OFFSET moves in steps of its ARM64_MEMSTART_ALIGN).
    public var granule: Granule = .k4
    public var seedSource: String
    public var offset: Predicted
    public var physOffset: Predicted
    public var moduleBase: Predicted
    public var moduleSize: UInt64
    public var moduleRandomness: String
    /// The physical address the image runs at (a Slide kernel may move itself).
    public var physicalAddress: Predicted
    public var physicalCandidates: UInt64? = nil
    public var entropy: [(part: String, bits: Double, seedBits: String)] = []

    public var kernelStart: Predicted { offset.adding(linkBase) }
    /// kimage_voffset = VA(_text) - PA(_text).
    public var kimageVoffset: Predicted {
        guard let o = offset.exact, let pa = physicalAddress.exact else { return .unknown }
        return .exact(linkBase &+ o &- pa)
    }
}

public enum KASLRPredictor {
    /// The Linux formulas, oldest first; an Image takes the last whose first version it reaches.
    public static var formulas: [any LinuxKASLRFormula.Type] { [Linux510KASLR.self, Linux61KASLR.self, Linux69KASLR.self, Linux616KASLR.self] }

    /// (major, minor) from "Linux version 6.12.118+deb13-arm64 …".
    public static func version(_ banner: String) -> (Int, Int)? {
        let words = banner.split(separator: " ")
        guard words.count >= 3 else { return nil }
        let parts = words[2].split(whereSeparator: { !$0.isNumber }).prefix(2).compactMap { Int($0) }
        return parts.count == 2 ? (parts[0], parts[1]) : nil
    }

    public static func predict(_ k: KernelImage, _ q: KASLRQuery) throws(SlideKitError) -> KASLRPrediction {
        guard let header = k.header else { throw SlideKitError(k.path, "not an arm64 Image: no header to read image_size from") }
        _ = try k.requireLinkBase(for: "a KASLR prediction")
        guard q.memory.contains(where: { q.loadPA >= $0.base && q.loadPA &+ header.imageSize <= $0.base &+ $0.size }) else {
            throw SlideKitError(k.path, "--pa \(hex(q.loadPA)): the image (\(hex(header.imageSize)) bytes) does not lie inside --memory")
        }
        // The kernel maps itself with its own pages: it cannot run at an address off its page size.
        let page = header.flags.pageSize.bytes ?? 4096
        guard q.loadPA % page == 0 else {
            throw SlideKitError(k.path, "--pa \(hex(q.loadPA)) is not a multiple of the Image's page size (\(page / 1024) KiB)")
        }
        var p = try k.banner != nil ? linux(k, header, k.banner!, q) : slideImage(k, header, q)
        p.linkBaseStanding = k.linkBaseStanding
        if k.linkBaseStanding == .given { p.assumptions.append("link base \(hex(k.linkBase)) as given with --link-base") }
        return p
    }

    static func slideImage(_ k: KernelImage, _ header: ImageHeader, _ q: KASLRQuery) throws(SlideKitError) -> KASLRPrediction {
        if (try? KernelSymbols.read(k))?.source == .slideSymbolMap || k.rela?.source == SealRecognizer.source || k.relr?.source == SealRecognizer.source { return try slide(k, header, q) }
        throw SlideKitError(k.path, "neither a Linux Image (no `Linux version` banner) nor a Slide Image (no seal or symbol map)")
    }

    static func linux(_ k: KernelImage, _ header: ImageHeader, _ banner: String, _ q: KASLRQuery) throws(SlideKitError) -> KASLRPrediction {
        guard let v = version(banner) else { throw SlideKitError(k.path, "cannot read the version in '\(banner.prefix(60))'") }
        guard let pageSize = header.flags.pageSize.bytes, let granule = Granule(pageSize: pageSize) else {
            throw SlideKitError(k.path, "the Image header's flags give no page size (\(hex(header.flags.rawValue)))")
        }
        guard let formula = formulas.last(where: { v >= $0.firstVersion }) else {
            throw SlideKitError(k.path, "Linux \(v.0).\(v.1): no model before 5.4 (the kernel VA space was laid out differently)")
        }
        var assumptions: [String] = []
        var facts: [(String, String)] = [("Page size", "\(pageSize / 1024) KiB (Image header flags)")]
        // Which page sizes a formula covers: 5.4-6.8's are written for 4 KiB pages; 6.9+'s follow
        // PAGE_SHIFT (Linux69KASLR.swift), measured with 4 and 16 KiB.
        guard granule == .k4 || formula.firstVersion >= (6, 9) else {
            throw SlideKitError(k.path, "\(pageSize / 1024) KiB pages: the \(formula.name) model is written for 4 KiB pages only (no such kernel to measure)")
        }
        if !formula.measuredPageSizes.contains(pageSize) {
            assumptions.append("\(pageSize / 1024) KiB pages: \(formula.name)'s page-size terms follow the source, not checked against a boot")
        }
        guard let cpuGranule = q.cpu.supports(granule), cpuGranule else {
            throw SlideKitError(k.path, "--cpu \(q.cpu.name) has no \(pageSize / 1024) KiB granule: this kernel does not boot on it (CPUs with it: \(QEMUCPU.all.filter { $0.supports(granule) == true }.map(\.name).joined(separator: ", ")))")
        }
        // VA_BITS_MIN from the link base (KIMAGE_VADDR = _PAGE_END(VA_BITS_MIN) + the regions below
        // it, all under 2^(VA_BITS_MIN-1)); VA_BITS = 52 when the cpufeature table names it.
        let vaBitsMin = 64 - (~k.linkBase).leadingZeroBitCount + 1
        guard k.linkBase >> 63 == 1, (36...52).contains(vaBitsMin) else {
            throw SlideKitError(k.path, "link base \(hex(k.linkBase)) is not a kernel address (VA_BITS_MIN would be \(vaBitsMin)): no model")
        }
        let names52 = k.bytes.withUnsafeBytes { raw in
            ["52-bit Virtual Addressing (LPA2)", "52-bit Virtual Addressing (LVA)"].contains { Self.contains(raw, $0 + "\0") }
        }
        var vaBits = names52 ? 52 : vaBitsMin
        facts.append(("VA_BITS", names52 ? "52 (the Image's cpufeature table names \"52-bit Virtual Addressing\")"
                      : "\(vaBitsMin) (no 52-bit cpufeature in the Image; VA_BITS_MIN from the link base)"))
        if let forced = q.vaBits { vaBits = max(forced, vaBitsMin); facts.append(("VA_BITS override", "\(forced)")) }
        var cpu = q.cpu.features
        if let pa = q.paBits { cpu.paBits = pa }
        if q.vaBits == 48 { cpu.lpa2 = false }
        // _stext and _etext from kallsyms.
        let symbols = (try? KernelSymbols.read(k)).map { KernelSymbols.addresses($0.symbols) } ?? [:]
        var stext = symbols["_stext"].map { $0 &- k.linkBase }
        if stext == nil {
            stext = 0x10000
        }
        // 5.10 and 6.1 place modules relative to _stext: without kallsyms the region is not predicted.
        let modulesUnknown = symbols["_stext"] == nil && formula.modulesUseStext
        let etext = symbols["_etext"].map { $0 &- k.linkBase }
        if !formula.measuredVersions.contains(where: { $0 == v }) {
            assumptions.append("Linux \(v.0).\(v.1) is taken to follow \(formula.name) (measured on \(formula.measured))")
        }
        let inputs = LinuxKASLRInputs(seed: q.seed, disabled: formula.disables(commandLine: q.commandLine), cpu: cpu,
                                      vaBits: vaBits, vaBitsMin: vaBitsMin, linkBase: k.linkBase, imageSize: header.imageSize,
                                      stextOffset: stext!, etextOffset: etext, loadPA: q.loadPA, ramLow: q.ramLow, ramHigh: q.ramHigh,
                                      granule: granule)
        let l = formula.layout(inputs)
        var p = KASLRPrediction(kind: .linux, model: "\(formula.name)", modelSource: "\(formula.source)", modelMeasured: "\(formula.measured)",
                                version: banner.split(separator: " ").dropFirst(2).first.map(String.init), facts: facts,
                                assumptions: assumptions, linkBase: k.linkBase, imageSize: header.imageSize, vaBits: vaBits,
                                vaBitsActual: l.vaBitsActual, seedSource: l.seedSource.rawValue, offset: l.offset, physOffset: l.physOffset,
                                moduleBase: l.moduleBase, moduleSize: l.moduleSize, moduleRandomness: l.moduleRandomness,
                                physicalAddress: .exact(q.loadPA))
        p.granule = granule
        if modulesUnknown {
            p.moduleBase = .unknown
            p.moduleRandomness = "not predicted: \(formula.name) places modules relative to _stext, and kallsyms could not be read"
        }
        p.entropy = [("image", l.imageEntropy, l.imageSeedBits), ("PHYS_OFFSET", l.physEntropy, l.physSeedBits),
                     ("modules", l.moduleEntropy, l.moduleRandomness)]
        return p
    }

    static func slide(_ k: KernelImage, _ header: ImageHeader, _ q: KASLRQuery) throws(SlideKitError) -> KASLRPrediction {
        let granule: Granule = switch header.flags.pageSize.bytes { case 16384: .k16; case 65536: .k64; default: .k4 }
        let bytes = Array(q.commandLine.utf8)
        var placement = PhysicalPlacement(granule: granule)
        for m in q.memory { placement.addRAM(base: m.base, size: m.size) }
        for r in q.reserved { placement.exclude(base: r.base, size: r.size) }
        var assumptions: [String] = []
        let symbols = (try? KernelSymbols.read(k)).map { KernelSymbols.addresses($0.symbols) } ?? [:]
        var image: ImageLandmarks? = nil
        if let s = symbols["_stext"], let e = symbols["_etext"], let end = symbols["_end"] {
            image = ImageLandmarks(text: k.linkBase, stext: s, etext: e, end: end)
        } else {
            assumptions.append("the Image's symbol map lacks _stext/_etext/_end: the module region is not predicted")
        }
        let l = SlideKASLR.layout(SlideKASLRInputs(
            args: SlideBootArgs(length: bytes.count, byte: { bytes[$0] }), fdtSeed: q.seed, cpuHasRNDR: q.cpu.features.rndr,
            loadPA: q.loadPA, imageSize: header.imageSize, placement: placement, ramLow: q.ramLow, granule: granule, image: image))
        let source = String(l.seedSource.name.description)
        var p = KASLRPrediction(kind: .slide, model: "slide", modelSource: "SlideCore KASLR, PhysicalPlacement and ModuleRegion (what the Slide kernel runs)",
                                modelMeasured: "the Slide kernel's boot reports (make test's boot matrix)", version: nil,
                                facts: [("granule", "\(granule.pageSize / 1024) KiB")], assumptions: assumptions,
                                linkBase: k.linkBase, imageSize: header.imageSize, vaBits: SlideKASLR.vaBits, vaBitsActual: SlideKASLR.vaBits,
                                seedSource: source, offset: l.offset, physOffset: .exact(l.physOffset),
                                moduleBase: l.moduleBase, moduleSize: ModuleRegion.window,
                                moduleRandomness: l.seedSource == .fdt ? "from the seed (mix(seed ^ \"modules!\"), 21 bits)" : "not randomized (_etext - 128 MiB)",
                                physicalAddress: l.physicalAddress)
        p.physicalCandidates = l.physicalCandidates
        p.entropy = [("image", LinuxKASLR.bits(1 << 25), "21..45"),
                     ("physical", LinuxKASLR.bits(l.physicalSlots), "all (mix(seed), Lemire reduction)"),
                     ("modules", 21, "all (mix(seed ^ \"modules!\"))")]
        return p
    }

    static func contains(_ raw: UnsafeRawBufferPointer, _ needle: String) -> Bool {
        let n = Array(needle.utf8)
        guard let first = n.first, raw.count >= n.count, let base = raw.baseAddress else { return false }
        var from = 0
        while from + n.count <= raw.count {
            guard let hit = memchr(base + from, Int32(first), raw.count - from - n.count + 1) else { return false }
            let at = base.distance(to: UnsafeRawPointer(hit))
            if memcmp(base + at, n, n.count) == 0 { return true }
            from = at + 1
        }
        return false
    }
}

// MARK: - Reports

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

    /// Each printed layout line beside the prediction: (what, predicted, printed, agree). A value
    /// drawn at boot (RNDR) agrees when the printed one lies in its range, on its lattice.
    public func compare(_ boot: LinuxBootReport) -> [(what: String, predicted: String, printed: String, agree: Bool)] {
        let printed = boot.offsetPrinted ? (boot.kernelOffset.map { "\(hex($0)) from \(hex(boot.linkBase ?? 0))" } ?? "disabled") : "(not printed)"
        let offsetAgrees: Bool
        switch offset {
        case .exact: offsetAgrees = printedOffset == printed
        case .within(let l, let h):
            offsetAgrees = boot.linkBase == linkBase && boot.kernelOffset.map { $0 >= l && $0 <= h && ImageAlignment.misalignment($0) == ImageAlignment.misalignment(l) } == true
        case .unknown: offsetAgrees = false
        }
        var rows = [("Kernel Offset", printedOffset, printed, offsetAgrees)]
        if boot.kernelOffset != nil || offset.exact.map({ $0 != 0 }) == true {
            let physAgrees: Bool = switch physOffset {
            case .exact(let v): boot.physOffset == v
            case .within(let l, let h): boot.physOffset.map { $0 &- l <= h &- l && ($0 &- l) % granule.memstartAlign == 0 } == true
            case .unknown: false
            }
            rows.append(("PHYS_OFFSET", physOffset.text, boot.physOffset.map { hex($0) } ?? "(not printed)", physAgrees))
        }
        return rows
    }

    /// What the kernel printed, for a boot with no prediction: (what, printed).
    public static func printedLines(_ boot: LinuxBootReport) -> [(String, String)] {
        var rows = [("Kernel Offset", boot.offsetPrinted ? (boot.kernelOffset.map { "\(hex($0)) from \(hex(boot.linkBase ?? 0))" } ?? "disabled") : "(not printed)")]
        if let p = boot.physOffset { rows.append(("PHYS_OFFSET", hex(p))) }
        return rows
    }

    /// `boot --json` of a Linux Image no model predicts: the printed lines, `agree` null and the reason.
    public static func unpredictedBootDocument(image: String, boot: LinuxBootReport, cpu: String, seed: UInt64, reason: String) -> JSON {
        .object([
            ("schema", .string(jsonSchemaVersion)), ("image", .string(image)), ("kernel", .string(boot.version ?? "")),
            ("cpu", .string(cpu)), ("seed", .hex(seed)), ("model", .null), ("agree", .null), ("no_prediction", .string(reason)),
            ("lines", .array(printedLines(boot).map { .object([("what", .string($0.0)), ("predicted", .null), ("printed", .string($0.1))]) })),
        ])
    }

    /// `boot --json` of a Linux Image: each printed line beside this prediction.
    public func bootDocument(image: String, boot: LinuxBootReport, cpu: String, seed: UInt64) -> JSON {
        let rows = compare(boot)
        return .object([
            ("schema", .string(jsonSchemaVersion)), ("image", .string(image)), ("kernel", .string(boot.version ?? "")), ("version", .string(version ?? "")),
            ("cpu", .string(cpu)), ("seed", .hex(seed)), ("model", .string(model)), ("agree", .bool(rows.allSatisfy(\.agree))),
            ("lines", .array(rows.map { .object([("what", .string($0.what)), ("predicted", .string($0.predicted)),
                                                 ("printed", .string($0.printed)), ("agree", .bool($0.agree))]) })),
        ])
    }
}
