// Linux 5.10 to 6.0: efi_random_alloc(size, align, addr, seed) in its 5.10.y form. The slot is
// allocated as EFI_LOADER_DATA; no limit below 2^64 (ULONG_MAX); every conventional region
// counts, mirrored or not; EFI_ALLOC_ALIGN is 64 KiB (arch/arm64/include/asm/efi.h); a region
// whose end lies below the image size holds nothing (`region_end < size`, 5.10.y).
// Read in a 5.10.y tree, not Debian's own 5.10.223: the boots confirm the count, the alignment and
// the draw, but QEMU's maps cannot show the mirrored, hot-pluggable and limit rules.
// The RNG seed table is 32 bytes in Debian's 5.10.223 (measured: its kaslr-seed follows the
// slot seed 36 bytes into the RNG's output, as in 6.1).

public enum LinuxEFI510Stub: LinuxEFIStubModel {
    public static let name: StaticString = "linux-efi-5.10"
    public static let firstVersion = (5, 10)
    public static let source: StaticString = "drivers/firmware/efi/libstub/randomalloc.c, arm64-stub.c (handle_kernel_image), efi-stub.c, fdt.c, random.c (Linux 5.10.y)"
    public static let measured: StaticString = "Debian 5.10.223 under edk2 2022.11 (QEMU 7.2, virtio-rng over a file)"
    public static let rules = EFIRandomAllocRules(slotType: .loaderData, limit: UInt64.max, allocAlign: 0x1_0000,
                                                  avoidsZero: false, prefersMirrored: false, skipsHotPluggable: false)
    public static let seedTableBytes = 32
}
