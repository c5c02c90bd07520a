// Cache and TLB maintenance (Arm ARM D7.5.9, D8.14): code written through a data alias, data a
// CPU with its MMU off reads, descriptors added or removed, TTBR0 switched.

    .macro  dcache_line reg, tmp        // \reg = the smallest D-cache line in bytes (CTR_EL0.DminLine)
    mrs     \reg, ctr_el0
    ubfx    \reg, \reg, #16, #4
    mov     \tmp, #4
    lsl     \reg, \tmp, \reg
    .endm

    .text
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

    .globl set_ttbr0
set_ttbr0:
    dsb     ishst
    msr     ttbr0_el1, x0
    isb
    tlbi    vmalle1
    dsb     nsh
    isb
    ret
