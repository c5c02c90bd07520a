// ELF64 records (gABI "ELF Header", "Sections", "Program Header", "Symbol Table", "Dynamic
// Section"), each decoded field by field from a bounds-checked view. Only ELFCLASS64,
// ELFDATA2LSB files are read: AArch64 kernels and modules are little-endian 64-bit.

/// The ELF file header (`Elf64_Ehdr`).
public struct ELFHeader: Equatable {
    public static let size = 64
    /// `e_type`.
    public var type: ELFFileType
    /// `e_machine` (183 = EM_AARCH64).
    public var machine: UInt16
    /// `e_entry`.
    public var entry: UInt64
    /// `e_phoff`: file offset of the program header table.
    public var programHeaderOffset: UInt64
    /// `e_shoff`: file offset of the section header table.
    public var sectionHeaderOffset: UInt64
    /// `e_flags`.
    public var flags: UInt32
    /// `e_phentsize`.
    public var programHeaderEntrySize: UInt16
    /// `e_phnum`.
    public var programHeaderCount: UInt16
    /// `e_shentsize`.
    public var sectionHeaderEntrySize: UInt16
    /// `e_shnum` (0 with extended numbering: the count is in section 0's `sh_size`).
    public var sectionHeaderCount: UInt16
    /// `e_shstrndx` (0xffff with extended numbering: the index is in section 0's `sh_link`).
    public var sectionNameTableIndex: UInt16

    public init(from b: ByteView) throws(SlideError) {
        guard b.matches("\u{7f}ELF", at: 0) else { throw .badMagic("ELF", offset: 0) }
        let cls = try b.u8(at: 4, "e_ident")
        guard cls == 2 else { throw .unsupported("ELF class (only ELFCLASS64)", value: UInt64(cls)) }
        let data = try b.u8(at: 5, "e_ident")
        guard data == 1 else { throw .unsupported("ELF data encoding (only little-endian)", value: UInt64(data)) }
        guard b.count >= Self.size else { throw .truncated("ELF header", offset: 0, size: Self.size, available: b.count) }
        type = ELFFileType(rawValue: try b.u16(at: 16))
        machine = try b.u16(at: 18)
        entry = try b.u64(at: 24)
        programHeaderOffset = try b.u64(at: 32)
        sectionHeaderOffset = try b.u64(at: 40)
        flags = try b.u32(at: 48)
        programHeaderEntrySize = try b.u16(at: 54)
        programHeaderCount = try b.u16(at: 56)
        sectionHeaderEntrySize = try b.u16(at: 58)
        sectionHeaderCount = try b.u16(at: 60)
        sectionNameTableIndex = try b.u16(at: 62)
    }

    public init(type: ELFFileType, machine: UInt16, entry: UInt64, programHeaderOffset: UInt64, programHeaderCount: UInt16,
                sectionHeaderOffset: UInt64, sectionHeaderCount: UInt16, sectionNameTableIndex: UInt16, flags: UInt32 = 0) {
        self.type = type; self.machine = machine; self.entry = entry; self.flags = flags
        self.programHeaderOffset = programHeaderOffset; self.programHeaderCount = programHeaderCount
        self.programHeaderEntrySize = UInt16(programHeaderCount == 0 ? 0 : ProgramHeader.size)
        self.sectionHeaderOffset = sectionHeaderOffset; self.sectionHeaderCount = sectionHeaderCount
        self.sectionHeaderEntrySize = UInt16(sectionHeaderCount == 0 ? 0 : SectionHeader.size)
        self.sectionNameTableIndex = sectionNameTableIndex
    }

    /// Writes the header at offset 0: `e_ident` (ELFCLASS64, ELFDATA2LSB, EV_CURRENT), then the fields.
    public func write(to b: MutableByteView) throws(SlideError) {
        for (i, v) in [0x7f, 0x45, 0x4c, 0x46, 2, 1, 1].enumerated() { try b.setU8(UInt8(v), at: i, "e_ident") }
        for i in 7..<16 { try b.setU8(0, at: i, "e_ident") }
        try b.setU16(type.rawValue, at: 16)
        try b.setU16(machine, at: 18)
        try b.setU32(1, at: 20)                           // e_version = EV_CURRENT
        try b.setU64(entry, at: 24)
        try b.setU64(programHeaderOffset, at: 32)
        try b.setU64(sectionHeaderOffset, at: 40)
        try b.setU32(flags, at: 48)
        try b.setU16(UInt16(Self.size), at: 52)           // e_ehsize
        try b.setU16(programHeaderEntrySize, at: 54)
        try b.setU16(programHeaderCount, at: 56)
        try b.setU16(sectionHeaderEntrySize, at: 58)
        try b.setU16(sectionHeaderCount, at: 60)
        try b.setU16(sectionNameTableIndex, at: 62)
    }
}

