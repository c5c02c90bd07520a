// Step 2 of loading a module (ModuleLayout.swift is step 1): copy the sections into the caller's
// buffers and apply every SHT_RELA section that targets a loaded section with SlideCore's static
// relocations; far branches through PLT veneers emitted on first use; with the Cortex-A53
// erratum 843419 fix, an ADRP at page offset 0xff8/0xffc becomes an ADR or a veneer (docs/modules.md).

/// A symbol's value during one link: not looked up yet, found, or not found.
enum SymbolResolution { case pending, value(UInt64), unresolved }

/// What `link` did.
public struct ModuleLinkResult {
    /// Relocations applied or attempted, by type, in first-seen order.
    public var typeCounts: [(type: RelocationType, count: Int)] = []
    /// PLT slots used per region (veneers for erratum 843419 included).
    public var pltUsed = PerRegion(repeating: 0)
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
    public func link<R: ModuleSymbolResolver>(core: MutableByteView, initRegion: MutableByteView, bases: PerRegion<UInt64>,
                                              resolver: R, failed: (ModuleLinkFailure) -> Void) throws(SlideError) -> ModuleLinkResult {
        let buffers = PerRegion(core: core, initial: initRegion)
        try copySections(into: buffers)
        var linker = ModuleLinkState(layout: self, buffers: buffers, bases: bases, resolver: resolver)
        for (rela, target) in relocationSections {
            let table = try relaTable(rela)
            guard let r = region[target], sections[target].type != .nobits else { continue }
            let section = RelocationTarget(
                region: r, address: bases[r] &+ offset[target],
                view: MutableByteView(UnsafeMutableRawBufferPointer(start: buffers[r].base! + Int(offset[target]), count: Int(size[target]))))
            for k in 0..<table.count {
                let e = table[k]
                linker.result.count(e.type)
                guard let reason = try linker.apply(e, in: section) else { continue }
                linker.result.failures += 1
                failed(ModuleLinkFailure(reason: reason, relaSection: rela, entry: k, targetSection: target,
                                         offset: e.offset, type: e.type, symbol: Int(e.symbol)))
            }
        }
        linker.result.pltUsed = linker.nextSlot
        return linker.result
    }

    /// Zeroes both region buffers and copies each loaded section's bytes to its offset (PLT
    /// sections and ftrace's trampoline stay zero: the link writes what they hold).
    func copySections(into buffers: PerRegion<MutableByteView>) throws(SlideError) {
        for r in Self.regions {
            guard UInt64(buffers[r].count) >= regionSize[r] else {
                throw .truncated("module region buffer", offset: 0, size: regionSize[r], available: UInt64(buffers[r].count))
            }
            if let b = buffers[r].base { b.initializeMemory(as: UInt8.self, repeating: 0, count: buffers[r].count) }
        }
        for i in 0..<region.count where i != pltSection.core && i != pltSection.initial {
            guard let r = region[i] else { continue }
            let s = sections[i]
            guard s.type != .nobits, !(try sectionName(i)).equals(".text.ftrace_trampoline") else { continue }
            let data = try elf.contents(of: s)
            guard data.count > 0, let src = data.base else { continue }
            buffers[r].base!.advanced(by: Int(offset[i])).copyMemory(from: src, byteCount: data.count)
        }
    }
}

/// A section being relocated: its region, its address once loaded, and its bytes in the buffer.
struct RelocationTarget {
    let region: ModuleLayout.Region
    let address: UInt64
    let view: MutableByteView
}

/// The state of one link: each symbol's value once, and each region's PLT slots.
struct ModuleLinkState<R: ModuleSymbolResolver> {
    let layout: ModuleLayout
    let buffers: PerRegion<MutableByteView>
    let bases: PerRegion<UInt64>
    let resolver: R
    /// Each symbol's value once: an undefined one is a lookup by name (a bisection over the
    /// kernel's exports, comparing strings), and a module's relocations name few symbols many times.
    var resolved: [SymbolResolution]
    /// Per region and PLT key: the slot its veneer took (-1: none yet).
    var slotOfKey: PerRegion<[Int32]>
    var nextSlot = PerRegion(repeating: 0)
    var result = ModuleLinkResult()

    init(layout: ModuleLayout, buffers: PerRegion<MutableByteView>, bases: PerRegion<UInt64>, resolver: R) {
        self.layout = layout
        self.buffers = buffers
        self.bases = bases
        self.resolver = resolver
        resolved = [SymbolResolution](repeating: .pending, count: layout.symbolCount)
        slotOfKey = PerRegion(core: [Int32](repeating: -1, count: layout.pltKeys.core.count),
                              initial: [Int32](repeating: -1, count: layout.pltKeys.initial.count))
    }

    /// Applies one relocation; nil when it is done, else why it failed.
    mutating func apply(_ e: RelaEntry, in section: RelocationTarget) throws(SlideError) -> ModuleLinkFailure.Reason? {
        guard Int(e.symbol) < layout.symbolCount, let s = try value(ofSymbol: Int(e.symbol)) else { return .undefinedSymbol }
        guard e.offset < UInt64(section.view.count) else { return .placeOutsideSection }
        let p = section.address &+ e.offset
        if layout.fixCortexA53843419, e.type == .adrPrelPgHi21 || e.type == .adrPrelPgHi21Nc, p & 0xfff >= 0xff8 {
            return try avoidErratum843419(e, s: s, p: p, in: section)
        }
        guard let v = StaticRelocation.value(e.type, s: s, a: e.addend, p: p) else { return .unsupportedType }
        do throws(RelocationError) {
            try StaticRelocation.apply(e.type, value: v, to: section.view, offset: Int(e.offset), p: p)
            return nil
        } catch {
            // A branch out of reach goes through a PLT entry of the place's region.
            guard error.kind == .outOfRange, StaticRelocation.isBranch26(e.type) else { return .relocation(error) }
        }
        return branchThroughPLT(e, s: s, p: p, in: section)
    }

