// The command line as a user meets it: exit codes, one-line errors naming the file, no partial
// outputs, usage errors, and each verify check firing on a planted defect.

import Foundation
import Testing
@testable import SlideCore
@testable import SlideKit

@Suite struct CommandLineBehaviour {
    /// One line on stderr, `slide: error: 'FILE': ...`, exit 1, nothing on stdout.
    func expectCleanError(_ r: ToolResult, file: String, contains text: String, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(r.status == 1, "exit status", sourceLocation: sourceLocation)
        let lines = r.stderr.split(separator: "\n")
        #expect(lines.count == 1, "stderr: \(r.stderr)", sourceLocation: sourceLocation)
        #expect(r.stderr.hasPrefix("slide: error: '\(file)': "), "stderr: \(r.stderr)", sourceLocation: sourceLocation)
        #expect(r.stderr.contains(text), "stderr: \(r.stderr)", sourceLocation: sourceLocation)
        #expect(r.stdout.isEmpty, sourceLocation: sourceLocation)
    }

    @Test func hostileFiles() throws {
        let dir = temporaryDirectory("hostile")
        func file(_ name: String, _ bytes: [UInt8]) throws -> String {
            let p = dir.appendingPathComponent(name).path
            try Data(bytes).write(to: URL(fileURLWithPath: p))
            return p
        }
        let empty = try file("empty", [])
        let missing = dir.appendingPathComponent("missing").path
        let garbage = try file("garbage", Array(repeating: 0x41, count: 4096))
        var elfHeader = [UInt8](repeating: 0, count: 64)
        elfHeader.replaceSubrange(0..<7, with: [0x7f, 0x45, 0x4c, 0x46, 2, 1, 1])
        elfHeader[18] = 183
        elfHeader[40] = 0xff; elfHeader[41] = 0xff; elfHeader[42] = 0xff; elfHeader[43] = 0x7f // e_shoff far away
        elfHeader[58] = 64; elfHeader[60] = 0xff; elfHeader[61] = 0xff                          // e_shentsize, e_shnum
        let badELF = try file("bad.elf", elfHeader)
        let truncatedELF = try file("short.elf", [0x7f, 0x45, 0x4c, 0x46, 2, 1])
        let bigEndian = try file("be.elf", [0x7f, 0x45, 0x4c, 0x46, 2, 2] + Array(repeating: 0, count: 58))
        var image = [UInt8](repeating: 0, count: 64)
        image.replaceSubrange(0x38..<0x3c, with: [0x41, 0x52, 0x4d, 0x64])
        let headerOnly = try file("header-only.Image", image)

        for cmd in ["inspect", "relocs", "verify"] {
            expectCleanError(try slide(cmd, empty), file: empty, contains: "file is empty")
            expectCleanError(try slide(cmd, missing), file: missing, contains: "no such file")
            expectCleanError(try slide(cmd, dir.path), file: dir.path, contains: "is a directory")
            expectCleanError(try slide(cmd, garbage), file: garbage, contains: "not an ELF file, arm64 Image")
            expectCleanError(try slide(cmd, badELF), file: badELF, contains: "section header table")
            expectCleanError(try slide(cmd, truncatedELF), file: truncatedELF, contains: "needs 0x40 bytes but only 0x6 remain")
            expectCleanError(try slide(cmd, bigEndian), file: bigEndian, contains: "only little-endian")
        }
        // A bare header: no tables to relocate is an error for relocate and for verify (a kernel
        // Image always has them), a warning with --allow-no-table.
        let out = dir.appendingPathComponent("out").path
        expectCleanError(try slide("relocate", headerOnly, "--slide", "0x1000", "-o", out), file: headerOnly, contains: "no relocation table")
        #expect(!FileManager.default.fileExists(atPath: out), "no partial output")
        let v = try slide("verify", headerOnly)
        #expect(v.status == 1 && v.stdout.contains("error: no relocation table found") && v.stdout.contains("[no-relocation-table]"))
        let allowed = try slide("verify", "--allow-no-table", headerOnly)
        #expect(allowed.status == 0 && allowed.stdout.contains("warning: no relocation table found"), "\(allowed.stdout)")
    }

    @Test func usageErrorsExit64() throws {
        let f = try fixtures()
        #expect(try slide("relocate", f.miniRelaImage, "-o", "/tmp/x").status == 64)              // neither --slide nor --base
        #expect(try slide("relocate", f.miniRelaImage, "--slide", "1", "--base", "2", "-o", "/tmp/x").status == 64)
        #expect(try slide("relocate", f.miniRelaImage, "--slide", "zz", "-o", "/tmp/x").status == 64)
        #expect(try slide("inspect").status == 64)
        #expect(try slide("inspect", "--table-method", "guess", f.miniRelaImage).status == 64)
        #expect(try slide("frobnicate").status == 64)
        let help = try slide("relocate", "--help")
        #expect(help.status == 0 && help.stdout.contains("--slide") && help.stdout.contains("Examples"))
        // Every usage error is one `slide: error:` line that names the command's --help.
        for args in [["relocate", f.miniRelaImage, "--slide", "0x1ffffffffffffffffff", "-o", "/tmp/x"], ["kaslr", "--image", "x", "--cpu", "z80"],
                     ["relocate", f.miniRelaImage, "--slide", "-o", "/tmp/x"]] {
            let r = try slide(args)
            #expect(r.status == 64 && r.stderr.hasPrefix("slide: error: ") && r.stderr.split(separator: "\n").count == 1, "\(r.stderr)")
            #expect(r.stderr.contains("(see 'slide \(args[0]) --help')"))
        }
        let version = try slide("--version")
        #expect(version.status == 0 && version.stdout.hasPrefix("slide 0.") && version.stdout.contains("slide/v1"))
    }

