// Models of Linux's arm64 KASLR, one per formula (one file each), so the host can say where a
// given seed puts a given kernel on a given CPU: the image's Kernel Offset, kimage_voffset,
// PHYS_OFFSET after linear-map randomization, and the module region — and how many bits of
// entropy each has. Checked against real boots of Debian's 5.10, 6.1, 6.12 and 7.2 kernels under
// QEMU (docs/linux-kaslr.md has the formulas with their sources and the measured boots).
//
// Shared facts (arch/arm64/include/asm/memory.h, 5.10 to 7.x):
//   _PAGE_OFFSET(va) = -2^va, _PAGE_END(va) = -2^(va-1); the image is 2 MiB-aligned in VA and
//   keeps its physical misalignment within 2 MiB (`mis`): offset = D | mis, where D is the
//   2 MiB-aligned displacement the formula draws from the seed; kimage_voffset = VA(_text) - PA(_text).
//   The seed is /chosen/kaslr-seed (8 bytes, big-endian); with none, RNDR when the CPU has it.
//   PHYS_OFFSET starts as the start of RAM rounded down to ARM64_MEMSTART_ALIGN (1 GiB).

/// What the CPU contributes (QEMU's CPU models give these; docs/linux-kaslr.md lists them).
public struct LinuxCPU: Equatable, Sendable {
    /// ID_AA64MMFR0_EL1.PARange, in bits.
    public var paBits: Int
    /// FEAT_LPA2: 52-bit VA with 4 KiB (TGran4 = 1) and 16 KiB (TGran16 = 2) pages.
    public var lpa2: Bool
    /// ID_AA64ISAR0_EL1.RNDR ≠ 0: a random seed without the DTB's.
    public var rndr: Bool
    public init(paBits: Int, lpa2: Bool, rndr: Bool) { self.paBits = paBits; self.lpa2 = lpa2; self.rndr = rndr }
}

/// The inputs of one boot.
public struct LinuxKASLRInputs {
    /// /chosen/kaslr-seed; 0 = none.
    public var seed: UInt64
    /// The command line disables KASLR (by the version's own rule: `LinuxKASLRFormula.disables`).
    public var disabled: Bool
    public var cpu: LinuxCPU
    /// CONFIG_ARM64_VA_BITS and VA_BITS_MIN of the kernel (52/48 for Debian's 6.12+, 48/48 before).
    public var vaBits: Int, vaBitsMin: Int
    /// KIMAGE_VADDR: the link address of `_text`.
    public var linkBase: UInt64
    /// The header's image_size (`_end - _text`), `_stext - _text`, and `_etext - _text` when known.
    public var imageSize: UInt64, stextOffset: UInt64, etextOffset: UInt64?
    /// PA of `_text`.
    public var loadPA: UInt64
    /// RAM [ramLow, ramHigh).
    public var ramLow: UInt64, ramHigh: UInt64
    /// The page size (the Image header's flags).
    public var granule: Granule

    public init(seed: UInt64, disabled: Bool, cpu: LinuxCPU, vaBits: Int, vaBitsMin: Int, linkBase: UInt64, imageSize: UInt64,
                stextOffset: UInt64, etextOffset: UInt64?, loadPA: UInt64, ramLow: UInt64, ramHigh: UInt64, granule: Granule = .k4) {
        self.granule = granule
        self.seed = seed; self.disabled = disabled; self.cpu = cpu; self.vaBits = vaBits; self.vaBitsMin = vaBitsMin
        self.linkBase = linkBase; self.imageSize = imageSize; self.stextOffset = stextOffset; self.etextOffset = etextOffset; self.loadPA = loadPA
        self.ramLow = ramLow; self.ramHigh = ramHigh
    }

    var misalignment: UInt64 { ImageAlignment.misalignment(loadPA) }
    /// ARM64_MEMSTART_ALIGN, the step of PHYS_OFFSET (Granule.memstartAlign).
    var memstartAlign: UInt64 { granule.memstartAlign }
}

/// Where the seed came from, as the kernel decides it.
public enum LinuxSeedSource: String, Sendable {
    case fdt, rndr, none, disabled
}

