// Shared by the two halves of the kernel (compiled as two modules: SlideEarly runs before
// relocation and is checked by `slide relacheck`; SlideKernel runs after).

/// The translation granule this kernel is built for (Kernel/build.sh --granule defines one of these).
#if GRANULE_64K
var kernelGranule: Granule { .k64 }
#elseif GRANULE_16K
var kernelGranule: Granule { .k16 }
#else
var kernelGranule: Granule { .k4 }
#endif

/// Bytes of the Swift heap in runtime.c.
let heapSize: UInt64 = 1 << 20

/// The linear map's PAGE_OFFSET for 48-bit VA (SlideCore LinearMap).
var pageOffset: UInt64 { LinearMap.pageOffset }

// What the boot steps record for the report. Lives in boot.S's BSS (`boot_info`), reached
// PC-relatively: at its physical address before the jump, at its virtual address after.

struct BootInfo {
    var pa: UInt64 = 0, fdt: UInt64 = 0, x1: UInt64 = 0, x2: UInt64 = 0, x3: UInt64 = 0
    var seedWiped: UInt64 = 0, seedSource: UInt64 = 0
    var ramLow: UInt64 = 0, ramHigh: UInt64 = 0, physOffset: UInt64 = 0
    var ttbr0Late: UInt64 = 0, ttbr1: UInt64 = 0, tablePages: UInt64 = 0, earlyFailure: UInt64 = 0
    var offset: UInt64 = 0
    var relaApplied: UInt64 = 0, relrApplied: UInt64 = 0, relocCycles: UInt64 = 0
    /// 0 = ok; otherwise a VerifyFailure code, with `verifyDetail` (an index or an address).
    var verifyStatus: UInt64 = 0, verifyDetail: UInt64 = 0
    /// Physical randomization: where the loader put the image (0 = not moved), how many places there were.
    var movedFrom: UInt64 = 0, physCandidates: UInt64 = 0
    var fdtSize: UInt64 = 0
    /// The seed the offset came from (FDT or RNDR), for the module region.
    var seed: UInt64 = 0
    /// The translation table pool (physical) and kimage_voffset, for the steps after kernel_main starts.
    var tablePool: UInt64 = 0, kimageVoffset: UInt64 = 0
    /// Faults resumed through __ex_table (Fixup.swift).
    var extableFixups: UInt64 = 0
    /// The boot identity map, which secondary CPUs turn their MMU on with (Smp.swift).
    var ttbr0Boot: UInt64 = 0
}

/// Physical or virtual addresses of the image's landmarks, filled in by boot.S with ADRP/ADD.
struct ImageLayout {
    var text: UInt64 = 0, etext: UInt64 = 0, erodata: UInt64 = 0, edata: UInt64 = 0, end: UInt64 = 0, seal: UInt64 = 0
    var heap: UInt64 = 0, stext: UInt64 = 0
    /// The exported symbol table (`__start___ksymtab`, `__stop___ksymtab`) and the module memory pool (runtime.c).
    var ksymtab: UInt64 = 0, ksymtabEnd: UInt64 = 0, modulePool: UInt64 = 0
}

/// Bytes of the module memory pool in runtime.c.
let modulePoolSize: UInt64 = 256 << 10

@_silgen_name("boot_info_address") func bootInfoAddress() -> UInt64

func bootInfo() -> UnsafeMutablePointer<BootInfo> {
    UnsafeMutablePointer<BootInfo>(bitPattern: UInt(bootInfoAddress()))!
}

/// Why relocation verification failed.
enum VerifyFailure: UInt64 {
    case unsealed = 1, digest = 2, tables = 3, unsupportedType = 4, relaPlace = 5, relrPlace = 6, earlyTables = 7

    var name: StaticString {
        switch self {
        case .unsealed: "unsealed"
        case .digest: "digest"
        case .tables: "tables"
        case .unsupportedType: "unsupported-type"
        case .relaPlace: "rela-place"
        case .relrPlace: "relr-place"
        case .earlyTables: "page-tables"
        }
    }
}
