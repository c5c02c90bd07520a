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

    .macro  store_address sym, field    // [x0 + \field] = the address of \sym, as we run; uses x1
    adrp    x1, \sym
    add     x1, x1, :lo12:\sym
    str     x1, [x0, #\field]
    .endm

    .globl image_layout
image_layout:                           // x0 → ImageLayout (Shared/BootABI.swift; physical or virtual, as we run)
    adrp    x1, _head
    str     x1, [x0, #IMAGE_LAYOUT_TEXT]
    store_address _etext, IMAGE_LAYOUT_ETEXT
    store_address _erodata, IMAGE_LAYOUT_ERODATA
    store_address _edata, IMAGE_LAYOUT_EDATA
    store_address _end, IMAGE_LAYOUT_END
    store_address slide_seal, IMAGE_LAYOUT_SEAL
    store_address slide_heap, IMAGE_LAYOUT_HEAP
    store_address _stext, IMAGE_LAYOUT_STEXT
    store_address __start___ksymtab, IMAGE_LAYOUT_KSYMTAB
    store_address __stop___ksymtab, IMAGE_LAYOUT_KSYMTAB_END
    store_address slide_module_pool, IMAGE_LAYOUT_MODULE_POOL
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
