// The Slide kernel's entry: the arm64 Image header and the steps that must be assembly
// (exception level, FP/SIMD, stack, BSS, system registers, the MMU switch, the jump to the
// kernel's virtual address). Runs before relocation: only PC-relative references (ADRP/ADD,
// B/BL) until `slide_relocate` has returned.

#include "asm-offsets.h"                // offsets into BootABI.swift's structs, checked by build.sh
#ifndef PAGE_SIZE
#define PAGE_SIZE 4096                  // Kernel/build.sh --granule: 4096, 16384 or 65536
#endif
#if PAGE_SIZE == 65536
#define FLAGS_PAGE_SIZE 3               // booting.rst flags bits 1-2: 1 = 4K, 2 = 16K, 3 = 64K
#elif PAGE_SIZE == 16384
#define FLAGS_PAGE_SIZE 2
#else
#define FLAGS_PAGE_SIZE 1
#endif
    // Steps the boot CPU and the secondaries share.
    .macro  drop_to_el1                 // entered at EL2: drop to EL1 (no hypervisor here); uses x9
    mrs     x9, CurrentEL
    cmp     x9, #(2 << 2)
    b.ne    .Lat_el1\@
    mov     x9, #(1 << 31)              // HCR_EL2.RW: EL1 is AArch64
    msr     hcr_el2, x9
    mov     x9, #0x3c5                  // SPSR: EL1h, DAIF masked
    msr     spsr_el2, x9
    adr     x9, .Lat_el1\@
    msr     elr_el2, x9
    eret
.Lat_el1\@:
    .endm

    .macro  enable_mmu tcr, ttbr0, ttbr1 // MAIR attr0 Device-nGnRnE, attr1 Normal WBWA, attr2 Normal NC; uses x9, x10
    mov     x9, #0xff00
    movk    x9, #0x44, lsl #16
    msr     mair_el1, x9
    msr     tcr_el1, \tcr
    msr     ttbr0_el1, \ttbr0
    msr     ttbr1_el1, \ttbr1
    isb
    tlbi    vmalle1
    dsb     nsh
    isb
    mrs     x9, sctlr_el1
    mov     x10, #(1 << 0)              // M
    orr     x10, x10, #(1 << 2)         // C
    orr     x10, x10, #(1 << 12)        // I
    orr     x9, x9, x10
    msr     sctlr_el1, x9
    isb
    .endm

    .macro  dcache_line reg, tmp        // \reg = the smallest D-cache line in bytes (CTR_EL0.DminLine)
    mrs     \reg, ctr_el0
    ubfx    \reg, \reg, #16, #4
    mov     \tmp, #4
    lsl     \reg, \tmp, \reg
    .endm

    .equ    FRAME_SIZE, 256             // the exception frame: x0-x30 and ELR, 8 bytes each (Fixup.swift)
    .equ    SYMTAB_SIZE, 64 * 1024      // room for the function symbols slide mkimage embeds

    .section .head.text, "ax"
    .globl _head
_head:
    nop                                 // code0: not an EFI image
    b       primary_entry               // code1
    .quad   0                           // text_offset
    .quad   _kernel_size                // image_size: _end - _text (absolute symbol: no relocation)
    .quad   (1 << 3) | (FLAGS_PAGE_SIZE << 1) // flags: little-endian, the page size, placement anywhere
    .quad   0, 0, 0                     // res2-res4
    .ascii  "ARM\x64"                   // magic
    .long   0                           // res5

    .section .text.boot, "ax"
    .globl primary_entry
primary_entry:
    mov     x19, x0                     // x0 = FDT PA (booting.rst)
    mov     x20, x1                     // x1-x3 must be 0; recorded and reported
    mov     x21, x2
    mov     x22, x3

    drop_to_el1
    mov     x26, xzr                    // x26: where the image was loaded, once it has moved
    mov     x27, xzr                    // x27: how many places physical randomization had
    adrp    x28, _head                  // x28: the image's physical address

settle:                                 // entered again, in the moved copy, after physical randomization
    mov     x9, #(3 << 20)              // CPACR_EL1.FPEN: Swift uses FP/SIMD registers
    msr     cpacr_el1, x9
    adr     x9, vectors                 // any exception is reported and ends the boot (exit 4)
    msr     vbar_el1, x9
    isb

    adrp    x9, boot_stack_top          // a stack at the image's physical address
    add     x9, x9, :lo12:boot_stack_top
    mov     sp, x9

    adrp    x9, __bss_start             // clear BSS with aligned stores (MMU off: Device memory)
    add     x9, x9, :lo12:__bss_start
    adrp    x10, __bss_end
    add     x10, x10, :lo12:__bss_end
