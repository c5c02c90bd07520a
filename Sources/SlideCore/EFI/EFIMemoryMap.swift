// The UEFI memory map as a value: what the firmware says of each physical range (UEFI
// Specification 2.10, §7.2 EFI_BOOT_SERVICES.GetMemoryMap(), EFI_MEMORY_DESCRIPTOR).
//
// One type for both ends: the Slide kernel's EFI stub decodes the firmware's descriptors into it,
// and the host reads it from a saved map (the lines Linux prints with `efi=debug`), so the slot
// models in SlideCore see the same regions whichever side runs them.

/// EFI_MEMORY_TYPE (UEFI 2.10 Table 7.10); open, as firmware may use OEM and OS values.
public struct EFIMemoryType: RawRepresentable, Equatable, Hashable, Sendable {
    public var rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    public static let reserved = EFIMemoryType(rawValue: 0)
    public static let loaderCode = EFIMemoryType(rawValue: 1)
    public static let loaderData = EFIMemoryType(rawValue: 2)
    public static let bootServicesCode = EFIMemoryType(rawValue: 3)
    public static let bootServicesData = EFIMemoryType(rawValue: 4)
    public static let runtimeServicesCode = EFIMemoryType(rawValue: 5)
    public static let runtimeServicesData = EFIMemoryType(rawValue: 6)
    public static let conventional = EFIMemoryType(rawValue: 7)
    public static let unusable = EFIMemoryType(rawValue: 8)
    public static let acpiReclaim = EFIMemoryType(rawValue: 9)
    public static let acpiNVS = EFIMemoryType(rawValue: 10)
    public static let mmio = EFIMemoryType(rawValue: 11)
    public static let mmioPortSpace = EFIMemoryType(rawValue: 12)
    public static let palCode = EFIMemoryType(rawValue: 13)
    public static let persistent = EFIMemoryType(rawValue: 14)
    public static let unaccepted = EFIMemoryType(rawValue: 15)
}

/// EFI_MEMORY_DESCRIPTOR.Attribute bits the slot rules read.
public enum EFIMemoryAttribute {
    /// EFI_MEMORY_MORE_RELIABLE: mirrored memory. When any region has it, Linux's stub places the
    /// kernel only in such regions.
    public static let moreReliable: UInt64 = 0x1_0000
    /// EFI_MEMORY_RUNTIME: the OS must keep the region mapped for runtime services.
    public static let runtime: UInt64 = 1 << 63
}

/// One EFI_MEMORY_DESCRIPTOR: `pageCount` EFI pages (always 4 KiB, whatever the OS's page size)
/// from `start`.
public struct EFIMemoryRegion: Equatable {
    public static let pageSize: UInt64 = 4096

    public var type: EFIMemoryType
    public var start: UInt64
    public var pageCount: UInt64
    public var attributes: UInt64

    public init(type: EFIMemoryType, start: UInt64, pageCount: UInt64, attributes: UInt64) {
        self.type = type
        self.start = start
        self.pageCount = pageCount
        self.attributes = attributes
    }

    /// Size in bytes; nil when the page count overflows 64 bits.
    public var size: UInt64? {
        let (bytes, overflow) = pageCount.multipliedReportingOverflow(by: Self.pageSize)
        return overflow ? nil : bytes
    }

    /// One past the last byte; nil when the range wraps past 2^64.
    public var end: UInt64? {
        guard let size else { return nil }
        let (end, overflow) = start.addingReportingOverflow(size)
        return overflow ? nil : end
    }
}
