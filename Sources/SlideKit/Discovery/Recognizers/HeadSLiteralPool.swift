// Linux 4.6–5.x: `__relocate_kernel` in arch/arm64/kernel/head.S (checked on 5.10) loads the RELA
// bounds from a literal pool, `ldr w9, =__rela_offset` and `ldr w10, =__rela_size`, absolute
// linker symbols holding the table's image offset and size; builds KIMAGE_VADDR with `mov_q`;
// adds the run-time offset held in x23; and walks the table with `ldp x12, x13, [x9], #24`.
// With CONFIG_RELR the same is done for `__relr_offset`/`__relr_size`.
//
// Traced, the cursor is `literal + KIMAGE_VADDR + x23(entry)`: the table starts at image offset
// `literal` and the MOVZ/MOVK constant is the link base.

import SlideCore

struct HeadSLiteralPool: TableRecognizer {
    static let name = "head-s-literal-pool"
    static let summary = "Linux 4.6-5.x head.S: literal-pool bounds"
    var readsCode: Bool { true }

    func recognize(_ input: DiscoveryInput) -> Recognition? {
        for loops in input.routines {
            let trace = loops.trace
            guard let rela = loops.rela, let linkBase = Self.linkBase(of: rela), let relaBounds = bounds(rela, linkBase, input) else { continue }
            let relrBounds = loops.relr.flatMap { l in Self.linkBase(of: l) == linkBase ? bounds(l, linkBase, input) : nil }
            return Recognition(
                source: source, rela: relaBounds, relr: relrBounds, linkBase: linkBase,
                linkBaseEvidence: "KIMAGE_VADDR \(hex(linkBase)) built by MOVZ/MOVK in __relocate_kernel",
                reason: "head.S __relocate_kernel at \(hex(UInt64(trace.start))): bounds from the literal pool "
                    + "(offset \(hex(UInt64(relaBounds.offset))), size \(hex(UInt64(relaBounds.size)))), offset in x\(rela.offsetRegister ?? 23), "
                    + "records read with ldp at \(hex(UInt64(rela.loadPC)))",
                evidence: rela.loadPC)
        }
        return nil
    }

    /// The link base is the MOVZ/MOVK constant summed into a literal-pool cursor that also holds the offset register.
    static func linkBase(of loop: RelocationLoop) -> UInt64? {
        guard loop.readsPair || loop.kind == .relr, !loop.start.pcRelative, loop.start.sources.contains(.literal),
              let entry = loop.start.entry, entry == loop.offsetRegister, entry != 0, let base = loop.start.wideConstant else { return nil }
        return base
    }

    func bounds(_ loop: RelocationLoop, _ linkBase: UInt64, _ input: DiscoveryInput) -> TableBounds? {
        guard let size = loop.size else { return nil }
        let offset = loop.start.constant &- linkBase
        // Past the file data but inside image_size: kept, and reported as a truncated file.
        guard offset <= max(UInt64(input.data.count), input.memorySize) else { return nil }
        return TableBounds(offset: Int(offset), size: size)
    }
}
