// A minimal relocatable "kernel" for tests: an arm64 Image header, a relocation routine shaped
// like Linux 6.1's __relocate_kernel (RELA loop, then RELR loop), and data full of absolute
// pointers that the PIE link turns into R_AARCH64_RELATIVE entries (RELA or, with
// -z pack-relative-relocs, RELR). Built by the tests with clang and ld.lld; never run.

#include "image-header.S"

    .text
    .globl primary_entry
primary_entry:
    mov     x23, xzr
    bl      relocate_kernel
    ldr     x8, =after_relocation       // a literal that is itself a RELATIVE place
    br      x8
after_relocation:
    b       .

#include "recognizers/head-s-adrp-add-routine.S"
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
