// A Linux Image's layout for a query: the SlideCore formula of the Image's version (from its
// banner), VA_BITS from the Image's own cpufeature table, VA_BITS_MIN from its link base, and
// _stext/_etext from kallsyms. Whatever the Image cannot say is an assumption, listed.

import SlideCore

extension KASLRPredictor {
    /// The formula for a version and page size, and what choosing it assumes.
    struct LinuxModelChoice {
        let formula: any LinuxKASLRFormula.Type
        let granule: Granule
        var facts: [(String, String)]
        var assumptions: [String] = []
    }

    static func linux(_ k: KernelImage, _ header: ImageHeader, _ banner: String, _ q: KASLRQuery) throws(SlideKitError) -> KASLRPrediction {
        guard let v = version(banner) else { throw SlideKitError(k.path, "cannot read the version in '\(banner.prefix(60))'") }
        var choice = try linuxModel(k, header, v, q)
        let (vaBits, vaBitsMin) = try linuxVABits(k, q, &choice.facts)
        var cpu = q.cpu.features
        if let pa = q.paBits { cpu.paBits = pa }
        if q.vaBits == 48 { cpu.lpa2 = false }
        let formula = choice.formula
        // _stext and _etext from kallsyms; 5.10 and 6.1 place modules relative to _stext: without
        // kallsyms their module region is not predicted (the other formulas do not read _stext).
        let symbols = (try? KernelSymbols.read(k)).map { KernelSymbols.addresses($0.symbols) } ?? [:]
        let stext = symbols["_stext"].map { $0 &- k.linkBase }
        let modulesUnknown = stext == nil && formula.modulesUseStext
        let inputs = LinuxKASLRInputs(seed: q.seed, disabled: formula.disables(commandLine: q.commandLine), cpu: cpu,
                                      vaBits: vaBits, vaBitsMin: vaBitsMin, linkBase: k.linkBase, imageSize: header.imageSize,
                                      stextOffset: stext ?? 0x10000, etextOffset: symbols["_etext"].map { $0 &- k.linkBase },
                                      loadPA: q.loadPA, ramLow: q.ramLow, ramHigh: q.ramHigh, granule: choice.granule)
        let l = formula.layout(inputs)
        var p = KASLRPrediction(kind: .linux, model: "\(formula.name)", modelSource: "\(formula.source)", modelMeasured: "\(formula.measured)",
                                version: banner.split(separator: " ").dropFirst(2).first.map(String.init), facts: choice.facts,
                                assumptions: choice.assumptions, linkBase: k.linkBase, imageSize: header.imageSize, vaBits: vaBits,
                                vaBitsActual: l.vaBitsActual, seedSource: l.seedSource.rawValue, offset: l.offset, physOffset: l.physOffset,
                                moduleBase: l.moduleBase, moduleSize: l.moduleSize, moduleRandomness: l.moduleRandomness,
                                physicalAddress: .exact(q.loadPA))
        p.granule = choice.granule
        if modulesUnknown {
            p.moduleBase = .unknown
            p.moduleRandomness = "not predicted: \(formula.name) places modules relative to _stext, and kallsyms could not be read"
        }
        p.entropy = [("image", l.imageEntropy, l.imageSeedBits), ("PHYS_OFFSET", l.physEntropy, l.physSeedBits),
                     ("modules", l.moduleEntropy, l.moduleRandomness)]
        return p
    }

    /// The last formula whose first version the Image reaches, refused for a page size it was not
    /// written for and for a CPU that cannot run the Image's granule.
    static func linuxModel(_ k: KernelImage, _ header: ImageHeader, _ v: (Int, Int), _ q: KASLRQuery) throws(SlideKitError) -> LinuxModelChoice {
        guard let pageSize = header.flags.pageSize.bytes, let granule = Granule(pageSize: pageSize) else {
            throw SlideKitError(k.path, "the Image header's flags give no page size (\(hex(header.flags.rawValue)))")
        }
        guard let formula = formulas.last(where: { v >= $0.firstVersion }) else {
            throw SlideKitError(k.path, "Linux \(v.0).\(v.1): no model before 5.4 (the kernel VA space was laid out differently)")
        }
        var choice = LinuxModelChoice(formula: formula, granule: granule, facts: [("Page size", "\(pageSize / 1024) KiB (Image header flags)")])
        // Which page sizes a formula covers: 5.4-6.8's are written for 4 KiB pages; 6.9+'s follow
        // PAGE_SHIFT (Linux69KASLR.swift), measured with 4 and 16 KiB.
        guard granule == .k4 || formula.firstVersion >= (6, 9) else {
            throw SlideKitError(k.path, "\(pageSize / 1024) KiB pages: the \(formula.name) model is written for 4 KiB pages only (no such kernel to measure)")
        }
        if !formula.measuredPageSizes.contains(pageSize) {
            choice.assumptions.append("\(pageSize / 1024) KiB pages: \(formula.name)'s page-size terms follow the source, not checked against a boot")
        }
        guard let cpuGranule = q.cpu.supports(granule), cpuGranule else {
            throw SlideKitError(k.path, "--cpu \(q.cpu.name) has no \(pageSize / 1024) KiB granule: this kernel does not boot on it (CPUs with it: \(QEMUCPU.all.filter { $0.supports(granule) == true }.map(\.name).joined(separator: ", ")))")
        }
        if !formula.measuredVersions.contains(where: { $0 == v }) {
            choice.assumptions.append("Linux \(v.0).\(v.1) is taken to follow \(formula.name) (measured on \(formula.measured))")
        }
        return choice
    }

    /// VA_BITS_MIN from the link base (KIMAGE_VADDR = _PAGE_END(VA_BITS_MIN) + the regions below
    /// it, all under 2^(VA_BITS_MIN-1)); VA_BITS = 52 when the cpufeature table names it, or as
    /// --va-bits forces (never below VA_BITS_MIN).
    static func linuxVABits(_ k: KernelImage, _ q: KASLRQuery, _ facts: inout [(String, String)]) throws(SlideKitError) -> (vaBits: Int, vaBitsMin: Int) {
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
        return (vaBits, vaBitsMin)
    }
}