/// A section header (`Elf64_Shdr`).
public struct SectionHeader: Equatable {
    public static let size = 64
    /// `sh_name`: offset of the name in the section name string table.
    public var nameOffset: UInt32
    /// `sh_type`.
    public var type: SectionType
    /// `sh_flags`.
    public var flags: SectionFlags
    /// `sh_addr`.
    public var address: UInt64
    /// `sh_offset`.
    public var offset: UInt64
    /// `sh_size`.
    public var size: UInt64
    /// `sh_link`.
    public var link: UInt32
    /// `sh_info`.
    public var info: UInt32
    /// `sh_addralign`.
    public var addressAlignment: UInt64
    /// `sh_entsize`.
    public var entrySize: UInt64

    public init(from b: ByteView, at o: Int) throws(SlideError) {
        guard b.contains(offset: o, size: Self.size) else {
            throw .truncated("section header", offset: o, size: Self.size, available: b.count)
        }
        nameOffset = try b.u32(at: o)
        type = SectionType(rawValue: try b.u32(at: o + 4))
        flags = SectionFlags(rawValue: try b.u64(at: o + 8))
        address = try b.u64(at: o + 16)
        offset = try b.u64(at: o + 24)
        size = try b.u64(at: o + 32)
        link = try b.u32(at: o + 40)
        info = try b.u32(at: o + 44)
        addressAlignment = try b.u64(at: o + 48)
        entrySize = try b.u64(at: o + 56)
    }

    public init(nameOffset: UInt32, type: SectionType, flags: SectionFlags, address: UInt64, offset: UInt64, size: UInt64,
                link: UInt32 = 0, info: UInt32 = 0, addressAlignment: UInt64 = 1, entrySize: UInt64 = 0) {
        self.nameOffset = nameOffset; self.type = type; self.flags = flags; self.address = address; self.offset = offset
        self.size = size; self.link = link; self.info = info; self.addressAlignment = addressAlignment; self.entrySize = entrySize
    }

    public func write(to b: MutableByteView, at o: Int) throws(SlideError) {
        guard b.contains(offset: o, size: Self.size) else { throw .truncated("section header", offset: o, size: Self.size, available: b.count) }
        try b.setU32(nameOffset, at: o)
        try b.setU32(type.rawValue, at: o + 4)
        try b.setU64(flags.rawValue, at: o + 8)
        try b.setU64(address, at: o + 16)
        try b.setU64(offset, at: o + 24)
        try b.setU64(size, at: o + 32)
        try b.setU32(link, at: o + 40)
        try b.setU32(info, at: o + 44)
        try b.setU64(addressAlignment, at: o + 48)
        try b.setU64(entrySize, at: o + 56)
    }

    /// Bytes the section occupies in the file (NOBITS occupy none).
    public var fileSize: UInt64 { type == .nobits ? 0 : size }
}

/// A program header (`Elf64_Phdr`).
public struct ProgramHeader: Equatable {
    public static let size = 56
    /// `p_type`.
    public var type: SegmentType
    /// `p_flags` (PF_X 1, PF_W 2, PF_R 4).
    public var flags: UInt32
    /// `p_offset`.
    public var offset: UInt64
    /// `p_vaddr`.
    public var virtualAddress: UInt64
    /// `p_paddr`.
    public var physicalAddress: UInt64
    /// `p_filesz`.
    public var fileSize: UInt64
    /// `p_memsz`.
    public var memorySize: UInt64
    /// `p_align`.
    public var alignment: UInt64

