// The PE/COFF header that makes an arm64 Image an EFI application (docs/image.md, "The PE/COFF
// header"): the layout's one definition, read by `slide inspect`/`verify` (SlideKit's PEInfo),
// written by `slide mkimage` (MkImage/Stages/PEHeaderStage.swift), and sized for the room
// Kernel/Asm/head.S leaves for it (PE_HEADER_SIZE in the generated asm-offsets.h).
//
// Microsoft PE format: "PE\0\0", the 20-byte COFF file header, the PE32+ optional header
// (112 bytes of fields, then the data directories, 8 bytes each), then 40 bytes per section.
// Linux lays its own out the same way (arch/arm64/kernel/efi-header.S): no DOS stub beyond
// "MZ" in code0 and the header's offset at 0x3c (the Image header's res5), six data
// directories, a .text and a .data section, image offsets as RVAs (ImageBase 0).

public enum PECOFF {
    /// "PE\0\0" read as a little-endian u32.
    public static let signature: UInt32 = 0x0000_4550
    /// COFF `Machine` for arm64 (IMAGE_FILE_MACHINE_ARM64).
    public static let machineARM64: UInt16 = 0xaa64
    /// Optional header magic for PE32+.
    public static let pe32PlusMagic: UInt16 = 0x20b
    /// Optional header `Subsystem`: IMAGE_SUBSYSTEM_EFI_APPLICATION.
    public static let subsystemEFIApplication: UInt16 = 10
    /// COFF `Characteristics`: executable image, line numbers and debug information stripped.
    public static let imageCharacteristics: UInt16 = 0x0002 | 0x0004 | 0x0200
    /// Section `Characteristics` bits.
    public static let sectionCode: UInt32 = 0x20, sectionInitializedData: UInt32 = 0x40
    public static let sectionExecute: UInt32 = 0x2000_0000, sectionRead: UInt32 = 0x4000_0000, sectionWrite: UInt32 = 0x8000_0000
    /// `FileAlignment`: the PE format's smallest (512). Each section's raw data starts and ends
    /// on it; Kernel/kernel.lds pads the Image's data to it (PE_FILE_ALIGNMENT).
    public static let fileAlignment: UInt32 = 0x200

    /// Data directories written: export, import, resource, exception, certificate (4: the
    /// Authenticode signature `sbsign` appends), base relocation (5: none, the image runs
    /// where the firmware puts it without fixups before its own relocation).
    public static let dataDirectoryCount = 6
    public static let certificateDirectory = 4
    public static let baseRelocationDirectory = 5

    /// Offsets from the "PE\0\0" signature.
    public static let coffHeader = 4
    public static let optionalHeader = 24
    /// The PE32+ optional header's fields before the data directories.
    public static let optionalFixedSize = 112
    public static let sectionHeaderSize = 40
    /// Sections written: .text and .data.
    public static let sectionCount = 2
    public static let optionalHeaderSize = optionalFixedSize + dataDirectoryCount * 8
    /// Bytes from the signature to the end of the section table: the room head.S leaves.
    public static let headerSize = optionalHeader + optionalHeaderSize + sectionCount * sectionHeaderSize
    /// The PE header's most sections a reader accepts (bounds a hostile NumberOfSections).
    public static let maxSections = 96

    /// A section name's 8 bytes as a little-endian u64 (".text" padded with NULs).
    public static func sectionName(_ name: StaticString) -> UInt64 {
        var v: UInt64 = 0
        let n = min(name.utf8CodeUnitCount, 8)
        for i in 0..<n { v |= UInt64(name.utf8Start[i]) << (8 * UInt64(i)) }
        return v
    }
}

/// One section table entry.
public struct PESection: Equatable {
    public var name: UInt64
    public var virtualSize: UInt32
    public var virtualAddress: UInt32
    public var rawSize: UInt32
    public var rawPointer: UInt32
    public var characteristics: UInt32

    public init(name: UInt64, virtualSize: UInt32, virtualAddress: UInt32, rawSize: UInt32, rawPointer: UInt32, characteristics: UInt32) {
        self.name = name
        self.virtualSize = virtualSize
        self.virtualAddress = virtualAddress
        self.rawSize = rawSize
        self.rawPointer = rawPointer
        self.characteristics = characteristics
    }

    public var isExecutable: Bool { characteristics & PECOFF.sectionExecute != 0 }
    public var virtualEnd: UInt64 { UInt64(virtualAddress) + UInt64(virtualSize) }
    public var rawEnd: UInt64 { UInt64(rawPointer) + UInt64(rawSize) }
}

