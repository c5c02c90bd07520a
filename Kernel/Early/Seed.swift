// slide_early's first step: what the FDT says (the command line, /chosen/kaslr-seed, the RAM
// span), then the seed that counts (SlideKASLR.seedSource): the FDT's, else RNDR's, else none.
//
// Runs before relocation, with the MMU off (Early.swift's constraints).

/// What slide_early reads from the FDT.
struct EarlyFDTFacts {
    var args = SlideBootArgs()
    /// /chosen/kaslr-seed (8 bytes, big-endian), 0 without one.
    var fdtSeed: UInt64 = 0
    /// The span of the memory nodes; ramLow = UInt64.max without any.
    var ramLow = UInt64.max, ramHigh: UInt64 = 0
    /// What the EFI stub said, when it booted us.
    var efiStub: EFIStubFacts? = nil

    /// Without a memory node: 1 GiB of RAM from the GiB the image is in.
    mutating func assumeRAMIfNone(around imagePA: UInt64) {
        guard ramLow == UInt64.max else { return }
        ramLow = imagePA & ~0x3fff_ffff
        ramHigh = ramLow + (1 << 30)
    }
}

/// Reads the FDT at `fdtPA` and wipes its seed once read; records the FDT's size, `slide.bench=1`
/// and the wipe in `info`. QEMU hands over a blob with room to grow (totalsize past 2 MiB): read
/// up to 16 MiB, all of it RAM.
func readEarlyFDT(_ fdtPA: UInt64, _ info: UnsafeMutablePointer<BootInfo>) -> EarlyFDTFacts {
    var facts = EarlyFDTFacts()
    guard let fdtBase = UnsafeMutableRawPointer(bitPattern: UInt(fdtPA)), let fdt = try? FDT(at: fdtBase, limit: 16 << 20) else {
        return facts
    }
    info.pointee.fdtSize = UInt64(fdt.totalSize)
    facts.args = bootArgs(fdt)
    facts.efiStub = EFIStubFacts(fdt)
    if facts.args.bench { info.pointee.bench = 1 }
    if let s = try? fdt.property(node: "chosen", name: "kaslr-seed"), s.length == 8 {
        facts.fdtSeed = fdt.cells(s, at: 0, count: 2)
        fdt.zero(s)
        info.pointee.seedWiped = 1
    }
    try? fdt.forEachMemoryRange { base, size in
        guard size > 0 else { return }
        facts.ramLow = min(facts.ramLow, base)
        facts.ramHigh = max(facts.ramHigh, base &+ size)
    }
    return facts
}

/// The seed's source and value. RNDR may report no entropy: the boot then stays unrandomized,
/// and says so (seed_source=none).
func chooseSeed(_ facts: EarlyFDTFacts) -> (SeedSource, UInt64) {
    // ID_AA64ISAR0_EL1.RNDR (bits 63:60): non-zero when the CPU has RNDR.
    let source = SlideKASLR.seedSource(facts.args, fdtSeed: facts.fdtSeed, cpuHasRNDR: (readISAR0() >> 60) & 0xf != 0)
    switch source {
    case .fdt:
        return (source, facts.fdtSeed)
    case .rndr:
        var ok: UInt64 = 0
        let value = readRNDR(&ok)
        return ok != 0 ? (.rndr, value) : (.none, 0)
    default:
        return (source, 0)
    }
}
