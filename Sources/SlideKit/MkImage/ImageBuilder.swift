// `slide mkimage`: the fixup step, made trustworthy (docs/image.md; the 2015 thread).
//
// ELF in, flat Image out (objcopy -O binary semantics), refusing what cannot boot; the header
// checked (never silently rewritten); optionally RELA → RELR repacking and zeroed RELA places;
// a relative exception table sorted; and the seal — digest and table bounds — written into
// the image for the kernel to check before it relocates. The result is verified before it is
// written, atomically.

import SlideCore

public struct BuildOptions {
    public var packRelr = false
    public var zeroRelocatedPlaces = false
    public var pageSize: UInt64? = nil
    /// Accept ABS64/GLOB_DAT entries and leave them untouched, as Linux's boot code does (right only
    /// for undefined weak symbols, whose value is 0): for Linux vmlinux files.
    public var allowSymbolic = false
    public init() {}
}

public struct BuildResult {
    public var image: [UInt8]
    /// The header's image_size: what a loader reserves (at least the ELF's extent).
    public var memorySize: UInt64
    public var relaEntries: Int
    public var relrWords: Int
    public var relrPlaces: Int
    public var bytesSavedByRelr: Int
    public var sealed: Bool
    public var extableEntries: Int
    public var notes: [String]

    /// `mkimage --json`: what was built from `file` and written to `output`.
    public func document(file: String, output: String) -> JSON {
        .object([
            ("schema", .string(jsonSchemaVersion)), ("file", .string(file)), ("output", .string(output)),
            ("image_bytes", .int(image.count)), ("image_size", .hex(memorySize)), ("rela_entries", .int(relaEntries)),
            ("relr_words", .int(relrWords)), ("relr_places", .int(relrPlaces)), ("relr_saved_bytes", .int(bytesSavedByRelr)),
            ("sealed", .bool(sealed)), ("extable_entries", .int(extableEntries)), ("notes", .array(notes.map { .string($0) })),
        ])
    }
}