/// A value the model knows, or only its range (when it comes from a random source at boot).
public enum Predicted: Equatable, Sendable {
    case exact(UInt64)
    case within(low: UInt64, high: UInt64)
    /// Depends on something the inputs do not give (e.g. `_etext` without symbols).
    case unknown

    public var exact: UInt64? { if case .exact(let v) = self { v } else { nil } }

    /// This value plus `delta` (a range moves as a whole).
    public func adding(_ delta: UInt64) -> Predicted {
        switch self {
        case .exact(let v): .exact(v &+ delta)
        case .within(let l, let h): .within(low: l &+ delta, high: h &+ delta)
        case .unknown: .unknown
        }
    }
}

/// One boot's layout.
public struct LinuxKASLRLayout {
    /// The VA size the kernel runs with (52 only with a VA_BITS=52 kernel on an LPA2 CPU).
    public var vaBitsActual: Int
    public var seedSource: LinuxSeedSource
    /// kaslr_offset() = VA(_text) - KIMAGE_VADDR; the kernel prints "Kernel Offset: disabled" when 0.
    public var offset: Predicted
    /// PHYS_OFFSET (memstart_addr, printed as u64).
    public var physOffset: Predicted
    /// The module region: the range of its base and its size.
    public var moduleBase: Predicted
    public var moduleSize: UInt64
    /// What the module base is drawn from ("seed bits 0..20", "get_random_u32() at boot", …).
    public var moduleRandomness: String
    /// Bits of entropy of each part for a uniformly random seed (0 when not randomized).
    public var imageEntropy: Double, physEntropy: Double, moduleEntropy: Double
    /// Seed bits each part uses, for the report.
    public var imageSeedBits: String, physSeedBits: String

    /// VA(_text), when exact.
    public func kernelStart(linkBase: UInt64) -> UInt64? { offset.exact.map { linkBase &+ $0 } }
}

/// One formula: which versions follow it, what it was measured on, and the layout it gives.
public protocol LinuxKASLRFormula {
    /// e.g. "linux-6.9".
    static var name: StaticString { get }
    /// The first version the formula applies to (the next formula's first version ends it).
    static var firstVersion: (Int, Int) { get }
    /// The kernel source it follows.
    static var source: StaticString { get }
    /// The real kernels it was checked against, and their (major, minor).
    static var measured: StaticString { get }
    static var measuredVersions: [(Int, Int)] { get }
    /// The page sizes (bytes) its boots were measured with.
    static var measuredPageSizes: [UInt64] { get }
    /// The module region depends on `_stext` (5.10 and 6.1's window is 2 GiB minus _end - _stext).
    static var modulesUseStext: Bool { get }
    /// The command line disables KASLR (each version parses it its own way).
    static func disables(commandLine: String) -> Bool
    static func layout(_ i: LinuxKASLRInputs) -> LinuxKASLRLayout
}

/// Arithmetic every formula shares.
public enum LinuxKASLR {
    /// -2^bits as u64.
    static func minus(_ bits: Int) -> UInt64 { 0 &- (1 << UInt64(bits)) }

    /// log2 of a count, for entropy.
    public static func bits(_ count: UInt64) -> Double {
        guard count > 1 else { return 0 }
        var n = count, whole = 0
        while n > 1 { n >>= 1; whole += 1 }
        // log2(count) = whole + log2(count / 2^whole), the fraction by a short series-free method:
        var x = Double(count) / Double(UInt64(1) << UInt64(whole)), frac = 0.0, bit = 0.5
        for _ in 0..<30 { x *= x; if x >= 2 { x /= 2; frac += bit }; bit /= 2 }
        return Double(whole) + frac
    }

    /// The 2 MiB-aligned displacement D as the early code leaves it, then offset = D | mis.
    static func offset(_ d: Predicted, _ i: LinuxKASLRInputs) -> Predicted {
        switch d {
        case .exact(let v): .exact(v | i.misalignment)
        case .within(let l, let h): .within(low: l | i.misalignment, high: h | i.misalignment)
        case .unknown: .unknown
        }
    }

    /// `_etext - 128 MiB` at run time, the 5.10/6.1 module base without KASLR.
    static func etextBase(_ i: LinuxKASLRInputs, offset: Predicted) -> Predicted {
        guard let e = i.etextOffset else { return .unknown }
        return offset.adding(i.linkBase &+ e &- (128 << 20))
    }

