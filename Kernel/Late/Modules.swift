// Modules from the initrd (docs/modules.md): every regular `*.ko` file of a newc cpio initrd is linked by
// SlideCore's ModuleLayout — the code `slide link-module` runs on the host — at the module
// region's base, into pages of the module pool written through the linear map (read-write, never
// executable). Parts and regions are laid out in the kernel's own pages (4, 16 or 64 KiB). The
// pages are then mapped at the module addresses per part: text RX, read-only R, data RW (never
// W+X); instruction caches are synchronized; init_module runs, and the init region is unmapped.
// Branches into the kernel that are out of ±128 MiB go through the module's PLTs.
// Reports, per module:
//   slide: module=NAME base=0x… plts=N init=ok
//   slide: module_NAME=core:0x…+0x…,init:0x…+0x…,plts_core:N,plts_init:N,relocs:N,digest:0x…/0x…
// String literals here stay under 16 bytes or go through SlideCore's `text`: a longer literal
// lives at a 0xffff… address and traps when used (Text.swift).

struct ModuleLoader {
    let info: BootInfo
    let layout: ImageLayout
    let moduleBase: UInt64
    let symbols: KernelSymbolTable
    var tables: PageTableBuilder
    /// Bytes of the pool used so far, and the next free module address.
    var used: UInt64 = 0
    var next: UInt64
    var loaded = 0

    init?(info: BootInfo, layout: ImageLayout, moduleBase: UInt64) {
        guard let symbols = kernelSymbols() else { return nil }
        self.info = info
        self.layout = layout
        self.moduleBase = moduleBase
        self.symbols = symbols
        next = moduleBase
        // Table pages for the module region: the rest of the boot pool, reached through the linear map.
        tables = PageTableBuilder(poolBase: info.tablePool &+ info.tablePages * kernelGranule.pageSize, poolPages: 64 - Int(info.tablePages),
                                  pointerDelta: pageOffset &- info.physOffset, granule: kernelGranule)
    }

    /// The linear-map address of a physical address.
    func linear(_ pa: UInt64) -> UInt64 { pageOffset &+ (pa &- info.physOffset) }

    /// Loads every `.ko` of the initrd at [start, end) (physical).
    mutating func loadAll(initrdStart: UInt64, initrdEnd: UInt64) {
        let bytes = ByteView(start: UnsafeRawPointer(bitPattern: UInt(linear(initrdStart))), count: Int(initrdEnd &- initrdStart))
        guard let archive = try? CPIOArchive(bytes) else { line(.initrd, "not-cpio"); return }
        var members = 0
        var modules: [(name: ByteView, data: ByteView)] = []
        do throws(SlideError) {
            try archive.forEach { m in
                members += 1
                if m.isRegularFile && m.name.hasSuffix(".ko") { modules.append((m.name, m.data)) }
                return true
            }
        } catch {
            line(.initrd, "error:\(error.description)")
            return
        }
        line(.initrd, "cpio:\(members)")
        for (name, data) in modules { load(name: name, data: data) }
        line(.modulesLoaded, String(loaded))
    }

    /// Links, maps and initializes one module; reports what happened.
    mutating func load(name path: ByteView, data: ByteView) {
        let name = moduleName(path)
        func report(_ status: String) { line(.module, "\(name) \(status)") }
        // slide.bench=1: the link in guest instructions, and the link and the whole load in
        // nanoseconds of the generic timer (Shared/Bench.swift).
        let bench = info.bench != 0 ? BenchCounter(rawValue: info.benchCounter) ?? .timer : nil
        let loadStart = readCNTVCT()
        func ns(_ ticks: UInt64) -> UInt64 { ticks &* 1_000_000_000 / max(readCNTFRQ(), 1) }
        do throws(SlideError) {
            let module = try ModuleLayout(try ELFFile(data), granule: kernelGranule)
            let p = try place(module)
            var firstFailure: ModuleLinkFailure? = nil
            let linkStart = readCNTVCT(), counted = bench?.read() ?? 0
            let result = try module.link(core: p.core, initRegion: p.initRegion, bases: p.bases, resolver: symbols) { f in
                if firstFailure == nil { firstFailure = f }
            }
            let linkInstructions = bench.map { $0.elapsed(counted, $0.read()) } ?? 0
            let linkTicks = readCNTVCT() &- linkStart
            if let f = firstFailure {
                report("error=\(try linkFailure(f, module)) section=\(String(try module.sectionName(f.targetSection))) offset=\(hex(f.offset)) type=\(f.type) failures=\(result.failures)")
                return
            }
            let digests = (ImageDigest.compute(p.core.readOnly), ImageDigest.compute(p.initRegion.readOnly))
            try map(module, p)
            used += p.size
            next = p.bases.initial &+ module.regionSize.initial
            loaded += 1
            var relocations = 0
            for t in result.typeCounts { relocations += t.count }
            let detail = "core:\(hex(p.bases.core))+\(hex(module.regionSize.core)),init:\(hex(p.bases.initial))+\(hex(module.regionSize.initial)),"
                + "plts_core:\(result.pltUsed.core),plts_init:\(result.pltUsed.initial),relocs:\(relocations),digest:\(hex(digests.0))/\(hex(digests.1))"
            print("\(BootReportKey.prefix)\(BootReportKey.moduleDetail(name))=\(detail)")
            let plts = result.pltUsed.core + result.pltUsed.initial
            guard let status = try runInit(module, p, name: name) else {
                report("base=\(hex(p.bases.core)) plts=\(plts) init=none")
                return
            }
            report("base=\(hex(p.bases.core)) plts=\(plts) init=\(status == 0 ? "ok" : "fail:\(status)")")
            if let bench {
                print("\(BootReportKey.prefix)\(BootReportKey.moduleBench(name))=link:\(linkInstructions),relocs:\(relocations),counter:\(bench.name.description),"
                      + "link_ns:\(ns(linkTicks)),load_ns:\(ns(readCNTVCT() &- loadStart))")
            }
        } catch {
            report("error=\(error.description)")
        }
    }

