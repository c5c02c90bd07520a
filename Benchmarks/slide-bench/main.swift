// `make bench`: SlideCore's RELA apply against the boot code's loop in plain C (-O2), on the same
// Image, the same buffers, in one process, alternating pass by pass — so both see the same
// memory placement and machine state. Prints per-pass medians and their ratio.
// Usage: slide-bench IMAGE PASSES

import CApply
import Foundation
import SlideCore
import SlideKit

let args = CommandLine.arguments
guard args.count == 3, let passes = Int(args[2]), passes > 0 else {
    FileHandle.standardError.write(Data("usage: slide-bench IMAGE PASSES\n".utf8))
    exit(2)
}
do {
    let k = try KernelImage.load(path: args[1])
    guard let rela = k.rela else { throw SlideKitError(args[1], "no RELA table") }
    // 2 MiB-aligned copies of the image and of its table.
    func aligned(_ bytes: ArraySlice<UInt8>) -> UnsafeMutableRawBufferPointer {
        var p: UnsafeMutableRawPointer? = nil
        guard posix_memalign(&p, 2 << 20, max(bytes.count, 1)) == 0, let p else { fatalError("posix_memalign") }
        let buffer = UnsafeMutableRawBufferPointer(start: p, count: bytes.count)
        buffer.copyBytes(from: bytes)
        return buffer
    }
    let image = aligned(k.bytes[...])
    let table = aligned(k.bytes[rela.imageOffset..<(rela.imageOffset + rela.size)])
    let relaTable = try RelaTable(ByteView(UnsafeRawBufferPointer(table)))
    let view = MutableByteView(image)
    let displacement: UInt64 = 0x100_0000
    var swiftTimes: [UInt64] = [], cTimes: [UInt64] = []
    var swiftApplied = 0, cApplied = 0
    func timeSwift() throws {
        let t0 = DispatchTime.now().uptimeNanoseconds
        swiftApplied = try Rela.apply(relaTable, to: view, linkBase: k.linkBase, displacement: displacement, resolver: NoSymbols()).relative
        swiftTimes.append(DispatchTime.now().uptimeNanoseconds - t0)
    }
    func timeC() {
        let t0 = DispatchTime.now().uptimeNanoseconds
        cApplied = c_apply_rela(table.baseAddress!.assumingMemoryBound(to: UInt8.self), table.count,
                                image.baseAddress!.assumingMemoryBound(to: UInt8.self), k.linkBase, displacement)
        cTimes.append(DispatchTime.now().uptimeNanoseconds - t0)
    }
    // The order flips every pass, so neither side always runs on the caches the other just warmed.
    for pass in 0..<passes {
        if pass % 2 == 0 { try timeSwift(); timeC() } else { timeC(); try timeSwift() }
    }
    guard swiftApplied == cApplied else { throw SlideKitError(args[1], "Swift applied \(swiftApplied) entries, C \(cApplied)") }
    swiftTimes.sort()
    cTimes.sort()
    let s = Double(swiftTimes[passes / 2]), c = Double(cTimes[passes / 2])
    print("image \(args[1]): RELA table at \(hex(UInt64(rela.imageOffset))), \(rela.size) bytes, \(swiftApplied) RELATIVE entries")
    print(String(format: "rela-apply: swift %.3f ms, C -O2 %.3f ms per pass (medians of %d alternating passes); ratio swift/C = %.2fx (target <= 1.5x)",
                 s / 1e6, c / 1e6, passes, s / c))
} catch {
    FileHandle.standardError.write(Data("slide-bench: error: \(error)\n".utf8))
    exit(1)
}
