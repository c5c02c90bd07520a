// SlideCore's FDT editor against dtc (the oracle): QEMU's own DTB, patched, decompiled.

import Foundation
import Testing
@testable import SlideCore
@testable import SlideKit

@Suite struct FDTEditing {
    func qemuDTB() throws -> [UInt8] {
        let path = temporaryDirectory("dtb").appendingPathComponent("virt.dtb").path
        let r = try run("qemu-system-aarch64", ["-M", "virt,dtb-randomness=off,dumpdtb=\(path)", "-cpu", "cortex-a57", "-m", "1024M", "-nographic", "-net", "none"])
        #expect(r.status == 0, "\(r.stderr)")
        return try readBytes(path)
    }

    func dts(_ blob: [UInt8]) throws -> String {
        let path = temporaryDirectory("dtc").appendingPathComponent("x.dtb").path
        try Data(blob).write(to: URL(fileURLWithPath: path))
        let r = try run("dtc", ["-I", "dtb", "-O", "dts", path])
        #expect(r.status == 0, "dtc: \(r.stderr)")
        #expect(!r.stderr.contains("ERROR"), "dtc: \(r.stderr)")
        return r.stdout
    }

    @Test func setAndReplaceProperties() throws {
        var e = try FDTEditor(try qemuDTB())
        try e.setProperty(path: ["chosen"], name: "kaslr-seed", value: [0, 0, 0, 0, 0, 0, 0x12, 0x34])
        try e.setProperty(path: ["chosen"], name: "bootargs", value: Array("console=ttyAMA0 nokaslr".utf8) + [0])
        var text = try dts(e.bytes)
        #expect(text.contains("kaslr-seed = <0x00 0x1234>;"))
        #expect(text.contains("bootargs = \"console=ttyAMA0 nokaslr\";"))
        // Replace with a different length; the tree stays valid and the old value is gone.
        try e.setProperty(path: ["chosen"], name: "bootargs", value: Array("x".utf8) + [0])
        try e.setProperty(path: ["memory"], name: "reg", value: [0, 0, 0, 0, 0x40, 0, 0, 0, 0, 0, 0, 0, 0x20, 0, 0, 0])
        text = try dts(e.bytes)
        #expect(text.contains("bootargs = \"x\";") && !text.contains("nokaslr"))
        #expect(text.contains("reg = <0x00 0x40000000 0x00 0x20000000>;"))
        // The kernel-side reader sees the same.
        var blob = e.bytes
        try blob.withUnsafeMutableBytes { raw in
            let fdt = try FDT(at: raw.baseAddress!, limit: raw.count)
            let seed = try #require(try fdt.property(node: "chosen", name: "kaslr-seed"))
            #expect(fdt.cells(seed, at: 0, count: 2) == 0x1234)
            var ranges: [(UInt64, UInt64)] = []
            try fdt.forEachMemoryRange { ranges.append(($0, $1)) }
            #expect(ranges.count == 1 && ranges[0] == (0x4000_0000, 0x2000_0000))
        }
        #expect(throws: SlideError.self) { try e.setProperty(path: ["nonexistent"], name: "x", value: []) }
    }
}

// The EFI stub's in-place writer against the host's editor (and dtc): the same edits to QEMU's
// DTB give the same blob, except that the writer's totalsize is its buffer.
@Suite struct FDTInPlaceWriting {
    @Test func sameBlobAsTheEditor() throws {
        let dtb = try FDTEditing().qemuDTB()
        var editor = try FDTEditor(dtb)
        let packed = try editor.packed()
        editor = try FDTEditor(packed)
        try editor.setProperty(path: ["chosen"], name: "kaslr-seed", value: [0, 0, 0, 0, 0, 0, 0x12, 0x34])
        try editor.setProperty(path: ["chosen"], name: "bootargs", value: Array("console=ttyAMA0 nokaslr".utf8) + [0])
        try editor.setProperty(path: ["chosen"], name: "bootargs", value: Array("x".utf8) + [0])          // shorter: moved
        try editor.setProperty(path: ["chosen"], name: "kaslr-seed", value: [0, 0, 0, 0, 0, 0, 0x56, 0x78]) // same size: in place
        var buffer = packed + [UInt8](repeating: 0xee, count: 4096)
        let used = try buffer.withUnsafeMutableBytes { raw throws -> Int in
            let w = try FDTWriter(at: raw.baseAddress!, capacity: raw.count)
            try w.setU64(node: "chosen", name: "kaslr-seed", 0x1234)
            let long = Array("console=ttyAMA0 nokaslr".utf8) + [0], short = Array("x".utf8) + [0]
            try long.withUnsafeBytes { try w.setProperty(node: "chosen", name: "bootargs", value: $0.baseAddress!, length: $0.count) }
            try short.withUnsafeBytes { try w.setProperty(node: "chosen", name: "bootargs", value: $0.baseAddress!, length: $0.count) }
            try w.setU64(node: "chosen", name: "kaslr-seed", 0x5678)
            #expect(throws: SlideError.self) { try w.setU64(node: "nonexistent", name: "x", 1) }
            return w.usedSize
        }
        let expected = editor.bytes
        #expect(used <= expected.count && expected.count - used < 8)        // the editor keeps the 8-byte padding packed() gave
        #expect(Array(buffer[8..<used]) == Array(expected[8..<used]))
        let total = buffer[4..<8].reduce(0) { $0 << 8 | Int($1) }
        #expect(total == packed.count + 4096)                               // the room is the blob's
        let text = try FDTEditing().dts(buffer)
        #expect(text.contains("kaslr-seed = <0x00 0x5678>;") && text.contains("bootargs = \"x\";"))
    }

    @Test func refusesWhenTheBufferIsFull() throws {
        let packed = try FDTEditor(try FDTEditing().qemuDTB()).packed()
        var buffer = packed + [UInt8](repeating: 0, count: 16)
        try buffer.withUnsafeMutableBytes { raw in
            let w = try FDTWriter(at: raw.baseAddress!, capacity: raw.count)
            let big = [UInt8](repeating: 1, count: 64)
            #expect(throws: SlideError.self) {
                try big.withUnsafeBytes { try w.setProperty(node: "chosen", name: "slide,big", value: $0.baseAddress!, length: $0.count) }
            }
        }
        #expect(Array(buffer[8..<packed.count]) == Array(packed[8...]))  // nothing written on refusal
    }
}
