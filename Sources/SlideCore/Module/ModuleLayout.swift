// Linking an ET_REL kernel module at a chosen address, as the arm64 module loader does (docs/modules.md).
//
// Runs on the host (`slide link-module`) and inside the Slide kernel (modules from the initrd):
// no Foundation, no hashing collections, typed throws. Two steps, so the kernel can find memory
// between them:
//   1. `ModuleLayout(elf, granule:)` sizes everything: allocated sections go into a core and an init
//      region (names starting ".init"), each region executable → read-only → writable with the three
//      parts aligned to the kernel's page and each region's size rounded up to it (so the kernel can
//      map them RX / R / RW with its own pages, as Linux's layout_sections does with PAGE_SIZE),
//      common symbols at the end of the core;
//      PLT slots are counted before they are reserved (distinct symbol+addend per region, sorted).
//   2. `link` copies the sections into the caller's buffers, resolves symbols (defined, section,
//      absolute, common, undefined through a resolver, weak undefined = 0) and applies every
//      SHT_RELA section that targets an allocated section with SlideCore's static relocations;
//      a CALL26/JUMP26 that cannot reach goes through a 12-byte PLT veneer of its region, emitted
//      only then and shared by every branch to the same symbol+addend.

/// Resolves a module's undefined symbols: the kernel's symbol table, a System.map, synthetic addresses.
public protocol ModuleSymbolResolver {
    /// The address of `name` (its bytes, no NUL), or nil when it is unknown.
    func address(of name: ByteView) -> UInt64?
}

/// One relocation that could not be applied.
public struct ModuleLinkFailure: Error, Equatable {
    public enum Reason: Equatable, Sendable {
        case undefinedSymbol, unsupportedType, placeOutsideSection, pltExhausted, noPLT, veneerOutOfReach
        case relocation(RelocationError)
        case throughPLT(RelocationError)
    }
    public var reason: Reason
    /// The SHT_RELA section, the entry in it, the section it applies to.
    public var relaSection: Int, entry: Int, targetSection: Int
    /// r_offset, the type and the symbol index of the entry.
    public var offset: UInt64, type: RelocationType, symbol: Int
}

/// A PLT key: the branch target as symbol + addend (Linux `count_plts` sorts and deduplicates these).
struct PLTKey: Comparable {
    var symbol: UInt32, addend: Int64
    static func < (a: PLTKey, b: PLTKey) -> Bool { a.symbol != b.symbol ? a.symbol < b.symbol : a.addend < b.addend }
}

/// One value per module region.
public struct PerRegion<Value> {
    public var core: Value, initial: Value
    public init(core: Value, initial: Value) { self.core = core; self.initial = initial }
    public init(repeating v: Value) { core = v; initial = v }
    public subscript(r: ModuleLayout.Region) -> Value {
        get { r == .core ? core : initial }
        set { if r == .core { core = newValue } else { initial = newValue } }
    }
}

public struct ModuleLayout {
    /// Where a loaded section goes: the core stays, the init region (sections named `.init*`) is
    /// freed once `init_module` has run.
    public enum Region: Sendable { case core, initial }
    public static let regions: [Region] = [.core, .initial]
    /// The part of its region a section goes to, in layout order; each part starts on a page, so
    /// it can be mapped RX, R or RW.
    enum Part: Sendable { case executable, readOnly, writable }
    /// Erratum 843419 is about an ADRP's place within a 4 KiB page, whatever the kernel's granule
    /// (Linux's module-plts.c compares with SZ_4K, not PAGE_SIZE).
    public static let erratumPage: UInt64 = 4096
    public static let maximumSize: UInt64 = 128 << 20

