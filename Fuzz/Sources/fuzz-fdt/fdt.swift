// The FDT reader (SlideCore/FDT/FDT.swift), every query the Slide kernel makes, over an
// 8-byte-aligned blob; then the host's editor (FDTEditor.swift): setting /chosen properties
// as `slide boot` does, a property of the root and of /memory, and packed().

import FuzzSupport
import SlideCore

func read(_ raw: UnsafeMutableRawBufferPointer) {
    guard let base = raw.baseAddress else { return }
    do throws(SlideError) {
        let fdt = try FDT(at: base, limit: raw.count)
        try fdt.forEachMemoryRange { sink($0 ^ $1) }
        try fdt.forEachReservedRange { sink($0 ^ $1) }
        try fdt.forEachCPU { sink($0) }
        if let r = try fdt.initrd() { sink(r.start ^ r.end) }
        if let p = try fdt.property(node: "chosen", name: "bootargs") { sink(UInt64(fdt.stringLength(p))) }
        if let p = try fdt.property(node: "chosen", name: "kaslr-seed") {
            if p.length == 8 { sink(fdt.cells(p, at: 0, count: 2)) }
            fdt.zero(p)
        }
    } catch {
        sink(error)
    }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    withAlignedCopy(data, size) { read($0) }
    do throws(SlideError) {
        var editor = try FDTEditor(bytes(data, size))
        sink(UInt64(try editor.packed().count))
        try editor.setProperty(path: ["chosen"], name: "kaslr-seed", value: [1, 2, 3, 4, 5, 6, 7, 8])
        try editor.setProperty(path: ["chosen"], name: "bootargs", value: Array("console=ttyAMA0".utf8) + [0])
        try editor.setProperty(path: ["chosen"], name: "kaslr-seed", value: [8, 7, 6, 5, 4, 3, 2, 1])
        try editor.setProperty(path: [], name: "model", value: Array("fuzz".utf8) + [0])
        try editor.setProperty(path: ["memory"], name: "reg", value: [0, 0, 0, 0, 0x40, 0, 0, 0, 0, 0, 0, 0, 0x40, 0, 0, 0])
        let packed = try editor.packed()
        sink(UInt64(packed.count))
        packed.withUnsafeBufferPointer { p in withAlignedCopy(p.baseAddress!, p.count) { read($0) } }
    } catch {
        sink(error)
    }
    return 0
}