/// The header's fields that place and start the image.
public struct PEHeader: Equatable {
    public var machine: UInt16 = PECOFF.machineARM64
    public var characteristics: UInt16 = PECOFF.imageCharacteristics
    public var magic: UInt16 = PECOFF.pe32PlusMagic
    public var sizeOfCode: UInt32 = 0
    public var sizeOfInitializedData: UInt32 = 0
    public var entryPoint: UInt32 = 0
    public var baseOfCode: UInt32 = 0
    public var imageBase: UInt64 = 0
    public var sectionAlignment: UInt32 = 0
    public var fileAlignment: UInt32 = PECOFF.fileAlignment
    public var sizeOfImage: UInt32 = 0
    public var sizeOfHeaders: UInt32 = 0
    public var checkSum: UInt32 = 0
    public var subsystem: UInt16 = PECOFF.subsystemEFIApplication
    public var directoryCount: UInt32 = UInt32(PECOFF.dataDirectoryCount)
    /// Data directories present (at most `PECOFF.dataDirectoryCount` are kept).
    public var directories: [(rva: UInt32, size: UInt32)] = Array(repeating: (0, 0), count: PECOFF.dataDirectoryCount)
    /// COFF `SizeOfOptionalHeader`: the section table follows the optional header. As read; the
    /// writer always writes `PECOFF.optionalHeaderSize` (its six directories).
    public var optionalHeaderSize: Int = PECOFF.optionalHeaderSize
    public var sections: [PESection] = []

    public init() {}

    public static func == (a: PEHeader, b: PEHeader) -> Bool {
        a.machine == b.machine && a.characteristics == b.characteristics && a.magic == b.magic && a.sizeOfCode == b.sizeOfCode
            && a.sizeOfInitializedData == b.sizeOfInitializedData && a.entryPoint == b.entryPoint && a.baseOfCode == b.baseOfCode
            && a.imageBase == b.imageBase && a.sectionAlignment == b.sectionAlignment && a.fileAlignment == b.fileAlignment
            && a.sizeOfImage == b.sizeOfImage && a.sizeOfHeaders == b.sizeOfHeaders && a.checkSum == b.checkSum
            && a.subsystem == b.subsystem && a.directoryCount == b.directoryCount && a.sections == b.sections
            && a.optionalHeaderSize == b.optionalHeaderSize
            && a.directories.count == b.directories.count
            && !zip(a.directories, b.directories).contains { $0.0.rva != $0.1.rva || $0.0.size != $0.1.size }
    }

    /// The data directory `index`, when the header has that many.
    public func directory(_ index: Int) -> (rva: UInt32, size: UInt32)? {
        index < directories.count && index < Int(directoryCount) ? directories[index] : nil
    }
}

extension PEHeader {
    /// Offsets of the optional header's fields (PE32+), from the optional header's start.
    enum Field {
        static let sizeOfCode = 4, sizeOfInitializedData = 8, entryPoint = 16, baseOfCode = 20, imageBase = 24
        static let sectionAlignment = 32, fileAlignment = 36, sizeOfImage = 56, sizeOfHeaders = 60, checkSum = 64
        static let subsystem = 68, directoryCount = 108
    }

    /// File offset of the certificate table's data directory entry for a header at `offset`.
    public static func certificateDirectoryOffset(headerAt offset: Int) -> Int {
        offset + PECOFF.optionalHeader + PECOFF.optionalFixedSize + PECOFF.certificateDirectory * 8
    }

    /// File offset of `CheckSum` for a header at `offset`.
    public static func checkSumOffset(headerAt offset: Int) -> Int { offset + PECOFF.optionalHeader + Field.checkSum }

    /// Decodes the header at `offset` (the Image header's res5): PE32+ only, every field bounds-checked.
    public init(from b: ByteView, at offset: Int) throws(SlideError) {
        guard offset >= 0, b.matches("PE\0\0", at: offset) else { throw .badMagic("PE", offset: UInt64(max(offset, 0))) }
        let coff = offset + PECOFF.coffHeader
        machine = try b.u16(at: coff, "COFF Machine")
        let count = Int(try b.u16(at: coff + 2, "COFF NumberOfSections"))
        let optionalSize = Int(try b.u16(at: coff + 16, "COFF SizeOfOptionalHeader"))
        optionalHeaderSize = optionalSize
        characteristics = try b.u16(at: coff + 18, "COFF Characteristics")
        let opt = offset + PECOFF.optionalHeader
        magic = try b.u16(at: opt, "optional header magic")
        guard magic == PECOFF.pe32PlusMagic else { throw .unsupported("PE optional header magic (only PE32+)", value: UInt64(magic)) }
        guard optionalSize >= PECOFF.optionalFixedSize else {
            throw .outOfRange("PE SizeOfOptionalHeader", value: UInt64(optionalSize), low: UInt64(PECOFF.optionalFixedSize), high: 0xffff)
        }
        sizeOfCode = try b.u32(at: opt + Field.sizeOfCode, "PE SizeOfCode")
        sizeOfInitializedData = try b.u32(at: opt + Field.sizeOfInitializedData, "PE SizeOfInitializedData")
        entryPoint = try b.u32(at: opt + Field.entryPoint, "PE AddressOfEntryPoint")
        baseOfCode = try b.u32(at: opt + Field.baseOfCode, "PE BaseOfCode")
        imageBase = try b.u64(at: opt + Field.imageBase, "PE ImageBase")
        sectionAlignment = try b.u32(at: opt + Field.sectionAlignment, "PE SectionAlignment")
        fileAlignment = try b.u32(at: opt + Field.fileAlignment, "PE FileAlignment")
        sizeOfImage = try b.u32(at: opt + Field.sizeOfImage, "PE SizeOfImage")
        sizeOfHeaders = try b.u32(at: opt + Field.sizeOfHeaders, "PE SizeOfHeaders")
        checkSum = try b.u32(at: opt + Field.checkSum, "PE CheckSum")
        subsystem = try b.u16(at: opt + Field.subsystem, "PE Subsystem")
        directoryCount = try b.u32(at: opt + Field.directoryCount, "PE NumberOfRvaAndSizes")
        // Only the directories that fit the optional header are read, and only the first six matter.
        let present = min(Int(min(directoryCount, 16)), (optionalSize - PECOFF.optionalFixedSize) / 8, PECOFF.dataDirectoryCount)
        directories = []
        for i in 0..<present {
            let at = opt + PECOFF.optionalFixedSize + i * 8
            directories.append((try b.u32(at: at, "PE data directory"), try b.u32(at: at + 4, "PE data directory size")))
        }
        guard count <= PECOFF.maxSections else { throw .countOverflow("PE section table", count: UInt64(count), size: UInt64(PECOFF.sectionHeaderSize)) }
        sections = []
        for i in 0..<count {
            sections.append(try PESection(from: b, at: opt + optionalSize + i * PECOFF.sectionHeaderSize))
        }
    }

