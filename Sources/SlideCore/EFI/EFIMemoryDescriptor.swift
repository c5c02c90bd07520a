// The firmware's binary memory map: GetMemoryMap() fills a buffer with EFI_MEMORY_DESCRIPTORs
// (UEFI Specification 2.10, §7.2 EFI_BOOT_SERVICES.GetMemoryMap(): Type UINT32 at 0, then
// PhysicalStart at 8, VirtualStart at 16, NumberOfPages at 24, Attribute at 32, all UINT64)
// spaced by the DescriptorSize it returns, which may exceed the 40 bytes defined so far (edk2
// returns 48): callers must step by it, never by the struct's size.
// Runs in the kernel's EFI stub before relocation: no allocation, bounds-checked reads.

public enum EFIMemoryDescriptor {
    /// The bytes of the fields UEFI 2.10 defines; a smaller DescriptorSize cannot hold them.
    public static let definedSize = 40

    /// Calls `body` with each descriptor of the `map` (MemoryMapSize bytes), stepping by
    /// `descriptorSize`. Throws when the size is too small or not 8-byte aligned, when the map is
    /// not a whole number of descriptors, or when a region's page count wraps past 2^64.
    public static func forEach(_ map: ByteView, descriptorSize: Int,
                               _ body: (EFIMemoryRegion) -> Void) throws(SlideError) {
        guard descriptorSize >= definedSize else {
            throw .outOfRange("EFI memory descriptor size", value: UInt64(truncatingIfNeeded: descriptorSize),
                              low: UInt64(definedSize), high: UInt64(Int.max))
        }
        guard descriptorSize & 7 == 0 else { throw .misaligned("EFI memory descriptor size", value: UInt64(descriptorSize), alignment: 8) }
        guard map.count % descriptorSize == 0 else { throw .invalid("EFI memory map size (not whole descriptors)", value: UInt64(map.count)) }
        var o = 0
        while o < map.count {
            let region = EFIMemoryRegion(type: EFIMemoryType(rawValue: try map.u32(at: o, "EFI memory descriptor Type")),
                                         start: try map.u64(at: o + 8, "EFI memory descriptor PhysicalStart"),
                                         pageCount: try map.u64(at: o + 24, "EFI memory descriptor NumberOfPages"),
                                         attributes: try map.u64(at: o + 32, "EFI memory descriptor Attribute"))
            guard region.end != nil else { throw .invalid("EFI memory descriptor PhysicalStart (its range wraps)", value: region.start) }
            body(region)
            o += descriptorSize
        }
    }
}

/// What the map holds of EFI_CONVENTIONAL_MEMORY: the free RAM an OS loader may allocate from,
/// and what the Slide stub and Linux's stub place the kernel in.
public struct EFIConventionalCensus: Equatable {
    public var ranges = 0
    public var bytes: UInt64 = 0

    public init() {}

    /// Counts `region` when it is conventional memory.
    public mutating func add(_ region: EFIMemoryRegion) {
        guard region.type == .conventional, let size = region.size, size > 0 else { return }
        ranges += 1
        bytes &+= size
    }
}
