// Where things are, as we run: PC-relative addresses of the image's landmarks and of the boot
// structures for Swift (physical before the MMU switch, virtual after), the link base, and the
// blocks `slide mkimage` fills in (the seal and the symbol map).

#include "asm-offsets.h"                // offsets into Shared/BootABI.swift's structs, checked by build.sh

    .equ    SYMTAB_SIZE, 64 * 1024      // room for the function symbols slide mkimage embeds

    .text
    .globl link_base
    .type   link_base, %function        // in the symbol map mkimage embeds: slide inspect reads the base here
link_base:                              // KIMAGE_VADDR (kernel.lds, build.sh --base): the link address of
    movz    x0, #:abs_g3:KIMAGE_VADDR   // _text. An absolute symbol in MOVW immediates: no relocation,
    movk    x0, #:abs_g2_nc:KIMAGE_VADDR // so it is right before slide_relocate has run.
    movk    x0, #:abs_g1_nc:KIMAGE_VADDR
    movk    x0, #:abs_g0_nc:KIMAGE_VADDR
    ret

    .globl image_layout
image_layout:                           // x0 → ImageLayout (BootABI.swift; physical or virtual, as we run)
    adrp    x1, _head
    str     x1, [x0, #IMAGE_LAYOUT_TEXT]
    adrp    x1, _etext
    add     x1, x1, :lo12:_etext
    str     x1, [x0, #IMAGE_LAYOUT_ETEXT]
    adrp    x1, _erodata
    add     x1, x1, :lo12:_erodata
    str     x1, [x0, #IMAGE_LAYOUT_ERODATA]
    adrp    x1, _edata
    add     x1, x1, :lo12:_edata
    str     x1, [x0, #IMAGE_LAYOUT_EDATA]
    adrp    x1, _end
    add     x1, x1, :lo12:_end
    str     x1, [x0, #IMAGE_LAYOUT_END]
    adrp    x1, slide_seal
    add     x1, x1, :lo12:slide_seal
    str     x1, [x0, #IMAGE_LAYOUT_SEAL]
    adrp    x1, slide_heap
    add     x1, x1, :lo12:slide_heap
    str     x1, [x0, #IMAGE_LAYOUT_HEAP]
    adrp    x1, _stext
    add     x1, x1, :lo12:_stext
    str     x1, [x0, #IMAGE_LAYOUT_STEXT]
    adrp    x1, __start___ksymtab
    add     x1, x1, :lo12:__start___ksymtab
    str     x1, [x0, #IMAGE_LAYOUT_KSYMTAB]
    adrp    x1, __stop___ksymtab
    add     x1, x1, :lo12:__stop___ksymtab
    str     x1, [x0, #IMAGE_LAYOUT_KSYMTAB_END]
    adrp    x1, slide_module_pool
    add     x1, x1, :lo12:slide_module_pool
    str     x1, [x0, #IMAGE_LAYOUT_MODULE_POOL]
    ret

    .globl boot_info_address
boot_info_address:
    adrp    x0, boot_info
    add     x0, x0, :lo12:boot_info
    ret

    .globl symtab_bounds
symtab_bounds:                          // x0 → [slide_symtab, its size, _head], as we run
    adrp    x1, slide_symtab
    add     x1, x1, :lo12:slide_symtab
    str     x1, [x0]
    mov     x1, #SYMTAB_SIZE
    str     x1, [x0, #8]
    adrp    x1, _head
    str     x1, [x0, #16]
    ret


    .section .rodata
    .balign 8
    .globl slide_seal
slide_seal:                             // written by `slide mkimage` (ImageSeal in SlideCore)
    .ascii  "SLIDEVF1"
    .quad   0, 0, 0, 0, 0, 0, 0

    .balign 8
    .globl slide_symtab
    .type   slide_symtab, %object
slide_symtab:                           // the function symbols, written by `slide mkimage` (SymbolMap in SlideCore)
    .ascii  "SLIDESYM"
    .zero   SYMTAB_SIZE - 8
    .size   slide_symtab, SYMTAB_SIZE


    .bss
    .balign 16
boot_info:                              // BootInfo (Shared/BootABI.swift)
    .zero   BOOT_INFO_SIZE
