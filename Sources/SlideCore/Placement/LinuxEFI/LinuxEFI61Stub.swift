// Linux 6.1 and later (as Debian ships them: 6.1.192, 6.12.118, 7.2.13):
// efi_random_alloc(size, align, addr, seed, EFI_LOADER_CODE, 0, EFI_ALLOC_LIMIT). The slot is
// allocated as EFI_LOADER_CODE; no slot reaches past EFI_ALLOC_LIMIT = 2^48 - 1; alloc_min 0
// becomes the alignment (no slot at address 0); when any region holding a slot is
// EFI_MEMORY_MORE_RELIABLE only those count; EFI_MEMORY_HOT_PLUGGABLE regions hold none.
// From 6.12 the caller is efi_kaslr_relocate_kernel (libstub/kaslr.c), with the same rules.

public enum LinuxEFI61Stub: LinuxEFIStubModel {
    public static let name: StaticString = "linux-efi-6.1"
    public static let firstVersion = (6, 1)
    public static let source: StaticString = "drivers/firmware/efi/libstub/randomalloc.c, arm64-stub.c, kaslr.c (6.12), efi-stub.c, fdt.c, random.c; arch/arm64/include/asm/efi.h (Linux 6.1.192, 6.12.118)"
    public static let measured: StaticString = "Debian 6.1.192, 6.12.118 and 7.2.13 under edk2 2022.11 (QEMU 7.2, virtio-rng over a file)"
    public static let rules = EFIRandomAllocRules(slotType: .loaderCode, limit: (1 << 48) - 1, allocAlign: 0x1_0000,
                                                  avoidsZero: true, prefersMirrored: true, skipsHotPluggable: true)
    public static let seedTableBytes = 32
}
