// Table discovery: the A64 decoder and tracer on hand-decoded words, and each recognizer against
// its own fixture (Tests/Fixtures/recognizers/, built here with clang and ld.lld): it finds its
// own shape, with the bounds llvm-readelf reports for the sections, and every other code
// recognizer rejects it.

import Foundation
import Testing
@testable import SlideCore
@testable import SlideKit

@Suite struct A64Decoding {
    // Words from Debian 6.1's __relocate_kernel and 6.12's relocate_kernel, decoded by hand.
    @Test func relocationRoutineWords() {
        #expect(A64Instruction(0xf000_58e9) == .adrp(rd: 9, pageDelta: 0xb1f000))            // adrp x9, . + 0xb1f000
        #expect(A64Instruction(0x9105_0129) == .addImmediate(rd: 9, rn: 9, imm: 320, subtract: false, setFlags: false, is64: true))
        #expect(A64Instruction(0x7110_0dbf) == .addImmediate(rd: 31, rn: 13, imm: 1027, subtract: true, setFlags: true, is64: false)) // cmp w13, #1027
        #expect(A64Instruction(0xf110_0c7f) == .addImmediate(rd: 31, rn: 3, imm: 1027, subtract: true, setFlags: true, is64: true))   // cmp x3, #1027
        #expect(A64Instruction(0xeb0a_013f) == .addRegister(rd: 31, rn: 9, rm: 10, subtract: true, setFlags: true, is64: true))      // cmp x9, x10
        #expect(A64Instruction(0x8b17_016b) == .addRegister(rd: 11, rn: 11, rm: 23, subtract: false, setFlags: false, is64: true))  // add x11, x11, x23
        #expect(A64Instruction(0xa8c1_b52c) == .loadPair(rt1: 12, rt2: 13, rn: 9, offset: 24, writeback: .post))  // ldp x12, x13, [x9], #24
        #expect(A64Instruction(0xf85f_812e) == .load(rt: 14, rn: 9, offset: -8, size: 8, writeback: .none))      // ldur x14, [x9, #-8]
        #expect(A64Instruction(0xb940_0823) == .load(rt: 3, rn: 1, offset: 8, size: 4, writeback: .none))        // ldr w3, [x1, #8]
        #expect(A64Instruction(0xf940_0823) == .load(rt: 3, rn: 1, offset: 16, size: 8, writeback: .none))       // ldr x3, [x1, #16]
        #expect(A64Instruction(0xf840_852b) == .load(rt: 11, rn: 9, offset: 8, size: 8, writeback: .post))       // ldr x11, [x9], #8
        #expect(A64Instruction(0x1800_0549) == .loadLiteral(rt: 9, delta: 0xa8, size: 4, signed: false))          // ldr w9, . + 0xa8
        #expect(A64Instruction(0x92cf_ffeb) == .moveWide(kind: .movn, rd: 11, imm16: 0x7fff, shift: 32, is64: true))
        #expect(A64Instruction(0xf2a2_000b) == .moveWide(kind: .movk, rd: 11, imm16: 0x1000, shift: 16, is64: true))
        #expect(A64Instruction(0x3700_0141) == .testBranch(rt: 1, bit: 0, target: 40))                           // tbnz w1, #0, . + 40
        #expect(A64Instruction(0xd65f_03c0) == .returnOrIndirect)
        #expect(A64Instruction(0xd63f_0100) == .indirectCall)                                                    // blr x8
        #expect(A64Instruction(0x97ff_ffdc) == .branchLink(target: -0x90))
        #expect(A64Instruction(0x5400_0063) == .conditionalBranch(target: 12))
        #expect(A64Instruction(0xb500_0440) == .compareBranch(rt: 0, target: 0x88))                              // cbnz x0, . + 0x88
        #expect(A64Instruction(0xaa14_03e0) == .moveRegister(rd: 0, rm: 20, is64: true))                         // mov x0, x20
        #expect(A64Instruction(0xf820_6883) == .other(writes: 3, writesPair: nil, writebackBase: nil))           // str x3, [x4, x0]
    }

    /// No word traps: every 32-bit pattern of a sample decodes to something.
    @Test func everyWordDecodes() {
        var x: UInt32 = 0x1234_5678
        for _ in 0..<200_000 {
            x ^= x << 13; x ^= x >> 17; x ^= x << 5
            _ = A64Instruction(x)
        }
    }
}

/// A recognizer fixture: an ELF (the oracle's view) and the raw Image objcopy makes of it.
struct RecognizerFixture: CustomTestStringConvertible, Sendable {
    var name: String
    /// The recognizer whose shape it is.
    var owner: Provenance
    var relr: Bool
    var elf: String
    var image: String
    var testDescription: String { "\(name)\(relr ? " (RELR)" : " (RELA)")" }

