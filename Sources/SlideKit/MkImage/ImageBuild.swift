// The value mkimage's passes share: the ELF as read, the image being built, and what each pass
// found or wrote.

import SlideCore

/// What the ELF says besides its image: symbols, function symbols, `__ex_table`, `.rela.plt`.
struct ELFFacts {
    var type: ELFFileType
    var symbols: [String: UInt64] = [:]
    var functions: [(name: String, value: UInt64)] = []
    /// The size of the `slide_symtab` placeholder.
    var symtabSize: UInt64 = 0
    /// `__ex_table`'s image offset and size.
    var extable: (offset: Int, size: Int)? = nil
    var pltEntries = 0

    init(_ view: ByteView, linkBase: UInt64) throws(SlideError) {
        let elf = try ELFFile(view)
        type = elf.header.type
        for i in 0..<elf.sectionCount {
            let s = try elf.section(i)
            if s.type == .symtab { try readSymbols(elf, table: i, s) }
            if try elf.name(of: s) == "__ex_table", s.flags.contains(.alloc) {
                extable = (Int(s.address &- linkBase), Int(s.size))
            }
            if s.type == .rela, s.flags.contains(.alloc), try elf.name(of: s) == ".rela.plt", s.size > 0 {
                pltEntries = Int(s.size) / RelaEntry.size
            }
        }
    }

    private mutating func readSymbols(_ elf: ELFFile, table i: Int, _ s: SectionHeader) throws(SlideError) {
        let n = try elf.entryCount(of: s, entrySize: Symbol.size, "SYMTAB sh_entsize")
        for j in 0..<n {
            let sym = try elf.symbol(j, inTable: i)
            guard !sym.isUndefined else { continue }
            let name = try elf.name(of: sym, inTable: i)
            symbols[name] = sym.value
            if sym.symbolType == SymbolType.function.rawValue { functions.append((name, sym.value)) }
            if name == "slide_symtab" { symtabSize = sym.size }
        }
    }
}

struct ImageBuild {
    let path: String
    let options: BuildOptions
    /// The ELF, loaded with its sections' tables.
    let input: KernelImage
    let elf: ELFFacts
    var header: ImageHeader
    var image: [UInt8]
    var notes: [String] = []
    /// R_AARCH64_RELATIVE places, and the entries the boot code skips (NONE, accepted symbolic ones).
    var relativePlaces: [UInt64] = []
    var kept: [RelaEntry] = []
    /// The tables' image ranges, as built.
    var relaRange = 0..<0, relrRange = 0..<0
    var relaEntries = 0, relrWords = 0, relrPlaces = 0, saved = 0
    var extableEntries = 0
    var sealed = false

    /// Reads the ELF and refuses what no pass can make bootable.
    init(_ path: String, _ options: BuildOptions) throws(SlideKitError) {
        let bytes = try Files.read(path)
        guard case .elf = FileKind(bytes) else { throw SlideKitError(path, "not an ELF file: mkimage takes the linked kernel ELF") }
        let k = try KernelImage.load(bytes: bytes, path: path)
        let facts: ELFFacts
        do throws(SlideError) {
            facts = try bytes.withView { (view) throws(SlideError) -> ELFFacts in try ELFFacts(view, linkBase: k.linkBase) }
        } catch { throw SlideKitError(path, error) }
        if facts.pltEntries > 0 {
            throw SlideKitError(path, "\(facts.pltEntries) PLT relocation(s) in .rela.plt (R_AARCH64_JUMP_SLOT): the boot code cannot bind calls through a PLT")
        }
        guard facts.type == .dyn else { throw SlideKitError(path, "ELF type is \(facts.type), not ET_DYN: link the kernel with -pie (or -shared -Bsymbolic)") }
        guard let header = k.header else {
            throw SlideKitError(path, "no arm64 Image header (\"ARM\\x64\" at 0x38) at the start of the image: link one in as the first section")
        }
        self.path = path
        self.options = options
        self.input = k
        self.elf = facts
        self.header = header
        self.image = k.bytes
    }

    var linkBase: UInt64 { input.linkBase }

    func refuse(_ why: String) -> SlideKitError { SlideKitError(path, why) }

    /// Runs SlideCore code, naming this file in its errors.
    func lift<T>(_ body: () throws(SlideError) -> T) throws(SlideKitError) -> T {
        do throws(SlideError) { return try body() } catch { throw SlideKitError(path, error) }
    }

    /// The image as a mutable view, errors naming this file.
    mutating func edit<T>(_ body: (MutableByteView) throws(SlideError) -> T) throws(SlideKitError) -> T {
        do throws(SlideError) { return try image.withMutableView(body) } catch { throw SlideKitError(path, error) }
    }
}
