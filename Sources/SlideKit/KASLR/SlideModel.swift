// The Slide kernel's layout for a query: SlideKASLR.layout, the SlideCore code the kernel itself
// runs at boot, fed with the query's RAM, reservations, seed and command line.

import SlideCore

extension KASLRPredictor {
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
}