    /// Negative numbers as separate arguments: --slide, --base and --link-base all take them.
    @Test func negativeValuesAsSeparateArguments() throws {
        let f = try fixtures()
        let dir = temporaryDirectory("negative")
        let a = dir.appendingPathComponent("a").path, b = dir.appendingPathComponent("b").path
        #expect(try slide("relocate", f.miniRelaImage, "--slide", "-0x200000", "-o", a).status == 0)
        let k = try KernelImage.load(path: f.miniRelaImage)
        let below = k.linkBase &- 0x20_0000
        // The same run-time base as a negative number: two's complement of the address.
        #expect(try slide("relocate", f.miniRelaImage, "--base", "-\(hex(0 &- below))", "-o", b).status == 0)
        #expect(try readBytes(a) == readBytes(b))
        let r = try slide("inspect", "--link-base", "-\(hex(0 &- k.linkBase))", f.miniRelaImage)
        #expect(r.status == 0 && r.stdout.contains(hex(k.linkBase)), "\(r.stderr)")
    }

    @Test func relocateRefusesToOverwriteItsInput() throws {
        let f = try fixtures()
        let dir = temporaryDirectory("inplace")
        let copy = dir.appendingPathComponent("Image").path
        try FileManager.default.copyItem(atPath: f.miniRelaImage, toPath: copy)
        let before = try readBytes(copy)
        let r = try slide("relocate", copy, "--slide", "0x200000", "-o", copy)
        #expect(r.status == 1 && r.stderr.contains("refusing to overwrite the input"))
        #expect(try readBytes(copy) == before)
        let ok = try slide("relocate", copy, "--slide", "0x200000", "--in-place")
        #expect(ok.status == 0)
        #expect(try readBytes(copy) != before)
        // Leaves no temporary files behind.
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path) == ["Image"])
        // --in-place never changes what kind of file the input is: not to an ELF, not a .gz to a raw Image.
        let elf = try slide("relocate", copy, "--slide", "0x200000", "--in-place", "--format", "elf")
        #expect(elf.status == 1 && elf.stderr.contains("--in-place would replace an Image with an ELF"), "\(elf.stderr)")
        #expect(try run("gzip", ["-k", copy]).status == 0)
        let gz = try readBytes(copy + ".gz")
        let raw = try slide("relocate", copy + ".gz", "--slide", "0x200000", "--in-place")
        #expect(raw.status == 1 && raw.stderr.contains("--in-place would replace a gzip file with a raw Image"), "\(raw.stderr)")
        #expect(try readBytes(copy + ".gz") == gz)
    }

    /// An ELF kernel spans image_size from its Image header (GNU ld can end the sections before
    /// _end: init_pg_dir): an addend inside image_size is no error, one past it is.
    @Test func verifyBoundsAnELFByItsImageSize() throws {
        let f = try fixtures()
        let k = try KernelImage.load(path: f.miniRelaELF)
        var b = try readBytes(f.miniRelaELF)
        let arm64: [UInt8] = Array("ARMd".utf8)
        let found: Int? = (0..<(b.count - 4)).first { (i: Int) -> Bool in Array(b[i..<(i + 4)]) == arm64 }
        let magic = try #require(found)
        func put(_ v: UInt64, at o: Int) { for i in 0..<8 { b[o + i] = UInt8(truncatingIfNeeded: v >> (8 * UInt64(i))) } }
        let imageSize = (k.memorySize + 0x1_ffff) & ~0xffff
        put(imageSize, at: magic - 0x38 + 16)
        let rela = try #require(k.rela)
        let relative: Int? = (0..<(rela.size / 24)).first { (i: Int) -> Bool in
            let o = rela.fileOffset + 24 * i + 8
            return b[o] == 0x03 && b[o + 1] == 0x04 // R_AARCH64_RELATIVE = 1027
        }
        let first = try #require(relative)
        let dir = temporaryDirectory("imagesize")
        for (addend, allowed) in [(k.linkBase + k.memorySize + 0x100, true), (k.linkBase + imageSize + 0x100, false)] {
            put(addend, at: rela.fileOffset + 24 * first + 16)
            let path = dir.appendingPathComponent("vmlinux-\(allowed)").path
            try Data(b).write(to: URL(fileURLWithPath: path))
            let v = try slide("verify", path)
            #expect(v.stdout.contains("[addend-outside-image]") != allowed, "\(hex(addend)): \(v.stdout)")
        }
    }

    /// --base and --slide agree; --format elf loads at the run-time address (llvm-readelf is the oracle).
    @Test func relocateBaseAndELFWrapper() throws {
        let f = try fixtures()
        let dir = temporaryDirectory("wrap")
        let a = dir.appendingPathComponent("a").path, b = dir.appendingPathComponent("b").path
        let e = dir.appendingPathComponent("k.elf").path
        #expect(try slide("relocate", f.miniRelrImage, "--slide", "0x40000000", "-o", a).status == 0)
        #expect(try slide("relocate", f.miniRelrImage, "--base", "0xffff800048000000", "-o", b).status == 0)
        #expect(try readBytes(a) == readBytes(b))
        #expect(try slide("relocate", f.miniRelrImage, "--base", "0xffff800048000000", "--format", "elf", "-o", e).status == 0)
        let ph = try output("llvm-readelf", ["-l", "-h", e]).lowercased()
        #expect(ph.contains("0xffff800048000000"))
        #expect(ph.contains("entry point address:               0xffff800048001000"))
        #expect(ph.contains("load           0x001000 0xffff800048000000 0xffff800048000000 0x003410 0x007000 rwe"))
        // The wrapped bytes are the relocated image, followed by the symbol and section tables.
        let wrapped = try readBytes(e), image = try readBytes(a)
        #expect(wrapped.count > 0x1000 + image.count && Array(wrapped[0x1000..<(0x1000 + image.count)]) == image)
        // No symbols in the mini kernel: one section covers the image (and BSS past its data).
        let sections = try output("llvm-readelf", ["-S", e])
        #expect(sections.contains(" .image ") && sections.contains(" .symtab ") && sections.contains(" .bss "), "\(sections)")
    }

    @Test func relrPackUnpack() throws {
        let f = try fixtures()
        let dir = temporaryDirectory("relr")
        // From the RELA kernel: pack its RELATIVE places; the RELR link of the same object is the oracle.
        let packed = try slide("relr", "pack", f.miniRelaImage)
        #expect(packed.status == 0)
        let oracle = try output("llvm-readelf", ["-r", "--raw-relr", f.miniRelrELF])
            .split(separator: "\n").drop { !$0.contains("'.relr.dyn'") }.dropFirst(2).prefix { !$0.isEmpty }
            .map { "0x" + String(UInt64($0, radix: 16)!, radix: 16) }
        #expect(packed.stdout.split(separator: "\n").map(String.init) == oracle)
        // Text in, binary out, and back.
        let places = dir.appendingPathComponent("places.txt").path
        // Numbers as on the command line: 0x hex, else decimal (65552 = 0x10010).
        try "# places\n0x10000 0x10008\n65552, 0x10100\n".write(toFile: places, atomically: true, encoding: .utf8)
        let bin = dir.appendingPathComponent("relr.bin").path
        #expect(try slide("relr", "pack", places, "--output-format", "binary", "-o", bin).status == 0)
        #expect(try readBytes(bin) == [0x00, 0x00, 0x01, 0, 0, 0, 0, 0, 0x07, 0, 0, 0, 1, 0, 0, 0])
        let back = try slide("relr", "unpack", bin, "--input-format", "binary")
        #expect(back.stdout == "0x10000\n0x10008\n0x10010\n0x10100\n")
        let bad = dir.appendingPathComponent("bad.txt").path
        try "0x1000 nothex\n".write(toFile: bad, atomically: true, encoding: .utf8)
        expectCleanError(try slide("relr", "pack", bad), file: bad, contains: "line 1: 'nothex' is not a number (0x-prefixed hex or decimal)")
        try "0x1000 0x1ffffffffffffffff\n".write(toFile: bad, atomically: true, encoding: .utf8)
        expectCleanError(try slide("relr", "pack", bad), file: bad, contains: "line 1: '0x1ffffffffffffffff' exceeds 64 bits")
        let odd = dir.appendingPathComponent("odd.txt").path
        try "0x1001\n".write(toFile: odd, atomically: true, encoding: .utf8)
        expectCleanError(try slide("relr", "pack", odd), file: odd, contains: "RELR place 0x1001 is not 2-byte aligned")
        let bitmapFirst = dir.appendingPathComponent("bm.txt").path
        try "0x3\n".write(toFile: bitmapFirst, atomically: true, encoding: .utf8)
        expectCleanError(try slide("relr", "unpack", bitmapFirst), file: bitmapFirst, contains: "RELR bitmap before any address word")
    }
}

