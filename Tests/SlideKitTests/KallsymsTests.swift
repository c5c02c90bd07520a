// kallsyms, checked against what built it: synthetic images for every layout, written here the
// way scripts/kallsyms.c writes them (a round trip per encoding); Debian's kernels against their
// own invariants, their System.map and the -dbg package's vmlinux (llvm-nm); and hostile bytes,
// which must give an error and never a trap.

import Foundation
import Testing
@testable import SlideCore
@testable import SlideKit

// MARK: synthetic tables

/// Kallsyms tables laid out as scripts/kallsyms.c lays them out for one version's shape, between
/// pseudo-random filler, in a small flat image linked at `linkBase`.
struct KallsymsFixture {
    enum Shape: String, CaseIterable, CustomTestStringConvertible, Sendable {
        /// relative-base before num_syms; relative_base zero in the image, its value in a RELA addend.
        case v5_10 = "5.10"
        /// The same with kallsyms_seqs_of_names between the markers and the token table.
        case debian6_1 = "Debian 6.1"
        /// relative-base after the token index, relative_base at its link-time value (RELR kernel).
        case v6_12 = "6.12"
        /// place-relative after the token index, 4-byte labels, a "big" (two-byte length) name.
        case v7 = "7.x"
        /// kallsyms_addresses before num_syms, every word zero in the image and RELA-relocated.
        case absolute = "absolute (RELA)"
        var testDescription: String { rawValue }
    }

    static let linkBase: UInt64 = 0xffff_8000_8000_0000
    static let size = 0x4_0000
    static let tablesAt = 0x8000
    static let count = 700

    let shape: Shape
    var image: [UInt8]
    var rela: [RelaEntry] = []
    var symbols: [KernelSymbol] = []
    /// Where each table was written: expected KallsymsTableOffsets.
    var offsets: KallsymsTableOffsets

    var layout: String { shape == .v7 ? "place-relative" : shape == .absolute ? "absolute" : "relative-base" }
    var placement: KallsymsPlacement { shape == .v6_12 || shape == .v7 ? .afterTokenIndex : .beforeCount }

    /// Pair tokens the compressor "chose", given the codes no name uses as a character.
    static let pairTokens = ["sym_", "_init", "_exit", "do_", "sys_", "_probe", "__", "ym", "in", "ex", "qz"]