    mutating func value(ofSymbol j: Int) throws(SlideError) -> UInt64? {
        switch resolved[j] {
        case .value(let v): return v
        case .unresolved: return nil
        case .pending:
            let v = try layout.value(ofSymbol: j, bases: bases, resolver: resolver)
            resolved[j] = v.map { .value($0) } ?? .unresolved
            return v
        }
    }

    /// The next free PLT slot of region r (which has a PLT section); with the erratum fix, never
    /// one whose ADRP sits at 0xff8/0xffc.
    mutating func takeSlot(_ r: ModuleLayout.Region, _ pltOffset: UInt64) -> Int? {
        let plt = bases[r] &+ pltOffset
        while layout.fixCortexA53843419 && (plt &+ UInt64(nextSlot[r] * PLTEntry.size)) & 0xfff >= 0xff8 { nextSlot[r] += 1 }
        guard nextSlot[r] <= layout.pltReserved[r] else { return nil }
        nextSlot[r] += 1
        return nextSlot[r] - 1
    }

    /// An ADRP at page offset 0xff8/0xffc (erratum 843419): an ADR of the page when the page is
    /// within ±1 MiB, else a branch to a veneer that does the ADRP and branches back.
    mutating func avoidErratum843419(_ e: RelaEntry, s: UInt64, p: UInt64, in section: RelocationTarget) throws(SlideError) -> ModuleLinkFailure.Reason? {
        let at = Int(e.offset), r = section.region
        let page = (s &+ UInt64(bitPattern: e.addend)) & ~0xfff
        guard let word = try? section.view.readOnly.u32(at: at) else { return .placeOutsideSection }
        let delta = Int64(bitPattern: page &- p)
        if delta >= -(1 << 20) && delta < 1 << 20 {
            // ADRP → ADR of the page: same register, same result, no longer an ADRP.
            try section.view.setU32(A64Fields.setAdrImm(word & ~0x8000_0000, UInt64(bitPattern: delta)), at: at)
            return nil
        }
        guard let plt = layout.pltSection[r] else { return .noPLT }
        guard let slot = takeSlot(r, layout.offset[plt]) else { return .pltExhausted }
        // Veneer: ADRP Xd, page; ADD Xd, Xd, #0; B back.
        let veneer = bases[r] &+ layout.offset[plt] &+ UInt64(slot * PLTEntry.size)
        let rd = word & 31
        let pageDelta = Int64(bitPattern: page &- (veneer & ~0xfff)) >> 12
        let back = Int64(bitPattern: (p &+ 4) &- (veneer &+ 8)) >> 2
        let to = Int64(bitPattern: veneer &- p) >> 2
        guard abs(to) < 1 << 25, abs(back) < 1 << 25, abs(pageDelta) < 1 << 20 else { return .veneerOutOfReach }
        let v = Int(layout.offset[plt]) + slot * PLTEntry.size
        try buffers[r].setU32(A64Fields.setAdrImm(0x9000_0000 | rd, UInt64(bitPattern: pageDelta)), at: v)   // adrp xd, page
        try buffers[r].setU32(0x9100_0000 | rd << 5 | rd, at: v + 4)                                          // add  xd, xd, #0
        try buffers[r].setU32(A64Fields.setImm26(0x1400_0000, UInt64(bitPattern: back)), at: v + 8)           // b    place + 4
        try section.view.setU32(A64Fields.setImm26(0x1400_0000, UInt64(bitPattern: to)), at: at)               // b    veneer
        return nil
    }

    /// A 26-bit branch out of reach: through the PLT entry of (symbol, addend) in the place's
    /// region, written on first use.
    mutating func branchThroughPLT(_ e: RelaEntry, s: UInt64, p: UInt64, in section: RelocationTarget) -> ModuleLinkFailure.Reason? {
        let r = section.region
        guard let plt = layout.pltSection[r] else { return .noPLT }
        guard let key = layout.pltKeyIndex(PLTKey(symbol: e.symbol, addend: e.addend), region: r) else { return .pltExhausted }
        if slotOfKey[r][key] < 0 {
            guard let slot = takeSlot(r, layout.offset[plt]) else { return .pltExhausted }
            slotOfKey[r][key] = Int32(slot)
        }
        let entryOffset = Int(layout.offset[plt]) + Int(slotOfKey[r][key]) * PLTEntry.size
        let entryAddress = bases[r] &+ UInt64(entryOffset)
        do throws(RelocationError) {
            try PLTEntry.write(target: s &+ UInt64(bitPattern: e.addend), to: buffers[r], offset: entryOffset, address: entryAddress)
            try StaticRelocation.apply(e.type, value: entryAddress &- p, to: section.view, offset: Int(e.offset), p: p)
            return nil
        } catch {
            return .throughPLT(error)
        }
    }
}
