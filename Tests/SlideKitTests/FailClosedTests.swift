// Never a wrong answer with exit 0: each Debian kernel with the evidence for one fact destroyed at
// a time (the relocation routine, the tables, the kallsyms markers, the header). Every command
// that builds on those facts (symbols, kaslr, relocate, link-module --kernel) must then give the
// answer it gives on the intact kernel, or refuse with exit 1 and one line that names what is missing.

import Foundation
import Testing
@testable import SlideCore
@testable import SlideKit

enum Evidence: String, CaseIterable, Sendable {
    /// Every `cmp Rn, #1027` (the RELATIVE type test every relocation routine makes) becomes a NOP.
    case routine
    /// The RELA and RELR tables, zeroed.
    case tables
    /// kallsyms_markers, zeroed.
    case kallsymsMarkers = "kallsyms-markers"
    /// The 64-byte Image header, zeroed.
    case header

    func destroy(_ bytes: inout [UInt8], _ k: KernelImage, markers: Range<Int>?) {
        switch self {
        case .routine:
            var o = 0
            while o + 4 <= k.dataSize {
                let w = UInt32(bytes[o]) | UInt32(bytes[o + 1]) << 8 | UInt32(bytes[o + 2]) << 16 | UInt32(bytes[o + 3]) << 24
                if w & 0x7fff_fc1f == 0x7110_0c1f { for (i, b) in [0x1f, 0x20, 0x03, 0xd5].enumerated() { bytes[o + i] = UInt8(b) } }
                o += 4
            }
        case .tables:
            for t in [k.rela, k.relr].compactMap({ $0 }) { for i in t.imageOffset..<(t.imageOffset + t.size) { bytes[i] = 0 } }
        case .kallsymsMarkers:
            if let markers { for i in markers { bytes[i] = 0 } }
        case .header:
            for i in 0..<64 { bytes[i] = 0 }
        }
    }
}

struct FailClosedCase: CustomTestStringConvertible, Sendable {
    var suite: DebianSuite
    var evidence: Evidence
    var testDescription: String { "\(suite.suite) without its \(evidence.rawValue)" }
    static let all: [FailClosedCase] = DebianSuite.present.flatMap { s in Evidence.allCases.map { FailClosedCase(suite: s, evidence: $0) } }
}

@Suite(.enabled(if: !DebianSuite.present.isEmpty, "no Debian kernels in testdata/ (run scripts/fetch-testdata)"))
struct FailClosed {
    /// What each command prints on a kernel, for comparing the intact and the damaged one.
    static func outcomes(_ path: String, _ dir: URL, module: String, moduleAt: UInt64) throws -> [(command: String, status: Int32, stdout: String, stderr: String)] {
        let out = dir.appendingPathComponent("relocated-\(UUID().uuidString.prefix(6))").path
        let commands: [(String, [String])] = [
            ("symbols", ["symbols", path]),
            ("kaslr", ["kaslr", path, "--seed", "0x1234567890abcdef", "--json"]),
            ("relocate", ["relocate", path, "--slide", "0x1000000", "-o", out, "--json"]),
            ("link-module", ["link-module", module, "--at", hex(moduleAt), "--kernel", path, "--json"]),
        ]
        return try commands.map { name, args in
            let r = try slide(args)
            // The output file's name differs between runs; what was relocated must not.
            let stdout = name == "relocate" ? r.stdout.replacingOccurrences(of: out, with: "OUT").replacingOccurrences(of: path, with: "IN") : r.stdout
            return (name, r.status, name == "kaslr" ? stdout.replacingOccurrences(of: path, with: "IN") : stdout, r.stderr)
        }
    }

