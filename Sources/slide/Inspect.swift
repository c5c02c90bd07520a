import ArgumentParser
import SlideKit

struct Inspect: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Describe a kernel file: container, Image header, PE/COFF, appended data, link base and relocation tables.",
        usage: "slide inspect [<options>] <files> ...",
        discussion: """
            A raw Image has no section headers: its relocation tables are found by
            recognizers, one per shape of kernel, that read where its own code looks:
            \(KernelImage.Discovery.recognizerList(indent: 2))
            A table is "proven" when a code recognizer found it and every entry
            validates; the structural scan's tables are a guess, with a confidence
            and a caveat. All recognizers run and must agree: a disagreement is
            printed (and is an error in `slide verify`). The link base comes from
            the places and pointers in the tables, cross-checked with the constant
            head.S builds; it is "established" only when the evidence leaves one
            value, else "inferred", and commands that need it refuse an inference.
            The Linux version banner is shown; an Image shorter than its PE headers
            or its tables say is flagged as truncated, and one whose places hold
            run-time values as relocated already. ELF files: sections. Exports are
            __ksymtab entries: PREL32 fields (32-bit offsets from the field itself
            to the symbol and its name), the table the module loader searches.

            Examples:
              slide inspect /boot/vmlinuz-6.12.118+deb13-arm64
              slide inspect --json Image.gz | jq .rela
              slide inspect --table-method structural-scan vmlinuz
            """)

    @OptionGroup var input: InputOptions
    @Flag(help: "Print JSON (schema slide/v1, 64-bit values as \"0x...\" strings); with several files, one document per line (JSON Lines).")
    var json = false
    @Argument(help: ArgumentHelp("Kernel files: each \(FileKind.formats).")) var files: [String]

    func run() throws {
        try input.eachKernel(files) { (file, k) throws(SlideKitError) in
            let report = try InspectReport.build(k)
            if let t = report.kernel.truncation { warn("'\(file)': the image is truncated: \(t)") }
            emit(json ? report.json().rendered(pretty: files.count == 1) + "\n" : report.text())
            if files.count > 1 && !json { emit("\n") }
            return true
        }
    }
}
