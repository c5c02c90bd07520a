// kernel_main: the Slide kernel at its randomized virtual address, relocated and verified.
// Drops the boot identity map, loads the initrd's modules (Modules.swift), walks its own
// translation tables and prints the report the host checks (Report.swift), one
// `slide: key=value` per line, starts the other CPUs (Smp.swift), then returns its exit status
// to Asm/head.S.

@_silgen_name("slide_set_heap_alias") func setHeapAlias(_ delta: UInt64)

@c(kernel_main)
func kernelMain(_ fdtPA: UInt64, _ kimageVoffset: UInt64, _ offset: UInt64, _ x1: UInt64, _ x2: UInt64, _ x3: UInt64) -> UInt64 {
    setHeapAlias(kimageVoffset) // before anything allocates (runtime.c)
    bootInfo().pointee.kimageVoffset = kimageVoffset
    let info = bootInfo().pointee
    // From here on nothing runs from the identity map: keep only the devices in TTBR0.
    setTTBR0(info.ttbr0Late)

    // The module region, randomized with the kernel (SlideKASLR.moduleBase): layout read at run-time VAs.
    var layout = ImageLayout()
    imageLayout(&layout)
    let moduleBase = SlideKASLR.moduleBase(SeedSource(rawValue: info.seedSource) ?? .none, seed: info.seed,
                                           stext: layout.stext, etext: layout.etext, end: layout.end, granule: kernelGranule)
    line(.moduleBase, hex(moduleBase))
    let moduleEnd = loadModules(info: info, layout: layout, moduleBase: moduleBase)
    let counter = UnsafePointer<UInt64>(bitPattern: UInt(slideLookupSymbol(("slide_module_counter" as StaticString).utf8Start)))
    line(.moduleCounter, counter.map { String($0.pointee) } ?? "missing")

    let census = KernelMapCensus(info: info, layout: layout, modules: moduleBase..<moduleEnd)
    let fdt = linearFDT(info)
    reportPlacement(info, va: linkBase() &+ offset, offset: offset, kimageVoffset: kimageVoffset, fdt: fdt)
    reportEFIStub(fdt)
    reportRelocation(info)
    reportMaps(info, census, registers: (x1, x2, x3))
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
