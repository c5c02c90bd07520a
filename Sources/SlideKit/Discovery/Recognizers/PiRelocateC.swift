// Linux 6.9 and later: `relocate_kernel(u64 offset)` in arch/arm64/kernel/pi/relocate.c (checked
// on 6.12 and 7.2), compiled by GCC (Debian) or Clang (Android). A RELA loop over
// `__pi_rela_start..__pi_rela_end` that applies only R_AARCH64_RELATIVE, then, when CONFIG_RELR
// and the offset is not zero, a RELR loop over `__pi_relr_start..__pi_relr_end`. The bounds are
// ADRP/ADD pairs wherever the compiler put them (GCC sets the RELR bounds in a block after the
// loop); the offset is the function's argument, x0 on entry (AAPCS64). Records are read field by
// field, so the tracer follows the registers, not a fixed instruction sequence.

import SlideCore

struct PiRelocateC: TableRecognizer {
    static let name = "pi-relocate-c"
    static let summary = "Linux 6.9+ relocate_kernel() in C"
    var readsCode: Bool { true }

    func recognize(_ input: DiscoveryInput) -> Recognition? {
        for loops in input.routines {
            let trace = loops.trace
            guard let rela = loops.rela, rela.offsetRegister == 0, let relaBounds = rela.imageBounds(in: input) else { continue }
            let relr = loops.relr.flatMap { $0.offsetRegister == 0 ? $0.imageBounds(in: input) : nil }
            return Recognition(
                source: source, rela: relaBounds, relr: relr,
                reason: "relocate_kernel(offset) at \(hex(UInt64(trace.start))) (compiled C, offset in x0): bounds loaded by ADRP/ADD, "
                    + "RELA type compared with R_AARCH64_RELATIVE after the load at \(hex(UInt64(rela.loadPC)))"
                    + (relr != nil ? ", RELR words tested at bit 0 after the load at \(hex(UInt64(loops.relr!.loadPC)))" : ""),
                evidence: rela.loadPC)
        }
        return nil
    }
}
