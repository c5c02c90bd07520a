// Module linking: every module of the Debian kernel package, twice (branches in range, and out
// of range through PLTs), counted against llvm-readelf; and small modules linked by ld.lld at
// the same addresses as the byte-for-byte oracle.

import Foundation
import Testing
@testable import SlideCore
@testable import SlideKit

@Suite(.serialized) struct DebianModules {
    func modulesDirectory() throws -> String? {
        guard let kernel = try debianKernel() else { return nil }
        return URL(fileURLWithPath: kernel).deletingLastPathComponent().appendingPathComponent("modules").resolvingSymlinksInPath().path
    }

    /// Relocation records per type, read independently with llvm-readelf -r.
    func oracleCounts(_ files: [String]) throws -> [String: Int] {
        var counts: [String: Int] = [:]
        for chunk in stride(from: 0, to: files.count, by: 400).map({ Array(files[$0..<min($0 + 400, files.count)]) }) {
            let r = try run("llvm-readelf", ["-r"] + chunk)
            #expect(r.status == 0)
            for line in r.stdout.split(separator: "\n") {
                guard let t = line.split(separator: " ", omittingEmptySubsequences: true).first(where: { $0.hasPrefix("R_AARCH64_") }) else { continue }
                counts[String(t), default: 0] += 1
            }
        }
        return counts
    }

