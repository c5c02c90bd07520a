// Test support: running tools, building fixtures with clang/ld.lld, locating the Debian kernel.

import Foundation
import Testing
@testable import SlideKit

struct ToolResult {
    var status: Int32
    var stdout: String
    var stderr: String
    var stdoutBytes: Data
}

@discardableResult
func run(_ tool: String, _ args: [String], stdin: Data? = nil) throws -> ToolResult {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    p.arguments = [tool] + args
    // stderr goes to a file, stdout to a pipe read to the end before waiting: no deadlock on large output.
    let errURL = FileManager.default.temporaryDirectory.appendingPathComponent("slide-stderr-\(UUID().uuidString)")
    FileManager.default.createFile(atPath: errURL.path, contents: nil)
    defer { try? FileManager.default.removeItem(at: errURL) }
    let errHandle = try FileHandle(forWritingTo: errURL)
    let out = Pipe()
    p.standardOutput = out
    p.standardError = errHandle
    if let stdin {
        let inPipe = Pipe()
        p.standardInput = inPipe
        try p.run()
        inPipe.fileHandleForWriting.write(stdin)
        try inPipe.fileHandleForWriting.close()
    } else {
        p.standardInput = FileHandle.nullDevice
        try p.run()
    }
    let outData = out.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    try errHandle.close()
    let errData = (try? Data(contentsOf: errURL)) ?? Data()
    return ToolResult(status: p.terminationStatus, stdout: String(decoding: outData, as: UTF8.self),
                      stderr: String(decoding: errData, as: UTF8.self), stdoutBytes: outData)
}

/// The `slide` executable next to the test bundle (or $SLIDE_BIN).
let slideBinary: String = {
    if let bin = ProcessInfo.processInfo.environment["SLIDE_BIN"] { return bin }
    var dir = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
    while dir.path != "/" {
        let candidate = dir.appendingPathComponent("slide").path
        if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        dir.deleteLastPathComponent()
    }
    return URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../.build/debug/slide").standardized.path
}()

/// The standard output of an oracle tool that must succeed: a failed run throws with its stderr,
/// so an empty output can never pass for an empty answer.
func output(_ tool: String, _ args: [String]) throws -> String {
    let r = try run(tool, args)
    guard r.status == 0 else { throw FixtureError(message: "\(tool) \(args.joined(separator: " ")) exited \(r.status): \(r.stderr.prefix(300))") }
    return r.stdout
}

func slide(_ args: String...) throws -> ToolResult { try run(slideBinary, args) }
func slide(_ args: [String]) throws -> ToolResult { try run(slideBinary, args) }

let repoRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../..").standardized

/// A fresh temporary directory.
func temporaryDirectory(_ name: String) -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("slide-tests-\(getpid())/\(name)-\(UUID().uuidString.prefix(8))")
    try! FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}

/// ELF and Image fixtures built once per test run from assembly with the toolchain's clang and ld.lld.
struct Fixtures {
    let dir: URL
    /// PIE with RELA: RELATIVE, ABS64 against an undefined and a weak symbol, a JUMP_SLOT.
    let pieRela: String
    /// The same with -z pack-relative-relocs: RELR + the symbolic RELA entries.
    let pieRelr: String
    /// Same as pieRelr with Android RELR section and tags.
    let pieAndroidRelr: String
    /// The mini kernel (Image header + Linux-shaped relocation routine), RELA and RELR, ELF and raw Image.
    let miniRelaELF: String, miniRelrELF: String, miniRelaImage: String, miniRelrImage: String

    static let shared: Result<Fixtures, Error> = Result { try Fixtures() }

