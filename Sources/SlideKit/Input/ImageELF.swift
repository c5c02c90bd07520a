// `relocate --format elf`: a flat kernel image, already relocated, as an ELF64 that
// disassemblers and debuggers load without help (gABI "ELF Header", "Sections", "Symbol Table").
//
// One PT_LOAD holds the image at its run-time address (file bytes = the image's data, memory
// size = its image_size, so BSS is covered). Section headers split it where the kernel's own
// boundary symbols say (`_stext`, `_etext`, `__start_rodata`, `_sinittext`, `_einittext`,
// `_sdata`, `_edata`, `__bss_start`, `_end`, as arch/arm64/kernel/vmlinux.lds.S defines them in
// 5.10 to 7.x): code is SHF_EXECINSTR, read-only data is not SHF_WRITE, BSS is SHT_NOBITS. A
// boundary kallsyms does not list (5.10 and 6.1 list text symbols only) just leaves its
// neighbours merged; with no boundaries at all, one section covers the image. Where kallsyms
// ends at `_einittext` (5.10, 6.1 list text only), the EFI header's `.text` section says where
// the executable mapping really ends (exit text and alternatives follow the init text), and the
// init text runs on to there. `.symtab` holds every symbol at its run-time address, locals first
// as gABI requires; a function's size, which kallsyms does not record, is the distance to the
// next symbol in its section (disassemblers delimit functions by it).
//
// An ELF input keeps its own section headers (names, flags, addresses shifted) and its own
// `.symtab` (values shifted, sizes kept): the flat image only supplies the relocated bytes.

import SlideCore

public enum ImageELF {
    /// A section of the image, in image offsets.
    public struct Region: Equatable {
        public enum Kind: Equatable, Sendable { case code, readOnly, data, bss, whole }
        public var name: String
        public var start: UInt64
        public var end: UInt64
        public var kind: Kind
    }

    /// What starts at each boundary symbol. Consecutive spans with the same name are one section.
    static let boundaries: [(symbol: String, section: String, kind: Region.Kind)] = [
        ("_text", ".head.text", .code),
        ("_stext", ".text", .code),
        ("_etext", ".rodata", .readOnly),
        ("__start_rodata", ".rodata", .readOnly),
        ("__init_begin", ".init.data", .data),
        ("_sinittext", ".init.text", .code),
        ("_einittext", ".init.data", .data),
        ("__exittext_begin", ".exit.text", .code),
        ("__exittext_end", ".init.data", .data),
        ("__initdata_begin", ".init.data", .data),
        ("_sdata", ".data", .data),
        ("_edata", ".data", .data),
        ("__bss_start", ".bss", .bss),
    ]

    /// Every boundary symbol the sections are cut at, `_end` included.
    public static var boundarySymbols: [String] { boundaries.map(\.symbol) + ["_end"] }

    /// The sections for an image of `dataSize` file bytes and `memorySize` bytes in memory, from
    /// the boundary symbols `symbols` names (link-time addresses, image at `linkBase`).
    public static func regions(symbols: [KernelSymbol], linkBase: UInt64, dataSize: Int, memorySize: UInt64,
                               executableEnd: UInt64? = nil) -> [Region] {
        let regions = markedRegions(symbols: symbols, linkBase: linkBase, dataSize: dataSize, memorySize: memorySize)
        guard let executableEnd else { return regions }
        return extendingInitText(regions, to: executableEnd)
    }

    /// The regions with `.init.text` running on to `end` (what follows it below `end` is code).
    static func extendingInitText(_ regions: [Region], to end: UInt64) -> [Region] {
        guard let i = regions.firstIndex(where: { $0.name == ".init.text" && $0.kind == .code }), regions[i].end < end else { return regions }
        var out = Array(regions[...i])
        for r in regions[(i + 1)...] {
            if r.start < end && r.kind != .bss {
                out[out.count - 1].end = min(r.end, end)
                if r.end > end { out.append(Region(name: r.name, start: end, end: r.end, kind: r.kind)) }
            } else {
                out.append(r)
            }
        }
        return out
    }

