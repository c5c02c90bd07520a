import Testing
@testable import SlideCore

@Suite struct KASLRModel {
    // Spec §4.1: 2^45 + (seed & (2^46 - 1)), rounded down to 2 MiB.
    @Test func displacementRows() {
        #expect(SlideKASLR.displacement(seed: 0) == 0x2000_0000_0000)
        #expect(SlideKASLR.displacement(seed: 0x1234) == 0x2000_0000_0000)                 // below 2 MiB: rounded away
        #expect(SlideKASLR.displacement(seed: 0x20_0000) == 0x2000_0020_0000)
        #expect(SlideKASLR.displacement(seed: .max) == 0x5fff_ffe0_0000)                    // 2^45 + 2^46 - 2 MiB
        #expect(SlideKASLR.displacement(seed: 0x4000_0000_0000) == 0x2000_0000_0000)        // bit 46 is masked off
        #expect(SlideKASLR.offset(.fdt, seed: 0, physicalAddress: 0x4820_1000) == 0x2000_0000_1000)
        #expect(SlideKASLR.offset(.nokaslr, seed: 0x1234_5678_9abc_def0, physicalAddress: 0x4820_1000) == 0x1000)
    }

    @Test(arguments: [("nokaslr", true), ("console=ttyAMA0 nokaslr", true), ("nokaslrfoo", true),
                      ("xnokaslr nokaslr", false), ("", false), ("kaslr", false), ("a\tnokaslr", false)])
    func nokaslrRule(line: String, disables: Bool) {
        let b = Array(line.utf8)
        #expect(BootArgs.disablesKASLR(length: b.count, byte: { b[$0] }) == disables)
    }

    @Test(arguments: [("kaslr.phys=0", true), ("a kaslr.phys=0 b", true), ("kaslr.phys=01", false),
                      ("xkaslr.phys=0", false), ("kaslr.phys=1", false)])
    func wholeWordOption(line: String, has: Bool) {
        let b = Array(line.utf8)
        #expect(BootArgs.has(length: b.count, byte: { b[$0] }, option: "kaslr.phys=0") == has)
    }
}

@Suite struct PhysicalPlacementRule {
    // 16 MiB of RAM at 1 GiB = 8 slots of 2 MiB; slot 0 holds the FDT, slot 3 the loaded image.
    func placement() -> PhysicalPlacement {
        var p = PhysicalPlacement()
        p.addRAM(base: 0x4000_0000, size: 16 << 20)
        p.exclude(base: 0x4000_0000, size: 0x1_0000)
        p.exclude(base: 0x4060_0000, size: 0x20_0000)
        return p
    }

    @Test func candidateCounts() {
        let p = placement()
        #expect(p.candidateCount(imageSize: 0x20_0000, misalignment: 0) == 6)      // slots 1, 2, 4, 5, 6, 7
        #expect(p.candidateCount(imageSize: 0x20_0001, misalignment: 0) == 4)      // pairs 1-2, 4-5, 5-6, 6-7
        #expect(p.candidateCount(imageSize: 0x1f_f000, misalignment: 0x1000) == 6) // misaligned, still one slot each
        #expect(p.candidateCount(imageSize: 0x100_0001, misalignment: 0) == 0)     // larger than RAM
    }

    /// With 64 KiB pages no candidate straddles a 512 MiB boundary: 8 MiB of image in the 64 MiB
    /// around 0x60000000 has 29 places with 4 KiB pages (2 MiB steps), 26 with 64 KiB: the bases
    /// 0x5fa00000, 0x5fc00000 and 0x5fe00000 would cross it (0x5f800000 ends exactly on it).
    @Test func sixtyFourKiBImagesDoNotStraddle512MiB() {
        for (granule, expected) in [(Granule.k4, UInt64(29)), (.k16, 29), (.k64, 26)] {
            var p = PhysicalPlacement(granule: granule)
            p.addRAM(base: 0x5e00_0000, size: 64 << 20)
            #expect(p.candidateCount(imageSize: 8 << 20, misalignment: 0) == expected, "\(granule.name)")
        }
    }

    @Test func choiceIsACandidateAndDeterministic() {
        let p = placement()
        let allowed: Set<UInt64> = [0x4020_0000, 0x4040_0000, 0x4080_0000, 0x40a0_0000, 0x40c0_0000, 0x40e0_0000]
        var seen = Set<UInt64>()
        for seed in UInt64(1)...64 {
            let c = p.choose(seed: seed, loadPA: 0x4060_0000, imageSize: 0x20_0000)!
            #expect(allowed.contains(c.address) && c.candidates == 6)
            #expect(p.choose(seed: seed, loadPA: 0x4060_0000, imageSize: 0x20_0000)!.address == c.address)
            // index = high 64 bits of mix(seed) × 6: the rule the docs state.
            let index = PhysicalPlacement.mix(seed).multipliedFullWidth(by: 6).high
            #expect(c.address == allowed.sorted()[Int(index)])
            seen.insert(c.address)
        }
        #expect(seen.count == 6, "64 seeds reach every candidate")
        // The 4 KiB misalignment is kept.
        #expect(p.choose(seed: 9, loadPA: 0x4060_1000, imageSize: 0x1f_f000)!.address & 0x1f_ffff == 0x1000)
    }
}

