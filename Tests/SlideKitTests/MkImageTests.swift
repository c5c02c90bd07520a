// slide mkimage: objcopy -O binary semantics (llvm-objcopy is the oracle), refusals with
// reasons, RELR repacking that relocates identically, zeroed places, a sorted __ex_table.

import Foundation
import Testing
@testable import SlideCore
@testable import SlideKit

/// The mini kernel's source in `dir` with its Image header (Tests/Fixtures/image-header.S) edited:
/// the copy's `#include "image-header.S"` finds the edited header next to it first.
func miniKernel(in dir: URL, header edit: (String) -> String) throws -> String {
    let fixtures = repoRoot.appendingPathComponent("Tests/Fixtures")
    let header = try String(contentsOf: fixtures.appendingPathComponent("image-header.S"), encoding: .utf8)
    let edited = edit(header)
    #expect(edited != header, "the edit applies")
    try edited.write(to: dir.appendingPathComponent("image-header.S"), atomically: true, encoding: .utf8)
    let copy = dir.appendingPathComponent("mini.S").path
    try FileManager.default.copyItem(atPath: fixtures.appendingPathComponent("mini-kernel.S").path, toPath: copy)
    return copy
}

@Suite struct MkImage {
    func build(_ elf: String, _ extra: [String] = []) throws -> (ToolResult, String) {
        let out = temporaryDirectory("mkimage").appendingPathComponent("Image").path
        return (try slide(["mkimage", elf, "-o", out] + extra), out)
    }