    init(_ shape: Shape) {
        self.shape = shape
        var symbols: [KernelSymbol] = []
        for i in 0..<Self.count {
            let type: Character = ["t", "T", "d", "r", "b", "W"][i % 6]
            var name = ["do_", "sys_", "__", ""][i % 4] + "sym_\(i)" + ["_init", "_exit", "", "_probe"][i % 3]
            if i == 0 { name = "_stext" }
            if shape == .v7 && i == 300 { name = String(repeating: "q.", count: 80) + "\(i)" } // 161 codes: a two-byte length
            symbols.append(KernelSymbol(address: Self.linkBase + 0x1_0000 + UInt64(i / 2) * 0x48, type: type, name: name))
        }
        self.symbols = symbols

        // The token table: every character the names use stands for itself, unused codes take pair tokens.
        var used = Set<UInt8>()
        for s in symbols { used.insert(UInt8(s.type.asciiValue!)); used.formUnion(s.name.utf8) }
        var tokens = [[UInt8]](repeating: [], count: 256)
        var pairs = Self.pairTokens.map { Array($0.utf8) }[...]
        for c in 0..<256 {
            if used.contains(UInt8(c)) { tokens[c] = [UInt8(c)] } else if let p = pairs.popFirst() { tokens[c] = p }
        }
        let pairCodes = (0..<256).filter { tokens[$0].count >= 2 }.sorted { tokens[$0].count > tokens[$1].count }
        func compress(_ text: [UInt8]) -> [UInt8] {
            var out: [UInt8] = [], i = 0
            while i < text.count {
                if let c = pairCodes.first(where: { text[i...].starts(with: tokens[$0]) }) {
                    out.append(UInt8(c)); i += tokens[c].count
                } else {
                    out.append(text[i]); i += 1
                }
            }
            return out
        }

        var w = FixtureWriter(filler: Self.tablesAt)
        let alignment = shape == .v7 ? 4 : 8
        let placement: KallsymsPlacement = shape == .v6_12 || shape == .v7 ? .afterTokenIndex : .beforeCount
        let n = symbols.count
        var o = KallsymsTableOffsets(numSyms: 0, names: 0..<0, markers: 0..<0, tokenTable: 0..<0, tokenIndex: 0..<0, addresses: 0..<0,
                                     relativeBase: nil, seqsOfNames: nil)
        var rela: [RelaEntry] = []
        func relocated(_ value: UInt64) { // `PTR _text + x`: zero in a RELA image, its value in the addend
            rela.append(RelaEntry(offset: Self.linkBase + UInt64(w.bytes.count), type: .relative, addend: Int64(bitPattern: value)))
            w.u64(0)
        }
        func addressTables() {
            w.align(alignment)
            let start = w.bytes.count
            switch shape {
            case .absolute:
                for s in symbols { relocated(s.address) }
            case .v7:
                for (i, s) in symbols.enumerated() {
                    let place = Self.linkBase + UInt64(start + 4 * i)
                    w.u32(UInt32(truncatingIfNeeded: Int64(bitPattern: s.address &- place)))
                }
            default:
                for s in symbols { w.u32(UInt32(s.address - symbols[0].address)) }
            }
            o.addresses = start..<w.bytes.count
            if shape == .v5_10 || shape == .debian6_1 || shape == .v6_12 {
                w.align(8)
                o.relativeBase = w.bytes.count
                if shape == .v6_12 { w.u64(symbols[0].address) } else { relocated(symbols[0].address) }
            }
        }
        func seqs() {
            w.align(alignment)
            let start = w.bytes.count
            let order = (0..<n).sorted { (symbols[$0].name, symbols[$0].address, $0) < (symbols[$1].name, symbols[$1].address, $1) }
            for i in order { w.bytes += [UInt8(i >> 16 & 0xff), UInt8(i >> 8 & 0xff), UInt8(i & 0xff)] }
            o.seqsOfNames = start..<w.bytes.count
        }
        if placement == .beforeCount { addressTables() }
        w.align(alignment)
        o.numSyms = w.bytes.count
        w.u32(UInt32(n))
        w.align(alignment)
        let namesStart = w.bytes.count
        var markers: [UInt32] = []
        for (i, s) in symbols.enumerated() {
            if i % 256 == 0 { markers.append(UInt32(w.bytes.count - namesStart)) }
            let codes = compress([UInt8(s.type.asciiValue!)] + Array(s.name.utf8))
            w.bytes += codes.count <= 0x7f ? [UInt8(codes.count)] : [UInt8(codes.count & 0x7f | 0x80), UInt8(codes.count >> 7)]
            w.bytes += codes
        }
        o.names = namesStart..<w.bytes.count
        w.align(alignment)
        o.markers = w.bytes.count..<(w.bytes.count + 4 * markers.count)
        for m in markers { w.u32(m) }
        if shape == .debian6_1 { seqs() }
        w.align(alignment)
        let tableStart = w.bytes.count
        var index: [UInt16] = []
        for t in tokens { index.append(UInt16(w.bytes.count - tableStart)); w.bytes += t + [0] }
        o.tokenTable = tableStart..<w.bytes.count
        w.align(alignment)
        o.tokenIndex = w.bytes.count..<(w.bytes.count + 512)
        for v in index { w.u16(v) }
        if placement == .afterTokenIndex {
            addressTables()
            seqs()
        }
        w.fill(to: Self.size)
        image = w.bytes
        offsets = o
        self.rela = shape == .v6_12 || shape == .v7 ? [] : rela
    }