    init() throws {
        let dir = temporaryDirectory("fixtures")
        self.dir = dir
        func path(_ n: String) -> String { dir.appendingPathComponent(n).path }
        func must(_ r: ToolResult, _ what: String) throws {
            if r.status != 0 { throw FixtureError(message: "\(what) failed: \(r.stderr)") }
        }
        let prog = """
                .text
                .globl _start
            _start:
                adrp x0, table
                add x0, x0, :lo12:table
                bl ext_func
                ret
                .data
                .balign 8
            table:
                .quad _start
                .quad table + 16
                .quad ext_data
                .quad weak_thing
                .quad _start + 0x100
                .quad table
                .quad ext_data + 8
                .weak weak_thing
                .globl exported
            exported:
                .quad 0x1234
                .quad exported
                .quad table - 8
            """
        let lib = """
                .globl ext_func, ext_data
            ext_func: ret
                .data
            ext_data: .quad 1, 2
            """
        try prog.write(toFile: path("prog.s"), atomically: true, encoding: .utf8)
        try lib.write(toFile: path("lib.s"), atomically: true, encoding: .utf8)
        let clang = ["--target=aarch64-linux-gnu", "-c"]
        try must(run("clang", clang + [path("prog.s"), "-o", path("prog.o")]), "clang prog.s")
        try must(run("clang", clang + [path("lib.s"), "-o", path("lib.o")]), "clang lib.s")
        // A fixed soname: DT_NEEDED (and so every address after .dynstr) does not depend on the temporary path.
        try must(run("ld.lld", ["-shared", "-soname", "lib.so", path("lib.o"), "-o", path("lib.so")]), "ld.lld lib.so")
        pieRela = path("prog-rela.pie")
        pieRelr = path("prog-relr.pie")
        pieAndroidRelr = path("prog-android-relr.pie")
        try must(run("ld.lld", ["-pie", path("prog.o"), path("lib.so"), "-o", pieRela]), "ld.lld -pie")
        try must(run("ld.lld", ["-pie", "-z", "pack-relative-relocs", path("prog.o"), path("lib.so"), "-o", pieRelr]), "ld.lld RELR")
        try must(run("ld.lld", ["-pie", "--pack-dyn-relocs=relr", "--use-android-relr-tags", path("prog.o"), path("lib.so"), "-o", pieAndroidRelr]),
                 "ld.lld android RELR")

        let fixtures = repoRoot.appendingPathComponent("Tests/Fixtures")
        let mini = fixtures.appendingPathComponent("mini-kernel.S").path
        let script = fixtures.appendingPathComponent("mini-kernel.lds").path
        try must(run("clang", clang + [mini, "-o", path("mini.o")]), "clang mini-kernel.S")
        miniRelaELF = path("mini-rela.elf")
        miniRelrELF = path("mini-relr.elf")
        miniRelaImage = path("mini-rela.Image")
        miniRelrImage = path("mini-relr.Image")
        let common = ["-pie", "-z", "notext", "--no-dynamic-linker", "-T", script, path("mini.o")]
        try must(run("ld.lld", common + ["--no-apply-dynamic-relocs", "-o", miniRelaELF]), "ld.lld mini RELA")
        try must(run("ld.lld", common + ["-z", "pack-relative-relocs", "-o", miniRelrELF]), "ld.lld mini RELR")
        try must(run("llvm-objcopy", ["-O", "binary", miniRelaELF, miniRelaImage]), "objcopy RELA")
        try must(run("llvm-objcopy", ["-O", "binary", miniRelrELF, miniRelrImage]), "objcopy RELR")
    }
}

struct FixtureError: Error, CustomStringConvertible { var message: String; var description: String { message } }

func fixtures() throws -> Fixtures { try Fixtures.shared.get() }

/// One Debian suite's kernel and modules, as scripts/fetch-testdata left them (testdata/debian/SUITE).
struct DebianSuite: CustomTestStringConvertible, Sendable {
    var suite: String
    var directory: String
    /// `uname -r` of the kernel, from kernel.env (e.g. 6.12.118+deb13-arm64).
    var release: String
    var kernel: String { directory + "/vmlinuz" }
    var modules: String { URL(fileURLWithPath: directory + "/modules").resolvingSymlinksInPath().path }
    /// (major, minor) of the Linux version.
    var version: (Int, Int) {
        let parts = release.split(whereSeparator: { $0 == "." || $0 == "-" || $0 == "+" }).compactMap { Int($0) }
        return (parts.first ?? 0, parts.count > 1 ? parts[1] : 0)
    }
    var testDescription: String { "\(suite) (\(release))" }

    /// The corpus scripts/fetch-testdata fetches (its `corpus` list): four suites' kernels, bookworm-backports'
    /// RELA-only 6.12, another flavour, 16 KiB pages, and experimental's next version when the archive serves one.
    static let names = ["bullseye", "bookworm", "trixie", "sid", "bookworm-backports", "trixie-cloud", "trixie-16k", "experimental"]

    /// The suites present; with SLIDE_REQUIRE_TESTDATA=1 a missing one is a failure (see `missing`).
    static let present: [DebianSuite] = names.compactMap { load($0) }
    /// Missing and not excused: experimental may be absent when fetch-testdata wrote why (experimental.absent).
    static var missing: [String] {
        names.filter { n in
            !present.contains { $0.suite == n }
                && !FileManager.default.fileExists(atPath: repoRoot.appendingPathComponent("testdata/debian/\(n).absent").path)
        }
    }
    /// The kernels whose KASLR the boot tests check against real boots: each formula's suite, the
    /// RELA-only backports build and 16 KiB pages (the cloud flavour shares trixie's code and layout).
    static var booted: [DebianSuite] { present.filter { $0.suite != "trixie-cloud" } }
    /// The page size the package is built for (the flavour's name says 16k; Debian ships no 64k arm64 kernel).
    var pageSize: Int { suite.hasSuffix("-16k") ? 16384 : 4096 }