/// Each verify check fires on a defect planted in the mini kernel Image (and only that check errs).
@Suite struct VerifyChecks {
    func plant(_ edit: (inout [UInt8], KernelImage) -> Void) throws -> (ToolResult, String) {
        let f = try fixtures()
        let k = try KernelImage.load(path: f.miniRelaImage)
        var bytes = try readBytes(f.miniRelaImage)
        edit(&bytes, k)
        let p = temporaryDirectory("plant").appendingPathComponent("Image").path
        try Data(bytes).write(to: URL(fileURLWithPath: p))
        return (try slide("verify", p), p)
    }

    func setU64(_ b: inout [UInt8], _ o: Int, _ v: UInt64) { for i in 0..<8 { b[o + i] = UInt8(truncatingIfNeeded: v >> (8 * UInt64(i))) } }

    @Test func cleanImagePasses() throws {
        let (r, _) = try plant { _, _ in }
        #expect(r.status == 0 && r.stdout.contains(": 0 errors, 0 warnings"))
    }

    @Test(arguments: [
        ("place-outside-image", 0, UInt64(0xffff_8000_1000_0000)),
        ("place-misaligned", 0, UInt64(0xffff_8000_0800_3005)), // odd: a 4-aligned place is only a warning (GNU ld 2.47 emits 2-aligned ones)
        ("place-in-header", 0, UInt64(0xffff_8000_0800_0010)),
        ("place-in-relocation-table", 0, UInt64(0xffff_8000_0800_2188)),
        ("duplicate-place", 1, UInt64(0)),
        ("addend-outside-image", 2, UInt64(0x1234)),
        ("unsupported-type", 3, UInt64(0x402)),
    ])
    func plantedRelaDefect(check: String, field: Int, value: UInt64) throws {
        let (r, _) = try plant { b, k in
            let e = k.rela!.imageOffset + 5 * 24
            switch field {
            case 0: setU64(&b, e, value)                         // r_offset
            case 1: setU64(&b, e, u64(b, e - 24))                // same place as the entry before
            case 2: setU64(&b, e + 16, value)                    // r_addend
            default: setU64(&b, e + 8, value)                    // r_info
            }
        }
        #expect(r.status == 1)
        let errors = r.stdout.split(separator: "\n").filter { $0.hasPrefix("error:") }
        #expect(errors.count >= 1 && errors.allSatisfy { $0.hasSuffix("[\(check)]") }, "\(r.stdout)")
        #expect(r.stdout.contains("RELA[5]") || check == "duplicate-place")
    }

