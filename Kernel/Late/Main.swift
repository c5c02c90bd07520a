// kernel_main: the Slide kernel at its randomized virtual address, relocated and verified.
// Drops the boot identity map, walks its own translation tables and prints the report the
// host checks, one `slide: key=value` per line, then returns its exit status to Asm/head.S.

@_silgen_name("slide_set_heap_alias") func setHeapAlias(_ delta: UInt64)

func line(_ key: BootReportKey, _ value: String) { print("\(BootReportKey.prefix)\(key.name)=\(value)") }

@c(kernel_main)
func kernelMain(_ fdtPA: UInt64, _ kimageVoffset: UInt64, _ offset: UInt64, _ x1: UInt64, _ x2: UInt64, _ x3: UInt64) -> UInt64 {
    setHeapAlias(kimageVoffset) // before anything allocates (runtime.c)
    bootInfo().pointee.kimageVoffset = kimageVoffset
    let info = bootInfo().pointee
    let va = linkBase() &+ offset
    // From here on nothing runs from the identity map: keep only the devices in TTBR0.
    setTTBR0(info.ttbr0Late)

    // The module region, randomized with the kernel (SlideKASLR.moduleBase): layout read at run-time VAs.
    var layout = ImageLayout()
    imageLayout(&layout)
    let moduleBase = SlideKASLR.moduleBase(SeedSource(rawValue: info.seedSource) ?? .none, seed: info.seed,
                                           stext: layout.stext, etext: layout.etext, end: layout.end)
    line(.moduleBase, hex(moduleBase))
    let moduleEnd = loadModules(info: info, layout: layout, moduleBase: moduleBase)
    let counter = UnsafePointer<UInt64>(bitPattern: UInt(slideLookupSymbol(("slide_module_counter" as StaticString).utf8Start)))
    line(.moduleCounter, counter.map { String($0.pointee) } ?? "missing")

    let toLinear = pageOffset &- info.physOffset
    var linear = PageTableCensus(), kernel = PageTableCensus()
    var modulePages = (rx: 0, r: 0, rw: 0)
    let census = PageTableWalker.walk(root: info.ttbr1, vaBase: 0xffff_0000_0000_0000, pointerDelta: toLinear, granule: kernelGranule) { v, _, size, d in
        let writableExecutable = d & Descriptor.readOnly == 0 && d & Descriptor.pxn == 0
        if v >= moduleBase && v < moduleEnd && !(v >= layout.text && v < layout.end) {
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
    let low = PageTableWalker.walk(root: info.ttbr0Late, vaBase: 0, pointerDelta: toLinear, granule: kernelGranule) { _, _, _, _ in }

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
    // The reserved ranges physical randomization avoided (besides the FDT and the loaded image),
    // read again through the linear map so the host can recompute the choice.
    let fdt = linearFDT(info)
    var reserved: [String] = []
    try? fdt?.forEachReservedRange { base, size in reserved.append("\(hex(base))+\(hex(size))") }
    line(.physReserved, reserved.isEmpty ? "none" : reserved.joined(separator: ","))
    line(.relocsRela, String(info.relaApplied))
    line(.relocsRelr, String(info.relrApplied))
    line(.relocCycles, String(info.relocCycles))
    line(.relocVerify, "ok")
    if info.bench != 0 {
        // Guest instructions (Bench.swift): SlideCore's apply against Linux 6.1's loop, same tables.
        line(.benchCounter, String((BenchCounter(rawValue: info.benchCounter) ?? .none).name.description))
        line(.benchRela, "slide:\(info.benchRelaSlide),linux:\(info.benchRelaLinux),entries:\(info.benchRelaEntries)")
        line(.benchRelr, "slide:\(info.benchRelrSlide),linux:\(info.benchRelrLinux),words:\(info.benchRelrWords),places:\(info.relrApplied)")
    }
    line(.moduleMap, "rx:\(modulePages.rx),r:\(modulePages.r),rw:\(modulePages.rw)")
    line(.fdtSeedWiped, info.seedWiped != 0 ? "yes" : "no")
    line(.x1X3, x1 | x2 | x3 == 0 ? "zero" : "nonzero:\(hex(x1)),\(hex(x2)),\(hex(x3))")
    line(.physOffset, hex(info.physOffset))
    line(.granule, String(kernelGranule.name.description))
    line(.linearMap, linear.summary(granule: kernelGranule))
    line(.kernelMapBytes, hex(kernel.mappedBytes))
    line(.contiguous, String(census.contiguous))
    line(.tablePages, String(info.tablePages))
    line(.wxViolations, String(census.writableExecutable + low.writableExecutable))
    line(.sctlr, hex(readSCTLR()))
    extableSelfTest(layout)
    if let fdt {
        let smp = startSecondaries(info: bootInfo().pointee, fdt: fdt)
        line(.cpusListed, String(smp.listed))
        line(.cpusOnline, String(smp.online))
        if !smp.errors.isEmpty { line(.cpusErrors, smp.errors.joined(separator: ",")) }
        if bootArgs(fdt).crash { crashSelfTest() }
    }
    print(BootReportKey.done)
    return 0
}

/// The guarded read through __ex_table: an unmapped address (512 GiB into the linear map, past
/// any RAM), a non-canonical one (neither TTBR0's nor TTBR1's range: a level 0 translation fault)
/// and a valid one (the image's first word, read directly too). The table's entries are not
/// relocation places: it is position independent.
func extableSelfTest(_ layout: ImageLayout) {
    var bounds: (UInt64, UInt64, UInt64) = (0, 0, 0)
    extableBounds(&bounds)
    line(.extableEntries, String((bounds.1 - bounds.0) / UInt64(ExceptionEntry.size)))
    let before = bootInfo().pointee.extableFixups
    var value: UInt64 = 0xdead
    let unmapped = readNoFault(pageOffset &+ (1 << 39), &value) == -14 && value == 0
    value = 0xdead
    let noncanonical = readNoFault(0x8000_0000_0000_0000, &value) == -14 && value == 0
    let direct = UnsafePointer<UInt64>(bitPattern: UInt(layout.text))!.pointee
    value = 0
    let valid = readNoFault(layout.text, &value) == 0 && value == direct
    let fixups = bootInfo().pointee.extableFixups - before
    var failed: [String] = []
    if !unmapped { failed.append("unmapped") }
    if !noncanonical { failed.append("noncanonical") }
    if !valid { failed.append("valid") }
    if fixups != 2 { failed.append("fixups:\(fixups)") }
    line(.extableTest, failed.isEmpty ? "ok" : "fail:" + failed.joined(separator: ","))
    line(.extableFixups, String(fixups))
}

/// `slide.crash=1`: an unguarded read of an unmapped address, so the boot test sees the crash
/// report name this function (no __ex_table entry covers it).
@inline(never)
func crashSelfTest() {
    line(.crashTest, "reading " + hex(pageOffset &+ (1 << 39)))
    let p = UnsafePointer<UInt64>(bitPattern: UInt(pageOffset &+ (1 << 39)))!
    line(.crashTest, "survived " + hex(p.pointee))
}

/// The FDT through the linear map (all RAM is mapped there once kernel_main runs).
func linearFDT(_ info: BootInfo) -> FDT? {
    guard let va = UnsafeMutableRawPointer(bitPattern: UInt(pageOffset &+ (info.fdt &- info.physOffset))) else { return nil }
    return try? FDT(at: va, limit: Int(info.fdtSize))
}
