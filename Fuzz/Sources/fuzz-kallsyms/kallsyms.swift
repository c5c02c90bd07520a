// The kallsyms reader (SlideKit/Kallsyms): the locator, every address layout, name expansion.
// Input: the image's link base (8 bytes, little-endian), then the flat image. The image's
// memory size is its data size rounded up to 64 KiB, as KallsymsTable.read(KernelImage) does
// for an ELF; no RELA table (trixie's and sid's layouts need none).

import FuzzSupport
import SlideCore
@testable import SlideKit

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard size >= 8 else { return 0 }
    var linkBase: UInt64 = 0
    for i in 0..<8 { linkBase |= UInt64(data[i]) << (8 * UInt64(i)) }
    withAlignedCopy(data + 8, size - 8) { raw in
        let view = ByteView(UnsafeRawBufferPointer(raw))
        let span = (UInt64(view.count) &+ 0xffff) & ~0xffff
        let input = KallsymsInput(path: "fuzz", view: view, linkBase: linkBase, memorySize: span, rela: nil)
        do throws(SlideKitError) {
            let table = try KallsymsTable.read(input, limit: view.count)
            sink(UInt64(table.symbols.count))
            if let s = table.symbols.last { sink(s.name); sink(s.address) }
            _ = table.symbol(containing: linkBase &+ 0x1_0000)
        } catch {
            sink(error.description)
        }
    }
    return 0
}