    @Test func headerDefects() throws {
        let cases: [(Int, UInt64, String)] = [
            (0x10, 0x100, "image-size-too-small"),
            (0x18, 0x1a, "flags-reserved"),
            (0x08, 0x123, "text-offset-misaligned"),
        ]
        for (offset, value, check) in cases {
            let (r, _) = try plant { b, _ in setU64(&b, offset, value) }
            #expect(r.status == 1)
            #expect(r.stdout.contains("[\(check)]"), "\(check): \(r.stdout)")
        }
        // code1 branching outside the image.
        let (r, _) = try plant { b, _ in b[4] = 0xff; b[5] = 0xff; b[6] = 0xff; b[7] = 0x15 }
        #expect(r.stdout.contains("[entry-outside-image]"))
    }

    @Test func symbolicAndNoneAreWarnings() throws {
        let (r, _) = try plant { b, k in
            let e = k.rela!.imageOffset
            setU64(&b, e + 8, 0x5_0000_0101)                     // entry 0 → ABS64 against symbol 5
            for j in 1...2 { for i in 0..<24 { b[e + j * 24 + i] = 0 } } // entries 1-2 → NONE padding
        }
        #expect(r.status == 0, "\(r.stdout)")
        #expect(r.stdout.contains("warning: RELA[0] R_AARCH64_ABS64 against symbol 5"))
        #expect(r.stdout.contains("warning: RELA[1..2]: 2 R_AARCH64_NONE entries"))
        let strict = try slide("verify", "--warnings-as-errors", try plant { b, k in setU64(&b, k.rela!.imageOffset + 8, 0x5_0000_0101) }.1)
        #expect(strict.status == 1)
    }

    @Test func relrBitmapFirst() throws {
        let f = try fixtures()
        var bytes = try readBytes(f.miniRelrImage)
        let k = try KernelImage.load(path: f.miniRelrImage)
        setU64(&bytes, k.relr!.imageOffset, 0xf)
        let p = temporaryDirectory("relr-first").appendingPathComponent("Image").path
        try Data(bytes).write(to: URL(fileURLWithPath: p))
        let r = try slide("verify", p)
        #expect(r.status == 1 && r.stdout.contains("[relr-bitmap-first]"))
    }
}

/// `slide pagetables`: the linear map per granule, with PHYS_OFFSET aligned and not.
@Suite struct PageTablesCommandTests {
    @Test(arguments: [("4k", "1G:4,2M:0,4K:0"), ("16k", "32M:128,16K:0"), ("64k", "512M:8,64K:0")])
    func fourGiBAtOneGiBUsesOnlyTheLargestBlocks(granule: String, summary: String) throws {
        let r = try slide("pagetables", "--memory", "0x40000000:4G", "--granule", granule, "--json")
        #expect(r.status == 0, "\(r.stderr)")
        let layouts = try #require(try jsonObject(r.stdout)["layouts"] as? [[String: Any]])
        #expect(layouts.count == 2)
        #expect(layouts[0]["summary"] as? String == summary + ",bytes:0x100000000")
    }

