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

    // MAIR_EL1 (Arm ARM, "MAIR_EL1, Memory Attribute Indirection Register"), one byte per attribute index: the indexes SlideCore's
    // descriptors use (Paging/PageTables.swift Descriptor.attrIndex: 0 device, 1 normal).
    .equ    MAIR_ATTR0_DEVICE_nGnRnE, 0x00  // Device-nGnRnE
    .equ    MAIR_ATTR1_NORMAL_WBWA, 0xff    // Normal, inner and outer Write-Back Read/Write-Allocate
    .equ    MAIR_ATTR2_NORMAL_NC, 0x44      // Normal, inner and outer Non-cacheable
    .equ    MAIR_VALUE, MAIR_ATTR0_DEVICE_nGnRnE | (MAIR_ATTR1_NORMAL_WBWA << 8) | (MAIR_ATTR2_NORMAL_NC << 16)
    // SCTLR_EL1 (Arm ARM, "SCTLR_EL1, System Control Register"): the bits enable_mmu sets.
    .equ    SCTLR_M, 1 << 0                 // stage 1 translation on
    .equ    SCTLR_C, 1 << 2                 // data accesses cacheable
    .equ    SCTLR_I, 1 << 12                // instruction fetches cacheable

    .macro  enable_mmu tcr, ttbr0, ttbr1 // MAIR_VALUE, then the tables and TCR, then SCTLR M, C, I; uses x9, x10
    mov     x9, #(MAIR_VALUE & 0xffff)
    movk    x9, #(MAIR_VALUE >> 16), lsl #16
    msr     mair_el1, x9
    msr     tcr_el1, \tcr
    msr     ttbr0_el1, \ttbr0
    msr     ttbr1_el1, \ttbr1
    isb
    tlbi    vmalle1
    dsb     nsh
    isb
    mrs     x9, sctlr_el1
    mov     x10, #SCTLR_M
    orr     x10, x10, #SCTLR_C
    orr     x10, x10, #SCTLR_I
    orr     x9, x9, x10
    msr     sctlr_el1, x9
    isb
    .endm
