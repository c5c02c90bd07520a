// Linking an ET_REL kernel module at a chosen address, as the arm64 module loader does (docs/modules.md).
//
// Runs on the host (`slide link-module`) and inside the Slide kernel (modules from the initrd):
// no Foundation, no hashing collections, typed throws. Two steps, so the kernel can find memory
// between them:
//   1. `ModuleLayout(elf)` sizes everything: allocated sections go into a core and an init region
//      (names starting ".init"), each region executable → read-only → writable with the three parts
//      page-aligned (so the kernel can map them RX / R / RW), common symbols at the end of the core;
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

public struct ModuleLayout {
    public static let core = 0, initial = 1
    static let page: UInt64 = 4096
    public static let maximumSize: UInt64 = 128 << 20

    public let elf: ELFFile
    public let fixCortexA53843419: Bool
    /// The symbol table section and its number of entries.
    public let symtab: Int, symbolCount: Int
    /// The section headers, the symbol table's entries and its string table.
    public let sections: [SectionHeader]
    let symbolBytes: ByteView, symbolStrings: ByteView
    /// Per section: its region (`core`, `initial`, or -1 = not loaded), offset in the region, size there.
    public private(set) var region: [Int]
    public private(set) var offset: [UInt64]
    public private(set) var size: [UInt64]
    /// Per region: where the read-only part starts, where the writable part starts, the total size
    /// (all multiples of 4 KiB).
    public private(set) var readOnlyStart: [UInt64] = [0, 0], writableStart: [UInt64] = [0, 0], regionSize: [UInt64] = [0, 0]
    /// Per region: the `.plt` / `.init.plt` section (-1 = none) and the slots reserved in it.
    public private(set) var pltSection: [Int] = [-1, -1], pltReserved: [Int] = [0, 0]
    /// The SHT_RELA sections that apply to loaded sections: (relocation section, target section).
    public private(set) var relocationSections: [(rela: Int, target: Int)] = []
    /// Common symbols and their core offsets, in symbol order.
    private var commons: [(symbol: Int, offset: UInt64)] = []
    /// Per region: the sorted distinct branch targets that may need a PLT slot.
    private var pltKeys: [[PLTKey]] = [[], []]