    /// Where one module goes: its regions' pages in the pool (physical, and written through the
    /// linear map) and its addresses in the module region.
    struct Placement {
        let corePA: UInt64, initPA: UInt64, size: UInt64
        let bases: PerRegion<UInt64>
        let core: MutableByteView, initRegion: MutableByteView
    }

    /// Takes pool bytes and module addresses for both regions of `module`.
    func place(_ module: ModuleLayout) throws(SlideError) -> Placement {
        let coreSize = module.regionSize.core, initSize = module.regionSize.initial
        guard used + coreSize + initSize <= modulePoolSize else {
            throw .outOfRange("module pool bytes", value: used + coreSize + initSize, low: 0, high: modulePoolSize)
        }
        let corePA = layout.modulePool &- info.kimageVoffset &+ used, initPA = corePA &+ coreSize
        let core0 = ModuleRegion.place(cursor: next, size: coreSize + initSize, imageStart: layout.text, imageEnd: layout.end,
                                      page: kernelGranule.pageSize)
        func view(_ pa: UInt64, _ size: UInt64) -> MutableByteView {
            MutableByteView(UnsafeMutableRawBufferPointer(start: UnsafeMutableRawPointer(bitPattern: UInt(linear(pa))), count: Int(size)))
        }
        return Placement(corePA: corePA, initPA: initPA, size: coreSize + initSize, bases: PerRegion(core: core0, initial: core0 &+ coreSize),
                         core: view(corePA, coreSize), initRegion: view(initPA, initSize))
    }

    /// Maps each region per part: text RX, read-only R, writable RW (never W+X); then the text's
    /// instruction caches and the new descriptors are synchronized.
    mutating func map(_ module: ModuleLayout, _ p: Placement) throws(SlideError) {
        for (r, va, pa) in [(ModuleLayout.Region.core, p.bases.core, p.corePA), (.initial, p.bases.initial, p.initPA)] {
            let ro = module.readOnlyStart[r], rw = module.writableStart[r], size = module.regionSize[r]
            if ro > 0 { try tables.map(root: info.ttbr1, va: va, pa: pa, size: ro, .text) }
            if rw > ro { try tables.map(root: info.ttbr1, va: va &+ ro, pa: pa &+ ro, size: rw - ro, .readOnly) }
            if size > rw { try tables.map(root: info.ttbr1, va: va &+ rw, pa: pa &+ rw, size: size - rw, .readWrite) }
            if ro > 0 { syncCode(linear(pa), ro) }
        }
        syncTables()
    }

    /// Calls init_module and returns its status (nil without one); then, as Linux's do_free_init,
    /// unmaps the init region.
    mutating func runInit(_ module: ModuleLayout, _ p: Placement, name: String) throws(SlideError) -> Int32? {
        guard let initFunction = try module.definedSymbol(named: "init_module", bases: p.bases) else { return nil }
        let status = callInit(initFunction)
        let initSize = module.regionSize.initial
        if initSize > 0 {
            let pages = try tables.unmap(root: info.ttbr1, va: p.bases.initial, size: initSize)
            flushTLB(p.bases.initial, initSize)
            print("\(BootReportKey.prefix)\(BootReportKey.moduleInitFreed(name))=\(pages)")
        }
        return status
    }

    /// Why the link failed, for the report.
    func linkFailure(_ f: ModuleLinkFailure, _ module: ModuleLayout) throws(SlideError) -> String {
        switch f.reason {
        case .undefinedSymbol: text("undefined-symbol:", .string(String(try module.symbolName(f.symbol))))
        case .relocation(let e), .throughPLT(let e): "relocation:\(e.description)"
        default: "relocation"
        }
    }
}

/// The module's name: the file name without directories and ".ko".
func moduleName(_ path: ByteView) -> String {
    var from = 0
    for i in 0..<path.count where (try? path.u8(at: i)) == UInt8(ascii: "/") { from = i + 1 }
    return String(ByteView(start: path.base.map { $0 + from }, count: path.count - from - 3))
}

/// Finds the initrd in /chosen and loads its modules; returns the end of the module addresses used.
func loadModules(info: BootInfo, layout: ImageLayout, moduleBase: UInt64) -> UInt64 {
    guard let fdt = linearFDT(info), let range = try? fdt.initrd(),
          var loader = ModuleLoader(info: info, layout: layout, moduleBase: moduleBase) else {
        line(.initrd, "none")
        return moduleBase
    }
    // Read through the linear map, which covers RAM only.
    guard range.start >= info.ramLow, range.end <= info.ramHigh else {
        line(.initrd, "outside-ram:\(hex(range.start))-\(hex(range.end))")
        return moduleBase
    }
    loader.loadAll(initrdStart: range.start, initrdEnd: range.end)
    return loader.next
}
