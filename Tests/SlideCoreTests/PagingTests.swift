import Testing
@testable import SlideCore

/// The table builder on the host, over a buffer standing in for physical memory.
@Suite struct PageTables {
    func withBuilder(pages: Int, _ body: (inout PageTableBuilder) throws -> Void) throws {
        let pool = UnsafeMutableRawPointer.allocate(byteCount: pages * 4096, alignment: 4096)
        defer { pool.deallocate() }
        let fakePA: UInt64 = 0x8000_0000
        var b = PageTableBuilder(poolBase: fakePA, poolPages: pages, pointerDelta: UInt64(UInt(bitPattern: pool)) &- fakePA)
        try body(&b)
    }

    // 4 GiB at 1 GiB alignment: four level-1 blocks, two tables (L0, L1).
    @Test func linearMapUsesGigabyteBlocks() throws {
        try withBuilder(pages: 8) { b in
            let root = try b.allocateTable()
            try b.map(root: root, va: 0xffff_0000_0000_0000, pa: 0x4000_0000, size: 4 << 30, .readWrite)
            let c = PageTableWalker.walk(root: root, vaBase: 0xffff_0000_0000_0000, pointerDelta: b.pointerDelta) { _, _, _, _ in }
            #expect(c.leafCount(level: 1) == 4 && c.leafCount(level: 2) == 0 && c.leafCount(level: 3) == 0)
            #expect(c.mappedBytes == 4 << 30 && c.writableExecutable == 0 && b.usedPages == 2)
        }
    }

    // 2 MiB + 64 KiB + 4 KiB at a 2 MiB-aligned VA/PA: one 2 MiB block, then 16 contiguous pages, then one page.
    @Test func mixedSizesAndContiguousHint() throws {
        try withBuilder(pages: 8) { b in
            let root = try b.allocateTable()
            try b.map(root: root, va: 0xffff_8000_0820_0000, pa: 0x4820_0000, size: (2 << 20) + 0x1_0000 + 0x1000, .text)
            var leaves: [(UInt64, UInt64, UInt64)] = []
            let c = PageTableWalker.walk(root: root, vaBase: 0xffff_0000_0000_0000, pointerDelta: b.pointerDelta) { v, p, s, _ in leaves.append((v, p, s)) }
            #expect(c.leafCount(level: 2) == 1 && c.leafCount(level: 3) == 17)
            #expect(c.contiguous == 16)
            #expect(leaves.first! == (0xffff_8000_0820_0000, 0x4820_0000, 2 << 20))
            #expect(leaves.last! == (0xffff_8000_0841_0000, 0x4841_0000, 0x1000))
            #expect(c.writableExecutable == 0)
            // text is read-only and executable: AP[2] set, PXN clear.
        }
    }

    // The module loader frees a module's init pages: removed pages vanish from the walk; a block, a
    // partial contiguous run or an unmapped page is refused without changing anything.
    @Test func unmapRemovesPagesOnly() throws {
        try withBuilder(pages: 8) { b in
            let root = try b.allocateTable()
            let va: UInt64 = 0xffff_8000_0820_0000
            try b.map(root: root, va: va, pa: 0x4820_0000, size: 2 << 20, .text)                         // one 2 MiB block
            try b.map(root: root, va: va + (2 << 20), pa: 0x4900_0000, size: 0x1_0000 + 0x3000, .readWrite) // 16 contiguous + 3 pages
            func census() -> PageTableCensus { PageTableWalker.walk(root: root, vaBase: 0xffff_0000_0000_0000, pointerDelta: b.pointerDelta) { _, _, _, _ in } }
            let before = census()
            #expect(before.leafCount(level: 3) == 19 && before.contiguous == 16)
            #expect(throws: SlideError.self) { _ = try b.unmap(root: root, va: va, size: 0x1000) }                       // inside a block
            #expect(throws: SlideError.self) { _ = try b.unmap(root: root, va: va + (2 << 20), size: 0x2000) }          // part of a run
            #expect(throws: SlideError.self) { _ = try b.unmap(root: root, va: va + (2 << 20) + 0x1_0000, size: 0x4000) } // runs past the end
            #expect(census() == before)
            #expect(try b.unmap(root: root, va: va + (2 << 20) + 0x1_1000, size: 0x2000) == 2)
            #expect(try b.unmap(root: root, va: va + (2 << 20), size: 0x1_0000) == 16)
            let after = census()
            #expect(after.leafCount(level: 3) == 1 && after.contiguous == 0 && after.leafCount(level: 2) == 1)
            #expect(after.mappedBytes == (2 << 20) + 0x1000)
        }
    }

