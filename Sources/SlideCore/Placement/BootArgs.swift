// The kernel command line as the early code reads it: before any allocation, byte by byte from
// the FDT's /chosen/bootargs (or from a host string), so the kernel and the host apply one rule.

public enum BootArgs {
    /// True when `option` appears as a whole word (at the start or after a space, and followed by
    /// a space or the end). `byte(i)` reads the command line.
    public static func has(length: Int, byte: (Int) -> UInt8, option: StaticString) -> Bool {
        let n = option.utf8CodeUnitCount
        guard length >= n else { return false }
        for start in 0...(length - n) where start == 0 || byte(start - 1) == UInt8(ascii: " ") {
            var match = true
            for i in 0..<n where byte(start + i) != option.utf8Start[i] { match = false; break }
            if match && (start + n == length || byte(start + n) == UInt8(ascii: " ")) { return true }
        }
        return false
    }

    /// Linux's early `nokaslr` rule (arch/arm64/kernel/pi/kaslr_early.c, 5.10 to 6.8): the FIRST
    /// occurrence of "nokaslr" disables KASLR iff it is at the start or follows a space (what
    /// follows is not checked).
    public static func disablesKASLR(length: Int, byte: (Int) -> UInt8) -> Bool {
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