    /// The 5.10/6.1 module region with RANDOMIZE_MODULE_REGION_FULL (ModuleRegion.fullWindowBase),
    /// for an image whose `_text` is at a given address.
    struct FullModuleWindow {
        let i: LinuxKASLRInputs
        let modulesVaddr: UInt64
        var range: UInt64 { ModuleRegion.window &- (i.imageSize &- i.stextOffset) }
        /// For `_text` at `text` and a 21-bit `fraction`.
        func base(text: UInt64, fraction: UInt64) -> UInt64 {
            ModuleRegion.fullWindowBase(stext: text &+ i.stextOffset, end: text &+ i.imageSize, modulesVaddr: modulesVaddr, fraction: fraction,
                                        page: i.granule.pageSize)
        }
        /// The distinct page-aligned bases over every fraction.
        var values: UInt64 { ((range &* 0x1f_ffff) >> 21) >> UInt64(i.granule.shift) + 1 }
        /// The bases an offset range allows, over every fraction.
        func bases(_ offset: Predicted) -> Predicted {
            switch offset {
            case .exact(let o): .within(low: base(text: i.linkBase &+ o, fraction: 0), high: base(text: i.linkBase &+ o, fraction: 0x1f_ffff))
            case .within(let l, let h): .within(low: base(text: i.linkBase &+ l, fraction: 0), high: base(text: i.linkBase &+ h, fraction: 0x1f_ffff))
            case .unknown: .unknown
            }
        }
    }

    /// Number of distinct 2 MiB-aligned D for an offset drawn from [low, high] (both D values).
    static func slots(low: UInt64, high: UInt64) -> UInt64 { (high - low) / ImageAlignment.kernel + 1 }

    /// The seed the early code uses: the DTB's, else RNDR's (unpredictable), else none.
    static func seedSource(_ i: LinuxKASLRInputs, rndrAlwaysMixed: Bool = false) -> LinuxSeedSource {
        if i.disabled { return .disabled }
        if i.cpu.rndr && (i.seed == 0 || rndrAlwaysMixed) { return .rndr }
        return i.seed != 0 ? .fdt : .none
    }

    /// arm64_memblock_init's starting point: RAM start rounded down to ARM64_MEMSTART_ALIGN, raised
    /// when RAM runs past the linear region (memory beyond it is dropped).
    static func memstartBase(_ i: LinuxKASLRInputs, linearRegionSize: UInt64) -> UInt64 {
        let memstartAlign = i.memstartAlign
        var memstart = i.ramLow & ~(memstartAlign - 1)
        if i.ramHigh &- memstart > linearRegionSize {
            memstart = (i.ramHigh &- linearRegionSize &+ memstartAlign - 1) & ~(memstartAlign - 1)
        }
        return memstart
    }

    /// The linear-map randomization step: memstart -= align · ⌊slots · s16 / 2^16⌋, slots =
    /// range / align, when s16 > 0 and range ≥ align (ARM64_MEMSTART_ALIGN). `range` is signed (it may be negative).
    static func randomizeMemstart(_ memstart: UInt64, range: Int64, s16: UInt64, align memstartAlign: UInt64) -> UInt64 {
        guard s16 > 0, range >= Int64(memstartAlign) else { return memstart }
        let slots = UInt64(range) / memstartAlign
        return memstart &- memstartAlign &* ((slots &* s16) >> 16)
    }

    /// The distinct values of the step over s16 ∈ [0, 2^16): min(slots, 2^16), or 1 when it never moves.
    static func memstartValues(range: Int64, align memstartAlign: UInt64) -> UInt64 {
        guard range >= Int64(memstartAlign) else { return 1 }
        return min(UInt64(range) / memstartAlign, 1 << 16)
    }

    /// The range of a randomized memstart: from the lowest value to the unmoved one.
    static func memstartRange(_ memstart: UInt64, range: Int64, align memstartAlign: UInt64) -> Predicted {
        guard range >= Int64(memstartAlign) else { return .exact(memstart) }
        let slots = UInt64(range) / memstartAlign
        return .within(low: memstart &- memstartAlign &* ((slots &* 0xffff) >> 16), high: memstart)
    }
}
