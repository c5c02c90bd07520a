// MIN_KIMG_ALIGN (arch/arm64/include/asm/boot.h): the kernel image's virtual alignment, the step
// of every KASLR displacement, of physical randomization, and of booti's load address. The image
// keeps its physical misalignment within it (offset = D | misalignment).

public enum ImageAlignment {
    public static let kernel: UInt64 = 2 << 20

    /// `address` mod 2 MiB.
    public static func misalignment(_ address: UInt64) -> UInt64 { address & (kernel - 1) }

    /// `address` rounded down to 2 MiB.
    public static func down(_ address: UInt64) -> UInt64 { address & ~(kernel - 1) }
}
