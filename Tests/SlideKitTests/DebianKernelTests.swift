// The real thing: Debian's arm64 kernel (scripts/fetch-testdata). Assertions are invariants
// that hold for any build of the package, plus independent oracles (llvm-objdump).

import Foundation
import Testing
@testable import SlideCore
@testable import SlideKit

/// Every Debian suite's kernel: 5.10 (bullseye), 6.1 (bookworm), 6.12 (trixie), 7.x (sid).
@Suite(.serialized, .enabled(if: !DebianSuite.present.isEmpty, "no Debian kernels in testdata/ (run scripts/fetch-testdata)"))
struct DebianKernels {
    nonisolated(unsafe) static var cache: [String: KernelImage] = [:]

    func kernel(_ s: DebianSuite) throws -> KernelImage {
        if let k = Self.cache[s.suite] { return k }
        let k = try KernelImage.load(path: s.kernel)
        Self.cache[s.suite] = k
        return k
    }

    @Test(.enabled(if: ProcessInfo.processInfo.environment["SLIDE_REQUIRE_TESTDATA"] == "1"))
    func everySuiteIsPresent() {
        #expect(DebianSuite.missing.isEmpty, "missing: \(DebianSuite.missing)")
    }

    /// The recognizer of the version's shape proves every table: head.S with literal-pool bounds
    /// up to 5.10, head.S with ADRP/ADD bounds to 6.8, relocate_kernel in C from 6.9 (with RELA
    /// immediately followed by RELR, as GNU ld lays them out).
    @Test(arguments: DebianSuite.present)
    func tablesAreProvenByTheirVersionsRecognizer(_ s: DebianSuite) throws {
        let k = try kernel(s)
        let expected: Provenance = s.version < (5, 11) ? HeadSLiteralPool.source : s.version < (6, 9) ? HeadSAdrpAdd.source : PiRelocateC.source
        let rela = try #require(k.rela)
        #expect(rela.source == expected && rela.proven && rela.confidence == 1)
        if s.version >= (6, 9), let relr = k.relr {
            #expect(relr.source == expected && relr.proven)
            #expect(relr.imageOffset == rela.imageOffset + rela.size, "RELA is immediately followed by RELR")
            // relocs lists both tables, each with its entry count.
            let listing = try slide("relocs", s.kernel)
            #expect(listing.status == 0)
            #expect(listing.stdout.contains("Relocation section '.rela.dyn' at offset \(hex(UInt64(rela.fileOffset))) contains \(rela.size / 24) entries:"))
            let places = TestTables.decode(k).count - (try #require(k.withTables { (_, t, _) in (0..<t!.count).filter { t![$0].type == .relative }.count }))
            #expect(listing.stdout.contains("Relocation section '.relr.dyn' at offset \(hex(UInt64(relr.fileOffset))) contains \(places) entries:"))
        } else {
            // No RELR (before 6.9 always; after it, a linker that cannot pack them, GNU ld < 2.41):
            // RELA carries every RELATIVE relocation of the kernel.
            let relative = try #require(k.withTables { (_, t, _) in (0..<t!.count).filter { t![$0].type == .relative }.count })
            #expect(relative > 100_000, "\(relative) RELATIVE entries")
        }
        #expect(k.disagreements.isEmpty, "\(k.disagreements)")
        #expect(k.linkBaseSource != .user && !k.linkBaseReason.contains("assuming"))
        // Every table entry validates: the recognizer's proof, checked again by verify.
        let r = try slide("verify", s.kernel)
        #expect(r.status == 0, "\(r.stdout.suffix(2000))\(r.stderr)")
        #expect(r.stdout.split(separator: "\n").last?.contains(": 0 errors,") == true)
    }

    /// The bounds are the ones the routine itself loads: llvm-objdump disassembles it, and the
    /// test computes every ADRP/ADD pair, literal-pool word and MOVZ/MOVK constant itself.
    @Test(arguments: DebianSuite.present)
    func boundsMatchTheDisassembledRoutine(_ s: DebianSuite) throws {
        let k = try kernel(s)
        let rela = try #require(k.rela)
        let at = try #require(rela.evidence)
        let facts = try RoutineFacts.disassemble(s.kernel, from: max(0, at - 0x100), to: at + 0x100, bytes: k.bytes)
        #expect(facts.instructions > 40, "objdump decoded the routine")
        if rela.source == HeadSLiteralPool.source {
            #expect(facts.literals.contains(UInt64(rela.imageOffset)) && facts.literals.contains(UInt64(rela.size)),
                    "literal pool holds the RELA offset and size: \(facts.literals.map { hex($0) })")
        } else {
            #expect(facts.addresses.contains(UInt64(rela.imageOffset)) && facts.addresses.contains(UInt64(rela.imageOffset + rela.size)),
                    "ADRP/ADD pairs reach the RELA start and end: \(facts.addresses.map { hex($0) })")
        }
        if let relr = k.relr {
            #expect(facts.addresses.contains(UInt64(relr.imageOffset)) && facts.addresses.contains(UInt64(relr.imageOffset + relr.size)))
        }
        if rela.source != PiRelocateC.source {
            #expect(facts.constants.contains(k.linkBase), "mov_q KIMAGE_VADDR: \(facts.constants.map { hex($0) })")
        }
    }

    /// The structural scan (data only, no code) finds the same tables, where it can see them: the
    /// same starts, RELR exactly, and a RELA end that only runs on through zero padding.
    @Test(arguments: DebianSuite.present)
    func structuralScanAgrees(_ s: DebianSuite) throws {
        let k = try kernel(s)
        let g = try KernelImage.load(path: s.kernel, discovery: .only(StructuralScan.self))
        let rela = try #require(k.rela), guess = try #require(g.rela)
        #expect(guess.source == StructuralScan.source && !guess.proven && guess.confidence < 1)
        #expect(guess.imageOffset == rela.imageOffset)
        #expect(guess.size >= rela.size)
        #expect(k.bytes[(rela.imageOffset + rela.size)..<(guess.imageOffset + guess.size)].allSatisfy { $0 == 0 })
        #expect(g.relr?.imageOffset == k.relr?.imageOffset && g.relr?.size == k.relr?.size)
        #expect(g.linkBase == k.linkBase)
    }

    /// The link base, derived by the test from the tables on its own: with it every place and every
    /// pointer (RELA addends, RELR implicit addends) lies inside the image, 2 MiB lower or higher
    /// they do not; and it is KIMAGE_VADDR for that version (arch/arm64/include/asm/memory.h).
    @Test(arguments: DebianSuite.present)
    func linkBaseIsDerivedIndependently(_ s: DebianSuite) throws {
        let k = try kernel(s)
        let size = try #require(k.header).imageSize
        let base = k.linkBase
        let entries = TestTables.decode(k)
        #expect(entries.count > 100_000)
        var low = UInt64.max, high: UInt64 = 0
        for e in entries {
            let value = e.addend ?? u64(k.bytes, Int(e.place &- base))
            for v in [e.place] + (value != 0 ? [value] : []) { low = min(low, v); high = max(high, v) }
        }
        #expect(low >= base && high <= base + size, "everything inside [\(hex(base)), \(hex(base + size))]")
        #expect(low < base + 0x20_0000, "2 MiB higher, something would fall below the image")
        #expect(high > base - 0x20_0000 + size, "2 MiB lower, something would fall above it")
        let kimageVaddr: UInt64? = s.version <= (5, 10) ? 0xffff_8000_1000_0000 : s.version == (6, 1) ? 0xffff_8000_0800_0000
            : s.version >= (6, 5) ? (s.pageSize == 16384 ? 0xffff_c000_8000_0000 : 0xffff_8000_8000_0000) : nil
        if let kimageVaddr { #expect(base == kimageVaddr) }
    }

    /// relocate --slide 0x1000000 changes exactly the relocation places: RELA RELATIVE places hold
    /// addend + slide, RELR places their old value + slide, and no other byte changes.
    @Test(arguments: DebianSuite.present)
    func relocateChangesExactlyThePlaces(_ s: DebianSuite) throws {
        let k = try kernel(s)
        let out = temporaryDirectory("relocate").appendingPathComponent("vmlinuz.slid").path
        let r = try slide("relocate", s.kernel, "--slide", "0x1000000", "-o", out)
        #expect(r.status == 0, "\(r.stderr)")
        let before = k.bytes, after = try readBytes(out)
        #expect(before.count == after.count)
        var expected: [Int: UInt64] = [:]
        for e in TestTables.decode(k) {
            let o = Int(e.place - k.linkBase)
            expected[o] = (e.addend ?? u64(before, o)) &+ 0x100_0000
        }
        #expect(expected.count > 100_000)
        for (o, v) in expected where u64(after, o) != v { Issue.record("place at \(hex(UInt64(o))) holds \(hex(u64(after, o))), want \(hex(v))"); break }
        var isPlace = [Bool](repeating: false, count: before.count)
        for o in expected.keys { for j in 0..<8 { isPlace[o + j] = true } }
        var stray = 0
        for i in 0..<before.count where before[i] != after[i] && !isPlace[i] { stray += 1 }
        #expect(stray == 0)
        // The relocated Image says so, and is not relocated again from the wrong base.
        let doc = try jsonObject(try slide("inspect", "--json", out).stdout)
        #expect(doc["already_relocated"] as? String == "already relocated by +0x1000000", "\(doc["already_relocated"] ?? "nil")")
        let again = try slide("relocate", out, "--slide", "0x200000", "-o", out + ".again")
        #expect(again.status == 1 && again.stderr.contains("already relocated by +0x1000000"), "\(again.stderr)")
        #expect(try slide("verify", out).stdout.contains("[already-relocated]"))
        // Negative slides are accepted as separate arguments; a slide the kernel could not run at is refused.
        #expect(try slide("relocate", s.kernel, "--slide", "-0x200000", "-o", out).status == 0)
        let bad = try slide("relocate", s.kernel, "--slide", "0x1001", "-o", out + ".bad")
        #expect(bad.status == 1 && bad.stderr.contains("not a multiple of \(s.pageSize / 1024) KiB (the Image's page size)") && !FileManager.default.fileExists(atPath: out + ".bad"))
        // Addresses no kernel runs at: below the kernel half, past 2^64, off the page size.
        for (args, reason) in [(["--base", "0x40000000"], "--base 0x40000000 is not a kernel address"),
                               (["--slide", "0x800000000000"], "past the end of the 64-bit address space"),
                               (["--slide", hex(UInt64(s.pageSize) / 2)], "is not a multiple of")] {
            let r = try slide(["relocate", s.kernel, "-o", out + ".bad"] + args)
            #expect(r.status == 1 && r.stderr.contains(reason) && !FileManager.default.fileExists(atPath: out + ".bad"), "\(args): \(r.stderr)")
        }
    }

    @Test(arguments: DebianSuite.present)
    func inspectReportsTheBanner(_ s: DebianSuite) throws {
        let k = try kernel(s)
        let banner = try #require(k.banner)
        #expect(banner.hasPrefix("Linux version \(s.release) "), "\(banner)")
        #expect(k.truncation == nil)
        let doc = try jsonObject(try slide("inspect", "--json", s.kernel).stdout)
        #expect(doc["linux_version"] as? String == banner)
        #expect((doc["rela"] as? [String: Any])?["proven"] as? Bool == true)
        #expect((doc["disagreements"] as? [Any])?.isEmpty == true)
    }

    /// kallsyms as a witness: with KALLSYMS_ALL (6.12+) it names the tables, and the names give
    /// the code recognizers' bounds; kernels that list text symbols only (5.10, 6.1) name none.
    /// Moving a table by one entry makes the witness disagree.
    @Test(arguments: DebianSuite.present)
    func kallsymsNamesTheSameTables(_ s: DebianSuite) throws {
        var k = try kernel(s)
        k.addKallsymsWitness()
        let witness = k.recognitions.first { $0.source == .kallsymsSymbols }
        guard s.version >= (6, 9) else {
            #expect(witness == nil, "text-only kallsyms names no table")
            return
        }
        let w = try #require(witness)
        let rela = try #require(k.rela)
        #expect(w.rela?.offset == rela.imageOffset && w.rela?.size == rela.size)
        #expect(w.relr?.offset == k.relr?.imageOffset && w.relr?.size == k.relr?.size)
        #expect(w.problem == nil && k.disagreements.isEmpty)
        var moved = try kernel(s)
        moved.rela!.imageOffset += 24
        moved.rela!.size -= 24
        moved.addKallsymsWitness()
        #expect(moved.disagreements.count == 1 && moved.disagreements[0].hasPrefix("kallsyms-symbols: "), "\(moved.disagreements)")
        let inspect = try slide("inspect", s.kernel)
        let relrText = k.relr.map { ", RELR \(hex(UInt64($0.imageOffset)))+\(hex(UInt64($0.size)))" } ?? ""
        #expect(inspect.stdout.contains("  kallsyms-symbols: RELA \(hex(UInt64(rela.imageOffset)))+\(hex(UInt64(rela.size)))\(relrText) (proven; agrees)"))
    }

    /// A truncated Image (the last 4 KiB of its data cut off) is flagged: inspect warns in one
    /// stderr line (and shows it), verify fails with one error line naming it.
    @Test(arguments: DebianSuite.present.prefix(1))
    func truncatedImageIsFlagged(_ s: DebianSuite) throws {
        let k = try kernel(s)
        let cut = temporaryDirectory("truncated").appendingPathComponent("vmlinuz").path
        try Data(k.bytes.prefix(k.dataSize - 4096)).write(to: URL(fileURLWithPath: cut))
        let r = try slide("inspect", cut)
        #expect(r.status == 0)
        #expect(r.stdout.split(separator: "\n").filter { $0.hasPrefix("Truncated:") }.count == 1, "\(r.stdout)")
        #expect(r.stderr.split(separator: "\n").count == 1 && r.stderr.hasPrefix("slide: warning: '\(cut)': the image is truncated: "), "\(r.stderr)")
        let v = try slide("verify", cut)
        #expect(v.status == 1)
        #expect(v.stdout.split(separator: "\n").filter { $0.contains("[image-truncated]") }.count == 1, "\(v.stdout.suffix(1000))")
        // Cut inside the relocation table, and after 100 bytes: each is said to be truncated, and
        // nothing that needs the tables answers (no "built without CONFIG_KALLSYMS", no link base 0x0).
        let rela = try #require(k.rela)
        for (size, reason) in [(rela.imageOffset + 240, "the RELA table at \(hex(UInt64(rela.imageOffset)))"), (100, "the PE header at 0x40 lies past the end")] {
            try Data(k.bytes.prefix(size)).write(to: URL(fileURLWithPath: cut))
            let i = try slide("inspect", cut)
            #expect(i.stdout.split(separator: "\n").contains { $0.hasPrefix("Truncated:") && $0.contains(reason) }, "\(size): \(i.stdout)")
            #expect(!i.stdout.contains("Link base:        0x0"))
            let sym = try slide("symbols", cut)
            #expect(sym.status == 1 && sym.stderr.contains("the file is truncated") && sym.stdout.isEmpty, "\(size): \(sym.stderr)")
            #expect(try slide("verify", cut).status == 1)
        }
    }
}