    @Test func overlapAndExhaustionAreErrors() throws {
        try withBuilder(pages: 4) { b in  // root + L1 + L2 + L3 for one page; nothing left
            let root = try b.allocateTable()
            try b.map(root: root, va: 0x4000_0000, pa: 0x4000_0000, size: 0x1000, .device)
            #expect(throws: SlideError.self) { try b.map(root: root, va: 0x4000_0000, pa: 0x5000_0000, size: 0x1000, .device) }
            #expect(throws: SlideError.self) { try b.map(root: root, va: 0x8000_0000_0000, pa: 0, size: 0x1000, .device) } // needs 3 more tables
            #expect(throws: SlideError.self) { try b.map(root: root, va: 0x123, pa: 0, size: 0x1000, .device) }
            // W+X is counted.
            let c = PageTableWalker.walk(root: root, vaBase: 0, pointerDelta: b.pointerDelta) { _, _, _, _ in }
            #expect(c.writableExecutable == 0)
        }
    }
}

/// Every granule: the builder's tables, walked in software, translate every page of every mapped
/// range to the PA and permissions asked for; leaf descriptors round-trip their attributes; the
/// linear map of RAM on an ARM64_MEMSTART_ALIGN boundary needs only the largest blocks.
@Suite struct GranulePageTables {
    static let granules: [Granule] = [.k4, .k16, .k64]

    func withBuilder(_ g: Granule, pages: Int, _ body: (inout PageTableBuilder) throws -> Void) throws {
        let pool = UnsafeMutableRawPointer.allocate(byteCount: pages * Int(g.pageSize), alignment: Int(g.pageSize))
        defer { pool.deallocate() }
        let fakePA: UInt64 = 0x8000_0000
        var b = PageTableBuilder(poolBase: fakePA, poolPages: pages, pointerDelta: UInt64(UInt(bitPattern: pool)) &- fakePA, granule: g)
        try body(&b)
    }

    @Test func descriptorsRoundTrip() {
        for memory in [MapAttributes.Memory.normal, .device] {
            for writable in [false, true] {
                for executable in [false, true] {
                    let a = MapAttributes(memory: memory, writable: writable, executable: executable)
                    #expect(MapAttributes(descriptor: Descriptor.leaf(a)) == a)
                }
            }
        }
        // Per granule: a leaf's output address survives the attribute bits, at every page-aligned PA bit.
        for g in Self.granules {
            for bit in g.shift..<48 {
                let pa = UInt64(1) << UInt64(bit) | (UInt64(bit % 3) << UInt64(g.shift))
                let d = (pa & g.addressMask) | Descriptor.leaf(.text) | Descriptor.contiguous
                #expect(d & g.addressMask == pa & g.addressMask && MapAttributes(descriptor: d) == .text)
            }
            #expect(Descriptor.leaf(.readWrite) & g.addressMask == 0, "attributes stay out of the address field")
        }
        // Hand-checked geometry (Arm ARM D8-14/D8-16): index bits and block sizes.
        #expect(Granule.k4.levelShift(0) == 39 && Granule.k4.blockSize(level: 1) == 1 << 30 && Granule.k4.entries == 512)
        #expect(Granule.k16.levelShift(0) == 47 && Granule.k16.blockSize(level: 2) == 32 << 20 && Granule.k16.entries == 2048)
        #expect(Granule.k64.levelShift(1) == 42 && Granule.k64.blockSize(level: 2) == 512 << 20 && Granule.k64.entries == 8192)
        #expect(Granule.k16.index(0xffff_8000_0000_0000, level: 0) == 1 && Granule.k64.index(0xffff_ffc0_0000_0000, level: 1) == 63)
    }

    @Test(arguments: granules)
    func softwareWalkTranslatesEveryPage(_ g: Granule) throws {
        var rng: UInt64 = 0x9a9e ^ UInt64(g.shift)
        func next() -> UInt64 { rng ^= rng << 13; rng ^= rng >> 7; rng ^= rng << 17; return rng }
        try withBuilder(g, pages: 256) { b in
            let root = try b.allocateTable()
            var ranges: [(va: UInt64, pa: UInt64, size: UInt64, a: MapAttributes)] = []
            var va: UInt64 = 0xffff_8000_0000_0000, pa: UInt64 = 0x4000_0000
            for i in 0..<12 {
                // Sizes from a page to past a block, placements that do and do not share block alignment.
                let pages = 1 + next() % (i % 3 == 0 ? 4 * UInt64(g.contiguousEntries(level: 3)) : 40)
                let size = pages * g.pageSize
                let skew = (next() % 3) * g.pageSize
                let a = MapAttributes(memory: i % 5 == 0 ? .device : .normal, writable: i % 2 == 0, executable: i % 3 == 1 && i % 2 == 1)
                ranges.append((va + skew, pa + skew, size, a))
                va += skew + size + g.pageSize * (1 + next() % 8)
                pa += skew + size + g.pageSize * (1 + next() % 4)
            }
            // And one that allows the largest block and a contiguous run of them where the granule has one.
            let big = g.blockSize(level: g.firstBlockLevel)
            let bigVA = (va + big) & ~(big - 1), bigPA = (pa + big) & ~(big - 1)
            ranges.append((bigVA, bigPA, big * 2 + g.pageSize, .readWrite))
            for r in ranges { try b.map(root: root, va: r.va, pa: r.pa, size: r.size, r.a) }
            var pagesChecked = 0
            for r in ranges {
                var o: UInt64 = 0
                while o < r.size {
                    let t = try #require(PageTableWalker.translate(root: root, va: r.va + o, pointerDelta: b.pointerDelta, granule: g))
                    #expect(t.pa == r.pa + o)
                    #expect(MapAttributes(descriptor: t.descriptor) == r.a)
                    o += g.pageSize
                    pagesChecked += 1
                }
                // The page after a range is not mapped unless the next range starts there.
                if !ranges.contains(where: { $0.va == r.va + r.size }) {
                    #expect(PageTableWalker.translate(root: root, va: r.va + r.size, pointerDelta: b.pointerDelta, granule: g) == nil)
                }
            }
            #expect(pagesChecked > 100)
            let census = PageTableWalker.walk(root: root, vaBase: 0, pointerDelta: b.pointerDelta, granule: g) { _, _, _, _ in }
            #expect(census.mappedBytes == ranges.reduce(0) { $0 + $1.size })
            #expect(census.leafCount(level: g.firstBlockLevel) >= 2, "the aligned range used the largest blocks")
        }
    }

