// Linux 5.11–6.8's __relocate_kernel shape (arch/arm64/kernel/head.S, checked on Debian's 6.1):
// bounds with adr_l (ADRP/ADD), the run-time offset in x23, RELA records read with ldp, then RELR.
// Included by head-s-adrp-add.S and by the mini kernel.
    .text
relocate_kernel:
    adrp    x9, __rela_start
    add     x9, x9, :lo12:__rela_start
    adrp    x10, __rela_end
    add     x10, x10, :lo12:__rela_end
    movz    x11, #0xffff, lsl #48       // mov_q KIMAGE_VADDR
    movk    x11, #0x8000, lsl #32
    movk    x11, #0x0800, lsl #16
    movk    x11, #0
    add     x11, x11, x23
0:  cmp     x9, x10
    b.hs    1f
    ldp     x12, x13, [x9], #24
    ldur    x14, [x9, #-8]
    cmp     w13, #1027                  // R_AARCH64_RELATIVE
    b.ne    0b
    add     x14, x14, x23
    str     x14, [x12, x23]
    b       0b
1:  adrp    x9, __relr_start
    add     x9, x9, :lo12:__relr_start
    adrp    x10, __relr_end
    add     x10, x10, :lo12:__relr_end
2:  cmp     x9, x10
    b.hs    7f
    ldr     x11, [x9], #8
    tbnz    x11, #0, 4f
    add     x13, x11, x23
    ldr     x12, [x13]
    add     x12, x12, x23
    str     x12, [x13], #8
    b       2b
4:  mov     x14, x13
5:  lsr     x11, x11, #1
    cbz     x11, 6f
    tbz     x11, #0, 3f
    ldr     x12, [x14]
    add     x12, x12, x23
    str     x12, [x14]
3:  add     x14, x14, #8
    b       5b
6:  add     x13, x13, #(63 * 8)
    b       2b
7:  ret