/// The entries of a kernel's tables, decoded by the test (not SlideCore): RELA RELATIVE records
/// with their addends, RELR places with none (the value in the image is the addend).
enum TestTables {
    static func decode(_ k: KernelImage) -> [(place: UInt64, addend: UInt64?)] {
        var out: [(UInt64, UInt64?)] = []
        if let t = k.rela {
            for o in stride(from: t.imageOffset, to: t.imageOffset + t.size, by: 24) where u64(k.bytes, o + 8) == 0x403 {
                out.append((u64(k.bytes, o), u64(k.bytes, o + 16)))
            }
        }
        if let t = k.relr {
            var next: UInt64 = 0
            for o in stride(from: t.imageOffset, to: t.imageOffset + t.size, by: 8) {
                let w = u64(k.bytes, o)
                if w & 1 == 0 { out.append((w, nil)); next = w + 8; continue }
                for bit in 1..<64 where (w >> UInt64(bit)) & 1 == 1 { out.append((next + UInt64(bit - 1) * 8, nil)) }
                next += 63 * 8
            }
        }
        return out
    }
}

/// What llvm-objdump says a window of code computes: ADRP+ADD addresses, literal-pool words
/// loaded by `ldr wN, <addr>` (read from the file), and MOV/MOVK constants.
struct RoutineFacts {
    var instructions = 0
    var addresses: Set<UInt64> = []
    var literals: Set<UInt64> = []
    var constants: Set<UInt64> = []