    /// RAM 2 MiB past a 1 GiB boundary: with PHYS_OFFSET rounded down, VA and PA agree modulo 1 GiB and
    /// a 1 GiB block fits; with PHYS_OFFSET at the start of RAM they agree only modulo 2 MiB.
    @Test func alignmentBuysGigabyteBlocks() throws {
        let r = try slide("pagetables", "--memory", "0x40200000:0x7fe00000", "--json")
        #expect(r.status == 0, "\(r.stderr)")
        let layouts = try #require(try jsonObject(r.stdout)["layouts"] as? [[String: Any]])
        #expect(layouts[0]["phys_offset"] as? String == "0x40000000" && layouts[1]["phys_offset"] as? String == "0x40200000")
        #expect(layouts[0]["summary"] as? String == "1G:1,2M:511,4K:0,bytes:0x7fe00000") // [0x40200000, 0x80000000) in 2 MiB, then 1 GiB
        #expect(layouts[1]["summary"] as? String == "1G:0,2M:1023,4K:0,bytes:0x7fe00000")
        let text = try slide("pagetables", "--memory", "0x40200000:0x7fe00000").stdout
        #expect(text.contains("level 1: 1 blocks of 1G") && text.contains("level 1: 0 blocks of 1G"))
        // Bad input: one line naming what is wrong.
        let bad = try slide("pagetables", "--memory", "0x40000000")
        #expect(bad.status == 64 && bad.stderr.hasPrefix("slide: error: The value '0x40000000' is invalid for '--memory <memory>': '0x40000000' is neither BASE:SIZE nor a size"), "\(bad.stderr)")
        #expect(try slide("pagetables", "--memory", "0x40000000:1G", "--granule", "8k").status == 64)
    }
}

/// Hostile inputs found by the mutation campaign: decompression bombs, RELR words that decode to
/// billions of places, CRLF lists. Each must end in one clean error line, exit 1, under an
/// address-space limit (ulimit -v 1 GiB), never in a signal.
@Suite struct HostileInputs {
    /// Runs slide under `ulimit -v` (KiB).
    func limited(_ args: [String], kib: Int = 1 << 20) throws -> ToolResult {
        let quoted = ([slideBinary] + args).map { "'\($0)'" }.joined(separator: " ")
        return try run("sh", ["-c", "ulimit -v \(kib); exec \(quoted)"])
    }

    @Test(arguments: [("gzip -1", "gz", "gzip"), ("xz -0 -T1", "xz", "xz"), ("zstd -1 -q", "zst", "zstd")])
    func decompressionBombStopsAtTheCap(_ tool: String, _ ext: String, _ name: String) throws {
        let dir = temporaryDirectory("bomb")
        let bomb = dir.appendingPathComponent("bomb.\(ext)").path
        #expect(try run("sh", ["-c", "head -c 320M /dev/zero | \(tool) > '\(bomb)'"]).status == 0)
        let size = try FileManager.default.attributesOfItem(atPath: bomb)[.size] as? Int ?? 0
        #expect(size > 0 && size < 4 << 20, "a bomb: \(size) bytes for 320 MiB")
        let r = try limited(["inspect", bomb])
        #expect(r.status == 1 && r.stderr.hasPrefix("slide: error: '\(bomb)': \(name) stream decodes past 256M"), "\(r.status) \(r.stderr)")
        #expect(r.stderr.split(separator: "\n").count == 1)
        // --max-size raises the cap: the zeros decode, and are then no kernel.
        let raised = try limited(["inspect", "--max-size", "400M", bomb])
        #expect(raised.status == 1 && raised.stderr.contains("not an ELF file, arm64 Image"), "\(raised.stderr)")
    }

    /// Words that would decode to 37.8 million places: refused after counting, before decoding.
    @Test func relrWordsThatDecodeWithoutBound() throws {
        var words: [UInt8] = Array(repeating: 0, count: 8) // address word 0
        for _ in 0..<600_000 { words += Array(repeating: 0xff, count: 8) } // 63 places each
        let path = temporaryDirectory("relr-bomb").appendingPathComponent("words.bin").path
        try Data(words).write(to: URL(fileURLWithPath: path))
        let r = try limited(["relr", "unpack", "--input-format", "binary", path])
        #expect(r.status == 1 && r.stderr.hasPrefix("slide: error: '\(path)': number of RELR places") && r.stderr.contains("--max-size"), "\(r.stderr)")
        #expect(r.stdout.isEmpty)
    }

    @Test func crlfListsSplitAndErrorsQuoteOneShortLine() throws {
        let dir = temporaryDirectory("crlf")
        let lf = dir.appendingPathComponent("lf.txt").path, crlf = dir.appendingPathComponent("crlf.txt").path
        try "0x1000\n0x1008 # comment\n0x1010\n".write(toFile: lf, atomically: true, encoding: .utf8)
        try "0x1000\r\n0x1008 # comment\r\n0x1010\r\n".write(toFile: crlf, atomically: true, encoding: .utf8)
        let a = try slide("relr", "pack", "--input-format", "text", lf), b = try slide("relr", "pack", "--input-format", "text", crlf)
        #expect(a.status == 0 && a.stdout == b.stdout && a.stdout == "0x1000\n0x7\n", "\(b.stdout)\(b.stderr)")
        // A UTF-8 byte order mark before the first number is skipped.
        let bom = dir.appendingPathComponent("bom.txt").path
        try Data([0xef, 0xbb, 0xbf] + Array("0x1000\r\n0x1008 # comment\r\n0x1010\r\n".utf8)).write(to: URL(fileURLWithPath: bom))
        let c = try slide("relr", "pack", "--input-format", "text", bom)
        #expect(c.status == 0 && c.stdout == a.stdout, "\(c.stderr)")
        let bad = dir.appendingPathComponent("bad.txt").path
        try ("0x1000\r\n" + String(repeating: "z", count: 5000) + "\r\n0x1008\r\n").write(toFile: bad, atomically: true, encoding: .utf8)
        let r = try slide("relr", "pack", "--input-format", "text", bad)
        #expect(r.status == 1 && r.stderr.split(separator: "\n").count == 1 && r.stderr.count < 200, "\(r.stderr.prefix(300))")
        #expect(r.stderr.contains("line 2: 'zzzz") && r.stderr.contains("…' is not a number"))
    }

