// The structs the assembly (Kernel/Asm/) reads and writes, and nothing else: their field offsets are its ABI.
// Kernel/Asm/asm-offsets.h names each offset for the assembly; Kernel/build.sh compiles this file for the
// host with Kernel/asm-offsets/main.swift, which prints the header from these layouts, and stops the
// build when the checked-in header differs (a reordered or added field cannot go unnoticed).
// Every field is a UInt64, so the layout is the same on the host and on aarch64.

// What the boot steps record for the report. Lives in Asm/layout.S's BSS (`boot_info`), reached
// PC-relatively: at its physical address before the jump, at its virtual address after.

struct BootInfo {
    var pa: UInt64 = 0, fdt: UInt64 = 0, x1: UInt64 = 0, x2: UInt64 = 0, x3: UInt64 = 0
    var seedWiped: UInt64 = 0, seedSource: UInt64 = 0
    var ramLow: UInt64 = 0, ramHigh: UInt64 = 0, physOffset: UInt64 = 0
    var ttbr0Late: UInt64 = 0, ttbr1: UInt64 = 0, tablePages: UInt64 = 0, earlyFailure: UInt64 = 0
    var offset: UInt64 = 0
    var relaApplied: UInt64 = 0, relrApplied: UInt64 = 0, relocCycles: UInt64 = 0
    /// 0 = ok; otherwise a VerifyFailure code, with `verifyDetail` (an index or an address).
    var verifyStatus: UInt64 = 0, verifyDetail: UInt64 = 0
    /// Physical randomization: where the loader put the image (0 = not moved), how many places there were.
    var movedFrom: UInt64 = 0, physCandidates: UInt64 = 0
    var fdtSize: UInt64 = 0
    /// The seed the offset came from (FDT or RNDR), for the module region.
    var seed: UInt64 = 0
    /// The translation table pool (physical) and kimage_voffset, for the steps after kernel_main starts.
    var tablePool: UInt64 = 0, kimageVoffset: UInt64 = 0
    /// Faults resumed through __ex_table (Fixup.swift).
    var extableFixups: UInt64 = 0
    /// The boot identity map, which secondary CPUs turn their MMU on with (Smp.swift).
    var ttbr0Boot: UInt64 = 0
    /// `slide.bench=1` on the command line (slide_early): slide_relocate measures its tables
    /// again, and Linux 6.1's loop over them, in guest instructions (Bench.swift).
    var bench: UInt64 = 0
    /// The instruction counter used (BenchCounter), and per table: SlideCore's and the reference
    /// loop's instructions, over the same entries (the counter's own overhead subtracted).
    var benchCounter: UInt64 = 0
    var benchRelaSlide: UInt64 = 0, benchRelaLinux: UInt64 = 0, benchRelaEntries: UInt64 = 0
    var benchRelrSlide: UInt64 = 0, benchRelrLinux: UInt64 = 0, benchRelrWords: UInt64 = 0
}

/// Physical or virtual addresses of the image's landmarks, filled in by Asm/layout.S with ADRP/ADD.
struct ImageLayout {
    var text: UInt64 = 0, etext: UInt64 = 0, erodata: UInt64 = 0, edata: UInt64 = 0, end: UInt64 = 0, seal: UInt64 = 0
    var heap: UInt64 = 0, stext: UInt64 = 0
    /// The exported symbol table (`__start___ksymtab`, `__stop___ksymtab`) and the module memory pool (runtime.c).
    var ksymtab: UInt64 = 0, ksymtabEnd: UInt64 = 0, modulePool: UInt64 = 0
}

/// What slide_early returns to Asm/head.S on the stack (head.S reserves EARLY_RESULT_FRAME bytes).
struct EarlyResult {
    var offset: UInt64 = 0, ttbr1: UInt64 = 0, ttbr0: UInt64 = 0, tcr: UInt64 = 0
    /// The loader's PA when slide_place moved the image, and how many places it chose from (head.S passes them in).
    var movedFrom: UInt64 = 0, candidates: UInt64 = 0
}

/// What a secondary CPU needs to join (Asm/smp.S `secondary_entry` reads it with the MMU off; Smp.swift fills it).
struct SmpBlock {
    var tcr: UInt64 = 0, ttbr0: UInt64 = 0, ttbr1: UInt64 = 0, entry: UInt64 = 0, kimageVoffset: UInt64 = 0
}

/// What slide_efi_main (Early/EFIStub.swift) hands back to Asm/efi.S once boot services are gone:
/// the image's copy and the FDT, each to be cleaned to the point of coherency before the MMU goes off.
struct EFIHandoff {
    var image: UInt64 = 0, imageSize: UInt64 = 0, fdt: UInt64 = 0, fdtSize: UInt64 = 0
}
