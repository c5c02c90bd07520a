// slide_early: the kernel's first Swift, with the MMU off, at the physical load address.
//
// Runs before relocation: no globals that hold pointers, no absolute addresses, no
// allocation, no metadata — only arithmetic on addresses passed in from Asm/head.S and aligned
// plain loads and stores (all memory is Device memory with the MMU off). It reads the seed,
// computes the run-time offset (SlideCore's KASLR model) and builds the translation tables.

/// What slide_early hands back to Asm/head.S (through memory: more than two registers); head.S
/// fills in the last two fields first, from slide_place.
@c(slide_early)
func slideEarly(_ fdtPA: UInt64, _ imagePA: UInt64, _ x1: UInt64, _ x2: UInt64, _ x3: UInt64,
                _ poolPA: UInt64, _ result: UnsafeMutableRawPointer) {
    let out = result.assumingMemoryBound(to: EarlyResult.self)
    let movedFrom = out.pointee.movedFrom, candidates = out.pointee.candidates
    var layout = ImageLayout()
    imageLayout(&layout)
    let info = bootInfo()
    info.pointee.pa = imagePA
    info.pointee.fdt = fdtPA
    info.pointee.x1 = x1; info.pointee.x2 = x2; info.pointee.x3 = x3
    info.pointee.movedFrom = movedFrom
    info.pointee.physCandidates = candidates

    // QEMU hands over a blob with room to grow (totalsize past 2 MiB): read up to 16 MiB, all of it RAM.
    // The seed (SlideKASLR.seedSource): /chosen/kaslr-seed (8 bytes, big-endian, then wiped), else RNDR.
    var args = SlideBootArgs()
    var fdtSeed: UInt64 = 0
    var ramLow = UInt64.max, ramHigh: UInt64 = 0
    if let fdtBase = UnsafeMutableRawPointer(bitPattern: UInt(fdtPA)), let fdt = try? FDT(at: fdtBase, limit: 16 << 20) {
        info.pointee.fdtSize = UInt64(fdt.totalSize)
        args = bootArgs(fdt)
        if args.bench { info.pointee.bench = 1 }
        if let s = try? fdt.property(node: "chosen", name: "kaslr-seed"), s.length == 8 {
            fdtSeed = fdt.cells(s, at: 0, count: 2)
            fdt.zero(s)
            info.pointee.seedWiped = 1
        }
        try? fdt.forEachMemoryRange { base, size in
            guard size > 0 else { return }
            ramLow = min(ramLow, base)
            ramHigh = max(ramHigh, base &+ size)
        }
    }
    var source = SlideKASLR.seedSource(args, fdtSeed: fdtSeed, cpuHasRNDR: (readISAR0() >> 60) & 0xf != 0)
    var seed = source == .fdt ? fdtSeed : 0
    if source == .rndr {
        // RNDR may report no entropy: the boot then stays unrandomized, and says so (seed_source=none).
        var ok: UInt64 = 0
        let value = readRNDR(&ok)
        if ok != 0 { seed = value } else { source = .none }
    }
    info.pointee.seedSource = source.rawValue
    info.pointee.seed = seed
    let offset = SlideKASLR.offset(source, seed: seed, physicalAddress: imagePA)
    if ramLow == UInt64.max { ramLow = imagePA & ~0x3fff_ffff; ramHigh = ramLow + (1 << 30) }
    info.pointee.ramLow = ramLow
    info.pointee.ramHigh = ramHigh
    let physOffset = LinearMap.physOffset(ramLow: ramLow, granule: kernelGranule)
    info.pointee.physOffset = physOffset

    // Translation tables. A failure here leaves the tables empty and the boot stops in head.S.
    var tables = PageTableBuilder(poolBase: poolPA, poolPages: 64, granule: kernelGranule)
    do throws(SlideError) {
        let ttbr0 = try tables.allocateTable()
        let ttbr0Late = try tables.allocateTable()
        let ttbr1 = try tables.allocateTable()
        // Devices below RAM (PL011 at 0x09000000): in the boot and the late identity maps.
        try tables.map(root: ttbr0, va: 0, pa: 0, size: 1 << 30, .device)
        try tables.map(root: ttbr0Late, va: 0, pa: 0, size: 1 << 30, .device)
        // The Swift heap's physical alias (see runtime.c): read-write, never executable.
        try tables.map(root: ttbr0Late, va: layout.heap, pa: layout.heap, size: heapSize, .readWrite)
        // Boot identity map of RAM: head.S and slide_relocate run from it with the MMU on.
        let (ramStart, ramEnd) = LinearMap.range(ramLow: ramLow, ramHigh: ramHigh)
        try tables.map(root: ttbr0, va: ramStart, pa: ramStart, size: ramEnd - ramStart, .bootIdentity)
        // The kernel image at KIMAGE_VADDR + offset, per segment.
        let va = linkBase() &+ offset
        func segment(_ from: UInt64, _ to: UInt64, _ a: MapAttributes) throws(SlideError) {
            guard to > from else { return }
            try tables.map(root: ttbr1, va: va &+ (from - layout.text), pa: imagePA &+ (from - layout.text), size: to - from, a)
        }
        try segment(layout.text, layout.etext, .text)
        try segment(layout.etext, layout.erodata, .readOnly)
        try segment(layout.erodata, layout.end, .readWrite)
        // The linear map: all RAM at PAGE_OFFSET + (PA - PHYS_OFFSET), largest blocks (SlideCore LinearMap).
        try LinearMap.map(&tables, root: ttbr1, ramLow: ramLow, ramHigh: ramHigh, physOffset: physOffset)
        info.pointee.ttbr0Late = ttbr0Late
        info.pointee.ttbr0Boot = ttbr0
        info.pointee.ttbr1 = ttbr1
        info.pointee.tablePages = UInt64(tables.usedPages)
        info.pointee.tablePool = poolPA
        // TCR_EL1: T0SZ = T1SZ = 16 (48-bit), the kernel's granule, inner-shareable WBWA walks, IPS = PARange.
        let parange = min(readMMFR0() & 0xf, 5)
        let g = kernelGranule
        let tcr: UInt64 = 16 | 1 << 8 | 1 << 10 | 3 << 12 | g.tcrTG0 << 14 | 16 << 16 | 1 << 24 | 1 << 26 | 3 << 28 | g.tcrTG1 << 30
            | parange << 32
        out.pointee = EarlyResult(offset: offset, ttbr1: ttbr1, ttbr0: ttbr0, tcr: tcr, movedFrom: movedFrom, candidates: candidates)
    } catch {
        info.pointee.earlyFailure = 1
        out.pointee = EarlyResult()
    }
}

