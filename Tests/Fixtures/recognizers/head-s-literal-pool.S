// Linux 4.6–5.x's __relocate_kernel shape (arch/arm64/kernel/head.S, checked on Debian's 5.10):
// table bounds from a literal pool (absolute symbols holding an image offset and a size), the
// link base built with movz/movk, the run-time offset in x23, RELA records read with ldp.
#include "common.S"

    .text
relocate_kernel:
    ldr     w9, =__rela_offset          // image offset of the table
    ldr     w10, =__rela_size
    movz    x11, #0xffff, lsl #48       // mov_q KIMAGE_VADDR
    movk    x11, #0x8000, lsl #32
    movk    x11, #0x0800, lsl #16
    movk    x11, #0
    add     x11, x11, x23               // actual virtual offset
    add     x9, x9, x11                 // __va(.rela)
    add     x10, x9, x10                // __va(.rela) + sizeof(.rela)
0:  cmp     x9, x10
    b.hs    1f
    ldp     x12, x13, [x9], #24
    ldr     x14, [x9, #-8]
    cmp     w13, #1027                  // R_AARCH64_RELATIVE
    b.ne    0b
    add     x14, x14, x23
    str     x14, [x12, x23]
    b       0b
1:  ldr     w9, =__relr_offset
    ldr     w10, =__relr_size
    add     x9, x9, x11
    add     x10, x9, x10
    sub     x15, x23, x24               // delta from the previous offset (head.S keeps it in x24)
    cbz     x15, 7f
2:  cmp     x9, x10
    b.hs    7f
    ldr     x11, [x9], #8
    tbnz    x11, #0, 3f
    add     x13, x11, x23
    ldr     x12, [x13]
    add     x12, x12, x15
    str     x12, [x13], #8
    b       2b
3:  mov     x14, x13
4:  lsr     x11, x11, #1
    cbz     x11, 6f
    tbz     x11, #0, 5f
    ldr     x12, [x14]
    add     x12, x12, x15
    str     x12, [x14]
5:  add     x14, x14, #8
    b       4b
6:  add     x13, x13, #(63 * 8)
    b       2b
7:  ret
    .ltorg