    /// Reads the tables from `bytes` (the fixture's own by default), with or without its RELA entries.
    func read(_ bytes: [UInt8]? = nil, withRela: Bool = true) throws(SlideKitError) -> KallsymsTable {
        let image = bytes ?? self.image
        var relaBytes = [UInt8](repeating: 0, count: rela.count * RelaEntry.size)
        relaBytes.withUnsafeMutableBytes { raw in
            for (i, e) in rela.enumerated() { try! RelaTable.write(e, to: MutableByteView(raw), index: i) }
        }
        return try image.withView { (view) throws(SlideKitError) -> KallsymsTable in
            try relaBytes.withView { (relaView) throws(SlideKitError) -> KallsymsTable in
                let table = withRela && !rela.isEmpty ? try? RelaTable(relaView) : nil
                let input = KallsymsInput(path: "fixture", view: view, linkBase: Self.linkBase, memorySize: UInt64(image.count), rela: table)
                return try KallsymsTable.read(input, limit: image.count)
            }
        }
    }
}

/// Appends little-endian fields after deterministic junk, as `.balign` pads: with zeros.
struct FixtureWriter {
    var bytes: [UInt8] = []
    var state: UInt64 = 0x6b616c6c73796d73

    init(filler: Int) { fill(to: filler) }

    mutating func fill(to size: Int) {
        while bytes.count < size {
            state ^= state << 13; state ^= state >> 7; state ^= state << 17
            bytes.append(UInt8(truncatingIfNeeded: state))
        }
    }
    mutating func align(_ a: Int) { while bytes.count % a != 0 { bytes.append(0) } }
    mutating func u16(_ v: UInt16) { bytes += [UInt8(v & 0xff), UInt8(v >> 8)] }
    mutating func u32(_ v: UInt32) { for i in 0..<4 { bytes.append(UInt8(truncatingIfNeeded: v >> (8 * UInt32(i)))) } }
    mutating func u64(_ v: UInt64) { for i in 0..<8 { bytes.append(UInt8(truncatingIfNeeded: v >> (8 * UInt64(i)))) } }
}

@Suite struct KallsymsSyntheticTests {
    /// Every layout reads back exactly what was written, and every table is where it was written.
    @Test(arguments: KallsymsFixture.Shape.allCases)
    func roundTrip(_ shape: KallsymsFixture.Shape) throws {
        let f = KallsymsFixture(shape)
        let t = try f.read()
        #expect(t.symbols.count == KallsymsFixture.count)
        #expect(t.symbols == f.symbols)
        #expect(t.layout == f.layout && t.placement == f.placement.rawValue)
        #expect(t.markerStride == 256)
        let (got, want) = (t.tableOffsets, f.offsets)
        #expect(got.numSyms == want.numSyms && got.names == want.names && got.markers == want.markers)
        #expect(got.tokenTable == want.tokenTable && got.tokenIndex == want.tokenIndex)
        #expect(got.addresses == want.addresses && got.relativeBase == want.relativeBase)
        #expect(got.seqsOfNames == want.seqsOfNames)
        #expect(t.markers == ["_stext": KallsymsFixture.linkBase + 0x1_0000])
        #expect(t.symbol(named: f.symbols[7].name)?.address == f.symbols[7].address)
        #expect(t.symbol(containing: f.symbols[9].address + 1) == f.symbols[8], "symbols 8 and 9 share an address: the first is named")
        #expect(t.symbol(containing: KallsymsFixture.linkBase) == nil)
    }

