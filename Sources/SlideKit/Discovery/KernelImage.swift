// One model for every kernel input: the flat image as the boot code sees it.
//
// A raw Image *is* the flat image (file offset 0 = link address). An ELF is flattened with
// `objcopy -O binary` semantics: allocated, non-NOBITS sections from the lowest allocated
// address, gaps zero-filled. Every later step — listing, checking, relocating — works on this
// model, so an ELF and the Image made from it give the same answers.

import Foundation
import SlideCore

/// How a fact was established, for reports (`"source"` in JSON): an open set of names, as a
/// table found in a raw Image is named by its recognizer (`TableRecognizer.source`, the names in
/// `TableRecognizers.all`).
public struct Provenance: RawRepresentable, Hashable, Sendable {
    public let rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }

    public static let elfSection = Provenance(rawValue: "elf-section")
    public static let elfDynamic = Provenance(rawValue: "elf-dynamic")
    public static let elfSegment = Provenance(rawValue: "elf-segment")
    /// kallsyms' names for the tables (KallsymsWitness.swift).
    public static let kallsymsSymbols = Provenance(rawValue: "kallsyms-symbols")
    /// A link base built by the relocation routine and confirmed by the places and pointers.
    public static let codeConstant = Provenance(rawValue: "code-constant")
    public static let addendRange = Provenance(rawValue: "addend-range")
    public static let user = Provenance(rawValue: "user")
}

/// Where a relocation table lives and how we know.
public struct TableLocation {
    public enum Kind: String { case rela, relr }
    public var kind: Kind
    /// Offset of the table in the flat image (= file offset for a raw Image).
    public var imageOffset: Int
    public var size: Int
    public var source: Provenance
    /// 1 when read from code, a seal or sections; below 1 for the structural scan.
    public var confidence: Double
    /// Why this table was chosen, in one sentence.
    public var reason: String
    /// Section name, for ELF inputs.
    public var sectionName: String?
    /// File offset of the table, when it differs from `imageOffset` (ELF inputs).
    public var fileOffset: Int
    /// Image offset of the instruction (or seal) that is the evidence.
    public var evidence: Int? = nil
    /// Every entry validated against the link base, and the bounds come from the kernel's own
    /// code, seal or section headers (not from the structural scan).
    public var proven: Bool = true
    /// What the finder could not see (the structural scan's guessed end), when anything.
    public var caveat: String? = nil
}

/// How a derived fact stands: what every consumer asks before using it (fail closed).
public enum Standing: String, Sendable {
    /// Read from the kernel's own code, seal or section headers, and confirmed by its data.
    case established
    /// The user's override (`--link-base`, `--table-method`): used, and labelled as given.
    case given
    /// A best guess (the structural scan, the most aligned of several candidates): shown by
    /// `inspect`, refused by every command whose result would depend on it.
    case inferred
    /// Not found at all.
    case unknown

    /// Whether a command may build a result on it.
    public var usable: Bool { self == .established || self == .given }
}

public struct KernelImage {
    public enum Format: String { case image, elf }

