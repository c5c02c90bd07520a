// QEMU's arm64 CPU models as the KASLR models see them: the PA size (ID_AA64MMFR0_EL1.PARange),
// 52-bit VA with 4 KiB pages (TGran4 = 1, FEAT_LPA2), the 16 KiB granule, and RNDR
// (ID_AA64ISAR0_EL1.RNDR). Read from QEMU 7.2's ID registers through its gdbstub and from
// target/arm/tcg/cpu64.c for the models 7.2 lacks (docs/linux-kaslr.md).

import SlideCore

public struct QEMUCPU: Sendable {
    public var name: String
    public var features: LinuxCPU
    public var granule16K: Bool

    public static let all: [QEMUCPU] = [
        QEMUCPU(name: "cortex-a53", features: LinuxCPU(paBits: 40, lpa2: false, rndr: false), granule16K: false),
        QEMUCPU(name: "cortex-a57", features: LinuxCPU(paBits: 44, lpa2: false, rndr: false), granule16K: false),
        QEMUCPU(name: "cortex-a72", features: LinuxCPU(paBits: 44, lpa2: false, rndr: false), granule16K: false),
        QEMUCPU(name: "cortex-a76", features: LinuxCPU(paBits: 40, lpa2: false, rndr: false), granule16K: true),
        QEMUCPU(name: "cortex-a710", features: LinuxCPU(paBits: 40, lpa2: false, rndr: false), granule16K: true),
        QEMUCPU(name: "neoverse-n1", features: LinuxCPU(paBits: 48, lpa2: false, rndr: false), granule16K: true),
        QEMUCPU(name: "neoverse-n2", features: LinuxCPU(paBits: 48, lpa2: false, rndr: true), granule16K: true),
        QEMUCPU(name: "neoverse-v1", features: LinuxCPU(paBits: 48, lpa2: false, rndr: true), granule16K: true),
        QEMUCPU(name: "a64fx", features: LinuxCPU(paBits: 40, lpa2: false, rndr: false), granule16K: false),
        QEMUCPU(name: "max", features: LinuxCPU(paBits: 52, lpa2: true, rndr: true), granule16K: true),
    ]

    /// Whether the CPU has the granule: every model has 4 KiB; 16 KiB per `granule16K`; 64 KiB all
    /// of these have (ID_AA64MMFR0_EL1.TGran64 = 0). nil for a granule this table does not know.
    public func supports(_ g: Granule) -> Bool? {
        switch g.shift { case 12, 16: true; case 14: granule16K; default: nil }
    }

    /// The CPU `slide boot` and `slide kaslr` take when none is named: cortex-a57, or max for an
    /// Image whose page size cortex-a57 lacks (16 KiB).
    public static func defaultCPU(pageSize: UInt64?) -> QEMUCPU {
        let a57 = named("cortex-a57")!
        guard let g = pageSize.flatMap({ Granule(pageSize: $0) }), a57.supports(g) != true else { return a57 }
        return named("max")!
    }

    public static func named(_ name: String) -> QEMUCPU? { all.first { $0.name == name } }
    public static var names: String { all.map(\.name).joined(separator: ", ") }
}
