// A laid-out module's sections and symbols: names, addresses once the regions have bases, and
// symbol values (defined, section, absolute, common, undefined through a resolver, weak = 0).

extension ModuleLayout {
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
    public func address(ofSection i: Int, bases: PerRegion<UInt64>) -> UInt64? {
        guard i >= 0, i < region.count, let r = region[i] else { return nil }
        return bases[r] &+ offset[i]
    }

    /// The value of symbol `j`; undefined symbols through `resolver` (weak ones default to 0).
    public func value<R: ModuleSymbolResolver>(ofSymbol j: Int, bases: PerRegion<UInt64>, resolver: R) throws(SlideError) -> UInt64? {
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
    public func definedSymbol(named name: StaticString, bases: PerRegion<UInt64>) throws(SlideError) -> UInt64? {
        for j in 1..<max(symbolCount, 1) {
            let sym = try symbol(j)
            guard sym.sectionIndex != SectionIndex.undefined, sym.sectionIndex < SectionIndex.lowReserve, try symbolName(j).equals(name) else { continue }
            return address(ofSection: Int(sym.sectionIndex), bases: bases).map { $0 &+ sym.value }
        }
        return nil
    }

    func pltKeyIndex(_ key: PLTKey, region r: Region) -> Int? {
        let keys = pltKeys[r]
        var lo = 0, hi = keys.count
        while lo < hi { let mid = (lo + hi) / 2; if keys[mid] < key { lo = mid + 1 } else { hi = mid } }
        return lo < keys.count && keys[lo] == key ? lo : nil
    }
}