    public let path: String
    public let format: Format
    /// Containers removed to reach the kernel (`gzip`, `efi-zboot(gzip)`).
    public let containers: [String]
    /// The flat image; for a raw Image, the whole file including trailing bytes.
    public var bytes: [UInt8]
    /// Bytes of image data (excludes e.g. an appended signature).
    public let dataSize: Int
    public let header: ImageHeader?
    public let pe: PEInfo?
    /// Link address of image byte 0 (KIMAGE_VADDR for Linux). Read it through `requireLinkBase()`
    /// wherever a result depends on it: it may be unknown (0) or only inferred.
    public var linkBase: UInt64
    public var linkBaseSource: Provenance
    public var linkBaseReason: String
    /// How far the link base is established (`Standing`).
    public var linkBaseStanding: Standing = .established
    /// Bytes the image occupies in memory (header `image_size`, or ELF end of BSS − start).
    public let memorySize: UInt64
    /// What pointers into the image may reach: `memorySize`, or a vmlinux's header `image_size`
    /// (_text.._end) when larger, as GNU ld can end the sections before _end (init_pg_dir).
    public var span: UInt64 { max(memorySize, header?.imageSize ?? 0) }
    public var rela: TableLocation?
    public var relr: TableLocation?
    /// Candidates considered but not chosen (for `inspect --json`).
    public var notes: [String]
    /// Every recognizer that found tables in a raw Image, and whether it was proven and agreed.
    public var recognitions: [RecognizerOutcome] = []
    /// The `__ex_table` (an ELF's section, or what a Slide Image's seal names) and the executable
    /// sections' span (ELF inputs only), as image offsets.
    public var exceptionTable: Range<Int>? = nil
    public var text: Range<Int>? = nil
    /// The `Linux version …` banner, when the image holds one.
    public var banner: String? = nil
    /// Why the image data is shorter than its headers say, when it is.
    public var truncation: String? = nil
    /// "already relocated by +0x200000": the places hold run-time values, not link-time ones.
    public var alreadyRelocated: String? = nil
    /// The user named the recognizer (--table-method other than auto/code): its tables are given.
    public var tablesGiven = false
    /// Recognizers whose tables differ from the ones used (verify reports each as an error).
    public var disagreements: [String] = []
    /// The structural scan's guess differing from the tables used (verify warns).
    public var guessDisagreements: [String] = []
    /// The ELF reader for ELF inputs (symbols for symbolic entries).
    public let elfBytes: [UInt8]?

    /// Reads and understands a kernel file. With `kallsymsWitness`, discovery ends by reading
    /// the kernel's own symbol table as a witness of the tables found (KallsymsWitness.swift):
    /// its account is one more entry in `recognitions`, a disagreement one more in
    /// `disagreements`. It costs about a second, so only the reports that show it ask for it.
    public static func load(path: String, discovery: Discovery = .auto, linkBase: UInt64? = nil,
                            kallsymsWitness: Bool = false) throws(SlideKitError) -> KernelImage {
        // What the file is, from its first bytes, before it is read whole (a 2 GB file of zeros is
        // refused at once, and /dev/zero does not fill memory).
        let head = try Files.head(path)
        guard !head.isEmpty else { throw SlideKitError(path, "file is empty") }
        guard FileKind(head).isKernelInput else { throw notAKernel(path, head) }
        return try load(bytes: try Files.read(path), path: path, discovery: discovery, linkBase: linkBase, kallsymsWitness: kallsymsWitness)
    }

    static func notAKernel(_ path: String, _ bytes: [UInt8]) -> SlideKitError {
        SlideKitError(path, bytes.count < 64 ? "too short to be a kernel (\(bytes.count) bytes)"
            : "not \(FileKind.formats) (no \"ARM\\x64\" magic at 0x38)")
    }

    /// Loads from bytes already in memory; `path` names them in errors.
    public static func load(bytes raw: [UInt8], path: String, discovery: Discovery = .auto,
                            linkBase: UInt64? = nil, kallsymsWitness: Bool = false) throws(SlideKitError) -> KernelImage {
        guard !raw.isEmpty else { throw SlideKitError(path, "file is empty") }
        let (bytes, chain) = try Containers.unpack(raw, path: path)
        switch FileKind(bytes) {
        case .elf: return try fromELF(bytes, path: path, containers: chain, linkBaseOverride: linkBase)
        case .image: break
        default:
            throw notAKernel(path, bytes)
        }
        var k = try fromImage(bytes, path: path, containers: chain, discovery: discovery, linkBaseOverride: linkBase)
        if kallsymsWitness { k.addKallsymsWitness() }
        return k
    }

    // MARK: raw Image

