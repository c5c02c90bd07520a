// `slide kaslr`: the layout a seed gives a kernel Image on a CPU. For Linux, the SlideCore model
// of the Image's version (chosen from its banner; the kernel's VA_BITS from its own cpufeature
// table, VA_BITS_MIN from its link base); for a Slide kernel, the Slide kernel's own rules (the
// SlideCore code it runs at boot). Every input the Image cannot give is said to be an assumption.

import SlideCore

public struct KASLRQuery {
    public var seed: UInt64 = 0
    public var commandLine = ""
    /// The CLI takes `QEMUCPU.defaultCPU` for the Image's page size when none is named.
    public var cpu: QEMUCPU = QEMUCPU.named("cortex-a57")!
    /// Overrides of the CPU's sizes.
    public var vaBits: Int? = nil, paBits: Int? = nil
    /// PA of the image's first byte (default: where QEMU's -kernel puts it).
    public var loadPA: UInt64 = BootOptions.qemuKernelAddress
    /// RAM ranges (default: QEMU virt's 1 GiB at 0x40000000) and, for a Slide kernel, ranges it must avoid.
    public var memory: [(base: UInt64, size: UInt64)] = [(BootOptions.ramBase, 1 << 30)]
    public var reserved: [(base: UInt64, size: UInt64)] = []
    public init() {}

    var ramLow: UInt64 { memory.map(\.base).min() ?? 0 }
    var ramHigh: UInt64 { memory.map { $0.base &+ $0.size }.max() ?? 0 }
}

public struct KASLRPrediction {
    public enum Kind: String { case linux, slide }
    public var kind: Kind
    /// "linux-6.9", or "slide".
    public var model: String
    public var modelSource: String
    public var modelMeasured: String
    /// The Image's version and how far the model is from what was measured.
    public var version: String?
    public var facts: [(String, String)] = []
    /// Inputs taken on trust (said wherever they are used).
    public var assumptions: [String] = []
    public var linkBase: UInt64
    /// Established from the Image, or given with --link-base (said in the text and the JSON).
    public var linkBaseStanding: Standing = .established
    public var imageSize: UInt64
    public var vaBits: Int, vaBitsActual: Int
    /// The Image's page size (PHYS_OFFSET moves in steps of its ARM64_MEMSTART_ALIGN).
    public var granule: Granule = .k4
    public var seedSource: String
    public var offset: Predicted
    public var physOffset: Predicted
    public var moduleBase: Predicted
    public var moduleSize: UInt64
    public var moduleRandomness: String
    /// The physical address the image runs at (a Slide kernel may move itself).
    public var physicalAddress: Predicted
    public var physicalCandidates: UInt64? = nil
    public var entropy: [(part: String, bits: Double, seedBits: String)] = []

    public var kernelStart: Predicted { offset.adding(linkBase) }
    /// kimage_voffset = VA(_text) - PA(_text).
    public var kimageVoffset: Predicted {
        guard let o = offset.exact, let pa = physicalAddress.exact else { return .unknown }
        return .exact(linkBase &+ o &- pa)
    }
}

