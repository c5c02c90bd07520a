import ArgumentParser
import SlideKit

struct Relocs: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List every relocation, in llvm-readelf's layout.",
        usage: "slide relocs [<options>] <file>",
        discussion: """
            ELF files: every SHT_RELA and SHT_RELR section, in section order (RELR decoded to the
            places it relocates, as `llvm-readelf -r` does). Raw Images: the tables `slide inspect`
            finds, named .rela.dyn and .relr.dyn.

            Examples:
              slide relocs vmlinux
              slide relocs --raw-relr kernel.elf
              slide relocs --json vmlinuz > relocs.json
            """)

    @OptionGroup var input: InputOptions
    @Flag(name: .customLong("raw-relr"), help: "Show RELR tables as their encoded words instead of decoded places.")
    var rawRelr = false
    @Flag(help: "Print JSON (schema slide/v1).") var json = false
    @Argument(help: ArgumentHelp("Kernel or ELF file: \(FileKind.formats).")) var file: String

    func run() throws {
        try reportingErrors { () throws(SlideKitError) in
            let k = try input.load(file)
            let sections = try RelocListing.sections(of: k)
            emit(json ? RelocListing.json(sections, kernel: k, rawRelr: rawRelr).rendered() + "\n"
                      : RelocListing.text(sections, rawRelr: rawRelr))
        }
    }
}
