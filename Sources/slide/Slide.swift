// The `slide` command line: one type per subcommand (swift-argument-parser).

import ArgumentParser
import Foundation
import SlideCore
import SlideKit

@main
struct Slide: ParsableCommand {
    /// The release; the JSON documents carry `jsonSchemaVersion` separately.
    static let version = "0.10.0"

    static let configuration = CommandConfiguration(
        commandName: "slide",
        abstract: "Inspect, verify and relocate relocatable arm64 kernel images.",
        discussion: """
            Inputs may be raw arm64 Images (Image, vmlinuz) of Linux 4.6 to 7.x or Slide, gzip-,
            xz- or zstd-compressed Images, EFI zboot images with a gzip, xzkern or zstd22 payload,
            or AArch64 ELF files (vmlinux, PIE kernels, .ko modules for link-module).
            Diagnostics go to stderr as `slide: error: 'FILE': message`. Exit status: 0 success,
            1 verification failures or unreadable input, 64 usage errors.
            """,
        version: "slide \(version) (JSON schema \(jsonSchemaVersion))",
        subcommands: [Inspect.self, Relocs.self, Verify.self, Relocate.self, RelrCommand.self, MkImage.self, Boot.self, RelaCheckCommand.self, LinkModule.self, PageTablesCommand.self, KASLRCommand.self, Symbols.self])
}

extension Slide {
    /// Usage errors (a bad value, a missing option) are one `slide: error:` line and exit 64, like
    /// every other error; help and --version print as the parser does.
    static func main() {
        do {
            var command = try parseAsRoot()
            try command.run()
        } catch let code as ExitCode {
            exit(withError: code)
        } catch {
            guard exitCode(for: error) == .validationFailure else { exit(withError: error) }
            let message = Self.message(for: error).split(separator: "\n").first.map(String.init) ?? "invalid arguments"
            let words = CommandLine.arguments.dropFirst().prefix { !$0.hasPrefix("-") }.prefix(1)
            FileHandle.standardError.write(Data("slide: error: \(message) (see 'slide \(words.first.map { $0 + " " } ?? "")--help')\n".utf8))
            exit(withError: ExitCode.validationFailure)
        }
    }
}

/// Options every command that reads a kernel shares.
struct InputOptions: ParsableArguments {
    @Option(name: .customLong("table-method"),
            help: "How to find a raw Image's tables: auto (every recognizer), code (the ones that read code or the seal), or one of slide-seal, head-s-literal-pool, head-s-adrp-add, pi-relocate-c, structural-scan.")
    var tableMethod: KernelImage.Discovery = .auto

    @Option(name: .customLong("link-base"), parsing: .unconditional, help: "Link address of the image's first byte (overrides discovery), e.g. 0xffff800008000000.",
            transform: { try parseNumber($0) })
    var linkBase: UInt64?

    @OptionGroup var limits: LimitOptions

    func load(_ path: String) throws(SlideKitError) -> KernelImage {
        try limits.apply()
        return try KernelImage.load(path: path, discovery: tableMethod, linkBase: linkBase)
    }

    /// Runs `body` on each file's kernel, with kallsyms as a witness of its tables; `body` returns
    /// whether the file passed. An unreadable file is one error line and the rest still run; the
    /// exit status is 1 when any file failed.
    func eachKernel(_ files: [String], _ body: (String, KernelImage) throws(SlideKitError) -> Bool) throws {
        var failed = false
        for file in files {
            do throws(SlideKitError) {
                var k = try load(file)
                k.addKallsymsWitness()
                if try !body(file, k) { failed = true }
            } catch {
                printError(error)
                failed = true
            }
        }
        if failed { throw ExitCode(1) }
    }
}

/// The bound on what a compressed input may decode to (a decompression bomb stops there).
struct LimitOptions: ParsableArguments {
    @Option(name: .customLong("max-size"), help: "Largest decompressed input, e.g. 512M (default 256M: no kernel Image or module is larger).")
    var maxSize: String?

    func apply() throws(SlideKitError) {
        guard let maxSize else { return }
        guard let size = Numbers.size(maxSize), size > 0 else { throw SlideKitError("--max-size", "'\(maxSize)' is not a size (for example 512M)") }
        guard size <= UInt64(Int.max) else { throw SlideKitError("--max-size", "'\(maxSize)' is too large") }
        Containers.maxOutput = Int(size)
    }
}

extension KernelImage.Discovery: ExpressibleByArgument {}

/// An option's number (SlideKit's `Numbers.parse`): a usage error when it is not one.
func parseNumber(_ s: String) throws -> UInt64 {
    guard let v = Numbers.parse(s) else { throw ValidationError("'\(s)' is not a number (use 0x-prefixed hex or decimal)") }
    return v
}

/// Runs `body`, turning a SlideKitError into `slide: error: ...` and exit status 1.
func reportingErrors(_ body: () throws(SlideKitError) -> Void) throws {
    do {
        try body()
    } catch {
        printError(error)
        throw ExitCode(1)
    }
}

/// `slide: error: 'FILE': message` on stderr.
func printError(_ error: SlideKitError) {
    FileHandle.standardError.write(Data("slide: error: \(error.description)\n".utf8))
}

func emit(_ s: String) {
    FileHandle.standardOutput.write(Data(s.utf8))
}

/// Says on stderr that a result rests on the user's overrides, not on what the Image shows.
func noteGiven(_ k: KernelImage) {
    if k.linkBaseStanding == .given {
        FileHandle.standardError.write(Data("slide: note: '\(k.path)': link base \(hex(k.linkBase)) is given (--link-base), not established from the Image\n".utf8))
    }
    if k.tableStanding == .given {
        FileHandle.standardError.write(Data("slide: note: '\(k.path)': the relocation tables are given (--table-method), not proven\n".utf8))
    }
}

func warn(_ s: String) {
    FileHandle.standardError.write(Data("slide: warning: \(s)\n".utf8))
}
