// Shared by the recognizer fixtures: an arm64 Image header and data dense with absolute pointers
// (thousands of R_AARCH64_RELATIVE entries, or RELR words, depending on the link), the layout a
// kernel has minus its code. Each fixture adds one relocation routine of its shape, or none.

#include "../image-header.S"

    .text
    .globl primary_entry
primary_entry:
    b       .

    .data
    .balign 8
    .globl pointer_blocks
pointer_blocks:                         // 20 blocks of 300 pointers, 1 KiB apart: RELR address words and bitmaps
    .rept   20
    .rept   300
    .quad   primary_entry
    .endr
    .zero   1024
    .endr

#ifdef SEALED
    .section .rodata, "a"
    .balign 8
    .globl slide_seal
slide_seal:                             // the placeholder slide mkimage fills (magic "SLIDEVF1", then 56 bytes)
    .ascii  "SLIDEVF1"
    .zero   56
#endif
