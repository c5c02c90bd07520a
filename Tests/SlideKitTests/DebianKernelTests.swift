// The real thing: Debian's arm64 kernel (scripts/fetch-testdata). Assertions are invariants
// that hold for any build of the package, plus independent oracles (llvm-objdump).

import Foundation
import Testing
@testable import SlideCore
@testable import SlideKit

@Suite(.serialized) struct DebianKernel {
    nonisolated(unsafe) static let loaded: Result<KernelImage?, Error> = Result { try debianKernel().map { try KernelImage.load(path: $0) } }

    func kernel() throws -> KernelImage? { try Self.loaded.get() }

    /// code-scan's bounds are the ones the relocation routine loads: llvm-objdump disassembles
    /// the routine and we read its ADRP/ADD pairs ourselves.
    @Test func codeScanAgreesWithTheDisassembledRoutine() throws {
        guard let k = try kernel() else { return }
        let rela = try #require(k.rela)
        #expect(rela.source == .codeScan)
        let loop = try #require(rela.evidence)
        let dir = temporaryDirectory("objdump")
        let elf = dir.appendingPathComponent("image.elf").path
        #expect(try run("llvm-objcopy", ["-I", "binary", "-O", "elf64-littleaarch64", k.path, elf]).status == 0)
        let dis = try run("llvm-objdump", ["-d", "-D", "--triple=aarch64", "--no-show-raw-insn",
                                           "--start-address=\(loop - 0x40)", "--stop-address=\(loop + 4)", elf])
        #expect(dis.status == 0)
        // Lines look like "  cfd43c:   adrp x9, 0x181c000 <...>" and "  cfd440:   add x9, x9, #320".
        var pages: [String: UInt64] = [:]
        var addresses: [String: UInt64] = [:]
        for line in dis.stdout.split(separator: "\n") {
            let parts = line.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "," })
            guard parts.count >= 3 else { continue }
            if parts[1] == "adrp", let v = UInt64(parts[3].dropFirst(2), radix: 16) { pages[String(parts[2])] = v }
            if parts[1] == "add", parts.count >= 5, parts[2] == parts[3], let page = pages[String(parts[2])],
               parts[4].hasPrefix("#"), let imm = UInt64(parts[4].dropFirst()) {
                addresses[String(parts[2])] = page + imm
            }
            if parts[1] == "cmp", parts.count >= 4, parts[2].hasPrefix("x"), let a = addresses[String(parts[2])], let b = addresses[String(parts[3])] {
                #expect(UInt64(rela.imageOffset) == a, "table start")
                #expect(UInt64(rela.imageOffset + rela.size) == b, "table end")
                return
            }
        }
        Issue.record("no `cmp xN, xM` over ADRP/ADD-loaded registers before the loop at \(hex(UInt64(loop)))")
    }

    /// The heuristic (a scan for RELATIVE runs, as vmlinux-to-elf does) stops at the NONE padding:
    /// its table is a strict prefix of the real one, and everything it misses is NONE or symbol-based.
    @Test func heuristicMissesTheTail() throws {
        guard let k = try kernel() else { return }
        let h = try KernelImage.load(path: k.path, discovery: .heuristic)
        let full = try #require(k.rela), guess = try #require(h.rela)
        #expect(guess.source == .heuristic && guess.confidence < 1)
        #expect(guess.imageOffset == full.imageOffset)
        #expect(guess.size < full.size)
        var missed: [RelocationType: Int] = [:]
        try k.withTables { (_, rela, _) throws(SlideError) in
            let t = rela!
            for i in (guess.size / 24)..<t.count { missed[t[i].type, default: 0] += 1 }
            #expect(t[guess.size / 24].type == .none, "the run ends where NONE padding starts")
        }
        #expect(Set(missed.keys).isSubset(of: [.none, .abs64, .globDat]))
        #expect((missed[.none] ?? 0) > 0)
        #expect((missed[.abs64] ?? 0) + (missed[.globDat] ?? 0) > 0)
        #expect(missed.values.reduce(0, +) == (full.size - guess.size) / 24)
    }

    /// Invariants of a GNU-ld-linked arm64 RELA table (spec §2.2, §9).
    @Test func tableShape() throws {
        guard let k = try kernel() else { return }
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
        guard let k = try kernel() else { return }
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

    /// relocate --slide 0x1000000 changes exactly the RELATIVE places, each to addend + 0x1000000.
    @Test func relocateChangesExactlyTheRelativePlaces() throws {
        guard let k = try kernel() else { return }
        let out = temporaryDirectory("relocate").appendingPathComponent("vmlinuz.slid").path
        let r = try slide("relocate", k.path, "--slide", "0x1000000", "-o", out)
        #expect(r.status == 0, "\(r.stderr)")
        let before = k.bytes, after = try readBytes(out)
        #expect(before.count == after.count)
        var expected: [Int: UInt64] = [:]
        try k.withTables { (_, rela, _) throws(SlideError) in
            for i in 0..<rela!.count where rela![i].type == .relative {
                expected[Int(rela![i].offset - k.linkBase)] = UInt64(bitPattern: rela![i].addend) &+ 0x100_0000
            }
        }
        for (o, v) in expected where u64(after, o) != v { Issue.record("place at \(hex(UInt64(o))) holds \(hex(u64(after, o))), want \(hex(v))"); break }
        // Nothing else differs: compare every byte outside the places.
        var isPlace = [Bool](repeating: false, count: before.count)
        for o in expected.keys { for j in 0..<8 { isPlace[o + j] = true } }
        var stray = 0
        for i in 0..<before.count where before[i] != after[i] && !isPlace[i] { stray += 1 }
        #expect(stray == 0)
        #expect(expected.count > 100_000)
    }

    @Test func inspectJSON() throws {
        guard let k = try kernel() else { return }
        let doc = try jsonObject(try slide("inspect", "--json", k.path).stdout)
        #expect(doc["schema"] as? String == "slide/v1")
        let rela = doc["rela"] as! [String: Any]
        #expect(rela["source"] as? String == "code-scan")
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
    @Test func relrRoundTripOnTheRealTable() throws {
        guard let k = try kernel() else { return }
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
        guard let k = try kernel() else { return }
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
