// Linking an ET_REL kernel module (.ko) at a chosen address, as the arm64 module loader does
// (spec §5): allocated sections laid out into a core and an init region, symbols resolved,
// every SHT_RELA section that targets an allocated section applied with SlideCore's static
// relocations, and CALL26/JUMP26 branches that cannot reach their target sent through 12-byte
// PLT veneers — counted before they are reserved (distinct symbol+addend per region), emitted
// only on overflow, deduplicated.

import SlideCore

public struct ModuleLinkOptions {
    /// Address of the core region.
    public var base: UInt64 = 0xffff_8000_0000_0000
    /// Address of the init region (default: after the core region, page-aligned).
    public var initBase: UInt64? = nil
    /// Values for undefined symbols (System.map).
    public var symbols: [String: UInt64] = [:]
    /// Otherwise: undefined symbols get synthetic addresses from here up, 16 bytes apart, in name order.
    public var undefinedAt: UInt64? = nil
    /// Cortex-A53 erratum 843419 (spec §5.4): no ADRP may stay at page offset 0xff8 or 0xffc; it
    /// becomes an ADR when the page is within ±1 MiB, else a branch to a veneer in the PLT.
    public var fixCortexA53843419 = false
    public init() {}
}

public struct LinkedSection {
    public var name: String
    public var address: UInt64
    public var size: UInt64
    public var isInit: Bool
}

public struct LinkedModule {
    public var name: String
    public var core: [UInt8]
    public var initRegion: [UInt8]
    public var coreBase: UInt64
    public var initBase: UInt64
    public var sections: [LinkedSection]
    public var relocationsByType: [RelocationType: Int]
    public var pltReserved: (core: Int, initial: Int)
    public var pltUsed: (core: Int, initial: Int)
    /// One line per relocation that could not be applied.
    public var failures: [String]
    public var relocationCount: Int { relocationsByType.values.reduce(0, +) }
}

public enum ModuleLinker {
    static func isInit(_ name: String) -> Bool { name.hasPrefix(".init") }

    public static func link(_ bytes: [UInt8], name: String, path: String, _ o: ModuleLinkOptions) throws(SlideKitError) -> LinkedModule {
        do throws(SlideError) {
            return try bytes.withView { (view) throws(SlideError) -> LinkedModule in try link(view, name: name, o) }
        } catch {
            throw SlideKitError(path, error)
        }
    }

    struct Layout { var region = [Int](); var offset = [UInt64]() }

