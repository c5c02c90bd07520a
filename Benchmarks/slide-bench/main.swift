// `make bench`: SlideCore's RELA apply on a real Image, in memory, timed per pass.
// Usage: slide-bench IMAGE ITERATIONS — prints the table it found and the median time.

import Foundation
import SlideCore
import SlideKit

let args = CommandLine.arguments
guard args.count == 3, let iterations = Int(args[2]), iterations > 0 else {
    FileHandle.standardError.write(Data("usage: slide-bench IMAGE ITERATIONS\n".utf8))
    exit(2)
}
do {
    let k = try KernelImage.load(path: args[1])
    guard let rela = k.rela else { throw SlideKitError(args[1], "no RELA table") }
    // 2 MiB-aligned buffers, as the C baseline allocates them: both get the same TLB behaviour.
    func aligned(_ bytes: ArraySlice<UInt8>) -> UnsafeMutableRawBufferPointer {
        var p: UnsafeMutableRawPointer? = nil
        guard posix_memalign(&p, 2 << 20, max(bytes.count, 1)) == 0, let p else { fatalError("posix_memalign") }
        let buffer = UnsafeMutableRawBufferPointer(start: p, count: bytes.count)
        buffer.copyBytes(from: bytes)
        return buffer
    }
    let image = aligned(k.bytes[...])
    let table = aligned(k.bytes[rela.imageOffset..<(rela.imageOffset + rela.size)])
    var samples: [UInt64] = []
    var applied = 0
    do {
        let relaTable = try RelaTable(ByteView(UnsafeRawBufferPointer(table)))
        do {
            let view = MutableByteView(image)
            for _ in 0..<iterations {
                let t0 = DispatchTime.now().uptimeNanoseconds
                let report = try Rela.apply(relaTable, to: view, linkBase: k.linkBase, displacement: 0x100_0000, resolver: NoSymbols())
                samples.append(DispatchTime.now().uptimeNanoseconds - t0)
                applied = report.relative
            }
        }
    }
    samples.sort()
    print("table_offset=\(hex(UInt64(rela.imageOffset))) table_size=\(hex(UInt64(rela.size))) link_base=\(hex(k.linkBase)) relative=\(applied)")
    print("swift_median_ns=\(samples[samples.count / 2]) swift_min_ns=\(samples[0])")
} catch {
    FileHandle.standardError.write(Data("slide-bench: error: \(error)\n".utf8))
    exit(1)
}
