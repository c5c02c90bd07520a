// Hostile input, at scale: deterministic mutations of real inputs (the test-built ELF files and
// Images, and the Debian kernel) run through every reader. Each mutant must either work or
// give a SlideKitError; a trap or a hang fails the run. Bounded: a fixed seed and count.

import Foundation
import Testing
@testable import SlideCore
@testable import SlideKit

/// Everything a command would do with an input, in process.
func exercise(_ bytes: [UInt8], name: String) -> String? {
    do {
        let k = try KernelImage.load(bytes: bytes, path: name)
        _ = try InspectReport.build(k).json().rendered()
        _ = try Verifier.verify(k)
        _ = RelocListing.text(try RelocListing.sections(of: k), rawRelr: false)
        // Relocating needs established tables and base (a guess is refused, tested in Recognizers).
        if k.rela != nil || k.relr != nil, k.tableStanding.usable, k.linkBaseStanding.usable {
            let r = try Relocator.relocate(k, displacement: 0x20_0000)
            _ = try ImageELF.build(k, relocated: r, symbols: KernelSymbols.forELF(k, warn: { _ in }))
        }
        _ = try? KallsymsTable.read(k)
        var witnessed = k
        witnessed.addKallsymsWitness()
        if k.header != nil { _ = try? KASLRPredictor.predict(k, KASLRQuery()) }
        return nil
    } catch {
        #expect(error.description.hasPrefix("'\(name)': "))
        #expect(!error.description.contains("\n"))
        return error.message
    }
}

struct Mutator {
    var rng: SplitMix64
    init(rng seed: UInt64) { rng = SplitMix64(seed: seed) }
    mutating func next() -> UInt64 { rng.next() }
    mutating func below(_ n: Int) -> Int { Int(next() % UInt64(max(n, 1))) }

    /// One mutation: byte flips, an interesting 64-bit value, or a truncation, focused on `hot` ranges.
    mutating func mutate(_ input: [UInt8], hot: [Range<Int>]) -> [UInt8] {
        var b = input
        let region = hot.isEmpty || below(4) == 0 ? 0..<b.count : hot[below(hot.count)]
        let r = region.clamped(to: 0..<b.count)
        guard !r.isEmpty else { return b }
        switch below(4) {
        case 0:
            for _ in 0..<(1 + below(8)) { b[r.lowerBound + below(r.count)] ^= UInt8(truncatingIfNeeded: 1 << below(8)) }
        case 1:
            let values: [UInt64] = [0, 1, 0xff, 0x7fff_ffff, 0xffff_ffff, 0x8000_0000_0000_0000, .max, 24, 64, 0x403, 0xffff_8000_0800_0000]
            let v = values[below(values.count)]
            let o = (r.lowerBound + below(r.count)) & ~7
            for i in 0..<8 where o + i < b.count { b[o + i] = UInt8(truncatingIfNeeded: v >> (8 * UInt64(i))) }
        case 2:
            b.removeSubrange((r.lowerBound + below(r.count))...)
        default:
            let o = r.lowerBound + below(r.count)
            b[o] = UInt8(truncatingIfNeeded: next())
        }
        return b
    }
}

@Suite struct Mutations {
    @Test func fixturesSurviveMutation() throws {
        let f = try fixtures()
        var m = Mutator(rng: 0x51de)
        var errors: [String: Int] = [:], accepted = 0
        let recognizerImages = try RecognizerFixture.built.get().map(\.image)
        #expect(recognizerImages.count == 10)
        for path in [f.pieRela, f.pieRelr, f.pieAndroidRelr, f.miniRelaELF, f.miniRelrELF, f.miniRelaImage, f.miniRelrImage] + recognizerImages {
            let original = try readBytes(path)
            #expect(exercise(original, name: path) == nil, "the unmutated input works")
            // Hot ranges: headers, section/program header tables, the tables, the relocation routine.
            var hot: [Range<Int>] = [0..<min(0x200, original.count), max(0, original.count - 0x600)..<original.count]
            if let k = try? KernelImage.load(path: path) {
                for t in [k.rela, k.relr].compactMap({ $0 }) { hot.append(t.fileOffset..<(t.fileOffset + max(t.size, 24))) }
                if let e = k.rela?.evidence { hot.append(max(0, e - 0x100)..<(e + 0x100)) }
            }
            for _ in 0..<(recognizerImages.contains(path) ? 120 : 400) {
                if let message = exercise(m.mutate(original, hot: hot), name: path) {
                    errors[String(message.prefix(24)), default: 0] += 1
                } else {
                    accepted += 1
                }
            }
        }
        // Both outcomes must occur: mutants that still parse, and a variety of clean errors.
        #expect(accepted > 100)
        #expect(errors.count > 5, "\(errors)")
    }