    static func disassemble(_ path: String, from: Int, to: Int, bytes: [UInt8]) throws -> RoutineFacts {
        let dir = temporaryDirectory("objdump")
        let elf = dir.appendingPathComponent("image.elf").path
        #expect(try run("llvm-objcopy", ["-I", "binary", "-O", "elf64-littleaarch64", path, elf]).status == 0)
        let dis = try run("llvm-objdump", ["-D", "--triple=aarch64", "--no-show-raw-insn", "--start-address=\(from)", "--stop-address=\(to)", elf])
        #expect(dis.status == 0)
        var f = RoutineFacts()
        var pages: [String: UInt64] = [:], wide: [String: UInt64] = [:]
        for line in dis.stdout.split(separator: "\n") {
            // "  cfd43c: \tadrp\tx9, 0x181c000 <...>", "  b73310: \tldr\tw9, 0xb733b8 <...>", "mov x11, #-140733193388033"
            let parts = line.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "," })
            guard parts.count >= 3, parts[0].hasSuffix(":") else { continue }
            f.instructions += 1
            let op = parts[1], rd = String(parts[2])
            func number(_ t: Substring) -> UInt64? {
                var t = t
                if t.hasPrefix("#") { t = t.dropFirst() }
                if t.hasPrefix("0x") { return UInt64(t.dropFirst(2), radix: 16) }
                if t.hasPrefix("-") { return Int64(t).map { UInt64(bitPattern: $0) } }
                return UInt64(t)
            }
            switch op {
            case "adrp": if let v = number(parts[3]) { pages[rd] = v }
            case "add" where parts.count >= 5 && parts[2] == parts[3]:
                if let page = pages[rd], let imm = number(parts[4]) { f.addresses.insert(page + imm) }
            case "ldr" where rd.hasPrefix("w") && parts.count >= 4 && parts[3].hasPrefix("0x"):
                if let a = number(parts[3]), Int(a) + 4 <= bytes.count {
                    f.literals.insert((0..<4).reduce(UInt64(0)) { $0 | UInt64(bytes[Int(a) + $1]) << (8 * UInt64($1)) })
                }
            case "mov" where parts.count >= 4 && parts[3].hasPrefix("#"):
                if let v = number(parts[3]) { wide[rd] = v }
            case "movk" where parts.count >= 4:
                if let v = wide[rd], let imm = number(parts[3]) {
                    let shift = parts.count >= 6 ? (number(parts[5]) ?? 0) : 0
                    wide[rd] = v & ~(0xffff << shift) | imm << shift
                    f.constants.insert(wide[rd]!)
                }
            default: break
            }
        }
        return f
    }
}

