// Linux 6.9 to 6.15: kaslr_early_init in arch/arm64/kernel/pi/kaslr_early.c, called from
// early_map_kernel in pi/map_kernel.c once the VA size is known (6.12 measured: Debian 6.12.118,
// 4 KiB and 16 KiB pages).
//   The VA size: 52 when the kernel is built for 52 bits and the CPU has LPA2 (TGran4 = 1 with
//   4 KiB pages, TGran16 = 2 with 16 KiB), else VA_BITS_MIN (48 with 4 KiB pages, 47 with 16 KiB:
//   memory.h); it moves VMALLOC_END (arch/arm64/include/asm/pgtable.h: VMEMMAP_START + the
//   struct pages of the VA range not in use - 8 MiB; one 64-byte struct page per PAGE_SIZE, so
//   the vmemmap is the VA range >> (PAGE_SHIFT - 6)), so the same seed lands elsewhere.
//   range = (VMALLOC_END - KIMAGE_VADDR) / 2; D = (range/2 + ⌊range · seed / 2^64⌋) & ~(2 MiB - 1)
//   (every seed bit counts, through the multiply-high). No DTB seed: RNDR.
//   PHYS_OFFSET: a 52-bit kernel running with fewer bits lowers memstart by 2^52 - 2^va; range =
//   linear region (2^va - 2^(VA_BITS_MIN-1)) - 2^PARange; s16 = seed bits 0..15; the step is
//   ARM64_MEMSTART_ALIGN, 1 GiB with 4 KiB pages (PUD_SHIFT) and with 16 KiB (CONT_PMD_SHIFT).
//   Modules (arch/arm64/mm/init.c module_init_limits): a 2 GiB window ending at most at _text +
//   its size, base = _text - PAGE_SIZE · get_random_u32_inclusive(0, (2 GiB - image size) / PAGE_SIZE) when
//   KASLR is on (offset ≥ 2 MiB); else _end - 2 GiB.

public enum Linux69KASLR: LinuxKASLRFormula {
    public static let name: StaticString = "linux-6.9"
    public static let firstVersion = (6, 9)
    public static let source: StaticString = "arch/arm64/kernel/pi/kaslr_early.c, pi/map_kernel.c early_map_kernel, arch/arm64/include/asm/pgtable.h VMALLOC_END, arch/arm64/mm/init.c (Linux 6.12)"
    public static let measured: StaticString = "Debian 6.12.118 under QEMU (4 KiB: cortex-a53/a57/a72/a76, neoverse-n1, max; 16 KiB: cortex-a76, max)"
    public static let measuredVersions = [(6, 12)]
    public static let measuredPageSizes: [UInt64] = [4096, 16384]
    public static let modulesUseStext = false

    /// A whole space-separated token `nokaslr` or `arm64_sw.nokaslr=1` (pi/idreg-override.c).
    public static func disables(commandLine: String) -> Bool {
        commandLine.split(separator: " ").contains { $0 == "nokaslr" || $0 == "arm64_sw.nokaslr=1" }
    }

    public static func layout(_ i: LinuxKASLRInputs) -> LinuxKASLRLayout { layout(i, randomizesLinearMap: true) }

    /// VMALLOC_END for a kernel built with `vaBits` running with `vaActual`.
    static func vmallocEnd(vaBits: Int, vaBitsMin: Int, vaActual: Int, pageShift: Int) -> UInt64 {
        let pageOffset = LinuxKASLR.minus(vaBits)
        let structPages = UInt64(pageShift - 6) // 64-byte struct page per page: STRUCT_PAGE_MAX_SHIFT
        let vmemmapSize = (LinuxKASLR.minus(vaBitsMin - 1) &- pageOffset) >> structPages
        let vmemmapStart = LinuxKASLR.minus(30) &- vmemmapSize
        let unused = vaBits == vaBitsMin ? 0 : (LinuxKASLR.minus(vaActual) &- pageOffset) >> structPages
        return vmemmapStart &+ unused &- (8 << 20)
    }

    static func layout(_ i: LinuxKASLRInputs, randomizesLinearMap: Bool) -> LinuxKASLRLayout {
        let source = LinuxKASLR.seedSource(i)
        let vmin = i.vaBitsMin
        let va = i.vaBits > vmin && i.cpu.lpa2 ? i.vaBits : vmin
        let range = (vmallocEnd(vaBits: i.vaBits, vaBitsMin: vmin, vaActual: va, pageShift: i.granule.shift) &- i.linkBase) / 2
        func draw(_ seed: UInt64) -> UInt64 { (range / 2 &+ range.multipliedFullWidth(by: seed).high) & ~(ImageAlignment.kernel - 1) }
        let low = draw(0), high = draw(UInt64.max)
        let d: Predicted = switch source {
        case .fdt: .exact(draw(i.seed))
        case .rndr: .within(low: low, high: high)
        case .none, .disabled: .exact(0)
        }
        let offset = LinuxKASLR.offset(d, i)

        let linearRegion = (UInt64(1) << UInt64(va)) &- (UInt64(1) << UInt64(vmin - 1))
        var memstart = LinuxKASLR.memstartBase(i, linearRegionSize: linearRegion)
        if i.vaBits == 52 && va != 52 { memstart &-= (1 << 52) - (UInt64(1) << UInt64(va)) }
        let physRange = randomizesLinearMap ? Int64(bitPattern: linearRegion) - Int64(bitPattern: UInt64(1) << UInt64(i.cpu.paBits)) : 0
        let phys: Predicted = switch source {
        case .fdt: .exact(LinuxKASLR.randomizeMemstart(memstart, range: physRange, s16: i.seed & 0xffff, align: i.memstartAlign))
        case .rndr: LinuxKASLR.memstartRange(memstart, range: physRange, align: i.memstartAlign)
        case .none, .disabled: .exact(memstart)
        }

        let window: UInt64 = 2 << 30
        let page = UInt64(1) << UInt64(i.granule.shift)
        let pages = (window - i.imageSize) / page
        let randomized: Bool = switch offset {
        case .exact(let o): o >= ImageAlignment.kernel
        default: true
        }
        let modules: Predicted = switch offset {
        case .exact(let o) where randomized: .within(low: i.linkBase &+ o &- pages * page, high: i.linkBase &+ o)
        case .within(let l, let h): .within(low: i.linkBase &+ l &- pages * page, high: i.linkBase &+ h)
        default: offset.adding(i.linkBase &+ i.imageSize &- window)
        }
        return LinuxKASLRLayout(
            vaBitsActual: va, seedSource: source, offset: offset, physOffset: phys,
            moduleBase: modules, moduleSize: window,
            moduleRandomness: randomized ? "get_random_u32_inclusive() at boot (not from the seed)" : "not randomized (_end - 2 GiB)",
            imageEntropy: LinuxKASLR.bits(LinuxKASLR.slots(low: low, high: high)),
            physEntropy: LinuxKASLR.bits(LinuxKASLR.memstartValues(range: physRange, align: i.memstartAlign)),
            moduleEntropy: LinuxKASLR.bits(pages + 1),
            imageSeedBits: "0..63 (multiply-high)", physSeedBits: randomizesLinearMap ? "0..15" : "none")
    }
}