    @Test(arguments: ["rela", "relr"])
    func flatImageMatchesObjcopy(variant: String) throws {
        let f = try fixtures()
        let (r, out) = try build(variant == "rela" ? f.miniRelaELF : f.miniRelrELF)
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("NOT sealed"))   // the mini kernel has no slide_seal placeholder
        #expect(try readBytes(out) == readBytes(variant == "rela" ? f.miniRelaImage : f.miniRelrImage))
    }

    /// RELA → RELR in place (Slide kernel: the boot code reads the bounds from the seal): the packed
    /// image relocates exactly like the original at any slide, and a seal-less image is refused.
    @Test(.enabled(if: TestData.slideKernel, TestData.missingKernel)) func packRelrRelocatesIdentically() throws {
        let f = try fixtures()
        let (refused, _) = try build(f.miniRelaELF, ["--pack-relr"])
        #expect(refused.status == 1 && refused.stderr.contains("--pack-relr needs a slide_seal placeholder"))
        let elf = repoRoot.appendingPathComponent(".build/kernel/rela/slide-kernel.elf").path
        let (r, packed) = try build(elf, ["--pack-relr", "--json"])
        #expect(r.status == 0, "\(r.stderr)")
        let doc = try jsonObject(r.stdout)
        let original = try KernelImage.load(path: try #require(try kernelImage("rela")))
        let relative = try RelrTool.relativePlaces(of: original).count
        #expect(doc["rela_entries"] as? Int == 0)
        #expect(doc["relr_places"] as? Int == relative)
        #expect((doc["relr_saved_bytes"] as? Int ?? 0) > relative * 16)
        let k = try KernelImage.load(path: packed)
        #expect(k.relr?.source == SealRecognizer.source && k.rela == nil)
        let table = original.rela!.imageOffset..<(original.rela!.imageOffset + original.rela!.size)
        let seal = original.rela!.evidence!
        for slide in [UInt64(0), 0x20_0000, 0x1234_5000] {
            let a = try Relocator.relocate(k, displacement: slide).bytes
            let b = try Relocator.relocate(original, displacement: slide).bytes
            for o in stride(from: 0, to: a.count - 7, by: 8) where !table.contains(o) && !(seal..<(seal + 64)).contains(o) {
                #expect(u64(a, o) == u64(b, o), "word \(hex(UInt64(o))) at slide \(hex(slide))")
            }
        }
        // And it boots.
        var o = BootOptions()
        o.seed = 0xabc
        let boot = try Booter.boot(packed, o)
        #expect(boot.status == 0 && boot.value(.relocsRelr) == String(relative) && boot.value(.relocsRela) == "0")
    }

    @Test func zeroRelocatedPlaces() throws {
        let f = try fixtures()
        let dir = temporaryDirectory("zero")
        // Link with --apply-dynamic-relocs so places hold values, then ask mkimage to zero them.
        let elf = dir.appendingPathComponent("applied.elf").path
        #expect(try run("ld.lld", ["-pie", "-z", "notext", "--no-dynamic-linker", "--apply-dynamic-relocs", "-T",
                                   repoRoot.appendingPathComponent("Tests/Fixtures/mini-kernel.lds").path,
                                   f.dir.appendingPathComponent("mini.o").path, "-o", elf]).status == 0)
        let (r, out) = try build(elf, ["--zero-relocated-places"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(try readBytes(out) == readBytes(f.miniRelaImage))
    }

    @Test func refusals() throws {
        let f = try fixtures()
        let dir = temporaryDirectory("refuse")
        func expectRefusal(_ elf: String, _ text: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
            let (r, out) = try build(elf)
            #expect(r.status == 1, sourceLocation: sourceLocation)
            #expect(r.stderr.hasPrefix("slide: error: '\(elf)': ") && r.stderr.contains(text), "\(r.stderr)", sourceLocation: sourceLocation)
            #expect(!FileManager.default.fileExists(atPath: out), sourceLocation: sourceLocation)
        }
        // Not ET_DYN: the same object linked without -pie.
        let exec = dir.appendingPathComponent("exec.elf").path
        #expect(try run("ld.lld", ["-T", repoRoot.appendingPathComponent("Tests/Fixtures/mini-kernel.lds").path,
                                   f.dir.appendingPathComponent("mini.o").path, "-o", exec]).status == 0)
        try expectRefusal(exec, "not ET_DYN")
        // PLT entries and symbol-based relocations: the PIE that calls into a shared library.
        try expectRefusal(f.pieRela, "1 PLT relocation(s) in .rela.plt")
        // A relocation inside the Image header.
        let s = try miniKernel(in: dir) { $0.replacingOccurrences(of: "    .quad   0, 0, 0                     // res2-res4", with: "    .quad   primary_entry, 0, 0") }
        let o = dir.appendingPathComponent("hdr.o").path, e = dir.appendingPathComponent("hdr.elf").path
        #expect(try run("clang", ["--target=aarch64-linux-gnu", "-c", "-I", repoRoot.appendingPathComponent("Tests/Fixtures").path, s, "-o", o]).status == 0)
        #expect(try run("ld.lld", ["-pie", "-z", "notext", "--no-dynamic-linker", "-T",
                                   repoRoot.appendingPathComponent("Tests/Fixtures/mini-kernel.lds").path, o, "-o", e]).status == 0)
        try expectRefusal(e, "inside the Image header")
        // A symbolic ABS64 (a pointer to a shared library's data): refused unless --allow-symbolic.
        let lib = dir.appendingPathComponent("l.s").path, libObject = dir.appendingPathComponent("l.o").path, so = dir.appendingPathComponent("l.so").path
        try ".data\n.globl external_thing\nexternal_thing: .quad 1\n".write(toFile: lib, atomically: true, encoding: .utf8)
        #expect(try run("clang", ["--target=aarch64-linux-gnu", "-c", lib, "-o", libObject]).status == 0)
        #expect(try run("ld.lld", ["-shared", libObject, "-o", so]).status == 0)
        // (A folder of its own: `dir` holds the edited image-header.S the include would find first.)
        let absDir = temporaryDirectory("mkimage-abs")
        let absSource = absDir.appendingPathComponent("abs.S").path, absObject = absDir.appendingPathComponent("abs.o").path
        let absELF = absDir.appendingPathComponent("abs.elf").path
        let plain = try String(contentsOf: repoRoot.appendingPathComponent("Tests/Fixtures/mini-kernel.S"), encoding: .utf8)
        try (plain + "\n    .data\n    .balign 8\n    .quad   external_thing\n").write(toFile: absSource, atomically: true, encoding: .utf8)
        #expect(try run("clang", ["--target=aarch64-linux-gnu", "-c", "-I", repoRoot.appendingPathComponent("Tests/Fixtures").path, absSource, "-o", absObject]).status == 0)
        #expect(try run("ld.lld", ["-pie", "-z", "notext", "--no-dynamic-linker", "-T",
                                   repoRoot.appendingPathComponent("Tests/Fixtures/mini-kernel.lds").path, absObject, so, "-o", absELF]).status == 0)
        #expect(try output("llvm-readelf", ["-r", absELF]).contains("R_AARCH64_ABS64"))
        try expectRefusal(absELF, "only R_AARCH64_RELATIVE")
        let (allowed, allowedOut) = try build(absELF, ["--allow-symbolic"])
        #expect(allowed.status == 0 && (allowed.stdout + allowed.stderr).contains("1 symbol-based entries left untouched"), "\(allowed.stderr)")
        #expect(FileManager.default.fileExists(atPath: allowedOut))
        // A header that disagrees with --page-size.
        let (p, _) = try build(f.miniRelaELF, ["--page-size", "65536"])
        #expect(p.status == 1 && p.stderr.contains("page size 4K differs from --page-size 64K"))
    }

    /// __ex_table: 12-byte relative entries, sorted by the address their insn field names.
    @Test func exceptionTableIsSorted() throws {
        let dir = temporaryDirectory("extable")
        var src = try String(contentsOf: repoRoot.appendingPathComponent("Tests/Fixtures/mini-kernel.S"), encoding: .utf8)
        src += """

                .section __ex_table, "a"
                .balign 4
                .long   after_relocation - ., relocate_kernel - ., 0x20003
                .long   primary_entry - ., after_relocation - ., 0x10002
                .long   relocate_kernel + 8 - ., primary_entry - ., 0x30004
            """
        let s = dir.appendingPathComponent("ex.S").path, o = dir.appendingPathComponent("ex.o").path, e = dir.appendingPathComponent("ex.elf").path
        try src.write(toFile: s, atomically: true, encoding: .utf8)
        #expect(try run("clang", ["--target=aarch64-linux-gnu", "-c", "-I", repoRoot.appendingPathComponent("Tests/Fixtures").path, s, "-o", o]).status == 0)
        let lds = try String(contentsOf: repoRoot.appendingPathComponent("Tests/Fixtures/mini-kernel.lds"), encoding: .utf8)
            .replacingOccurrences(of: "    .rela.dyn :", with: "    __ex_table : ALIGN(4) { *(__ex_table) }\n    .rela.dyn :")
        let l = dir.appendingPathComponent("ex.lds").path
        try lds.write(toFile: l, atomically: true, encoding: .utf8)
        #expect(try run("ld.lld", ["-pie", "-z", "notext", "--no-dynamic-linker", "-T", l, o, "-o", e]).status == 0)
        let (r, out) = try build(e, ["--json"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(try jsonObject(r.stdout)["extable_entries"] as? Int == 3)
        let elfText = try output("llvm-readelf", ["-S", "-W", e])
        let line = try #require(elfText.split(separator: "\n").first { $0.contains("__ex_table") })
        let cols = line.split(separator: " ")
        let i = cols.firstIndex(of: "__ex_table")!
        let start = Int(UInt64(cols[i + 2], radix: 16)! - 0xffff_8000_0800_0000)
        let b = try readBytes(out)
        func s32(_ o: Int) -> Int { Int(Int32(bitPattern: UInt32(b[o]) | UInt32(b[o + 1]) << 8 | UInt32(b[o + 2]) << 16 | UInt32(b[o + 3]) << 24)) }
        let entries = (0..<3).map { j -> (Int, Int, Int) in
            let o = start + j * 12
            return (o + s32(o), o + 4 + s32(o + 4), s32(o + 8))
        }
        #expect(entries.map(\.0) == entries.map(\.0).sorted(), "sorted by insn address")
        // Each insn keeps its fixup and type/data: primary_entry (0x1000) → after_relocation, type 2.
        #expect(entries[0].0 == 0x1000 && entries[0].2 == 0x10002)
        #expect(entries.map(\.2) == [0x10002, 0x20003, 0x30004]) // primary_entry 0x1000, after_relocation 0x1010, relocate_kernel+8 0x101c
        // inspect and verify check the ELF's table: entry 1 is out of order; a table whose fixup
        // leaves the text is named too.
        let v = try slide("verify", e)
        #expect(v.status == 1 && v.stdout.contains("error: __ex_table: entry 1 (insn 0xffff800008001000) is out of order: the table is not sorted [extable-invalid]"),
                "\(v.stdout)")
        #expect(try slide("inspect", e).stdout.contains("Exception table:  __ex_table, 3 relative 12-byte entries: entry 1"))
        let outside = src.replacingOccurrences(of: "primary_entry - ., after_relocation - ., 0x10002", with: "primary_entry - ., ops_table - ., 0x10002")
            .replacingOccurrences(of: "    .long   after_relocation - ., relocate_kernel - ., 0x20003\n", with: "")
        try outside.write(toFile: s, atomically: true, encoding: .utf8)
        #expect(try run("clang", ["--target=aarch64-linux-gnu", "-c", "-I", repoRoot.appendingPathComponent("Tests/Fixtures").path, s, "-o", o]).status == 0)
        #expect(try run("ld.lld", ["-pie", "-z", "notext", "--no-dynamic-linker", "-T", l, o, "-o", e]).status == 0)
        let w = try slide("verify", e)
        #expect(w.status == 1 && w.stdout.contains("error: __ex_table: entry 0: fixup 0xffff800008002000 is outside the kernel text [extable-invalid]"), "\(w.stdout)")
    }
}

