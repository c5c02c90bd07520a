// `slide relocate`: apply the tables as the boot code does when the image runs at
// `linkBase + displacement` (RELA overwrites, RELR adds), with the same SlideCore routines
// the kernel runs. Output is the input's bytes with only relocated places changed (ImageELF
// wraps them for disassemblers).

import SlideCore

public struct RelocateResult {
    public var bytes: [UInt8]
    public var rela: RelaApplyReport
    public var relrPlaces: Int
    public var displacement: UInt64
    public var runtimeBase: UInt64

    /// `relocate --json`. `signature`: none, stale or stripped; `elfSymbols` for `--format elf`.
    public func document(file: String, output: String, format: String, linkBase: UInt64, linkBaseStanding: Standing,
                         signature: String, elfSymbols: Int?) -> JSON {
        .object([
            ("schema", .string(jsonSchemaVersion)), ("file", .string(file)), ("output", .string(output)),
            ("format", .string(format)), ("link_base", .hex(linkBase)), ("link_base_standing", .string(linkBaseStanding.rawValue)),
            ("displacement", .hex(displacement)),
            ("runtime_base", .hex(runtimeBase)), ("rela_relative", .int(rela.relative)),
            ("rela_symbolic_skipped", .int(rela.unresolved)), ("rela_none", .int(rela.none)),
            ("rela_unsupported", .int(rela.unsupported)), ("relr_places", .int(relrPlaces)),
            ("signature", .string(signature)),
        ] + (elfSymbols.map { [("elf_symbols", .int($0))] } ?? []))
    }
}

public enum Relocator {
    /// Why no kernel could run at link base + `displacement`, or nil: the displacement must be a
    /// multiple of the Image's page size (the kernel maps itself with its own pages), the image must
    /// not wrap past 2^64, and a kernel linked in the kernel half (the top 2^52 bytes) stays there.
    public static func impossibility(_ k: KernelImage, displacement: UInt64) -> String? {
        let page = k.header?.flags.pageSize.bytes ?? 4096
        let d = hex(signed: Int64(bitPattern: displacement))
        if displacement % page != 0 {
            return "displacement \(d) is not a multiple of \(page / 1024) KiB (the Image's page size): no kernel runs there"
        }
        let run = k.linkBase &+ displacement
        let wraps = Int64(bitPattern: displacement) >= 0 ? run < k.linkBase : run > k.linkBase
        if wraps || run > UInt64.max - k.memorySize {
            return "displacement \(d) moves the image (\(hex(k.memorySize)) bytes at \(hex(k.linkBase))) past the end of the 64-bit address space"
        }
        if k.linkBase >= KernelImage.lowestKernelAddress && run < KernelImage.lowestKernelAddress {
            return "run-time base \(hex(run)) is not a kernel address (a kernel runs at or above \(hex(KernelImage.lowestKernelAddress)), the bottom of a 52-bit TTBR1 space)"
        }
        return nil
    }

    public static func relocate(_ k: KernelImage, displacement: UInt64) throws(SlideKitError) -> RelocateResult {
        guard k.rela != nil || k.relr != nil else { throw SlideKitError(k.path, "no relocation table found: nothing to relocate") }
        try k.requireTables(for: "relocating")
        _ = try k.requireLinkBase(for: "relocating")
        var out = k.bytes
        // Read the tables from the original bytes: a place can never rewrite the table mid-walk.
        let (rela, relr) = try k.withTables { (_, relaTable, relrTable) throws(SlideError) -> (RelaApplyReport, Int) in
            try out.withMutableView { (image) throws(SlideError) -> (RelaApplyReport, Int) in
                var report = RelaApplyReport()
                if let relaTable {
                    report = try Rela.apply(relaTable, to: image, linkBase: k.linkBase, displacement: displacement, resolver: NoSymbols())
                }
                var relrCount = 0
                if let relrTable {
                    relrCount = try Relr.apply(relrTable, to: image, linkBase: k.linkBase, displacement: displacement)
                }
                return (report, relrCount)
            }
        }
        return RelocateResult(bytes: out, rela: rela, relrPlaces: relr, displacement: displacement,
                              runtimeBase: k.linkBase &+ displacement)
    }
}
