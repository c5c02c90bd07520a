// A validating reader over a whole ELF64 file.
//
// The constructor checks everything later accessors rely on: header sizes, that the section
// and program header tables fit in the file (counts are checked before any loop or
// allocation), extended section numbering, and the section name table. Accessors then read
// one record at a time; nothing is copied.

public struct ELFFile {
    public let bytes: ByteView
    public let header: ELFHeader
    /// Number of section headers, after extended numbering.
    public let sectionCount: Int
    /// Index of the section name string table (0 = none).
    public let sectionNameTableIndex: Int

    public init(_ bytes: ByteView) throws(SlideError) {
        self.bytes = bytes
        let h = try ELFHeader(from: bytes)
        header = h

        if h.programHeaderCount > 0 {
            guard Int(h.programHeaderEntrySize) == ProgramHeader.size else {
                throw .invalid("e_phentsize", value: UInt64(h.programHeaderEntrySize))
            }
            _ = try bytes.slice(offset: h.programHeaderOffset,
                                size: UInt64(h.programHeaderCount) * UInt64(ProgramHeader.size),
                                "program header table")
        }

        var count = Int(h.sectionHeaderCount)
        var nameIndex = Int(h.sectionNameTableIndex)
        if h.sectionHeaderOffset != 0 {
            guard Int(h.sectionHeaderEntrySize) == SectionHeader.size else {
                throw .invalid("e_shentsize", value: UInt64(h.sectionHeaderEntrySize))
            }
            guard h.sectionHeaderOffset <= UInt64(bytes.count) else {
                throw .truncated("section header table", offset: h.sectionHeaderOffset, size: UInt64(SectionHeader.size),
                                 available: UInt64(bytes.count))
            }
            let first = try SectionHeader(from: bytes, at: Int(h.sectionHeaderOffset))
            if count == 0 { // Extended numbering: the real count lives in section 0.
                guard first.size <= UInt64(bytes.count) / UInt64(SectionHeader.size) else {
                    throw .countOverflow("section header table", count: first.size, size: UInt64(SectionHeader.size))
                }
                count = Int(first.size)
            }
            if nameIndex == 0xffff { nameIndex = Int(first.link) }
            _ = try bytes.slice(offset: h.sectionHeaderOffset, size: UInt64(count) * UInt64(SectionHeader.size),
                                "section header table")
        } else {
            count = 0
        }
        guard nameIndex == 0 || nameIndex < count else {
            throw .outOfRange("e_shstrndx", value: UInt64(nameIndex), low: 0, high: UInt64(max(count, 1) - 1))
        }
        sectionCount = count
        sectionNameTableIndex = nameIndex
    }

    public var programHeaderCount: Int { Int(header.programHeaderCount) }

    public func section(_ index: Int) throws(SlideError) -> SectionHeader {
        guard index >= 0, index < sectionCount else {
            throw .outOfRange("section index", value: UInt64(truncatingIfNeeded: index), low: 0,
                              high: UInt64(max(sectionCount, 1) - 1))
        }
        return try SectionHeader(from: bytes, at: Int(header.sectionHeaderOffset) + index * SectionHeader.size)
    }

    public func programHeader(_ index: Int) throws(SlideError) -> ProgramHeader {
        guard index >= 0, index < programHeaderCount else {
            throw .outOfRange("program header index", value: UInt64(truncatingIfNeeded: index), low: 0,
                              high: UInt64(max(programHeaderCount, 1) - 1))
        }
        return try ProgramHeader(from: bytes, at: Int(header.programHeaderOffset) + index * ProgramHeader.size)
    }

    /// The bytes a section holds in the file (empty for NOBITS).
    public func contents(of s: SectionHeader) throws(SlideError) -> ByteView {
        try bytes.slice(offset: s.offset, size: s.fileSize, "section contents")
    }

    /// The NUL-terminated string at `offset` in string table section `tableIndex`.
    public func string(inTable tableIndex: Int, at offset: UInt32) throws(SlideError) -> String {
        String(try stringBytes(inTable: tableIndex, at: offset))
    }

    /// The bytes of the NUL-terminated string at `offset` in string table section `tableIndex` (no copy).
    public func stringBytes(inTable tableIndex: Int, at offset: UInt32) throws(SlideError) -> ByteView {
        let table = try contents(of: try section(tableIndex))
        guard Int(offset) < table.count else {
            throw .outOfRange("string offset", value: UInt64(offset), low: 0, high: UInt64(max(table.count, 1) - 1))
        }
        return try table.cString(at: Int(offset))
    }

    /// The name of a section, from the section name string table.
    public func name(of s: SectionHeader) throws(SlideError) -> String {
        sectionNameTableIndex == 0 ? "" : try string(inTable: sectionNameTableIndex, at: s.nameOffset)
    }

    /// The first section called `name`, with its index.
    public func section(named name: String) throws(SlideError) -> (index: Int, header: SectionHeader)? {
        for i in 0..<sectionCount {
            let s = try section(i)
            if try self.name(of: s) == name { return (i, s) }
        }
        return nil
    }

    /// Number of fixed-size entries in a table section, checking `sh_entsize` and the size.
    public func entryCount(of s: SectionHeader, entrySize: Int, _ what: StaticString) throws(SlideError) -> Int {
        if s.entrySize != 0 && s.entrySize != UInt64(entrySize) { throw .invalid(what, value: s.entrySize) }
        guard s.fileSize % UInt64(entrySize) == 0 else {
            throw .misaligned(what, value: s.fileSize, alignment: UInt64(entrySize))
        }
        _ = try contents(of: s)
        return Int(s.fileSize / UInt64(entrySize))
    }

    /// Symbol `index` of symbol table section `tableIndex`.
    public func symbol(_ index: Int, inTable tableIndex: Int) throws(SlideError) -> Symbol {
        let s = try section(tableIndex)
        let data = try contents(of: s)
        return try Symbol(from: data, at: index * Symbol.size)
    }

    /// The name of a symbol from symbol table section `tableIndex` (its `sh_link` names the strings).
    public func name(of sym: Symbol, inTable tableIndex: Int) throws(SlideError) -> String {
        let s = try section(tableIndex)
        return try string(inTable: Int(s.link), at: sym.nameOffset)
    }

    /// Maps a virtual address to a file offset through the PT_LOAD segments.
    public func fileOffset(ofAddress va: UInt64, size: UInt64 = 1) throws(SlideError) -> UInt64? {
        for i in 0..<programHeaderCount {
            let p = try programHeader(i)
            guard p.type == .load, va >= p.virtualAddress else { continue }
            let delta = va - p.virtualAddress
            if delta <= p.fileSize, size <= p.fileSize - delta { return p.offset + delta }
        }
        return nil
    }
}
