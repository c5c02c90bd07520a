// The Slide kernel's boot policy, whole (docs/slide-kaslr.md): which seed counts, whether and
// where the image moves in physical memory, its virtual offset, PHYS_OFFSET and the module
// region. Its one home: the kernel's early code (Kernel/Early/) and kernel_main call the
// steps below; `slide kaslr`, `slide boot`'s comparison and the soak call `layout`, which is the
// same steps in the kernel's order.
//
//   seed:      nokaslr on the command line → none; else /chosen/kaslr-seed when not 0 → fdt;
//              else RNDR when the CPU has it → rndr; else none.
//   physical:  only an FDT seed moves the image, and not with kaslr.phys=0 (PhysicalPlacement,
//              over RAM minus the reserved ranges, the FDT and the loaded image).
//   offset:    Linux 6.1's displacement for VA_BITS_MIN 48 (Linux61KASLR.displacement) | the
//              final physical address mod 2 MiB; 0 | misalignment when not randomized.
//   PHYS_OFFSET: the start of RAM rounded down to the granule's linear-map block (LinearMap).
//   modules:   randomized → the full 2 GiB window, moved by mix(seed ^ "modules!"); else
//              _etext - 128 MiB (ModuleRegion).

/// Where the KASLR seed came from (the boot report's `seed_source=`).
public enum SeedSource: UInt64, Sendable {
    case none = 0, fdt = 1, rndr = 2, nokaslr = 3

    public var name: StaticString {
        switch self {
        case .none: "none"
        case .fdt: "fdt"
        case .rndr: "rndr"
        case .nokaslr: "nokaslr"
        }
    }

    /// The seed randomized the layout.
    public var randomizes: Bool { self == .fdt || self == .rndr }
}

/// The command-line options the Slide kernel's early code acts on.
public struct SlideBootArgs: Sendable {
    /// `nokaslr` (Linux's early rule, BootArgs.disablesKASLR).
    public var nokaslr = false
    /// `kaslr.phys=0`: randomize virtually, stay where loaded physically.
    public var physicalOff = false
    /// `slide.bench=1`: measure the relocation loops in guest instructions (Kernel/Shared/Bench.swift).
    public var bench = false
    /// `slide.crash=1`: end the boot with an unguarded fault, for the crash report test.
    public var crash = false

    public init() {}

    public init(length: Int, byte: (Int) -> UInt8) {
        nokaslr = BootArgs.disablesKASLR(length: length, byte: byte)
        physicalOff = BootArgs.has(length: length, byte: byte, option: "kaslr.phys=0")
        bench = BootArgs.has(length: length, byte: byte, option: "slide.bench=1")
        crash = BootArgs.has(length: length, byte: byte, option: "slide.crash=1")
    }
}

public enum SlideKASLR {
    /// KIMAGE_VADDR for 48-bit VA, -(1 << 47) + 128 MiB: where Kernel/build.sh links the kernel
    /// unless `--base` says otherwise: build.sh reads it from Kernel/Asm/asm-offsets.h, which is generated from this constant.
    public static let defaultLinkBase: UInt64 = 0xffff_8000_0800_0000
    /// The kernel runs with 48-bit VA (T0SZ = T1SZ = 16).
    public static let vaBits = 48

    /// Which seed counts (the rule at the top of this file).
    public static func seedSource(_ args: SlideBootArgs, fdtSeed: UInt64, cpuHasRNDR: Bool) -> SeedSource {
        if args.nokaslr { return .nokaslr }
        if fdtSeed != 0 { return .fdt }
        return cpuHasRNDR ? .rndr : .none
    }

    /// The seed that moves the image physically, or nil to stay: only an FDT seed, and not with
    /// nokaslr or kaslr.phys=0.
    public static func physicalSeed(_ args: SlideBootArgs, fdtSeed: UInt64) -> UInt64? {
        seedSource(args, fdtSeed: fdtSeed, cpuHasRNDR: false) == .fdt && !args.physicalOff ? fdtSeed : nil
    }

    /// Where the image moves: `placement` holds RAM and the ranges to avoid besides the loaded
    /// image itself, which this adds. Nil to stay.
    public static func physicalSlot(seed: UInt64, placement: PhysicalPlacement, loadPA: UInt64, imageSize: UInt64)
        -> (address: UInt64, candidates: UInt64)? {
        var p = placement
        p.exclude(base: loadPA, size: imageSize)
        return p.choose(seed: seed, loadPA: loadPA, imageSize: imageSize)
    }

    /// Where the kernel's EFI stub copies the image: the same rule over the firmware's
    /// EFI_CONVENTIONAL_MEMORY regions (`placement`'s RAM, nothing excluded: every other type is
    /// in use), 2 MiB-aligned (the stub copies, so nothing keeps the firmware's misalignment), with
    /// the EFI_RNG_PROTOCOL seed. Nil without a candidate.
    public static func efiSlot(seed: UInt64, placement: PhysicalPlacement, imageSize: UInt64) -> (address: UInt64, candidates: UInt64)? {
        placement.pick(seed: seed, imageSize: imageSize, misalignment: 0)
    }

    /// The number of places physical randomization chooses from (for the entropy report).
    public static func physicalSlots(placement: PhysicalPlacement, loadPA: UInt64, imageSize: UInt64) -> UInt64 {
        var p = placement
        p.exclude(base: loadPA, size: imageSize)
        return p.candidateCount(imageSize: imageSize, misalignment: ImageAlignment.misalignment(loadPA))
    }

    /// The 2 MiB-aligned displacement a seed gives: Linux 6.1's.
    public static func displacement(seed: UInt64) -> UInt64 { Linux61KASLR.displacement(seed: seed, vaBitsMin: vaBits) }

