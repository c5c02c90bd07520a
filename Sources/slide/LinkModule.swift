import ArgumentParser
import Foundation
import SlideCore
import SlideKit

struct LinkModule: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "link-module",
        abstract: "Link kernel modules (.ko, ET_REL) at a chosen address, with PLT veneers for far branches.",
        discussion: """
            Lays out the allocated sections into a core and an init region, resolves
            symbols (--kernel: the exported symbol table of a kernel ELF, as the Slide
            kernel resolves modules at boot, plus --kernel-offset for a randomized
            kernel; --symbols System.map; or --undefined-at: every undefined symbol
            gets a synthetic address, 16 bytes apart in name order), applies every
            relocation section with the arm64 module loader's rules, and routes
            CALL26/JUMP26 branches out of ±128 MiB through 12-byte PLT entries
            (counted before they are reserved, emitted on overflow). The parts (text,
            read-only, writable) start on pages of the kernel's granule, as its loader
            maps them: --page-size, else the --kernel Image header's, else 4096. Modules
            compressed as .ko.gz, .ko.xz or .ko.zst are decompressed first. Link
            errors go to stderr, one `slide: error: 'MODULE': ...` line each (at most
            --max-errors); a module that fails to link writes no output. With --all,
            the summary groups failures by reason and names every module. Debian's
            boot/System.map-* is a placeholder (the real one is in the -dbg package)
            and is refused: use --kernel with the -dbg vmlinux instead, or
            --undefined-at ADDRESS, which needs no kernel.

            Examples:
              slide link-module m.ko --at 0xffff800040000000 --kernel vmlinux -o m.core
              slide link-module m.ko --at 0xffff9fffddc7f000 --kernel vmlinux --json
              slide link-module --all mods --at 0xffff7fffc0000000 --kernel vmlinux
            """)

    @Option(parsing: .unconditional, help: "Address of the core region.", transform: { try parseNumber($0) }) var at: UInt64
    @Option(name: .customLong("init-at"), parsing: .unconditional, help: "Address of the init region (default: after the core).", transform: { try parseNumber($0) })
    var initAt: UInt64?
    @Option(help: "System.map-style file (address type name) for undefined symbols.") var symbols: String?
    @Option(name: .customLong("undefined-at"), parsing: .unconditional, help: "Give undefined symbols synthetic addresses from here up.", transform: { try parseNumber($0) })
    var undefinedAt: UInt64?
    @Option(help: "Resolve undefined symbols from this kernel's exports (__ksymtab*): a vmlinux, or a raw Image whose kallsyms names them (Linux 6.12+ as Debian builds it); checks vermagic and modversions CRCs as the loader does.")
    var kernel: String?
    @Option(name: .customLong("page-size"), help: "The kernel's page size in bytes (4096, 16384, 65536): parts and regions start on its pages (default: the --kernel Image header's, else 4096).")
    var pageSize: UInt64?
    @Flag(help: "With --kernel: link a module whose vermagic or CRCs do not match the kernel's (the loader would refuse it).") var force = false
    @Option(name: .customLong("kernel-offset"), parsing: .unconditional, help: "With --kernel: the kernel's KASLR offset (its boot report's offset=).", transform: { try parseNumber($0) })
    var kernelOffset: UInt64 = 0
    @Option(name: .shortAndLong, help: "Write the linked core region here (and the init region to OUT.init).") var output: String?
    @Flag(name: .customLong("fix-cortex-a53-843419"), help: "Keep ADRP off page offsets 0xff8/0xffc (ADR or a PLT veneer), as the loader does on affected CPUs.")
    var fixErratum = false
    @Flag(help: "Link every module (.ko, .ko.gz, .ko.xz, .ko.zst) under the given directory and print a summary.") var all = false
    @Flag(help: "Print JSON (schema slide/v1).") var json = false
    @OptionGroup var limits: LimitOptions
    @Option(name: .customLong("max-errors"), help: "Print at most N link errors on stderr (0 = all).") var maxErrors = 20
    @Argument(help: "A module (.ko, .ko.gz, .ko.xz or .ko.zst), or a directory with --all.") var input: String

    func validate() throws {
        if [symbols != nil, undefinedAt != nil, kernel != nil].filter({ $0 }).count != 1 {
            throw ValidationError("give exactly one of --kernel, --symbols and --undefined-at")
        }
        if kernelOffset != 0 && kernel == nil { throw ValidationError("--kernel-offset goes with --kernel") }
        if force && kernel == nil { throw ValidationError("--force goes with --kernel (it skips the vermagic and CRC checks)") }
        if all && output != nil { throw ValidationError("-o writes one module; not with --all") }
        if output == "-" { throw ValidationError("-o writes two files (the core and OUT.init): give a path, not -") }
        if let pageSize, Granule(pageSize: pageSize) == nil { throw ValidationError("--page-size \(pageSize): give 4096, 16384 or 65536") }
    }

    /// The kernel's granule: --page-size, which must agree with the --kernel Image header's page
    /// size when it names one; else that header's; else 4 KiB.
    func granule() throws(SlideKitError) -> Granule {
        let header = try loadedKernel()?.image.header?.flags.pageSize.bytes
        if let pageSize, let header, pageSize != header {
            throw SlideKitError(kernel!, "its Image header says \(header)-byte pages, not --page-size \(pageSize)")
        }
        return Granule(pageSize: pageSize ?? header ?? 4096) ?? .k4
    }

    func options() throws(SlideKitError) -> ModuleLinkOptions {
        var o = ModuleLinkOptions()
        o.base = at
        o.initBase = initAt
        o.undefinedAt = undefinedAt
        o.fixCortexA53843419 = fixErratum
        o.granule = try granule()
        if let kernel {
            let exports = try loadedKernel()!.exports
            if exports.isEmpty { throw SlideKitError(kernel, "no __ksymtab section: the kernel exports nothing") }
            for e in exports { o.symbols[e.name] = e.address &+ kernelOffset }
        }
        if let symbols { o.symbols = try SystemMap.read(symbols) }
        return o
    }

    /// The --kernel image and its exports, read once.
    func loadedKernel() throws(SlideKitError) -> (image: KernelImage, exports: [KernelExport])? {
        guard let kernel else { return nil }
        if let cached = Self.kernelCache { return cached }
        let k = try KernelImage.load(path: kernel)
        let loaded = (k, try KernelExports.read(k))
        Self.kernelCache = loaded
        return loaded
    }
    nonisolated(unsafe) static var kernelCache: (image: KernelImage, exports: [KernelExport])? = nil

    /// The loader's refusals for this module (vermagic, CRCs), as failure lines; none with --force.
    func compatibility(_ bytes: [UInt8], path: String) throws(SlideKitError) -> (problems: [String], note: String?) {
        guard let (k, exports) = try loadedKernel() else { return ([], nil) }
        let c = try ModuleCompatibility.check(module: bytes, path: path, kernel: k, exports: exports)
        let checked = "vermagic and \(c.crcsChecked) CRCs against \(k.path)" + (c.unchecked.isEmpty ? "" : "; not checked: " + c.unchecked.joined(separator: "; "))
        if force {
            return ([], c.problems.isEmpty ? checked : "--force: linked although " + c.problems.joined(separator: "; "))
        }
        return (c.problems.map { $0 + " (the loader refuses it; --force links anyway)" }, checked)
    }

    func run() throws {
        try reportingErrors { () throws(SlideKitError) in
            try limits.apply()
            let o = try options()
            if all { try linkAll(o); return }
            if FileManager.default.fileExists(atPath: input, isDirectory: nil), (try? FileManager.default.contentsOfDirectory(atPath: input)) != nil {
                throw SlideKitError(input, "is a directory: link every module under it with --all")
            }
            let bytes = try ModuleFiles.read(input)
            let (problems, note) = try compatibility(bytes, path: input)
            if !problems.isEmpty {
                var errors = ErrorBudget(limit: maxErrors)
                errors.report(problems, path: input)
                throw SlideKitError(input, "built for another kernel\(output == nil ? "" : "; nothing written")")
            }
            if let note { FileHandle.standardError.write(Data("slide: note: '\(input)': checked \(note)\n".utf8)) }
            let m = try ModuleLinker.link(bytes, name: ModuleFiles.name(input), path: input, o)
            // A failed link writes nothing: a partly relocated module must never be loaded.
            var written: [(String, Int)] = []
            if let output, m.failures.isEmpty {
                try Files.writeAtomically(m.core, to: output)
                written.append((output, m.core.count))
                if !m.initRegion.isEmpty {
                    try Files.writeAtomically(m.initRegion, to: output + ".init")
                    written.append((output + ".init", m.initRegion.count))
                }
            }
            emit(json ? ModuleReport.json(m, written: written).rendered() + "\n"
                 : ModuleReport.text(m) + written.map { "wrote \($0.0): \($0.1) bytes\n" }.joined())
            var errors = ErrorBudget(limit: maxErrors)
            errors.report(m.failures, path: input)
            errors.finish()
            if !m.failures.isEmpty { throw SlideKitError(input, "\(m.failures.count) relocation(s) failed\(output == nil ? "" : "; nothing written")") }
        }
    }

    func linkAll(_ o: ModuleLinkOptions) throws(SlideKitError) {
        let (root, paths) = try ModuleFiles.discover(input)
        var summary = ModuleSummary()
        var errors = ErrorBudget(limit: maxErrors)
        let terminal = isatty(2) != 0
        for (i, p) in paths.enumerated() {
            let full = root + "/" + p
            do {
                let bytes = try ModuleFiles.read(full)
                let (problems, _) = try compatibility(bytes, path: full)
                var m = try ModuleLinker.link(bytes, name: ModuleFiles.name(full), path: full, o)
                m.failures = problems + m.failures
                summary.add(m, path: p)
                if terminal && !m.failures.isEmpty { FileHandle.standardError.write(Data("\r".utf8)) }
                errors.report(m.failures, path: full)
            } catch {
                summary.addError(error.message, path: p)
                errors.report([error.message], path: full)
            }
            if terminal && (i % 25 == 0 || i == paths.count - 1) {
                let width = 40, done = (i + 1) * width / paths.count
                FileHandle.standardError.write(Data("\r[\(String(repeating: "#", count: done))\(String(repeating: " ", count: width - done))] \(i + 1)/\(paths.count)".utf8))
            }
        }
        if terminal { FileHandle.standardError.write(Data("\n".utf8)) }
        errors.finish()
        emit(json ? summary.json().rendered() + "\n" : summary.text())
        if summary.failedModules > 0 { throw SlideKitError(input, "\(summary.failedModules) module(s) failed to link") }
    }
}

/// Link errors on stderr, one `slide: error: 'MODULE': …` line each, at most `limit` (0 = all).
struct ErrorBudget {
    var limit: Int
    var printed = 0, withheld = 0

    mutating func report(_ lines: [String], path: String) {
        for var l in lines {
            // The path names the module: drop the report's own "module NAME: " prefix.
            if l.hasPrefix("module "), let colon = l.range(of: ": ") { l = String(l[colon.upperBound...]) }
            if limit == 0 || printed < limit {
                FileHandle.standardError.write(Data("slide: error: '\(path)': \(l)\n".utf8))
                printed += 1
            } else {
                withheld += 1
            }
        }
    }

    func finish() {
        if withheld > 0 { warn("\(withheld) more link errors not shown (--max-errors 0 shows all)") }
    }
}
