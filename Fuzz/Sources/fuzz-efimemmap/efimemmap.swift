// The EFI memory map text reader (SlideKit/Input/EFIMemoryMapText.swift), what `slide kaslr
// --efi-memmap` reads from a pasted dmesg, and the EFI stub model over whatever map it yields.
// Every region must print back (EFIMemoryMapText.line) as a line that reads as the same region.

import FuzzSupport
import SlideCore
@testable import SlideKit

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let text = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
    do throws(SlideKitError) {
        let map = try EFIMemoryMapText.parse(text, path: "input")
        for r in map {
            guard (try? EFIMemoryMapText.parse(EFIMemoryMapText.line(r), path: "line")) == [r] else {
                fatalError("\(EFIMemoryMapText.line(r)) does not read back as \(r)")
            }
        }
        for model in EFIStubPredictor.models {
            guard let alloc = EFIRandomAlloc(size: 0x201_0000, align: 0x1_0000, rules: model.rules, skipsSpecificPurpose: true) else { continue }
            sink(alloc.total(in: map))
            sink(alloc.slot(seed: 0xcdd8_9122, in: map) ?? 1)
            if let slot = try? EFIStubPredictor.kernelRegion("input", map, alloc, at: nil) {
                sink(alloc.total(in: EFIStubPredictor.beforeSlot(map, slot: slot)))
            }
        }
    } catch {
        sink(error.description)
    }
    return 0
}
