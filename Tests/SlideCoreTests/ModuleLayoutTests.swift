import Testing
@testable import SlideCore

/// A small ET_REL module, built byte by byte: a 4 KiB `.text` with a call to the undefined
/// `kernel_func` at 0 and an ADRP of it at 0xff8 (erratum 843419's forbidden offset), 6 KiB of
/// `.rodata`, 16 bytes of `.data`, 12 KiB of `.bss`, an `.init.text` holding `init_module`, and the
/// `.plt`/`.init.plt` placeholders Kernel/modules/module.lds adds.
enum TinyModule {
    struct Section { var name: String, type: UInt32, flags: UInt64, size: UInt64, align: UInt64, data: [UInt8] = [], link: UInt32 = 0, info: UInt32 = 0, entsize: UInt64 = 0 }

    static func le(_ v: UInt64, _ n: Int) -> [UInt8] { (0..<n).map { UInt8(truncatingIfNeeded: v >> (8 * UInt64($0))) } }

    static var bytes: [UInt8] {
        let (a, x, w): (UInt64, UInt64, UInt64) = (2, 4, 1)    // SHF_ALLOC, SHF_EXECINSTR, SHF_WRITE
        var text = [UInt8](repeating: 0, count: 0x1000)
        text.replaceSubrange(0..<4, with: le(0x9400_0000, 4))          // bl   kernel_func
        text.replaceSubrange(0xff8..<0xffc, with: le(0x9000_0000, 4))  // adrp x0, kernel_func
        // Symbols: null, kernel_func (global, undefined), init_module (global function in .init.text, section 7).
        let strtab = Array("\0kernel_func\0init_module\0".utf8)
        let symtab = [UInt8](repeating: 0, count: 24) + le(1, 4) + [0x10, 0] + le(0, 2) + le(0, 16)
            + le(13, 4) + [0x12, 0] + le(7, 2) + le(0, 16)
        // .rela.text: CALL26 (283) at 0 and ADR_PREL_PG_HI21 (275) at 0xff8, both against symbol 1.
        let rela = le(0, 8) + le(1 << 32 | 283, 8) + le(0, 8) + le(0xff8, 8) + le(1 << 32 | 275, 8) + le(0, 8)
        var sections = [
            Section(name: "", type: 0, flags: 0, size: 0, align: 0),
            Section(name: ".text", type: 1, flags: a | x, size: 0x1000, align: 4, data: text),
            Section(name: ".rela.text", type: 4, flags: 0, size: UInt64(rela.count), align: 8, data: rela, link: 9, info: 1, entsize: 24),
            Section(name: ".rodata", type: 1, flags: a, size: 0x1800, align: 8, data: [UInt8](repeating: 0x5a, count: 0x1800)),
            Section(name: ".data", type: 1, flags: a | w, size: 0x10, align: 8, data: [UInt8](repeating: 0xa5, count: 0x10)),
            Section(name: ".bss", type: 8, flags: a | w, size: 0x3000, align: 16),
            Section(name: ".plt", type: 1, flags: a, size: 1, align: 1, data: [0]),
            Section(name: ".init.text", type: 1, flags: a | x, size: 8, align: 4, data: le(0xd65f_03c0, 4) + le(0xd65f_03c0, 4)),
            Section(name: ".init.plt", type: 1, flags: a, size: 1, align: 1, data: [0]),
            Section(name: ".symtab", type: 2, flags: 0, size: UInt64(symtab.count), align: 8, data: symtab, link: 10, info: 1, entsize: 24),
            Section(name: ".strtab", type: 3, flags: 0, size: UInt64(strtab.count), align: 1, data: strtab),
            Section(name: ".shstrtab", type: 3, flags: 0, size: 0, align: 1),
        ]
        var shstrtab: [UInt8] = [0], nameOffsets: [Int] = []
        for s in sections { nameOffsets.append(s.name.isEmpty ? 0 : shstrtab.count); if !s.name.isEmpty { shstrtab += Array(s.name.utf8) + [0] } }
        sections[11].data = shstrtab
        sections[11].size = UInt64(shstrtab.count)
        var body: [UInt8] = [], offsets: [Int] = []
        for s in sections {
            while (64 + body.count) % 8 != 0 { body.append(0) }
            offsets.append(64 + body.count)
            body += s.data
        }
        while (64 + body.count) % 8 != 0 { body.append(0) }
        let shoff = 64 + body.count
        var out = [0x7f, 0x45, 0x4c, 0x46, 2, 1, 1] + [UInt8](repeating: 0, count: 9)
        out += le(1, 2) + le(183, 2) + le(1, 4) + le(0, 8) + le(0, 8) + le(UInt64(shoff), 8) + le(0, 4)
        out += le(64, 2) + le(0, 2) + le(0, 2) + le(64, 2) + le(UInt64(sections.count), 2) + le(11, 2)
        out += body
        for (i, s) in sections.enumerated() {
            out += le(UInt64(nameOffsets[i]), 4) + le(UInt64(s.type), 4) + le(s.flags, 8) + le(0, 8) + le(UInt64(offsets[i]), 8)
            out += le(s.size, 8) + le(UInt64(s.link), 4) + le(UInt64(s.info), 4) + le(s.align, 8) + le(s.entsize, 8)
        }
        return out
    }
}

