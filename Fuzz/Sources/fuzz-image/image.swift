// Image identification and table discovery (SlideKit KernelImage.load from bytes): containers,
// the Image header and PE view, every recognizer (TableRecognizers.all, through TableFinder),
// link base derivation; then what inspect and verify do with the result.

import FuzzSupport
import SlideCore
import SlideKit

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    // A decompression bomb is stopped by this limit (a setting of the tool, --max-size); a lower
    // one keeps the fuzzer fast. Allocation past the libFuzzer limits is still a crash.
    Containers.maxOutput = 64 << 20
    do throws(SlideKitError) {
        let k = try KernelImage.load(bytes: bytes(data, size), path: "fuzz")
        sink(k.linkBase ^ UInt64(k.recognitions.count) ^ UInt64(k.disagreements.count))
        try k.withTables { (_, rela, relr) throws(SlideError) in
            sink(UInt64(rela?.count ?? 0))
            if let relr { sink(UInt64((try? relr.placeCount()) ?? 0)) }
        }
        if let e = try? k.exceptionTableCheck() { sink(UInt64(e.entries)) }
        sink(try InspectReport.build(k).text())
        let report = try Verifier.verify(k, allowNoTable: true)
        sink(UInt64(report.errors))
    } catch {
        sink(error.description)
    }
    return 0
}
