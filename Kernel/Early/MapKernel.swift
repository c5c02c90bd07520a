// slide_early's last step: the boot translation tables, built by SlideCore's PageTableBuilder in
// the pool Asm/head.S reserves, and the TCR_EL1 value head.S turns the MMU on with.
//
// Runs before relocation, with the MMU off (Early.swift's constraints): the tables are written
// at their physical addresses.

/// The root tables head.S loads: TTBR0 (the boot identity map) and TTBR1 (the kernel and the linear map).
struct EarlyRoots {
    var ttbr0: UInt64, ttbr1: UInt64
}

/// Maps the devices, the Swift heap's alias, the boot identity map of RAM, the image at
/// KIMAGE_VADDR + offset (per segment) and the linear map; records the roots and the pool in `info`.
func mapKernel(imagePA: UInt64, offset: UInt64, ramLow: UInt64, ramHigh: UInt64, physOffset: UInt64, poolPA: UInt64,
               info: UnsafeMutablePointer<BootInfo>) throws(SlideError) -> EarlyRoots {
    var layout = ImageLayout()
    imageLayout(&layout)
    var tables = PageTableBuilder(poolBase: poolPA, poolPages: 64, granule: kernelGranule)
    let ttbr0 = try tables.allocateTable()
    let ttbr0Late = try tables.allocateTable()
    let ttbr1 = try tables.allocateTable()
    // Devices below RAM (PL011 at 0x09000000): in the boot and the late identity maps.
    try tables.map(root: ttbr0, va: 0, pa: 0, size: 1 << 30, .device)
    try tables.map(root: ttbr0Late, va: 0, pa: 0, size: 1 << 30, .device)
    // The Swift heap's physical alias (see Late/runtime.c): read-write, never executable.
    try tables.map(root: ttbr0Late, va: layout.heap, pa: layout.heap, size: heapSize, .readWrite)
    // Boot identity map of RAM: head.S and slide_relocate run from it with the MMU on.
    let (ramStart, ramEnd) = LinearMap.range(ramLow: ramLow, ramHigh: ramHigh)
    try tables.map(root: ttbr0, va: ramStart, pa: ramStart, size: ramEnd - ramStart, .bootIdentity)
    // The kernel image at KIMAGE_VADDR + offset, per segment.
    let va = linkBase() &+ offset
    func segment(_ from: UInt64, _ to: UInt64, _ a: MapAttributes) throws(SlideError) {
        guard to > from else { return }
        try tables.map(root: ttbr1, va: va &+ (from - layout.text), pa: imagePA &+ (from - layout.text), size: to - from, a)
    }
    try segment(layout.text, layout.etext, .text)
    try segment(layout.etext, layout.erodata, .readOnly)
    try segment(layout.erodata, layout.end, .readWrite)
    // The linear map: all RAM at PAGE_OFFSET + (PA - PHYS_OFFSET), largest blocks (SlideCore LinearMap).
    try LinearMap.map(&tables, root: ttbr1, ramLow: ramLow, ramHigh: ramHigh, physOffset: physOffset)
    info.pointee.ttbr0Late = ttbr0Late
    info.pointee.ttbr0Boot = ttbr0
    info.pointee.ttbr1 = ttbr1
    info.pointee.tablePages = UInt64(tables.usedPages)
    info.pointee.tablePool = poolPA
    return EarlyRoots(ttbr0: ttbr0, ttbr1: ttbr1)
}

/// TCR_EL1 (SlideCore TCR.kernel): 48-bit VA, the kernel's granule, IPS = ID_AA64MMFR0_EL1.PARange (bits 3:0).
func kernelTCR() -> TCR {
    TCR.kernel(vaBits: SlideKASLR.vaBits, granule: kernelGranule, parange: readMMFR0() & 0xf)
}
