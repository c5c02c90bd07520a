// RELR decoding (SlideCore/Relocation/Relr.swift): the place iterator, apply to an image, and the
// encoder, whose output must decode back to the places it was given.

import FuzzSupport
import SlideCore

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    withAlignedCopy(data, size) { raw in
        let view = ByteView(UnsafeRawBufferPointer(raw))
        do throws(SlideError) {
            let table = try RelrTable(view)
            var it = table.makePlaces()
            var places: [UInt64] = []
            while let p = it.next(), places.count < 1 << 16 { places.append(p) }
            sink(UInt64(places.count))
            if let e = it.error { sink(e) }
            if places.count < 1 << 16 { _ = try? table.placeCount() }
            // Apply into a small image linked at the first address word, 64 KiB aligned.
            var image = [UInt8](repeating: 0, count: 64 << 10)
            let linkBase = (table.count > 0 ? table[0] : 0) & ~0xffff
            let n = image.withUnsafeMutableBytes { out -> Int in
                (try? Relr.apply(table, to: MutableByteView(out), linkBase: linkBase, displacement: 0x20_0000)) ?? -1
            }
            sink(UInt64(bitPattern: Int64(n)))
            // Round trip: ascending, distinct, even places encode to words that decode to the same places.
            if it.error == nil, places.count < 1 << 16, zip(places, places.dropFirst()).allSatisfy({ $0 < $1 }), places.allSatisfy({ $0 & 1 == 0 }) {
                var words: [UInt64] = []
                try Relr.encode(count: places.count, place: { places[$0] }, emit: { words.append($0) })
                let again = words.withUnsafeBytes { w -> [UInt64]? in
                    guard var it2 = try? RelrTable(ByteView(w)).makePlaces() else { return nil }
                    var out: [UInt64] = []
                    while let p = it2.next() { out.append(p) }
                    return it2.error == nil ? out : nil
                }
                precondition(again == places, "RELR encode/decode round trip differs")
            }
        } catch {
            sink(error)
        }
    }
    return 0
}
