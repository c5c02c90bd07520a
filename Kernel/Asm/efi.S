// The PE/COFF entry point (the Image's AddressOfEntryPoint, written by `slide mkimage`): the EFI
// stub's assembly. The firmware calls it as an EFI application (UEFI 2.10 §2.3.6: AAPCS64, x0 =
// ImageHandle, x1 = SystemTable, MMU on with an identity map, caches on). slide_efi_main
// (Kernel/Early/EFIStub.swift) does the work and exits boot services; then this cleans what the
// kernel reads with its MMU off to the point of coherency, turns the MMU and the D-cache off at
// the current EL, and enters primary_entry in the image's copy with x0 = the FDT (booting.rst).
// On failure it returns slide_efi_main's EFI_STATUS to the firmware with boot services intact.

#include "asm-offsets.h"

    .equ    SCTLR_EL1_RES1, (1 << 29) | (1 << 28) | (1 << 23) | (1 << 22) | (1 << 20) | (1 << 11) // Arm ARM, SCTLR_EL1 (v8.0 RES1)
    .equ    SCTLR_EL2_RES1, (1 << 29) | (1 << 28) | (1 << 23) | (1 << 22) | (1 << 18) | (1 << 16) | (1 << 11) | (1 << 5) | (1 << 4)

    .macro  dcache_civac start, size, t1, t2 // clean and invalidate [start, start + size) to PoC; uses \t1, \t2
    mrs     \t1, ctr_el0
    ubfx    \t1, \t1, #16, #4
    mov     \t2, #4
    lsl     \t1, \t2, \t1               // the smallest D-cache line (CTR_EL0.DminLine)
    add     \size, \start, \size
    sub     \t2, \t1, #1
    bic     \start, \start, \t2
1:  dc      civac, \start
    add     \start, \start, \t1
    cmp     \start, \size
    b.lo    1b
    .endm

    .section .text.efi, "ax"            // kernel.lds keeps it: nothing else references the entry
    .globl slide_efi_entry
    .type   slide_efi_entry, %function
slide_efi_entry:
    stp     x29, x30, [sp, #-16]!
    mov     x29, sp
    sub     sp, sp, #EFI_HANDOFF_FRAME
    adrp    x2, _head                   // where the firmware loaded us
    mov     x3, sp                      // → EFIHandoff (Shared/BootABI.swift)
    bl      slide_efi_main
    cbnz    x0, efi_return              // an EFI_STATUS error: boot services are still there
    ldr     x19, [sp, #EFI_HANDOFF_IMAGE]
    ldr     x20, [sp, #EFI_HANDOFF_FDT]
    msr     daifset, #0xf               // no more firmware interrupts
    ldr     x0, [sp, #EFI_HANDOFF_IMAGE]
    ldr     x1, [sp, #EFI_HANDOFF_IMAGE_SIZE]
    dcache_civac x0, x1, x2, x3         // the copy (text, data and BSS): no dirty line may land later
    ldr     x0, [sp, #EFI_HANDOFF_FDT]
    ldr     x1, [sp, #EFI_HANDOFF_FDT_SIZE]
    dcache_civac x0, x1, x2, x3
    dsb     sy

    adrp    x21, primary_entry          // primary_entry in the copy: x19 + (primary_entry - _head)
    add     x21, x21, :lo12:primary_entry
    adrp    x9, _head
    sub     x21, x21, x9
    add     x21, x21, x19

    mrs     x9, CurrentEL               // the MMU and caches off where we run (Linux's efi-entry.S does the same, 6.1)
    cmp     x9, #(2 << 2)
    b.ne    1f
    ldr     x9, =SCTLR_EL2_RES1
    msr     sctlr_el2, x9
    isb
1:  ldr     x9, =SCTLR_EL1_RES1         // EL1 (or the EL1 head.S drops to): MMU, caches and alignment checks off
    msr     sctlr_el1, x9
    isb
    ic      iallu                       // no stale instructions for the copy
    dsb     nsh
    isb
    mov     x0, x20
    mov     x1, xzr
    mov     x2, xzr
    mov     x3, xzr
    br      x21

efi_return:
    add     sp, sp, #EFI_HANDOFF_FRAME
    ldp     x29, x30, [sp], #16
    ret
    .size   slide_efi_entry, . - slide_efi_entry
    .ltorg
