// The kernel's own symbol table, recovered from a flat image: what /proc/kallsyms would list at
// the link base (`slide symbols`).
//
// CONFIG_KALLSYMS puts every text symbol (and, with KALLSYMS_ALL, every data symbol) into
// .rodata as compressed tables that scripts/kallsyms.c generates at link time and
// kernel/kallsyms.c reads. The steps, one file each:
//   KallsymsLocator.swift   find the token table by its shape, then markers, names and the count
//   KallsymsNames.swift     expand the compressed names (type letter first)
//   AddressLayout.swift     the address encodings (absolute, relative-base, place-relative), one
//                           file each, tried in turn; exactly one must fit
// Every read is bounds-checked and every count is checked against the bytes before anything is
// allocated for it: a hostile image gives a SlideKitError, never a trap.

import SlideCore

/// One kallsyms entry, as /proc/kallsyms prints it.
public struct KernelSymbol: Equatable, Sendable {
    /// Link-time virtual address (add the KASLR displacement for a running kernel).
    public var address: UInt64
    /// nm's type letter: `T`/`t` text, `D`/`d` data, `R`/`r` read-only, `B`/`b` BSS, `W`/`V` weak.
    public var type: Character
    public var name: String
    /// The symbol's size, when its table records one (an ELF's st_size); kallsyms records none.
    public var size: UInt64? = nil

    public init(address: UInt64, type: Character, name: String, size: UInt64? = nil) {
        self.address = address
        self.type = type
        self.name = name
        self.size = size
    }
}

/// Where each kallsyms table lies, as image offsets.
public struct KallsymsTableOffsets: Sendable {
    /// kallsyms_num_syms (a u32).
    public var numSyms: Int
    public var names: Range<Int>
    public var markers: Range<Int>
    public var tokenTable: Range<Int>
    public var tokenIndex: Range<Int>
    /// kallsyms_offsets (relative-base, place-relative) or kallsyms_addresses (absolute).
    public var addresses: Range<Int>
    /// kallsyms_relative_base (a u64), in the relative-base layout.
    public var relativeBase: Int?
    /// kallsyms_seqs_of_names (3 bytes a symbol, 6.2+ and Debian's 6.1), when found.
    public var seqsOfNames: Range<Int>?
}

public struct KallsymsTable: Sendable {
    /// Every symbol, in table order (ascending address).
    public var symbols: [KernelSymbol]
    /// The address encoding: `relative-base`, `place-relative` or `absolute` (AddressLayout.swift).
    public var layout: String
    /// Where the address tables sit: before kallsyms_num_syms (to 6.3) or after kallsyms_token_index (6.4+).
    public var placement: String
    /// Addresses of the image's section markers that kallsyms lists (`_text`, `_stext`, `_etext`,
    /// `__start_rodata`, `_edata`, `__bss_start`, `_end`, ...). Without KALLSYMS_ALL only the
    /// text ones are there.
    public var markers: [String: UInt64]
    public var tableOffsets: KallsymsTableOffsets
    /// Symbols per kallsyms_markers entry (256).
    public var markerStride: Int

    /// The section markers reported in `markers`, in image order.
    public static let markerNames = ["_text", "_stext", "_etext", "__start_rodata", "__end_rodata", "__init_begin", "_sinittext",
                                     "_einittext", "__init_end", "_sdata", "_edata", "__bss_start", "__bss_stop", "_end"]

    /// The first symbol called `name` (names are not unique: static functions repeat).
    public func symbol(named name: String) -> KernelSymbol? { symbols.first { $0.name == name } }

    /// Every symbol called `name`.
    public func symbols(named name: String) -> [KernelSymbol] { symbols.filter { $0.name == name } }

    /// The symbol a backtrace names for `address`: of the symbols at the greatest address not
    /// above it, the first (kallsyms_lookup() picks the first alias too); nil below the first symbol.
    public func symbol(containing address: UInt64) -> KernelSymbol? {
        var low = 0, high = symbols.count
        while low < high {
            let mid = (low + high) / 2
            if symbols[mid].address <= address { low = mid + 1 } else { high = mid }
        }
        guard low > 0 else { return nil }
        var i = low - 1
        while i > 0, symbols[i - 1].address == symbols[i].address { i -= 1 }
        return symbols[i]
    }

    /// The table in `image`, at link-time addresses.
    public static func read(_ image: KernelImage) throws(SlideKitError) -> KallsymsTable {
        // Every address is checked against, and on 7.x computed from, the link base; a 5.10/6.1
        // base is a RELA place read through its addend: both must be established (fail closed).
        _ = try image.requireLinkBase(for: "kallsyms")
        if image.rela != nil { try image.requireTables(for: "kallsyms (its base is a relocated place)") }
        return try image.bytes.withView { (view) throws(SlideKitError) -> KallsymsTable in
            var rela: RelaTable? = nil
            if let t = image.rela {
                do throws(SlideError) { rela = try RelaTable(view.slice(offset: t.imageOffset, size: t.size, "RELA table")) } catch {
                    throw SlideKitError(image.path, error)
                }
            }
            // Symbols lie in the image as it sits in memory: the header's image_size where there is
            // one (an ELF's sections end before _end, which the linker script aligns to the 64 KiB
            // segment alignment), else the sections' span rounded up to that alignment.
            let span = (max(image.memorySize, UInt64(image.dataSize)) &+ 0xffff) & ~0xffff
            let input = KallsymsInput(path: image.path, view: view, linkBase: image.linkBase,
                                      memorySize: max(span, image.header?.imageSize ?? 0), rela: rela)
            return try read(input, limit: image.dataSize)
        }
    }

