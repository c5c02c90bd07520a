// kernel_main's report: one `slide: key=value` line per fact (SlideCore BootReportKey), in the
// order the host's boot tests and the soak read them, grouped as kernel_main prints them:
// where the kernel is, how it was relocated, and what its translation tables map.

/// Prints `slide: KEY=value`.
func line(_ key: BootReportKey, _ value: String) { print("\(BootReportKey.prefix)\(key.name)=\(value)") }

/// What a walk of TTBR1 (and of the late TTBR0) found: the linear map and the kernel's mappings
/// counted apart, the module region's pages per permission, and the W+X leaves.
struct KernelMapCensus {
    let linear: PageTableCensus, kernel: PageTableCensus
    let modulePages: (rx: Int, r: Int, rw: Int)
    /// The whole of TTBR1, and the late TTBR0 (the devices and the heap's alias).
    let all: PageTableCensus, low: PageTableCensus

    init(info: BootInfo, layout: ImageLayout, modules: Range<UInt64>) {
        let toLinear = pageOffset &- info.physOffset
        var linear = PageTableCensus(), kernel = PageTableCensus()
        var modulePages = (rx: 0, r: 0, rw: 0)
        all = PageTableWalker.walk(root: info.ttbr1, vaBase: 0xffff_0000_0000_0000, pointerDelta: toLinear, granule: kernelGranule) { v, _, size, d in
            let writableExecutable = d & Descriptor.readOnly == 0 && d & Descriptor.pxn == 0
            if modules.contains(v) && !(v >= layout.text && v < layout.end) {
                let pages = Int(size / kernelGranule.pageSize)
                if d & Descriptor.pxn == 0 { modulePages.rx += pages } else if d & Descriptor.readOnly != 0 { modulePages.r += pages } else { modulePages.rw += pages }
            }
            if v < 0xffff_8000_0000_0000 {
                linear.mappedBytes += size
                switch size {
                case kernelGranule.blockSize(level: 1): linear.leaves.1 += 1
                case kernelGranule.blockSize(level: 2): linear.leaves.2 += 1
                default: linear.leaves.3 += 1
                }
                if writableExecutable { linear.writableExecutable += 1 }
            } else {
                kernel.mappedBytes += size
                if writableExecutable { kernel.writableExecutable += 1 }
            }
        }
        low = PageTableWalker.walk(root: info.ttbr0Late, vaBase: 0, pointerDelta: toLinear, granule: kernelGranule) { _, _, _, _ in }
        self.linear = linear
        self.kernel = kernel
        self.modulePages = modulePages
    }
}

/// Where the kernel is: its addresses, the seed's source, the physical move, and the FDT (with
/// the reserved ranges physical randomization avoided besides the FDT and the loaded image, read
/// again through the linear map so the host can recompute the choice).
func reportPlacement(_ info: BootInfo, va: UInt64, offset: UInt64, kimageVoffset: UInt64, fdt: FDT?) {
    line(.pa, hex(info.pa))
    line(.va, hex(va))
    line(.offset, hex(offset))
    line(.kimageVoffset, hex(kimageVoffset))
    line(.seedSource, "\(SeedSource(rawValue: info.seedSource)?.name ?? "unknown")")
    line(.physMoved, info.movedFrom != 0 ? "yes" : "no")
    line(.physFrom, hex(info.movedFrom != 0 ? info.movedFrom : info.pa))
    line(.physCandidates, String(info.physCandidates))
    line(.fdt, hex(info.fdt))
    line(.fdtSize, hex(info.fdtSize))
    var reserved: [String] = []
    try? fdt?.forEachReservedRange { base, size in reserved.append("\(hex(base))+\(hex(size))") }
    line(.physReserved, reserved.isEmpty ? "none" : reserved.joined(separator: ","))
}

/// When the EFI stub booted us (EFIStubFacts in /chosen): `loader=efi`, whether EFI_RNG_PROTOCOL
/// gave the seed and the seed, where the firmware loaded the image and the slot the stub chose,
/// the candidates, the census of the firmware's conventional memory and the ranges the rule saw
/// (base+size, as `phys_reserved`), so the host recomputes the slot with SlideKASLR.efiSlot.
func reportEFIStub(_ fdt: FDT?) {
    guard let fdt, let stub = EFIStubFacts(fdt) else { return }
    line(.loader, "efi")
    line(.efiRNG, stub.rng != 0 ? "yes" : "none")
    line(.efiSeed, hex(stub.seed))
    line(.efiLoadedAt, hex(stub.loadedAt))
    line(.efiSlot, hex(stub.slot))
    line(.efiCandidates, String(stub.candidates))
    line(.efiConventional, "ranges:\(stub.conventionalRanges),bytes:\(hex(stub.conventionalBytes)),used:\(stub.rangesUsed)")
    var ranges: [String] = []
    if let p = try? fdt.property(node: "chosen", name: "slide,efi-conventional") {
        for i in stride(from: 0, to: p.length / 4 - 3, by: 4) { ranges.append("\(hex(fdt.cells(p, at: i, count: 2)))+\(hex(fdt.cells(p, at: i + 2, count: 2)))") }
    }
    line(.efiRanges, ranges.isEmpty ? "none" : ranges.joined(separator: ","))
}

/// How slide_relocate did: the entries applied, its time, and with `slide.bench=1` the guest
/// instructions of SlideCore's apply against Linux 6.1's loop over the same tables (Shared/Bench.swift).
func reportRelocation(_ info: BootInfo) {
    line(.relocsRela, String(info.relaApplied))
    line(.relocsRelr, String(info.relrApplied))
    line(.relocCycles, String(info.relocCycles))
    line(.relocVerify, "ok")
    guard info.bench != 0 else { return }
    line(.benchCounter, String((BenchCounter(rawValue: info.benchCounter) ?? .none).name.description))
    line(.benchRela, "slide:\(info.benchRelaSlide),linux:\(info.benchRelaLinux),entries:\(info.benchRelaEntries)")
    line(.benchRelr, "slide:\(info.benchRelrSlide),linux:\(info.benchRelrLinux),words:\(info.benchRelrWords),places:\(info.relrApplied)")
}

/// What the translation tables map (the census), with the boot's other checks on the way: the
/// seed wiped, x1-x3 as booting.rst wants them, SCTLR_EL1.
func reportMaps(_ info: BootInfo, _ census: KernelMapCensus, registers: (x1: UInt64, x2: UInt64, x3: UInt64)) {
    let (x1, x2, x3) = registers
    line(.moduleMap, "rx:\(census.modulePages.rx),r:\(census.modulePages.r),rw:\(census.modulePages.rw)")
    line(.fdtSeedWiped, info.seedWiped != 0 ? "yes" : "no")
    line(.x1X3, x1 | x2 | x3 == 0 ? "zero" : "nonzero:\(hex(x1)),\(hex(x2)),\(hex(x3))")
    line(.physOffset, hex(info.physOffset))
    line(.granule, String(kernelGranule.name.description))
    line(.linearMap, census.linear.summary(granule: kernelGranule))
    line(.kernelMapBytes, hex(census.kernel.mappedBytes))
    line(.contiguous, String(census.all.contiguous))
    line(.tablePages, String(info.tablePages))
    line(.wxViolations, String(census.all.writableExecutable + census.low.writableExecutable))
    line(.sctlr, hex(readSCTLR()))
}
