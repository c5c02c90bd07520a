// Inputs the fuzzers (Fuzz/, make fuzz) found crashing Slide, each kept in
// Tests/FuzzRegressions/<target>/ and run here through the entry point its fuzz target calls:
// each must now give an error (or a result), never a trap, a runaway allocation or a hang.

import Foundation
import Testing
@testable import SlideCore
@testable import SlideKit

/// The bytes of Tests/FuzzRegressions/<target>/<name>.
func fuzzRegression(_ target: String, _ name: String) throws -> [UInt8] {
    try readBytes(repoRoot.appendingPathComponent("Tests/FuzzRegressions/\(target)/\(name)").path)
}

/// A flattened device tree: the 40-byte header, an empty memory reservation block at 40, the
/// structure block (big-endian words) and the strings block; header fields overridable.
func fdtBlob(structure: [UInt32], strings: [UInt8] = [], reserveOffset: UInt32 = 40, totalPadding: Int = 0) -> [UInt8] {
    var b = [UInt8](repeating: 0, count: 56)
    for w in structure { b += [UInt8(w >> 24), UInt8(w >> 16 & 0xff), UInt8(w >> 8 & 0xff), UInt8(w & 0xff)] }
    let stringsAt = b.count
    b += strings + [UInt8](repeating: 0, count: totalPadding)
    func put(_ v: UInt32, _ o: Int) { for i in 0..<4 { b[o + i] = UInt8(truncatingIfNeeded: v >> (24 - 8 * UInt32(i))) } }
    put(FDT.magic, 0); put(UInt32(b.count), 4); put(56, 8); put(UInt32(stringsAt), 12); put(reserveOffset, 16)
    put(17, 20); put(16, 24); put(UInt32(strings.count), 32); put(UInt32(4 * structure.count), 36)
    return b
}