    /// A zstd stream whose output is a whole number of the decoder's 1 MiB chunks ends cleanly (it
    /// was reported as truncated: asking for more after the frame ended gave the next frame's hint).
    @Test func zstdOfWholeChunksDecodes() throws {
        let dir = temporaryDirectory("zstd-chunks")
        let raw = dir.appendingPathComponent("two-mib").path
        var bytes = [UInt8](repeating: 0, count: 2 << 20)
        for i in stride(from: 0, to: bytes.count, by: 4096) { bytes[i] = UInt8(truncatingIfNeeded: i >> 12) }
        try Data(bytes).write(to: URL(fileURLWithPath: raw))
        #expect(try run("zstd", ["-q", "-1", raw, "-o", raw + ".zst"]).status == 0)
        #expect(try Containers.unzstd(try readBytes(raw + ".zst"), path: raw) == bytes)
    }

    /// Replacing an existing output keeps its permission bits.
    @Test func overwritingKeepsPermissions() throws {
        let dir = temporaryDirectory("perm")
        let list = dir.appendingPathComponent("l.txt").path, out = dir.appendingPathComponent("out").path
        try "0x1000\n".write(toFile: list, atomically: true, encoding: .utf8)
        try "old".write(toFile: out, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o640], ofItemAtPath: out)
        #expect(try slide("relr", "pack", list, "-o", out).status == 0)
        let mode = try FileManager.default.attributesOfItem(atPath: out)[.posixPermissions] as? Int
        let content = try String(contentsOfFile: out, encoding: .utf8)
        #expect(mode == 0o640 && content == "0x1000\n")
    }
}

@Suite struct JSONLines {
    /// Several inputs: one compact document per line, which `python3 -m json.tool --json-lines` reads.
    @Test(arguments: ["inspect", "verify"])
    func severalInputsGiveOneDocumentPerLine(_ command: String) throws {
        let f = try fixtures()
        let r = try slide(command, "--json", f.miniRelaImage, f.miniRelrImage, f.pieRela)
        let lines = r.stdout.split(separator: "\n")
        #expect(lines.count == 3, "\(r.stdout.prefix(300))")
        for line in lines { #expect(try jsonObject(String(line))["schema"] as? String == "slide/v1") }
        let tool = try run("python3", ["-m", "json.tool", "--json-lines"], stdin: Data(r.stdout.utf8))
        #expect(tool.status == 0, "\(tool.stderr)")
        // One input stays pretty-printed.
        #expect(try slide(command, "--json", f.miniRelaImage).stdout.split(separator: "\n").count > 3)
    }
}

/// Errors that have an obvious next step name it.
@Suite struct NextSteps {
    @Test func wrongInputsSayWhatToGive() throws {
        let f = try fixtures()
        let image = try slide("link-module", f.miniRelaImage, "--at", "0xffff800040000000", "--undefined-at", "0xffff800080000000")
        #expect(image.status == 1 && image.stderr.contains("this is a kernel Image, not a module"), "\(image.stderr)")
        let pie = try slide("link-module", f.pieRela, "--at", "0xffff800040000000", "--undefined-at", "0xffff800080000000")
        #expect(pie.status == 1 && pie.stderr.contains("ET_DYN, not a module (ET_REL)"), "\(pie.stderr)")
        let dir = try slide("link-module", temporaryDirectory("mods").path, "--at", "0xffff800040000000", "--undefined-at", "0xffff800080000000")
        #expect(dir.status == 1 && dir.stderr.contains("with --all"), "\(dir.stderr)")
        // relacheck names the root it could not find (an object the fixtures build with clang).
        let object = temporaryDirectory("relacheck").appendingPathComponent("a.o").path
        let source = object + ".c"
        try "int f(void) { return 1; }\n".write(toFile: source, atomically: true, encoding: .utf8)
        #expect(try run("clang", ["--target=aarch64-linux-gnu", "-c", source, "-o", object]).status == 0)
        let missing = try slide("relacheck", object, "--root", "nosuchsym")
        #expect(missing.status == 1 && missing.stderr.contains("root symbol 'nosuchsym' is not defined in the object"), "\(missing.stderr)")
    }
}

/// What `make install` puts next to the binary: completion scripts swift-argument-parser generates.
@Suite struct Installation {
    @Test(arguments: ["bash", "zsh", "fish"])
    func completionScriptsAreGenerated(_ shell: String) throws {
        let r = try slide("--generate-completion-script", shell)
        #expect(r.status == 0 && r.stdout.contains("symbols") && r.stdout.contains("kaslr"), "\(r.stderr)")
        if shell == "bash" {
            let syntax = try run("bash", ["-n"], stdin: Data(r.stdout.utf8))
            #expect(syntax.status == 0, "\(syntax.stderr)")
        }
    }
}

/// What every command shows a newcomer: help that fits 80 columns with whole example lines, the
/// input formats it reads, a line for every file it writes, one form for addends.
@Suite struct HelpAndOutputs {
    static let commands = ["", "inspect", "relocs", "verify", "relocate", "relr", "relr pack", "relr unpack", "mkimage", "boot",
                           "relacheck", "link-module", "pagetables", "kaslr", "symbols"]