@Suite struct MkImageHeaderAndCheck {
    func build(_ elf: String, _ extra: [String] = []) throws -> (ToolResult, String) { try MkImage().build(elf, extra) }

    /// A header placeholder (image_size 0, flags 0) is filled in: the fixup step.
    /// Linux's image_size is `_end - _text` with `_end` aligned past the last section (booting.rst:
    /// the loader leaves image_size bytes free): mkimage accepts that and says so, and refuses an
    /// image_size smaller than the ELF's extent. The ELFs are the recognizer fixture relinked with
    /// a script whose `_end` is aligned to 64 KiB, or whose size is one page short.
    @Test func imageSizePastTheExtentIsAcceptedShortOfItRefused() throws {
        let src = repoRoot.appendingPathComponent("Tests/Fixtures/recognizers").path
        let dir = temporaryDirectory("image-size")
        func path(_ n: String) -> String { dir.appendingPathComponent(n).path }
        #expect(try run("clang", ["--target=aarch64-linux-gnu", "-c", "-I", src, "\(src)/head-s-adrp-add.S", "-o", path("k.o")]).status == 0)
        let script = try String(contentsOfFile: "\(src)/fixture.lds", encoding: .utf8)
        let past = script.replacingOccurrences(of: "    . = ALIGN(0x1000);\n    _end = .;", with: "    . = ALIGN(0x10000);\n    _end = .;")
        let short = script.replacingOccurrences(of: "ABSOLUTE(_end - _text)", with: "ABSOLUTE(_end - _text - 0x1000)")
        #expect(past != script && short != script)
        for (name, text) in [("past", past), ("short", short)] {
            try text.write(toFile: path("\(name).lds"), atomically: true, encoding: .utf8)
            let link = try run("ld.lld", ["-pie", "-z", "notext", "--no-dynamic-linker", "--no-apply-dynamic-relocs", "-T", path("\(name).lds"),
                                          path("k.o"), "-o", path("\(name).elf")])
            #expect(link.status == 0, "\(link.stderr)")
        }
        let extent = try KernelImage.load(path: path("past.elf")).memorySize
        let (ok, image) = try build(path("past.elf"))
        #expect(ok.status == 0, "\(ok.stderr)")
        #expect(ok.stdout.contains("past the ELF's extent \(hex(extent))"), "\(ok.stdout)")
        let header = try #require(try KernelImage.load(path: image).header)
        #expect(header.imageSize > extent && header.imageSize % 0x10000 == 0)
        let shortSize = try #require(try KernelImage.load(path: path("short.elf")).header).imageSize
        #expect(shortSize < extent)
        let (refused, shortImage) = try build(path("short.elf"))
        #expect(refused.status == 1)
        #expect(refused.stderr == "slide: error: '\(path("short.elf"))': Image header disagrees with the ELF: image_size \(hex(shortSize)) is smaller than the ELF's extent \(hex(extent))\n")
        #expect(!FileManager.default.fileExists(atPath: shortImage))
    }

