// The function symbols, for crash reports that name the faulting function, and the layout's
// boundary symbols (`_stext`, `_etext`, `_end`…) where no function starts, for `relocate
// --format elf` sections and `slide kaslr`'s module region: written into the `slide_symtab`
// placeholder (SlideCore's SymbolMap), sorted by address, one name per address.

import SlideCore

struct EmbedSymbols: MkImageStage {
    func run(_ b: inout ImageBuild) throws(SlideKitError) {
        guard let at = b.elf.symbols["slide_symtab"] else { return }
        let symbols = b.elf.symbols
        let markers = ImageELF.boundarySymbols.compactMap { name in symbols[name].map { (name: name, value: $0) } }
        let sorted = Self.byOffset(functions: b.elf.functions, markers: markers, linkBase: b.linkBase, imageSize: b.image.count)
        let offset = Int(at &- b.linkBase), capacity = Int(b.elf.symtabSize)
        guard offset >= 0, capacity >= SymbolMap.headerSize, offset <= b.image.count, capacity <= b.image.count - offset else {
            throw b.refuse("slide_symtab (\(capacity) bytes at \(hex(UInt64(max(offset, 0))))) is not a placeholder inside the image data")
        }
        try b.edit { (m) throws(SlideError) in
            guard m.readOnly.u64Unchecked(at: offset) == SymbolMap.magic else {
                throw SlideError.invalid("slide_symtab: no \"SLIDESYM\" placeholder at image offset", value: UInt64(offset))
            }
            try SymbolMap.write(sorted, to: try m.slice(offset, capacity))
        }
        b.notes.append("embedded \(sorted.count) function and boundary symbols in slide_symtab")
    }

    /// One name per image offset: the alphabetically first function there, else a boundary marker.
    static func byOffset(functions: [(name: String, value: UInt64)], markers: [(name: String, value: UInt64)],
                         linkBase: UInt64, imageSize: Int) -> [(offset: UInt32, name: [UInt8])] {
        var byOffset: [UInt32: String] = [:]
        for f in functions where f.value >= linkBase && f.value - linkBase < UInt64(imageSize) {
            let o = UInt32(f.value - linkBase)
            if let existing = byOffset[o], existing <= f.name { continue }
            byOffset[o] = f.name
        }
        // A boundary past the image data (`_end`, `__bss_start`) still fits the map's u32 offsets.
        for m in markers where m.value >= linkBase && m.value - linkBase <= UInt64(UInt32.max) {
            let o = UInt32(m.value - linkBase)
            if byOffset[o] == nil { byOffset[o] = m.name }
        }
        return byOffset.sorted { $0.key < $1.key }.map { (offset: $0.key, name: Array($0.value.utf8)) }
    }
}