@Suite struct ModuleLayoutPages {
    struct Row: Sendable, CustomTestStringConvertible {
        var page: UInt64
        /// Core: where the read-only and writable parts start, the region's size; init: its size.
        var readOnly: UInt64, writable: UInt64, core: UInt64, initial: UInt64
        var testDescription: String { "\(page >> 10) KiB pages" }
    }

    // The 0x1018 bytes of text and PLT take two 4 KiB pages but one 16 or 64 KiB page; 6 KiB of
    // rodata and 12 KiB of data+bss likewise: every part starts on a page of the kernel's granule.
    static let rows = [
        Row(page: 0x1000, readOnly: 0x2000, writable: 0x4000, core: 0x8000, initial: 0x1000),
        Row(page: 0x4000, readOnly: 0x4000, writable: 0x8000, core: 0xc000, initial: 0x4000),
        Row(page: 0x1_0000, readOnly: 0x1_0000, writable: 0x2_0000, core: 0x3_0000, initial: 0x1_0000),
    ]

    @Test(arguments: rows)
    func partsStartOnTheKernelsPages(_ row: Row) throws {
        let g = try #require(Granule(pageSize: row.page))
        try TinyModule.bytes.withUnsafeBytes { raw in
            let m = try ModuleLayout(try ELFFile(ByteView(raw)), granule: g)
            #expect(m.page == row.page)
            #expect(m.readOnlyStart.core == row.readOnly && m.writableStart.core == row.writable && m.regionSize.core == row.core)
            #expect(m.readOnlyStart.initial == row.page && m.writableStart.initial == row.page && m.regionSize.initial == row.initial)
            // Sections inside their parts: text at 0 and the PLT after it (64-byte aligned), rodata at
            // the read-only part, data then bss (16-byte aligned) at the writable part; one PLT slot.
            #expect(m.offset[1] == 0 && m.offset[6] == 0x1000 && m.size[6] == 24 && m.pltReserved.core == 1)
            #expect(m.offset[3] == row.readOnly && m.offset[4] == row.writable && m.offset[5] == row.writable + 0x10)
            #expect(m.region[7] == .initial && m.offset[7] == 0 && m.offset[8] == 0x40 && m.pltReserved.initial == 0)
        }
    }

    /// Linked at bases on the page, out of branch range of `kernel_func`: the call goes through the
    /// core's PLT, the ADRP reaches; in range, no PLT. A base off the page is refused by the host
    /// (ModuleLinker), the buffers must hold the page-rounded regions.
    @Test(arguments: rows)
    func linksAtPageAlignedBases(_ row: Row) throws {
        let g = try #require(Granule(pageSize: row.page))
        struct Kernel: ModuleSymbolResolver {
            var at: UInt64
            func address(of name: ByteView) -> UInt64? { String(name) == "kernel_func" ? at : nil }
        }
        try TinyModule.bytes.withUnsafeBytes { raw in
            let m = try ModuleLayout(try ELFFile(ByteView(raw)), granule: g)
            let base: UInt64 = 0xffff_8000_1000_0000
            var core = [UInt8](repeating: 0xee, count: Int(m.regionSize.core)), initial = [UInt8](repeating: 0xee, count: Int(m.regionSize.initial))
            for (target, plts) in [(base + 0x1000_0000, 1), (base + 0x10_0000, 0)] {
                let result = try core.withUnsafeMutableBytes { c in
                    try initial.withUnsafeMutableBytes { i in
                        try m.link(core: MutableByteView(c), initRegion: MutableByteView(i), bases: PerRegion(core: base, initial: base + m.regionSize.core),
                                   resolver: Kernel(at: target)) { f in Issue.record("\(f)") }
                    }
                }
                #expect(result.pltUsed.core == plts && result.failures == 0)
                // The copy zeroed the whole region (page-rounded), then placed rodata and data at their parts.
                #expect(core[Int(row.readOnly)] == 0x5a && core[Int(row.writable)] == 0xa5 && core[Int(row.writable) + 0x10] == 0)
                #expect(core[Int(m.regionSize.core) - 1] == 0)
            }
            // A region buffer shorter than the page-rounded size is refused.
            var short = [UInt8](repeating: 0, count: Int(m.regionSize.core - 1))
            #expect(throws: SlideError.self) {
                try short.withUnsafeMutableBytes { c in
                    try initial.withUnsafeMutableBytes { i in
                        _ = try m.link(core: MutableByteView(c), initRegion: MutableByteView(i), bases: PerRegion(repeating: base),
                                       resolver: Kernel(at: base)) { _ in }
                    }
                }
            }
        }
    }

    /// Erratum 843419 is about 4 KiB pages whatever the granule: the ADRP at 0xff8 needs 8 KiB of
    /// alignment to move, more than 4 KiB, so every granule reserves a veneer slot for it (2 slots
    /// and one skipped per PLT page) rather than aligning `.text` to 8 KiB.
    @Test(arguments: rows)
    func erratumVeneersDoNotDependOnThePage(_ row: Row) throws {
        let g = try #require(Granule(pageSize: row.page))
        try TinyModule.bytes.withUnsafeBytes { raw in
            let m = try ModuleLayout(try ELFFile(ByteView(raw)), granule: g, fixCortexA53843419: true)
            #expect(m.pltReserved.core == 3 && m.size[6] == 48)
            #expect(m.offset[1] == 0 && m.readOnlyStart.core == row.readOnly && m.regionSize.core == row.core)
        }
    }
}
