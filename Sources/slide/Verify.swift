import ArgumentParser
import SlideKit

struct Verify: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Check an image's header and relocation tables; exit 1 on any error.",
        usage: "slide verify [<options>] <files> ...",
        discussion: """
            Errors: places outside the image, odd, inside the header or inside a
            relocation table; RELATIVE addends outside [link base, link base +
            image_size]; places relocated twice; RELR bitmaps before any address word;
            types the boot code cannot process; image_size smaller than the data;
            inconsistent header fields; recognizers that find different tables; a
            kernel image in which no table is found (unless --allow-no-table).
            Warnings: symbol-based entries (ABS64/GLOB_DAT) the boot code skips, NONE
            padding, places that are not 8-byte aligned, tables found by the
            structural scan (not proven).

            One line per finding on stdout, then a summary line.

            Examples:
              slide verify vmlinuz
              slide verify --max-findings 0 --json vmlinuz
            """)

    @OptionGroup var input: InputOptions
    @Flag(help: "Print JSON (schema slide/v1); with several files, one document per line (JSON Lines).") var json = false
    @Flag(name: .customLong("warnings-as-errors"), help: "Exit 1 on warnings too.") var warningsAsErrors = false
    @Flag(name: .customLong("allow-no-table"), help: "A kernel image with no relocation table found is a warning, not an error.")
    var allowNoTable = false
    @Option(name: .customLong("max-findings"), help: "Print at most N findings per check (0 = all).")
    var maxFindings = 50
    @Argument(help: ArgumentHelp("Kernel files: each \(FileKind.formats).")) var files: [String]

    func run() throws {
        try input.eachKernel(files) { (_, k) throws(SlideKitError) in
            let report = try Verifier.verify(k, allowNoTable: allowNoTable)
            emit(json ? VerifyText.json(report, k, warningsAsErrors: warningsAsErrors).rendered(pretty: files.count == 1) + "\n" : VerifyText.text(report, k, maxPerCheck: maxFindings))
            return report.errors == 0 && !(warningsAsErrors && report.warnings > 0)
        }
    }
}
