// slide_place: physical randomization. Asm/head.S calls it first, with the MMU off; when it
// returns an address, head.S copies the image there and starts again in the copy, where
// slide_early runs.
//
// Runs before relocation, with the MMU off (Early.swift's constraints).

/// slide_place: physical randomization (SlideKASLR.physicalSeed and physicalSlot). Returns the
/// physical address to move the image to, or 0 to stay.
/// The FDT is read, not changed: slide_early wipes the seed after the move.
@c(slide_place)
func slidePlace(_ fdtPA: UInt64, _ imagePA: UInt64, _ imageSize: UInt64, _ candidatesOut: UnsafeMutableRawPointer) -> UInt64 {
    guard let fdtBase = UnsafeMutableRawPointer(bitPattern: UInt(fdtPA)), let fdt = try? FDT(at: fdtBase, limit: 16 << 20),
          EFIStubFacts(fdt) == nil, // the EFI stub chose the slot already
          let s = try? fdt.property(node: "chosen", name: "kaslr-seed"), s.length == 8 else { return 0 }
    guard let seed = SlideKASLR.physicalSeed(bootArgs(fdt), fdtSeed: fdt.cells(s, at: 0, count: 2)) else { return 0 }
    var placement = PhysicalPlacement(granule: kernelGranule)
    do throws(SlideError) {
        try fdt.forEachMemoryRange { placement.addRAM(base: $0, size: $1) }
        try fdt.forEachReservedRange { placement.exclude(base: $0, size: $1) }
    } catch {
        return 0
    }
    placement.exclude(base: fdtPA, size: UInt64(fdt.totalSize))
    guard let choice = SlideKASLR.physicalSlot(seed: seed, placement: placement, loadPA: imagePA, imageSize: imageSize) else { return 0 }
    candidatesOut.storeBytes(of: choice.candidates, as: UInt64.self)
    return choice.address
}
