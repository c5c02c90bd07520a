// Definitions the assembly files share: the kernel's page size and the steps the boot CPU
// (head.S) and the secondaries (smp.S) both take.

#include "asm-offsets.h"                // offsets into Shared/BootABI.swift's structs, checked by build.sh
#ifndef PAGE_SIZE
#define PAGE_SIZE 4096                  // Kernel/build.sh --granule: 4096, 16384 or 65536
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
