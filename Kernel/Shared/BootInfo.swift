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

/// Bytes of the module memory pool in runtime.c: 64 pages of the granule (a module takes at least
/// one page per part it has, whatever the page size).
var modulePoolSize: UInt64 { 64 * kernelGranule.pageSize }

/// BootInfo (`boot_info` in Asm/layout.S), at the address we run at.
func bootInfo() -> UnsafeMutablePointer<BootInfo> {
    UnsafeMutablePointer<BootInfo>(bitPattern: UInt(bootInfoAddress()))!
}

/// The command-line options in /chosen/bootargs (none without it).
func bootArgs(_ fdt: FDT) -> SlideBootArgs {
    guard let args = try? fdt.property(node: "chosen", name: "bootargs") else { return SlideBootArgs() }
    return SlideBootArgs(length: fdt.stringLength(args), byte: { fdt.byte(args, at: $0) })
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
