// Translation granules for stage 1 with 48-bit VA (Arm ARM D8.2 "Translation table format",
// D8.3.1 table D8-14/D8-16, D8.6.1 for the contiguous bit). One value describes a granule; the
// table builder and walker take it as a parameter.
//
//   granule  bits/level  levels (48-bit VA)  blocks                 contiguous run (entries)
//   4 KiB    9           0-3                 L1 1 GiB, L2 2 MiB     16 at L2 (32 MiB), 16 at L3 (64 KiB)
//   16 KiB   11          0-3 (L0: 2 entries) L2 32 MiB              32 at L2 (1 GiB), 128 at L3 (2 MiB)
//   64 KiB   13          1-3 (L1: 64 entries) L2 512 MiB            32 at L2 (16 GiB), 32 at L3 (2 MiB)
//
// (16 KiB L1 and 64 KiB L1 blocks exist only with 52-bit output addresses, FEAT_LPA/LPA2: not used.)
// ARM64_MEMSTART_ALIGN, the alignment Linux rounds PHYS_OFFSET down to so the linear map can use
// the largest mappings (arch/arm64/include/asm/kernel-pgtable.h, 6.1): 1 GiB, 1 GiB (32 MiB
// blocks in a contiguous run of 32) and 512 MiB.

public struct Granule: Equatable, Sendable {
    /// log2 of the page size: 12, 14 or 16.
    public let shift: Int

    public init?(pageSize: UInt64) {
        switch pageSize { case 4096: shift = 12; case 16384: shift = 14; case 65536: shift = 16; default: return nil }
    }
    init(shift: Int) { self.shift = shift }

    // Computed, not stored: code that runs before relocation must not depend on lazily initialised globals.
    public static var k4: Granule { Granule(shift: 12) }
    public static var k16: Granule { Granule(shift: 14) }
    public static var k64: Granule { Granule(shift: 16) }

    public var pageSize: UInt64 { 1 << UInt64(shift) }
    /// Descriptors per table (a table is one page).
    public var entries: Int { 1 << (shift - 3) }
    /// The level the walk starts at for 48-bit VA.
    public var startLevel: Int { shift == 16 ? 1 : 0 }
    /// The first level that may hold a block.
    public var firstBlockLevel: Int { shift == 12 ? 1 : 2 }
    /// The VA bit where a level's index starts; what one descriptor at that level maps is 1 << it.
    public func levelShift(_ level: Int) -> UInt64 { UInt64(shift + (3 - level) * (shift - 3)) }
    public func blockSize(level: Int) -> UInt64 { 1 << levelShift(level) }
    /// A VA's index at `level`: bits [levelShift + bits - 1 : levelShift] of its low 48 bits (the
    /// start level has fewer: 16 KiB's level 0 uses bit 47 alone, 64 KiB's level 1 bits 47:42).
    public func index(_ va: UInt64, level: Int) -> Int { Int(((va & 0x0000_ffff_ffff_ffff) >> levelShift(level)) & UInt64(entries - 1)) }
    /// Entries that make one contiguous run at a leaf level (2 or 3).
    public func contiguousEntries(level: Int) -> Int {
        switch shift {
        case 12: return 16
        case 14: return level == 3 ? 128 : 32
        default: return 32
        }
    }
    /// Output address bits [47:shift] of a descriptor.
    public var addressMask: UInt64 { 0x0000_ffff_ffff_ffff & ~(pageSize - 1) }
    /// ARM64_MEMSTART_ALIGN: PHYS_OFFSET is rounded down to this.
    public var memstartAlign: UInt64 { shift == 16 ? 512 << 20 : 1 << 30 }
    /// "4K", "16K" or "64K" (a StaticString: the kernel prints it).
    public var name: StaticString { shift == 12 ? "4K" : shift == 14 ? "16K" : "64K" }
    /// TCR_EL1.TG0 (bits 15:14) and TG1 (bits 31:30) for this granule (Arm ARM D17.2.138): their
    /// encodings differ.
    public var tcrTG0: UInt64 { shift == 12 ? 0b00 : shift == 14 ? 0b10 : 0b01 }
    public var tcrTG1: UInt64 { shift == 12 ? 0b10 : shift == 14 ? 0b01 : 0b11 }
}