    static func fromImage(_ bytes: [UInt8], path: String, containers: [String], discovery: Discovery,
                          linkBaseOverride: UInt64?) throws(SlideKitError) -> KernelImage {
        do throws(SlideError) {
            let view = bytes.withUnsafeBytes { ByteView($0) } // bytes outlives view: both are locals of this call
            let header = try ImageHeader(from: view)
            var pe: PEInfo? = nil
            var dataSize = bytes.count
            var notes: [String] = []
            if header.hasMZ, header.reserved5 != 0, let p = try? PEInfo(from: view, at: Int(header.reserved5)) {
                pe = p
                if let cert = p.certificate, cert.offset <= UInt64(bytes.count) {
                    dataSize = Int(cert.offset)
                } else if p.rawDataEnd > 0, p.rawDataEnd <= UInt64(bytes.count) {
                    dataSize = Int(p.rawDataEnd)
                }
            }
            let found = try TableFinder.find(in: view, dataSize: dataSize, memorySize: header.imageSize, discovery: discovery,
                                             linkBaseOverride: linkBaseOverride)
            notes += found.notes
            var base = found.linkBase ?? linkBaseOverride.map { LinkBase(value: $0, source: .user, reason: "given with --link-base") }
                ?? LinkBase(value: 0, source: .addendRange, reason: "no relocation table found", established: false)
            // Established only when the tables it rests on are proven (the kernel's code or seal
            // names them and every entry validates) and the evidence leaves one base.
            let tablesProven = [found.rela, found.relr].compactMap { $0 }.allSatisfy(\.proven) && (found.rela != nil || found.relr != nil)
            let tablesGiven = discovery != .auto && discovery != .code
            // arm64 kernels live in the top 2^52 bytes (TTBR1 with at most 52-bit VA): below that a
            // derived base is no kernel's.
            let kernelAddress = base.value >= Self.lowestKernelAddress
            if !kernelAddress && base.source != .user && found.linkBase != nil {
                base.reason += "; \(hex(base.value)) is not a kernel address (below \(hex(Self.lowestKernelAddress)), the bottom of a 52-bit TTBR1 space)"
            }
            let standing: Standing = base.source == .user ? .given
                : found.linkBase == nil ? .unknown
                : !base.established || !kernelAddress ? .inferred
                : tablesProven ? .established : tablesGiven ? .given : .inferred
            var k = KernelImage(
                path: path, format: .image, containers: containers, bytes: bytes, dataSize: dataSize, header: header,
                pe: pe, linkBase: base.value, linkBaseSource: base.source, linkBaseReason: base.reason,
                memorySize: header.imageSize, rela: found.rela, relr: found.relr, notes: notes, elfBytes: nil)
            k.linkBaseStanding = standing
            k.tablesGiven = tablesGiven
            k.alreadyRelocated = found.relocated?.text
            k.recognitions = found.recognitions
            k.disagreements = found.disagreements
            k.guessDisagreements = found.guessDisagreements
            k.exceptionTable = found.exceptionTable.map { $0.offset..<$0.end }
            k.banner = view.linuxBanner(limit: dataSize)
            k.truncation = [truncation(header: header, pe: pe, fileSize: bytes.count), found.truncation].compactMap { $0 }.joined(separator: "; ").nilIfEmpty
            return k
        } catch {
            throw SlideKitError(path, error)
        }
    }

    /// An Image is truncated when its file ends before the PE headers' raw data does (a signed
    /// kernel's certificate table starts where the image data ends) or before its text and data
    /// could fit the header's image_size less the BSS — which only the PE view tells.
    static func truncation(header: ImageHeader, pe: PEInfo?, fileSize: Int) -> String? {
        if let pe {
            if let c = pe.certificate, c.offset &+ c.size > UInt64(fileSize) {
                return "the PE certificate table runs to \(hex(c.offset &+ c.size)), the file ends at \(hex(UInt64(fileSize)))"
            }
            if pe.rawDataEnd > UInt64(fileSize) {
                return "the PE sections' raw data runs to \(hex(pe.rawDataEnd)), the file ends at \(hex(UInt64(fileSize)))"
            }
        }
        if header.imageSize > 0, UInt64(fileSize) < UInt64(ImageHeader.size) { return "shorter than the Image header" }
        // An EFI-stub Image ("MZ") names its PE header (COFF header and the PE32+ optional header:
        // 24 + 240 bytes); a file that ends before them is cut short.
        if header.hasMZ, pe == nil, header.reserved5 != 0, UInt64(header.reserved5) + 24 + 240 > UInt64(fileSize) {
            return "the PE header at \(hex(UInt64(header.reserved5))) lies past the end of the file (\(hex(UInt64(fileSize))) bytes)"
        }
        return nil
    }