    public let elf: ELFFile
    /// The kernel's translation granule: parts start on, and regions are sized in, its pages
    /// (4 KiB unless the caller says, as Linux's arm64 default).
    public let granule: Granule
    public var page: UInt64 { granule.pageSize }
    public let fixCortexA53843419: Bool
    /// The symbol table section and its number of entries.
    public let symtab: Int, symbolCount: Int
    /// The section headers, the symbol table's entries and its string table.
    public let sections: [SectionHeader]
    let symbolBytes: ByteView, symbolStrings: ByteView
    /// Per section: its region (nil: not loaded), offset in the region, size there.
    public private(set) var region: [Region?]
    public private(set) var offset: [UInt64]
    public private(set) var size: [UInt64]
    /// Per region: where the read-only part starts, where the writable part starts, the total size
    /// (all multiples of the granule's page).
    public private(set) var readOnlyStart = PerRegion<UInt64>(repeating: 0), writableStart = PerRegion<UInt64>(repeating: 0)
    public private(set) var regionSize = PerRegion<UInt64>(repeating: 0)
    /// Per region: the `.plt` / `.init.plt` section (nil: none) and the slots reserved in it.
    public private(set) var pltSection = PerRegion<Int?>(repeating: nil), pltReserved = PerRegion(repeating: 0)
    /// The SHT_RELA sections that apply to loaded sections: (relocation section, target section).
    public private(set) var relocationSections: [(rela: Int, target: Int)] = []
    /// Common symbols and their core offsets, in symbol order.
    var commons: [(symbol: Int, offset: UInt64)] = []
    /// Per region: the sorted distinct branch targets that may need a PLT slot.
    var pltKeys = PerRegion<[PLTKey]>(repeating: [])

    public init(_ elf: ELFFile, granule: Granule = .k4, fixCortexA53843419: Bool = false) throws(SlideError) {
        self.elf = elf
        self.granule = granule
        self.fixCortexA53843419 = fixCortexA53843419
        guard elf.header.type == .rel else { throw .invalid("ELF type (a module is ET_REL)", value: UInt64(elf.header.type.rawValue)) }
        guard elf.header.machine == ELFMachine.aarch64 else { throw .unsupported("ELF machine (only EM_AARCH64)", value: UInt64(elf.header.machine)) }
        let n = elf.sectionCount
        var symtab = -1
        var sections: [SectionHeader] = []
        for i in 0..<n {
            sections.append(try elf.section(i))
            if sections[i].type == .symtab { symtab = i }
        }
        guard symtab >= 0 else { throw .invalid("module without SHT_SYMTAB; sections", value: UInt64(n)) }
        self.sections = sections
        self.symtab = symtab
        symbolCount = try elf.entryCount(of: sections[symtab], entrySize: Symbol.size, "SYMTAB sh_entsize")
        symbolBytes = try elf.contents(of: sections[symtab])
        symbolStrings = try elf.contents(of: try elf.section(Int(sections[symtab].link)))
        region = [Region?](repeating: nil, count: n)
        offset = [UInt64](repeating: 0, count: n)
        size = [UInt64](repeating: 0, count: n)

        var sizing = try assignRegions()
        try findRelocationSections()
        try reservePLTSlots(&sizing)
        var end = try placeSections(sizing)
        try placeCommons(end: &end.core)
        for r in Self.regions { regionSize[r] = Self.align(end[r], page) }
        // No module can be larger than the module area (MODULES_VSIZE, 128 MiB): a hostile size allocates nothing.
        guard regionSize.core + regionSize.initial <= Self.maximumSize else {
            throw .outOfRange("module size", value: regionSize.core + regionSize.initial, low: 0, high: Self.maximumSize)
        }
    }

    /// Per section, what placing it needs besides its size: its alignment and its part.
    struct Sizing {
        var alignment: [UInt64]
        var part: [Part]
    }

    /// Each SHF_ALLOC section's region (`.init*` sections go to the initial one), size, alignment
    /// and part; the PLT placeholders are found here.
    private mutating func assignRegions() throws(SlideError) -> Sizing {
        let n = sections.count
        var sizing = Sizing(alignment: [UInt64](repeating: 1, count: n), part: [Part](repeating: .readOnly, count: n))
        for i in 0..<n {
            let s = sections[i]
            guard s.flags.contains(.alloc) else { continue }
            let name = try sectionName(i)
            region[i] = name.hasPrefix(".init") ? .initial : .core
            size[i] = s.size
            sizing.alignment[i] = max(s.addressAlignment, name.hasSuffix("plt") ? 64 : 1)
            sizing.part[i] = s.flags.contains(.execinstr) ? .executable : s.flags.contains(.write) ? .writable : .readOnly
            // The PLT placeholders are executable whatever their flags (module.lds makes them "a"; Linux's
            // module_frob_arch_sections sets SHF_EXECINSTR).
            if name.equals(".plt") { pltSection.core = i; sizing.part[i] = .executable }
            if name.equals(".init.plt") { pltSection.initial = i; sizing.part[i] = .executable }
            if name.equals(".text.ftrace_trampoline") { size[i] = 2 * UInt64(PLTEntry.size) }
        }
        return sizing
    }

