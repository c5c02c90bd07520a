// ELF enumerations as open structs (gABI, AAELF64): unknown values survive and print as hex.

/// `e_type`.
public struct ELFFileType: RawRepresentable, Sendable, Equatable, Hashable, CustomStringConvertible {
    public var rawValue: UInt16
    public init(rawValue: UInt16) { self.rawValue = rawValue }
    public static let none = ELFFileType(rawValue: 0)
    public static let rel = ELFFileType(rawValue: 1)
    public static let exec = ELFFileType(rawValue: 2)
    public static let dyn = ELFFileType(rawValue: 3)
    public static let core = ELFFileType(rawValue: 4)
    public var description: String {
        switch rawValue {
        case 0: "ET_NONE"
        case 1: "ET_REL"
        case 2: "ET_EXEC"
        case 3: "ET_DYN"
        case 4: "ET_CORE"
        default: "ET_<" + hex(UInt64(rawValue)) + ">"
        }
    }
}

/// `sh_type`.
public struct SectionType: RawRepresentable, Sendable, Equatable, Hashable, CustomStringConvertible {
    public var rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }
    public static let null = SectionType(rawValue: 0)
    public static let progbits = SectionType(rawValue: 1)
    public static let symtab = SectionType(rawValue: 2)
    public static let strtab = SectionType(rawValue: 3)
    public static let rela = SectionType(rawValue: 4)
    public static let hash = SectionType(rawValue: 5)
    public static let dynamic = SectionType(rawValue: 6)
    public static let note = SectionType(rawValue: 7)
    public static let nobits = SectionType(rawValue: 8)
    public static let rel = SectionType(rawValue: 9)
    public static let dynsym = SectionType(rawValue: 11)
    /// `SHT_RELR` (gABI, 2022).
    public static let relr = SectionType(rawValue: 19)
    /// `SHT_ANDROID_RELR`, written by lld with `--use-android-relr-tags`.
    public static let androidRelr = SectionType(rawValue: 0x6fff_ff00)
    public static let androidRel = SectionType(rawValue: 0x6000_0001)
    public static let androidRela = SectionType(rawValue: 0x6000_0002)

    /// Sorted by number.
    static let names: [(UInt32, StaticString)] = [
        (0, "NULL"), (1, "PROGBITS"), (2, "SYMTAB"), (3, "STRTAB"), (4, "RELA"), (5, "HASH"),
        (6, "DYNAMIC"), (7, "NOTE"), (8, "NOBITS"), (9, "REL"), (11, "DYNSYM"), (14, "INIT_ARRAY"),
        (15, "FINI_ARRAY"), (16, "PREINIT_ARRAY"), (17, "GROUP"), (18, "SYMTAB_SHNDX"), (19, "RELR"),
        (0x6000_0001, "ANDROID_REL"), (0x6000_0002, "ANDROID_RELA"), (0x6fff_4c00, "LLVM_ODRTAB"),
        (0x6fff_ff00, "ANDROID_RELR"), (0x6fff_fff6, "GNU_HASH"), (0x6fff_fffd, "VERDEF"),
        (0x6fff_fffe, "VERNEED"), (0x6fff_ffff, "VERSYM"), (0x7000_0003, "AARCH64_ATTRIBUTES"),
    ]
    public var description: String {
        specName(rawValue, in: Self.names).map { "SHT_" + $0.description } ?? "SHT_<" + hex(UInt64(rawValue)) + ">"
    }
}

/// `sh_flags` bits.
public struct SectionFlags: OptionSet, Sendable, Hashable {
    public var rawValue: UInt64
    public init(rawValue: UInt64) { self.rawValue = rawValue }
    public static let write = SectionFlags(rawValue: 0x1)
    public static let alloc = SectionFlags(rawValue: 0x2)
    public static let execinstr = SectionFlags(rawValue: 0x4)
    /// `SHF_TLS`: thread-local storage (a .tbss takes no address space of its own).
    public static let tls = SectionFlags(rawValue: 0x400)
}