    @Test(arguments: FailClosedCase.all)
    func everyCommandIsRightOrRefuses(_ c: FailClosedCase) throws {
        let dir = temporaryDirectory("fail-closed")
        let k = try KernelImage.load(path: c.suite.kernel)
        let markers: Range<Int>? = try {
            let doc = try jsonObject(try slide("symbols", "--json", c.suite.kernel).stdout)
            guard let t = (doc["tables"] as? [String: Any])?["kallsyms_markers"] as? [String: Any],
                  let o = (t["offset"] as? String).flatMap({ UInt64($0.dropFirst(2), radix: 16) }),
                  let n = (t["size"] as? String).flatMap({ UInt64($0.dropFirst(2), radix: 16) }) else { return nil }
            return Int(o)..<Int(o + n)
        }()
        #expect(markers != nil, "symbols --json names kallsyms_markers")
        var bytes = k.bytes
        c.evidence.destroy(&bytes, k, markers: markers)
        #expect(bytes != k.bytes, "the evidence was there to destroy")
        let damaged = dir.appendingPathComponent("vmlinuz").path
        try Data(bytes).write(to: URL(fileURLWithPath: damaged))
        let lib = c.suite.modules + "/kernel/lib"
        let module = try #require((FileManager.default.enumerator(atPath: lib)!.compactMap { $0 as? String })
            .filter { $0.hasSuffix(".ko") || $0.hasSuffix(".ko.xz") }.sorted().first.map { lib + "/" + $0 })
        let moduleAt = k.linkBase - (64 << 20) // in branch range of the kernel: no PLT needed
        let intact = try Self.outcomes(c.suite.kernel, dir, module: module, moduleAt: moduleAt)
        // link-module --kernel reads a raw Image's exports through kallsyms' names (6.9+ as Debian builds them).
        #expect(intact.allSatisfy { $0.status == 0 || ($0.command == "link-module" && c.suite.version < (6, 9)) },
                "\(intact.map { "\($0.command): \($0.stderr)" })")
        var refused = 0
        for (good, bad) in zip(intact, try Self.outcomes(damaged, dir, module: module, moduleAt: moduleAt)) {
            if good.status != 0 {
                #expect(bad.status == 1, "\(bad.command) refused the intact kernel, and must refuse the damaged one")
                refused += 1
            } else if bad.status == 0 && bad.command == "kaslr" {
                // A value the damaged kernel no longer gives is null (and said so); every value it gives is the intact one's.
                let g = try jsonObject(good.stdout), b = try jsonObject(bad.stdout)
                for (key, value) in b where !(value is NSNull) && !["module_randomness", "assumptions", "file"].contains(key) {
                    #expect(NSDictionary(dictionary: ["v": value]).isEqual(to: ["v": g[key] ?? NSNull()]), "kaslr \(key): \(value), intact \(g[key] ?? "missing")")
                }
            } else if bad.status == 0 {
                #expect(bad.stdout.replacingOccurrences(of: damaged, with: c.suite.kernel) == good.stdout,
                        "\(bad.command) exits 0 with an answer that differs from the intact kernel's")
            } else {
                refused += 1
                #expect(bad.status == 1, "\(bad.command): \(bad.stderr)")
                #expect(bad.stdout.isEmpty, "\(bad.command) printed a result and refused")
                let lines = bad.stderr.split(separator: "\n").filter { $0.hasPrefix("slide: error: ") }
                #expect(lines.count == 1 && lines[0].hasPrefix("slide: error: '\(damaged)': "), "\(bad.command): \(bad.stderr)")
            }
        }
        // Destroying the header or the tables leaves nothing to build on.
        if c.evidence == .header || c.evidence == .tables { #expect(refused == 4) }
    }
}

/// A file is identified from its first bytes and its size before it is read whole.
@Suite struct InputBounds {
    @Test func aLargeFileOfZerosIsRefusedFromItsHead() throws {
        let path = temporaryDirectory("zeros").appendingPathComponent("zeros.bin").path
        FileManager.default.createFile(atPath: path, contents: nil)
        #expect(truncate(path, 2 << 30) == 0)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let r = try slide("inspect", path)
        #expect(r.status == 1 && r.stderr == "slide: error: '\(path)': not \(FileKind.formats) (no \"ARM\\x64\" magic at 0x38)\n", "\(r.stderr)")
    }

    @Test func aDeviceIsReadBoundedOrRefused() throws {
        let r = try slide("inspect", "/dev/zero")
        #expect(r.status == 1 && r.stderr.contains("no \"ARM\\x64\" magic"), "\(r.stderr)")
    }

    /// An ELF header followed by 300 MB: larger than any kernel, refused by its size, not read.
    @Test func anOversizedKernelInputIsRefusedBySize() throws {
        let path = temporaryDirectory("big").appendingPathComponent("big.elf").path
        FileManager.default.createFile(atPath: path, contents: Data([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1]))
        #expect(truncate(path, 300 << 20) == 0)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let r = try slide("inspect", path)
        #expect(r.status == 1 && r.stderr.contains("is 300M, larger than any kernel or module (--max-size raises the limit of 256M)"), "\(r.stderr)")
        let raised = try slide("inspect", "--max-size", "512M", path)
        #expect(raised.status == 1 && !raised.stderr.contains("larger than any kernel"), "\(raised.stderr)")
    }

    /// `-o -` writes the file to standard output and the report to stderr: a pipe gives the same
    /// bytes as a file.
    @Test(.enabled(if: TestData.debianKernel, TestData.missingDebian))
    func standardOutputIsAFile() throws {
        let kernel = try #require(try debianKernel())
        let out = temporaryDirectory("stdout").appendingPathComponent("vmlinuz.slid").path
        #expect(try slide("relocate", kernel, "--slide", "0x200000", "-o", out).status == 0)
        let piped = try run("sh", ["-c", "\"$0\" relocate - --slide 0x200000 -o - < \"$1\" > \"$2\"", slideBinary, kernel, out + ".piped"])
        #expect(piped.status == 0 && piped.stderr.contains("relocated - for "), "\(piped.stderr)")
        #expect(try readBytes(out + ".piped") == (try readBytes(out)))
        let lm = try slide("link-module", "x.ko", "--at", "0x1000", "--undefined-at", "0x2000", "-o", "-")
        #expect(lm.status == 64 && lm.stderr.contains("give a path, not -"))
    }

    @Test(.enabled(if: TestData.debianKernel, TestData.missingDebian))
    func standardInputIsAFile() throws {
        let kernel = try #require(try debianKernel())
        let r = try run(slideBinary, ["inspect", "-"], stdin: try Data(contentsOf: URL(fileURLWithPath: kernel)))
        #expect(r.status == 0 && r.stdout.hasPrefix("File:             -\n"), "\(r.stderr)")
        #expect(r.stdout == (try slide("inspect", kernel)).stdout.replacingOccurrences(of: "File:             \(kernel)\n", with: "File:             -\n"))
    }
}
