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
            Inputs: raw arm64 Images (Image, vmlinuz) of Linux 4.6 to 7.x or of Slide;
            the same compressed with gzip, xz or zstd; EFI zboot images (a PE file
            that decompresses its payload itself: gzip, xzkern = xz with the kernel's
            BCJ filter, or zstd22 = zstd at level 22); AArch64 ELF files (vmlinux, PIE
            kernels, .ko modules for link-module); `-` reads standard input.

            Diagnostics go to stderr as `slide: error: 'FILE': message`. Exit status:
            0 success, 1 verification failures or unreadable input, 64 usage errors.
            A result that rests on a fact Slide could not establish (a link base, a
            table, a model) is refused, naming the fact and the option that gives it.
            """,
        version: "slide \(version) (JSON schema \(jsonSchemaVersion))",
        subcommands: [Inspect.self, Relocs.self, Verify.self, Relocate.self, RelrCommand.self, MkImage.self, Boot.self, RelaCheckCommand.self, LinkModule.self, PageTablesCommand.self, KASLRCommand.self, Symbols.self])
}

extension Slide {
    /// Usage errors (a bad value, a missing option) are one `slide: error:` line and exit 64, like
    /// every other error; help and --version print as the parser does.
    static func main() {
        // An unknown subcommand (or `slide help X` for one) is named, with the nearest real one.
        let words = Array(CommandLine.arguments.dropFirst())
        let names = configuration.subcommands.map { $0._commandName }
        let asked = words.first == "help" ? words.dropFirst().first : words.first
        if let asked, !asked.hasPrefix("-"), !names.contains(asked), !(asked == "help" && words.first == "help" && words.count == 1) {
            let nearest = names.min { editDistance($0, asked) < editDistance($1, asked) }!
            let hint = editDistance(nearest, asked) <= max(2, asked.count / 3) ? "; did you mean '\(nearest)'?" : ""
            FileHandle.standardError.write(Data("slide: error: unknown subcommand '\(asked)'\(hint) (see 'slide --help')\n".utf8))
            exit(withError: ExitCode.validationFailure)
        }
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

/// Levenshtein distance, for suggesting a subcommand.
func editDistance(_ a: String, _ b: String) -> Int {
    let a = Array(a), b = Array(b)
    var row = Array(0...b.count)
    for i in 1...max(a.count, 1) where !a.isEmpty {
        var previous = row[0]
        row[0] = i
        for j in stride(from: 1, through: b.count, by: 1) {
            let current = row[j]
            row[j] = min(row[j] + 1, row[j - 1] + 1, previous + (a[i - 1] == b[j - 1] ? 0 : 1))
            previous = current
        }
    }
    return a.isEmpty ? b.count : row[b.count]
}

/// Options every command that reads a kernel shares.
struct InputOptions: ParsableArguments {
    @Option(name: .customLong("table-method"),
            help: ArgumentHelp(KernelImage.Discovery.help))
    var tableMethod: KernelImage.Discovery = .auto

    @Option(name: .customLong("link-base"), parsing: .unconditional, help: "Link address of the image's first byte (overrides discovery), e.g. 0xffff800008000000.",
            transform: { try parseNumber($0) })
    var linkBase: UInt64?

    @OptionGroup var limits: LimitOptions

    func load(_ path: String, kallsymsWitness: Bool = false) throws(SlideKitError) -> KernelImage {
        try limits.apply()
        return try KernelImage.load(path: path, discovery: tableMethod, linkBase: linkBase, kallsymsWitness: kallsymsWitness)
    }

    /// Runs `body` on each file's kernel, with kallsyms as a witness of its tables; `body` returns
    /// whether the file passed. An unreadable file is one error line and the rest still run; the
    /// exit status is 1 when any file failed.
    func eachKernel(_ files: [String], _ body: (String, KernelImage) throws(SlideKitError) -> Bool) throws {
        var failed = false
        for file in files {
            do throws(SlideKitError) {
                let k = try load(file, kallsymsWitness: true)
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
    @Option(name: .customLong("max-size"), help: "Largest input, raw or decompressed, e.g. 512M (default 256M: no kernel Image or module is larger).",
            transform: { try parseSize($0) })
    var maxSize: UInt64?

    func validate() throws {
        if let maxSize, maxSize == 0 || maxSize > UInt64(Int.max) { throw ValidationError("--max-size must be above 0 and below 2^63") }
    }

    func apply() throws(SlideKitError) {
        guard let maxSize else { return }
        Containers.maxOutput = Int(maxSize)
    }
}

/// `--table-method`: auto, code or a recognizer's name, checked against `TableRecognizers.all`.
extension KernelImage.Discovery: ExpressibleByArgument {
    public init?(argument: String) { self.init(rawValue: argument) }
    public static var allValueStrings: [String] { names }
    public var defaultValueDescription: String { rawValue }
}

/// An option's number (SlideKit's `Numbers.parse`): a usage error when it is not one.
func parseNumber(_ s: String) throws -> UInt64 {
    do throws(Numbers.Problem) { return try Numbers.value(s) } catch { throw ValidationError(error.description) }
}

/// A physical range from the command line.
struct PhysicalRange {
    var base: UInt64
    var size: UInt64
    var pair: (base: UInt64, size: UInt64) { (base, size) }
}

/// `--memory`: BASE:SIZE or SIZE (Numbers.memory), a usage error otherwise.
func parseMemory(_ s: String) throws -> PhysicalRange {
    do throws(Numbers.Problem) { let r = try Numbers.memory(s); return PhysicalRange(base: r.base, size: r.size) } catch {
        throw ValidationError(error.description)
    }
}

/// `--reserve` and other ranges: BASE:SIZE.
func parseRange(_ s: String) throws -> PhysicalRange {
    do throws(Numbers.Problem) { let r = try Numbers.rangeValue(s); return PhysicalRange(base: r.base, size: r.size) } catch {
        throw ValidationError(error.description)
    }
}

/// One help line for `--memory`, the same in every command.
let memoryHelp = "RAM as BASE:SIZE or SIZE at 0x40000000 (SIZE in bytes, or with K, M, G, T; a SIZE alone without suffix is MiB, as QEMU's -m)"

/// A size option (--max-size): a usage error when it is not one.
func parseSize(_ s: String) throws -> UInt64 {
    do throws(Numbers.Problem) { return try Numbers.sizeValue(s) } catch { throw ValidationError(error.description) }
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

/// Set when a command writes its output file to standard output (`-o -`): its report then goes
/// to stderr, so the file's bytes stay whole.
nonisolated(unsafe) var reportToStandardError = false

func emit(_ s: String) {
    (reportToStandardError ? FileHandle.standardError : FileHandle.standardOutput).write(Data(s.utf8))
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