    // MARK: ELF

    static func fromELF(_ bytes: [UInt8], path: String, containers: [String], linkBaseOverride: UInt64?) throws(SlideKitError) -> KernelImage {
        do throws(SlideError) {
            let view = bytes.withUnsafeBytes { ByteView($0) } // bytes outlives view: both are locals of this call
            let elf = try ELFFile(view)
            guard elf.header.machine == ELFMachine.aarch64 else {
                throw SlideError.unsupported("ELF machine (only EM_AARCH64 = 183)", value: UInt64(elf.header.machine))
            }
            let (pieces, fromSegments) = try allocatedPieces(elf)
            let (flat, low, memEnd) = try flatten(view, pieces, sectionCount: elf.sectionCount)
            let sections = try sectionTables(elf, low: low)
            var rela = sections.rela, relr = sections.relr
            if fromSegments {
                (rela, relr) = try dynamicTables(elf, low: low, imageSize: flat.count)
            }
            let header: ImageHeader? = flat.withUnsafeBytes { ImageHeader.isPresent(in: ByteView($0)) ? try? ImageHeader(from: ByteView($0)) : nil }
            let base = linkBaseOverride ?? low
            var k = KernelImage(
                path: path, format: .elf, containers: containers, bytes: flat, dataSize: flat.count, header: header, pe: nil,
                linkBase: base, linkBaseSource: linkBaseOverride != nil ? .user : fromSegments ? .elfSegment : .elfSection,
                linkBaseReason: linkBaseOverride != nil ? "given with --link-base"
                    : fromSegments ? "lowest PT_LOAD address (no section headers)" : "lowest address of an allocated section",
                memorySize: memEnd - low, rela: rela, relr: relr, notes: [], elfBytes: bytes)
            k.linkBaseStanding = linkBaseOverride != nil ? .given : .established
            k.exceptionTable = sections.extable
            k.text = sections.text
            return k
        } catch {
            throw SlideKitError(path, error)
        }
    }

    /// A piece of the flat image: `fileSize` bytes from the file, zero-filled to `memorySize`.
    struct Piece { var address: UInt64; var fileOffset: UInt64; var fileSize: UInt64; var memorySize: UInt64 }

    /// objcopy -O binary: allocated contents from the lowest allocated address. Sections say
    /// what is allocated; a file stripped of them (llvm-objcopy --strip-sections) still has its
    /// PT_LOAD segments (`fromSegments`).
    static func allocatedPieces(_ elf: ELFFile) throws(SlideError) -> (pieces: [Piece], fromSegments: Bool) {
        var pieces: [Piece] = []
        for i in 0..<elf.sectionCount {
            let s = try elf.section(i)
            guard s.flags.contains(.alloc), s.size > 0 else { continue }
            pieces.append(Piece(address: s.address, fileOffset: s.offset, fileSize: s.fileSize, memorySize: s.size))
        }
        guard pieces.isEmpty else { return (pieces, false) }
        for i in 0..<elf.programHeaderCount {
            let p = try elf.programHeader(i)
            guard p.type == .load, p.memorySize > 0 else { continue }
            pieces.append(Piece(address: p.virtualAddress, fileOffset: p.offset, fileSize: min(p.fileSize, p.memorySize),
                                memorySize: p.memorySize))
        }
        return (pieces, true)
    }

