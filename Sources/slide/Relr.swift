import ArgumentParser
import Foundation
import SlideCore
import SlideKit

struct RelrCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "relr",
        abstract: "Convert between RELATIVE relocation places and RELR words.",
        subcommands: [Pack.self, Unpack.self])

    /// Input formats: a kernel/ELF file (its tables), text (hex numbers, one or more per line,
    /// `0x` optional, `#` comments), or binary (little-endian 64-bit words).
    enum InputFormat: String, ExpressibleByArgument { case auto, kernel, text, binary }
    enum OutputFormat: String, ExpressibleByArgument { case text, binary }

    struct Common: ParsableArguments {
        @Option(name: .customLong("input-format"), help: "auto, kernel (ELF or Image: its tables), text (hex numbers) or binary (LE u64 words).")
        var inputFormat: InputFormat = .auto
        @Option(name: .customLong("output-format"), help: "text (one 0x-prefixed hex number per line) or binary (LE u64 words).")
        var outputFormat: OutputFormat = .text
        @Option(name: .shortAndLong, help: "Output file (default: stdout).") var output: String?
        @Flag(help: "Print a JSON document instead (schema slide/v1).") var json = false
        @Argument(help: "Input file.") var file: String

        func numbers(kernel: (KernelImage) throws(SlideKitError) -> [UInt64]) throws(SlideKitError) -> [UInt64] {
            var format = inputFormat
            let bytes = try Files.read(file)
            if format == .auto {
                let isELF = bytes.starts(with: [0x7f, 0x45, 0x4c, 0x46])
                let isImage = bytes.count >= 64 && bytes[0x38] == 0x41 && bytes[0x39] == 0x52 && bytes[0x3a] == 0x4d && bytes[0x3b] == 0x64
                let isGzip = bytes.starts(with: [0x1f, 0x8b])
                if isELF || isImage || isGzip { format = .kernel } else if bytes.allSatisfy({ $0 < 0x80 }) { format = .text } else { format = .binary }
            }
            switch format {
            case .kernel: return try kernel(try KernelImage.load(path: file))
            case .binary:
                guard bytes.count % 8 == 0 else { throw SlideKitError(file, "binary input is \(bytes.count) bytes, not a multiple of 8") }
                return stride(from: 0, to: bytes.count, by: 8).map { i in
                    (0..<8).reduce(UInt64(0)) { $0 | UInt64(bytes[i + $1]) << (8 * UInt64($1)) }
                }
            default:
                return try RelrTool.numbers(text: bytes, path: file)
            }
        }

        func write(_ values: [UInt64], json document: JSON) throws(SlideKitError) {
            var bytes: [UInt8]
            if json {
                bytes = Array((document.rendered() + "\n").utf8)
            } else if outputFormat == .binary {
                bytes = []
                bytes.reserveCapacity(values.count * 8)
                for v in values { for i in 0..<8 { bytes.append(UInt8(truncatingIfNeeded: v >> (8 * UInt64(i)))) } }
            } else {
                bytes = Array(values.map { hex($0) + "\n" }.joined().utf8)
            }
            if let output { try Files.writeAtomically(bytes, to: output) } else { FileHandle.standardOutput.write(Data(bytes)) }
        }
    }

    struct Pack: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Encode RELATIVE places as RELR words.",
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
                try common.write(words, json: .object([
                    ("schema", .string(jsonSchemaVersion)), ("file", .string(common.file)), ("places", .int(Set(places).count)),
                    ("words", .int(words.count)), ("rela_bytes", .int(Set(places).count * 24)), ("relr_bytes", .int(words.count * 8)),
                    ("relr", .array(words.map { .hex($0) })),
                ]))
            }
        }
    }

    struct Unpack: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Decode RELR words into the places they relocate.",
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
                try common.write(places, json: .object([
                    ("schema", .string(jsonSchemaVersion)), ("file", .string(common.file)), ("words", .int(words.count)),
                    ("places", .int(places.count)), ("relocated", .array(places.map { .hex($0) })),
                ]))
            }
        }
    }
}
