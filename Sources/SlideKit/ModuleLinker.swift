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
        let pltReserved = (pltKeys[0].count, pltKeys[1].count)

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
                let align = max(headers[i].addressAlignment, names[i].hasSuffix("plt") ? 64 : 1)
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
                    slot = pltSlots[region].count
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
                            relocationsByType: byType, pltReserved: pltReserved, pltUsed: (pltSlots[0].count, pltSlots[1].count), failures: failures)
    }
}