    /// The pieces copied into one zero-filled image from the lowest address `low`; `memEnd` is
    /// the highest address any piece occupies in memory.
    static func flatten(_ view: ByteView, _ pieces: [Piece], sectionCount: Int) throws(SlideError) -> (flat: [UInt8], low: UInt64, memEnd: UInt64) {
        var low = UInt64.max, dataEnd: UInt64 = 0, memEnd: UInt64 = 0
        for p in pieces {
            guard p.address <= UInt64.max - p.memorySize else {
                throw SlideError.outOfRange("section end", value: p.address, low: 0, high: UInt64.max - p.memorySize)
            }
            low = min(low, p.address)
            memEnd = max(memEnd, p.address + p.memorySize)
            if p.fileSize > 0 { dataEnd = max(dataEnd, p.address + p.fileSize) }
        }
        guard low != UInt64.max else { throw SlideError.invalid("ELF: nothing allocated; section count", value: UInt64(sectionCount)) }
        if dataEnd < low { dataEnd = low }
        // A flat image of more than 1 GiB is no kernel (Debian's is 32 MiB): refuse before allocating.
        guard dataEnd - low <= 1 << 30 else {
            throw SlideError.outOfRange("ELF allocated span (bytes)", value: dataEnd - low, low: 0, high: 1 << 30)
        }
        var flat = [UInt8](repeating: 0, count: Int(dataEnd - low))
        for p in pieces where p.fileSize > 0 {
            let data = try view.slice(offset: p.fileOffset, size: p.fileSize, "ELF contents")
            let dst = Int(p.address - low)
            flat.withUnsafeMutableBytes { out in
                if let src = data.base { out.baseAddress!.advanced(by: dst).copyMemory(from: src, byteCount: data.count) }
            }
        }
        return (flat, low, memEnd)
    }

    /// The tables, `__ex_table` and the executable span, from the section headers.
    static func sectionTables(_ elf: ELFFile, low: UInt64) throws(SlideError)
        -> (rela: TableLocation?, relr: TableLocation?, extable: Range<Int>?, text: Range<Int>?) {
        var rela: TableLocation? = nil, relr: TableLocation? = nil
        var extable: Range<Int>? = nil, textLow = Int.max, textHigh = 0
        for i in 0..<elf.sectionCount {
            let s = try elf.section(i)
            guard s.flags.contains(.alloc), s.type != .nobits, s.size > 0 else { continue }
            let name = try elf.name(of: s)
            let dst = Int(s.address - low)
            if name == "__ex_table" { extable = dst..<(dst + Int(s.size)) }
            if s.flags.contains(.execinstr) { textLow = min(textLow, dst); textHigh = max(textHigh, dst + Int(s.size)) }
            if s.type == .rela && (rela == nil || name == ".rela.dyn") {
                rela = TableLocation(kind: .rela, imageOffset: dst, size: Int(s.size), source: .elfSection, confidence: 1,
                                     reason: "section \(name) (SHT_RELA, SHF_ALLOC)", sectionName: name, fileOffset: Int(s.offset))
            }
            if (s.type == .relr || s.type == .androidRelr) && relr == nil {
                relr = TableLocation(kind: .relr, imageOffset: dst, size: Int(s.size), source: .elfSection, confidence: 1,
                                     reason: "section \(name) (\(s.type))", sectionName: name, fileOffset: Int(s.offset))
            }
        }
        return (rela, relr, extable, textLow < textHigh ? textLow..<textHigh : nil)
    }

