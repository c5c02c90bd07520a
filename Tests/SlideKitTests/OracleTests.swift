// slide against independent tools: llvm-readelf (listing), ld.lld (relocation results).

import Foundation
import Testing
@testable import SlideKit

/// llvm-readelf's output without the per-file banner.
func readelf(_ args: [String]) throws -> String {
    let r = try run("llvm-readelf", args)
    #expect(r.status == 0, "llvm-readelf \(args): \(r.stderr)")
    return r.stdout.split(separator: "\n", omittingEmptySubsequences: false)
        .filter { !$0.hasPrefix("File: ") }.joined(separator: "\n")
}

@Suite struct ReadelfOracle {
    @Test(arguments: ["pieRela", "pieRelr", "pieAndroidRelr", "miniRelaELF", "miniRelrELF"])
    func relocsMatchLlvmReadelf(fixture: String) throws {
        let f = try fixtures()
        let path = ["pieRela": f.pieRela, "pieRelr": f.pieRelr, "pieAndroidRelr": f.pieAndroidRelr,
                    "miniRelaELF": f.miniRelaELF, "miniRelrELF": f.miniRelrELF][fixture]!
        let ours = try slide("relocs", path)
        #expect(ours.status == 0, "\(ours.stderr)")
        let oracle = try readelf(["-r", path])
        #expect(ours.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == oracle.trimmingCharacters(in: .whitespacesAndNewlines))
        // And the encoded words.
        let raw = try slide("relocs", "--raw-relr", path)
        let rawOracle = try readelf(["-r", "--raw-relr", path])
        #expect(raw.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == rawOracle.trimmingCharacters(in: .whitespacesAndNewlines))
    }

    /// The fixtures must exercise what the comparison claims to cover.
    @Test func fixturesCoverTheTypes() throws {
        let f = try fixtures()
        let rela = try slide("relocs", f.pieRela).stdout
        for t in ["R_AARCH64_RELATIVE", "R_AARCH64_ABS64", "R_AARCH64_JUMP_SLOT", "weak_thing + 0", "ext_data + 8"] {
            #expect(rela.contains(t), "\(t) missing from the RELA fixture")
        }
        let relr = try slide("relocs", f.pieRelr).stdout
        #expect(relr.contains("'.relr.dyn'"))
        let android = try slide("relocs", "--raw-relr", f.pieAndroidRelr).stdout
        #expect(android.contains("'.relr.dyn'"))
    }

    /// The JSON listing carries the same entries as the text.
    @Test func jsonMatchesText() throws {
        let f = try fixtures()
        let doc = try jsonObject(try slide("relocs", "--json", f.pieRela).stdout)
        #expect(doc["schema"] as? String == "slide/v1")
        let sections = try #require(doc["sections"] as? [[String: Any]])
        let dyn = try #require(sections.first { $0["name"] as? String == ".rela.dyn" })
        let entries = try #require(dyn["entries"] as? [[String: Any]])
        // llvm-readelf's .rela.dyn rows: the lines after its heading, up to the blank line.
        let oracle = try readelf(["-r", f.pieRela]).split(separator: "\n", omittingEmptySubsequences: false)
        let relaDynLines = oracle.drop { !$0.contains("'.rela.dyn'") }.dropFirst(2).prefix { !$0.isEmpty }
        #expect(entries.count > 5 && entries.count == relaDynLines.count && dyn["count"] as? Int == entries.count)
        for (e, line) in zip(entries, relaDynLines) {
            #expect(hexValue(e["offset"]) == UInt64(line.prefix(16), radix: 16))
            #expect(line.contains(e["type"] as! String))
        }
    }
}