    static func link(_ view: ByteView, name: String, _ o: ModuleLinkOptions) throws(SlideError) -> LinkedModule {
        let elf = try ELFFile(view)
        guard elf.header.type == .rel else { throw SlideError.invalid("ELF type (a module is ET_REL)", value: UInt64(elf.header.type.rawValue)) }
        guard elf.header.machine == ELFMachine.aarch64 else { throw SlideError.unsupported("ELF machine (only EM_AARCH64)", value: UInt64(elf.header.machine)) }
        let n = elf.sectionCount
        var headers: [SectionHeader] = [], names: [String] = []
        var symtab = -1
        for i in 0..<n {
            let s = try elf.section(i)
            headers.append(s)
            names.append(try elf.name(of: s))
            if s.type == .symtab { symtab = i }
        }
        guard symtab >= 0 else { throw SlideError.invalid("module without SHT_SYMTAB; sections", value: UInt64(n)) }
        let symbolCount = try elf.entryCount(of: headers[symtab], entrySize: Symbol.size, "SYMTAB sh_entsize")
        var symbols: [Symbol] = []
        symbols.reserveCapacity(symbolCount)
        for j in 0..<symbolCount { symbols.append(try elf.symbol(j, inTable: symtab)) }
        func symbolName(_ j: Int) -> String { (try? elf.name(of: symbols[j], inTable: symtab)) ?? "?" }

        // Relocation sections that apply to allocated sections.
        var relocationSections: [(target: Int, table: RelaTable, name: String)] = []
        for i in 0..<n where headers[i].type == .rela {
            let target = Int(headers[i].info)
            guard target > 0, target < n, headers[target].flags.contains(.alloc) else { continue }
            let count = try elf.entryCount(of: headers[i], entrySize: RelaEntry.size, "RELA sh_entsize")
            relocationSections.append((target, try RelaTable(try elf.contents(of: headers[i]).slice(offset: 0, size: count * RelaEntry.size)), names[i]))
        }

        // Size first: distinct (symbol, addend) branch targets outside the branch's own section, per region.
        var pltKeys: [Set<UInt64>] = [[], []]
        for (target, table, _) in relocationSections where headers[target].flags.contains(.execinstr) {
            let region = isInit(names[target]) ? 1 : 0
            for k in 0..<table.count {
                let e = table[k]
                guard StaticRelocation.isBranch26(e.type), Int(e.symbol) < symbols.count,
                      Int(symbols[Int(e.symbol)].sectionIndex) != target else { continue }
                pltKeys[region].insert(UInt64(e.symbol) << 32 ^ UInt64(bitPattern: e.addend))
            }
        }
        // Erratum 843419: an ADRP whose place could land at 0xff8/0xffc gets its section aligned so it
        // cannot, or (when that would take more than a page) a veneer slot (spec §5.1).
        var veneers = [0, 0]
        var alignment = headers.map { $0.addressAlignment }
        if o.fixCortexA53843419 {
            for (target, table, _) in relocationSections where headers[target].flags.contains(.execinstr) {
                for k in 0..<table.count where table[k].type == .adrPrelPgHi21 || table[k].type == .adrPrelPgHi21Nc {
                    let minAlign: UInt64 = 2 << UInt64((~(table[k].offset | 7)).trailingZeroBitCount)
                    if minAlign > 4096 { veneers[isInit(names[target]) ? 1 : 0] += 1 } else { alignment[target] = max(alignment[target], minAlign) }
                }
            }
        }
        func slack(_ n: Int) -> Int { o.fixCortexA53843419 ? n + (n + 340) / 341 : n } // a slot may be skipped per page of PLT
        let pltReserved = (slack(pltKeys[0].count + veneers[0]), slack(pltKeys[1].count + veneers[1]))

        // Layout: per region, executable sections, then read-only, then writable; each aligned.
        var regionSize: [UInt64] = [0, 0]
        var address = [UInt64](repeating: 0, count: n)
        var regionOf = [Int](repeating: -1, count: n)
        var sizeOf = headers.map { $0.size }
        var pltSection: [Int?] = [nil, nil]
        for (i, nm) in names.enumerated() {
            if nm == ".plt" { pltSection[0] = i; sizeOf[i] = UInt64(pltReserved.0 + 1) * UInt64(PLTEntry.size) }
            if nm == ".init.plt" { pltSection[1] = i; sizeOf[i] = UInt64(pltReserved.1 + 1) * UInt64(PLTEntry.size) }
            if nm == ".text.ftrace_trampoline" { sizeOf[i] = 2 * UInt64(PLTEntry.size) }
        }
        for pass in 0..<3 {
            for i in 0..<n where headers[i].flags.contains(.alloc) {
                let f = headers[i].flags
                let kind = f.contains(.execinstr) ? 0 : f.contains(.write) ? 2 : 1
                guard kind == pass else { continue }
                let region = isInit(names[i]) ? 1 : 0
                let align = max(alignment[i], names[i].hasSuffix("plt") ? 64 : 1)
                guard align.nonzeroBitCount == 1, align <= 1 << 20 else { throw SlideError.invalid("sh_addralign", value: align) }
                regionSize[region] = (regionSize[region] + align - 1) & ~(align - 1)
                address[i] = regionSize[region]
                regionOf[i] = region
                guard sizeOf[i] <= 1 << 30 else { throw SlideError.outOfRange("section size", value: sizeOf[i], low: 0, high: 1 << 30) }
                regionSize[region] += sizeOf[i]
            }
        }
        // Common symbols: appended to the core region's end.
        var commonAddress: [Int: UInt64] = [:]
        for (j, sym) in symbols.enumerated() where sym.sectionIndex == 0xfff2 {
            let align = max(sym.value, 1)
            guard align.nonzeroBitCount == 1, sym.size <= 1 << 30 else { continue }
            regionSize[0] = (regionSize[0] + align - 1) & ~(align - 1)
            commonAddress[j] = regionSize[0]
            regionSize[0] += sym.size
        }
        let coreBase = o.base
        let initBase = o.initBase ?? ((coreBase &+ regionSize[0] &+ 0xfff) & ~0xfff)
        let bases = [coreBase, initBase]
        for i in 0..<n where regionOf[i] >= 0 { address[i] = bases[regionOf[i]] &+ address[i] }
        var images: [[UInt8]] = [[UInt8](repeating: 0, count: Int(regionSize[0])), [UInt8](repeating: 0, count: Int(regionSize[1]))]
        for i in 0..<n where regionOf[i] >= 0 && headers[i].type != .nobits && !names[i].hasSuffix("plt") && names[i] != ".text.ftrace_trampoline" {
            let data = try elf.contents(of: headers[i])
            let at = Int(address[i] &- bases[regionOf[i]])
            images[regionOf[i]].withUnsafeMutableBytes { out in
                if let src = data.base, data.count > 0 { out.baseAddress!.advanced(by: at).copyMemory(from: src, byteCount: data.count) }
            }
        }

        // Symbol values.
        var undefinedNames: [String] = []
        for (j, sym) in symbols.enumerated() where j > 0 && sym.isUndefined && sym.nameOffset != 0 { undefinedNames.append(symbolName(j)) }
        let synthetic: [String: UInt64] = Dictionary(uniqueKeysWithValues: Set(undefinedNames).sorted().enumerated().map { ($1, (o.undefinedAt ?? 0) &+ UInt64($0) * 16) })
        var failures: [String] = []
        func value(of j: Int) -> UInt64? {
            let sym = symbols[j]
            switch sym.sectionIndex {
            case 0:
                if sym.nameOffset == 0 { return 0 }
                let nm = symbolName(j)
                if let v = o.symbols[nm] { return v }
                if o.undefinedAt != nil { return synthetic[nm] }
                return sym.binding == 2 ? 0 : nil // weak undefined resolves to 0
            case 0xfff1: return sym.value
            case 0xfff2: return commonAddress[j].map { coreBase &+ $0 }
            default:
                let s = Int(sym.sectionIndex)
                guard s < n, regionOf[s] >= 0 else { return sym.value }
                return address[s] &+ sym.value
            }
        }

        // Apply.
        var byType: [RelocationType: Int] = [:]
        var pltSlots: [[UInt64: Int]] = [[:], [:]]
        var veneerSlots = [0, 0]
        for (target, table, relName) in relocationSections {
            let region = regionOf[target]
            guard region >= 0, headers[target].type != .nobits else { continue }
            let sectionStart = Int(address[target] &- bases[region])
            for k in 0..<table.count {
                let e = table[k]
                byType[e.type, default: 0] += 1
                let p = address[target] &+ e.offset
                func fail(_ why: String) {
                    failures.append("module \(name): \(relName) entry \(k): \(names[target])+\(hex(e.offset)): \(why)")
                }
                guard Int(e.symbol) < symbols.count, let s = value(of: Int(e.symbol)) else {
                    fail("\(e.type) against undefined symbol \(Int(e.symbol) < symbols.count ? symbolName(Int(e.symbol)) : "#\(e.symbol)")")
                    continue
                }
                if o.fixCortexA53843419, e.type == .adrPrelPgHi21 || e.type == .adrPrelPgHi21Nc, p & 0xfff >= 0xff8 {
                    let target = (s &+ UInt64(bitPattern: e.addend)) & ~0xfff
                    let at = sectionStart + Int(e.offset)
                    guard at + 4 <= images[region].count else { fail("offset outside the section"); continue }
                    let word = images[region].withUnsafeBytes { UInt32(littleEndian: $0.loadUnaligned(fromByteOffset: at, as: UInt32.self)) }
                    let delta = Int64(bitPattern: target &- p)
                    if delta >= -(1 << 20) && delta < 1 << 20 {
                        // ADRP → ADR of the page: same register, same result, no longer an ADRP.
                        let adr = A64Fields.setAdrImm(word & ~0x8000_0000, UInt64(bitPattern: delta))
                        images[region].withUnsafeMutableBytes { $0.storeBytes(of: adr.littleEndian, toByteOffset: at, as: UInt32.self) }
                        continue
                    }
                    guard let plt = pltSection[region] else { fail("ADRP at a 0xff8/0xffc page offset and no PLT for a veneer"); continue }
                    // Veneer: ADRP Xd, page; ADD Xd, Xd, #0; B back. Its own ADRP must not sit at 0xff8/0xffc either.
                    var slot = pltSlots[region].count + veneerSlots[region]
                    while (address[plt] &+ UInt64(slot * PLTEntry.size)) & 0xfff >= 0xff8 { veneerSlots[region] += 1; slot += 1 }
                    guard slot < (region == 0 ? pltReserved.0 : pltReserved.1) + 1 else { fail("PLT exhausted by erratum 843419 veneers"); continue }
                    veneerSlots[region] += 1
                    let veneer = address[plt] &+ UInt64(slot * PLTEntry.size)
                    let rd = word & 31
                    let pageDelta = Int64(bitPattern: target &- (veneer & ~0xfff)) >> 12
                    let back = Int64(bitPattern: (p &+ 4) &- (veneer &+ 8)) >> 2
                    let to = Int64(bitPattern: veneer &- p) >> 2
                    guard abs(to) < 1 << 25, abs(back) < 1 << 25, abs(pageDelta) < 1 << 20 else { fail("erratum 843419 veneer out of reach"); continue }
                    let words: [UInt32] = [
                        A64Fields.setAdrImm(0x9000_0000 | rd, UInt64(bitPattern: pageDelta)),   // adrp xd, page(target)
                        0x9100_0000 | rd << 5 | rd,                                               // add  xd, xd, #0
                        A64Fields.setImm26(0x1400_0000, UInt64(bitPattern: back)),                // b    place + 4
                    ]
                    let pltStart = Int(address[plt] &- bases[region]) + slot * PLTEntry.size
                    images[region].withUnsafeMutableBytes { raw in
                        for (i, w) in words.enumerated() { raw.storeBytes(of: w.littleEndian, toByteOffset: pltStart + 4 * i, as: UInt32.self) }
                        raw.storeBytes(of: A64Fields.setImm26(0x1400_0000, UInt64(bitPattern: to)).littleEndian, toByteOffset: at, as: UInt32.self)
                    }
                    continue
                }
                guard let v = StaticRelocation.value(e.type, s: s, a: e.addend, p: p) else {
                    fail("unsupported relocation \(e.type) against \(symbolName(Int(e.symbol)))")
                    continue
                }
                guard e.offset <= UInt64(images[region].count) else { fail("offset outside the section"); continue }
                var relocationError: RelocationError? = nil
                images[region].withUnsafeMutableBytes { raw in
                    let section = MutableByteView(UnsafeMutableRawBufferPointer(rebasing: raw[sectionStart...]))
                    do throws(RelocationError) { try StaticRelocation.apply(e.type, value: v, to: section, offset: Int(e.offset), p: p) } catch { relocationError = error }
                }
                guard let failure = relocationError else { continue }
                // A branch out of reach goes through a PLT entry of the place's region.
                guard failure.kind == .outOfRange, StaticRelocation.isBranch26(e.type), let plt = pltSection[region] else {
                    fail("\(failure.description) against \(symbolName(Int(e.symbol)))")
                    continue
                }
                let key = UInt64(e.symbol) << 32 ^ UInt64(bitPattern: e.addend)
                let slot: Int
                if let existing = pltSlots[region][key] { slot = existing } else {
                    var next = pltSlots[region].count + veneerSlots[region]
                    // With the erratum fix, a PLT entry's own ADRP must not sit at 0xff8/0xffc: skip that slot.
                    while o.fixCortexA53843419 && (address[plt] &+ UInt64(next * PLTEntry.size)) & 0xfff >= 0xff8 { veneerSlots[region] += 1; next += 1 }
                    slot = next
                    guard slot < (region == 0 ? pltReserved.0 : pltReserved.1) + 1 else { fail("PLT exhausted (\(slot) entries reserved)"); continue }
                    pltSlots[region][key] = slot
                }
                let pltAddress = address[plt] &+ UInt64(slot * PLTEntry.size)
                relocationError = nil
                let pltStart = Int(address[plt] &- bases[region])
                images[region].withUnsafeMutableBytes { raw in
                    let all = MutableByteView(raw)
                    let section = MutableByteView(UnsafeMutableRawBufferPointer(rebasing: raw[sectionStart...]))
                    do throws(RelocationError) {
                        try PLTEntry.write(target: s &+ UInt64(bitPattern: e.addend), to: all, offset: pltStart + slot * PLTEntry.size, address: pltAddress)
                        try StaticRelocation.apply(e.type, value: pltAddress &- p, to: section, offset: Int(e.offset), p: p)
                    } catch { relocationError = error }
                }
                if let again = relocationError { fail("through the PLT: \(again.description)") }
            }
        }
        var sections: [LinkedSection] = []
        for i in 0..<n where regionOf[i] >= 0 {
            sections.append(LinkedSection(name: names[i], address: address[i], size: sizeOf[i], isInit: regionOf[i] == 1))
        }
        return LinkedModule(name: name, core: images[0], initRegion: images[1], coreBase: coreBase, initBase: initBase, sections: sections,
                            relocationsByType: byType, pltReserved: pltReserved,
                            pltUsed: (pltSlots[0].count + veneerSlots[0], pltSlots[1].count + veneerSlots[1]), failures: failures)
    }
}
