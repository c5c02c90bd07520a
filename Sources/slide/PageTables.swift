import ArgumentParser
import SlideCore
import SlideKit

struct PageTablesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pagetables",
        abstract: "Count the linear map's descriptors for given RAM and granule, as the Slide kernel builds it.",
        usage: "slide pagetables --memory <base:size> ... [<options>]",
        discussion: """
            Builds the linear map (all RAM at PAGE_OFFSET + PA - PHYS_OFFSET, largest
            blocks, contiguous runs) with SlideCore's page-table builder, the one the
            Slide kernel runs, twice: with PHYS_OFFSET rounded down to
            ARM64_MEMSTART_ALIGN (1 GiB for 4 and 16 KiB pages, 512 MiB for 64 KiB; or
            --phys-offset), and with PHYS_OFFSET at the start of RAM. Prints the
            blocks and pages per level, the contiguous descriptors and the table
            pages. Several --memory ranges are mapped as one, from the lowest start to
            the highest end.

            Examples:
              slide pagetables --memory 0x40000000:4G --granule 64k
              slide pagetables --memory 0x40200000:1G --granule 4k --json
            """)

    @Option(parsing: .singleValue, help: ArgumentHelp(memoryHelp + "; repeatable."), transform: { try parseMemory($0) })
    var memory: [PhysicalRange]
    @Option(help: "Page size: 4k, 16k or 64k.") var granule: String = "4k"
    @Option(name: .customLong("phys-offset"), parsing: .unconditional, help: "PHYS_OFFSET to use instead of the aligned one.", transform: { try parseNumber($0) })
    var physOffset: UInt64?
    @Flag(help: "Print JSON (schema slide/v1).") var json = false

    func validate() throws {
        guard !memory.isEmpty else { throw ValidationError("give at least one --memory BASE:SIZE") }
        guard ["4k", "16k", "64k"].contains(granule.lowercased()) else { throw ValidationError("--granule takes 4k, 16k or 64k, not '\(granule)'") }
    }

    func run() throws {
        try reportingErrors { () throws(SlideKitError) in
            let g: Granule = granule.lowercased() == "16k" ? .k16 : granule.lowercased() == "64k" ? .k64 : .k4
            var low = UInt64.max, high: UInt64 = 0
            for m in memory {
                let (base, size) = m.pair
                low = min(low, base); high = max(high, base + size)
            }
            if let p = physOffset, p > LinearMap.range(ramLow: low, ramHigh: high).start {
                throw SlideKitError("--phys-offset", "\(hex(p)) is above the start of RAM \(hex(low)): RAM would be below PAGE_OFFSET")
            }
            let layouts = try PageTableReport.layouts(ramLow: low, ramHigh: high, granule: g, physOffset: physOffset)
            emit(json ? PageTableReport.json(layouts, ramLow: low, ramHigh: high).rendered() + "\n" : PageTableReport.text(layouts, ramLow: low, ramHigh: high))
        }
    }
}