    /// Each Debian kernel, mutated where the recognizers and readers look (header, the relocation
    /// routine, both ends of each table, the appended signature) and truncated at each of them.
    @Test(.enabled(if: !DebianSuite.present.isEmpty), arguments: DebianSuite.present)
    func debianKernelSurvivesMutation(_ s: DebianSuite) throws {
        let path = s.kernel
        let original = try readBytes(path)
        let k = try KernelImage.load(bytes: original, path: path)
        let rela = try #require(k.rela)
        let loop = try #require(rela.evidence)
        var hot = [0..<0x200, (loop - 0x100)..<(loop + 0x100), k.dataSize..<original.count]
        var cuts = [0, 0x3f, 0x40, 0x100, loop, k.dataSize - 1]
        for t in [k.rela, k.relr].compactMap({ $0 }) {
            hot += [t.fileOffset..<(t.fileOffset + 0x100), (t.fileOffset + t.size - 0x100)..<(t.fileOffset + t.size)]
            cuts += [t.fileOffset + 12, t.fileOffset + t.size - 1]
        }
        var m = Mutator(rng: 0xdeb1a4 ^ UInt64(original.count))
        for _ in 0..<6 { _ = exercise(m.mutate(original, hot: hot), name: path) }
        for cut in cuts { _ = exercise(Array(original.prefix(cut)), name: path) }
    }

    /// Modules: the example module and a Debian module, mutated where a loader reads (ELF header,
    /// section headers, symbols, relocations), linked by SlideCore's linker — the one the kernel
    /// runs on initrd contents — must link (perhaps with failures listed) or give a clean error.
    @Test(.enabled(if: TestData.moduleBuild || TestData.debianKernel, "no module to mutate (make kernel, scripts/fetch-testdata)"))
    func modulesSurviveMutation() throws {
        var inputs: [String] = []
        if let dir = try moduleBuild() { inputs.append(dir.appendingPathComponent("hello.ko").path) }
        if let kernel = try debianKernel() {
            let modules = URL(fileURLWithPath: kernel).deletingLastPathComponent().appendingPathComponent("modules").resolvingSymlinksInPath().path
            let nls = (FileManager.default.enumerator(atPath: modules)!.compactMap { $0 as? String }).first { $0.hasSuffix("nls_utf8.ko") }
            if let nls { inputs.append(modules + "/" + nls) }
        }
        var m = Mutator(rng: 0x6b0)
        var errors: [String: Int] = [:], linked = 0
        var o = ModuleLinkOptions()
        o.base = 0xffff_7fff_c800_0000
        o.undefinedAt = 0xffff_8000_0800_0000
        o.fixCortexA53843419 = true
        for path in inputs {
            let original = try readBytes(path)
            #expect(try ModuleLinker.link(original, name: "m", path: path, o).failures.isEmpty, "the unmutated module links")
            // Hot ranges: the ELF header, the section header table, and every SYMTAB/RELA section.
            var hot: [Range<Int>] = [0..<64]
            try original.withUnsafeBytes { raw in
                let elf = try ELFFile(ByteView(raw))
                let table = Int(elf.header.sectionHeaderOffset)
                hot.append(table..<min(original.count, table + elf.sectionCount * SectionHeader.size))
                for i in 0..<elf.sectionCount {
                    let s = try elf.section(i)
                    if s.type == .rela || s.type == .symtab { hot.append(Int(s.offset)..<Int(s.offset + s.size)) }
                }
            }
            for _ in 0..<600 {
                do {
                    let linked1 = try ModuleLinker.link(m.mutate(original, hot: hot), name: "m", path: path, o)
                    _ = ModuleReport.text(linked1)
                    linked += 1
                } catch {
                    #expect(error.description.hasPrefix("'\(path)': ") && !error.description.contains("\n"))
                    errors[String(error.message.prefix(24)), default: 0] += 1
                }
            }
        }
        #expect(!inputs.isEmpty)
        #expect(linked > 50)
        #expect(errors.count > 3, "\(errors)")
    }
}
