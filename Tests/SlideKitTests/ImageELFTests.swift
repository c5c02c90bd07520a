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
}
