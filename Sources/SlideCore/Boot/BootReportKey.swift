// The Slide kernel's boot report: one `slide: key=value` line per fact, then `slide: done`.
// The kernel prints these keys (Kernel/Late/Main.swift and Kernel/Late/Modules.swift), and the boot tests
// and the soak read them back: one list, so a renamed or added key cannot go unnoticed.
//
// The names are StaticStrings, not a String raw value: a String literal longer than 15 bytes is
// a pointer into .rodata, and at the kernel's high virtual address (0xffff8000...) that pointer
// collides with the flag bits String keeps in the top of the same word, so the first 16-byte
// key ("kernel_map_bytes") trapped in the kernel as a "foreign" string.

public enum BootReportKey: CaseIterable, Sendable {
    case pa, va, offset, kimageVoffset, seedSource, physMoved, physFrom, physCandidates
    case physReserved, fdt, fdtSize, fdtSeedWiped, x1X3, physOffset, granule, linearMap
    case kernelMapBytes, contiguous, tablePages, wxViolations, sctlr, relocsRela, relocsRelr
    case relocCycles, relocVerify, benchCounter, benchRela, benchRelr, moduleBase, moduleCounter
    case moduleMap, initrd, modulesLoaded, module, extableEntries, extableTest
    case extableFixups, cpusListed, cpusOnline, cpusErrors, crashTest, helloSays, helloChecks
    case loader, efiRNG, efiSeed, efiLoadedAt, efiSlot, efiCandidates, efiConventional, efiRanges

    /// The key as the report prints it.
    public var name: StaticString {
        switch self {
        case .pa: "pa"
        case .va: "va"
        case .offset: "offset"
        case .kimageVoffset: "kimage_voffset"
        case .seedSource: "seed_source"
        case .physMoved: "phys_moved"
        case .physFrom: "phys_from"
        case .physCandidates: "phys_candidates"
        case .physReserved: "phys_reserved"
        case .fdt: "fdt"
        case .fdtSize: "fdt_size"
        case .fdtSeedWiped: "fdt_seed_wiped"
        case .x1X3: "x1_x3"
        case .physOffset: "phys_offset"
        case .granule: "granule"
        case .linearMap: "linear_map"
        case .kernelMapBytes: "kernel_map_bytes"
        case .contiguous: "contiguous"
        case .tablePages: "table_pages"
        case .wxViolations: "wx_violations"
        case .sctlr: "sctlr"
        case .relocsRela: "relocs_rela"
        case .relocsRelr: "relocs_relr"
        case .relocCycles: "reloc_cycles"
        case .relocVerify: "reloc_verify"
        case .benchCounter: "bench_counter"
        case .benchRela: "bench_rela"
        case .benchRelr: "bench_relr"
        case .moduleBase: "module_base"
        case .moduleCounter: "module_counter"
        case .moduleMap: "module_map"
        case .initrd: "initrd"
        case .modulesLoaded: "modules_loaded"
        case .module: "module"
        case .extableEntries: "extable_entries"
        case .extableTest: "extable_test"
        case .extableFixups: "extable_fixups"
        case .cpusListed: "cpus_listed"
        case .cpusOnline: "cpus_online"
        case .cpusErrors: "cpus_errors"
        case .crashTest: "crash_test"
        case .helloSays: "hello_says"
        case .helloChecks: "hello_checks"
        case .loader: "loader"
        case .efiRNG: "efi_rng"
        case .efiSeed: "efi_seed"
        case .efiLoadedAt: "efi_loaded_at"
        case .efiSlot: "efi_slot"
        case .efiCandidates: "efi_candidates"
        case .efiConventional: "efi_conventional"
        case .efiRanges: "efi_ranges"
        }
    }

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
