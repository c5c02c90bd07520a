// The 64-byte arm64 Image header (Documentation/arch/arm64/booting.rst), shared by the test
// fixtures: no EFI stub, image_size and flags from absolute linker-script symbols.
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
