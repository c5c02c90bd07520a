// The KASLR model (docs/linux-kaslr.md): seed → virtual displacement, exactly as Linux 6.1's
// kaslr_early_init and head.S compute it, so the host can predict what the kernel does.

public enum KASLR {
    /// VA_BITS_MIN for 4K pages, 48-bit VA.
    public static let vaBitsMin = 48
    /// KIMAGE_VADDR for 48-bit VA: -(1 << 47) + 128 MiB.
    public static let kimageVaddr: UInt64 = 0xffff_8000_0800_0000
    public static let minKernelAlignment: UInt64 = 2 << 20

    /// kaslr_early_init's return value: 2^(V-3) + (seed & (2^(V-2) - 1)).
    public static func earlyInitValue(seed: UInt64) -> UInt64 {
        (1 << UInt64(vaBitsMin - 3)) &+ (seed & ((1 << UInt64(vaBitsMin - 2)) - 1))
    }

    /// The 2 MiB-aligned displacement head.S takes from it.
    public static func displacement(seed: UInt64) -> UInt64 {
        earlyInitValue(seed: seed) & ~(minKernelAlignment - 1)
    }

    /// The run-time offset from the link address: displacement | (PA mod 2 MiB).
    public static func offset(displacement: UInt64, physicalAddress: UInt64) -> UInt64 {
        displacement | (physicalAddress & (minKernelAlignment - 1))
    }

    /// Linux's early `nokaslr` rule: the FIRST occurrence of "nokaslr" disables KASLR iff it is at
    /// the start or follows a space (what follows is not checked). `byte(i)` reads the command line.
    /// True when `option` appears as a whole word (at the start or after a space, and followed by
    /// a space or the end).
    public static func commandLineHas(length: Int, byte: (Int) -> UInt8, option: StaticString) -> Bool {
        let n = option.utf8CodeUnitCount
        guard length >= n else { return false }
        for start in 0...(length - n) where start == 0 || byte(start - 1) == UInt8(ascii: " ") {
            var match = true
            for i in 0..<n where byte(start + i) != option.utf8Start[i] { match = false; break }
            if match && (start + n == length || byte(start + n) == UInt8(ascii: " ")) { return true }
        }
        return false
    }

    public static func commandLineDisables(length: Int, byte: (Int) -> UInt8) -> Bool {
        let needle: StaticString = "nokaslr"
        let n = needle.utf8CodeUnitCount
        guard length >= n else { return false }
        for start in 0...(length - n) {
            var match = true
            for i in 0..<n where byte(start + i) != needle.utf8Start[i] { match = false; break }
            if match { return start == 0 || byte(start - 1) == UInt8(ascii: " ") }
        }
        return false
    }
}
