// `slide.bench=1` only (Kernel/Shared/Bench.swift): the guest instruction counter, and the
// reference relocation loops SlideCore's are measured against.

    .text
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