    static func markedRegions(symbols: [KernelSymbol], linkBase: UInt64, dataSize: Int, memorySize: UInt64) -> [Region] {
        let data = UInt64(dataSize), memory = max(memorySize, data)
        let firstAddress = KernelSymbols.addresses(symbols)
        // The boundaries inside the image, in address order (ties keep the table's order).
        var marks: [(offset: UInt64, section: String, kind: Region.Kind)] = []
        // Without `_sdata` (kallsyms of text only) the span after init text runs on through .data.
        let dataName = firstAddress["_sdata"] != nil ? ".init.data" : ".data"
        for b in boundaries {
            guard let a = firstAddress[b.symbol], a >= linkBase, a &- linkBase < memory else { continue }
            marks.append((a &- linkBase, b.section == ".init.data" ? dataName : b.section, b.kind))
        }
        let end = firstAddress["_end"].flatMap { $0 >= linkBase && $0 &- linkBase <= memory ? $0 &- linkBase : nil } ?? memory
        guard !marks.isEmpty else {
            return [Region(name: ".image", start: 0, end: data, kind: .whole)]
                + (memory > data ? [Region(name: ".bss", start: data, end: memory, kind: .bss)] : [])
        }
        marks = marks.enumerated().sorted { ($0.element.offset, $0.offset) < ($1.element.offset, $1.offset) }.map(\.element)
        if marks[0].offset > 0 { marks.insert((0, ".head.text", .code), at: 0) }
        var regions: [Region] = []
        func add(_ name: String, _ start: UInt64, _ stop: UInt64, _ kind: Region.Kind) {
            guard stop > start else { return }
            // File-backed kinds end where the file does; the rest is memory only.
            if kind != .bss && stop > data {
                add(name, start, data, kind)
                add(".bss", max(start, data), stop, .bss)
                return
            }
            if var last = regions.last, last.name == name, last.kind == kind, last.end == start {
                last.end = stop
                regions[regions.count - 1] = last
            } else {
                regions.append(Region(name: name, start: start, end: stop, kind: kind))
            }
        }
        for (i, m) in marks.enumerated() {
            let stop = i + 1 < marks.count ? marks[i + 1].offset : max(end, m.offset)
            add(m.section, m.offset, min(stop, memory), m.kind)
        }
        if end < data { add(".data", end, data, .data) }
        return regions
    }

    /// The ELF: header, one PT_LOAD, the image, `.symtab`/`.strtab`/`.shstrtab`, section headers.
    /// `image` is already relocated for `address`; symbol addresses are link-time and get
    /// `address - linkBase` added (absolute `A`/`a` symbols keep their value).
    public static func build(image: [UInt8], dataSize: Int, memorySize: UInt64, linkBase: UInt64, address: UInt64, entry: UInt64,
                             regions: [Region], symbols: [KernelSymbol]) throws(SlideKitError) -> [UInt8] {
        let table = SymbolTable(symbols, regions: regions, linkBase: linkBase, displacement: address &- linkBase,
                                imageEnd: max(memorySize, UInt64(dataSize)))
        guard table.strtab.count < Int(UInt32.max) else { throw SlideKitError("relocate", "symbol names exceed 4 GiB") }
        let allSymbols = table.entries
        var names = SectionNames()
        let strtab = table.strtab
        let locals = table.locals

        // Layout. p_offset ≡ p_vaddr (mod page), so a misaligned address still loads.
        func align(_ x: Int, _ a: Int) -> Int { (x + a - 1) & ~(a - 1) }
        let phOffset = ELFHeader.size
        let dataOffset = 0x1000 + Int(address & 0xfff)
        let symtabOffset = align(dataOffset + dataSize, 8)
        let strtabOffset = symtabOffset + allSymbols.count * SlideCore.Symbol.size
        var headers = [SectionHeader(nameOffset: 0, type: .null, flags: [], address: 0, offset: 0, size: 0, addressAlignment: 0)]
            + regionHeaders(regions, address: address, dataOffset: dataOffset, dataSize: dataSize, names: &names)
        let symtabIndex = headers.count
        headers.append(SectionHeader(nameOffset: names.add(".symtab"), type: .symtab, flags: [], address: 0, offset: UInt64(symtabOffset),
                                     size: UInt64(allSymbols.count * SlideCore.Symbol.size), link: UInt32(symtabIndex + 1),
                                     info: UInt32(1 + locals), addressAlignment: 8, entrySize: UInt64(SlideCore.Symbol.size)))
        headers.append(SectionHeader(nameOffset: names.add(".strtab"), type: .strtab, flags: [], address: 0, offset: UInt64(strtabOffset),
                                     size: UInt64(strtab.count)))
        let shstrtabIndex = headers.count
        let shstrtabOffset = strtabOffset + strtab.count
        headers.append(SectionHeader(nameOffset: names.add(".shstrtab"), type: .strtab, flags: [], address: 0, offset: UInt64(shstrtabOffset),
                                     size: 0))
        let shstrtab = names.bytes
        headers[shstrtabIndex].size = UInt64(shstrtab.count)
        let shOffset = align(shstrtabOffset + shstrtab.count, 8)
        let total = shOffset + headers.count * SectionHeader.size

        let header = ELFHeader(type: .exec, machine: ELFMachine.aarch64, entry: entry, programHeaderOffset: UInt64(phOffset),
                               programHeaderCount: 1, sectionHeaderOffset: UInt64(shOffset), sectionHeaderCount: UInt16(headers.count),
                               sectionNameTableIndex: UInt16(shstrtabIndex))
        let load = ProgramHeader(type: .load, flags: SegmentFlags.read | SegmentFlags.write | SegmentFlags.execute,
                                 offset: UInt64(dataOffset), virtualAddress: address, physicalAddress: address,
                                 fileSize: UInt64(dataSize), memorySize: max(memorySize, UInt64(dataSize)), alignment: 0x1000)
        var out = [UInt8](repeating: 0, count: total)
        do {
            try out.withMutableView { (b) throws(SlideError) in
                try header.write(to: b)
                try load.write(to: b, at: phOffset)
                for (i, s) in allSymbols.enumerated() { try s.write(to: b, at: symtabOffset + i * SlideCore.Symbol.size) }
                for (i, h) in headers.enumerated() { try h.write(to: b, at: shOffset + i * SectionHeader.size) }
            }
        } catch {
            throw SlideKitError("relocate", "ELF layout: \(error)")
        }
        out.replaceSubrange(dataOffset..<(dataOffset + dataSize), with: image[0..<dataSize])
        out.replaceSubrange(strtabOffset..<(strtabOffset + strtab.count), with: strtab)
        out.replaceSubrange(shstrtabOffset..<(shstrtabOffset + shstrtab.count), with: shstrtab)
        return out
    }
}