    /// RELA and RELR tables named by the dynamic section (DT_RELA/DT_RELASZ, DT_RELR/DT_RELRSZ
    /// or the Android RELR tags), for ELF files without section headers.
    static func dynamicTables(_ elf: ELFFile, low: UInt64, imageSize: Int) throws(SlideError) -> (TableLocation?, TableLocation?) {
        var dynamic: ProgramHeader? = nil
        for i in 0..<elf.programHeaderCount where try elf.programHeader(i).type == .dynamic { dynamic = try elf.programHeader(i) }
        guard let dynamic else { return (nil, nil) }
        let entries = try elf.bytes.slice(offset: dynamic.offset, size: dynamic.fileSize, "PT_DYNAMIC")
        var values: [DynamicTag: UInt64] = [:]
        var o = 0
        while o + DynamicEntry.size <= entries.count {
            let e = try DynamicEntry(from: entries, at: o)
            if e.tag == .null { break }
            if values[e.tag] == nil { values[e.tag] = e.value }
            o += DynamicEntry.size
        }
        func table(_ kind: TableLocation.Kind, _ addressTag: DynamicTag, _ sizeTag: DynamicTag) throws(SlideError) -> TableLocation? {
            guard let address = values[addressTag], let size = values[sizeTag] else { return nil }
            guard address >= low, address - low <= UInt64(imageSize), size <= UInt64(imageSize) - (address - low) else {
                throw SlideError.outOfRange("dynamic-section table address", value: address, low: low, high: low &+ UInt64(imageSize))
            }
            return TableLocation(kind: kind, imageOffset: Int(address - low), size: Int(size), source: .elfDynamic, confidence: 1,
                                 reason: "\(addressTag) and \(sizeTag) in the dynamic section (no section headers)",
                                 sectionName: nil, fileOffset: Int(try elf.fileOffset(ofAddress: address) ?? 0))
        }
        let rela = try table(.rela, .rela, .relaSize)
        var relr = try table(.relr, .relr, .relrSize)
        if relr == nil { relr = try table(.relr, .androidRelr, .androidRelrSize) }
        return (rela, relr)
    }

    /// -2^52: the lowest address a kernel can be linked at (VA_BITS ≤ 52, the kernel in TTBR1's half).
    public static let lowestKernelAddress: UInt64 = 0xfff0_0000_0000_0000

    // MARK: access

    /// The link base, for a result that depends on it: refused (naming what is missing and the
    /// option that supplies it) unless it is established or given.
    public func requireLinkBase(for what: String) throws(SlideKitError) -> UInt64 {
        if let alreadyRelocated, linkBaseStanding != .given {
            throw SlideKitError(path, "\(what) needs an Image as linked, and this one was \(alreadyRelocated): its places hold run-time values (relocate the original, or give --link-base)")
        }
        switch linkBaseStanding {
        case .established, .given: return linkBase
        case .inferred:
            throw SlideKitError(path, "\(what) needs the link base, which is not established (only inferred: \(hex(linkBase)), \(linkBaseReason)); give --link-base ADDRESS if you know it")
        case .unknown:
            if let truncation { throw SlideKitError(path, "\(what) needs the link base, which is unknown: the file is truncated (\(truncation))") }
            throw SlideKitError(path, "\(what) needs the link base, which is unknown (\(linkBaseReason)); give --link-base ADDRESS")
        }
    }

    /// How the relocation tables stand: established when every table in use is proven (or read
    /// from an ELF's headers), given when the user named the recognizer, else inferred; unknown
    /// when there are none.
    public var tableStanding: Standing {
        let tables = [rela, relr].compactMap { $0 }
        guard !tables.isEmpty else { return .unknown }
        if tables.allSatisfy(\.proven) { return .established }
        return tablesGiven ? .given : .inferred
    }

    /// The tables, for a result that depends on them (relocating): refused unless proven or
    /// chosen by the user with --table-method.
    public func requireTables(for what: String) throws(SlideKitError) {
        if let alreadyRelocated {
            throw SlideKitError(path, "\(what) needs an Image as linked, and this one was \(alreadyRelocated): its places hold run-time values; relocate the original")
        }
        switch tableStanding {
        case .established, .given: return
        case .unknown:
            if let truncation { throw SlideKitError(path, "\(what) needs the relocation tables, and the file is truncated (\(truncation))") }
            throw SlideKitError(path, "\(what) needs the relocation tables, and none was found (\(notes.last ?? "no recognizer matched")); give --table-method to choose a recognizer")
        case .inferred:
            let t = [rela, relr].compactMap { $0 }.first { !$0.proven }!
            throw SlideKitError(path, "\(what) needs proven relocation tables; the \(t.kind.rawValue.uppercased()) table is \(t.source.rawValue)'s \(t.source == StructuralScan.source ? "guess" : "unproven reading")\(t.caveat.map { " (\($0))" } ?? ""); give --table-method \(t.source.rawValue) to use it anyway")
        }
    }

