// The Slide kernel's boot report: one `slide: key=value` line per fact, then `slide: done`.
// The kernel prints these keys (Kernel/Late/Main.swift and the module loader), and the boot tests
// and the soak read them back: one list, so a renamed or added key cannot go unnoticed.

public enum BootReportKey: String, CaseIterable, Sendable {
    case pa = "pa"
    case va = "va"
    case offset = "offset"
    case kimageVoffset = "kimage_voffset"
    case seedSource = "seed_source"
    case physMoved = "phys_moved"
    case physFrom = "phys_from"
    case physCandidates = "phys_candidates"
    case physReserved = "phys_reserved"
    case fdt = "fdt"
    case fdtSize = "fdt_size"
    case fdtSeedWiped = "fdt_seed_wiped"
    case x1X3 = "x1_x3"
    case physOffset = "phys_offset"
    case granule = "granule"
    case linearMap = "linear_map"
    case kernelMapBytes = "kernel_map_bytes"
    case contiguous = "contiguous"
    case tablePages = "table_pages"
    case wxViolations = "wx_violations"
    case sctlr = "sctlr"
    case relocsRela = "relocs_rela"
    case relocsRelr = "relocs_relr"
    case relocCycles = "reloc_cycles"
    case relocVerify = "reloc_verify"
    case benchCounter = "bench_counter"
    case benchRela = "bench_rela"
    case benchRelr = "bench_relr"
    case moduleBase = "module_base"
    case moduleCounter = "module_counter"
    case moduleMap = "module_map"
    case initrd = "initrd"
    case modules = "modules"
    case modulesLoaded = "modules_loaded"
    case module = "module"
    case extableEntries = "extable_entries"
    case extableTest = "extable_test"
    case extableFixups = "extable_fixups"
    case cpusListed = "cpus_listed"
    case cpusOnline = "cpus_online"
    case cpusErrors = "cpus_errors"
    case crashTest = "crash_test"
    case helloSays = "hello_says"
    case helloChecks = "hello_checks"

    /// The report line's prefix, before the key.
    public static let prefix: StaticString = "slide: "
    /// The last line of a boot that ran to the end.
    public static let done: StaticString = "slide: done"

    /// `module_NAME`: a linked module's layout, PLTs, relocations and digests.
    public static func moduleDetail(_ name: String) -> String { "module_" + name }
    /// `module_NAME_init_freed`: pages of the module's init region given back.
    public static func moduleInitFreed(_ name: String) -> String { "module_" + name + "_init_freed" }
    /// `bench_module_NAME`: the module link measured in guest instructions.
    public static func moduleBench(_ name: String) -> String { "bench_module_" + name }
}