    /// The SHT_RELA sections whose target section is loaded.
    private mutating func findRelocationSections() throws(SlideError) {
        for i in sections.indices {
            let s = sections[i]
            guard s.type == .rela else { continue }
            let target = Int(s.info)
            guard target > 0, target < sections.count, region[target] != nil else { continue }
            _ = try elf.entryCount(of: s, entrySize: RelaEntry.size, "RELA sh_entsize")
            relocationSections.append((i, target))
        }
    }

    /// Sizes each region's PLT before the layout: distinct (symbol, addend) branch targets outside
    /// the branch's own section. Erratum 843419: an ADRP whose place could land at 0xff8/0xffc gets
    /// its section aligned so it cannot, or (when that would take more than 4 KiB) a veneer slot
    /// (docs/modules.md).
    private mutating func reservePLTSlots(_ sizing: inout Sizing) throws(SlideError) {
        var veneers = PerRegion(repeating: 0)
        for (rela, target) in relocationSections {
            guard sections[target].flags.contains(.execinstr), let r = region[target] else { continue }
            let table = try relaTable(rela)
            for k in 0..<table.count {
                let e = table[k]
                if StaticRelocation.isBranch26(e.type), Int(e.symbol) < symbolCount {
                    if Int(try symbol(Int(e.symbol)).sectionIndex) != target { pltKeys[r].append(PLTKey(symbol: e.symbol, addend: e.addend)) }
                }
                if fixCortexA53843419 && (e.type == .adrPrelPgHi21 || e.type == .adrPrelPgHi21Nc) {
                    let minAlign: UInt64 = 2 << UInt64((~(e.offset | 7)).trailingZeroBitCount)
                    if minAlign > Self.erratumPage { veneers[r] += 1 } else { sizing.alignment[target] = max(sizing.alignment[target], minAlign) }
                }
            }
        }
        for r in Self.regions {
            pltKeys[r].sort()
            var unique: [PLTKey] = []
            for key in pltKeys[r] where unique.last != key { unique.append(key) }
            pltKeys[r] = unique
            // With the erratum fix a slot may be skipped per page of PLT (an entry's own ADRP at 0xff8/0xffc).
            let n = unique.count + veneers[r]
            pltReserved[r] = fixCortexA53843419 ? n + (n + 340) / 341 : n
            if let plt = pltSection[r] { size[plt] = UInt64(pltReserved[r] + 1) * UInt64(PLTEntry.size) }
        }
    }

    /// Per region, executable sections, then read-only, then writable, each part on a page of the granule.
    /// Returns each region's end.
    private mutating func placeSections(_ sizing: Sizing) throws(SlideError) -> PerRegion<UInt64> {
        var end = PerRegion<UInt64>(repeating: 0)
        for p in [Part.executable, .readOnly, .writable] {
            for r in Self.regions {
                end[r] = Self.align(end[r], page)
                if p == .readOnly { readOnlyStart[r] = end[r] }
                if p == .writable { writableStart[r] = end[r] }
            }
            for i in sections.indices where sizing.part[i] == p {
                guard let r = region[i] else { continue }
                let a = sizing.alignment[i]
                guard a.nonzeroBitCount == 1, a <= 1 << 20 else { throw .invalid("sh_addralign", value: a) }
                guard size[i] <= 1 << 30 else { throw .outOfRange("section size", value: size[i], low: 0, high: 1 << 30) }
                offset[i] = Self.align(end[r], a)
                end[r] = offset[i] + size[i]
            }
        }
        return end
    }

    /// Common symbols: at the end of the core's writable part.
    private mutating func placeCommons(end: inout UInt64) throws(SlideError) {
        for j in 0..<symbolCount {
            let sym = try symbol(j)
            guard sym.sectionIndex == SectionIndex.common else { continue }
            let a = max(sym.value, 1)
            guard a.nonzeroBitCount == 1, a <= 1 << 20 else { throw .invalid("common symbol alignment", value: a) }
            guard sym.size <= 1 << 30 else { throw .outOfRange("common symbol size", value: sym.size, low: 0, high: 1 << 30) }
            let at = Self.align(end, a)
            commons.append((j, at))
            end = at + sym.size
        }
    }
}
