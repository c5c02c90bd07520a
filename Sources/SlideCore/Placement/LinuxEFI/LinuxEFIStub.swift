// Linux's arm64 EFI stub chooses the kernel's physical address itself, before the kernel runs:
// `efi_random_alloc` (drivers/firmware/efi/libstub/randomalloc.c) counts the places in the
// firmware's memory map where the image fits, aligned, and takes the one a 32-bit seed from
// EFI_RNG_PROTOCOL picks. One model per version range of the stub (the files beside this one,
// listed in `EFIStubPredictor.models` in SlideKit); docs/linux-kaslr.md, "UEFI boots", has the
// sources and the boots that checked them.
//
// The count, for each EFI_CONVENTIONAL_MEMORY region [start, end] (end inclusive, clipped to
// the allocation limit): slots from round_up(max(start, alloc_min), align) to
// round_down(end - size + 1, align), one per `align`; the slot is number (total * seed32) >> 32,
// counted through the regions in map order. All arithmetic is the C code's: u64, wrapping.

/// What differs between versions of `efi_random_alloc` and its caller.
public struct EFIRandomAllocRules: Equatable, Sendable {
    /// The type the chosen slot is allocated as (and so how it shows in the final map).
    public var slotType: EFIMemoryType
    /// alloc_max, inclusive: no slot may reach past it.
    public var limit: UInt64
    /// EFI_ALLOC_ALIGN: the least alignment, and the unit the size is rounded up to (arm64: 64 KiB).
    public var allocAlign: UInt64
    /// alloc_min defaults to the alignment, so no slot starts at address 0.
    public var avoidsZero: Bool
    /// When any region is EFI_MEMORY_MORE_RELIABLE (mirrored), only those regions count.
    public var prefersMirrored: Bool
    /// Regions marked EFI_MEMORY_HOT_PLUGGABLE hold no slots.
    public var skipsHotPluggable: Bool

    public init(slotType: EFIMemoryType, limit: UInt64, allocAlign: UInt64, avoidsZero: Bool, prefersMirrored: Bool, skipsHotPluggable: Bool) {
        self.slotType = slotType; self.limit = limit; self.allocAlign = allocAlign
        self.avoidsZero = avoidsZero; self.prefersMirrored = prefersMirrored; self.skipsHotPluggable = skipsHotPluggable
    }
}

/// One version range of Linux's arm64 EFI stub.
public protocol LinuxEFIStubModel {
    static var name: StaticString { get }
    /// The first (major, minor) the model covers; it covers up to the next model's.
    static var firstVersion: (Int, Int) { get }
    /// The files it restates.
    static var source: StaticString { get }
    /// The kernels booted to check it.
    static var measured: StaticString { get }
    static var rules: EFIRandomAllocRules { get }
    /// Bytes the stub reads from EFI_RNG_PROTOCOL between the slot's 32-bit seed and the 64-bit
    /// /chosen/kaslr-seed: the LINUX_EFI_RANDOM_SEED table (EFI_RANDOM_SEED_SIZE).
    static var seedTableBytes: Int { get }
}

extension LinuxEFIStubModel {
    /// EFI_KIMG_ALIGN = max(SEGMENT_ALIGN, THREAD_ALIGN) (arch/arm64/include/asm/efi.h, 5.10 to 6.12):
    /// SEGMENT_ALIGN is 64 KiB; with VMAP_STACK, THREAD_ALIGN is twice THREAD_SIZE, which is
    /// 16 KiB or the page size if larger. `nokaslr` asks for MIN_KIMG_ALIGN, 2 MiB, instead.
    public static func kernelAlignment(pageSize: UInt64, nokaslr: Bool) -> UInt64 {
        nokaslr ? ImageAlignment.kernel : max(0x1_0000, 2 * max(0x4000, pageSize))
    }
}

/// The slots of one region: `count` addresses from `first`, `align` apart.
public struct EFISlotRun: Equatable, Sendable {
    public var first: UInt64
    public var count: UInt64
    public var align: UInt64
    public var mirrored: Bool
    public func address(_ index: UInt64) -> UInt64 { first &+ index &* align }
}