    /// Writes the header at `offset`: signature, COFF header, the optional header with
    /// `PECOFF.dataDirectoryCount` directories, then the sections.
    public func write(to b: MutableByteView, at offset: Int) throws(SlideError) {
        let size = PECOFF.optionalHeader + PECOFF.optionalHeaderSize + sections.count * PECOFF.sectionHeaderSize
        guard offset >= 0, b.contains(offset: offset, size: size) else {
            throw .truncated("PE header", offset: UInt64(max(offset, 0)), size: UInt64(size), available: UInt64(b.count))
        }
        try b.setU32(PECOFF.signature, at: offset)
        let coff = offset + PECOFF.coffHeader
        try b.setU16(machine, at: coff)
        try b.setU16(UInt16(sections.count), at: coff + 2)
        try b.setU16(UInt16(PECOFF.optionalHeaderSize), at: coff + 16)
        try b.setU16(characteristics, at: coff + 18)
        let opt = offset + PECOFF.optionalHeader
        try b.setU16(magic, at: opt)
        try b.setU32(sizeOfCode, at: opt + Field.sizeOfCode)
        try b.setU32(sizeOfInitializedData, at: opt + Field.sizeOfInitializedData)
        try b.setU32(entryPoint, at: opt + Field.entryPoint)
        try b.setU32(baseOfCode, at: opt + Field.baseOfCode)
        try b.setU64(imageBase, at: opt + Field.imageBase)
        try b.setU32(sectionAlignment, at: opt + Field.sectionAlignment)
        try b.setU32(fileAlignment, at: opt + Field.fileAlignment)
        try b.setU32(sizeOfImage, at: opt + Field.sizeOfImage)
        try b.setU32(sizeOfHeaders, at: opt + Field.sizeOfHeaders)
        try b.setU32(checkSum, at: opt + Field.checkSum)
        try b.setU16(subsystem, at: opt + Field.subsystem)
        try b.setU32(UInt32(PECOFF.dataDirectoryCount), at: opt + Field.directoryCount)
        for i in 0..<PECOFF.dataDirectoryCount {
            let d: (rva: UInt32, size: UInt32) = i < directories.count ? directories[i] : (0, 0)
            try b.setU32(d.rva, at: opt + PECOFF.optionalFixedSize + i * 8)
            try b.setU32(d.size, at: opt + PECOFF.optionalFixedSize + i * 8 + 4)
        }
        for (i, s) in sections.enumerated() {
            try s.write(to: b, at: opt + PECOFF.optionalHeaderSize + i * PECOFF.sectionHeaderSize)
        }
    }
}

extension PESection {
    public init(from b: ByteView, at s: Int) throws(SlideError) {
        name = try b.u64(at: s, "PE section Name")
        virtualSize = try b.u32(at: s + 8, "PE section VirtualSize")
        virtualAddress = try b.u32(at: s + 12, "PE section VirtualAddress")
        rawSize = try b.u32(at: s + 16, "PE section SizeOfRawData")
        rawPointer = try b.u32(at: s + 20, "PE section PointerToRawData")
        characteristics = try b.u32(at: s + 36, "PE section Characteristics")
    }

    func write(to b: MutableByteView, at s: Int) throws(SlideError) {
        try b.setU64(name, at: s)
        try b.setU32(virtualSize, at: s + 8)
        try b.setU32(virtualAddress, at: s + 12)
        try b.setU32(rawSize, at: s + 16)
        try b.setU32(rawPointer, at: s + 20)
        try b.setU32(characteristics, at: s + 36)
    }
}