    /// Each Slide kernel's header flags say its granule, and mkimage checks them against the ELF's
    /// PAGE_SIZE symbol: a 64 KiB kernel whose header claims 4 KiB pages is refused.
    @Test(.enabled(if: TestData.slideKernel, TestData.missingKernel))
    func pageSizeFlagsMatchTheKernelsGranule() throws {
        for (variant, bytes) in [("rela", 4096), ("rela-16k", 16384), ("rela-64k", 65536)] {
            let k = try KernelImage.load(path: try #require(try kernelImage(variant)))
            #expect(k.header?.flags.pageSize.bytes == UInt64(bytes), "\(variant)")
        }
        let elf = repoRoot.appendingPathComponent(".build/kernel/rela-64k/slide-kernel.elf").path
        let head = try #require(try output("llvm-readelf", ["-S", "-W", elf]).split(separator: "\n").first { $0.contains(" .head.text ") })
        let cols = head.split(separator: " ", omittingEmptySubsequences: true)
        let fileOffset = try #require(Int(cols[cols.firstIndex(of: ".head.text")! + 3], radix: 16))
        var bytes = try readBytes(elf)
        bytes[fileOffset + 0x18] = 0xa // flags: 4K pages, placement anywhere
        let lying = temporaryDirectory("page-size").appendingPathComponent("k.elf").path
        try Data(bytes).write(to: URL(fileURLWithPath: lying))
        let (r, out) = try build(lying)
        #expect(r.status == 1 && r.stderr.contains("flags page size 4K differs from the ELF's PAGE_SIZE 64K"), "\(r.stderr)")
        #expect(!FileManager.default.fileExists(atPath: out))
    }

    /// A sealed Slide Image names its __ex_table in the seal: inspect and verify check it without
    /// section headers (its entries as many as the ELF section holds).
    @Test(.enabled(if: TestData.slideKernel, TestData.missingKernel))
    func sealedImageNamesItsExceptionTable() throws {
        let image = try #require(try kernelImage("rela"))
        let elf = URL(fileURLWithPath: image).deletingLastPathComponent().appendingPathComponent("slide-kernel.elf").path
        let section = try #require(try sectionHeader(elf, "__ex_table"))
        let doc = try jsonObject(try slide("inspect", "--json", image).stdout)
        let table = try #require(doc["exception_table"] as? [String: Any])
        #expect(table["entries"] as? Int == Int(section.size / 12) && table["problem"] is NSNull)
        #expect(try slide("verify", image).status == 0)
    }

    @Test func fillsAPlaceholderHeader() throws {
        let f = try fixtures()
        let dir = temporaryDirectory("placeholder")
        let s = try miniKernel(in: dir) {
            $0.replacingOccurrences(of: "    .quad   _kernel_size                // image_size (absolute linker-script symbol: no reloc)\n    .quad   _kernel_flags               // flags",
                                    with: "    .quad   0\n    .quad   0")
        }
        let o = dir.appendingPathComponent("p.o").path, e = dir.appendingPathComponent("p.elf").path
        #expect(try run("clang", ["--target=aarch64-linux-gnu", "-c", "-I", repoRoot.appendingPathComponent("Tests/Fixtures").path, s, "-o", o]).status == 0)
        #expect(try run("ld.lld", ["-pie", "-z", "notext", "--no-dynamic-linker", "--no-apply-dynamic-relocs", "-T",
                                   repoRoot.appendingPathComponent("Tests/Fixtures/mini-kernel.lds").path, o, "-o", e]).status == 0)
        let out = dir.appendingPathComponent("Image").path
        let r = try slide("mkimage", e, "-o", out, "--page-size", "16384")
        #expect(r.status == 0 && r.stdout.contains("filled the header placeholder"), "\(r.stderr)")
        let h = try KernelImage.load(path: out).header!
        let reference = try KernelImage.load(path: f.miniRelaImage)
        #expect(h.imageSize == reference.header!.imageSize)
        #expect(h.flags.rawValue == 0xc) // LE, 16K, placement anywhere
    }

    @Test(.enabled(if: TestData.slideKernel, TestData.missingKernel)) func checkLintsAnImage() throws {
        let image = try #require(try kernelImage("rela"))
        let ok = try slide("mkimage", "--check", image)
        #expect(ok.status == 0 && ok.stdout.contains("seal: ok"), "\(ok.stdout)\(ok.stderr)")
        var b = try readBytes(image)
        b[0x1100] ^= 1
        let bad = temporaryDirectory("check").appendingPathComponent("Image").path
        try Data(b).write(to: URL(fileURLWithPath: bad))
        let r = try slide("mkimage", "--check", bad)
        #expect(r.status == 1 && r.stdout.contains("seal: mismatch") && r.stderr.contains("check failed: the seal does not match the image"))
    }

    /// An Image without a seal is a finding, not a failure, unless --require-seal.
    @Test func unsealedIsAWarningUnlessRequired() throws {
        let f = try fixtures()
        let plain = try slide("mkimage", "--check", f.miniRelaImage)
        #expect(plain.status == 0 && plain.stdout.contains("warning: not sealed") && plain.stdout.contains("[not-sealed]"), "\(plain.stdout)\(plain.stderr)")
        let required = try slide("mkimage", "--check", "--require-seal", f.miniRelaImage)
        #expect(required.status == 1 && required.stdout.contains("error: not sealed") && required.stderr.contains("check failed: not sealed (--require-seal)"))
    }
}
