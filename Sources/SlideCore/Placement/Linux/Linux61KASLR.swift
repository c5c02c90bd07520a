// Linux 5.11 to 6.8: kaslr_early_init in arch/arm64/kernel/pi/kaslr_early.c (6.1), split by
// head.S (6.1 measured: Debian 6.1.0-57).
//   r = 2^(VA_BITS_MIN-3) + (seed & (2^(VA_BITS_MIN-2) - 1)); D = r & ~(2 MiB - 1) (seed bits 21..45,
//   the same D as 5.10's for every seed); r's low 16 bits are the linear-map seed (seed bits 0..15).
//   No DTB seed: RNDR when the CPU has it.
//   PHYS_OFFSET: range = linear region (2^(VA_BITS_MIN-1)) - 2^PARange (arch/arm64/mm/init.c
//   arm64_memblock_init), so a CPU with 48-bit or larger PA gets none.
//   Modules (arch/arm64/kernel/kaslr.c kaslr_init): the 5.10 shape with get_random_u32() at boot
//   (not derivable from the seed), when the offset is not 0; else _etext - 128 MiB.
//   MODULES_VADDR = _PAGE_END(VA_BITS_MIN).

public enum Linux61KASLR: LinuxKASLRFormula {
    public static let name: StaticString = "linux-5.11"
    public static let firstVersion = (5, 11)
    public static let source: StaticString = "arch/arm64/kernel/pi/kaslr_early.c, head.S __primary_switch, arch/arm64/mm/init.c arm64_memblock_init, arch/arm64/kernel/kaslr.c (Linux 6.1)"
    public static let measured: StaticString = "Debian 6.1.0-57 under QEMU"
    public static let measuredVersions = [(6, 1)]
    public static let measuredPageSizes: [UInt64] = [4096]
    public static let modulesUseStext = true

    public static func disables(commandLine: String) -> Bool { Linux510KASLR.disables(commandLine: commandLine) }

    /// D = (2^(V-3) + (seed & (2^(V-2) - 1))) rounded down to 2 MiB: kaslr_early_init's return
    /// value as head.S splits it (also the Slide kernel's, SlideKASLR.displacement).
    public static func displacement(seed: UInt64, vaBitsMin: Int) -> UInt64 {
        ImageAlignment.down((UInt64(1) << UInt64(vaBitsMin - 3)) &+ (seed & ((1 << UInt64(vaBitsMin - 2)) - 1)))
    }

    public static func layout(_ i: LinuxKASLRInputs) -> LinuxKASLRLayout {
        let source = LinuxKASLR.seedSource(i)
        let vmin = i.vaBitsMin
        let low = displacement(seed: 0, vaBitsMin: vmin), high = displacement(seed: .max, vaBitsMin: vmin)
        let d: Predicted = switch source {
        case .fdt: .exact(displacement(seed: i.seed, vaBitsMin: vmin))
        case .rndr: .within(low: low, high: high)
        case .none, .disabled: .exact(0)
        }
        let offset = LinuxKASLR.offset(d, i)

        let linearRegion = UInt64(1) << UInt64(vmin - 1)
        let memstart = LinuxKASLR.memstartBase(i, linearRegionSize: linearRegion)
        let range = Int64(bitPattern: linearRegion) - Int64(bitPattern: UInt64(1) << UInt64(i.cpu.paBits))
        let phys: Predicted = switch source {
        case .fdt: .exact(LinuxKASLR.randomizeMemstart(memstart, range: range, s16: i.seed & 0xffff, align: i.memstartAlign))
        case .rndr: LinuxKASLR.memstartRange(memstart, range: range, align: i.memstartAlign)
        case .none, .disabled: .exact(memstart)
        }

        // The module region: get_random_u32() at boot, when the offset is not 0.
        let window = LinuxKASLR.FullModuleWindow(i: i, modulesVaddr: LinuxKASLR.minus(vmin - 1))
        let randomized = offset != .exact(0)
        let modules = randomized ? window.bases(offset) : LinuxKASLR.etextBase(i, offset: offset)
        return LinuxKASLRLayout(
            vaBitsActual: vmin, seedSource: source, offset: offset, physOffset: phys,
            moduleBase: modules, moduleSize: 128 << 20,
            moduleRandomness: randomized ? "get_random_u32() at boot (not from the seed)" : "not randomized (_etext - 128 MiB)",
            imageEntropy: LinuxKASLR.bits(LinuxKASLR.slots(low: low, high: high)),
            physEntropy: LinuxKASLR.bits(LinuxKASLR.memstartValues(range: range, align: i.memstartAlign)),
            moduleEntropy: LinuxKASLR.bits(window.values),
            imageSeedBits: "21..\(vmin - 3)", physSeedBits: "0..15")
    }
}