/// slide_place: physical randomization (SlideKASLR.physicalSeed and physicalSlot). Returns the
/// physical address to move the image to, or 0 to stay.
/// The FDT is read, not changed: slide_early wipes the seed after the move.
@c(slide_place)
func slidePlace(_ fdtPA: UInt64, _ imagePA: UInt64, _ imageSize: UInt64, _ candidatesOut: UnsafeMutableRawPointer) -> UInt64 {
    guard let fdtBase = UnsafeMutableRawPointer(bitPattern: UInt(fdtPA)), let fdt = try? FDT(at: fdtBase, limit: 16 << 20),
          let s = try? fdt.property(node: "chosen", name: "kaslr-seed"), s.length == 8 else { return 0 }
    guard let seed = SlideKASLR.physicalSeed(bootArgs(fdt), fdtSeed: fdt.cells(s, at: 0, count: 2)) else { return 0 }
    var placement = PhysicalPlacement(granule: kernelGranule)
    do throws(SlideError) {
        try fdt.forEachMemoryRange { placement.addRAM(base: $0, size: $1) }
        try fdt.forEachReservedRange { placement.exclude(base: $0, size: $1) }
    } catch {
        return 0
    }
    placement.exclude(base: fdtPA, size: UInt64(fdt.totalSize))
    guard let choice = SlideKASLR.physicalSlot(seed: seed, placement: placement, loadPA: imagePA, imageSize: imageSize) else { return 0 }
    candidatesOut.storeBytes(of: choice.candidates, as: UInt64.self)
    return choice.address
}