func < (a: (Int, Int), b: (Int, Int)) -> Bool { a.0 != b.0 ? a.0 < b.0 : a.1 < b.1 }
func <= (a: (Int, Int), b: (Int, Int)) -> Bool { !(b < a) }
func >= (a: (Int, Int), b: (Int, Int)) -> Bool { !(a < b) }

@Suite(.serialized, .enabled(if: TestData.debianKernel, TestData.missingDebian)) struct DebianKernel {
    nonisolated(unsafe) static let loaded: Result<KernelImage?, Error> = Result { try debianKernel().map { try KernelImage.load(path: $0) } }

    func kernel() throws -> KernelImage { try #require(try Self.loaded.get(), "testdata/debian/vmlinuz") }

    /// Invariants of a GNU-ld-linked arm64 RELA table (docs/debian-kernels.md).
    @Test func tableShape() throws {
        let k = try kernel()
        #expect(k.linkBase == 0xffff_8000_0800_0000)
        #expect(k.header?.flags.placementAnywhere == true)
        #expect(k.dataSize < k.bytes.count, "Debian appends a signature")
        try k.withTables { (view, rela, relr) throws(SlideError) in
            let t = rela!
            #expect(relr == nil)
            var last: UInt64 = 0, seenOther = false
            for i in 0..<t.count {
                let e = t[i]
                if e.type == .relative {
                    #expect(!seenOther, "RELATIVE entries come first")
                    #expect(e.offset > last && e.offset % 8 == 0)
                    last = e.offset
                    let a = UInt64(bitPattern: e.addend)
                    #expect(a >= k.linkBase && a <= k.linkBase + k.memorySize)
                } else {
                    seenOther = true
                }
            }
            // Every relocated place of the file is 0 or already holds its addend (GOT slots).
            for i in 0..<t.count where t[i].type == .relative {
                let v = view.u64Unchecked(at: Int(t[i].offset - k.linkBase))
                if v != 0 && v != UInt64(bitPattern: t[i].addend) { Issue.record("place \(hex(t[i].offset)) holds \(hex(v))"); return }
            }
        }
    }

    @Test func verifyPassesAndListsSymbolicEntries() throws {
        let k = try kernel()
        let r = try slide("verify", k.path)
        #expect(r.status == 0, "\(r.stdout)\(r.stderr)")
        var symbolic = 0
        try k.withTables { (_, rela, _) throws(SlideError) in
            for i in 0..<rela!.count where rela![i].type.isSymbolic { symbolic += 1 }
        }
        #expect(symbolic > 0)
        let lines = r.stdout.split(separator: "\n")
        #expect(lines.filter { $0.hasPrefix("warning:") && $0.contains("[symbolic-entry]") }.count == symbolic)
        #expect(lines.filter { $0.hasPrefix("error:") }.isEmpty)
        #expect(lines.last?.contains(": 0 errors,") == true)
    }

    @Test func inspectJSON() throws {
        let k = try kernel()
        let doc = try jsonObject(try slide("inspect", "--json", k.path).stdout)
        #expect(doc["schema"] as? String == "slide/v1")
        let rela = doc["rela"] as! [String: Any]
        #expect(rela["source"] as? String == "head-s-adrp-add")
        #expect(hexValue(rela["file_offset"]) == UInt64(k.rela!.fileOffset))
        let types = rela["types"] as! [String: Int]
        #expect(types.values.reduce(0, +) == k.rela!.size / 24)
        let packed = doc["relr_if_packed"] as! [String: Any]
        let relrBytes = packed["relr_bytes"] as! Int, relaBytes = packed["rela_bytes"] as! Int
        #expect(relrBytes > 0 && relrBytes * 20 < relaBytes, "RELR is far smaller than RELA for a kernel")
        #expect(hexValue((doc["header"] as! [String: Any])["image_size"]) == k.header!.imageSize)
        #expect(hexValue((doc["link_base"] as! [String: Any])["value"]) == 0xffff_8000_0800_0000)
    }

    /// RELR pack of the real table, then unpack, gives the same places; the words apply the same.
    /// Debian's Image is signed: relocating it says the signature is stale; --strip-signature
    /// drops it and clears the PE certificate directory, and the result still reads the same.
    @Test func relocatedSignatureIsStaleOrStripped() throws {
        let k = try kernel()
        let cert = try #require(k.pe?.certificate)
        let dir = temporaryDirectory("signature")
        let kept = dir.appendingPathComponent("kept").path, stripped = dir.appendingPathComponent("stripped").path
        let a = try slide("relocate", k.path, "--slide", "0x200000", "-o", kept)
        #expect(a.status == 0 && a.stderr.contains("Authenticode signature (\(cert.size) bytes at \(hex(cert.offset))) no longer matches"))
        let b = try slide("relocate", k.path, "--slide", "0x200000", "-o", stripped, "--strip-signature", "--json")
        let summary = try jsonObject(b.stdout)
        #expect(b.status == 0 && b.stderr.isEmpty && summary["signature"] as? String == "stripped", "\(b.stderr)")
        let s = try KernelImage.load(path: stripped)
        #expect(s.bytes.count == Int(cert.offset) && s.pe?.certificate == nil && s.pe?.certificateDirectory != nil)
        let keptBytes = try readBytes(kept)
        #expect((0..<Int(cert.offset)).filter { keptBytes[$0] != s.bytes[$0] }.count <= 8, "only the 8-byte directory entry differs")
        #expect(s.rela?.imageOffset == k.rela?.imageOffset && s.linkBase == k.linkBase)
    }

    @Test func relrRoundTripOnTheRealTable() throws {
        let k = try kernel()
        let places = try RelrTool.relativePlaces(of: k)
        let words = try RelrTool.pack(places)
        #expect(try RelrTool.unpack(words) == places.sorted())
        #expect(words.count * 8 < places.count * 24 / 20)
    }

    /// Containers: the Image compressed by gzip, xz and zstd (the real tools), and EFI zboot images
    /// wrapping each (with Linux's compression names), unpack to the same kernel; truncated streams
    /// are clean errors.
    @Test(arguments: [("gzip -1", "gzip", "gzip"), ("xz -0 --check=crc32", "xz", "xzkern"), ("zstd -1 -q", "zstd", "zstd22")])
    func compressedContainers(command: String, chain: String, zbootName: String) throws {
        let k = try kernel()
        let dir = temporaryDirectory("containers")
        let packed = dir.appendingPathComponent("Image.\(chain)").path
        let g = try run("sh", ["-c", "\(command) -c < '\(k.path)' > '\(packed)'"]) // stdin: zstd skips symlinks
        #expect(g.status == 0)
        let fromPacked = try KernelImage.load(path: packed)
        #expect(fromPacked.containers == [chain])
        #expect(fromPacked.rela?.imageOffset == k.rela?.imageOffset && fromPacked.rela?.size == k.rela?.size)
        #expect(fromPacked.bytes == k.bytes)
        // EFI zboot: "MZ", "zimg" at 4, payload offset at 8, size at 12, compression name at 0x18.
        let payload = try readBytes(packed)
        var zboot = [UInt8](repeating: 0, count: 0x200)
        zboot[0] = 0x4d; zboot[1] = 0x5a
        zboot.replaceSubrange(4..<8, with: Array("zimg".utf8))
        for i in 0..<4 { zboot[8 + i] = UInt8(truncatingIfNeeded: 0x200 >> (8 * i)); zboot[12 + i] = UInt8(truncatingIfNeeded: payload.count >> (8 * i)) }
        zboot.replaceSubrange(0x18..<(0x18 + zbootName.utf8.count), with: Array(zbootName.utf8))
        zboot += payload
        let zpath = dir.appendingPathComponent("vmlinuz.efi").path
        try Data(zboot).write(to: URL(fileURLWithPath: zpath))
        let fromZ = try KernelImage.load(path: zpath)
        #expect(fromZ.containers == ["efi-zboot(\(zbootName))"])
        #expect(fromZ.bytes == k.bytes)
        // A truncated stream is a clean error.
        let cut = dir.appendingPathComponent("cut.\(chain)").path
        try Data(payload.prefix(payload.count / 2)).write(to: URL(fileURLWithPath: cut))
        let r = try slide("inspect", cut)
        #expect(r.status == 1 && r.stderr.hasPrefix("slide: error: '\(cut)': \(chain) stream is truncated"), "\(r.stderr)")
    }
}
