// A kernel ELF as the model, flattened with `objcopy -O binary` semantics: allocated,
// non-NOBITS sections (or PT_LOAD segments when there are no section headers) from the lowest
// allocated address, gaps zero-filled; the tables from the section headers or the dynamic section.

import Foundation
import SlideCore

extension KernelImage {

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
}