    /// The kallsyms fuzz target's seeds, written from these fixtures so the layouts have one
    /// generator: scripts/fuzz-corpus runs this with SLIDE_FUZZ_KALLSYMS_SEEDS=DIR. A seed is the
    /// link base (u64 LE), then the image with its RELA places holding their addends, as the
    /// target reads no RELA table; each must read back whole that way (from its first 128 KiB)
    /// before it is written.
    @Test(.enabled(if: ProcessInfo.processInfo.environment["SLIDE_FUZZ_KALLSYMS_SEEDS"] != nil, "only when scripts/fuzz-corpus asks for seeds"),
          arguments: KallsymsFixture.Shape.allCases)
    func fuzzSeed(_ shape: KallsymsFixture.Shape) throws {
        let dir = ProcessInfo.processInfo.environment["SLIDE_FUZZ_KALLSYMS_SEEDS"]!
        let f = KallsymsFixture(shape)
        // The first 128 KiB hold the tables and every symbol's address: enough, and a quarter of
        // the bytes for each of the fuzzer's runs.
        var image = Array(f.image.prefix(0x2_0000))
        for e in f.rela {
            let at = Int(e.offset - KallsymsFixture.linkBase)
            for i in 0..<8 { image[at + i] = UInt8(truncatingIfNeeded: UInt64(bitPattern: e.addend) >> (8 * UInt64(i))) }
        }
        #expect(try f.read(image, withRela: false).symbols == f.symbols)
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let base = (0..<8).map { UInt8(truncatingIfNeeded: KallsymsFixture.linkBase >> (8 * UInt64($0))) }
        let name = "synthetic-" + shape.rawValue.lowercased().split { !($0.isLetter || $0.isNumber || $0 == ".") }.joined(separator: "-")
        try Data(base + image).write(to: URL(fileURLWithPath: dir).appendingPathComponent(name), options: .atomic)
    }

    /// A RELA kernel holds zero where relative_base or the addresses are: read without the addends,
    /// no layout fits (every address would be below the image), and the error says why.
    @Test(arguments: [KallsymsFixture.Shape.v5_10, .absolute])
    func relocatedWordsNeedTheRelaAddend(_ shape: KallsymsFixture.Shape) throws {
        let f = KallsymsFixture(shape)
        #expect(throws: SlideKitError.self) { try f.read(withRela: false) }
        do { _ = try f.read(withRela: false) } catch {
            #expect(error.description.hasPrefix("'fixture': kallsyms_names at \(hex(UInt64(f.offsets.names.lowerBound))) (700 symbols) has no address table that fits: "))
            #expect(error.message.contains("lies outside the image [0xffff800080000000, 0xffff800080040000]"))
        }
    }

    /// Truncations and mutations of every table: each read works or throws a one-line error.
    @Test(arguments: [KallsymsFixture.Shape.debian6_1, .v7])
    func hostileTables(_ shape: KallsymsFixture.Shape) throws {
        let f = KallsymsFixture(shape)
        let o = f.offsets
        // Cut inside the token table: no token index left, so no kallsyms.
        #expect(throws: SlideKitError.self) { try f.read(Array(f.image[..<(o.tokenTable.lowerBound + 40)])) }
        // Two token offsets swapped: the index is no longer increasing.
        var swapped = f.image
        swapped.swapAt(o.tokenIndex.lowerBound + 20, o.tokenIndex.lowerBound + 22)
        swapped.swapAt(o.tokenIndex.lowerBound + 21, o.tokenIndex.lowerBound + 23)
        do { _ = try f.read(swapped); Issue.record("a broken token index read") } catch {
            #expect(error.message.hasPrefix("no kallsyms token table found"))
        }
        // A marker off by one: names no longer land on it.
        var marker = f.image
        marker[o.markers.lowerBound + 4] ^= 1
        do { _ = try f.read(marker); Issue.record("a broken marker read") } catch {
            #expect(error.message.contains("no kallsyms_markers and kallsyms_names that fit"))
        }
        var m = Mutator(rng: shape == .v7 ? 0x7 : 0x61)
        let hot = [o.names, o.markers, o.tokenTable, o.tokenIndex, o.addresses, o.numSyms..<(o.numSyms + 4)] + (o.seqsOfNames.map { [$0] } ?? [])
        var errors = 0, reads = 0
        for _ in 0..<300 {
            do { _ = try f.read(m.mutate(f.image, hot: hot)); reads += 1 } catch {
                #expect(error.description.hasPrefix("'fixture': ") && !error.description.contains("\n"))
                errors += 1
            }
        }
        #expect(errors > 50 && reads > 10, "\(errors) errors, \(reads) reads")
    }
}

