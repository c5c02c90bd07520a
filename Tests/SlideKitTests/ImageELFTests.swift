// `relocate --format elf` as disassemblers see it: llvm-objdump finds named functions at their
// relocated addresses through the ELF's own section headers and .symtab, llvm-readelf reads the
// header, and a relocated pointer read back through the sections is its link-time value + slide.

import Foundation
import Testing
import SlideCore
@testable import SlideKit

/// The 8 bytes at `address`, found through the section headers as llvm-readelf lists them
/// (the section holding it: file offset = sh_offset + address - sh_addr).
func wordThroughSections(_ elf: String, at address: UInt64) throws -> UInt64? {
    let r = try run("llvm-readelf", ["-S", "--wide", elf])
    for line in r.stdout.split(separator: "\n") where line.contains("PROGBITS") {
        let f = line.split(separator: " ").filter { !$0.isEmpty }
        guard let i = f.firstIndex(of: "PROGBITS"), f.count > i + 3, let addr = UInt64(f[i + 1], radix: 16),
              let off = UInt64(f[i + 2], radix: 16), let size = UInt64(f[i + 3], radix: 16) else { continue }
        guard address >= addr, address + 8 <= addr + size else { continue }
        let handle = try FileHandle(forReadingFrom: URL(fileURLWithPath: elf))
        defer { try? handle.close() }
        try handle.seek(toOffset: off + (address - addr))
        guard let data = try handle.read(upToCount: 8), data.count == 8 else { return nil }
        return u64([UInt8](data), 0)
    }
    return nil
}

@Suite(.serialized, .enabled(if: !DebianSuite.present.isEmpty, "no Debian kernels in testdata/ (run scripts/fetch-testdata)"))
struct DisassemblerELF {
    static let slideBy: UInt64 = 0x100_0000

    @Test(arguments: DebianSuite.present)
    func objdumpReadsTheRelocatedKernel(_ s: DebianSuite) throws {
        let out = temporaryDirectory("image-elf").appendingPathComponent("\(s.suite).elf").path
        let r = try slide("relocate", s.kernel, "--slide", hex(Self.slideBy), "--format", "elf", "-o", out)
        #expect(r.status == 0, "\(r.stderr)")
        let k = try KernelImage.load(path: s.kernel)
        let table = try KallsymsTable.read(k)
        #expect(table.symbols.count > 30_000)
        #expect(r.stdout.contains("\(table.symbols.count) symbols at run-time addresses"))

        // Two functions, disassembled by name at link address + slide.
        for name in ["do_sys_open", "schedule"] {
            let sym = try #require(table.symbol(named: name))
            let d = try run("llvm-objdump", ["-d", "--disassemble-symbols=\(name)", out])
            #expect(d.status == 0, "\(d.stderr)")
            let address = String(hex(sym.address + Self.slideBy).dropFirst(2))
            #expect(d.stdout.contains("\(address) <\(name)>:"), "\(d.stdout.prefix(400))")
            let instructions = d.stdout.split(separator: "\n").filter { $0.hasPrefix("ffff") && $0.contains(": ") }
            #expect(instructions.count > 8, "\(name): \(instructions.count) instructions")
        }

        // The header: AArch64, the entry point is the Image's code0 branch target, relocated.
        let h = try run("llvm-readelf", ["-h", "-S", out])
        #expect(h.stdout.contains("AArch64"))
        let entry = try #require(k.header?.entryOffset).magnitude + k.linkBase + Self.slideBy
        #expect(h.stdout.lowercased().contains("entry point address:               \(hex(entry))"), "\(h.stdout.prefix(800))")
        for section in [".text", ".rodata", ".init.text", ".bss", ".symtab"] {
            #expect(h.stdout.contains(" \(section) "), "section \(section)")
        }
        // The executable sections run to where the kernel's EFI header ends `.text` (exit text
        // included, on 5.10 too, whose kallsyms ends at _einittext).
        let textEnd = try #require(k.pe?.textEnd)
        let sections = try run("llvm-readelf", ["-S", "--wide", out]).stdout.split(separator: "\n").compactMap { line -> (UInt64, UInt64, Bool)? in
            let f = line.split(separator: " ").filter { !$0.isEmpty }
            guard let i = f.firstIndex(of: "PROGBITS"), f.count > i + 5, let a = UInt64(f[i + 1], radix: 16), let n = UInt64(f[i + 3], radix: 16) else { return nil }
            return (a, a + n, f[i + 5].contains("X"))
        }
        let lastCode = try #require(sections.filter(\.2).map(\.1).max())
        #expect(lastCode == k.linkBase + Self.slideBy + textEnd, "code ends at \(hex(lastCode)), the EFI .text at \(hex(k.linkBase + Self.slideBy + textEnd))")
        // Functions have sizes: up to the next symbol.
        let sized = try run("llvm-readelf", ["-s", "--wide", out]).stdout.split(separator: "\n").filter { $0.contains(" FUNC ") }
        #expect(sized.count > 30_000 && sized.filter { $0.split(separator: " ").filter { !$0.isEmpty }[2] != "0" }.count * 10 > sized.count * 9)

        // Relocated pointers: the RELA addend (or RELR's implicit one, the word in the Image) + slide.
        let places = TestTables.decode(k)
        #expect(places.count > 100_000)
        for p in [places[places.count / 3], places[places.count / 2], places[places.count - 1]] {
            let linkValue = p.addend ?? u64(k.bytes, Int(p.place - k.linkBase))
            let word = try #require(try wordThroughSections(out, at: p.place + Self.slideBy), "no bytes at \(hex(p.place + Self.slideBy))")
            #expect(word == linkValue + Self.slideBy, "\(hex(p.place))")
        }
    }
}