extension ImageELF {
    /// `.shstrtab` as it is written: each name once, NUL-terminated, after a leading NUL.
    struct SectionNames {
        var bytes: [UInt8] = [0]
        mutating func add(_ s: String) -> UInt32 {
            let o = UInt32(bytes.count)
            bytes += Array(s.utf8) + [0]
            return o
        }
    }

    /// One section header per region, its bytes in the file's copy of the image (none for BSS).
    static func regionHeaders(_ regions: [Region], address: UInt64, dataOffset: Int, dataSize: Int,
                              names: inout SectionNames) -> [SectionHeader] {
        regions.map { r in
            let flags: SectionFlags = switch r.kind {
            case .code: [.alloc, .execinstr]
            case .readOnly: [.alloc]
            case .data, .bss: [.alloc, .write]
            case .whole: [.alloc, .write, .execinstr]
            }
            return SectionHeader(nameOffset: names.add(r.name), type: r.kind == .bss ? .nobits : .progbits, flags: flags,
                                 address: address &+ r.start, offset: UInt64(dataOffset) + min(r.start, UInt64(dataSize)),
                                 size: r.end - r.start, addressAlignment: r.kind == .code ? 4 : 1)
        }
    }
}

extension ImageELF {
    /// The ELF for kernel `k` relocated as `r`, with `symbols` (link-time addresses).
    public static func build(_ k: KernelImage, relocated r: RelocateResult, symbols: [KernelSymbol]) throws(SlideKitError) -> [UInt8] {
        let entry = k.header?.entryOffset.map { r.runtimeBase &+ UInt64(bitPattern: $0) } ?? r.runtimeBase
        let regions = (try elfRegions(k)) ?? regions(symbols: symbols, linkBase: k.linkBase, dataSize: k.dataSize, memorySize: k.memorySize,
                                                       executableEnd: k.pe?.textEnd)
        return try build(image: r.bytes, dataSize: k.dataSize, memorySize: k.memorySize, linkBase: k.linkBase, address: r.runtimeBase,
                         entry: entry, regions: regions, symbols: symbols)
    }
}