/// `efi_random_alloc` for one image: its size and alignment under one version's rules.
public struct EFIRandomAlloc: Equatable, Sendable {
    public let rules: EFIRandomAllocRules
    /// round_up(size, EFI_ALLOC_ALIGN): what is allocated.
    public let size: UInt64
    /// max(align, EFI_ALLOC_ALIGN).
    public let align: UInt64
    /// Soft-reserved (EFI_MEMORY_SP) regions hold no slots: CONFIG_EFI_SOFT_RESERVE without
    /// `efi=nosoftreserve`.
    public let skipsSpecificPurpose: Bool

    /// nil when `align` or the rules' alignment is not a power of two, or the size rounds past 2^64.
    public init?(size: UInt64, align: UInt64, rules: EFIRandomAllocRules, skipsSpecificPurpose: Bool) {
        let a = max(align, rules.allocAlign)
        guard a != 0, a & (a - 1) == 0, rules.allocAlign != 0, rules.allocAlign & (rules.allocAlign - 1) == 0 else { return nil }
        let (padded, overflow) = size.addingReportingOverflow(rules.allocAlign - 1)
        guard !overflow else { return nil }
        self.rules = rules
        self.size = padded & ~(rules.allocAlign - 1)
        self.align = a
        self.skipsSpecificPurpose = skipsSpecificPurpose
    }

    var allocMin: UInt64 { rules.avoidsZero ? align : 0 }

    /// get_entry_num_slots: the region's slots, or nil when it holds none.
    public func slots(in r: EFIMemoryRegion) -> EFISlotRun? {
        guard r.type == .conventional else { return nil }
        if rules.skipsHotPluggable && r.attributes & EFIMemoryAttribute.hotPluggable != 0 { return nil }
        if skipsSpecificPurpose && r.attributes & EFIMemoryAttribute.specificPurpose != 0 { return nil }
        let end = min(r.start &+ r.pageCount &* EFIMemoryRegion.pageSize &- 1, rules.limit)
        guard end >= size else { return nil }
        let first = (max(r.start, allocMin) &+ (align - 1)) & ~(align - 1)
        let last = (end &- size &+ 1) & ~(align - 1)
        guard first <= last else { return nil }
        return EFISlotRun(first: first, count: (last &- first) / align &+ 1, align: align,
                          mirrored: r.attributes & EFIMemoryAttribute.moreReliable != 0)
    }

    /// The slots that count, region by region in map order: only the mirrored ones when the rules
    /// prefer mirrored memory and any mirrored region holds a slot.
    public func runs<Map: Sequence>(in map: Map) -> [EFISlotRun] where Map.Element == EFIMemoryRegion {
        let all = map.compactMap { slots(in: $0) }
        guard rules.prefersMirrored, all.contains(where: { $0.mirrored }) else { return all }
        return all.filter { $0.mirrored }
    }

    /// total_slots (wrapping, as the C code's unsigned long sum).
    public func total<Map: Sequence>(in map: Map) -> UInt64 where Map.Element == EFIMemoryRegion {
        runs(in: map).reduce(0) { $0 &+ $1.count }
    }

    /// target_slot = (total * seed32) >> 32, in u64.
    public static func target(total: UInt64, seed: UInt32) -> UInt64 { (total &* UInt64(seed)) >> 32 }

    /// The address the seed picks; nil when no slot fits (the stub then falls back, see
    /// docs/linux-kaslr.md).
    public func slot<Map: Sequence>(seed: UInt32, in map: Map) -> UInt64? where Map.Element == EFIMemoryRegion {
        let runs = runs(in: map)
        var index = Self.target(total: runs.reduce(0) { $0 &+ $1.count }, seed: seed)
        for run in runs {
            if index < run.count { return run.address(index) }
            index -= run.count
        }
        return nil
    }

    /// The slot's number when `address` is one of the slots, else nil.
    public func index<Map: Sequence>(of address: UInt64, in map: Map) -> UInt64? where Map.Element == EFIMemoryRegion {
        var before: UInt64 = 0
        for run in runs(in: map) {
            if address >= run.first, (address &- run.first) % run.align == 0, (address &- run.first) / run.align < run.count {
                return before &+ (address &- run.first) / run.align
            }
            before &+= run.count
        }
        return nil
    }
}
