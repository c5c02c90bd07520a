import ArgumentParser
import Foundation
import SlideCore
import SlideKit

struct Relocate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Apply the relocation tables as the kernel does when it runs at link base + OFFSET.",
        usage: "slide relocate (--slide <n> | --base <addr>) -o <out> [<options>] <file>",
        discussion: """
            RELA R_AARCH64_RELATIVE places are overwritten with addend + OFFSET, then
            RELR places have OFFSET added (an Image may carry both, as Linux 6.9+
            does); NONE and symbol-based entries are skipped, as the boot code does.
            The output is the input with only the relocated places changed (a
            compressed input is written unpacked), written atomically. A displacement
            must be a multiple of the Image's page size (the kernel maps itself in
            pages; Linux adds the load address's offset within 2 MiB to a 2 MiB-aligned
            KASLR slide) and keep the kernel in the top 2^52 bytes of the address space
            without wrapping, unless --force. The tables and the link base must be
            established: a structural-scan guess is refused unless named with
            --table-method, and an Image relocated already is refused.

            Examples:
              slide relocate vmlinuz --slide 0x1000000 -o vmlinuz.slid
              slide relocate vmlinuz --slide -0x200000 -o vmlinuz.down
              slide relocate vmlinuz --base 0xffff800010000000 --format elf -o at.elf
            """)

    @OptionGroup var input: InputOptions
    @Option(parsing: .unconditional, help: "Displacement from the link base (0x hex or decimal; may be negative: --slide -0x200000).",
            transform: { try parseNumber($0) })
    var slide: UInt64?
    @Option(parsing: .unconditional, help: "Run-time virtual address of the image's first byte.", transform: { try parseNumber($0) })
    var base: UInt64?
    @Flag(help: "Relocate for an address no kernel could run at (off its page size, or outside the kernel's half).") var force = false
    @Option(name: .shortAndLong, help: "Output file.") var output: String?
    @Flag(name: .customLong("in-place"), help: "Allow the output to replace the input file.") var inPlace = false
    @Option(help: "Output format: raw (the image bytes) or elf (for disassemblers: one PT_LOAD at the run-time address, sections split at the kernel's boundary symbols, a .symtab from kallsyms or the Slide symbol map).")
    var format: OutputFormat = .raw
    @Flag(name: .customLong("strip-signature"), help: "Remove the appended Authenticode signature (relocation invalidates it) and its PE directory entry.")
    var stripSignature = false
    @Flag(help: "Print the summary as JSON (schema slide/v1).") var json = false
    @Argument(help: ArgumentHelp("Kernel file: \(FileKind.formats).")) var file: String

    enum OutputFormat: String, ExpressibleByArgument { case raw, elf }

    func validate() throws {
        guard (slide == nil) != (base == nil) else { throw ValidationError("give exactly one of --slide and --base") }
        guard output != nil || inPlace else { throw ValidationError("give -o OUT, or --in-place to rewrite the input") }
    }

    func run() throws {
        try reportingErrors { () throws(SlideKitError) in
            let out = output ?? file
            if inPlace && Files.isStandardInput(file) { throw SlideKitError(file, "standard input cannot be replaced in place; give -o") }
            if !inPlace && !Files.isStandardInput(out) && (out == file || Files.isSameFile(out, file)) {
                throw SlideKitError(out, "refusing to overwrite the input; use --in-place")
            }
            let k = try input.load(file)
            // --in-place replaces the input with a file of the same kind: not an ELF for an Image,
            // not a raw Image for a compressed one.
            if inPlace && (format == .elf || !k.containers.isEmpty) {
                throw SlideKitError(file, "--in-place would replace \(k.containers.isEmpty ? (k.format == .elf ? "an ELF" : "an Image") : "a " + k.containers.joined(separator: "+") + " file") with \(format == .elf ? "an ELF" : "a raw Image"); write it elsewhere with -o")
            }
            if let base, base < KernelImage.lowestKernelAddress, k.linkBase >= KernelImage.lowestKernelAddress, !force {
                throw SlideKitError(file, "--base \(hex(base)) is not a kernel address (a kernel runs at or above \(hex(KernelImage.lowestKernelAddress)), the bottom of a 52-bit TTBR1 space; --force relocates anyway)")
            }
            let displacement = slide ?? (base! &- k.linkBase)
            if let why = Relocator.impossibility(k, displacement: displacement), !force {
                throw SlideKitError(file, why + " (--force relocates anyway)")
            }
            let r = try Relocator.relocate(k, displacement: displacement)
            noteGiven(k)
            var bytes = r.bytes
            var signature = "none"
            if format == .raw, let cert = k.pe?.certificate {
                if stripSignature, let stripped = k.strippingSignature(bytes) {
                    bytes = stripped
                    signature = "stripped"
                } else {
                    signature = "stale"
                    warn("'\(file)': the appended Authenticode signature (\(cert.size) bytes at \(hex(cert.offset))) no longer matches "
                         + "the relocated image; --strip-signature removes it")
                }
            }
            var symbolCount = 0
            if format == .elf {
                let symbols = KernelSymbols.forELF(k, warn: { warn("'\(file)': \($0)") })
                symbolCount = symbols.count
                bytes = try ImageELF.build(k, relocated: r, symbols: symbols)
            }
            reportToStandardError = Files.isStandardInput(out)
            try Files.writeAtomically(bytes, to: out)
            if json {
                emit(r.document(file: file, output: out, format: format.rawValue, linkBase: k.linkBase, linkBaseStanding: k.linkBaseStanding, signature: signature,
                                elfSymbols: format == .elf ? symbolCount : nil).rendered() + "\n")
            } else {
                emit("relocated \(file) for \(hex(r.runtimeBase)) (link base \(hex(k.linkBase)) \(Int64(bitPattern: displacement) < 0 ? "-" : "+") \(hex(Int64(bitPattern: displacement).magnitude))): "
                     + "\(r.rela.relative) RELA RELATIVE, \(r.relrPlaces) RELR places; skipped \(r.rela.unresolved) symbol-based, "
                     + "\(r.rela.none) NONE\(r.rela.unsupported > 0 ? ", \(r.rela.unsupported) unsupported" : "")\n"
                     + (signature == "stripped" ? "stripped the appended Authenticode signature\n" : "")
                     + (format == .elf ? "ELF: sections from the kernel's boundary symbols, \(symbolCount) symbols at run-time addresses\n" : "")
                     + "wrote \(out)\n")
            }
            if r.rela.unsupported > 0 {
                warn("'\(file)': \(r.rela.unsupported) entries of types the boot code cannot process were left unapplied")
            }
        }
    }
}