@Suite struct MiniKernel {
    /// The head.S ADRP/ADD recognizer finds exactly the sections ld.lld laid out (llvm-readelf -S is the oracle).
    @Test(arguments: [false, true])
    func recognizerFindsTheLinkedTables(relr: Bool) throws {
        let f = try fixtures()
        let elf = relr ? f.miniRelrELF : f.miniRelaELF
        let image = relr ? f.miniRelrImage : f.miniRelaImage
        var sections: [String: (UInt64, UInt64)] = [:]
        for name in [".rela.dyn", ".relr.dyn"] {
            if let h = try sectionHeader(elf, name) { sections[name] = h }
        }
        let k = try KernelImage.load(path: image)
        #expect(k.linkBase == 0xffff_8000_0800_0000)
        #expect(k.linkBaseSource == .codeConstant, "\(k.linkBaseReason)")
        #expect(k.rela?.source == HeadSAdrpAdd.source && k.relr?.source == HeadSAdrpAdd.source && k.rela?.proven == true)
        #expect(k.linkBase + UInt64(k.rela!.imageOffset) == sections[".rela.dyn"]!.0)
        #expect(UInt64(k.rela!.size) == sections[".rela.dyn"]!.1)
        // ld.lld gives an empty section the next section's address: compare the size, and the address when non-empty.
        #expect(UInt64(k.relr!.size) == (sections[".relr.dyn"]?.1 ?? 0))
        if relr { #expect(k.linkBase + UInt64(k.relr!.imageOffset) == sections[".relr.dyn"]!.0) }
        // Same tables from the ELF and from the Image made from it.
        let fromELF = try RelrTool.relativePlaces(of: try KernelImage.load(path: elf))
        #expect(try RelrTool.relativePlaces(of: k) == fromELF)
        #expect(fromELF.count > 40)
    }

    /// slide relocate on the Image equals ld.lld linking the same object at base + slide
    /// (with --apply-dynamic-relocs, so lld writes every place), except inside the tables,
    /// whose r_offset/addend fields name link-time addresses.
    @Test(arguments: [false, true])
    func relocateMatchesLldAtTheNewBase(relr: Bool) throws {
        let f = try fixtures()
        let dir = temporaryDirectory("lld-oracle")
        let script = try String(contentsOf: repoRoot.appendingPathComponent("Tests/Fixtures/mini-kernel.lds"), encoding: .utf8)
            .replacingOccurrences(of: "0xffff800008000000", with: "0xffff800009234000")
        let lds = dir.appendingPathComponent("moved.lds").path
        try script.write(toFile: lds, atomically: true, encoding: .utf8)
        let elf = dir.appendingPathComponent("moved.elf").path, ref = dir.appendingPathComponent("moved.Image").path
        let assembled = try run("clang", ["--target=aarch64-linux-gnu", "-c", repoRoot.appendingPathComponent("Tests/Fixtures/mini-kernel.S").path,
                                          "-o", dir.appendingPathComponent("m.o").path])
        try #require(assembled.status == 0, "\(assembled.stderr)")
        var args = ["-pie", "-z", "notext", "--no-dynamic-linker", "--apply-dynamic-relocs", "-T", lds,
                    dir.appendingPathComponent("m.o").path, "-o", elf]
        if relr { args += ["-z", "pack-relative-relocs"] }
        #expect(try run("ld.lld", args).status == 0)
        #expect(try run("llvm-objcopy", ["-O", "binary", elf, ref]).status == 0)

        let image = relr ? f.miniRelrImage : f.miniRelaImage
        let out = dir.appendingPathComponent("slid.Image").path
        let r = try slide("relocate", image, "--slide", "0x1234000", "-o", out)
        #expect(r.status == 0, "\(r.stderr)")
        let ours = try readBytes(out), theirs = try readBytes(ref), original = try readBytes(image)
        #expect(ours.count == theirs.count)
        let k = try KernelImage.load(path: image)
        // Skip the tables (they hold link-time addresses) and .dynamic (d_ptr values nobody relocates).
        var skip = [k.rela, k.relr].compactMap { $0 }.map { $0.imageOffset..<($0.imageOffset + $0.size) }
        skip.append(try #require(try sectionRange(elf, ".dynamic", base: 0xffff_8000_0923_4000)))
        #expect(skip.count == 3)
        let tables = skip
        var changed = 0
        for o in stride(from: 0, to: min(ours.count, theirs.count) - 7, by: 8) where !tables.contains(where: { $0.contains(o) }) {
            #expect(u64(ours, o) == u64(theirs, o), "word at \(String(o, radix: 16)) differs from ld.lld's")
            if u64(ours, o) != u64(original, o) { changed += 1 }
        }
        #expect(changed == (try RelrTool.relativePlaces(of: k)).count)
    }
}

@Suite struct StrippedELF {
    /// Without section headers, the dynamic section still names the tables: same places and
    /// addends as the unstripped file (whose listing llvm-readelf vouches for above).
    @Test(arguments: ["pieRela", "pieRelr", "miniRelaELF", "miniRelrELF"])
    func dynamicSectionFindsTheSameTables(fixture: String) throws {
        let f = try fixtures()
        let path = ["pieRela": f.pieRela, "pieRelr": f.pieRelr, "miniRelaELF": f.miniRelaELF, "miniRelrELF": f.miniRelrELF][fixture]!
        let stripped = temporaryDirectory("stripped").appendingPathComponent("stripped.elf").path
        #expect(try run("llvm-objcopy", ["--strip-sections", path, stripped]).status == 0)
        let k = try KernelImage.load(path: stripped)
        #expect(k.rela?.source ?? k.relr?.source == .elfDynamic)
        let full = try KernelImage.load(path: path)
        // The first PT_LOAD may start below the first allocated section (it maps the ELF headers too).
        #expect(k.linkBase <= full.linkBase)
        if fixture.hasPrefix("mini") { #expect(k.linkBase == full.linkBase) }
        #expect(try RelrTool.relativePlaces(of: k) == RelrTool.relativePlaces(of: full))
        func rows(_ k: KernelImage) throws -> [String] {
            try RelocListing.sections(of: k).filter { $0.name != ".rela.plt" }.flatMap { $0.rows.map { "\($0.offset) \($0.info) \(String(describing: $0.addend))" } }
        }
        #expect(try rows(k) == rows(full))
        #expect(try !rows(k).isEmpty)
    }
}