// MARK: Debian's kernels

extension DebianSuite {
    /// The kernel's config (root/boot/config-RELEASE), when the package ships it.
    var config: String? { try? String(contentsOfFile: directory + "/root/boot/config-" + release, encoding: .utf8) }
    var kallsymsAll: Bool? { config.map { $0.contains("\nCONFIG_KALLSYMS_ALL=y\n") } }

    /// The real System.map: the package's own, unless it is Debian's one-line placeholder, else the
    /// -dbg package's, extracted under testdata/dbg (or $SLIDE_DBG_ROOT) at usr/lib/debug/boot.
    var systemMap: String? {
        var candidates = [directory + "/root/boot/System.map-" + release,
                          repoRoot.appendingPathComponent("testdata/dbg/usr/lib/debug/boot/System.map-" + release).path]
        if let root = ProcessInfo.processInfo.environment["SLIDE_DBG_ROOT"] { candidates.append(root + "/usr/lib/debug/boot/System.map-" + release) }
        return candidates.first { path in
            guard let h = FileHandle(forReadingAtPath: path), let head = try? h.read(upToCount: 200) else { return false }
            return !String(decoding: head, as: UTF8.self).contains("The real System.map is in")
        }
    }

    static var withSystemMap: [DebianSuite] { present.filter { $0.systemMap != nil } }
}

/// The -dbg package's vmlinux for 6.12 (testdata/dbg), the llvm-nm oracle's input.
let debugVmlinux = repoRoot.appendingPathComponent("testdata/dbg/usr/lib/debug/boot/vmlinux-6.12.118+deb13-arm64").path

/// One line of System.map or `llvm-nm` output.
struct MapSymbol: Hashable {
    var address: UInt64
    var type: Character
    var name: String

    static func parse(_ text: String) -> [MapSymbol] {
        text.split(separator: "\n").compactMap { line in
            let p = line.split(separator: " ", omittingEmptySubsequences: true)
            guard p.count == 3, p[1].count == 1, let a = UInt64(p[0], radix: 16) else { return nil }
            return MapSymbol(address: a, type: p[1].first!, name: String(p[2]))
        }
    }
}

@Suite(.serialized, .enabled(if: !DebianSuite.present.isEmpty, "no Debian kernels in testdata/ (run scripts/fetch-testdata)"))
struct KallsymsDebianTests {
    nonisolated(unsafe) static var cache: [String: (KernelImage, KallsymsTable)] = [:]

    func table(_ s: DebianSuite) throws -> (KernelImage, KallsymsTable) {
        if let c = Self.cache[s.suite] { return c }
        let k = try KernelImage.load(path: s.kernel)
        let c = (k, try KallsymsTable.read(k))
        Self.cache[s.suite] = c
        return c
    }

