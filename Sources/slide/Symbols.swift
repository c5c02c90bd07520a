import ArgumentParser
import SlideCore
import SlideKit

struct Symbols: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List the kernel's own symbol table (kallsyms), as nm does.",
        usage: "slide symbols [--slide <offset> | --base <address>] [<options>] <file>",
        discussion: """
            A kernel built with CONFIG_KALLSYMS carries its symbols in .rodata, so that
            backtraces and /proc/kallsyms can name functions: every text symbol, and
            with CONFIG_KALLSYMS_ALL every data symbol too. The names are compressed
            with a 256-token table; the addresses are kept as
              relative-base   a u32 per symbol from kallsyms_relative_base (Linux 4.6-6.x)
              place-relative  an s32 per symbol from its own address (Linux 7.0+)
              absolute        a u64 per symbol (KALLSYMS_BASE_RELATIVE off, up to 6.10)
            Slide finds the tables by their shape in the flat image (no symbols or
            section headers needed; Linux 5.10 to 7.x), reads relocated words at their
            link-time value (the RELA addend in a 5.10 or 6.1 Image), and checks that
            every address lies in the image and in order. 7.x stores no base at all:
            its addresses follow from the link base, which `slide inspect` derives
            from the relocation tables (or give --link-base).

            Each line is `ADDRESS TYPE NAME`: 16 hex digits, nm's type letter (T/t text,
            D/d data, R/r read-only, B/b BSS, W/V weak), the name. Addresses are link-time
            ones; --slide adds a KASLR displacement, --base gives the run-time address of
            the image's first byte (_text), as /proc/kallsyms shows it to root. kallsyms
            holds no undefined or absolute symbols, so there is nothing to filter out.

            Examples:
              slide symbols /boot/vmlinuz-6.12.118+deb13-arm64 | grep ' T schedule$'
              slide symbols --base 0xffffbd5f8d000000 vmlinuz > kallsyms.txt
              slide symbols --json vmlinuz | jq '.symbols[] | select(.name == "_stext")'
            """)

    @OptionGroup var input: InputOptions
    @Option(parsing: .unconditional, help: "Displacement to add to every address (0x hex or decimal; may be negative).",
            transform: { try parseNumber($0) })
    var slide: UInt64?
    @Option(parsing: .unconditional, help: "Run-time virtual address of the image's first byte (_text).", transform: { try parseNumber($0) })
    var base: UInt64?
    @Flag(help: "Print JSON (schema slide/v1).") var json = false
    @Argument(help: ArgumentHelp("Kernel file: \(FileKind.formats).")) var file: String

    func validate() throws {
        if slide != nil && base != nil { throw ValidationError("give at most one of --slide and --base") }
    }

    func run() throws {
        try reportingErrors { () throws(SlideKitError) in
            let k = try input.load(file)
            let table = try KallsymsTable.read(k)
            noteGiven(k)
            let displacement = slide ?? base.map { $0 &- k.linkBase } ?? 0
            if let why = Relocator.impossibility(k, displacement: displacement) { throw SlideKitError(file, why) }
            emit(json ? table.json(file: file, linkBase: k.linkBase, linkBaseStanding: k.linkBaseStanding, displacement: displacement).rendered() + "\n"
                      : table.text(displacement: displacement))
        }
    }
}
