// Generated from Kernel/Shared/BootABI.swift and SlideCore by Kernel/asm-offsets/main.swift; Kernel/build.sh checks it.
// Regenerate: swiftc $(find Sources/SlideCore -name '*.swift') Kernel/Shared/BootABI.swift Kernel/asm-offsets/main.swift -o /tmp/o && /tmp/o > Kernel/Asm/asm-offsets.h
#define IMAGE_LAYOUT_TEXT 0
#define IMAGE_LAYOUT_ETEXT 8
#define IMAGE_LAYOUT_ERODATA 16
#define IMAGE_LAYOUT_EDATA 24
#define IMAGE_LAYOUT_END 32
#define IMAGE_LAYOUT_SEAL 40
#define IMAGE_LAYOUT_HEAP 48
#define IMAGE_LAYOUT_STEXT 56
#define IMAGE_LAYOUT_KSYMTAB 64
#define IMAGE_LAYOUT_KSYMTAB_END 72
#define IMAGE_LAYOUT_MODULE_POOL 80
#define EARLY_RESULT_OFFSET 0
#define EARLY_RESULT_TTBR1 8
#define EARLY_RESULT_TTBR0 16
#define EARLY_RESULT_TCR 24
#define EARLY_RESULT_MOVED_FROM 32
#define EARLY_RESULT_CANDIDATES 40
#define EARLY_RESULT_FRAME 48
#define SMP_BLOCK_TCR 0
#define SMP_BLOCK_TTBR0 8
#define SMP_BLOCK_TTBR1 16
#define SMP_BLOCK_ENTRY 24
#define SMP_BLOCK_KIMAGE_VOFFSET 32
#define SMP_BLOCK_SIZE 40
#define EFI_HANDOFF_IMAGE 0
#define EFI_HANDOFF_IMAGE_SIZE 8
#define EFI_HANDOFF_FDT 16
#define EFI_HANDOFF_FDT_SIZE 24
#define EFI_HANDOFF_FRAME 32
#define BOOT_INFO_SIZE 288
#define KIMAGE_VADDR_DEFAULT 0xffff800008000000 // SlideKASLR.defaultLinkBase
#define PE_HEADER_SIZE 264
#define PE_FILE_ALIGNMENT 0x200 // PECOFF.fileAlignment: kernel.lds pads the Image's data to it
