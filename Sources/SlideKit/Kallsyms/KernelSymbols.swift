// The symbols a kernel image carries, from whichever table it has: Linux's kallsyms, or the
// function map `slide mkimage` embeds in a Slide Image (SlideCore SymbolMap, "SLIDESYM").
// Addresses are link-time; `relocate --format elf` and `slide symbols` add the slide.

import SlideCore

public enum KernelSymbols {
    public enum Source: String { case kallsyms, slideSymbolMap = "slide-symbol-map" }

    /// The Slide symbol map in a Slide Image: the first 8-aligned "SLIDESYM" that decodes.
    public static func slideSymbolMap(_ k: KernelImage) -> [KernelSymbol]? {
        k.bytes.withUnsafeBytes { raw -> [KernelSymbol]? in
            let whole = ByteView(raw)
            var o = 0
            while o + SymbolMap.headerSize <= whole.count {
                if whole.u64Unchecked(at: o) == SymbolMap.magic,
                   let map = SymbolMap(ByteView(start: whole.base.map { $0 + o }, count: whole.count - o)) {
                    return (0..<map.count).map { KernelSymbol(address: k.linkBase &+ map.start($0), type: "T", name: String(map.name($0))) }
                }
                o += 8
            }
            return nil
        }
    }

    /// The image's symbols: the Slide map, else kallsyms; the error says why there are none.
    public static func read(_ k: KernelImage) throws(SlideKitError) -> (source: Source, symbols: [KernelSymbol]) {
        if let map = slideSymbolMap(k) { return (.slideSymbolMap, map) }
        return (.kallsyms, try KallsymsTable.read(k).symbols)
    }

    /// The symbols for `relocate --format elf`: an ELF input's own `.symtab`; else the image's
    /// table, or none (with a warning).
    public static func forELF(_ k: KernelImage, warn: (String) -> Void) -> [KernelSymbol] {
        if let own = elfSymbols(k), !own.isEmpty { return own }
        do {
            return try read(k).symbols
        } catch {
            warn("\(error.message); the ELF has section headers but an empty .symtab")
            return []
        }
    }

    /// The first address of each name.
    public static func addresses(_ symbols: [KernelSymbol]) -> [String: UInt64] {
        var first: [String: UInt64] = [:]
        for s in symbols where first[s.name] == nil { first[s.name] = s.address }
        return first
    }

    /// An ELF input's defined symbols (section and file symbols left out), with nm's letters and
    /// st_size; nil for a raw Image or an ELF without a symbol table.
    public static func elfSymbols(_ k: KernelImage) -> [KernelSymbol]? {
        guard k.format == .elf, let bytes = k.elfBytes else { return nil }
        return try? bytes.withView { (view) throws(SlideError) -> [KernelSymbol]? in
            let elf = try ELFFile(view)
            guard let (index, table) = try elf.section(named: ".symtab") else { return nil }
            let count = try elf.entryCount(of: table, entrySize: SlideCore.Symbol.size, "symbol table entry size")
            var out: [KernelSymbol] = []
            out.reserveCapacity(count)
            for i in 1..<max(count, 1) {
                let sym = try elf.symbol(i, inTable: index)
                let type = SymbolType(rawValue: sym.symbolType), binding = SymbolBinding(rawValue: sym.binding)
                guard !sym.isUndefined, type != .section, type != .file else { continue }
                let name = try elf.name(of: sym, inTable: index)
                // AAELF64 mapping symbols ($x, $d, $x.N) mark code and data, they name nothing.
                guard !name.isEmpty, !["$x", "$d"].contains(name), !name.hasPrefix("$x."), !name.hasPrefix("$d.") else { continue }
                var letter: Character
                if sym.sectionIndex == SectionIndex.absolute {
                    letter = "a"
                } else if sym.sectionIndex < SectionIndex.lowReserve, let s = try? elf.section(Int(sym.sectionIndex)) {
                    letter = s.type == .nobits ? "b" : s.flags.contains(.execinstr) ? "t" : s.flags.contains(.write) ? "d" : "r"
                } else {
                    letter = "d"
                }
                if binding == .weak { letter = type == .object ? "V" : "W" } else if binding == .global { letter = Character(letter.uppercased()) }
                // Code without st_size (an assembly label, no .size) gets the distance to the next symbol, as kallsyms' do.
                out.append(KernelSymbol(address: sym.value, type: letter, name: name, size: sym.size == 0 && letter.lowercased() == "t" ? nil : sym.size))
            }
            return out
        }
    }
}
