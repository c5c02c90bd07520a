// TCR_EL1, the Translation Control Register (Arm ARM D17.2.138): the value the kernel's early
// code writes before it turns the MMU on, built from named fields. Each field is set by
// `subscript(field:)` and read back by the same subscript, so tests round-trip it.

/// A TCR_EL1 value.
public struct TCR: RawRepresentable, Equatable, Sendable {
    public var rawValue: UInt64
    public init(rawValue: UInt64) { self.rawValue = rawValue }

    /// One field of the register: its lowest bit and its width in bits.
    public struct Field: Sendable {
        public let shift: UInt64, width: UInt64
        var mask: UInt64 { (1 << width) - 1 }
    }

    /// TTBR0 region size: 2^(64 - T0SZ) bytes (bits 5:0).
    public static var T0SZ: Field { Field(shift: 0, width: 6) }
    /// Inner and outer cacheability of TTBR0 walks (bits 9:8, 11:10).
    public static var IRGN0: Field { Field(shift: 8, width: 2) }
    public static var ORGN0: Field { Field(shift: 10, width: 2) }
    /// Shareability of TTBR0 walks (bits 13:12).
    public static var SH0: Field { Field(shift: 12, width: 2) }
    /// TTBR0 granule (bits 15:14): Granule.tcrTG0.
    public static var TG0: Field { Field(shift: 14, width: 2) }
    /// TTBR1 region size: 2^(64 - T1SZ) bytes (bits 21:16).
    public static var T1SZ: Field { Field(shift: 16, width: 6) }
    /// Inner and outer cacheability of TTBR1 walks (bits 25:24, 27:26).
    public static var IRGN1: Field { Field(shift: 24, width: 2) }
    public static var ORGN1: Field { Field(shift: 26, width: 2) }
    /// Shareability of TTBR1 walks (bits 29:28).
    public static var SH1: Field { Field(shift: 28, width: 2) }
    /// TTBR1 granule (bits 31:30): Granule.tcrTG1 (encoded unlike TG0).
    public static var TG1: Field { Field(shift: 30, width: 2) }
    /// Intermediate physical address size (bits 34:32), encoded as ID_AA64MMFR0_EL1.PARange.
    public static var IPS: Field { Field(shift: 32, width: 3) }

    /// IRGNn/ORGNn 0b01: Normal memory, Write-Back Read-Allocate Write-Allocate Cacheable.
    public static let writeBackWriteAllocate: UInt64 = 0b01
    /// SHn 0b11: Inner Shareable.
    public static let innerShareable: UInt64 = 0b11
    /// PARange/IPS 0b101: 48 bits, the widest output address the kernel's descriptors hold.
    public static let ips48: UInt64 = 0b101

    /// The field's value; setting it keeps the other fields (a value wider than the field is cut to it).
    public subscript(field: Field) -> UInt64 {
        get { (rawValue >> field.shift) & field.mask }
        set { rawValue = rawValue & ~(field.mask << field.shift) | (newValue & field.mask) << field.shift }
    }

    /// The kernel's TCR: both halves `vaBits` wide, table walks Inner Shareable and Write-Back
    /// Write-Allocate, the granule's TG0 and TG1, and IPS = the CPU's PARange (at most 48 bits).
    public static func kernel(vaBits: Int, granule: Granule, parange: UInt64) -> TCR {
        var t = TCR(rawValue: 0)
        t[T0SZ] = UInt64(64 - vaBits)
        t[IRGN0] = writeBackWriteAllocate
        t[ORGN0] = writeBackWriteAllocate
        t[SH0] = innerShareable
        t[TG0] = granule.tcrTG0
        t[T1SZ] = UInt64(64 - vaBits)
        t[IRGN1] = writeBackWriteAllocate
        t[ORGN1] = writeBackWriteAllocate
        t[SH1] = innerShareable
        t[TG1] = granule.tcrTG1
        t[IPS] = min(parange, ips48)
        return t
    }
}
