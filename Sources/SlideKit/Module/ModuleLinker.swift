// Linking an ET_REL kernel module (.ko) at a chosen address, as the arm64 module loader does
// (docs/modules.md): allocated sections laid out into a core and an init region, symbols resolved,
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
    /// The kernel's translation granule: the module's parts are laid out and mapped in its pages,
    /// and both regions start on one.
    public var granule: Granule = .k4
    /// Values for undefined symbols (System.map).
    public var symbols: [String: UInt64] = [:]
    /// Otherwise: undefined symbols get synthetic addresses from here up, 16 bytes apart, in name order.
    public var undefinedAt: UInt64? = nil
    /// Cortex-A53 erratum 843419 (docs/modules.md): no ADRP may stay at page offset 0xff8 or 0xffc; it
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
    /// The page the parts were laid out in (the kernel's granule).
    public var page: UInt64
    public var sections: [LinkedSection]
    public var relocationsByType: [RelocationType: Int]
    public var pltReserved: PerRegion<Int>
    public var pltUsed: PerRegion<Int>
    /// One line per relocation that could not be applied.
    public var failures: [String]
    public var relocationCount: Int { relocationsByType.values.reduce(0, +) }
}

public enum ModuleLinker {
    public static func link(_ bytes: [UInt8], name: String, path: String, _ o: ModuleLinkOptions) throws(SlideKitError) -> LinkedModule {
        do throws(SlideError) {
            return try bytes.withView { (view) throws(SlideError) -> LinkedModule in try link(view, name: name, o) }
        } catch {
            throw SlideKitError(path, error)
        }
    }

    /// Undefined symbols by name: a System.map, or synthetic addresses in name order.
    struct Resolver: ModuleSymbolResolver {
        var table: [String: UInt64]
        func address(of name: ByteView) -> UInt64? { table[String(name)] }
    }

    /// SlideCore's linker (the one the kernel runs) over host buffers, with names for the report.
    static func link(_ view: ByteView, name: String, _ o: ModuleLinkOptions) throws(SlideError) -> LinkedModule {
        let layout = try ModuleLayout(try ELFFile(view), granule: o.granule, fixCortexA53843419: o.fixCortexA53843419)
        let page = o.granule.pageSize
        guard o.base & (page - 1) == 0 else { throw .misaligned("module base", value: o.base, alignment: page) }
        let initBase = o.initBase ?? (o.base &+ layout.regionSize.core)
        guard initBase & (page - 1) == 0 else { throw .misaligned("module init base", value: initBase, alignment: page) }
        var table = o.symbols
        if let from = o.undefinedAt {
            var undefined = Set<String>()
            for j in 1..<max(layout.symbolCount, 1) {
                let sym = try layout.symbol(j)
                if sym.isUndefined && sym.nameOffset != 0 { undefined.insert(String(try layout.symbolName(j))) }
            }
            for (i, n) in undefined.sorted().enumerated() where table[n] == nil { table[n] = from &+ UInt64(i) * 16 }
        }
        var core = [UInt8](repeating: 0, count: Int(layout.regionSize.core))
        var initRegion = [UInt8](repeating: 0, count: Int(layout.regionSize.initial))
        var failures: [ModuleLinkFailure] = []
        let bases = PerRegion(core: o.base, initial: initBase)
        let result = try core.withMutableView { (c) throws(SlideError) -> ModuleLinkResult in
            try initRegion.withMutableView { (i) throws(SlideError) -> ModuleLinkResult in
                try layout.link(core: c, initRegion: i, bases: bases, resolver: Resolver(table: table)) { failures.append($0) }
            }
        }
        var sections: [LinkedSection] = []
        for i in 0..<layout.region.count {
            guard let address = layout.address(ofSection: i, bases: bases) else { continue }
            sections.append(LinkedSection(name: String(try layout.sectionName(i)), address: address, size: layout.size[i],
                                          isInit: layout.region[i] == .initial))
        }
        var byType: [RelocationType: Int] = [:]
        for (t, n) in result.typeCounts { byType[t] = n }
        return LinkedModule(name: name, core: core, initRegion: initRegion, coreBase: o.base, initBase: initBase, page: page, sections: sections,
                            relocationsByType: byType, pltReserved: layout.pltReserved,
                            pltUsed: result.pltUsed,
                            failures: try failures.map { (f) throws(SlideError) -> String in try describe(f, layout, module: name) })
    }

    /// A data or address relocation that overflows says what it means for `--at`: the module was
    /// placed farther from the symbol than the relocation reaches (branches get PLTs; these cannot).
    static func farHint(_ e: RelocationError) -> String {
        guard e.kind == .outOfRange, e.type != .call26, e.type != .jump26 else { return "" }
        let reach = e.high >= 1 << 30 ? "±\((e.high + 1) >> 30) GiB" : e.high >= 1 << 20 ? "±\((e.high + 1) >> 20) MiB" : "±\(hex(UInt64(e.high + 1)))"
        return " (the module lies \(hex(e.value.magnitude)) from its target; \(e.type) reaches \(reach): "
            + "place it (--at) within that distance of the kernel)"
    }

    /// `module M: .rela.text entry 12: .text+0x40: <why>`.
    static func describe(_ f: ModuleLinkFailure, _ layout: ModuleLayout, module: String) throws(SlideError) -> String {
        var symbol = f.symbol < layout.symbolCount ? String(try layout.symbolName(f.symbol)) : "#\(f.symbol)"
        if symbol.isEmpty, f.symbol < layout.symbolCount, case let sym = try layout.symbol(f.symbol), sym.symbolType == SymbolType.section.rawValue {
            symbol = "section " + String(try layout.sectionName(Int(sym.sectionIndex)))
        }
        let why: String
        switch f.reason {
        case .undefinedSymbol: why = "\(f.type) against undefined symbol \(symbol)"
        case .unsupportedType: why = "unsupported relocation \(f.type) against \(symbol)"
        case .placeOutsideSection: why = "offset outside the section"
        case .pltExhausted: why = "PLT exhausted (\(layout.region[f.targetSection].map { layout.pltReserved[$0] } ?? 0) entries reserved)"
        case .noPLT: why = "\(f.type) against \(symbol) needs a PLT and the module has no .plt section"
        case .veneerOutOfReach: why = "erratum 843419 veneer out of reach"
        case .relocation(let e): why = "\(e.description) against \(symbol)" + farHint(e)
        case .throughPLT(let e): why = "through the PLT: \(e.description)" + farHint(e)
        }
        return "module \(module): \(String(try layout.sectionName(f.relaSection))) entry \(f.entry): "
            + "\(String(try layout.sectionName(f.targetSection)))+\(hex(f.offset)): \(why)"
    }
}