    public init(_ elf: ELFFile, fixCortexA53843419: Bool = false) throws(SlideError) {
        self.elf = elf
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
        region = [Int](repeating: -1, count: n)
        offset = [UInt64](repeating: 0, count: n)
        size = [UInt64](repeating: 0, count: n)

        var alignment = [UInt64](repeating: 1, count: n)
        // The part of its region each section goes to: 0 executable, 1 read-only, 2 writable.
        var kind = [Int](repeating: 1, count: n)
        for i in 0..<n {
            let s = sections[i]
            guard s.flags.contains(.alloc) else { continue }
            let name = try sectionName(i)
            region[i] = name.hasPrefix(".init") ? Self.initial : Self.core
            size[i] = s.size
            alignment[i] = max(s.addressAlignment, name.hasSuffix("plt") ? 64 : 1)
            kind[i] = s.flags.contains(.execinstr) ? 0 : s.flags.contains(.write) ? 2 : 1
            // The PLT placeholders are executable whatever their flags (module.lds makes them "a"; Linux's
            // module_frob_arch_sections sets SHF_EXECINSTR).
            if name.equals(".plt") { pltSection[Self.core] = i; kind[i] = 0 }
            if name.equals(".init.plt") { pltSection[Self.initial] = i; kind[i] = 0 }
            if name.equals(".text.ftrace_trampoline") { size[i] = 2 * UInt64(PLTEntry.size) }
        }
        for i in 0..<n {
            let s = sections[i]
            guard s.type == .rela else { continue }
            let target = Int(s.info)
            guard target > 0, target < n, region[target] >= 0 else { continue }
            _ = try elf.entryCount(of: s, entrySize: RelaEntry.size, "RELA sh_entsize")
            relocationSections.append((i, target))
        }

        // Size first: distinct (symbol, addend) branch targets outside the branch's own section, per region.
        // Erratum 843419: an ADRP whose place could land at 0xff8/0xffc gets its section aligned so it
        // cannot, or (when that would take more than a page) a veneer slot (docs/modules.md).
        var veneers = [0, 0]
        for (rela, target) in relocationSections {
            guard sections[target].flags.contains(.execinstr) else { continue }
            let table = try relaTable(rela)
            let r = region[target]
            for k in 0..<table.count {
                let e = table[k]
                if StaticRelocation.isBranch26(e.type), Int(e.symbol) < symbolCount {
                    if Int(try symbol(Int(e.symbol)).sectionIndex) != target { pltKeys[r].append(PLTKey(symbol: e.symbol, addend: e.addend)) }
                }
                if fixCortexA53843419 && (e.type == .adrPrelPgHi21 || e.type == .adrPrelPgHi21Nc) {
                    let minAlign: UInt64 = 2 << UInt64((~(e.offset | 7)).trailingZeroBitCount)
                    if minAlign > Self.page { veneers[r] += 1 } else { alignment[target] = max(alignment[target], minAlign) }
                }
            }
        }
        for r in 0..<2 {
            pltKeys[r].sort()
            var unique: [PLTKey] = []
            for key in pltKeys[r] where unique.last != key { unique.append(key) }
            pltKeys[r] = unique
            // With the erratum fix a slot may be skipped per page of PLT (an entry's own ADRP at 0xff8/0xffc).
            let n = unique.count + veneers[r]
            pltReserved[r] = fixCortexA53843419 ? n + (n + 340) / 341 : n
            if pltSection[r] >= 0 { size[pltSection[r]] = UInt64(pltReserved[r] + 1) * UInt64(PLTEntry.size) }
        }

        // Layout: per region, executable sections, then read-only, then writable, the parts page-aligned.
        var end: [UInt64] = [0, 0]
        for part in 0..<3 {
            for r in 0..<2 {
                end[r] = Self.align(end[r], Self.page)
                if part == 1 { readOnlyStart[r] = end[r] }
                if part == 2 { writableStart[r] = end[r] }
            }
            for i in 0..<n where region[i] >= 0 && kind[i] == part {
                let a = alignment[i]
                guard a.nonzeroBitCount == 1, a <= 1 << 20 else { throw .invalid("sh_addralign", value: a) }
                guard size[i] <= 1 << 30 else { throw .outOfRange("section size", value: size[i], low: 0, high: 1 << 30) }
                let r = region[i]
                offset[i] = Self.align(end[r], a)
                end[r] = offset[i] + size[i]
            }
        }
        // Common symbols: at the end of the core's writable part.
        for j in 0..<symbolCount {
            let sym = try symbol(j)
            guard sym.sectionIndex == SectionIndex.common else { continue }
            let a = max(sym.value, 1)
            guard a.nonzeroBitCount == 1, a <= 1 << 20 else { throw .invalid("common symbol alignment", value: a) }
            guard sym.size <= 1 << 30 else { throw .outOfRange("common symbol size", value: sym.size, low: 0, high: 1 << 30) }
            let at = Self.align(end[Self.core], a)
            commons.append((j, at))
            end[Self.core] = at + sym.size
        }
        for r in 0..<2 { regionSize[r] = Self.align(end[r], Self.page) }
        // No module can be larger than the module area (MODULES_VSIZE, 128 MiB): a hostile size allocates nothing.
        guard regionSize[0] + regionSize[1] <= Self.maximumSize else {
            throw .outOfRange("module size", value: regionSize[0] + regionSize[1], low: 0, high: Self.maximumSize)
        }
    }

    static func align(_ v: UInt64, _ a: UInt64) -> UInt64 { (v + a - 1) & ~(a - 1) }

    public func sectionName(_ i: Int) throws(SlideError) -> ByteView {
        guard i >= 0, i < sections.count else {
            throw .outOfRange("section index", value: UInt64(truncatingIfNeeded: i), low: 0, high: UInt64(max(sections.count, 1) - 1))
        }
        return elf.sectionNameTableIndex == 0 ? ByteView(start: nil, count: 0)
            : try elf.stringBytes(inTable: elf.sectionNameTableIndex, at: sections[i].nameOffset)
    }

    public func symbol(_ j: Int) throws(SlideError) -> Symbol { try Symbol(from: symbolBytes, at: j * Symbol.size) }

    public func symbolName(_ j: Int) throws(SlideError) -> ByteView { try symbolStrings.cString(at: Int(try symbol(j).nameOffset)) }

    public func relaTable(_ rela: Int) throws(SlideError) -> RelaTable {
        let s = sections[rela]
        return try RelaTable(try elf.contents(of: s).slice(offset: 0, size: UInt64(s.fileSize / UInt64(RelaEntry.size)) * UInt64(RelaEntry.size)))
    }

    /// The address of section `i` when the regions start at `bases` (nil for sections not loaded).
    public func address(ofSection i: Int, bases: (core: UInt64, initial: UInt64)) -> UInt64? {
        guard i >= 0, i < region.count, region[i] >= 0 else { return nil }
        return (region[i] == Self.core ? bases.core : bases.initial) &+ offset[i]
    }

