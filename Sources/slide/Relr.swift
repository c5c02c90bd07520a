import ArgumentParser
import Foundation
import SlideCore
import SlideKit

struct RelrCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "relr",
        abstract: "Convert between RELATIVE relocation places and RELR words.",
        subcommands: [Pack.self, Unpack.self])

    struct Common: ParsableArguments {
        @Option(name: .customLong("input-format"), help: "auto (by magic), kernel (an ELF or Image, any container: its tables), text (numbers: 0x hex or decimal) or binary (LE u64 words).")
        var inputFormat: RelrTool.InputFormat = .auto
        @Option(name: .customLong("output-format"), help: "text (one 0x-prefixed hex number per line) or binary (LE u64 words).")
        var outputFormat: RelrTool.OutputFormat = .text
        @Option(name: .shortAndLong, help: "Output file (default: stdout).") var output: String?
        @Flag(help: "Print a JSON document instead (schema slide/v1).") var json = false
        @Argument(help: "Input file.") var file: String

        func numbers(kernel: (KernelImage) throws(SlideKitError) -> [UInt64]) throws(SlideKitError) -> [UInt64] {
            try RelrTool.read(file, format: inputFormat, kernel: kernel)
        }

        /// To stdout, or to -o (then a line says what was written).
        func write(_ values: [UInt64], what: String, json document: JSON) throws(SlideKitError) {
            let bytes = json ? Array((document.rendered() + "\n").utf8) : RelrTool.encode(values, outputFormat)
            guard let output else { FileHandle.standardOutput.write(Data(bytes)); return }
            reportToStandardError = Files.isStandardInput(output)
            try Files.writeAtomically(bytes, to: output)
            emit("wrote \(output): \(values.count) \(what), \(bytes.count) bytes (\(json ? "json" : outputFormat.rawValue))\n")
        }
    }

    struct Pack: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Encode RELATIVE places as RELR words.",
            usage: "slide relr pack [<options>] <file>",
            discussion: """
                Places come from a kernel's RELA R_AARCH64_RELATIVE entries (and any RELR table), or
                from a list of addresses. They are sorted and de-duplicated; odd addresses cannot be
                RELR and are an error.

                Examples:
                  slide relr pack vmlinuz -o relr.txt
                  slide relr pack places.txt --output-format binary -o relr.bin
                """)
        @OptionGroup var common: Common

        func run() throws {
            try reportingErrors { () throws(SlideKitError) in
                let places = try common.numbers(kernel: RelrTool.relativePlaces)
                let words: [UInt64]
                do throws(SlideError) { words = try RelrTool.pack(places) } catch { throw SlideKitError(common.file, error) }
                try common.write(words, what: "RELR words", json: RelrTool.packDocument(file: common.file, places: places, words: words))
            }
        }
    }

    struct Unpack: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Decode RELR words into the places they relocate.",
            usage: "slide relr unpack [<options>] <file>",
            discussion: """
                Words come from a kernel's RELR table or from a list/binary file of words.

                Examples:
                  slide relr unpack kernel.elf
                  slide relr unpack relr.bin --input-format binary
                """)
        @OptionGroup var common: Common

        func run() throws {
            try reportingErrors { () throws(SlideKitError) in
                let words = try common.numbers(kernel: RelrTool.words)
                let places: [UInt64]
                do throws(SlideError) { places = try RelrTool.unpack(words) } catch { throw SlideKitError(common.file, error) }
                try common.write(places, what: "places", json: RelrTool.unpackDocument(file: common.file, words: words, places: places))
            }
        }
    }
}

extension RelrTool.InputFormat: ExpressibleByArgument {}
extension RelrTool.OutputFormat: ExpressibleByArgument {}