    static let built: Result<[RecognizerFixture], Error> = Result { try build() }

    /// One row per recognizer in `TableRecognizers.all`: the sources of its fixture.
    static let shapes: [(owner: Provenance, sources: [String])] = [
        (HeadSLiteralPool.source, ["head-s-literal-pool.S"]),
        (HeadSAdrpAdd.source, ["head-s-adrp-add.S"]),
        (PiRelocateC.source, ["pi-kernel.S", "pi-relocate.c"]),
        (StructuralScan.source, ["data-only.S"]),
        (SealRecognizer.source, ["data-only.S"]),
    ]

    static func build() throws -> [RecognizerFixture] {
        let dir = temporaryDirectory("recognizers")
        let src = repoRoot.appendingPathComponent("Tests/Fixtures/recognizers").path
        func path(_ n: String) -> String { dir.appendingPathComponent(n).path }
        func must(_ r: ToolResult, _ what: String) throws {
            if r.status != 0 { throw FixtureError(message: "\(what) failed: \(r.stderr)") }
        }
        let asm = ["--target=aarch64-linux-gnu", "-c", "-I", src]
        var out: [RecognizerFixture] = []
        for (owner, sources) in shapes {
            let name = owner.rawValue
            var objects: [String] = []
            for s in sources {
                let o = path("\(name)-\(s).o")
                let flags = s.hasSuffix(".c") ? ["--target=aarch64-linux-gnu", "-c", "-O2", "-fpie", "-ffreestanding", "-fno-stack-protector"]
                    : asm + (owner == SealRecognizer.source ? ["-DSEALED"] : [])
                try must(run("clang", flags + ["\(src)/\(s)", "-o", o]), "clang \(s)")
                objects.append(o)
            }
            for relr in [false, true] {
                let elf = path("\(name)\(relr ? "-relr" : "").elf"), image = path("\(name)\(relr ? "-relr" : "").Image")
                let link = ["-pie", "-z", "notext", "--no-dynamic-linker", "-T", "\(src)/fixture.lds"] + objects
                    + (relr ? ["-z", "pack-relative-relocs"] : ["--no-apply-dynamic-relocs"]) + ["-o", elf]
                try must(run("ld.lld", link), "ld.lld \(name)")
                if owner == SealRecognizer.source {
                    try must(slide("mkimage", elf, "-o", image), "slide mkimage \(name)")
                } else {
                    try must(run("llvm-objcopy", ["-O", "binary", elf, image]), "objcopy \(name)")
                }
                out.append(RecognizerFixture(name: name, owner: owner, relr: relr, elf: elf, image: image))
            }
        }
        return out
    }

    static var all: [RecognizerFixture] { (try? built.get()) ?? [] }
}

@Suite struct Recognizers {
    /// A recognizer is a file, a fixture and one entry in `TableRecognizers.all`: the fixture is not forgotten.
    @Test func everyRecognizerHasAFixture() {
        let recognizers: Set<String> = Set(TableRecognizers.all.map { $0.name })
        let fixtures: Set<String> = Set(RecognizerFixture.shapes.map { $0.owner.rawValue })
        #expect(recognizers == fixtures)
    }

    @Test func fixturesBuild() throws {
        #expect(try RecognizerFixture.built.get().count == 10)
    }

