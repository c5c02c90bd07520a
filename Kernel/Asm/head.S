// The Slide kernel's entry: the arm64 Image header and the boot CPU's steps that must be assembly
// (exception level, FP/SIMD, stack, BSS, the physical move, the MMU switch, the jump to the
// kernel's virtual address). Runs before relocation: only PC-relative references (ADRP/ADD,
// B/BL) until `slide_relocate` has returned.

#include "boot-steps.h"
#include "asm-offsets.h"
#if PAGE_SIZE == 65536
#define FLAGS_PAGE_SIZE 3               // booting.rst flags bits 1-2: 1 = 4K, 2 = 16K, 3 = 64K
#elif PAGE_SIZE == 16384
#define FLAGS_PAGE_SIZE 2
#else
#define FLAGS_PAGE_SIZE 1
#endif

    .section .head.text, "ax"
    .globl _head
_head:
    ccmp    x18, #0, #0xd, pl           // code0: "MZ" (4d 5a) for the firmware's PE loader; only sets flags
    b       primary_entry               // code1
    .quad   0                           // text_offset
    .quad   _kernel_size                // image_size: _end - _text (absolute symbol: no relocation)
    .quad   (1 << 3) | (FLAGS_PAGE_SIZE << 1) // flags: little-endian, the page size, placement anywhere
    .quad   0, 0, 0                     // res2-res4
    .ascii  "ARM\x64"                   // magic
    .long   pe_header - _head           // res5: the PE header's offset (the Image is also an EFI application)

    // The PE/COFF header and its section table (SlideCore's PECOFF layout, PE_HEADER_SIZE bytes):
    // zeros here, written by `slide mkimage` once the link has fixed the sections and the entry
    // (slide_efi_entry, Kernel/Asm/efi.S). kernel.lds keeps the first page free for it.
    .balign 8
pe_header:
    .zero   PE_HEADER_SIZE

    .section .text.boot, "ax"
    .globl primary_entry
primary_entry:
    mov     x19, x0                     // x0 = FDT PA (booting.rst)
    mov     x20, x1                     // x1-x3 must be 0; recorded and reported
    mov     x21, x2
    mov     x22, x3

    drop_to_el1
    mov     x26, xzr                    // x26: where the image was loaded, once it has moved
    mov     x27, xzr                    // x27: how many places physical randomization had
    adrp    x28, _head                  // x28: the image's physical address

settle:                                 // entered again, in the moved copy, after physical randomization
    mov     x9, #(3 << 20)              // CPACR_EL1.FPEN: Swift uses FP/SIMD registers
    msr     cpacr_el1, x9
    adr     x9, vectors                 // any exception is reported and ends the boot (exit 4)
    msr     vbar_el1, x9
    isb

    adrp    x9, boot_stack_top          // a stack at the image's physical address
    add     x9, x9, :lo12:boot_stack_top
    mov     sp, x9

    adrp    x9, __bss_start             // clear BSS with aligned stores (MMU off: Device memory)
    add     x9, x9, :lo12:__bss_start
    adrp    x10, __bss_end
    add     x10, x10, :lo12:__bss_end
2:  cmp     x9, x10
    b.hs    3f
    stp     xzr, xzr, [x9], #16
    b       2b

3:  cbnz    x26, 6f                     // already moved: go on
    mov     x0, x19                     // slide_place(fdt, image PA, image_size, &candidates) → new PA or 0
    mov     x1, x28
    ldr     x2, [x28, #16]              // image_size from our own header
    sub     sp, sp, #16
    mov     x3, sp
    bl      slide_place
    ldr     x27, [sp], #16
    cbz     x0, 6f
    mov     x3, x0                      // copy [_head, _edata) there: 8 bytes at a time, caches off
    mov     x1, x28
    adrp    x2, _edata
    add     x2, x2, :lo12:_edata
    sub     x2, x2, x28
4:  ldr     x4, [x1], #8
    str     x4, [x3], #8
    subs    x2, x2, #8
    b.gt    4b
    ic      iallu                       // the copy is code: no stale instructions
    dsb     ish
    isb
    mov     x26, x28                    // remember where we came from
    adr     x9, settle                  // continue at `settle` in the copy
    sub     x9, x9, x28
    add     x9, x9, x0
    mov     x28, x0
    br      x9

6:  mov     x0, x19                     // slide_early(fdt, image PA, x1, x2, x3, table pool PA, &result)
    mov     x1, x28
    mov     x2, x20
    mov     x3, x21
    mov     x4, x22
    adrp    x5, page_table_pool
    sub     sp, sp, #EARLY_RESULT_FRAME // EarlyResult (BootABI.swift; offsets from asm-offsets.h)
    str     x26, [sp, #EARLY_RESULT_MOVED_FROM]
    str     x27, [sp, #EARLY_RESULT_CANDIDATES]
    mov     x6, sp
    bl      slide_early
    ldr     x23, [sp, #EARLY_RESULT_OFFSET]
    ldr     x24, [sp, #EARLY_RESULT_TTBR1]
    ldr     x25, [sp, #EARLY_RESULT_TTBR0]
    ldr     x3, [sp, #EARLY_RESULT_TCR]
    add     sp, sp, #EARLY_RESULT_FRAME
    mov     x0, #2                      // no tables: exit status 2
    cbz     x24, boot_failed

    enable_mmu x3, x25, x24             // TCR, TTBR0 (the identity map), TTBR1

    adrp    x0, _head                   // slide_relocate(image PA, displacement, fdt)
    mov     x1, x23
    mov     x2, x19
    bl      slide_relocate              // applies RELA/RELR with SlideCore; verifies first
    cbnz    x0, boot_failed

    // Relocated: literal-pool words now hold run-time virtual addresses.
    ldr     x9, =vectors                // the vectors, at their virtual address
    msr     vbar_el1, x9
    isb
    ldr     x8, =kernel_entry           // itself a RELATIVE place
    ldr     x10, =_head
    adrp    x9, _head
    sub     x10, x10, x9                // kimage_voffset = VA(_text) - PA(_text)
    add     sp, sp, x10                 // the same stack, through the kernel mapping
    mov     x0, x19
    mov     x1, x10
    mov     x2, x23
    mov     x3, x20
    mov     x4, x21
    mov     x5, x22
    br      x8                          // kernel_main(fdt, kimage_voffset, displacement, x1, x2, x3)

kernel_entry:
    bl      kernel_main
    b       semihosting_exit

boot_failed:                            // x0 = exit status from slide_relocate
    b       semihosting_exit
    .ltorg

    .bss
    .balign PAGE_SIZE
boot_stack:
    .zero   64 * 1024
boot_stack_top:
    .globl page_table_pool
    .balign PAGE_SIZE
page_table_pool:
    .zero   64 * PAGE_SIZE
