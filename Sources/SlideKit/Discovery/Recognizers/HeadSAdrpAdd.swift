// Linux 5.11–6.8: `__relocate_kernel` in arch/arm64/kernel/head.S (checked on 6.1) takes the
// bounds with `adr_l` (ADRP/ADD) of `__rela_start`/`__rela_end` (and `__relr_start`/`__relr_end`),
// keeps the run-time offset in x23 (head.S's register convention, not an argument), and walks the
// RELA table with `ldp x12, x13, [x9], #24`. The KIMAGE_VADDR it builds with `mov_q` is the link base.

import SlideCore

struct HeadSAdrpAdd: TableRecognizer {
    static let name = "head-s-adrp-add"
    static let summary = "Linux 5.11-6.8 head.S: ADRP/ADD bounds"
    var readsCode: Bool { true }

    func recognize(_ input: DiscoveryInput) -> Recognition? {
        for loops in input.routines {
            let trace = loops.trace
            // head.S: the offset is x23, never the first argument register, and RELA records are read as a pair.
            guard let rela = loops.rela, rela.readsPair, let r = rela.offsetRegister, r != 0,
                  let relaBounds = rela.imageBounds(in: input) else { continue }
            let relr = loops.relr.flatMap { $0.offsetRegister == r ? $0.imageBounds(in: input) : nil }
            let base = trace.kernelBaseConstant
            return Recognition(
                source: source, rela: relaBounds, relr: relr, linkBase: base?.value,
                linkBaseEvidence: base.map { "KIMAGE_VADDR \(hex($0.value)) built by MOVZ/MOVK at \(hex(UInt64($0.pc))) in __relocate_kernel" },
                reason: "head.S __relocate_kernel at \(hex(UInt64(trace.start))): bounds loaded by ADRP/ADD, offset in x\(r), "
                    + "RELA records read with ldp at \(hex(UInt64(rela.loadPC)))"
                    + (relr != nil ? ", RELR words tested at bit 0 at \(hex(UInt64(loops.relr!.loadPC)))" : ""),
                evidence: rela.loadPC)
        }
        return nil
    }
}

extension CodeTrace {
    /// A MOVZ/MOVK constant in the kernel half of the address space with 2 MiB alignment: KIMAGE_VADDR.
    var kernelBaseConstant: (value: UInt64, pc: Int)? {
        for case .wideConstant(let pc, let v) in events where v >= 0xffff_0000_0000_0000 && ImageAlignment.misalignment(v) == 0 { return (v, pc) }
        return nil
    }
}