    public init(from b: ByteView, at o: Int) throws(SlideError) {
        guard b.contains(offset: o, size: Self.size) else {
            throw .truncated("program header", offset: o, size: Self.size, available: b.count)
        }
        type = SegmentType(rawValue: try b.u32(at: o))
        flags = try b.u32(at: o + 4)
        offset = try b.u64(at: o + 8)
        virtualAddress = try b.u64(at: o + 16)
        physicalAddress = try b.u64(at: o + 24)
        fileSize = try b.u64(at: o + 32)
        memorySize = try b.u64(at: o + 40)
        alignment = try b.u64(at: o + 48)
    }

    public init(type: SegmentType, flags: UInt32, offset: UInt64, virtualAddress: UInt64, physicalAddress: UInt64,
                fileSize: UInt64, memorySize: UInt64, alignment: UInt64) {
        self.type = type; self.flags = flags; self.offset = offset; self.virtualAddress = virtualAddress
        self.physicalAddress = physicalAddress; self.fileSize = fileSize; self.memorySize = memorySize; self.alignment = alignment
    }

    public func write(to b: MutableByteView, at o: Int) throws(SlideError) {
        guard b.contains(offset: o, size: Self.size) else { throw .truncated("program header", offset: o, size: Self.size, available: b.count) }
        try b.setU32(type.rawValue, at: o)
        try b.setU32(flags, at: o + 4)
        try b.setU64(offset, at: o + 8)
        try b.setU64(virtualAddress, at: o + 16)
        try b.setU64(physicalAddress, at: o + 24)
        try b.setU64(fileSize, at: o + 32)
        try b.setU64(memorySize, at: o + 40)
        try b.setU64(alignment, at: o + 48)
    }
}

/// A symbol (`Elf64_Sym`).
public struct Symbol: Equatable {
    public static let size = 24
    /// `st_name`.
    public var nameOffset: UInt32
    /// `st_info`: binding in the high nibble, type in the low nibble.
    public var info: UInt8
    /// `st_other`: visibility in the low two bits.
    public var other: UInt8
    /// `st_shndx` (0 = SHN_UNDEF, 0xfff1 = SHN_ABS, 0xfff2 = SHN_COMMON).
    public var sectionIndex: UInt16
    /// `st_value`.
    public var value: UInt64
    /// `st_size`.
    public var size: UInt64

    public init(from b: ByteView, at o: Int) throws(SlideError) {
        guard b.contains(offset: o, size: Self.size) else {
            throw .truncated("symbol", offset: o, size: Self.size, available: b.count)
        }
        nameOffset = try b.u32(at: o)
        info = try b.u8(at: o + 4)
        other = try b.u8(at: o + 5)
        sectionIndex = try b.u16(at: o + 6)
        value = try b.u64(at: o + 8)
        size = try b.u64(at: o + 16)
    }

    public init(nameOffset: UInt32, binding: SymbolBinding, type: SymbolType, other: UInt8 = 0, sectionIndex: UInt16, value: UInt64, size: UInt64) {
        self.nameOffset = nameOffset; self.info = binding.rawValue << 4 | (type.rawValue & 0xf); self.other = other
        self.sectionIndex = sectionIndex; self.value = value; self.size = size
    }

    public func write(to b: MutableByteView, at o: Int) throws(SlideError) {
        guard b.contains(offset: o, size: Self.size) else { throw .truncated("symbol", offset: o, size: Self.size, available: b.count) }
        try b.setU32(nameOffset, at: o)
        try b.setU8(info, at: o + 4)
        try b.setU8(other, at: o + 5)
        try b.setU16(sectionIndex, at: o + 6)
        try b.setU64(value, at: o + 8)
        try b.setU64(size, at: o + 16)
    }

    public var binding: UInt8 { info >> 4 }
    public var symbolType: UInt8 { info & 0xf }
    public var isUndefined: Bool { sectionIndex == SectionIndex.undefined }
}

/// A dynamic section entry (`Elf64_Dyn`).
public struct DynamicEntry: Equatable {
    public static let size = 16
    /// `d_tag`.
    public var tag: DynamicTag
    /// `d_val` / `d_ptr`.
    public var value: UInt64

    public init(from b: ByteView, at o: Int) throws(SlideError) {
        tag = DynamicTag(rawValue: Int64(bitPattern: try b.u64(at: o, "dynamic entry")))
        value = try b.u64(at: o + 8, "dynamic entry")
    }
}