    @Test func everyModuleLinksInRangeAndThroughPLTs() throws {
        guard let dir = try modulesDirectory() else { return }
        let files = (FileManager.default.enumerator(atPath: dir)!.compactMap { $0 as? String }).filter { $0.hasSuffix(".ko") }.map { dir + "/" + $0 }
        #expect(files.count > 1000)
        let oracle = try oracleCounts(files)
        // In range: the module region 64 MiB below the kernel; out of range: 1 GiB below (PREL32 still fits ±2 GiB).
        // The third pass adds the Cortex-A53 843419 fix (ADR or veneers for ADRPs at 0xff8/0xffc).
        for (base, farAway, erratum) in [("0xffff800004000000", false, false), ("0xffff7fffc8000000", true, false), ("0xffff7fffc8000000", true, true)] {
            let r = try slide(["link-module", "--all", dir, "--at", base, "--undefined-at", "0xffff800008000000", "--json"]
                              + (erratum ? ["--fix-cortex-a53-843419"] : []))
            #expect(r.status == 0, "\(r.stdout.prefix(2000))\(r.stderr)")
            let doc = try jsonObject(r.stdout)
            #expect(doc["modules"] as? Int == files.count)
            #expect(doc["failed_modules"] as? Int == 0)
            let byType = doc["relocations_by_type"] as! [String: Int]
            #expect(byType == oracle, "per-type counts against llvm-readelf -r")
            #expect(doc["relocations"] as? Int == oracle.values.reduce(0, +))
            let used = doc["plt_used"] as! Int, reserved = doc["plt_reserved"] as! Int
            #expect(used <= reserved)
            if farAway { #expect(used > byType["R_AARCH64_CALL26", default: 0] / 20, "far modules branch through PLTs") } else { #expect(used == 0) }
        }
    }
}

extension DebianModules {
    /// Modules compressed by xz, zstd and gzip (the real tools; packages other than Debian's ship
    /// .ko.xz / .ko.zst) link exactly as the plain files: same summary, same bytes.
    @Test func compressedModulesLinkAsPlainOnes() throws {
        guard let dir = try modulesDirectory() else { return }
        let files = (FileManager.default.enumerator(atPath: dir)!.compactMap { $0 as? String }).filter { $0.hasSuffix(".ko") }.sorted()
        let plain = temporaryDirectory("modules-plain"), packed = temporaryDirectory("modules-packed")
        let sample = stride(from: 0, to: files.count, by: max(files.count / 60, 1)).map { files[$0] }
        for (i, f) in sample.enumerated() {
            let name = URL(fileURLWithPath: f).lastPathComponent
            try FileManager.default.copyItem(atPath: dir + "/" + f, toPath: plain.appendingPathComponent(name).path)
            let tool = ["xz -0 --check=crc32", "zstd -1 -q", "gzip -1"][i % 3], suffix = [".xz", ".zst", ".gz"][i % 3]
            #expect(try run("sh", ["-c", "\(tool) -c < '\(dir)/\(f)' > '\(packed.path)/\(name)\(suffix)'"]).status == 0)
        }
        let args = ["--at", "0xffff7fffc8000000", "--undefined-at", "0xffff800008000000", "--json"]
        let a = try slide(["link-module", "--all", plain.path] + args), b = try slide(["link-module", "--all", packed.path] + args)
        #expect(a.status == 0 && b.status == 0, "\(b.stderr)")
        let modules = try jsonObject(b.stdout)["modules"] as? Int
        #expect(a.stdout == b.stdout && modules == sample.count)
        // One of each, byte for byte.
        for (i, f) in sample.prefix(3).enumerated() {
            let name = URL(fileURLWithPath: f).lastPathComponent, suffix = [".xz", ".zst", ".gz"][i % 3]
            let one = ["--at", "0xffff7fffc8000000", "--undefined-at", "0xffff800008000000"]
            let x = plain.appendingPathComponent("\(name).out").path, y = packed.appendingPathComponent("\(name).out").path
            #expect(try slide(["link-module", plain.appendingPathComponent(name).path, "-o", x] + one).status == 0)
            let r = try slide(["link-module", packed.appendingPathComponent(name + suffix).path, "-o", y] + one)
            #expect(r.status == 0 && r.stdout.hasPrefix("module \(name.dropLast(3)):"), "\(r.stdout.prefix(200))")
            let (bx, by) = (try readBytes(x), try readBytes(y))
            #expect(bx == by)
        }
    }
}

@Suite struct ModuleLinkOracle {
    /// A module using MOVW, ADR/ADRP, PREL32, conditional branches and calls, linked by slide and
    /// by ld.lld at the same section addresses with the same symbol values. Every byte matches,
    /// except branches slide sent through a PLT, which must reach the same final target.
    @Test(arguments: [false, true])
    func matchesLld(far: Bool) throws {
        let dir = temporaryDirectory("module-oracle")
        let src = """
                .text
                .globl init_module
            init_module:
                movz    x0, #:abs_g3:kernel_data
                movk    x0, #:abs_g2_nc:kernel_data
                movk    x0, #:abs_g1_nc:kernel_data
                movk    x0, #:abs_g0_nc:kernel_data
                movz    x1, #:abs_g0_s:small_const
                movz    x2, #:prel_g1:kernel_func
                movk    x2, #:prel_g0_nc:kernel_func
                adrp    x3, local_table
                add     x3, x3, :lo12:local_table
                ldr     x4, [x3, :lo12:local_table]
                adr     x5, local_table
                ldr     x6, local_literal
                cbz     x0, 1f
                tbz     x1, #3, 1f
                b.ne    1f
                bl      kernel_func
                bl      kernel_other
                bl      local_helper
            1:  b       kernel_func
            local_helper:
                ret
                .balign 8
            local_literal:
                .quad   kernel_data
                .section .init.rodata, "a"          // the init region: ld.lld gets room for its thunks
                .balign 8
            local_table:
                .quad   kernel_func
                .long   kernel_data - .
                .long   local_helper - .
                .quad   kernel_other + 16
                .section .plt, "ax"                 // the PLT placeholders module.lds adds to every .ko
                .byte   0
                .section .init.plt, "ax"
                .byte   0
            """
        let s = dir.appendingPathComponent("m.s").path, o = dir.appendingPathComponent("m.o").path
        try src.write(toFile: s, atomically: true, encoding: .utf8)
        #expect(try run("clang", ["--target=aarch64-linux-gnu", "-c", s, "-o", o]).status == 0)
        let kernel: UInt64 = 0xffff_8000_0800_0000
        let base: UInt64 = far ? kernel - 0x4000_0000 : kernel - 0x10_0000
        var opts = ModuleLinkOptions()
        opts.base = base
        opts.initBase = base + 0xf_0000 // .init.rodata (a page into the init region) within ADR's ±1 MiB of .text
        opts.symbols = ["kernel_data": kernel + 0x12_3458, "kernel_func": kernel + 0x1000, "kernel_other": kernel + 0x2_0000, "small_const": 0xffff_ffff_ffff_fff0]
        let m = try ModuleLinker.link(try readBytes(o), name: "m", path: o, opts)
        #expect(m.failures.isEmpty, "\(m.failures)")
        // ld.lld at the same addresses.
        let text = try #require(m.sections.first { $0.name == ".text" }), rodata = try #require(m.sections.first { $0.name == ".init.rodata" })
        let script = dir.appendingPathComponent("m.lds").path
        try """
            SECTIONS {
                .text \(hex(text.address)) : { *(.text) }
                .init.rodata \(hex(rodata.address)) : { *(.init.rodata) }
                /DISCARD/ : { *(.comment) *(.note*) *(.plt) *(.init.plt) }
            }
            """.write(toFile: script, atomically: true, encoding: .utf8)
        var lldArgs = ["--no-relax", "-T", script, o, "-o", dir.appendingPathComponent("m.elf").path]
        for (k, v) in opts.symbols { lldArgs += ["--defsym", "\(k)=\(hex(v))"] }
        let lld = try run("ld.lld", lldArgs)
        #expect(lld.status == 0, "\(lld.stderr)")
        func sectionBytes(_ name: String) throws -> [UInt8] {
            let out = dir.appendingPathComponent("\(name).bin").path
            #expect(try run("llvm-objcopy", ["-O", "binary", "--only-section=\(name)", dir.appendingPathComponent("m.elf").path, out]).status == 0)
            return try readBytes(out)
        }
        let lldText = try sectionBytes(".text"), lldRodata = try sectionBytes(".init.rodata")
        func slice(_ s: LinkedSection) -> [UInt8] {
            let (region, base) = s.isInit ? (m.initRegion, m.initBase) : (m.core, m.coreBase)
            return Array(region[Int(s.address - base)..<Int(s.address - base + s.size)])
        }
        #expect(slice(rodata) == lldRodata)
        let ourText = slice(text)
        #expect(lldText.count >= ourText.count) // ld.lld appends its range-extension thunks
        var redirected = 0
        for o in stride(from: 0, to: ourText.count, by: 4) {
            let a = UInt32(ourText[o]) | UInt32(ourText[o + 1]) << 8 | UInt32(ourText[o + 2]) << 16 | UInt32(ourText[o + 3]) << 24
            let b = UInt32(lldText[o]) | UInt32(lldText[o + 1]) << 8 | UInt32(lldText[o + 2]) << 16 | UInt32(lldText[o + 3]) << 24
            if a == b { continue }
            // Only a B/BL may differ: slide went through a PLT entry that must reach lld's final target.
            #expect(a & 0x7c00_0000 == 0x1400_0000, "word at +\(hex(UInt64(o))) differs: \(hex(UInt64(a))) vs \(hex(UInt64(b)))")
            let place = text.address + UInt64(o)
            let pltAddress = place &+ UInt64(bitPattern: A64Fields.imm26(a) << 2)
            let plt = try #require(m.sections.first { $0.name == ".plt" })
            let target = m.core.withUnsafeBytes { PLTEntry.target(of: ByteView($0), offset: Int(pltAddress - m.coreBase), address: pltAddress) }
            #expect(pltAddress >= plt.address && pltAddress < plt.address + plt.size)
            // lld cannot reach either: it needs a thunk. Its BL goes to the thunk; read the thunk's target instead.
            #expect(target == opts.symbols["kernel_func"] || target == opts.symbols["kernel_other"])
            redirected += 1
        }
        #expect(far ? redirected == 3 : redirected == 0, "far: calls/jump to the kernel go through PLTs; near: none")
        #expect(m.pltUsed.core == (far ? 2 : 0))
    }
}

@Suite struct Erratum843419 {
    /// ADRPs at page offsets 0xff8 and 0xffc: with the fix, the near one becomes an ADR of the same
    /// page, the far one a branch to a veneer (ADRP, ADD #0, B back) in the PLT; without it, both stay.
    @Test func adrpAtForbiddenOffsets() throws {
        let dir = temporaryDirectory("843419")
        let src = """
                .text
                .balign 4096
            start:
                .skip   0xff8
                adrp    x3, near_data
                add     x3, x3, :lo12:near_data
                .skip   0x1ffc - 0x1000
                adrp    x4, kernel_data
                ldr     x4, [x4, :lo12:kernel_data]
                ret
                .balign 8
            near_data:
                .quad   0
                .section .plt, "ax"
                .byte   0
            """
        let s = dir.appendingPathComponent("e.s").path, o = dir.appendingPathComponent("e.o").path
        try src.write(toFile: s, atomically: true, encoding: .utf8)
        #expect(try run("clang", ["--target=aarch64-linux-gnu", "-c", s, "-o", o]).status == 0)
        var opts = ModuleLinkOptions()
        opts.base = 0xffff_8000_0400_0000
        opts.symbols = ["kernel_data": 0xffff_8000_0912_3458]
        let bytes = try readBytes(o)
        func word(_ m: LinkedModule, _ offset: Int) -> UInt32 {
            let text = m.sections.first { $0.name == ".text" }!
            let at = Int(text.address - m.coreBase) + offset
            return UInt32(m.core[at]) | UInt32(m.core[at + 1]) << 8 | UInt32(m.core[at + 2]) << 16 | UInt32(m.core[at + 3]) << 24
        }
        let plain = try ModuleLinker.link(bytes, name: "e", path: o, opts)
        #expect(plain.failures.isEmpty)
        #expect(word(plain, 0xff8) & 0x9f00_0000 == 0x9000_0000 && word(plain, 0x1ffc) & 0x9f00_0000 == 0x9000_0000)

        opts.fixCortexA53843419 = true
        let m = try ModuleLinker.link(bytes, name: "e", path: o, opts)
        #expect(m.failures.isEmpty, "\(m.failures)")
        let text = try #require(m.sections.first { $0.name == ".text" })
        // Near: an ADR (op bit 31 clear) whose target is near_data's page.
        let adr = word(m, 0xff8)
        #expect(adr & 0x9f00_0000 == 0x1000_0000 && adr & 31 == 3)
        let nearData = text.address + 0x2008
        #expect((text.address + 0xff8) &+ UInt64(bitPattern: A64Fields.adrImm(adr)) == nearData & ~0xfff)
        // Far: a B to the veneer, which rebuilds x4's page and branches back.
        let b = word(m, 0x1ffc)
        #expect(b & 0xfc00_0000 == 0x1400_0000)
        let veneer = (text.address + 0x1ffc) &+ UInt64(bitPattern: A64Fields.imm26(b) << 2)
        let plt = try #require(m.sections.first { $0.name == ".plt" })
        #expect(veneer >= plt.address && veneer + 12 <= plt.address + plt.size && veneer & 0xfff < 0xff8)
        let v = Int(veneer - m.coreBase)
        let w = (0..<3).map { i in UInt32(m.core[v + 4 * i]) | UInt32(m.core[v + 4 * i + 1]) << 8 | UInt32(m.core[v + 4 * i + 2]) << 16 | UInt32(m.core[v + 4 * i + 3]) << 24 }
        #expect(w[0] & 0x9f00_001f == 0x9000_0004)                                              // adrp x4
        #expect((veneer & ~0xfff) &+ UInt64(bitPattern: A64Fields.adrImm(w[0]) << 12) == 0xffff_8000_0912_3000)
        #expect(w[1] == 0x9100_0084)                                                             // add x4, x4, #0
        #expect((veneer + 8) &+ UInt64(bitPattern: A64Fields.imm26(w[2]) << 2) == text.address + 0x2000) // b back
        #expect(m.pltReserved.core >= 1 && m.pltUsed.core == 1)
    }
}