@Suite struct FuzzRegressions {
    // fuzz-relr (make test's smoke, after the faster apply merged): a bitmap word with no bit set
    // (the word 1) made the aligned loop compute its highest place as 63 - 64 (a trap converting
    // -1 to UInt64), and would have stored one word past the bitmap. It relocates nothing.
    @Test func emptyRelrBitmapRelocatesNothing() throws {
        let input = try fuzzRegression("relr", "empty-bitmap-word")
        let applied = try input.withView { (v) throws(SlideError) -> Int? in
            let table = try RelrTable(v)
            var image = [UInt8](repeating: 0, count: 64 << 10)
            return image.withUnsafeMutableBytes { out in
                try? Relr.apply(table, to: MutableByteView(out), linkBase: table[0] & ~0xffff, displacement: 0x20_0000)
            }
        }
        #expect(applied == nil) // its later places leave the 64 KiB image: an error, not a trap
        // An address word, an empty bitmap, then bits 0 and 1: places 0x10, 0x210 and 0x218.
        let base: UInt64 = 0xffff_8000_0800_0000
        let words: [UInt64] = [base + 0x10, 1, 0b111]
        var image = [UInt64](repeating: 0, count: 0x100)
        let n = try words.withView { (w) throws(SlideError) -> Int in
            let table = try RelrTable(w)
            return try image.withMutableView { (out) throws(SlideError) -> Int in
                try Relr.apply(table, to: out, linkBase: base, displacement: 0x1000)
            }
        }
        #expect(n == 3)
        #expect(image.indices.filter { image[$0] != 0 } == [0x10 / 8, 0x210 / 8, 0x218 / 8])
        #expect(image[0x10 / 8] == 0x1000 && image[0x218 / 8] == 0x1000)
        #expect(try words.withView { (w) throws(SlideError) -> [UInt64] in
            var it = try RelrTable(w).makePlaces(); var out: [UInt64] = []
            while let p = it.next() { out.append(p) }
            return out
        } == [base + 0x10, base + 0x210, base + 0x218])
    }

    // fuzz-image: LinkBase.candidates rounded `lowest` up to 2 MiB as lowest + 2 MiB - 1, which
    // overflows when the RELR places lie in the last 2 MiB below 2^64 (an arithmetic-overflow trap).
    @Test func linkBaseCandidatesNearTheTopOfTheAddressSpace() throws {
        let c = LinkBase.candidates(low: UInt64.max, high: UInt64.max, span: 0x10_0000)
        #expect(c.best == nil && c.count == 0)
        #expect(LinkBase.candidates(low: 0xffff_ffff_ffe0_0000, high: 0xffff_ffff_ffe0_0008, span: 0x10_0000).best == 0xffff_ffff_ffe0_0000)
        #expect(LinkBase.candidates(low: 5, high: 5, span: 0).best == nil)
        // The structural scan's RELR run at 0x40 (all-ones bitmaps after an address word): no base fits it.
        let input = try fuzzRegression("image", "linkbase-candidates-overflow")
        let k = try KernelImage.load(bytes: input, path: "linkbase-candidates-overflow")
        #expect(k.rela == nil && k.relr == nil && k.linkBase == 0)
        #expect(exercise(input, name: "linkbase-candidates-overflow") == nil)
    }

    // fuzz-fdt: FDTEditor.packed() took an unchecked off_mem_rsvmap as the end of the data and
    // grew the blob to it (4 GiB for 0xfffffff8: out of memory). The header is now checked. The committed input is
    // QEMU's virt DTB with off_mem_rsvmap 0x1000000 (the fuzzer's own was lost; same path).
    @Test func fdtEditorRejectsAReservationBlockPastTotalsize() throws {
        let blob = fdtBlob(structure: [1, 0, 2, 9], reserveOffset: 0x100_0000)
        #expect(throws: SlideError.self) { _ = try FDTEditor(blob).packed() }
        let found = try fuzzRegression("fdt", "packed-reserve-offset-past-totalsize")
        #expect(throws: SlideError.self) { _ = try FDTEditor(found).packed() }
        // The kernel's reader wants the block 8-byte aligned (spec 5.2), and reads it with aligned loads.
        var misaligned = fdtBlob(structure: [1, 0, 2, 9], reserveOffset: 44)
        misaligned.withUnsafeMutableBytes { raw in
            #expect(throws: SlideError.self) { try FDT(at: raw.baseAddress!, limit: raw.count) }
        }
    }

    // FDTEditor.setProperty on structure blocks the reader refuses: an END_NODE with no node open
    // (removeLast on an empty stack), a PROP token in the last 4 bytes of the blob (its length and
    // name offset read past the end), a name offset past the strings block in the node being
    // edited (sliced past the end). Each trapped before; each is an error now.
    @Test func fdtEditorRejectsMalformedStructure() throws {
        let cases: [(blob: [UInt8], path: [String])] = [
            (fdtBlob(structure: [2, 9]), ["chosen"]),
            (fdtBlob(structure: [1, 0, 3]), []),
            (fdtBlob(structure: [1, 0, 3, 4, 0x4000_0000, 0, 2, 9]), []),
        ]
        for (blob, path) in cases {
            #expect(throws: SlideError.self) {
                var e = try FDTEditor(blob)
                try e.setProperty(path: path, name: "kaslr-seed", value: [0, 0, 0, 0, 0, 0, 0, 1])
            }
        }
        // A well-formed tree with an empty /chosen takes the property, and the kernel's reader finds it.
        var e = try FDTEditor(fdtBlob(structure: [1, 0, 1, 0x6368_6f73, 0x656e_0000, 2, 2, 9]))
        try e.setProperty(path: ["chosen"], name: "kaslr-seed", value: [0, 0, 0, 0, 0, 0, 0x12, 0x34])
        var blob = e.bytes
        let seed = try blob.withUnsafeMutableBytes { (raw) throws(SlideError) -> UInt64? in
            let fdt = try FDT(at: raw.baseAddress!, limit: raw.count)
            return try fdt.property(node: "chosen", name: "kaslr-seed").map { fdt.cells($0, at: 0, count: 2) }
        }
        #expect(seed == 0x1234)
    }
}
