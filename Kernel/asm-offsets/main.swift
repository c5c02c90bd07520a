// Prints the offsets the assembly uses (Kernel/Asm/asm-offsets.h) from the Swift layouts in
// Kernel/Shared/BootABI.swift, as Linux's asm-offsets.c does for C, and the SlideCore constants
// the build takes from their one definition (KIMAGE_VADDR's default: build.sh links there unless
// --base says otherwise). Compiled for the host with SlideCore by Kernel/build.sh, which compares
// the result with the checked-in header.

func define(_ name: String, _ value: Int?) { print("#define \(name) \(value!)") }
func define(_ name: String, hex value: UInt64, _ comment: String) { print("#define \(name) 0x\(String(value, radix: 16)) // \(comment)") }

print("// Generated from Kernel/Shared/BootABI.swift and SlideCore by Kernel/asm-offsets/main.swift; Kernel/build.sh checks it.")
print("// Regenerate: swiftc $(find Sources/SlideCore -name '*.swift') Kernel/Shared/BootABI.swift Kernel/asm-offsets/main.swift -o /tmp/o && /tmp/o > Kernel/Asm/asm-offsets.h")
define("IMAGE_LAYOUT_TEXT", MemoryLayout<ImageLayout>.offset(of: \.text))
define("IMAGE_LAYOUT_ETEXT", MemoryLayout<ImageLayout>.offset(of: \.etext))
define("IMAGE_LAYOUT_ERODATA", MemoryLayout<ImageLayout>.offset(of: \.erodata))
define("IMAGE_LAYOUT_EDATA", MemoryLayout<ImageLayout>.offset(of: \.edata))
define("IMAGE_LAYOUT_END", MemoryLayout<ImageLayout>.offset(of: \.end))
define("IMAGE_LAYOUT_SEAL", MemoryLayout<ImageLayout>.offset(of: \.seal))
define("IMAGE_LAYOUT_HEAP", MemoryLayout<ImageLayout>.offset(of: \.heap))
define("IMAGE_LAYOUT_STEXT", MemoryLayout<ImageLayout>.offset(of: \.stext))
define("IMAGE_LAYOUT_KSYMTAB", MemoryLayout<ImageLayout>.offset(of: \.ksymtab))
define("IMAGE_LAYOUT_KSYMTAB_END", MemoryLayout<ImageLayout>.offset(of: \.ksymtabEnd))
define("IMAGE_LAYOUT_MODULE_POOL", MemoryLayout<ImageLayout>.offset(of: \.modulePool))
define("EARLY_RESULT_OFFSET", MemoryLayout<EarlyResult>.offset(of: \.offset))
define("EARLY_RESULT_TTBR1", MemoryLayout<EarlyResult>.offset(of: \.ttbr1))
define("EARLY_RESULT_TTBR0", MemoryLayout<EarlyResult>.offset(of: \.ttbr0))
define("EARLY_RESULT_TCR", MemoryLayout<EarlyResult>.offset(of: \.tcr))
define("EARLY_RESULT_MOVED_FROM", MemoryLayout<EarlyResult>.offset(of: \.movedFrom))
define("EARLY_RESULT_CANDIDATES", MemoryLayout<EarlyResult>.offset(of: \.candidates))
define("EARLY_RESULT_FRAME", (MemoryLayout<EarlyResult>.size + 15) & ~15)   // sp stays 16-aligned
define("SMP_BLOCK_TCR", MemoryLayout<SmpBlock>.offset(of: \.tcr))
define("SMP_BLOCK_TTBR0", MemoryLayout<SmpBlock>.offset(of: \.ttbr0))
define("SMP_BLOCK_TTBR1", MemoryLayout<SmpBlock>.offset(of: \.ttbr1))
define("SMP_BLOCK_ENTRY", MemoryLayout<SmpBlock>.offset(of: \.entry))
define("SMP_BLOCK_KIMAGE_VOFFSET", MemoryLayout<SmpBlock>.offset(of: \.kimageVoffset))
define("SMP_BLOCK_SIZE", MemoryLayout<SmpBlock>.size)
define("EFI_HANDOFF_IMAGE", MemoryLayout<EFIHandoff>.offset(of: \.image))
define("EFI_HANDOFF_IMAGE_SIZE", MemoryLayout<EFIHandoff>.offset(of: \.imageSize))
define("EFI_HANDOFF_FDT", MemoryLayout<EFIHandoff>.offset(of: \.fdt))
define("EFI_HANDOFF_FDT_SIZE", MemoryLayout<EFIHandoff>.offset(of: \.fdtSize))
define("EFI_HANDOFF_FRAME", (MemoryLayout<EFIHandoff>.size + 15) & ~15)
define("BOOT_INFO_SIZE", MemoryLayout<BootInfo>.size)
define("KIMAGE_VADDR_DEFAULT", hex: SlideKASLR.defaultLinkBase, "SlideKASLR.defaultLinkBase")
define("PE_HEADER_SIZE", PECOFF.headerSize)   // head.S's room for the PE header mkimage writes
define("PE_FILE_ALIGNMENT", hex: UInt64(PECOFF.fileAlignment), "PECOFF.fileAlignment: kernel.lds pads the Image's data to it")
