// The EFI entry point: the firmware's PE loader (LoadImage/StartImage) enters here, at the
// PE header's AddressOfEntryPoint (written by `slide mkimage`), with x0 = the image handle and
// x1 = the EFI system table, its identity map on (UEFI 2.10 §2.3.6, AArch64 platforms). The
// EFI stub proper replaces this body. Until then the entry says on the firmware's console that
// it was reached (SystemTable->ConOut->OutputString) and answers EFI_UNSUPPORTED, the status
// StartImage then returns to whoever started the image.

#define EFI_SYSTEM_TABLE_CONOUT 0x40        // EFI_SYSTEM_TABLE.ConOut (UEFI 2.10 §4.3)
#define EFI_TEXT_OUTPUT_STRING 0x08         // EFI_SIMPLE_TEXT_OUTPUT_PROTOCOL.OutputString (§12.4)

    .section .text.efi, "ax"
    .globl slide_efi_entry
    .type slide_efi_entry, %function
slide_efi_entry:
    stp     x29, x30, [sp, #-16]!
    mov     x29, sp
    ldr     x0, [x1, #EFI_SYSTEM_TABLE_CONOUT]  // OutputString(ConOut, message)
    ldr     x9, [x0, #EFI_TEXT_OUTPUT_STRING]
    adr     x1, efi_entry_message
    blr     x9
    mov     x0, #3                      // EFI_UNSUPPORTED: the error bit (63) and status 3
    orr     x0, x0, #(1 << 63)
    ldp     x29, x30, [sp], #16
    ret
    .size slide_efi_entry, . - slide_efi_entry

    .balign 2
efi_entry_message:                      // UCS-2, NUL-terminated
    .ascii  "s\0l\0i\0d\0e\0:\0 \0e\0f\0i\0_\0e\0n\0t\0r\0y\0\r\0\n\0\0\0"
