import ArgumentParser
import SlideKit

struct Inspect: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Describe a kernel file: container, Image header, PE/COFF, appended data, link base and relocation tables.",
        discussion: """
            Relocation tables in a raw Image are found by `code-scan` (decoding the kernel's own
            relocation routine: the ADRP/ADD pairs that load the table bounds) and, failing that,
            by a `heuristic` (longest run of R_AARCH64_RELATIVE records), reported with a confidence
            and a reason. For ELF files the sections are used (`elf-section`).

            Examples:
              slide inspect /boot/vmlinuz-6.1.0-56-arm64
              slide inspect --json Image.gz | jq .rela
              slide inspect --table-method heuristic vmlinuz
            """)

    @OptionGroup var input: InputOptions
    @Flag(help: "Print one JSON document per input (schema slide/v1, 64-bit values as \"0x...\" strings).")
    var json = false
    @Argument(help: "Kernel files.") var files: [String]

    func run() throws {
        var failed = false
        for file in files {
            do {
                let report = try InspectReport.build(try input.load(file))
                emit(json ? report.json().rendered() + "\n" : report.text())
            } catch {
                try? reportingErrors { () throws(SlideKitError) in throw error }
                failed = true
            }
            if files.count > 1 && !json { emit("\n") }
        }
        if failed { throw ExitCode(1) }
    }
}
