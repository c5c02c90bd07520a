// Linux 6.16 and later: 6.9's image and module formulas, and no linear-map randomization —
// commit 1db780bafa4c ("arm64/mm: Remove randomization of the linear map", 2025) removed
// memstart_offset_seed, so PHYS_OFFSET is the start of RAM rounded down to 1 GiB (lowered by
// 2^52 - 2^48 when a 52-bit kernel runs 48-bit). 7.2 measured: Debian 7.2.13.

public enum Linux616KASLR: LinuxKASLRFormula {
    public static let name: StaticString = "linux-6.16"
    public static let firstVersion = (6, 16)
    public static let source: StaticString = "arch/arm64/kernel/pi/kaslr_early.c, pi/map_kernel.c, arch/arm64/mm/init.c after 1db780bafa4c (Linux 6.16+)"
    public static let measured: StaticString = "Debian 7.2.13 under QEMU (cortex-a57, max)"
    public static let measuredVersions = [(7, 2)]
    public static let measuredPageSizes: [UInt64] = [4096]
    public static let modulesUseStext = false

    public static func disables(commandLine: String) -> Bool { Linux69KASLR.disables(commandLine: commandLine) }

    public static func layout(_ i: LinuxKASLRInputs) -> LinuxKASLRLayout { Linux69KASLR.layout(i, randomizesLinearMap: false) }
}