    /// The value of symbol `j`; undefined symbols through `resolver` (weak ones default to 0).
    public func value<R: ModuleSymbolResolver>(ofSymbol j: Int, bases: (core: UInt64, initial: UInt64), resolver: R) throws(SlideError) -> UInt64? {
        let sym = try symbol(j)
        switch sym.sectionIndex {
        case SectionIndex.undefined:
            if sym.nameOffset == 0 { return 0 }
            if let v = resolver.address(of: try symbolName(j)) { return v }
            return sym.binding == SymbolBinding.weak.rawValue ? 0 : nil
        case SectionIndex.absolute: return sym.value
        case SectionIndex.common:
            var lo = 0, hi = commons.count
            while lo < hi { let mid = (lo + hi) / 2; if commons[mid].symbol < j { lo = mid + 1 } else { hi = mid } }
            return lo < commons.count && commons[lo].symbol == j ? bases.core &+ commons[lo].offset : nil
        default:
            guard let a = address(ofSection: Int(sym.sectionIndex), bases: bases) else { return sym.value }
            return a &+ sym.value
        }
    }

    /// The address of the defined symbol called `name` (the kernel looks up `init_module`).
    public func definedSymbol(named name: StaticString, bases: (core: UInt64, initial: UInt64)) throws(SlideError) -> UInt64? {
        for j in 1..<max(symbolCount, 1) {
            let sym = try symbol(j)
            guard sym.sectionIndex != SectionIndex.undefined, sym.sectionIndex < SectionIndex.lowReserve, try symbolName(j).equals(name) else { continue }
            return address(ofSection: Int(sym.sectionIndex), bases: bases).map { $0 &+ sym.value }
        }
        return nil
    }

    func pltKeyIndex(_ key: PLTKey, region r: Int) -> Int? {
        let keys = pltKeys[r]
        var lo = 0, hi = keys.count
        while lo < hi { let mid = (lo + hi) / 2; if keys[mid] < key { lo = mid + 1 } else { hi = mid } }
        return lo < keys.count && keys[lo] == key ? lo : nil
    }
}

/// What `link` did.
public struct ModuleLinkResult {
    /// Relocations applied or attempted, by type, in first-seen order.
    public var typeCounts: [(type: RelocationType, count: Int)] = []
    /// PLT slots used per region (veneers for erratum 843419 included).
    public var pltUsed: [Int] = [0, 0]
    public var failures = 0

    mutating func count(_ t: RelocationType) {
        for i in typeCounts.indices where typeCounts[i].type == t { typeCounts[i].count += 1; return }
        typeCounts.append((t, 1))
    }
}

