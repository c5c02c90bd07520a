// The kernel's exported symbols: Linux's EXPORT_SYMBOL with PREL32 entries (docs/modules.md;
// include/linux/export.h with CONFIG_HAVE_ARCH_PREL32_RELOCATIONS). Each entry is
// { value - ., name - ., namespace } as signed 32-bit offsets: resolved by ld.lld at link time,
// so the table needs no boot relocation and moves with the kernel. Each entry has its own
// section, `___ksymtab+NAME`, which kernel.lds sorts by name: lookups bisect
// (SlideCore KernelSymbolTable). The namespace field is 0: no namespaces here.

    .macro  export sym
    .pushsection __ksymtab_strings, "aMS", %progbits, 1
.Lname_\sym:
    .asciz  "\sym"
    .popsection
    .pushsection "___ksymtab+\sym", "a"
    .balign 4
    .long   \sym - .                    // value_offset
    .long   .Lname_\sym - .             // name_offset
    .long   0                           // namespace_offset
    .popsection
    .endm

    // Functions (Kernel/Exports.swift) and data for modules.
    export  slide_puts
    export  slide_put_hex
    export  slide_lookup_symbol
    export  slide_virt_to_phys
    export  slide_banner
    export  slide_module_counter

    .section .rodata.slide_banner, "a"
    .globl  slide_banner
slide_banner:
    .asciz  "Slide, a relocatable arm64 kernel"

    .data
    .balign 8
    .globl  slide_module_counter
slide_module_counter:                   // modules count their calls here; the report prints it
    .quad   0