@Suite struct ModuleRegionModel {
    // Spec §4.4 (Linux 6.1, RANDOMIZE_MODULE_REGION_FULL): base = max(_end - 2 GiB, MODULES_VADDR)
    // + ((2 GiB - (_end - _stext)) × fraction) >> 21, page-aligned; without KASLR, _etext - 128 MiB.
    @Test func baseRows() {
        let stext: UInt64 = 0xffff_a000_0800_1000, etext: UInt64 = 0xffff_a000_0810_0000, end: UInt64 = 0xffff_a000_0820_0000
        #expect(ModuleRegion.base(randomized: false, fraction: 5, stext: stext, etext: etext, end: end, page: 0x1000) == 0xffff_a000_0010_0000)
        #expect(ModuleRegion.base(randomized: true, fraction: 0, stext: stext, etext: etext, end: end, page: 0x1000) == 0xffff_9fff_8820_0000)
        // fraction 2^20: half of (2 GiB - 0x1ff000) = 0x3ff0_0800, page-aligned down.
        let low: UInt64 = 0xffff_9fff_8820_0000
        #expect(ModuleRegion.base(randomized: true, fraction: 1 << 20, stext: stext, etext: etext, end: end, page: 0x1000) == low + 0x3ff0_0000)
        // The top fraction stays below _stext: the window always covers the image.
        let top = ModuleRegion.base(randomized: true, fraction: (1 << 21) - 1, stext: stext, etext: etext, end: end, page: 0x1000)
        #expect(top <= stext && top &+ ModuleRegion.window >= end)
    }

    // Linux's `module_alloc_base &= PAGE_MASK`: the kernel's page, not 4 KiB. Fraction 0x12345
    // lands at low + 0x48b_f14c: 0x48b_f000, 0x48b_c000 and 0x48b_0000 on 4, 16 and 64 KiB pages.
    @Test(arguments: [(UInt64(0x1000), UInt64(0x48b_f000)), (0x4000, 0x48b_c000), (0x1_0000, 0x48b_0000)])
    func baseIsOnTheKernelsPage(page: UInt64, above: UInt64) {
        let stext: UInt64 = 0xffff_a000_0800_1000, end: UInt64 = 0xffff_a000_0820_0000, low: UInt64 = 0xffff_9fff_8820_0000
        #expect(ModuleRegion.base(randomized: true, fraction: 0x12345, stext: stext, etext: end, end: end, page: page) == low + above)
        let g = Granule(pageSize: page)!
        #expect(SlideKASLR.moduleBase(.fdt, seed: 7, stext: stext, etext: end, end: end, granule: g) % page == 0)
        // Not randomized: _etext - 128 MiB, on the page (the Slide kernel's _etext is on one already).
        #expect(ModuleRegion.base(randomized: false, fraction: 0, stext: stext, etext: 0xffff_a000_0810_4000, end: end, page: page)
                == (0xffff_a000_0010_4000 & ~(page - 1)))
    }

    // A module that would overlap the kernel image goes just past it; otherwise where the cursor is.
    @Test func placementSkipsTheImage() {
        let start: UInt64 = 0xffff_a000_0800_0000, end: UInt64 = 0xffff_a000_081b_2000
        func place(_ cursor: UInt64, _ size: UInt64, imageEnd: UInt64 = end, page: UInt64 = 0x1000) -> UInt64 {
            ModuleRegion.place(cursor: cursor, size: size, imageStart: start, imageEnd: imageEnd, page: page)
        }
        #expect(place(start - 0x4000, 0x4000) == start - 0x4000)
        #expect(place(start - 0x3000, 0x4000) == end)
        #expect(place(start + 0x1000, 0x1000) == end)
        #expect(place(end, 0x4000) == end)
        #expect(place(start, 0x1000, imageEnd: end - 0x800) == end) // rounded up to a page
        // On 16 and 64 KiB pages, the first page of the kernel's granule past the image.
        #expect(place(start - 0x4000, 0x4000, page: 0x4000) == start - 0x4000)
        #expect(place(start - 0x3000, 0x4000, page: 0x4000) == 0xffff_a000_081b_4000)
        #expect(place(start - 0x3000, 0x4000, page: 0x1_0000) == 0xffff_a000_081c_0000)
    }

    // The first module of a seed: the region's base and the module's address on the granule's page.
    @Test(arguments: [Granule.k4, .k16, .k64])
    func firstModuleOnEveryGranule(_ g: Granule) {
        let image = ImageLandmarks(text: 0xffff_8000_0800_0000, stext: 0xffff_8000_0801_0000, etext: 0xffff_8000_0850_0000, end: 0xffff_8000_0860_0000)
        for seed: UInt64 in [1, 0x1616, 0xdead_beef] {
            let m = SlideKASLR.firstModule(seed: seed, loadPA: 0x4020_0000, image: image, size: 0x3_0000, granule: g)
            #expect(m.base % g.pageSize == 0 && m.address % g.pageSize == 0)
            #expect(m.base == SlideKASLR.moduleBase(.fdt, seed: seed, stext: image.stext + m.offset, etext: image.etext + m.offset,
                                                   end: image.end + m.offset, granule: g))
        }
    }
}