extension ModuleLayout {
    /// Copies the module into `core` and `initRegion` (at least `regionSize` bytes each; they are
    /// zeroed first) and links it for `bases`. Each relocation that fails is passed to `failed`, and
    /// linking goes on, so a report can list them all; the kernel stops at the first.
    public func link<R: ModuleSymbolResolver>(core: MutableByteView, initRegion: MutableByteView, bases: (core: UInt64, initial: UInt64),
                                              resolver: R, failed: (ModuleLinkFailure) -> Void) throws(SlideError) -> ModuleLinkResult {
        let buffers = [core, initRegion]
        for r in 0..<2 {
            guard UInt64(buffers[r].count) >= regionSize[r] else {
                throw .truncated("module region buffer", offset: 0, size: regionSize[r], available: UInt64(buffers[r].count))
            }
            if let b = buffers[r].base { b.initializeMemory(as: UInt8.self, repeating: 0, count: buffers[r].count) }
        }
        for i in 0..<region.count where region[i] >= 0 && i != pltSection[0] && i != pltSection[1] {
            let s = sections[i]
            guard s.type != .nobits, !(try sectionName(i)).equals(".text.ftrace_trampoline") else { continue }
            let data = try elf.contents(of: s)
            guard data.count > 0, let src = data.base else { continue }
            buffers[region[i]].base!.advanced(by: Int(offset[i])).copyMemory(from: src, byteCount: data.count)
        }

        var result = ModuleLinkResult()
        var slotOfKey: [[Int32]] = [[Int32](repeating: -1, count: pltKeys[0].count), [Int32](repeating: -1, count: pltKeys[1].count)]
        var nextSlot = [0, 0]
        let regionBase = [bases.core, bases.initial]

        /// The next free PLT slot of region r; with the erratum fix, never one whose ADRP sits at 0xff8/0xffc.
        func takeSlot(_ r: Int) -> Int? {
            let plt = regionBase[r] &+ offset[pltSection[r]]
            while fixCortexA53843419 && (plt &+ UInt64(nextSlot[r] * PLTEntry.size)) & 0xfff >= 0xff8 { nextSlot[r] += 1 }
            guard nextSlot[r] <= pltReserved[r] else { return nil }
            nextSlot[r] += 1
            return nextSlot[r] - 1
        }

        for (rela, target) in relocationSections {
            let table = try relaTable(rela)
            let r = region[target]
            guard sections[target].type != .nobits else { continue }
            let sectionView = MutableByteView(UnsafeMutableRawBufferPointer(start: buffers[r].base! + Int(offset[target]), count: Int(size[target])))
            let sectionAddress = regionBase[r] &+ offset[target]
            for k in 0..<table.count {
                let e = table[k]
                result.count(e.type)
                let p = sectionAddress &+ e.offset
                func fail(_ reason: ModuleLinkFailure.Reason) {
                    result.failures += 1
                    failed(ModuleLinkFailure(reason: reason, relaSection: rela, entry: k, targetSection: target,
                                             offset: e.offset, type: e.type, symbol: Int(e.symbol)))
                }
                guard Int(e.symbol) < symbolCount, let s = try value(ofSymbol: Int(e.symbol), bases: bases, resolver: resolver) else {
                    fail(.undefinedSymbol); continue
                }
                guard e.offset < UInt64(sectionView.count) else { fail(.placeOutsideSection); continue }
                let at = Int(e.offset)

                if fixCortexA53843419, e.type == .adrPrelPgHi21 || e.type == .adrPrelPgHi21Nc, p & 0xfff >= 0xff8 {
                    let page = (s &+ UInt64(bitPattern: e.addend)) & ~0xfff
                    guard let word = try? sectionView.readOnly.u32(at: at) else { fail(.placeOutsideSection); continue }
                    let delta = Int64(bitPattern: page &- p)
                    if delta >= -(1 << 20) && delta < 1 << 20 {
                        // ADRP → ADR of the page: same register, same result, no longer an ADRP.
                        try sectionView.setU32(A64Fields.setAdrImm(word & ~0x8000_0000, UInt64(bitPattern: delta)), at: at)
                        continue
                    }
                    guard pltSection[r] >= 0 else { fail(.noPLT); continue }
                    guard let slot = takeSlot(r) else { fail(.pltExhausted); continue }
                    // Veneer: ADRP Xd, page; ADD Xd, Xd, #0; B back.
                    let veneer = regionBase[r] &+ offset[pltSection[r]] &+ UInt64(slot * PLTEntry.size)
                    let rd = word & 31
                    let pageDelta = Int64(bitPattern: page &- (veneer & ~0xfff)) >> 12
                    let back = Int64(bitPattern: (p &+ 4) &- (veneer &+ 8)) >> 2
                    let to = Int64(bitPattern: veneer &- p) >> 2
                    guard abs(to) < 1 << 25, abs(back) < 1 << 25, abs(pageDelta) < 1 << 20 else { fail(.veneerOutOfReach); continue }
                    let v = Int(offset[pltSection[r]]) + slot * PLTEntry.size
                    try buffers[r].setU32(A64Fields.setAdrImm(0x9000_0000 | rd, UInt64(bitPattern: pageDelta)), at: v)   // adrp xd, page
                    try buffers[r].setU32(0x9100_0000 | rd << 5 | rd, at: v + 4)                                          // add  xd, xd, #0
                    try buffers[r].setU32(A64Fields.setImm26(0x1400_0000, UInt64(bitPattern: back)), at: v + 8)           // b    place + 4
                    try sectionView.setU32(A64Fields.setImm26(0x1400_0000, UInt64(bitPattern: to)), at: at)               // b    veneer
                    continue
                }

                guard let v = StaticRelocation.value(e.type, s: s, a: e.addend, p: p) else { fail(.unsupportedType); continue }
                do throws(RelocationError) {
                    try StaticRelocation.apply(e.type, value: v, to: sectionView, offset: at, p: p)
                    continue
                } catch {
                    // A branch out of reach goes through a PLT entry of the place's region.
                    guard error.kind == .outOfRange, StaticRelocation.isBranch26(e.type) else { fail(.relocation(error)); continue }
                }
                guard pltSection[r] >= 0 else { fail(.noPLT); continue }
                guard let key = pltKeyIndex(PLTKey(symbol: e.symbol, addend: e.addend), region: r) else { fail(.pltExhausted); continue }
                if slotOfKey[r][key] < 0 {
                    guard let slot = takeSlot(r) else { fail(.pltExhausted); continue }
                    slotOfKey[r][key] = Int32(slot)
                }
                let slot = Int(slotOfKey[r][key])
                let entryOffset = Int(offset[pltSection[r]]) + slot * PLTEntry.size
                let entryAddress = regionBase[r] &+ UInt64(entryOffset)
                do throws(RelocationError) {
                    try PLTEntry.write(target: s &+ UInt64(bitPattern: e.addend), to: buffers[r], offset: entryOffset, address: entryAddress)
                    try StaticRelocation.apply(e.type, value: entryAddress &- p, to: sectionView, offset: at, p: p)
                } catch {
                    fail(.throughPLT(error))
                }
            }
        }
        result.pltUsed = nextSlot
        return result
    }
}