    static func load(_ suite: String) -> DebianSuite? {
        let dir = repoRoot.appendingPathComponent("testdata/debian/\(suite)").path
        guard let env = try? String(contentsOfFile: dir + "/kernel.env", encoding: .utf8),
              FileManager.default.fileExists(atPath: dir + "/vmlinuz") else { return nil }
        var release = ""
        for line in env.split(separator: "\n") where line.hasPrefix("VERSION=") { release = String(line.dropFirst(8)) }
        return DebianSuite(suite: suite, directory: dir, release: release)
    }
}

/// What the data-dependent tests need, for `.enabled(if:)`: a test whose data is missing shows as
/// skipped, not passed. With SLIDE_REQUIRE_TESTDATA=1 / SLIDE_REQUIRE_KERNEL=1 (make test) the
/// tests are enabled regardless, so missing data fails them.
enum TestData {
    static let requireTestdata = ProcessInfo.processInfo.environment["SLIDE_REQUIRE_TESTDATA"] == "1"
    static let requireKernel = ProcessInfo.processInfo.environment["SLIDE_REQUIRE_KERNEL"] == "1"
    static func exists(_ relative: String) -> Bool { FileManager.default.fileExists(atPath: repoRoot.appendingPathComponent(relative).path) }
    /// bookworm's kernel at testdata/debian/vmlinuz.
    static let debianKernel = requireTestdata || exists("testdata/debian/vmlinuz")
    /// The Slide kernel images and the module initrd (`make kernel`).
    static let slideKernel = requireKernel || exists(".build/kernel/rela/Image")
    static let moduleBuild = requireKernel || exists(".build/kernel/modules/initrd.cpio")
    static let missingDebian: Comment = "no Debian kernel in testdata/ (run scripts/fetch-testdata)"
    static let missingKernel: Comment = "no Slide kernel built (run make kernel)"
}

/// The Debian arm64 kernel fetched by scripts/fetch-testdata, or nil when absent and not required.
func debianKernel() throws -> String? {
    let path = repoRoot.appendingPathComponent("testdata/debian/vmlinuz").path
    if FileManager.default.fileExists(atPath: path) { return path }
    if ProcessInfo.processInfo.environment["SLIDE_REQUIRE_TESTDATA"] == "1" {
        throw FixtureError(message: "testdata/debian/vmlinuz missing: run scripts/fetch-testdata")
    }
    return nil
}

func readBytes(_ path: String) throws -> [UInt8] { [UInt8](try Data(contentsOf: URL(fileURLWithPath: path))) }

func u64(_ b: [UInt8], _ o: Int) -> UInt64 {
    (0..<8).reduce(UInt64(0)) { $0 | UInt64(b[o + $1]) << (8 * UInt64($1)) }
}

func jsonObject(_ s: String) throws -> [String: Any] {
    try JSONSerialization.jsonObject(with: Data(s.utf8)) as! [String: Any]
}

func hexValue(_ any: Any?) -> UInt64? {
    guard let s = any as? String, s.hasPrefix("0x") else { return nil }
    return UInt64(s.dropFirst(2), radix: 16)
}

/// Address and size of section `name`, from llvm-readelf -S.
func sectionHeader(_ elf: String, _ name: String) throws -> (address: UInt64, size: UInt64)? {
    let r = try run("llvm-readelf", ["-S", "-W", elf])
    guard r.status == 0 else { throw FixtureError(message: "llvm-readelf -S \(elf): \(r.stderr)") }
    for line in r.stdout.split(separator: "\n") {
        let cols = line.split(separator: " ", omittingEmptySubsequences: true)
        guard let i = cols.firstIndex(where: { $0 == name }), cols.count > i + 4,
              let address = UInt64(cols[i + 2], radix: 16), let size = UInt64(cols[i + 4], radix: 16) else { continue }
        return (address, size)
    }
    return nil
}

/// [start, end) of section `name` as image offsets (address − `base`).
func sectionRange(_ elf: String, _ name: String, base: UInt64) throws -> Range<Int>? {
    guard let s = try sectionHeader(elf, name) else { return nil }
    let start = Int(s.address &- base)
    return start..<(start + Int(s.size))
}