    @Test(arguments: commands)
    func helpFitsEightyColumnsAndKeepsExamplesWhole(_ command: String) throws {
        let r = try slide(command.split(separator: " ").map(String.init) + ["--help"])
        #expect(r.status == 0)
        let lines = r.stdout.split(separator: "\n", omittingEmptySubsequences: false)
        #expect(lines.count > 5)
        for line in lines { #expect(line.count <= 80, "\(command): \(line.count) columns: \(line)") }
        // After "Examples:", every line up to the blank one is a whole `slide …` command.
        #expect(lines.contains("Examples:") || !r.stdout.contains("Example"), "\(command): examples without an 'Examples:' line")
        if let start = lines.firstIndex(of: "Examples:") {
            let examples = lines[(start + 1)...].prefix { !$0.isEmpty }
            #expect(!examples.isEmpty)
            for e in examples { #expect(e.hasPrefix("  slide "), "\(command): an example split across lines: '\(e)'") }
        }
    }

    @Test(arguments: ["", "inspect", "verify", "relocs", "relocate", "symbols"])
    func helpNamesEveryInputFormat(_ command: String) throws {
        let help = try slide(command.split(separator: " ").map(String.init) + ["--help"]).stdout
        let flat = help.split(whereSeparator: \.isWhitespace).joined(separator: " ")
        for format in ["ELF", "gzip", "xz", "zstd", "EFI zboot", "xzkern", "zstd22"] { #expect(flat.contains(format), "\(command): \(format)") }
    }

    @Test func unreadableInputErrorNamesEveryFormat() throws {
        let p = temporaryDirectory("formats").appendingPathComponent("junk").path
        try Data(repeating: 0x41, count: 256).write(to: URL(fileURLWithPath: p))
        let r = try slide("inspect", p)
        #expect(r.status == 1 && r.stderr.contains("not \(FileKind.formats)"), "\(r.stderr)")
    }

    @Test func writingCommandsSayWhatTheyWrote() throws {
        let f = try fixtures()
        let dir = temporaryDirectory("wrote")
        let relr = dir.appendingPathComponent("relr.txt").path
        let packed = try slide("relr", "pack", f.miniRelaImage, "-o", relr)
        let words = try String(contentsOfFile: relr, encoding: .utf8).split(separator: "\n").count
        let bytes = try readBytes(relr).count
        #expect(words > 0)
        #expect(packed.status == 0 && packed.stdout == "wrote \(relr): \(words) RELR words, \(bytes) bytes (text)\n", "\(packed.stdout)")
        let places = dir.appendingPathComponent("places.bin").path
        let unpacked = try slide("relr", "unpack", relr, "--output-format", "binary", "-o", places)
        #expect(unpacked.stdout.hasPrefix("wrote \(places): ") && unpacked.stdout.hasSuffix(" bytes (binary)\n"), "\(unpacked.stdout)")
        let image = dir.appendingPathComponent("Image").path
        #expect(try slide("relocate", f.miniRelaImage, "--slide", "0x200000", "-o", image).stdout.hasSuffix("wrote \(image)\n"))
        // link-module -o: the core region, and its size, in text and in the JSON document.
        let object = dir.appendingPathComponent("m.o").path
        try "extern int g(void); int f(void) { return g() + 1; }\n".write(toFile: object + ".c", atomically: true, encoding: .utf8)
        #expect(try run("clang", ["--target=aarch64-linux-gnu", "-c", object + ".c", "-o", object]).status == 0)
        let core = dir.appendingPathComponent("m.core").path
        // g within branch range (the object has no .plt section for a veneer).
        let linked = try slide("link-module", object, "--at", "0xffff800040000000", "--undefined-at", "0xffff800041000000", "-o", core)
        let size = try readBytes(core).count
        #expect(size > 0 && linked.status == 0 && linked.stdout.hasSuffix("wrote \(core): \(size) bytes\n"), "\(linked.stdout)")
        let json = try slide("link-module", object, "--at", "0xffff800040000000", "--undefined-at", "0xffff800041000000", "-o", core, "--json")
        let outputs = try jsonObject(json.stdout)["outputs"] as? [[String: Any]]
        #expect(outputs?.count == 1 && outputs?.first?["path"] as? String == core && outputs?.first?["bytes"] as? Int == size)
    }

    /// An addend in a JSON document is an unsigned 64-bit hex string, as every address is.
    @Test func addendsAreUnsignedHex() throws {
        let f = try fixtures()
        let doc = try jsonObject(try slide("relocs", "--json", f.miniRelaImage).stdout)
        let tables = try #require(doc["sections"] as? [[String: Any]])
        let addends = tables.flatMap { ($0["entries"] as? [[String: Any]] ?? []).compactMap { $0["addend"] as? String } }
        #expect(addends.count > 10)
        for a in addends { #expect(a.hasPrefix("0x") && UInt64(a.dropFirst(2), radix: 16) != nil, "\(a)") }
        // The kernel's RELATIVE addends are kernel addresses: above 0xffff000000000000, not negative.
        #expect(addends.contains { UInt64($0.dropFirst(2), radix: 16)! >= 0xffff_0000_0000_0000 })
    }

    /// A Linux boot is judged against `slide kaslr`: a CPU it has no model of is refused before QEMU runs.
    @Test(.enabled(if: TestData.debianKernel, TestData.missingDebian))
    func linuxBootRefusesACPUWithoutAModel() throws {
        let kernel = try #require(try debianKernel())
        let r = try slide("boot", kernel, "--cpu", "cortex-a15", "--seed", "0x1")
        #expect(r.status == 1 && r.stderr.contains("--cpu 'cortex-a15': slide kaslr has no model of this CPU") && r.stderr.contains("cortex-a57"), "\(r.stderr)")
    }
}

/// One language across the subcommands: usage errors say what is wrong and exit 64; --memory
/// takes one syntax everywhere; an unknown subcommand is named with the nearest real one.
@Suite struct OneLanguage {
    @Test func unknownSubcommandsAreNamed() throws {
        for args in [["inspct", "x"], ["help", "inspct"]] {
            let r = try slide(args)
            #expect(r.status == 64 && r.stderr == "slide: error: unknown subcommand 'inspct'; did you mean 'inspect'? (see 'slide --help')\n", "\(args): \(r.stderr)")
        }
        let far = try slide("frobnicate")
        #expect(far.status == 64 && far.stderr == "slide: error: unknown subcommand 'frobnicate' (see 'slide --help')\n")
        #expect(try slide("help", "inspect").status == 0)
    }

    @Test func numbersSayWhyTheyAreRefused() throws {
        let cases: [([String], String)] = [
            (["pagetables", "--memory", "0x40000000:1P"], "'1P': 'P' is not a size suffix (K, M, G or T)"),
            (["pagetables", "--memory", "0x40000000:0x1ffffffffffffffff"], "'0x1ffffffffffffffff' exceeds 64 bits"),
            (["pagetables", "--memory", "0xffffffffffffffff:1G"], "BASE + SIZE exceeds 64 bits"),
            (["symbols", "--slide", "99999999999999999999", "x"], "'99999999999999999999' exceeds 64 bits"),
            (["boot", "x", "--memory", "0x80000000:1G"], "QEMU virt's RAM starts at 0x40000000"),
        ]
        for (args, reason) in cases {
            let r = try slide(args)
            #expect(r.status == 64 && r.stderr.contains(reason) && r.stderr.split(separator: "\n").count == 1, "\(args): \(r.stderr)")
        }
    }

    /// verify --json's `ok` is what the exit status says, --warnings-as-errors included.
    @Test func verifyOkFollowsTheExitStatus() throws {
        let f = try fixtures()
        for extra in [[], ["--warnings-as-errors"]] {
            let r = try slide(["verify", "--json", f.pieRela] + extra)
            let doc = try jsonObject(r.stdout)
            #expect((doc["ok"] as? Bool) == (r.status == 0), "\(extra): ok \(doc["ok"] ?? "nil"), exit \(r.status)")
            // The PIE's symbolic entries are warnings: with --warnings-as-errors it fails, and says so.
            #expect((doc["warnings"] as? Int ?? 0) > 0 && r.status == (extra.isEmpty ? 0 : 1))
        }
    }

    /// --memory: BASE:SIZE with K/M/G/T, or a SIZE alone at 0x40000000 (MiB without a suffix, as QEMU's -m).
    @Test func memoryHasOneSyntax() throws {
        let forms = [["--memory", "0x40000000:1T"], ["--memory", "1T"], ["--memory", "1048576"]]
        let outputs = try forms.map { try slide(["pagetables"] + $0 + ["--json"]) }
        #expect(outputs.allSatisfy { $0.status == 0 }, "\(outputs.map(\.stderr))")
        #expect(Set(outputs.map(\.stdout)).count == 1, "the three forms name the same RAM")
        #expect(outputs[0].stdout.contains("\"0x10040000000\""), "RAM ends at 0x40000000 + 1 TiB")
    }
}

/// A host error keeps SlideCore's typed error and compares by value.
@Suite struct HostErrors {
    @Test func aFormatErrorKeepsItsFields() {
        #expect(SlideKitError("f", .invalid("x", value: 1)) == SlideKitError("f", .invalid("x", value: 1)))
        #expect(SlideKitError("f", .invalid("x", value: 1)) != SlideKitError("g", .invalid("x", value: 1)))
        #expect(SlideKitError("f", .invalid("x", value: 1)) != SlideKitError("f", "invalid x 0x1"), "a typed error is not its text")
        #expect(SlideKitError("f", .invalid("x", value: 1)).description == "'f': invalid x 0x1")
    }
}