/// `p_type`.
public struct SegmentType: RawRepresentable, Sendable, Equatable, Hashable, CustomStringConvertible {
    public var rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }
    public static let null = SegmentType(rawValue: 0)
    public static let load = SegmentType(rawValue: 1)
    public static let dynamic = SegmentType(rawValue: 2)
    public static let interp = SegmentType(rawValue: 3)
    public static let note = SegmentType(rawValue: 4)
    public static let phdr = SegmentType(rawValue: 6)
    public var description: String {
        switch rawValue {
        case 0: "PT_NULL"
        case 1: "PT_LOAD"
        case 2: "PT_DYNAMIC"
        case 3: "PT_INTERP"
        case 4: "PT_NOTE"
        case 6: "PT_PHDR"
        case 0x6474_e550: "PT_GNU_EH_FRAME"
        case 0x6474_e551: "PT_GNU_STACK"
        case 0x6474_e552: "PT_GNU_RELRO"
        default: "PT_<" + hex(UInt64(rawValue)) + ">"
        }
    }
}

/// `d_tag`.
public struct DynamicTag: RawRepresentable, Sendable, Equatable, Hashable, CustomStringConvertible {
    public var rawValue: Int64
    public init(rawValue: Int64) { self.rawValue = rawValue }
    public static let null = DynamicTag(rawValue: 0)
    public static let rela = DynamicTag(rawValue: 7)
    public static let relaSize = DynamicTag(rawValue: 8)
    public static let relaEntrySize = DynamicTag(rawValue: 9)
    public static let relrSize = DynamicTag(rawValue: 35)
    public static let relr = DynamicTag(rawValue: 36)
    public static let relrEntrySize = DynamicTag(rawValue: 37)
    public static let androidRelr = DynamicTag(rawValue: 0x6fff_e000)
    public static let androidRelrSize = DynamicTag(rawValue: 0x6fff_e001)
    public static let androidRelrEntrySize = DynamicTag(rawValue: 0x6fff_e003)
    public var description: String {
        switch rawValue {
        case 0: "DT_NULL"
        case 7: "DT_RELA"
        case 8: "DT_RELASZ"
        case 9: "DT_RELAENT"
        case 35: "DT_RELRSZ"
        case 36: "DT_RELR"
        case 37: "DT_RELRENT"
        case 0x6fff_e000: "DT_ANDROID_RELR"
        case 0x6fff_e001: "DT_ANDROID_RELRSZ"
        case 0x6fff_e003: "DT_ANDROID_RELRENT"
        default: "DT_<" + hex(UInt64(bitPattern: rawValue)) + ">"
        }
    }
}

/// `e_machine` values Slide names.
public enum ELFMachine {
    public static let aarch64: UInt16 = 183
}

/// Special `st_shndx` values (gABI "Sections", Table "Special Section Indexes").
public enum SectionIndex {
    public static let undefined: UInt16 = 0          // SHN_UNDEF
    public static let lowReserve: UInt16 = 0xff00    // SHN_LORESERVE
    public static let absolute: UInt16 = 0xfff1      // SHN_ABS
    public static let common: UInt16 = 0xfff2        // SHN_COMMON
}

/// `ELF64_ST_BIND(st_info)` (gABI "Symbol Table", "Symbol Binding").
public struct SymbolBinding: RawRepresentable, Sendable, Equatable, Hashable, CustomStringConvertible {
    public var rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }
    public static let local = SymbolBinding(rawValue: 0)
    public static let global = SymbolBinding(rawValue: 1)
    public static let weak = SymbolBinding(rawValue: 2)
    public var description: String {
        switch rawValue {
        case 0: "STB_LOCAL"
        case 1: "STB_GLOBAL"
        case 2: "STB_WEAK"
        default: "STB_<" + hex(UInt64(rawValue)) + ">"
        }
    }
}

/// `ELF64_ST_TYPE(st_info)` (gABI "Symbol Table", "Symbol Types").
public struct SymbolType: RawRepresentable, Sendable, Equatable, Hashable, CustomStringConvertible {
    public var rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }
    public static let noType = SymbolType(rawValue: 0)
    public static let object = SymbolType(rawValue: 1)
    public static let function = SymbolType(rawValue: 2)
    public static let section = SymbolType(rawValue: 3)
    public static let file = SymbolType(rawValue: 4)
    public var description: String {
        switch rawValue {
        case 0: "STT_NOTYPE"
        case 1: "STT_OBJECT"
        case 2: "STT_FUNC"
        case 3: "STT_SECTION"
        case 4: "STT_FILE"
        default: "STT_<" + hex(UInt64(rawValue)) + ">"
        }
    }
}

/// `p_flags` bits (gABI "Program Header").
public enum SegmentFlags {
    public static let execute: UInt32 = 1   // PF_X
    public static let write: UInt32 = 2     // PF_W
    public static let read: UInt32 = 4      // PF_R
}
