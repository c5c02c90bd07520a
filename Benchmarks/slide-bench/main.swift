// `make bench`: SlideCore's RELA and RELR apply against plain C loops (-O2, Benchmarks/CApply), on
// the same Image, the same buffers, in one process, alternating pass by pass — so both see the
// same memory placement and machine state. Prints per-pass medians and their ratio, one line per
// table kind. The C loops check nothing; SlideCore checks every place against the image before
// its store (the note under the figures says what that costs).
// Usage: slide-bench rela|relr IMAGE PASSES

import CApply
import Foundation
import SlideCore
import SlideKit

let args = CommandLine.arguments
guard args.count == 4, args[1] == "rela" || args[1] == "relr", let passes = Int(args[3]), passes > 0 else {
    FileHandle.standardError.write(Data("usage: slide-bench rela|relr IMAGE PASSES\n".utf8))
    exit(2)
}
let kind = args[1], path = args[2]
do {
    let k = try KernelImage.load(path: path)
    guard let location = kind == "rela" ? k.rela : k.relr else { throw SlideKitError(path, "no \(kind.uppercased()) table") }
    // 2 MiB-aligned copies of the image and of its table.
    func aligned(_ bytes: ArraySlice<UInt8>) -> UnsafeMutableRawBufferPointer {
        var p: UnsafeMutableRawPointer? = nil
        guard posix_memalign(&p, 2 << 20, max(bytes.count, 1)) == 0, let p else { fatalError("posix_memalign") }
        let buffer = UnsafeMutableRawBufferPointer(start: p, count: bytes.count)
        buffer.copyBytes(from: bytes)
        return buffer
    }
    let image = aligned(k.bytes[...])
    let table = aligned(k.bytes[location.imageOffset..<(location.imageOffset + location.size)])
    let tableView = ByteView(UnsafeRawBufferPointer(table))
    let relaTable = kind == "rela" ? try RelaTable(tableView) : nil
    let relrTable = kind == "relr" ? try RelrTable(tableView) : nil
    let view = MutableByteView(image)
    let imageBytes = image.baseAddress!.assumingMemoryBound(to: UInt8.self)
    let displacement: UInt64 = 0x100_0000
    var swiftTimes: [UInt64] = [], cTimes: [UInt64] = []
    var swiftApplied = 0, cApplied = 0
    func timeSwift() throws {
        let t0 = DispatchTime.now().uptimeNanoseconds
        if let relaTable {
            swiftApplied = try Rela.apply(relaTable, to: view, linkBase: k.linkBase, displacement: displacement, resolver: NoSymbols()).relative
        } else if let relrTable {
            swiftApplied = try Relr.apply(relrTable, to: view, linkBase: k.linkBase, displacement: displacement)
        }
        swiftTimes.append(DispatchTime.now().uptimeNanoseconds - t0)
    }
    func timeC() {
        let t0 = DispatchTime.now().uptimeNanoseconds
        if kind == "rela" {
            cApplied = c_apply_rela(table.baseAddress!.assumingMemoryBound(to: UInt8.self), table.count, imageBytes, k.linkBase, displacement)
        } else {
            cApplied = c_apply_relr(table.baseAddress!.assumingMemoryBound(to: UInt64.self), table.count / 8, imageBytes, k.linkBase, displacement)
        }
        cTimes.append(DispatchTime.now().uptimeNanoseconds - t0)
    }
    // The order flips every pass, so neither side always runs on the caches the other just warmed.
    // (RELR adds: the places keep growing by the displacement, the same work every pass.)
    for pass in 0..<passes {
        if pass % 2 == 0 { try timeSwift(); timeC() } else { timeC(); try timeSwift() }
    }
    guard swiftApplied == cApplied else { throw SlideKitError(path, "Swift applied \(swiftApplied) entries, C \(cApplied)") }
    swiftTimes.sort()
    cTimes.sort()
    let s = Double(swiftTimes[passes / 2]), c = Double(cTimes[passes / 2])
    let baseline = kind == "rela" ? "C boot loop" : "C relocate_kernel"
    func ms(_ ns: Double) -> String { String(format: "%.3f ms", ns / 1e6) }
    print("\(kind)-apply \(path): SlideCore \(ms(s)), \(baseline) -O2 \(ms(c)) per pass; ratio " + String(format: "%.2fx", s / c)
          + " (target <= 1.2x); \(swiftApplied) places, \(location.size)-byte table, medians of \(passes) alternating passes")
} catch {
    FileHandle.standardError.write(Data("slide-bench: error: \(error)\n".utf8))
    exit(1)
}