    /// Every suite decodes: a kernel's worth of symbols, in address order, inside the image, the
    /// version's layout (relative-base to 6.x, place-relative from 7.0; the address tables after the
    /// token index from 6.4), markers every 256 symbols, seqs_of_names from 6.2 (and in Debian's
    /// 6.1.y, which carries it as a backport), nm type letters only.
    @Test(arguments: DebianSuite.present)
    func decodes(_ s: DebianSuite) throws {
        let (k, t) = try table(s)
        try #require(t.symbols.count > 30_000, "a distribution kernel has tens of thousands of text symbols")
        #expect(t.layout == (s.version >= (7, 0) ? "place-relative" : "relative-base"))
        #expect(t.placement == (s.version >= (6, 4) ? KallsymsPlacement.afterTokenIndex : .beforeCount).rawValue)
        #expect(t.markerStride == 256)
        #expect((t.tableOffsets.seqsOfNames != nil) == (s.version >= (6, 1)))
        #expect(t.tableOffsets.relativeBase != nil || t.layout == "place-relative")
        let size = try #require(k.header).imageSize
        var previous = k.linkBase
        for sym in t.symbols {
            #expect(sym.address >= previous && sym.address <= k.linkBase + size, "\(sym.name) at \(hex(sym.address))")
            previous = sym.address
        }
        #expect(t.symbols.allSatisfy { "ABbCcDdGgNnRrSsTtUuVvWw".contains($0.type) && !$0.name.isEmpty })
        #expect(t.symbols.contains { $0.name == "start_kernel" && $0.type == "T" })
    }

    /// The section markers kallsyms lists are in image order. With KALLSYMS_ALL (6.12, 7.x) that is
    /// _text ≤ _stext < _etext ≤ __start_rodata < _edata ≤ __bss_start < _end, _text is the link base and
    /// _end − _text is the header's image_size, and the kallsyms tables' labels are listed at the
    /// tables the locator found; without it only the text markers are listed.
    @Test(arguments: DebianSuite.present)
    func markersAreInImageOrder(_ s: DebianSuite) throws {
        let (k, t) = try table(s)
        let m = t.markers
        let stext = try #require(m["_stext"]), etext = try #require(m["_etext"])
        let sinit = try #require(m["_sinittext"]), einit = try #require(m["_einittext"])
        #expect(k.linkBase < stext && stext < etext && etext <= sinit && sinit < einit)
        let all = s.kallsymsAll ?? (s.version >= (7, 0)) // sid ships no config; 7.x is built like 6.12
        #expect((m["_end"] != nil) == all, "markers: \(m.keys.sorted())")
        guard all else { return }
        let text = try #require(m["_text"]), rodata = try #require(m["__start_rodata"]), edata = try #require(m["_edata"])
        let bss = try #require(m["__bss_start"]), end = try #require(m["_end"])
        #expect(text <= stext && etext <= rodata && rodata < edata && edata <= bss && bss < end)
        #expect(text == k.linkBase)
        #expect(end - text == k.header?.imageSize)
        // The tables' own labels are listed too, each where the locator found it.
        #expect(t.symbol(named: "kallsyms_names")?.address == k.linkBase + UInt64(t.tableOffsets.names.lowerBound))
        #expect(t.symbol(named: "kallsyms_token_index")?.address == k.linkBase + UInt64(t.tableOffsets.tokenIndex.lowerBound))
        #expect(t.symbol(named: "kallsyms_offsets")?.address == k.linkBase + UInt64(t.tableOffsets.addresses.lowerBound))
    }

