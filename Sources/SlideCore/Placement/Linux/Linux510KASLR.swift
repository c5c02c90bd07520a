// Linux 5.4 to 5.10: kaslr_early_init in arch/arm64/kernel/kaslr.c, applied by head.S (5.10.223
// measured: Debian 5.10.0-32).
//   D = 2^(VA_BITS_MIN-3) + (seed & (2^(VA_BITS_MIN-2) - 1) & ~(2 MiB - 1))   (seed bits 21..45)
//   With RNDR the early code XORs a hardware random value into the seed even when the DTB has
//   one: the layout is then not reproducible.
//   PHYS_OFFSET: s16 = seed >> 48; range = linear region (2^(VA_BITS_MIN-1)) - the RAM's span
//   (arch/arm64/mm/init.c arm64_memblock_init; the PARange form came in 5.11).
//   Modules: base = max(_end - 2 GiB, MODULES_VADDR) + ⌊(2 GiB - (_end - _stext)) · (seed & 0x1fffff) / 2^21⌋,
//   page-aligned (RANDOMIZE_MODULE_REGION_FULL); 128 MiB, with a 2 GiB fallback. KASLR off: _etext - 128 MiB.
//   MODULES_VADDR = _PAGE_END(VA_BITS_MIN) + 128 MiB (the BPF JIT region comes first).

public enum Linux510KASLR: LinuxKASLRFormula {
    public static let name: StaticString = "linux-5.4"
    public static let firstVersion = (5, 4)
    public static let source: StaticString = "arch/arm64/kernel/kaslr.c kaslr_early_init, arch/arm64/mm/init.c arm64_memblock_init (Linux 5.10)"
    public static let measured: StaticString = "Debian 5.10.0-32 (5.10.223) under QEMU"
    public static let measuredVersions = [(5, 10)]
    public static let measuredPageSizes: [UInt64] = [4096]
    public static let modulesUseStext = true

    /// The first "nokaslr" decides: at the start or after a space (what follows is not checked).
    public static func disables(commandLine: String) -> Bool {
        let bytes = Array(commandLine.utf8)
        return BootArgs.disablesKASLR(length: bytes.count, byte: { bytes[$0] })
    }

    public static func layout(_ i: LinuxKASLRInputs) -> LinuxKASLRLayout {
        let source = LinuxKASLR.seedSource(i, rndrAlwaysMixed: true)
        let vmin = i.vaBitsMin
        let mask = ((1 << UInt64(vmin - 2)) - 1) & ~(ImageAlignment.kernel - 1)
        let low = UInt64(1) << UInt64(vmin - 3), high = low + mask
        let d: Predicted = switch source {
        case .fdt: .exact(low + (i.seed & mask))
        case .rndr: .within(low: low, high: high)
        case .none, .disabled: .exact(0)
        }
        let offset = LinuxKASLR.offset(d, i)

        let linearRegion = UInt64(1) << UInt64(vmin - 1)
        let memstart = LinuxKASLR.memstartBase(i, linearRegionSize: linearRegion)
        let range = Int64(bitPattern: linearRegion) - Int64(bitPattern: i.ramHigh - i.ramLow)
        let phys: Predicted = switch source {
        case .fdt: .exact(LinuxKASLR.randomizeMemstart(memstart, range: range, s16: i.seed >> 48, align: i.memstartAlign))
        case .rndr: LinuxKASLR.memstartRange(memstart, range: range, align: i.memstartAlign)
        case .none, .disabled: .exact(memstart)
        }

        // The module region, from seed bits 0..20.
        let window = LinuxKASLR.FullModuleWindow(i: i, modulesVaddr: LinuxKASLR.minus(vmin - 1) &+ (128 << 20))
        let modules: Predicted = switch (source, offset) {
        case (.fdt, .exact(let o)): .exact(window.base(text: i.linkBase &+ o, fraction: i.seed & 0x1f_ffff))
        case (.rndr, _): window.bases(offset)
        default: LinuxKASLR.etextBase(i, offset: offset)
        }
        return LinuxKASLRLayout(
            vaBitsActual: vmin, seedSource: source, offset: offset, physOffset: phys,
            moduleBase: modules, moduleSize: 128 << 20,
            moduleRandomness: source == .fdt || source == .rndr ? "seed bits 0..20 (from the 5.10 source; no boot has checked a module address)" : "not randomized (_etext - 128 MiB)",
            imageEntropy: LinuxKASLR.bits(LinuxKASLR.slots(low: low, high: high)),
            physEntropy: LinuxKASLR.bits(LinuxKASLR.memstartValues(range: range, align: i.memstartAlign)),
            moduleEntropy: LinuxKASLR.bits(window.values),
            imageSeedBits: "21..\(vmin - 3)", physSeedBits: "48..63")
    }
}