extension ImageELF {
    /// An ELF input's own allocated sections, as regions (image offsets), in address order; nil for
    /// a raw Image or an ELF without section headers.
    static func elfRegions(_ k: KernelImage) throws(SlideKitError) -> [Region]? {
        guard k.format == .elf, let bytes = k.elfBytes else { return nil }
        do throws(SlideError) {
            return try bytes.withView { (view) throws(SlideError) -> [Region]? in
                let elf = try ELFFile(view)
                var out: [Region] = []
                for i in 0..<elf.sectionCount {
                    let s = try elf.section(i)
                    guard s.flags.contains(.alloc), s.size > 0, !s.flags.contains(.tls) || s.type != .nobits,
                          s.address >= k.linkBase, s.address &- k.linkBase <= k.memorySize else { continue }
                    let kind: Region.Kind = s.type == .nobits ? .bss : s.flags.contains(.execinstr) ? .code
                        : s.flags.contains(.write) ? .data : .readOnly
                    out.append(Region(name: try elf.name(of: s), start: s.address &- k.linkBase, end: s.address &- k.linkBase &+ s.size, kind: kind))
                }
                guard !out.isEmpty else { return nil }
                out.sort { $0.start < $1.start }
                // Overlapping sections (none in a linked kernel) would break the symbol lookup: keep the first.
                var kept: [Region] = []
                for r in out where kept.last.map({ r.start >= $0.end }) ?? true { kept.append(r) }
                return kept
            }
        } catch {
            throw SlideKitError(k.path, error)
        }
    }
}

extension ImageELF {
    /// `.symtab` and `.strtab` for kallsyms' symbols: the null symbol, then locals (gABI), then
    /// globals and weaks, each in the section holding its address.
    struct SymbolTable {
        var strtab: [UInt8] = [0]
        /// All entries, the null symbol first.
        var entries: [SlideCore.Symbol] = []
        /// How many locals follow the null symbol (`.symtab`'s sh_info is one more).
        var locals = 0

        init(_ symbols: [KernelSymbol], regions: [Region], linkBase: UInt64, displacement: UInt64, imageEnd: UInt64) {
            // Function sizes kallsyms does not record: to the next higher address in the same section.
            let addresses = Array(Set(symbols.map(\.address))).sorted()
            var locals: [SlideCore.Symbol] = [], globals: [SlideCore.Symbol] = []
            for s in symbols {
                let lower = Character(s.type.lowercased())
                let absolute = lower == "a" || s.address < linkBase || s.address &- linkBase > imageEnd
                let section = absolute ? SectionIndex.absolute : Self.sectionIndex(s.address &- linkBase, regions)
                let inCode = section != SectionIndex.absolute && regions[Int(section) - 1].kind == .code
                let type: SymbolType = lower == "t" || (inCode && (lower == "w" || lower == "v")) ? .function
                    : "dbrgsv".contains(lower) || lower == "w" ? .object : .noType
                let binding: SymbolBinding = "WVwv".contains(s.type) ? .weak : s.type.isUppercase ? .global : .local
                let offset = UInt32(truncatingIfNeeded: strtab.count)
                strtab += Array(s.name.utf8) + [0]
                var size = s.size ?? 0
                if s.size == nil, type == .function, section != SectionIndex.absolute {
                    let sectionEnd = linkBase &+ regions[Int(section) - 1].end
                    size = min(Self.first(in: addresses, above: s.address) ?? sectionEnd, sectionEnd) &- s.address
                }
                let sym = SlideCore.Symbol(nameOffset: offset, binding: binding, type: type, sectionIndex: section,
                                           value: absolute ? s.address : s.address &+ displacement, size: size)
                if binding == .local { locals.append(sym) } else { globals.append(sym) }
            }
            self.locals = locals.count
            entries = [SlideCore.Symbol(nameOffset: 0, binding: .local, type: .noType, sectionIndex: SectionIndex.undefined, value: 0, size: 0)]
                + locals + globals
        }

        /// The section (1-based, as in the ELF) whose [start, end] holds `offset`, else SHN_ABS.
        static func sectionIndex(_ offset: UInt64, _ regions: [Region]) -> UInt16 {
            var lo = 0, hi = regions.count
            while lo < hi { let mid = (lo + hi) / 2; if regions[mid].start <= offset { lo = mid + 1 } else { hi = mid } }
            guard lo > 0 else { return SectionIndex.absolute }
            return offset <= regions[lo - 1].end ? UInt16(lo) : SectionIndex.absolute
        }

        /// The first of the sorted `addresses` above `a`.
        static func first(in addresses: [UInt64], above a: UInt64) -> UInt64? {
            var lo = 0, hi = addresses.count
            while lo < hi { let mid = (lo + hi) / 2; if addresses[mid] <= a { lo = mid + 1 } else { hi = mid } }
            return lo < addresses.count ? addresses[lo] : nil
        }
    }
}
