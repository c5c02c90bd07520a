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

    /// Relocation records per type, read independently with llvm-readelf -r (xz modules
    /// decompressed by the real xz first: llvm-readelf reads ELF only).
    func oracleCounts(_ files: [String]) throws -> [String: Int] {
        let plain = temporaryDirectory("modules-oracle")
        var elfs: [String] = []
        for (i, f) in files.enumerated() {
            guard f.hasSuffix(".xz") else { elfs.append(f); continue }
            elfs.append(plain.appendingPathComponent("\(i).ko").path)
        }
        let compressed = files.enumerated().filter { $0.element.hasSuffix(".xz") }
        for chunk in stride(from: 0, to: compressed.count, by: 200).map({ Array(compressed[$0..<min($0 + 200, compressed.count)]) }) {
            let script = chunk.map { "xz -dc '\($0.element)' > '\(plain.path)/\($0.offset).ko'" }.joined(separator: " && ")
            #expect(try run("sh", ["-c", script]).status == 0)
        }
        var counts: [String: Int] = [:]
        for chunk in stride(from: 0, to: elfs.count, by: 400).map({ Array(elfs[$0..<min($0 + 400, elfs.count)]) }) {
            let r = try run("llvm-readelf", ["-r"] + chunk)
            #expect(r.status == 0)
            for line in r.stdout.split(separator: "\n") {
                guard let t = line.split(separator: " ", omittingEmptySubsequences: true).first(where: { $0.hasPrefix("R_AARCH64_") }) else { continue }
                counts[String(t), default: 0] += 1
            }
        }
        try? FileManager.default.removeItem(at: plain)
        return counts
    }

    /// Every module of each Debian package (5.10, 6.1 .ko; 6.12, 7.x .ko.xz) links with zero
    /// failures in branch range of the kernel (64 MiB below it: no PLT) and out of it (1 GiB below:
    /// PLTs, PREL32 still within ±2 GiB), laid out in the kernel's pages (16 KiB for trixie-16k);
    /// per-type counts equal llvm-readelf's.
    @Test(.enabled(if: !DebianSuite.present.isEmpty), arguments: DebianSuite.present)
    func everyModuleLinksInRangeAndThroughPLTs(_ s: DebianSuite) throws {
        let dir = s.modules
        let files = (FileManager.default.enumerator(atPath: dir)!.compactMap { $0 as? String })
            .filter { $0.hasSuffix(".ko") || $0.hasSuffix(".ko.xz") }.map { dir + "/" + $0 }
        #expect(files.count > 1000)
        let oracle = try oracleCounts(files)
        let kernel = try KernelImage.load(path: s.kernel), kernelBase = kernel.linkBase
        let pageSize = try #require(kernel.header?.flags.pageSize.bytes)
        #expect(kernelBase >= 0xffff_0000_0000_0000 && (pageSize == 16384) == (s.suite == "trixie-16k"))
        // The 6.1 set also runs a third pass with the Cortex-A53 843419 fix (ADR or veneers for ADRPs at 0xff8/0xffc).
        var passes: [(UInt64, Bool, Bool)] = [(kernelBase - (64 << 20), false, false), (kernelBase - (1 << 30), true, false)]
        if s.suite == "bookworm" { passes.append((kernelBase - (1 << 30), true, true)) }
        for (base, farAway, erratum) in passes {
            let r = try slide(["link-module", "--all", dir, "--at", hex(base), "--undefined-at", hex(kernelBase), "--page-size", String(pageSize), "--json"]
                              + (erratum ? ["--fix-cortex-a53-843419"] : []))
            #expect(r.status == 0, "\(r.stdout.prefix(2000))\(r.stderr.prefix(2000))")
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

    /// `--kernel` takes Debian's vmlinuz as shipped: its exports come from kallsyms' names for the
    /// __ksymtab bounds (6.12+), and equal the `__ksymtab_NAME` symbols kallsyms lists; a module
    /// of the same package passes the loader's checks (vermagic, every CRC it imports); one built
    /// for another kernel is refused unless --force; 5.10/6.1 Images (text-only kallsyms) are refused.
    @Test(.enabled(if: !DebianSuite.present.isEmpty), arguments: DebianSuite.present)
    func rawVmlinuzResolvesModulesAsTheLoaderWould(_ s: DebianSuite) throws {
        let lib = s.modules + "/kernel/lib"
        let module = try #require((FileManager.default.enumerator(atPath: lib)!.compactMap { $0 as? String })
            .filter { $0.hasSuffix(".ko") || $0.hasSuffix(".ko.xz") }.sorted().first.map { lib + "/" + $0 })
        let k = try KernelImage.load(path: s.kernel)
        let base = hex(k.linkBase - (64 << 20))
        let r = try slide("link-module", module, "--at", base, "--kernel", s.kernel)
        guard s.version >= (6, 9) else {
            #expect(r.status == 1 && r.stderr.contains("kallsyms names no __start___ksymtab"), "\(r.stderr)")
            return
        }
        #expect(r.status == 0, "\(r.stderr)")
        let note = try #require(r.stderr.split(separator: "\n").first { $0.hasPrefix("slide: note: '\(module)': checked vermagic and ") })
        let crcs = try #require(Int(note.split(separator: " ")[6]))
        // With modversions (6.12; Debian's 7.x builds without) every export has a CRC and the module's imports are checked.
        let modversions = try #require(ModuleCompatibility.kernelVermagic(k)).contains("modversions")
        #expect((crcs > 0) == modversions && !note.contains("not checked"), "\(note)")
        // The exports: every `__ksymtab_NAME` kallsyms lists, no more, no fewer.
        let exports = try KernelExports.read(k)
        let listed = Set(try KallsymsTable.read(k).symbols.map(\.name).filter { $0.hasPrefix("__ksymtab_") }.map { String($0.dropFirst(10)) })
        #expect(exports.count > 10_000 && Set(exports.map(\.name)) == listed.subtracting(["strings"]), "\(exports.count) exports, \(listed.count) listed")
        #expect(exports.allSatisfy { ($0.crc != nil) == modversions })
        // A module of another package: its vermagic differs.
        let other = try #require(DebianSuite.present.first { $0.release != s.release && $0.version >= (6, 9) })
        let otherLib = other.modules + "/kernel/lib"
        let foreign = try #require((FileManager.default.enumerator(atPath: otherLib)!.compactMap { $0 as? String })
            .filter { $0.hasSuffix(".ko") || $0.hasSuffix(".ko.xz") }.sorted().first.map { otherLib + "/" + $0 })
        let refused = try slide("link-module", foreign, "--at", base, "--kernel", s.kernel)
        #expect(refused.status == 1 && refused.stderr.contains("vermagic '") && refused.stderr.contains("(the loader refuses it; --force links anyway)"), "\(refused.stderr)")
        let forced = try slide("link-module", foreign, "--at", base, "--kernel", s.kernel, "--force")
        #expect(!forced.stderr.contains("the loader refuses it") && forced.stderr.contains("--force: linked although vermagic"), "\(forced.stderr)")
    }

    /// A module's exports are PREL32 entries its `.rela__ksymtab` fills in (6.1's crc-t10dif.ko
    /// holds zeros there): inspect reads them after linking, and names exactly the symbols
    /// llvm-nm lists as `__ksymtab_NAME`, for the first 15 modules under lib/ in each package.
    @Test(.enabled(if: !DebianSuite.present.isEmpty), arguments: DebianSuite.present)
    func moduleExportsAreReadAfterTheirRelocations(_ s: DebianSuite) throws {
        let lib = s.modules + "/kernel/lib"
        let files = (FileManager.default.enumerator(atPath: lib)!.compactMap { $0 as? String })
            .filter { $0.hasSuffix(".ko") || $0.hasSuffix(".ko.xz") }.sorted().prefix(15)
        #expect(files.count == 15)
        let tmp = temporaryDirectory("exports")
        var exporting = 0
        for f in files {
            var plain = lib + "/" + f
            if f.hasSuffix(".xz") {
                plain = tmp.appendingPathComponent(String(f.dropLast(3)).replacingOccurrences(of: "/", with: "_")).path
                #expect(try run("sh", ["-c", "xz -dc \"$0\" > \"$1\"", lib + "/" + f, plain]).status == 0)
            }
            let r = try slide("inspect", "--json", lib + "/" + f)
            #expect(r.status == 0, "\(f): \(r.stderr)")
            let names = Set(((try? jsonObject(r.stdout))?["exports"] as? [[String: Any]] ?? []).compactMap { $0["name"] as? String })
            let nm = Set(try output("llvm-nm", [plain]).split(separator: "\n").compactMap { line -> String? in
                let w = line.split(separator: " ")
                return w.count == 3 && w[2].hasPrefix("__ksymtab_") && !w[2].hasPrefix("__ksymtab_strings") ? String(w[2].dropFirst(10)) : nil
            })
            #expect(names == nm, "\(f): slide \(names.sorted()), llvm-nm \(nm.sorted())")
            if !nm.isEmpty { exporting += 1 }
        }
        #expect(exporting >= 5, "lib/ modules export")
    }

    /// Debian's placeholder System.map (every package ships one) is refused in one line that says what to do.
    /// (sid's linux-binary package ships none at all.)
    static let withSystemMap: [(DebianSuite, String)] = DebianSuite.present.compactMap { s in
        let root = s.directory + "/root"
        return (FileManager.default.enumerator(atPath: root)?.compactMap { $0 as? String })?
            .first { URL(fileURLWithPath: $0).lastPathComponent.hasPrefix("System.map") }.map { (s, $0) }
    }

    @Test(.enabled(if: !withSystemMap.isEmpty), arguments: withSystemMap.map(\.0))
    func placeholderSystemMapIsRefused(_ s: DebianSuite) throws {
        let root = s.directory + "/root"
        let map = try #require(Self.withSystemMap.first { $0.0.suite == s.suite }?.1)
        let module = try #require((FileManager.default.enumerator(atPath: s.modules)!.compactMap { $0 as? String })
            .first { $0.hasSuffix(".ko") || $0.hasSuffix(".ko.xz") })
        let r = try slide("link-module", s.modules + "/" + module, "--at", "0xffff800000000000", "--symbols", root + "/" + map)
        #expect(r.status == 1 && r.stdout.isEmpty)
        let lines = r.stderr.split(separator: "\n")
        #expect(lines.count == 1 && lines[0].hasPrefix("slide: error: '\(root)/\(map)': a placeholder, not a symbol map"), "\(r.stderr)")
    }

    /// A module placed farther from the kernel than PREL32 reaches fails cleanly: errors on stderr
    /// (capped), the reason names the distance, the summary names the module, nothing is written.
    @Test(.enabled(if: !DebianSuite.present.isEmpty))
    func tooFarFromTheKernelFailsCleanly() throws {
        let s = DebianSuite.present[0]
        let module = try #require((FileManager.default.enumerator(atPath: s.modules)!.compactMap { $0 as? String })
            .first { $0.hasSuffix("/nf_tables.ko") || $0.hasSuffix("/nf_tables.ko.xz") })
        let out = temporaryDirectory("far").appendingPathComponent("nf_tables.core").path
        let r = try slide("link-module", s.modules + "/" + module, "--at", "0xffff700000000000", "--undefined-at", "0xffff800080000000",
                          "--max-errors", "3", "-o", out)
        #expect(r.status == 1)
        let errors = r.stderr.split(separator: "\n")
        #expect(errors.count == 5, "3 errors, 1 'more not shown', 1 summary: \(r.stderr)")
        #expect(errors.prefix(3).allSatisfy { $0.hasPrefix("slide: error: '\(s.modules)/\(module)': ") && $0.contains(" reaches ±") && $0.contains("place it (--at) within that distance") })
        #expect(errors[3].contains("more link errors not shown"))
        #expect(!FileManager.default.fileExists(atPath: out) && !FileManager.default.fileExists(atPath: out + ".init"))
        let dir = temporaryDirectory("far-all")
        try FileManager.default.copyItem(atPath: s.modules + "/" + module, toPath: dir.appendingPathComponent(URL(fileURLWithPath: module).lastPathComponent).path)
        let all = try slide("link-module", "--all", dir.path, "--at", "0xffff700000000000", "--undefined-at", "0xffff800080000000", "--json", "--max-errors", "1")
        #expect(all.status == 1)
        let doc = try jsonObject(all.stdout)
        let failures = try #require(doc["failures"] as? [[String: Any]])
        #expect(failures.contains { ($0["modules"] as? [[String: Any]])?.first?["module"] as? String == URL(fileURLWithPath: module).lastPathComponent })
        let errorsByModule = try #require(doc["errors"] as? [[String: Any]])
        #expect((errorsByModule.first?["errors"] as? [String])?.first?.contains("0x") == true, "every number intact")
    }
}

