// slide_early: the kernel's first Swift, with the MMU off, at the physical load address.
//
// Runs before relocation: no globals that hold pointers, no absolute addresses, no
// allocation, no metadata — only arithmetic on addresses passed in from Asm/head.S and aligned
// plain loads and stores (all memory is Device memory with the MMU off). Its steps: read the
// FDT and choose the seed (Seed.swift), compute the run-time offset (SlideCore's KASLR model),
// build the translation tables and TCR (MapKernel.swift). Before it, slide_place (Place.swift)
// may have moved the image; after it, head.S turns the MMU on and calls slide_relocate.

/// What slide_early hands back to Asm/head.S (through memory: more than two registers); head.S
/// fills in the last two fields first, from slide_place.
@c(slide_early)
func slideEarly(_ fdtPA: UInt64, _ imagePA: UInt64, _ x1: UInt64, _ x2: UInt64, _ x3: UInt64,
                _ poolPA: UInt64, _ result: UnsafeMutableRawPointer) {
    let out = result.assumingMemoryBound(to: EarlyResult.self)
    let movedFrom = out.pointee.movedFrom, candidates = out.pointee.candidates
    let info = bootInfo()
    info.pointee.pa = imagePA
    info.pointee.fdt = fdtPA
    info.pointee.x1 = x1; info.pointee.x2 = x2; info.pointee.x3 = x3
    info.pointee.movedFrom = movedFrom
    info.pointee.physCandidates = candidates

    var facts = readEarlyFDT(fdtPA, info)
    if let stub = facts.efiStub, stub.moved {   // the EFI stub's move stands for slide_place's
        info.pointee.movedFrom = stub.loadedAt
        info.pointee.physCandidates = stub.candidates
    }
    let (source, seed) = chooseSeed(facts)
    info.pointee.seedSource = source.rawValue
    info.pointee.seed = seed
    let offset = SlideKASLR.offset(source, seed: seed, physicalAddress: imagePA)
    facts.assumeRAMIfNone(around: imagePA)
    info.pointee.ramLow = facts.ramLow
    info.pointee.ramHigh = facts.ramHigh
    let physOffset = LinearMap.physOffset(ramLow: facts.ramLow, granule: kernelGranule)
    info.pointee.physOffset = physOffset

    // A failure here leaves the tables empty and the boot stops in head.S.
    do throws(SlideError) {
        let roots = try mapKernel(imagePA: imagePA, offset: offset, ramLow: facts.ramLow, ramHigh: facts.ramHigh,
                                  physOffset: physOffset, poolPA: poolPA, info: info)
        out.pointee = EarlyResult(offset: offset, ttbr1: roots.ttbr1, ttbr0: roots.ttbr0, tcr: kernelTCR().rawValue,
                                  movedFrom: movedFrom, candidates: candidates)
    } catch {
        info.pointee.earlyFailure = 1
        out.pointee = EarlyResult()
    }
}