    /// Against the real System.map (Debian's packages ship a placeholder: the real one is in the
    /// -dbg package). Every kallsyms symbol is in the map with the same address and the same type
    /// letter, compared exactly (case included). Conversely, every map entry is in kallsyms except
    /// the ones scripts/kallsyms.c leaves out:
    ///   - absolute symbols (type A/a: _kernel_size_le_lo32, PECOFF_FILE_ALIGNMENT, ...);
    ///   - without KALLSYMS_ALL, every symbol outside [_stext, _etext] and [_sinittext, _einittext],
    ///     and those at _etext's or _einittext's address other than _etext and _einittext themselves
    ///     (symbol_valid(): they can move between the two kallsyms link passes).
    /// mksysmap already dropped the rest (mapping symbols, .L labels, __crc_, __efistub_ ...).
    @Test(.enabled(if: !DebianSuite.withSystemMap.isEmpty,
                   "no real System.map: Debian ships a placeholder; extract the -dbg package's (dpkg-deb --fsys-tarfile linux-image-RELEASE-dbg_*.deb | tar -x ./usr/lib/debug/boot/System.map-RELEASE) into testdata/dbg or $SLIDE_DBG_ROOT"),
          arguments: DebianSuite.withSystemMap)
    func matchesSystemMap(_ s: DebianSuite) throws {
        let (_, t) = try table(s)
        let map = MapSymbol.parse(try String(contentsOfFile: try #require(s.systemMap), encoding: .utf8))
        try #require(map.count > 30_000)
        let all = try #require(s.kallsymsAll, "the suite's config says whether KALLSYMS_ALL is set")
        let byName = map.reduce(into: [String: [MapSymbol]]()) { $0[$1.name, default: []].append($1) }
        func value(_ name: String) -> UInt64? { byName[name]?.first?.address }
        let text = (try #require(value("_stext")))...(try #require(value("_etext")))
        let inittext = (try #require(value("_sinittext")))...(try #require(value("_einittext")))
        func kept(_ e: MapSymbol) -> Bool {
            if e.type == "A" || e.type == "a" { return false }
            if all { return true }
            guard text.contains(e.address) || inittext.contains(e.address) else { return false }
            return !(e.address == text.upperBound && e.name != "_etext") && !(e.address == inittext.upperBound && e.name != "_einittext")
        }
        let expected = Set(map.filter(kept))
        let got = Set(t.symbols.map { MapSymbol(address: $0.address, type: $0.type, name: $0.name) })
        let missing = got.subtracting(Set(map)), omitted = expected.subtracting(got)
        #expect(missing.isEmpty, "kallsyms symbols not in System.map: \(missing.prefix(10))")
        #expect(omitted.isEmpty, "System.map symbols kallsyms should hold: \(omitted.prefix(10))")
        #expect(t.symbols.count == map.filter(kept).count, "duplicates count as often as System.map lists them")
    }

    /// Against llvm-nm of the -dbg package's vmlinux (6.12), present in testdata/dbg when fetched.
    /// Every kallsyms symbol is an nm symbol with the same address and type, and every nm symbol is
    /// in kallsyms except what mksysmap and scripts/kallsyms.c drop: absolute (A/a), mapping
    /// symbols ($x, $d, also as __pi_$x and __kvm_nvhe_$d), .L labels, __efistub_, __crc_,
    /// __kstrtab_/__kstrtabns_, __kcfi_typeid_ and linker thunks. And `slide symbols` of the
    /// vmlinux ELF gives the same table as of the Image.
    @Test(.enabled(if: FileManager.default.fileExists(atPath: debugVmlinux) && DebianSuite.present.contains { $0.suite == "trixie" },
                   "needs testdata/dbg's vmlinux-6.12.118+deb13-arm64 and the trixie kernel"))
    func matchesLLVMNmOfTheDebugVmlinux() throws {
        let s = try #require(DebianSuite.present.first { $0.suite == "trixie" })
        let (_, t) = try table(s)
        let nm = try run("llvm-nm", ["-n", debugVmlinux])
        #expect(nm.status == 0)
        let symbols = MapSymbol.parse(nm.stdout)
        try #require(symbols.count > 150_000)
        func dropped(_ e: MapSymbol) -> Bool {
            let n = e.name
            return e.type == "A" || e.type == "a" || n.hasPrefix("$") || n.hasPrefix(".L") || n.hasPrefix("__efistub_")
                || ["__pi_", "__kvm_nvhe_"].contains { n.hasPrefix($0 + "$") || n.hasPrefix($0 + ".L") || n.hasPrefix($0 + "__kcfi_typeid_") }
                || n.hasPrefix("__crc_") || n.hasPrefix("__kstrtab_") || n.hasPrefix("__kstrtabns_") || n.hasPrefix("__kcfi_typeid_")
                || n.contains("Thunk_")
        }
        let expected = symbols.filter { !dropped($0) }
        let got = t.symbols.map { MapSymbol(address: $0.address, type: $0.type, name: $0.name) }
        #expect(Set(got).subtracting(Set(symbols)).isEmpty, "kallsyms symbols nm does not list")
        #expect(Set(expected).subtracting(Set(got)).isEmpty, "nm symbols kallsyms should hold: \(Set(expected).subtracting(Set(got)).prefix(10))")
        #expect(got.count == expected.count)
        // The vmlinux itself (an ELF, flattened) holds the same table.
        #expect(try KallsymsTable.read(KernelImage.load(path: debugVmlinux)).symbols == t.symbols)
    }

    /// `slide symbols`: nm's layout at the link base, shifted by --base or --slide, the same in
    /// JSON; --slide and --base together are a usage error.
    @Test func command() throws {
        let s = try #require(DebianSuite.present.last)
        let (k, t) = try table(s)
        let r = try slide("symbols", s.kernel)
        #expect(r.status == 0, "\(r.stderr)")
        let lines = r.stdout.split(separator: "\n")
        #expect(lines.count == t.symbols.count)
        let first = t.symbols[0]
        #expect(lines.first == "\(hexPadded(first.address)) \(first.type) \(first.name)")
        let slid = try slide("symbols", "--base", hex(k.linkBase + 0x3a_0000_0000), s.kernel)
        #expect(slid.stdout.split(separator: "\n").first == "\(hexPadded(first.address + 0x3a_0000_0000)) \(first.type) \(first.name)")
        #expect(try slide("symbols", "--slide", "-0x200000", s.kernel).stdout.hasPrefix(hexPadded(first.address - 0x20_0000)))
        let j = try jsonObject(try slide("symbols", "--json", s.kernel).stdout)
        #expect(j["schema"] as? String == "slide/v1" && j["layout"] as? String == t.layout && j["count"] as? Int == t.symbols.count)
        let symbols = try #require(j["symbols"] as? [[String: Any]])
        #expect(symbols.count == t.symbols.count)
        #expect(hexValue(symbols[0]["address"]) == first.address && symbols[0]["name"] as? String == first.name)
        #expect(try slide("symbols", "--slide", "0x1000", "--base", "0x0", s.kernel).status == 64)
        let missing = try slide("symbols", "/nonexistent/vmlinuz")
        #expect(missing.status == 1 && missing.stderr == "slide: error: '/nonexistent/vmlinuz': no such file\n")
    }

    /// A real kernel's tables, damaged: the token table cut short, a broken token index, a
    /// marker off by one, a zeroed address table. Each gives an error, never a trap.
    @Test func damagedTablesGiveErrors() throws {
        let s = try #require(DebianSuite.present.first)
        let (k, t) = try table(s)
        let o = t.tableOffsets
        func read(_ edit: (inout [UInt8]) -> Void) -> String? {
            var d = k
            edit(&d.bytes)
            do { _ = try KallsymsTable.read(d); return nil } catch {
                #expect(error.description.hasPrefix("'\(s.kernel)': ") && !error.description.contains("\n"))
                return error.message
            }
        }
        let cut = read { for i in (o.tokenTable.lowerBound + 100)..<o.tokenIndex.upperBound { $0[i] = 0 } }
        #expect(cut?.hasPrefix("no kallsyms token table found") == true, "\(cut ?? "read")")
        let index = read { $0[o.tokenIndex.lowerBound + 3] ^= 0x80 }
        #expect(index?.hasPrefix("no kallsyms token table found") == true, "\(index ?? "read")")
        let marker = read { $0[o.markers.lowerBound + 8] ^= 1 }
        #expect(marker?.contains("no kallsyms_markers and kallsyms_names that fit") == true, "\(marker ?? "read")")
        let addresses = read { for i in o.addresses { $0[i] = 0xff } }
        #expect(addresses?.contains("has no address table that fits") == true, "\(addresses ?? "read")")
    }
}
