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