    /// Each code recognizer finds its own fixture's tables (bounds equal to llvm-readelf's section
    /// headers) and no other code recognizer finds anything there; the structural scan, which knows
    /// no code, finds the same tables in every fixture.
    @Test(arguments: RecognizerFixture.all)
    func eachFindsItsOwnShapeAndOnlyThat(_ f: RecognizerFixture) throws {
        let bytes = try readBytes(f.image)
        let rela = try sectionRange(f.elf, ".rela.dyn", base: 0xffff_8000_0800_0000).flatMap { $0.isEmpty ? nil : $0 }
        let relr = try sectionRange(f.elf, ".relr.dyn", base: 0xffff_8000_0800_0000).flatMap { $0.isEmpty ? nil : $0 }
        #expect(f.relr ? relr != nil : rela != nil)
        try bytes.withView { (view) throws(SlideError) in
            let input = DiscoveryInput(data: view, memorySize: UInt64(view.count) + 0x1000, traces: TableRecognizers.traces(view))
            for r in TableRecognizers.all {
                let found = r.recognize(input)
                if r.source == f.owner || r.source == StructuralScan.source {
                    guard let found else { Issue.record("\(r.source.rawValue) found nothing in \(f.name)"); continue }
                    func range(_ b: TableBounds?) -> Range<Int>? { b.flatMap { $0.size == 0 ? nil : $0.offset..<$0.end } }
                    #expect(range(found.relr) == relr, "\(r.source.rawValue): RELR")
                    if r.source == StructuralScan.source, let got = range(found.rela), let want = rela {
                        // The scan cannot tell trailing NONE records from zero padding: it may run on through zeros.
                        #expect(got.lowerBound == want.lowerBound && got.upperBound >= want.upperBound)
                        #expect(bytes[want.upperBound..<got.upperBound].allSatisfy { $0 == 0 })
                    } else {
                        #expect(range(found.rela) == rela, "\(r.source.rawValue): RELA")
                    }
                } else {
                    #expect(found == nil || (found!.rela == nil && found!.relr == nil), "\(r.source.rawValue) claims \(f.name)")
                }
            }
        }
        // Through the finder: proven by the owner (the scan: a guess), link base from the code or the places.
        let k = try KernelImage.load(path: f.image)
        let used = try #require(k.rela ?? k.relr)
        #expect(used.source == f.owner)
        #expect(used.proven == (f.owner != StructuralScan.source))
        #expect(k.linkBase == 0xffff_8000_0800_0000, "\(k.linkBaseReason)")
        #expect(k.disagreements.isEmpty, "\(k.disagreements)")
    }

    /// A table only the structural scan found is a guess: verify says so, with the confidence, and
    /// still exits 0 (no error in the entries); relocate refuses it (fail closed) unless the user
    /// names the scan with --table-method, and then labels the tables as given.
    @Test func structuralTablesAreMarkedAsGuesses() throws {
        let f = try #require(RecognizerFixture.all.first { $0.owner == StructuralScan.source && !$0.relr })
        let v = try slide("verify", f.image)
        #expect(v.status == 0, "\(v.stdout)")
        #expect(v.stdout.contains("warning: RELA table found by structural-scan, not proven (confidence 0."), "\(v.stdout)")
        let out = temporaryDirectory("guess").appendingPathComponent("Image").path
        let refused = try slide("relocate", f.image, "--slide", "0x200000", "-o", out)
        #expect(refused.status == 1 && refused.stderr.contains("relocating needs proven relocation tables; the RELA table is structural-scan's guess")
                && refused.stderr.contains("give --table-method structural-scan"), "\(refused.stderr)")
        #expect(!FileManager.default.fileExists(atPath: out))
        let r = try slide("relocate", f.image, "--slide", "0x200000", "-o", out, "--table-method", "structural-scan")
        #expect(r.status == 0 && r.stderr.contains("the relocation tables are given (--table-method), not proven"), "\(r.stderr)")
        let doc = try jsonObject(try slide("relocate", f.image, "--slide", "0x200000", "-o", out, "--table-method", "structural-scan", "--json").stdout)
        #expect(doc["link_base_standing"] as? String == "given")
        let inspect = try slide("inspect", f.image)
        #expect(inspect.stdout.contains("  found by:       structural-scan (not proven, a guess"), "\(inspect.stdout)")
    }

    /// The tracer follows registers through branches: relocate_kernel's RELR bounds, set after
    /// the loops in GCC's code, are found from the function's first instruction.
    @Test func tracerFollowsBranchesAndCalls() throws {
        // adrp x1, +1 page; b over; (dead) mov x1, #0; over: add x1, x1, #8; cmp x1, #1027?; ret
        let words: [UInt32] = [
            0xb000_0001,    // adrp x1, . + 0x1000
            0x1400_0002,    // b . + 8
            0xd280_0001,    // mov x1, #0 (skipped)
            0x9100_2021,    // add x1, x1, #8
            0x9400_0010,    // bl somewhere (clobbers x0-x18)
            0x9100_0422,    // add x2, x1, #1: x1 is now unknown
            0xd65f_03c0,    // ret
        ]
        var bytes = [UInt8](repeating: 0, count: 0x2000)
        for (i, w) in words.enumerated() { for b in 0..<4 { bytes[i * 4 + b] = UInt8(truncatingIfNeeded: w >> (8 * UInt32(b))) } }
        let trace = bytes.withUnsafeBytes { CodeTrace.run(ByteView($0), from: 0) }
        #expect(trace.instructions == 6, "the dead mov is never visited")
        let advances = trace.events.compactMap { e -> Int64? in if case .advance(_, 1, let by) = e { return by } else { return nil } }
        #expect(advances == [8])
        #expect(trace.successors[4] == [12], "b . + 8 goes to 12 only")
    }
}