extension DebianModules {
    /// Modules compressed by xz, zstd and gzip (the real tools; packages other than Debian's ship
    /// .ko.xz / .ko.zst) link exactly as the plain files: same summary, same bytes.
    @Test(.enabled(if: TestData.debianKernel, TestData.missingDebian)) func compressedModulesLinkAsPlainOnes() throws {
        let dir = try #require(try modulesDirectory())
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

/// `link-module --all` groups failures by reason, and the reason keeps what tells them apart:
/// the relocation type and its range (the place, the value and the symbol vary).
@Suite struct FailureReasons {
    @Test func reasonKeepsTypeAndLimit() {
        let line = ".rela.text entry 2: .text+0x40: relocation R_AARCH64_CALL26 at 0xffff800040000040 out of range: 0x8000004 is not in [-0x8000000, 0x7ffffff] against foo"
        #expect(ModuleSummary.reason(line) == "relocation R_AARCH64_CALL26 at N out of range: N is not in [-0x8000000, 0x7ffffff]")
        let other = ".rela.text entry 9: .init.text+0x8: relocation R_AARCH64_ADR_PREL_PG_HI21 at 0xffff800040000300 out of range: -0x800040000000 is not in [-0x100000000, 0xffffffff] against bar"
        #expect(ModuleSummary.reason(other) == "relocation R_AARCH64_ADR_PREL_PG_HI21 at N out of range: N is not in [-0x100000000, 0xffffffff]")
    }
}
