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

    /// The image's symbols for an ELF, or none (with a warning).
    public static func forELF(_ k: KernelImage, warn: (String) -> Void) -> [KernelSymbol] {
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
}