public enum ImageBuilder {
    public static func build(_ path: String, _ options: BuildOptions) throws(SlideKitError) -> BuildResult {
        let bytes = try Files.read(path)
        guard case .elf = FileKind(bytes) else { throw SlideKitError(path, "not an ELF file: mkimage takes the linked kernel ELF") }
        let k = try KernelImage.load(bytes: bytes, path: path)
        var notes: [String] = []
        func refuse(_ why: String) -> SlideKitError { SlideKitError(path, why) }
        func lift<T>(_ body: () throws(SlideError) -> T) throws(SlideKitError) -> T {
            do throws(SlideError) { return try body() } catch { throw SlideKitError(path, error) }
        }

        // What the ELF is.
        var pltEntries = 0
        var functions: [(name: String, value: UInt64)] = []
        var symtabSize: UInt64 = 0
        let (type, symbols, extable) = try lift { () throws(SlideError) in try bytes.withView { (view) throws(SlideError) -> (ELFFileType, [String: UInt64], (Int, Int)?) in
            let elf = try ELFFile(view)
            var symbols: [String: UInt64] = [:]
            var extable: (Int, Int)? = nil
            for i in 0..<elf.sectionCount {
                let s = try elf.section(i)
                if s.type == .symtab {
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
                if try elf.name(of: s) == "__ex_table", s.flags.contains(.alloc) {
                    extable = (Int(s.address &- k.linkBase), Int(s.size))
                }
                if s.type == .rela, s.flags.contains(.alloc), try elf.name(of: s) == ".rela.plt", s.size > 0 {
                    pltEntries = Int(s.size) / RelaEntry.size
                }
            }
            return (elf.header.type, symbols, extable)
        } }
        if pltEntries > 0 {
            throw refuse("\(pltEntries) PLT relocation(s) in .rela.plt (R_AARCH64_JUMP_SLOT): the boot code cannot bind calls through a PLT")
        }
        guard type == .dyn else { throw refuse("ELF type is \(type), not ET_DYN: link the kernel with -pie (or -shared -Bsymbolic)") }
        guard var header = k.header else {
            throw refuse("no arm64 Image header (\"ARM\\x64\" at 0x38) at the start of the image: link one in as the first section")
        }
        var image = k.bytes
        if header.imageSize == 0 && header.flags.rawValue == 0 {
            // A placeholder: write the values the linker could not (the 2015 "fixup step").
            let page = options.pageSize ?? 4096
            guard let field = PageSizeField(bytes: page) else { throw refuse("--page-size must be 4096, 16384 or 65536") }
            header.imageSize = k.memorySize
            header.flags = ImageFlags(pageSize: field, placementAnywhere: true)
            try lift { () throws(SlideError) in try image.withMutableView { (m) throws(SlideError) in try header.write(to: m) } }
            notes.append("filled the header placeholder: image_size \(hex(k.memorySize)), flags \(hex(header.flags.rawValue))")
        }

        // The header, checked against what the ELF says.
        // booting.rst: the loader leaves image_size bytes free from the Image start, so image_size
        // may exceed the ELF's extent (Linux's is `_end - _text`, with `_end` aligned past the
        // last section) but never fall short of it (BSS would land on whatever follows).
        var problems: [String] = []
        if header.imageSize < k.memorySize {
            problems.append("image_size \(hex(header.imageSize)) is smaller than the ELF's extent \(hex(k.memorySize))")
        } else if header.imageSize > k.memorySize {
            notes.append("image_size \(hex(header.imageSize)) reserves \(hex(header.imageSize - k.memorySize)) bytes past the ELF's extent "
                + "\(hex(k.memorySize)) (the linker script aligns _end past the last section)")
        }
        if let page = options.pageSize {
            guard let field = PageSizeField(bytes: page) else { throw refuse("--page-size must be 4096, 16384 or 65536") }
            if header.flags.pageSize != field { problems.append("flags page size \(header.flags.pageSize) differs from --page-size \(page / 1024)K") }
        }
        // The Slide kernel's linker script records its page size as the absolute symbol PAGE_SIZE
        // (Kernel/kernel.lds): the header's page-size flag must say the same.
        if let page = symbols["PAGE_SIZE"], let field = PageSizeField(bytes: page), header.flags.pageSize != field {
            problems.append("flags page size \(header.flags.pageSize) differs from the ELF's PAGE_SIZE \(page / 1024)K")
        }
        if header.flags.reservedBits != 0 { problems.append("flags \(hex(header.flags.rawValue)) sets reserved bits") }
        if header.textOffset != 0 && header.textOffset % 4096 != 0 { problems.append("text_offset \(hex(header.textOffset)) is not 4 KiB aligned") }
        if !problems.isEmpty { throw refuse("Image header disagrees with the ELF: " + problems.joined(separator: "; ")) }

        // The relocations: only what the boot code processes, nothing in the header.
        var relaEntries = 0, relrWords = 0, relrPlaces = 0, saved = 0
        var relaRange = 0..<0, relrRange = 0..<0
        var places: [UInt64] = []
        var kept: [RelaEntry] = []
        var symbolic = 0
        // Linux's own vmlinux keeps a few ABS64/GLOB_DAT entries its boot code skips (Debian 5.10-7.2:
        // three ABS64 and one GLOB_DAT; head.S __relocate_kernel and pi/relocate.c apply RELATIVE only):
        // a Linux kernel (it has linux_banner) is accepted with them, and they are reported.
        let isLinux = symbols["linux_banner"] != nil
        let allowSymbolic = options.allowSymbolic || isLinux
        try k.withTables { (_, rela, relr) throws(SlideError) in
            if let rela {
                for i in 0..<rela.count {
                    let e = rela[i]
                    switch e.type {
                    case .relative: places.append(e.offset)
                    case .none: kept.append(e)
                    case .abs64 where allowSymbolic, .globDat where allowSymbolic: kept.append(e); symbolic += 1
                    default:
                        throw SlideError.unsupported("dynamic relocation type for the boot code (only R_AARCH64_RELATIVE)", value: UInt64(e.type.rawValue))
                    }
                    if e.type == .relative && e.offset < k.linkBase &+ UInt64(ImageHeader.size) {
                        throw SlideError.outOfRange("relocation place inside the Image header", value: e.offset, low: k.linkBase &+ 64, high: k.linkBase &+ k.memorySize)
                    }
                }
            }
            if let relr {
                var it = relr.makePlaces()
                while let p = it.next() {
                    if p < k.linkBase &+ UInt64(ImageHeader.size) {
                        throw SlideError.outOfRange("relocation place inside the Image header", value: p, low: k.linkBase &+ 64, high: k.linkBase &+ k.memorySize)
                    }
                }
                if let e = it.error { throw e }
            }
        }
        if symbolic > 0 {
            notes.append("\(symbolic) symbol-based entries left untouched (\(options.allowSymbolic ? "--allow-symbolic" : "a Linux kernel")): the boot code skips them")
        }
        if let t = k.rela { relaRange = t.imageOffset..<(t.imageOffset + t.size); relaEntries = t.size / RelaEntry.size }
        if let t = k.relr { relrRange = t.imageOffset..<(t.imageOffset + t.size); relrWords = t.size / 8 }
        for r in [relaRange, relrRange] where !r.isEmpty && r.upperBound > k.dataSize {
            throw refuse("relocation table \(hex(UInt64(r.lowerBound)))..\(hex(UInt64(r.upperBound))) lies outside the image data")
        }

        if options.packRelr && symbols["slide_seal"] == nil {
            throw refuse("--pack-relr needs a slide_seal placeholder: the boot code must read the repacked table bounds from the seal, not from link-time symbols")
        }
        if options.packRelr && !places.isEmpty {
            // RELATIVE RELA → RELR in the RELA table's own space: RELR places hold their link value.
            let existing = try RelrTool.words(of: k)
            let words = try lift { () throws(SlideError) in try RelrTool.pack(places + (try RelrTool.unpack(existing))) }
            let relaKeep = kept.count * RelaEntry.size
            guard relaKeep + words.count * 8 <= relaRange.count else {
                throw refuse("RELR words do not fit in the RELA table's space")
            }
            try lift { () throws(SlideError) in
                try image.withMutableView { (m) throws(SlideError) in
                    let rela = try RelaTable(m.readOnly.slice(offset: relaRange.lowerBound, size: relaRange.count))
                    var entries: [RelaEntry] = []
                    for i in 0..<rela.count where rela[i].type == .relative { entries.append(rela[i]) }
                    for e in entries { try m.setU64(UInt64(bitPattern: e.addend), at: Int(e.offset - k.linkBase)) }
                }
            }
            try lift { () throws(SlideError) in try image.withMutableView { (m) throws(SlideError) in
                for (i, e) in kept.enumerated() { try RelaTable.write(e, to: try m.slice(relaRange.lowerBound, relaKeep), index: i) }
                let wordsStart = relaRange.lowerBound + relaKeep
                for (i, w) in words.enumerated() { try m.setU64(w, at: wordsStart + i * 8) }
                for o in stride(from: wordsStart + words.count * 8, to: relaRange.upperBound, by: 8) { try m.setU64(0, at: o) }
                if !relrRange.isEmpty { for o in stride(from: relrRange.lowerBound, to: relrRange.upperBound, by: 8) { try m.setU64(0, at: o) } }
            } }
            saved = relaRange.count + relrRange.count - relaKeep - words.count * 8
            relrRange = (relaRange.lowerBound + relaKeep)..<(relaRange.lowerBound + relaKeep + words.count * 8)
            relaRange = relaRange.lowerBound..<(relaRange.lowerBound + relaKeep)
            relaEntries = kept.count
            relrWords = words.count
            notes.append("packed \(places.count) RELATIVE entries into \(words.count) RELR words, saving \(saved) bytes")
        } else if options.zeroRelocatedPlaces {
            try lift { () throws(SlideError) in try image.withMutableView { (m) throws(SlideError) in for p in places { try m.setU64(0, at: Int(p - k.linkBase)) } } }
            notes.append("zeroed \(places.count) RELA places")
        }
        let relrWordsNow = try readWords(image, relrRange, path)
        relrPlaces = try lift { () throws(SlideError) in try RelrTool.unpack(relrWordsNow).count }

        // A relative exception table, sorted at build time (docs/exception-table.md).
        var extableEntries = 0
        if let (offset, size) = extable {
            extableEntries = try sortExceptionTable(&image, offset: offset, size: size, path: path)
            notes.append("sorted __ex_table: \(extableEntries) entries")
        }

        // The function symbols, for crash reports that name the faulting function, and the
        // layout's boundary symbols (`_stext`, `_etext`, `_end`…) where no function starts, for
        // `relocate --format elf` sections and `slide kaslr`'s module region.
        if let at = symbols["slide_symtab"] {
            let markers = ImageELF.boundarySymbols.compactMap { name in symbols[name].map { (name: name, value: $0) } }
            let embedded = try embedSymbols(&image, functions: functions, markers: markers, at: Int(at &- k.linkBase), capacity: Int(symtabSize),
                                            linkBase: k.linkBase, path: path)
            notes.append("embedded \(embedded) function and boundary symbols in slide_symtab")
        }

        // The seal.
        var sealed = false
        if let sealVA = symbols["slide_seal"] {
            let at = Int(sealVA &- k.linkBase)
            var seal = ImageSeal()
            seal.covered = UInt64(image.count)
            seal.relaOffset = UInt64(relaRange.lowerBound); seal.relaSize = UInt64(relaRange.count)
            seal.relrOffset = UInt64(relrRange.lowerBound); seal.relrSize = UInt64(relrRange.count)
            if let (offset, size) = extable, let o = UInt32(exactly: offset), let n = UInt32(exactly: size) {
                seal.extableOffset = o; seal.extableSize = n
            }
            do throws(SlideError) {
                try image.withMutableView { (m) throws(SlideError) in
                    guard at & 7 == 0, at >= ImageHeader.size, m.contains(offset: at, size: ImageSeal.size),
                          m.readOnly.u64Unchecked(at: at) == ImageDigest.sealMagic else {
                        throw SlideError.invalid("slide_seal symbol: no 8-aligned \"SLIDEVF1\" placeholder at image offset", value: UInt64(bitPattern: Int64(at)))
                    }
                    for (lo, hi) in [(relaRange.lowerBound, relaRange.upperBound), (relrRange.lowerBound, relrRange.upperBound)]
                        where at < hi && lo < at + ImageSeal.size {
                        throw SlideError.invalid("slide_seal overlaps a relocation table at", value: UInt64(at))
                    }
                    try seal.write(to: m, at: at)
                    seal.digest = ImageDigest.compute(m.readOnly, covered: m.count, sealOffset: at)
                    try seal.write(to: m, at: at)
                }
            } catch {
                throw SlideKitError(path, error)
            }
            sealed = true
        } else {
            notes.append("no slide_seal symbol: the image is not sealed (the kernel cannot verify it at boot)")
        }

        // Verify what we built, as `slide verify` would.
        // The tables are the ELF's (as repacked above), not rediscovered in the flat image.
        var built = try KernelImage.load(bytes: image, path: path, discovery: .seal, linkBase: k.linkBase)
        func location(_ kind: TableLocation.Kind, _ r: Range<Int>) -> TableLocation? {
            r.isEmpty ? nil : TableLocation(kind: kind, imageOffset: r.lowerBound, size: r.count, source: .elfSection, confidence: 1,
                                            reason: "from the ELF", sectionName: nil, fileOffset: r.lowerBound)
        }
        built.rela = location(.rela, relaRange)
        built.relr = location(.relr, relrRange)
        built.disagreements = []
        built.guessDisagreements = []
        let report = try Verifier.verify(built)
        if let first = report.findings.first(where: { $0.severity == .error }) {
            throw refuse("the built image fails verification: \(first.message)")
        }
        return BuildResult(image: image, memorySize: header.imageSize, relaEntries: relaEntries, relrWords: relrWords, relrPlaces: relrPlaces,
                           bytesSavedByRelr: saved, sealed: sealed, extableEntries: extableEntries, notes: notes)
    }

    static func readWords(_ image: [UInt8], _ r: Range<Int>, _ path: String) throws(SlideKitError) -> [UInt64] {
        do throws(SlideError) {
            return try image.withView { (v) throws(SlideError) -> [UInt64] in
                try stride(from: r.lowerBound, to: r.upperBound, by: 8).map { (o) throws(SlideError) -> UInt64 in try v.u64(at: o) }
            }
        } catch { throw SlideKitError(path, error) }
    }

    /// Sorts 12-byte relative exception-table entries {s32 insn, s32 fixup, s16 type, s16 data}
    /// by the address each `insn` field points at, rewriting the relative fields for their new
    /// positions (docs/exception-table.md). Returns the entry count.
    /// Writes the ELF's function symbols (sorted by address, one name per address) into the
    /// `slide_symtab` placeholder (SlideCore's SymbolMap); refuses when they do not fit.
    static func embedSymbols(_ image: inout [UInt8], functions: [(name: String, value: UInt64)], markers: [(name: String, value: UInt64)],
                             at offset: Int, capacity: Int, linkBase: UInt64, path: String) throws(SlideKitError) -> Int {
        var byOffset: [UInt32: String] = [:]
        for f in functions where f.value >= linkBase && f.value - linkBase < UInt64(image.count) {
            let o = UInt32(f.value - linkBase)
            if let existing = byOffset[o], existing <= f.name { continue }
            byOffset[o] = f.name
        }
        // A boundary past the image data (`_end`, `__bss_start`) still fits the map's u32 offsets.
        for m in markers where m.value >= linkBase && m.value - linkBase <= UInt64(UInt32.max) {
            let o = UInt32(m.value - linkBase)
            if byOffset[o] == nil { byOffset[o] = m.name }
        }
        let sorted = byOffset.sorted { $0.key < $1.key }.map { (offset: $0.key, name: Array($0.value.utf8)) }
        guard offset >= 0, capacity >= SymbolMap.headerSize, offset <= image.count, capacity <= image.count - offset else {
            throw SlideKitError(path, "slide_symtab (\(capacity) bytes at \(hex(UInt64(max(offset, 0))))) is not a placeholder inside the image data")
        }
        do throws(SlideError) {
            try image.withMutableView { (m) throws(SlideError) in
                guard m.readOnly.u64Unchecked(at: offset) == SymbolMap.magic else {
                    throw SlideError.invalid("slide_symtab: no \"SLIDESYM\" placeholder at image offset", value: UInt64(offset))
                }
                try SymbolMap.write(sorted, to: try m.slice(offset, capacity))
            }
        } catch {
            throw SlideKitError(path, error)
        }
        return sorted.count
    }

    /// Sorts the image's `__ex_table` in place with SlideCore's sort (the kernel bisects it).
    public static func sortExceptionTable(_ image: inout [UInt8], offset: Int, size: Int, path: String) throws(SlideKitError) -> Int {
        guard size % ExceptionEntry.size == 0, offset >= 0, offset <= image.count, size <= image.count - offset else {
            throw SlideKitError(path, "__ex_table at \(hex(UInt64(offset))) (\(size) bytes) is not whole 12-byte entries inside the image")
        }
        do throws(SlideError) {
            return try image.withMutableView { (m) throws(SlideError) -> Int in try ExceptionTable.sort(try m.slice(offset, size), at: offset) }
        } catch {
            throw SlideKitError(path, "__ex_table: \(error.description) after sorting")
        }
    }
}

extension MutableByteView {
    func slice(_ offset: Int, _ size: Int) throws(SlideError) -> MutableByteView {
        guard contains(offset: offset, size: size) else { throw .truncated("range", offset: offset, size: size, available: count) }
        return MutableByteView(UnsafeMutableRawBufferPointer(start: base.map { $0 + offset }, count: size))
    }
}
