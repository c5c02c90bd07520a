// The module linker (SlideCore/Module: ModuleLayout, ModuleSymbols, ModuleLink; SlideKit
// ModuleLinker): a fuzzed ET_REL linked 1 GiB below a kernel whose symbol table is a small
// System.map (a few names modules use), every other undefined symbol at a synthetic address,
// with and without the Cortex-A53 erratum 843419 fix; and the same input linked against a
// __ksymtab as the Slide kernel resolves it (SlideCore KernelSymbolTable).

import FuzzSupport
import SlideCore
@testable import SlideKit

let systemMap: [String: UInt64] = [
    "printk": 0xffff_8000_8010_0000, "_printk": 0xffff_8000_8010_0040, "memcpy": 0xffff_8000_8020_0000,
    "memset": 0xffff_8000_8020_0080, "kfree": 0xffff_8000_8030_0000, "__kmalloc": 0xffff_8000_8030_0100,
    "__stack_chk_guard": 0xffff_8000_8100_0000, "jiffies": 0xffff_8000_8100_0100,
]

/// A __ksymtab of two entries, sorted by name, over its own names (PREL32 offsets from each field).
let ksymtab: [UInt8] = {
    var b = [UInt8](repeating: 0, count: 24 + 32)
    func put(_ v: Int32, _ o: Int) { for i in 0..<4 { b[o + i] = UInt8(truncatingIfNeeded: v >> (8 * Int32(i))) } }
    let names = ["_printk", "memcpy"]
    var at = 24
    for (i, n) in names.enumerated() {
        for (j, c) in n.utf8.enumerated() { b[at + j] = c }
        put(Int32(0x1000 * (i + 1)), 12 * i)          // value: 4 KiB, 8 KiB past the field
        put(Int32(at - (12 * i + 4)), 12 * i + 4)     // name
        at += 16
    }
    return b
}()

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let input = bytes(data, size)
    for fix in [false, true] {
        var o = ModuleLinkOptions()
        o.base = 0xffff_8000_4000_0000
        o.symbols = systemMap
        o.undefinedAt = 0xffff_8000_9000_0000
        o.fixCortexA53843419 = fix
        do throws(SlideKitError) {
            let m = try ModuleLinker.link(input, name: "fuzz", path: "fuzz.ko", o)
            sink(UInt64(m.core.count) ^ UInt64(m.initRegion.count) ^ UInt64(m.relocationCount))
            for f in m.failures { sink(f) }
        } catch {
            sink(error.description)
            break
        }
    }
    withAlignedCopy(data, size) { raw in
        ksymtab.withUnsafeBytes { k in
            do throws(SlideError) {
                let kernel = try KernelSymbolTable(memory: ByteView(k), address: 0xffff_8000_8100_0000, tableOffset: 0, tableSize: 24)
                let layout = try ModuleLayout(try ELFFile(ByteView(UnsafeRawBufferPointer(raw))))
                var core = [UInt8](repeating: 0, count: Int(layout.regionSize.core))
                var initRegion = [UInt8](repeating: 0, count: Int(layout.regionSize.initial))
                let bases = PerRegion(core: UInt64(0xffff_8000_4000_0000), initial: 0xffff_8000_4000_0000 &+ layout.regionSize.core)
                let result = try core.withMutableView { (c) throws(SlideError) -> ModuleLinkResult in
                    try initRegion.withMutableView { (i) throws(SlideError) -> ModuleLinkResult in
                        try layout.link(core: c, initRegion: i, bases: bases, resolver: kernel) { sink(UInt64($0.entry)) }
                    }
                }
                sink(UInt64(result.pltUsed.core))
            } catch {
                sink(error)
            }
        }
    }
    return 0
}