    /// The run-time offset from the link address for an image at `physicalAddress`.
    public static func offset(_ source: SeedSource, seed: UInt64, physicalAddress: UInt64) -> UInt64 {
        (source.randomizes ? displacement(seed: seed) : 0) | ImageAlignment.misalignment(physicalAddress)
    }

    /// The module region's base for an image whose `_stext`, `_etext` and `_end` are at these
    /// run-time VAs, on a page of the kernel's granule.
    public static func moduleBase(_ source: SeedSource, seed: UInt64, stext: UInt64, etext: UInt64, end: UInt64, granule: Granule) -> UInt64 {
        ModuleRegion.base(randomized: source.randomizes, fraction: ModuleRegion.fraction(seed: seed), stext: stext, etext: etext, end: end,
                          page: granule.pageSize)
    }

    /// Where the first module of `size` bytes goes in a kernel randomized by `seed` from an FDT
    /// (with physical randomization the image keeps its misalignment, so its offset is the same
    /// at the load address): the offset, the region's base, and the module's address. `size` is
    /// the module's, laid out in pages of the kernel's `granule` (ModuleLayout).
    public static func firstModule(seed: UInt64, loadPA: UInt64, image: ImageLandmarks, size: UInt64, granule: Granule)
        -> (offset: UInt64, base: UInt64, address: UInt64) {
        let o = offset(.fdt, seed: seed, physicalAddress: loadPA)
        let base = moduleBase(.fdt, seed: seed, stext: image.stext &+ o, etext: image.etext &+ o, end: image.end &+ o, granule: granule)
        return (o, base, ModuleRegion.place(cursor: base, size: size, imageStart: image.text &+ o, imageEnd: image.end &+ o, page: granule.pageSize))
    }

    /// The whole layout, as the host predicts it (an RNDR seed is not known: its values are ranges).
    public static func layout(_ i: SlideKASLRInputs) -> SlideKASLRLayout {
        let source = seedSource(i.args, fdtSeed: i.fdtSeed, cpuHasRNDR: i.cpuHasRNDR)
        var pa: Predicted = .exact(i.loadPA)
        var candidates: UInt64? = nil
        if let seed = physicalSeed(i.args, fdtSeed: i.fdtSeed) {
            if let choice = physicalSlot(seed: seed, placement: i.placement, loadPA: i.loadPA, imageSize: i.imageSize) {
                pa = .exact(choice.address)
                candidates = choice.candidates
            }
        } else if source == .rndr {
            pa = .unknown
        }
        let virtual: Predicted = switch source {
        case .fdt: pa.exact.map { .exact(offset(source, seed: i.fdtSeed, physicalAddress: $0)) } ?? .unknown
        case .rndr: .within(low: displacement(seed: 0), high: displacement(seed: .max))
        case .none, .nokaslr: .exact(offset(source, seed: 0, physicalAddress: i.loadPA))
        }
        var moduleBase: Predicted = .unknown
        if let l = i.image, let o = virtual.exact, source != .rndr {
            moduleBase = .exact(Self.moduleBase(source, seed: i.fdtSeed, stext: l.stext &+ o, etext: l.etext &+ o, end: l.end &+ o, granule: i.granule))
        }
        return SlideKASLRLayout(seedSource: source, physicalAddress: pa, physicalCandidates: candidates,
                                physicalSlots: physicalSlots(placement: i.placement, loadPA: i.loadPA, imageSize: i.imageSize),
                                offset: virtual, physOffset: LinearMap.physOffset(ramLow: i.ramLow, granule: i.granule),
                                moduleBase: moduleBase)
    }
}

/// One boot's inputs, as the host knows them.
public struct SlideKASLRInputs {
    public var args: SlideBootArgs
    /// /chosen/kaslr-seed; 0 = none.
    public var fdtSeed: UInt64
    public var cpuHasRNDR: Bool
    /// Where the loader put the image, and its header's image_size.
    public var loadPA: UInt64, imageSize: UInt64
    /// RAM and the ranges physical randomization avoids (reserved memory, the FDT), without the image.
    public var placement: PhysicalPlacement
    public var ramLow: UInt64
    public var granule: Granule
    /// The image's landmarks, when its symbol map has them.
    public var image: ImageLandmarks?

    public init(args: SlideBootArgs, fdtSeed: UInt64, cpuHasRNDR: Bool, loadPA: UInt64, imageSize: UInt64,
                placement: PhysicalPlacement, ramLow: UInt64, granule: Granule, image: ImageLandmarks?) {
        self.args = args; self.fdtSeed = fdtSeed; self.cpuHasRNDR = cpuHasRNDR; self.loadPA = loadPA; self.imageSize = imageSize
        self.placement = placement; self.ramLow = ramLow; self.granule = granule; self.image = image
    }
}

/// `_text`, `_stext`, `_etext` and `_end` at their link addresses.
public struct ImageLandmarks: Sendable {
    public var text: UInt64, stext: UInt64, etext: UInt64, end: UInt64
    public init(text: UInt64, stext: UInt64, etext: UInt64, end: UInt64) { self.text = text; self.stext = stext; self.etext = etext; self.end = end }
}

/// One boot's layout.
public struct SlideKASLRLayout {
    public var seedSource: SeedSource
    /// PA of the image after physical randomization, and how many places it chose from when it moved.
    public var physicalAddress: Predicted
    public var physicalCandidates: UInt64?
    /// The places it could have chosen from (whether or not it moved).
    public var physicalSlots: UInt64
    /// VA(_text) - link base.
    public var offset: Predicted
    public var physOffset: UInt64
    /// The module region's base (unknown without the landmarks, or with an RNDR seed).
    public var moduleBase: Predicted
}
