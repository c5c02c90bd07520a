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