2:  cmp     x9, x10
    b.hs    3f
    stp     xzr, xzr, [x9], #16
    b       2b

3:  cbnz    x26, 6f                     // already moved: go on
    mov     x0, x19                     // slide_place(fdt, image PA, image_size, &candidates) → new PA or 0
    mov     x1, x28
    ldr     x2, [x28, #16]              // image_size from our own header
    sub     sp, sp, #16
    mov     x3, sp
    bl      slide_place
    ldr     x27, [sp], #16
    cbz     x0, 6f
    mov     x3, x0                      // copy [_head, _edata) there: 8 bytes at a time, caches off
    mov     x1, x28
    adrp    x2, _edata
    add     x2, x2, :lo12:_edata
    sub     x2, x2, x28
4:  ldr     x4, [x1], #8
    str     x4, [x3], #8
    subs    x2, x2, #8
    b.gt    4b
    ic      iallu                       // the copy is code: no stale instructions
    dsb     ish
    isb
    mov     x26, x28                    // remember where we came from
    adr     x9, settle                  // continue at `settle` in the copy
    sub     x9, x9, x28
    add     x9, x9, x0
    mov     x28, x0
    br      x9

6:  mov     x0, x19                     // slide_early(fdt, image PA, x1, x2, x3, table pool PA, &result)
    mov     x1, x28
    mov     x2, x20
    mov     x3, x21
    mov     x4, x22
    adrp    x5, page_table_pool
    sub     sp, sp, #EARLY_RESULT_FRAME // EarlyResult (BootABI.swift; offsets from asm-offsets.h)
    str     x26, [sp, #EARLY_RESULT_MOVED_FROM]
    str     x27, [sp, #EARLY_RESULT_CANDIDATES]
    mov     x6, sp
    bl      slide_early
    ldr     x23, [sp, #EARLY_RESULT_OFFSET]
    ldr     x24, [sp, #EARLY_RESULT_TTBR1]
    ldr     x25, [sp, #EARLY_RESULT_TTBR0]
    ldr     x3, [sp, #EARLY_RESULT_TCR]
    add     sp, sp, #EARLY_RESULT_FRAME
    mov     x0, #2                      // no tables: exit status 2
    cbz     x24, boot_failed

    enable_mmu x3, x25, x24             // TCR, TTBR0 (the identity map), TTBR1

    adrp    x0, _head                   // slide_relocate(image PA, displacement, fdt)
    mov     x1, x23
    mov     x2, x19
    bl      slide_relocate              // applies RELA/RELR with SlideCore; verifies first
    cbnz    x0, boot_failed

    // Relocated: literal-pool words now hold run-time virtual addresses.
    ldr     x9, =vectors                // the vectors, at their virtual address
    msr     vbar_el1, x9
    isb
    ldr     x8, =kernel_entry           // itself a RELATIVE place
    ldr     x10, =_head
    adrp    x9, _head
    sub     x10, x10, x9                // kimage_voffset = VA(_text) - PA(_text)
    add     sp, sp, x10                 // the same stack, through the kernel mapping
    mov     x0, x19
    mov     x1, x10
    mov     x2, x23
    mov     x3, x20
    mov     x4, x21
    mov     x5, x22
    br      x8                          // kernel_main(fdt, kimage_voffset, displacement, x1, x2, x3)

kernel_entry:
    bl      kernel_main
    b       semihosting_exit

boot_failed:                            // x0 = exit status from slide_relocate
    b       semihosting_exit
    .ltorg

    // Exception vectors (Arm ARM D1.10.2): 16 entries of 0x80 bytes. A fault at an instruction
    // the relative __ex_table lists resumes at its fixup (slide_fixup, with SlideCore's table);
    // anything else is reported and ends the boot (exit 4).
    .balign 2048
vectors:
    .rept   16
    .balign 128
    b       exception
    .endr
exception:
    sub     sp, sp, #FRAME_SIZE         // the frame slide_fixup reads and changes: x0-x30, ELR
    stp     x0, x1, [sp, #0]
    stp     x2, x3, [sp, #16]
    stp     x4, x5, [sp, #32]
    stp     x6, x7, [sp, #48]
    stp     x8, x9, [sp, #64]
    stp     x10, x11, [sp, #80]
    stp     x12, x13, [sp, #96]
    stp     x14, x15, [sp, #112]
    stp     x16, x17, [sp, #128]
    stp     x18, x19, [sp, #144]
    stp     x20, x21, [sp, #160]
    stp     x22, x23, [sp, #176]
    stp     x24, x25, [sp, #192]
    stp     x26, x27, [sp, #208]
    stp     x28, x29, [sp, #224]
    mrs     x9, elr_el1
    stp     x30, x9, [sp, #240]         // x30, then ELR at frame word 31
    mov     x0, sp
    mrs     x1, esr_el1
    bl      slide_fixup                 // 1: the frame now resumes at the fixup (SlideEarly)
    cbz     x0, 1f
    ldp     x30, x9, [sp, #240]
    msr     elr_el1, x9
    ldp     x0, x1, [sp, #0]
    ldp     x2, x3, [sp, #16]
    ldp     x4, x5, [sp, #32]
    ldp     x6, x7, [sp, #48]
    ldp     x8, x9, [sp, #64]
    ldp     x10, x11, [sp, #80]
    ldp     x12, x13, [sp, #96]
    ldp     x14, x15, [sp, #112]
    ldp     x16, x17, [sp, #128]
    ldp     x18, x19, [sp, #144]
    ldp     x20, x21, [sp, #160]
    ldp     x22, x23, [sp, #176]
    ldp     x24, x25, [sp, #192]
    ldp     x26, x27, [sp, #208]
    ldp     x28, x29, [sp, #224]
    add     sp, sp, #FRAME_SIZE
    eret
1:  mrs     x0, esr_el1
    mrs     x1, elr_el1
    mrs     x2, far_el1
    mov     x3, sp                      // the frame: the registers at the fault
    bl      slide_exception             // the crash report (SlideEarly: position independent)
    mov     x0, #4
    b       semihosting_exit

    .text
    // slide_read_u64_nofault(address, out) -> 0, or -EFAULT when the load faults: the guarded
    // access (Linux: copy_from_kernel_nofault). Its __ex_table entry (EX_TYPE_UACCESS_ERR_ZERO,
    // error register x0, zero register x3) makes a fault resume at 1 with x0 = -EFAULT, x3 = 0.
    .globl slide_read_u64_nofault
slide_read_u64_nofault:
    mov     x2, x1
0:  ldr     x3, [x0]
    mov     x0, #0
1:  str     x3, [x2]
    ret
    .pushsection __ex_table, "a"
    .balign 4
    .long   0b - .                      // insn - .
    .long   1b - .                      // fixup - .
    .short  3                           // EX_TYPE_UACCESS_ERR_ZERO
    .short  (0 | 3 << 5)                // error register x0, zero register x3
    .popsection

    .globl symtab_bounds
symtab_bounds:                          // x0 → [slide_symtab, its size, _head], as we run
    adrp    x1, slide_symtab
    add     x1, x1, :lo12:slide_symtab
    str     x1, [x0]
    mov     x1, #SYMTAB_SIZE
    str     x1, [x0, #8]
    adrp    x1, _head
    str     x1, [x0, #16]
    ret

    .globl extable_bounds
extable_bounds:                         // x0 → [__start___ex_table, __stop___ex_table, _head], as we run
    adrp    x1, __start___ex_table
    add     x1, x1, :lo12:__start___ex_table
    str     x1, [x0]
    adrp    x1, __stop___ex_table
    add     x1, x1, :lo12:__stop___ex_table
    str     x1, [x0, #8]
    adrp    x1, _head
    str     x1, [x0, #16]
    ret

    // Helpers for Swift: each reads a system register or a PC-relative address.
    .globl link_base
    .type   link_base, %function        // in the symbol map mkimage embeds: slide inspect reads the base here
link_base:                              // KIMAGE_VADDR (kernel.lds, build.sh --base): the link address of
    movz    x0, #:abs_g3:KIMAGE_VADDR   // _text. An absolute symbol in MOVW immediates: no relocation,
    movk    x0, #:abs_g2_nc:KIMAGE_VADDR // so it is right before slide_relocate has run.
    movk    x0, #:abs_g1_nc:KIMAGE_VADDR
    movk    x0, #:abs_g0_nc:KIMAGE_VADDR
    ret

    .globl image_layout
image_layout:                           // x0 → ImageLayout (BootABI.swift; physical or virtual, as we run)
    adrp    x1, _head
    str     x1, [x0, #IMAGE_LAYOUT_TEXT]
    adrp    x1, _etext
    add     x1, x1, :lo12:_etext
    str     x1, [x0, #IMAGE_LAYOUT_ETEXT]
    adrp    x1, _erodata
    add     x1, x1, :lo12:_erodata
    str     x1, [x0, #IMAGE_LAYOUT_ERODATA]
    adrp    x1, _edata
    add     x1, x1, :lo12:_edata
    str     x1, [x0, #IMAGE_LAYOUT_EDATA]
    adrp    x1, _end
    add     x1, x1, :lo12:_end
    str     x1, [x0, #IMAGE_LAYOUT_END]
    adrp    x1, slide_seal
    add     x1, x1, :lo12:slide_seal
    str     x1, [x0, #IMAGE_LAYOUT_SEAL]
    adrp    x1, slide_heap
    add     x1, x1, :lo12:slide_heap
    str     x1, [x0, #IMAGE_LAYOUT_HEAP]
    adrp    x1, _stext
    add     x1, x1, :lo12:_stext
    str     x1, [x0, #IMAGE_LAYOUT_STEXT]
    adrp    x1, __start___ksymtab
    add     x1, x1, :lo12:__start___ksymtab
    str     x1, [x0, #IMAGE_LAYOUT_KSYMTAB]
    adrp    x1, __stop___ksymtab
    add     x1, x1, :lo12:__stop___ksymtab
    str     x1, [x0, #IMAGE_LAYOUT_KSYMTAB_END]
    adrp    x1, slide_module_pool
    add     x1, x1, :lo12:slide_module_pool
    str     x1, [x0, #IMAGE_LAYOUT_MODULE_POOL]
    ret

    .globl slide_call_init
slide_call_init:                        // x0 = a module's init function: returns its int
    stp     x29, x30, [sp, #-16]!
    mov     x29, sp
    blr     x0
    ldp     x29, x30, [sp], #16
    ret

    .globl slide_sync_code
slide_sync_code:                        // (VA, size): new code written through a data alias (Arm ARM D7.5.9)
    dcache_line x2, x3
    add     x1, x0, x1                  // end
    sub     x3, x2, #1
    bic     x0, x0, x3
1:  dc      cvau, x0                    // clean to the point of unification
    add     x0, x0, x2
    cmp     x0, x1
    b.lo    1b
    dsb     ish
    ic      ialluis                     // then no stale instructions anywhere
    dsb     ish
    isb
    ret

    .globl slide_flush_tlb_range
slide_flush_tlb_range:                  // (VA, size): after descriptors were removed (Arm ARM D8.14)
    dsb     ishst
    add     x1, x0, x1
1:  ubfx    x2, x0, #12, #44            // TLBI VAAE1IS takes VA[55:12] in bits 43:0, any ASID
    tlbi    vaae1is, x2
    add     x0, x0, #4096
    cmp     x0, x1
    b.lo    1b
    dsb     ish
    isb
    ret

    .globl slide_sync_tables
slide_sync_tables:                      // new valid descriptors (no TLB entry to invalidate)
    dsb     ishst
    isb
    ret

    // Secondary CPUs (PSCI CPU_ON, from Smp.swift): entered at the physical address of
    // secondary_entry with the MMU off, x0 = the CPU's index. Same steps as the boot CPU, minus
    // everything done once: EL1, FP/SIMD, a stack of its own, the boot CPU's tables and TCR from
    // smp_block, the MMU on, then secondary_main at its virtual address.
    .globl secondary_entry
secondary_entry:
    mov     x19, x0
    drop_to_el1
    mov     x9, #(3 << 20)              // CPACR_EL1.FPEN
    msr     cpacr_el1, x9
    adr     x9, vectors
    msr     vbar_el1, x9
    adrp    x9, secondary_stacks        // stack: CPU i uses the 16 KiB below secondary_stacks + i * 16 KiB
    add     x9, x9, :lo12:secondary_stacks
    add     x9, x9, x19, lsl #14
    mov     sp, x9
    adrp    x10, smp_block              // {TCR, TTBR0 (boot identity), TTBR1, secondary_main VA, kimage_voffset}
    add     x10, x10, :lo12:smp_block
    ldr     x1, [x10, #SMP_BLOCK_TCR]
    ldr     x2, [x10, #SMP_BLOCK_TTBR0]
    ldr     x3, [x10, #SMP_BLOCK_TTBR1]
    ldr     x4, [x10, #SMP_BLOCK_ENTRY]
    ldr     x5, [x10, #SMP_BLOCK_KIMAGE_VOFFSET]
    enable_mmu x1, x2, x3               // the boot CPU's TCR and tables
    ldr     x9, =vectors                // relocated by the boot CPU: the virtual address
    msr     vbar_el1, x9
    isb
    add     sp, sp, x5                  // the same stack through the kernel mapping
    mov     x0, x19
    br      x4                          // secondary_main(index): never returns
    .ltorg

    .globl psci_call
psci_call:                              // psci_call(function, a1, a2, a3, use SMC) → x0 (SMCCC)
    cbnz    x4, 1f
    hvc     #0
    ret
1:  smc     #0
    ret

    .globl smp_check_in
smp_check_in:                           // cpus_online += 1 (exclusive access: the MMU is on), then SEV
    adrp    x1, cpus_online
    add     x1, x1, :lo12:cpus_online
1:  ldaxr   x2, [x1]
    add     x2, x2, #1
    stlxr   w3, x2, [x1]
    cbnz    w3, 1b
    sev
    ret

    .globl smp_cpus_online
smp_cpus_online:                        // → cpus_online (acquire)
    adrp    x1, cpus_online
    add     x1, x1, :lo12:cpus_online
    ldar    x0, [x1]
    ret

    .globl smp_block_address
smp_block_address:
    adrp    x0, smp_block
    add     x0, x0, :lo12:smp_block
    ret

    .globl secondary_entry_address
secondary_entry_address:                // → secondary_entry as we run (the boot CPU: its VA)
    adrp    x0, secondary_entry
    add     x0, x0, :lo12:secondary_entry
    ret

    .globl secondary_main_address
secondary_main_address:                 // → secondary_main (Smp.swift) as we run
    adrp    x0, secondary_main
    add     x0, x0, :lo12:secondary_main
    ret

    .globl slide_clean_to_poc
slide_clean_to_poc:                     // (VA, size): data a CPU with its MMU off will read (Arm ARM D7.5.9)
    dcache_line x2, x3
    add     x1, x0, x1
    sub     x3, x2, #1
    bic     x0, x0, x3
1:  dc      cvac, x0
    add     x0, x0, x2
    cmp     x0, x1
    b.lo    1b
    dsb     sy
    ret

    .globl read_cntfrq
read_cntfrq:
    mrs     x0, cntfrq_el0
    ret

    .globl read_mpidr
read_mpidr:
    mrs     x0, mpidr_el1
    ret

    .globl read_tcr
read_tcr:
    mrs     x0, tcr_el1
    ret

    .globl park
park:                                   // a secondary CPU's rest
    wfe
    b       park

    .globl boot_info_address
boot_info_address:
    adrp    x0, boot_info
    add     x0, x0, :lo12:boot_info
    ret

    .globl read_id_aa64isar0
read_id_aa64isar0:
    mrs     x0, id_aa64isar0_el1
    ret

    .globl read_id_aa64mmfr0
read_id_aa64mmfr0:
    mrs     x0, id_aa64mmfr0_el1
    ret

    .globl read_rndr
read_rndr:                              // x0 → ok flag; returns the random value
    mrs     x1, s3_3_c2_c4_0            // RNDR
    cset    x2, ne                      // NZCV.Z clear on success
    str     x2, [x0]
    mov     x0, x1
    ret

    .globl read_cntvct
read_cntvct:
    isb
    mrs     x0, cntvct_el0
    ret

    // `slide.bench=1` only (Kernel/Bench.swift): the guest instruction counter, and the
    // reference relocation loops SlideCore's are measured against.
    .globl bench_pmu_start
bench_pmu_start:                        // PMU event counter 0 counts INST_RETIRED (event 0x08)
    mov     x0, #0x08                   // PMEVTYPER0_EL0: the event, counting at EL0 and EL1
    msr     pmevtyper0_el0, x0
    mov     x0, #1                      // counter 0 on
    msr     pmcntenset_el0, x0
    mrs     x0, pmcr_el0
    orr     x0, x0, #1                  // PMCR_EL0.E: counters enabled
    msr     pmcr_el0, x0
    isb
    ret

    .globl bench_read_instructions
bench_read_instructions:                // PMEVCNTR0_EL0 (32 bits on PMUv3)
    isb
    mrs     x0, pmevcntr0_el0
    ret

    // The algorithm of Linux 6.1's __relocate_kernel (arch/arm64/kernel/head.S), written here for
    // comparison, each table in its own routine so each can be counted: the same loop shape and
    // instruction choice (post-indexed loads, the type compared in a W register, RELR bitmaps
    // shifted one bit per step). Addresses are link addresses + x2, values get + x3.

    .globl bench_linux_rela             // (x0 = first entry, x1 = end, x2 = address bias, x3 = displacement)
bench_linux_rela:
0:  cmp     x0, x1
    b.hs    2f
    ldp     x4, x5, [x0], #24           // r_offset, r_info
    ldur    x6, [x0, #-8]               // r_addend
    cmp     w5, #1027                   // R_AARCH64_RELATIVE
    b.ne    0b
    add     x6, x6, x3
    str     x6, [x4, x2]
    b       0b
2:  ret

    .globl bench_linux_relr             // (x0 = first word, x1 = end, x2 = address bias, x3 = displacement)
bench_linux_relr:
0:  cmp     x0, x1
    b.hs    4f
    ldr     x4, [x0], #8
    tbnz    x4, #0, 1f                  // odd: a bitmap
    add     x5, x4, x2                  // even: the address of a place
    ldr     x6, [x5]
    add     x6, x6, x3
    str     x6, [x5], #8                // x5: the word the next bitmap starts at
    b       0b
1:  mov     x7, x5
2:  lsr     x4, x4, #1
    cbz     x4, 3f
    tbz     x4, #0, 5f
    ldr     x6, [x7]
    add     x6, x6, x3
    str     x6, [x7]
5:  add     x7, x7, #8
    b       2b
3:  add     x5, x5, #(63 * 8)
    b       0b
4:  ret

    .globl read_sctlr
read_sctlr:
    mrs     x0, sctlr_el1
    ret

    .globl set_ttbr0
set_ttbr0:
    dsb     ishst
    msr     ttbr0_el1, x0
    isb
    tlbi    vmalle1
    dsb     nsh
    isb
    ret

    .globl early_puts
early_puts:                             // (bytes, count) to the PL011 at its physical address
    mov     x2, #0x09000000
1:  cbz     x1, 3f
2:  ldr     w3, [x2, #0x18]
    tbnz    w3, #5, 2b
    ldrb    w3, [x0], #1
    str     w3, [x2]
    sub     x1, x1, #1
    b       1b
3:  ret

    .globl semihosting_exit
semihosting_exit:                       // SYS_EXIT_EXTENDED(ADP_Stopped_ApplicationExit, x0)
    adrp    x1, exit_block
    add     x1, x1, :lo12:exit_block
    mov     x9, #0x26
    movk    x9, #2, lsl #16             // 0x20026
    str     x9, [x1]
    str     x0, [x1, #8]
    mov     x0, #0x20                   // SYS_EXIT_EXTENDED
    hlt     #0xf000
1:  wfi
    b       1b

    .section .rodata
    .balign 8
    .globl slide_seal
slide_seal:                             // written by `slide mkimage` (ImageSeal in SlideCore)
    .ascii  "SLIDEVF1"
    .quad   0, 0, 0, 0, 0, 0, 0

    .balign 8
    .globl slide_symtab
    .type   slide_symtab, %object
slide_symtab:                           // the function symbols, written by `slide mkimage` (SymbolMap in SlideCore)
    .ascii  "SLIDESYM"
    .zero   SYMTAB_SIZE - 8
    .size   slide_symtab, SYMTAB_SIZE

    .bss
    .balign 16
boot_info:                              // BootInfo (BootABI.swift)
    .zero   BOOT_INFO_SIZE
exit_block:
    .quad   0, 0
    .balign PAGE_SIZE
boot_stack:
    .zero   64 * 1024
boot_stack_top:
    .balign 16
cpus_online:
    .quad   0
smp_block:                              // SmpBlock (BootABI.swift)
    .zero   SMP_BLOCK_SIZE
    .balign PAGE_SIZE
secondary_stacks:                       // 8 secondaries, 16 KiB each (Smp.swift starts at most 8)
    .zero   16 * 1024 * 8
    .globl page_table_pool
    .balign PAGE_SIZE
page_table_pool:
    .zero   64 * PAGE_SIZE
