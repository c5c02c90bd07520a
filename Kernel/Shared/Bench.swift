// `slide.bench=1` on the command line: guest instruction counts for `make bench`, kept out of the
// normal boot (nothing here runs without the option). Compiled into both halves of the kernel.
//
// The counter: the PMU's event counter 0 on INST_RETIRED, which QEMU counts only with precise
// instruction counting (`-icount shift=0`, `slide boot --icount`); without it the counter stands
// still and the generic timer is used instead, in nanoseconds (under `-icount shift=0` one
// instruction is one nanosecond of virtual time, so this is again instructions, 16 to a tick at
// 62.5 MHz). Either way the counter's own cost, measured over an empty interval, is subtracted.

/// Which counter BootInfo.benchCounter names.
enum BenchCounter: UInt64 {
    case none = 0, pmu = 1, timer = 2

    var name: StaticString {
        switch self {
        case .none: "none"
        case .pmu: "pmu"
        case .timer: "cntvct"
        }
    }

    /// The counter now: instructions (PMU, 32 bits) or nanoseconds of virtual time (timer).
    func read() -> UInt64 {
        switch self {
        case .none: 0
        case .pmu: benchReadInstructions()
        case .timer: readCNTVCT() &* (1_000_000_000 / max(readCNTFRQ(), 1))
        }
    }

    /// `later - earlier`, wrapping at the PMU counter's 32 bits.
    func elapsed(_ earlier: UInt64, _ later: UInt64) -> UInt64 {
        self == .pmu ? (later &- earlier) & 0xffff_ffff : later &- earlier
    }

    /// Starts the PMU and picks it if it counts, the timer otherwise.
    static func start() -> BenchCounter {
        benchPMUStart()
        let a = benchReadInstructions()
        let b = benchReadInstructions()
        return (b &- a) & 0xffff_ffff != 0 ? .pmu : .timer
    }
}

/// The counter's reading across `body`, less the reading across nothing.
@inline(never)
func benchMeasure(_ c: BenchCounter, _ body: () -> Void) -> UInt64 {
    let e0 = c.read()
    let e1 = c.read()
    let t0 = c.read()
    body()
    let t1 = c.read()
    let overhead = c.elapsed(e0, e1), total = c.elapsed(t0, t1)
    return total > overhead ? total - overhead : 0
}

/// slide_relocate, once the tables are applied: each table again with SlideCore (RELA is
/// idempotent: the same values again; RELR with displacement 0 adds nothing), then with the
/// reference loop (the same), so the image ends as it was and is then verified as usual.
func benchRelocation(rela: RelaTable, relr: RelrTable, image: MutableByteView, imagePA: UInt64, offset: UInt64) {
    let info = bootInfo()
    let c = BenchCounter.start()
    info.pointee.benchCounter = c.rawValue
    let link = linkBase()
    let bias = imagePA &- link // link address → the identity-mapped physical address
    info.pointee.benchRelaSlide = benchMeasure(c) {
        _ = try? Rela.apply(rela, to: image, linkBase: link, displacement: offset, resolver: NoSymbols())
    }
    info.pointee.benchRelaLinux = benchMeasure(c) {
        benchLinuxRela(rela.bytes.base, rela.bytes.base.map { $0 + rela.bytes.count }, bias, offset)
    }
    info.pointee.benchRelrSlide = benchMeasure(c) {
        _ = try? Relr.apply(relr, to: image, linkBase: link, displacement: 0)
    }
    info.pointee.benchRelrLinux = benchMeasure(c) {
        benchLinuxRelr(relr.bytes.base, relr.bytes.base.map { $0 + relr.bytes.count }, bias, 0)
    }
    info.pointee.benchRelaEntries = UInt64(rela.count)
    info.pointee.benchRelrWords = UInt64(relr.count)
}
