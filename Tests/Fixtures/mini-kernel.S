// A minimal relocatable "kernel" for tests: an arm64 Image header, a relocation routine shaped
// like Linux 6.1's __relocate_kernel (RELA loop, then RELR loop), and data full of absolute
// pointers that the PIE link turns into R_AARCH64_RELATIVE entries (RELA or, with
// -z pack-relative-relocs, RELR). Built by the tests with clang and ld.lld; never run.

    .section .head.text, "ax"
    .globl _text_start
_text_start:
    nop                                 // code0: no EFI
    b       primary_entry               // code1
    .quad   0                           // text_offset
    .quad   _kernel_size                // image_size (absolute linker-script symbol: no reloc)
    .quad   _kernel_flags               // flags
    .quad   0, 0, 0                     // res2-res4
    .ascii  "ARM\x64"                   // magic
    .long   0                           // res5

    .text
    .globl primary_entry
primary_entry:
    mov     x23, xzr
    bl      relocate_kernel
    ldr     x8, =after_relocation       // a literal that is itself a RELATIVE place
    br      x8
after_relocation:
    b       .

relocate_kernel:
    adrp    x9, __rela_start
    add     x9, x9, :lo12:__rela_start
    adrp    x10, __rela_end
    add     x10, x10, :lo12:__rela_end
    movz    x11, #0xffff, lsl #48       // the link base, as Linux builds it (unused)
    movk    x11, #0x8000, lsl #32
    movk    x11, #0x0800, lsl #16
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
    add     x13, x11, x23               // address entry
    ldr     x12, [x13]
    add     x12, x12, x23
    str     x12, [x13], #8
    b       2b
4:  mov     x14, x13                    // bitmap entry
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
    .ltorg

    .section .rodata, "a"
    .balign 8
    .globl ops_table
ops_table:                              // dense pointers: RELR bitmaps
    .quad   primary_entry, relocate_kernel, after_relocation, ops_table
    .quad   data_words, data_words + 8, bss_area, _text_start
    .rept   40
    .quad   primary_entry + 4
    .endr

    .data
    .balign 8
data_words:
    .quad   0x1122334455667788          // not a pointer
    .quad   ops_table + 16
    .zero   1000                        // a gap larger than one bitmap covers
    .quad   data_words                  // needs a new RELR address word
    .quad   0
    .quad   bss_area + 0x100

    .bss
    .balign 8
bss_area:
    .zero   0x3000