    /// Runs `body` with views over the image and its tables.
    public func withTables<T>(_ body: (ByteView, RelaTable?, RelrTable?) throws(SlideError) -> T) throws(SlideKitError) -> T {
        do throws(SlideError) {
            return try bytes.withView { (view) throws(SlideError) -> T in
                let rela = try rela.map { (t) throws(SlideError) in try RelaTable(view.slice(offset: t.imageOffset, size: t.size, "RELA table")) }
                let relr = try relr.map { (t) throws(SlideError) in try RelrTable(view.slice(offset: t.imageOffset, size: t.size, "RELR table")) }
                return try body(view, rela, relr)
            }
        } catch {
            throw SlideKitError(path, error)
        }
    }
}

extension ByteView {
    /// The `Linux version …` banner (linux_banner in init/version.c), up to its newline. The
    /// "Linux version %s" format strings elsewhere in the image are skipped: a banner goes on
    /// with a digit.
    func linuxBanner(limit: Int) -> String? {
        let needle = Array("Linux version ".utf8)
        let end = min(limit, count)
        guard let base, end >= needle.count else { return nil }
        let bytes = base.assumingMemoryBound(to: UInt8.self)
        var from = 0
        while from + needle.count <= end {
            // memchr finds each "L" at C speed; only those are compared.
            guard let hit = memchr(bytes + from, Int32(needle[0]), end - needle.count + 1 - from) else { return nil }
            let start: Int = UnsafeRawPointer(hit) - base
            from = start + 1
            guard memcmp(bytes + start, needle, needle.count) == 0 else { continue }
            var stop = start + needle.count
            guard stop < end, (0x30...0x39).contains(bytes[stop]) else { continue }
            while stop < end, stop - start < 512, bytes[stop] != 0x0a, bytes[stop] != 0 { stop += 1 }
            return String(decoding: UnsafeBufferPointer(start: bytes + start, count: stop - start), as: UTF8.self)
        }
        return nil
    }
}

extension KernelImage {
    /// The exception table's entry count and its first problem (unsorted, a duplicate instruction,
    /// an instruction or fixup outside the text), when the ELF has one.
    public func exceptionTableCheck() throws(SlideKitError) -> (entries: Int, problem: String?)? {
        guard let range = exceptionTable else { return nil }
        // A raw Image says nothing of where its text ends: there, instructions must lie in the image data.
        let text = self.text ?? 0..<dataSize
        let where_ = self.text != nil ? "the kernel text" : "the image data"
        // Relative entries need no relocation: a relocation place inside the table is a defect.
        let low = linkBase &+ UInt64(range.lowerBound), high = linkBase &+ UInt64(range.upperBound)
        if let p = try RelrTool.relativePlaces(of: self).first(where: { $0 &+ 8 > low && $0 < high }) {
            let n = range.count / ExceptionEntry.size
            return (n, "relocation place \(hex(p)) lies inside the table (its entries are relative and must not be relocated)")
        }
        do throws(SlideError) {
            return try bytes.withView { (v) throws(SlideError) -> (Int, String?) in
                let t = try ExceptionTable(v.slice(offset: range.lowerBound, size: range.count, "__ex_table"), at: range.lowerBound)
                guard let p = t.problem(text: Int64(text.lowerBound)..<Int64(text.upperBound)) else { return (t.count, nil) }
                let at = hex(linkBase &+ UInt64(bitPattern: p.value))
                switch p.kind {
                case .unsorted: return (t.count, "entry \(p.index) (insn \(at)) is out of order: the table is not sorted")
                case .duplicate: return (t.count, "entry \(p.index) lists insn \(at) again")
                case .instructionOutsideText: return (t.count, "entry \(p.index): insn \(at) is outside \(where_)")
                case .fixupOutsideText: return (t.count, "entry \(p.index): fixup \(at) is outside \(where_)")
                }
            }
        } catch {
            throw SlideKitError(path, error)
        }
    }
}
