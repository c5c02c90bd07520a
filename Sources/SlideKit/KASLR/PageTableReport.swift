// `slide pagetables`: the linear map SlideCore's builder (the one the Slide kernel runs) makes for
// given RAM and granule, counted per level, with PHYS_OFFSET aligned as Linux aligns it and with
// PHYS_OFFSET at the start of RAM, to show in numbers what the alignment buys.

import SlideCore

public struct LinearMapLayout {
    public var physOffset: UInt64
    public var why: String
    public var census: PageTableCensus
    public var tablePages: Int
    public var granule: Granule

    /// Leaf counts per level by size, as the kernel reports `linear_map` (SlideCore's one formatter).
    public var summary: String { census.summary(granule: granule) }
}

public enum PageTableReport {
    /// The linear map of RAM [ramLow, ramHigh) with `physOffset`.
    public static func layout(ramLow: UInt64, ramHigh: UInt64, granule: Granule, physOffset: UInt64, why: String) throws(SlideKitError) -> LinearMapLayout {
        let pages = LinearMap.maximumTablePages(ramLow: ramLow, ramHigh: ramHigh, granule: granule)
        let pool = UnsafeMutableRawPointer.allocate(byteCount: pages * Int(granule.pageSize), alignment: Int(granule.pageSize))
        defer { pool.deallocate() }
        let fakePA: UInt64 = 0x8000_0000 // a "physical" pool address inside the descriptors' 48 bits: only offsets into the pool matter
        var tables = PageTableBuilder(poolBase: fakePA, poolPages: pages, pointerDelta: UInt64(UInt(bitPattern: pool)) &- fakePA, granule: granule)
        do throws(SlideError) {
            let root = try tables.allocateTable()
            try LinearMap.map(&tables, root: root, ramLow: ramLow, ramHigh: ramHigh, physOffset: physOffset)
            let census = PageTableWalker.walk(root: root, vaBase: LinearMap.pageOffset, pointerDelta: tables.pointerDelta, granule: granule) { _, _, _, _ in }
            return LinearMapLayout(physOffset: physOffset, why: why, census: census, tablePages: tables.usedPages, granule: granule)
        } catch {
            throw SlideKitError("--memory", error)
        }
    }

    /// Linux's PHYS_OFFSET (aligned, or `physOffset`) and the start of RAM.
    public static func layouts(ramLow: UInt64, ramHigh: UInt64, granule: Granule, physOffset: UInt64?) throws(SlideKitError) -> [LinearMapLayout] {
        let aligned = physOffset ?? LinearMap.physOffset(ramLow: ramLow, granule: granule)
        let first = try layout(ramLow: ramLow, ramHigh: ramHigh, granule: granule, physOffset: aligned,
                               why: physOffset != nil ? "given with --phys-offset"
                                   : "the start of RAM rounded down to \(sizeText(granule.memstartAlign)) (ARM64_MEMSTART_ALIGN)")
        let start = LinearMap.range(ramLow: ramLow, ramHigh: ramHigh).start
        let second = try layout(ramLow: ramLow, ramHigh: ramHigh, granule: granule, physOffset: start, why: "the start of RAM (2 MiB-aligned), not rounded")
        return [first, second]
    }

    public static func text(_ layouts: [LinearMapLayout], ramLow: UInt64, ramHigh: UInt64) -> String {
        guard let g = layouts.first?.granule else { return "" }
        var out = "granule \(g.name), 48-bit VA; RAM \(hex(ramLow))-\(hex(ramHigh)) (\(sizeText(ramHigh - ramLow)))\n"
        for l in layouts {
            out += "PHYS_OFFSET \(hex(l.physOffset)) (\(l.why)): PAGE_OFFSET + \(hex(LinearMap.range(ramLow: ramLow, ramHigh: ramHigh).start - l.physOffset)) maps it\n"
            for level in g.firstBlockLevel...3 {
                let n = l.census.leafCount(level: level)
                out += "  level \(level): \(n) \(level == 3 ? "pages" : "blocks") of \(sizeText(g.blockSize(level: level)))\n"
            }
            out += "  contiguous: \(l.census.contiguous) descriptors in runs; tables: \(l.tablePages) pages of \(sizeText(g.pageSize)); mapped \(hex(l.census.mappedBytes)) bytes\n"
            out += "  summary: \(l.summary)\n"
        }
        return out
    }

    public static func json(_ layouts: [LinearMapLayout], ramLow: UInt64, ramHigh: UInt64) -> JSON {
        .object([
            ("schema", .string(jsonSchemaVersion)), ("granule", .int(Int(layouts.first?.granule.pageSize ?? 0))),
            ("ram", .object([("low", .hex(ramLow)), ("high", .hex(ramHigh))])),
            ("layouts", .array(layouts.map { l in
                .object([
                    ("phys_offset", .hex(l.physOffset)), ("why", .string(l.why)),
                    ("levels", .array((l.granule.firstBlockLevel...3).map { level in
                        .object([("level", .int(level)), ("size", .hex(l.granule.blockSize(level: level))), ("count", .int(Int(l.census.leafCount(level: level))))])
                    })),
                    ("contiguous", .int(l.census.contiguous)), ("table_pages", .int(l.tablePages)), ("mapped_bytes", .hex(l.census.mappedBytes)),
                    ("summary", .string(l.summary)),
                ])
            })),
        ])
    }
}