@Suite(.enabled(if: TestData.slideKernel, TestData.missingKernel))
struct SlideKernelELF {
    /// A Slide Image's symbol map carries its boundary symbols: the ELF gets real sections.
    @Test func slideImageGetsSections() throws {
        let image = try #require(try kernelImage("rela"))
        let out = temporaryDirectory("image-elf").appendingPathComponent("slide.elf").path
        let r = try slide("relocate", image, "--slide", "0x200000", "--format", "elf", "-o", out)
        #expect(r.status == 0, "\(r.stderr)")
        let h = try run("llvm-readelf", ["-S", out])
        #expect(h.stdout.contains(" .text ") && h.stdout.contains(" .bss "), "\(h.stdout)")
        let nm = try kernelSymbols("rela")
        let place = try #require(nm["slide_place"])
        let d = try run("llvm-objdump", ["-d", "--disassemble-symbols=slide_place", out])
        #expect(d.stdout.contains("\(String(hex(place + 0x20_0000).dropFirst(2))) <slide_place>:"), "\(d.stdout.prefix(300))")
    }

    /// An ELF input keeps its own sections (names, flags, addresses + slide) and its own .symtab
    /// (every symbol llvm-nm lists, values + slide), not the sections a kallsyms-only Image gets.
    @Test func elfInputKeepsItsSectionsAndSymbols() throws {
        let elf = repoRoot.appendingPathComponent(".build/kernel/rela/slide-kernel.elf").path
        let out = temporaryDirectory("image-elf").appendingPathComponent("from-elf.elf").path
        let r = try slide("relocate", elf, "--slide", "0x200000", "--format", "elf", "-o", out)
        #expect(r.status == 0, "\(r.stderr)")
        func allocated(_ path: String) throws -> [String: UInt64] {
            var out: [String: UInt64] = [:]
            for line in try output("llvm-readelf", ["-S", "--wide", path]).split(separator: "\n") {
                let f = line.split(separator: " ").filter { !$0.isEmpty }
                guard let i = f.firstIndex(where: { $0 == "PROGBITS" || $0 == "NOBITS" }), i >= 1, f.count > i + 5, f[i + 5].contains("A"),
                      let a = UInt64(f[i + 1], radix: 16), UInt64(f[i + 3], radix: 16) != 0 else { continue } // an empty section occupies nothing
                out[String(f[i - 1])] = a
            }
            return out
        }
        let before = try allocated(elf), after = try allocated(out)
        #expect(before.count > 8, "\(before)")
        for (name, address) in before where address != 0 { #expect(after[name] == address + 0x20_0000, "\(name)") }
        func symbols(_ path: String) throws -> [String: UInt64] {
            var out: [String: UInt64] = [:]
            for line in try output("llvm-nm", [path]).split(separator: "\n") {
                let f = line.split(separator: " ")
                guard f.count == 3, "tTdDrRbB".contains(f[1]), let v = UInt64(f[0], radix: 16) else { continue }
                out[String(f[2])] = v
            }
            return out
        }
        let nmBefore = try symbols(elf), nmAfter = try symbols(out)
        #expect(nmBefore.count > 300)
        #expect(nmBefore.filter { nmAfter[$0.key] != $0.value + 0x20_0000 }.isEmpty, "every symbol, shifted")
    }
}
