// What the EFI stub (Kernel/Early/EFIStub.swift) tells the kernel it boots, in two /chosen
// properties of the FDT it hands over: `slide,efi-stub`, the facts below as big-endian 64-bit
// cells, and `slide,efi-conventional`, the EFI_CONVENTIONAL_MEMORY ranges the slot was chosen
// over as (base, size) pairs. slide_place sees `slide,efi-stub` and leaves the image where the
// stub put it; slide_early takes the move from it; the report prints both (Late/Report.swift).
// Compiled into both modules (Shared/), so writer and readers agree on one layout.

struct EFIStubFacts {
    /// Where the firmware loaded the image, and where the stub put it (the same when it stayed).
    var loadedAt: UInt64 = 0, slot: UInt64 = 0
    /// The places the slot rule chose from (0 when it did not run), and whether EFI_RNG_PROTOCOL gave a seed.
    var candidates: UInt64 = 0, rng: UInt64 = 0
    /// The seed the slot came from (0 without one): reported, so the host can check the slot exactly.
    var seed: UInt64 = 0
    /// The census of the map the slot was chosen over, and how many of its ranges the rule took
    /// (PhysicalPlacement.maxRAM at most).
    var conventionalRanges: UInt64 = 0, conventionalBytes: UInt64 = 0, rangesUsed: UInt64 = 0

    static let cells = 8

    /// Reads `slide,efi-stub` from /chosen; nil when the FDT has none (another loader booted us).
    init?(_ fdt: FDT) {
        guard let p = try? fdt.property(node: "chosen", name: "slide,efi-stub"), p.length == 8 * Self.cells else { return nil }
        loadedAt = fdt.cells(p, at: 0, count: 2); slot = fdt.cells(p, at: 2, count: 2)
        candidates = fdt.cells(p, at: 4, count: 2); rng = fdt.cells(p, at: 6, count: 2)
        seed = fdt.cells(p, at: 8, count: 2)
        conventionalRanges = fdt.cells(p, at: 10, count: 2); conventionalBytes = fdt.cells(p, at: 12, count: 2)
        rangesUsed = fdt.cells(p, at: 14, count: 2)
    }

    init() {}

    var moved: Bool { slot != loadedAt }

    /// Writes `slide,efi-stub` into /chosen.
    func write(_ w: FDTWriter) throws(SlideError) {
        var v = InlineArray<8, UInt64>(repeating: 0)
        v[0] = loadedAt.bigEndian; v[1] = slot.bigEndian; v[2] = candidates.bigEndian; v[3] = rng.bigEndian
        v[4] = seed.bigEndian; v[5] = conventionalRanges.bigEndian; v[6] = conventionalBytes.bigEndian; v[7] = rangesUsed.bigEndian
        try withUnsafeBytes(of: &v) { (b) throws(SlideError) in
            try w.setProperty(node: "chosen", name: "slide,efi-stub", value: b.baseAddress!, length: 8 * Self.cells)
        }
    }
}