    /// 4 GiB of RAM at 0x40000000 mapped at PAGE_OFFSET + (PA - PHYS_OFFSET), PHYS_OFFSET rounded down
    /// to ARM64_MEMSTART_ALIGN: nothing but the largest blocks (4 KiB: 4 × 1 GiB; 16 KiB: 128 × 32 MiB,
    /// all contiguous; 64 KiB: 8 × 512 MiB).
    @Test(arguments: granules)
    func alignedLinearMapNeedsNoSmallDescriptors(_ g: Granule) throws {
        try withBuilder(g, pages: 16) { b in
            let root = try b.allocateTable()
            let ram: UInt64 = 0x4000_0000, size: UInt64 = 4 << 30
            let physOffset = ram & ~(g.memstartAlign - 1)
            try b.map(root: root, va: 0xffff_0000_0000_0000 + (ram - physOffset), pa: ram, size: size, .readWrite)
            let c = PageTableWalker.walk(root: root, vaBase: 0xffff_0000_0000_0000, pointerDelta: b.pointerDelta, granule: g) { _, _, _, _ in }
            let blocks = size / g.blockSize(level: g.firstBlockLevel)
            #expect(c.leafCount(level: g.firstBlockLevel) == blocks && c.mappedBytes == size)
            #expect(c.leafCount(level: 3) == 0 && (g.firstBlockLevel == 2 || c.leafCount(level: 2) == 0))
            #expect(c.contiguous == (g == .k16 ? Int(blocks) : g == .k4 ? 0 : 0))
        }
    }
}

/// TCR_EL1 from named fields: the kernel's value per granule, spelled out bit by bit (T0SZ = T1SZ
/// = 16, IRGN/ORGN = 0b01, SH = 0b11 for both halves, TG0/TG1 per granule, IPS = PARange capped
/// at 0b101), and each field read back.
@Suite struct TranslationControlRegister {
    @Test(arguments: [
        // granule, PARange, 16 | 1<<8 | 1<<10 | 3<<12 | TG0<<14 | 16<<16 | 1<<24 | 1<<26 | 3<<28 | TG1<<30 | IPS<<32
        (Granule.k4, UInt64(5), UInt64(0x5_b510_3510)),   // TG0 0b00, TG1 0b10
        (Granule.k16, 5, 0x5_7510_b510),                   // TG0 0b10, TG1 0b01
        (Granule.k64, 5, 0x5_f510_7510),                   // TG0 0b01, TG1 0b11
        (Granule.k4, 2, 0x2_b510_3510),                    // 40-bit PA: IPS 0b010
        (Granule.k4, 6, 0x5_b510_3510),                    // 52-bit PA: capped at 48 bits
    ])
    func kernelValue(_ granule: Granule, _ parange: UInt64, _ expected: UInt64) {
        let t = TCR.kernel(vaBits: 48, granule: granule, parange: parange)
        #expect(t.rawValue == expected, "\(String(t.rawValue, radix: 16))")
        #expect(t[TCR.T0SZ] == 16 && t[TCR.T1SZ] == 16)
        #expect(t[TCR.IRGN0] == 1 && t[TCR.ORGN0] == 1 && t[TCR.SH0] == 3)
        #expect(t[TCR.IRGN1] == 1 && t[TCR.ORGN1] == 1 && t[TCR.SH1] == 3)
        #expect(t[TCR.TG0] == granule.tcrTG0 && t[TCR.TG1] == granule.tcrTG1)
        #expect(t[TCR.IPS] == min(parange, 5))
    }

    @Test func settingAFieldKeepsTheOthers() {
        var t = TCR(rawValue: .max)
        t[TCR.TG1] = 0
        #expect(t.rawValue == ~(UInt64(0b11) << 30))
        t[TCR.T0SZ] = 0xff   // wider than 6 bits: cut to the field
        #expect(t[TCR.T0SZ] == 0x3f && t.rawValue == ~(UInt64(0b11) << 30))
    }
}
