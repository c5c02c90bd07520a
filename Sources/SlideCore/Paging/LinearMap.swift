// The linear map: all RAM at PAGE_OFFSET + (PA - PHYS_OFFSET) (Linux's __va), read-write, never
// executable, in the largest blocks the alignment allows. PHYS_OFFSET is the start of RAM rounded
// down to ARM64_MEMSTART_ALIGN (arm64_memblock_init in arch/arm64/mm/init.c, 6.1) so that RAM
// starting on such a boundary needs no small descriptors. The Slide kernel builds its map with
// this; `slide pagetables` builds the same on the host.

public enum LinearMap {
    /// PAGE_OFFSET for 48-bit VA (arch/arm64/include/asm/memory.h: -(1 << VA_BITS)).
    public static var pageOffset: UInt64 { 0xffff_0000_0000_0000 }

    /// PHYS_OFFSET for RAM starting at `ramLow`.
    public static func physOffset(ramLow: UInt64, granule: Granule) -> UInt64 { ramLow & ~(granule.memstartAlign - 1) }

    /// The RAM range the map covers: [ramLow, ramHigh) widened to 2 MiB boundaries (what the
    /// kernel's early map covers whatever the granule).
    public static func range(ramLow: UInt64, ramHigh: UInt64) -> (start: UInt64, end: UInt64) {
        (ramLow & ~UInt64(0x1f_ffff), (ramHigh &+ 0x1f_ffff) & ~UInt64(0x1f_ffff))
    }

    /// Maps RAM [ramLow, ramHigh) into the tree at `root`.
    public static func map(_ tables: inout PageTableBuilder, root: UInt64, ramLow: UInt64, ramHigh: UInt64, physOffset: UInt64) throws(SlideError) {
        let (start, end) = range(ramLow: ramLow, ramHigh: ramHigh)
        guard start >= physOffset else { throw .outOfRange("RAM start below PHYS_OFFSET", value: start, low: physOffset, high: UInt64.max) }
        try tables.map(root: root, va: pageOffset &+ (start - physOffset), pa: start, size: end - start, .readWrite)
    }

    /// Table pages the map can need at most (a bound for sizing a pool): per level, one table per
    /// span it covers, plus one for each boundary the range may straddle.
    public static func maximumTablePages(ramLow: UInt64, ramHigh: UInt64, granule g: Granule) -> Int {
        let (start, end) = range(ramLow: ramLow, ramHigh: ramHigh)
        var pages = 1
        for level in (g.startLevel + 1)...3 {
            let span = g.blockSize(level: level) * UInt64(g.entries)
            pages += Int((end - start) / span) + 2
        }
        return pages
    }
}