    static func read(_ input: KallsymsInput, limit: Int) throws(SlideKitError) -> KallsymsTable {
        let core = try KallsymsLocator.locate(input.view, limit: limit, path: input.path)
        var found: [(name: String, addresses: KallsymsAddresses)] = [], rejected: [String] = []
        for layout in KallsymsLayouts.all {
            switch layout.read(core, input) {
            case .found(let a): found.append((layout.name, a))
            case .notThisLayout(let why): rejected.append("\(layout.name) (\(why))")
            }
        }
        let names = "kallsyms_names at \(hex(UInt64(core.names.lowerBound))) (\(core.count) symbols)"
        guard let (layout, addresses) = found.first else {
            throw SlideKitError(input.path, "\(names) has no address table that fits: " + rejected.joined(separator: "; "))
        }
        guard found.count == 1 else {
            throw SlideKitError(input.path, "\(names): address tables of \(found.count) layouts fit (\(found.map(\.name).joined(separator: ", "))): ambiguous")
        }
        let symbols = try decodeNames(core, addresses: addresses.values, input: input)
        var seqs = core.seqsBeforeTokens
        if seqs == nil, let s = addresses.seqsAfter, KallsymsLocator.isPermutation(input.view, at: s, count: core.count) {
            seqs = s..<(s + 3 * core.count)
        }
        let offsets = KallsymsTableOffsets(numSyms: core.countOffset, names: core.names, markers: core.markers, tokenTable: core.tokens.table,
                                           tokenIndex: core.tokenIndex, addresses: addresses.table, relativeBase: addresses.relativeBase,
                                           seqsOfNames: seqs)
        // With KALLSYMS_ALL, 6.x and 7.x list the tables' own labels: each must be where it was found.
        let labels: [(String, Int?)] = [
            ("kallsyms_num_syms", offsets.numSyms), ("kallsyms_names", offsets.names.lowerBound), ("kallsyms_markers", offsets.markers.lowerBound),
            ("kallsyms_token_table", offsets.tokenTable.lowerBound), ("kallsyms_token_index", offsets.tokenIndex.lowerBound),
            (layout == "absolute" ? "kallsyms_addresses" : "kallsyms_offsets", offsets.addresses.lowerBound),
            ("kallsyms_relative_base", offsets.relativeBase), ("kallsyms_seqs_of_names", offsets.seqsOfNames?.lowerBound),
        ]
        var markers: [String: UInt64] = [:], listed: [String: UInt64] = [:]
        let wanted = Set(markerNames), labelNames = Set(labels.map(\.0))
        for s in symbols {
            if wanted.contains(s.name) && markers[s.name] == nil { markers[s.name] = s.address }
            if labelNames.contains(s.name) && listed[s.name] == nil { listed[s.name] = s.address }
        }
        for (label, offset) in labels {
            guard let at = listed[label], let offset else { continue }
            let found = input.linkBase &+ UInt64(offset)
            if at != found { throw SlideKitError(input.path, "kallsyms lists \(label) at \(hex(at)), but that table was found at \(hex(found))") }
        }
        return KallsymsTable(symbols: symbols, layout: layout, placement: addresses.placement.rawValue, markers: markers,
                             tableOffsets: offsets, markerStride: core.markerStride)
    }

    /// Expands every record of kallsyms_names and pairs it with its address.
    static func decodeNames(_ core: KallsymsCore, addresses: [UInt64], input: KallsymsInput) throws(SlideKitError) -> [KernelSymbol] {
        var symbols: [KernelSymbol] = []
        symbols.reserveCapacity(core.count)
        var name: [UInt8] = []
        name.reserveCapacity(KallsymsTokens.longestName + 64)
        var position = core.names.lowerBound
        for i in 0..<core.count {
            let record: KallsymsNameRecord
            let fits: Bool
            do throws(SlideError) {
                record = try KallsymsNameRecord.read(input.view, at: position)
                name.removeAll(keepingCapacity: true)
                fits = try core.tokens.expand(input.view, codes: record.codes, into: &name)
            } catch {
                throw SlideKitError(input.path, "kallsyms name \(i): \(error)")
            }
            guard fits else {
                throw SlideKitError(input.path, "kallsyms name \(i) at \(hex(UInt64(position))) expands past \(KallsymsTokens.longestName) bytes")
            }
            guard let letter = name.first, KallsymsLocator.isTypeLetter(letter) else {
                throw SlideKitError(input.path, "kallsyms name \(i) at \(hex(UInt64(position))) does not start with a type letter")
            }
            symbols.append(KernelSymbol(address: addresses[i], type: Character(Unicode.Scalar(letter)),
                                        name: String(decoding: name[1...], as: UTF8.self)))
            position = record.next
        }
        return symbols
    }
}
