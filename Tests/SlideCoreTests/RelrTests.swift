import Testing
@testable import SlideCore

/// Encodes with SlideCore and returns the words.
func relrEncode(_ places: [UInt64]) throws(SlideError) -> [UInt64] {
    var words: [UInt64] = []
    try Relr.encode(count: places.count, place: { places[$0] }, emit: { words.append($0) })
    return words
}

func relrDecode(_ words: [UInt64]) throws -> [UInt64] {
    try words.withUnsafeBytes { raw in
        let t = try RelrTable(ByteView(raw))
        var it = t.makePlaces()
        var out: [UInt64] = []
        while let p = it.next() { out.append(p) }
        if let e = it.error { throw e }
        return out
    }
}

@Suite struct RelrCodec {
    // Hand-calculated rows (docs/relocations.md).
    // 0x10000 is an address word; next = 0x10008. 0x10008 is bit 0 of the bitmap (word bit 1),
    // 0x10010 bit 1, 0x10100 = next + 31*8 → bit 31. bitmap = 0x8000_0003 → word (b << 1) | 1.
    @Test func handRowBitmap() throws {
        #expect(try relrEncode([0x10000, 0x10008, 0x10010, 0x10100]) == [0x10000, 0x1_0000_0007])
    }

    // 63 words after the address word fill one bitmap exactly (bits 1...63 → 0xffff_ffff_ffff_ffff).
    @Test func handRowFullBitmap() throws {
        let places = (0...63).map { 0x2000 + UInt64($0) * 8 }
        #expect(try relrEncode(places) == [0x2000, 0xffff_ffff_ffff_ffff])
    }

    // A place exactly 63 words past `next` (0x2008 + 63*8 = 0x2200) is out of one bitmap's reach;
    // an empty bitmap then a bitmap with bit 0 would take 3 words, a new address word takes 2.
    @Test func handRowBeyondOneBitmap() throws {
        #expect(try relrEncode([0x2000, 0x2200]) == [0x2000, 0x2200])
        #expect(try relrEncode([0x2000, 0x2200, 0x2208]) == [0x2000, 0x2200, 0x3])
    }

    // Decoders must still accept the 3-word form: an empty bitmap advances `next` by 63 words.
    @Test func decodeEmptyBitmap() throws {
        #expect(try relrDecode([0x2000, 0x1, 0x3]) == [0x2000, 0x2200])
    }

    // A gap of more than one bitmap's reach, and a place not 8 bytes from the base, start anew.
    @Test func handRowNewAddressWords() throws {
        #expect(try relrEncode([0x1000, 0x9000]) == [0x1000, 0x9000])
        #expect(try relrEncode([0x1000, 0x1004]) == [0x1000, 0x1004])
    }

    @Test func rejectsOddAndUnsorted() {
        #expect(throws: SlideError.misaligned("RELR place", value: 0x1001, alignment: 2)) { try relrEncode([0x1001]) }
        #expect(throws: SlideError.self) { try relrEncode([0x2000, 0x1000]) }
        #expect(throws: SlideError.self) { try relrEncode([0x2000, 0x2000]) }
    }

    @Test func bitmapBeforeAddressIsAnError() throws {
        #expect(throws: SlideError.invalid("RELR bitmap before any address word, word", value: 0)) {
            try relrDecode([0x7, 0x1000])
        }
    }

    @Test func decodeHandRow() throws {
        #expect(try relrDecode([0x10000, 0x1_0000_0007]) == [0x10000, 0x10008, 0x10010, 0x10100])
    }

    // Round trip over pseudo-random place sets (deterministic SplitMix64).
    @Test func roundTrip() throws {
        var rng = SplitMix64(seed: 0x5eed)
        for _ in 0..<300 {
            var set = Set<UInt64>()
            let base = 0xffff_8000_0800_0000 &+ (rng.next() % 0x1000) * 8
            let n = Int(rng.next() % 400)
            for _ in 0..<n {
                let spread: UInt64 = rng.next() % 4 == 0 ? 1 << 20 : 4096
                set.insert(base + (rng.next() % spread) * 8 + (rng.next() % 8 == 0 ? 4 : 0))
            }
            let places = set.sorted()
            let words = try relrEncode(places)
            #expect(try relrDecode(words) == places)
            #expect(words.count <= places.count)
        }
    }

    @Test func applyAddsDisplacement() throws {
        // Image of 0x600 bytes at link base 0x4000; places hold link-time values (REL-style).
        var image = [UInt8](repeating: 0, count: 0x600)
        let places: [UInt64] = [0x4000, 0x4010, 0x4200, 0x45f8]
        image.withUnsafeMutableBytes { raw in
            for p in places { try! MutableByteView(raw).setU64(0xffff_0000_0000_0000 | p, at: Int(p - 0x4000)) }
        }
        let words = try relrEncode(places)
        let n = try words.withUnsafeBytes { w in
            try image.withUnsafeMutableBytes { raw in
                try Relr.apply(try RelrTable(ByteView(w)), to: MutableByteView(raw), linkBase: 0x4000, displacement: 0x20_0000)
            }
        }
        #expect(n == 4)
        image.withUnsafeBytes { raw in
            let v = ByteView(raw)
            for p in places { #expect(try! v.u64(at: Int(p - 0x4000)) == (0xffff_0000_0000_0000 | p) + 0x20_0000) }
            #expect(try! v.u64(at: 8) == 0)
        }
    }

    // A bitmap whose last place leaves the image: the places before it are relocated and the
    // error names the first one outside (the aligned loop hands the word to the checked one).
    @Test func applyStopsInsideABitmap() throws {
        var image = [UInt64](repeating: 0, count: 0x20) // 0x100 bytes at 0x4000
        let words: [UInt64] = [0x40e8, 0b111 << 1 | 1]  // 0x40e8, then 0x40f0, 0x40f8, 0x4100
        #expect(throws: SlideError.outOfRange("RELR place", value: 0x4100, low: 0x4000, high: 0x40f8)) {
            try words.withUnsafeBytes { w in
                try image.withUnsafeMutableBytes { raw in
                    _ = try Relr.apply(try RelrTable(ByteView(w)), to: MutableByteView(raw), linkBase: 0x4000, displacement: 1)
                }
            }
        }
        #expect(image[0x1d] == 1 && image[0x1e] == 1 && image[0x1f] == 1)
    }

    // The aligned loop and the checked one agree on random tables (misaligned address words,
    // places past the end, bitmaps before any address word included).
    @Test func alignedAndUnalignedPathsAgree() throws {
        var rng = SplitMix64(seed: 0x7e1a)
        for round in 0..<300 {
            let size = 0x800
            var words: [UInt64] = []
            for _ in 0..<Int(rng.next() % 12) {
                if rng.next() % 3 == 0 {
                    var a = 0x4000 + rng.next() % UInt64(size + 0x40)
                    if rng.next() % 8 != 0 { a &= ~7 } else { a &= ~1 }
                    words.append(a)
                } else {
                    words.append(rng.next() | 1)
                }
            }
            func run(shift: Int) -> Result<([UInt8], Int), SlideError> {
                var ibuf = [UInt8](repeating: 0, count: size + 8)
                for j in 0..<size { ibuf[shift + j] = UInt8(truncatingIfNeeded: j &* 7) }
                var wbuf = [UInt8](repeating: 0, count: words.count * 8 + 8)
                words.withUnsafeBytes { wbuf.replaceSubrange(shift..<(shift + $0.count), with: $0) }
                let result = wbuf.withUnsafeBytes { w in
                    ibuf.withUnsafeMutableBytes { raw in
                        Result { () throws(SlideError) -> Int in
                            try Relr.apply(try RelrTable(ByteView(start: w.baseAddress! + shift, count: words.count * 8)),
                                           to: MutableByteView(UnsafeMutableRawBufferPointer(rebasing: raw[shift..<(shift + size)])),
                                           linkBase: 0x4000, displacement: 0x100_0000)
                        }
                    }
                }
                return result.map { (Array(ibuf[shift..<(shift + size)]), $0) }
            }
            expectSameOutcome(run(shift: 0), run(shift: 3), "round \(round)")
        }
    }

    @Test func applyRejectsPlaceOutsideImage() throws {
        var image = [UInt8](repeating: 0, count: 0x100)
        // 0x40f8 is the last 8-byte place of a 0x100-byte image at 0x4000; 0x4100 is past it.
        for (words, error) in [
            ([UInt64(0x4100)], SlideError.outOfRange("RELR place", value: 0x4100, low: 0x4000, high: 0x40f8)),
            ([0x40f8, 0x3], SlideError.outOfRange("RELR place", value: 0x4100, low: 0x4000, high: 0x40f8)),
            ([0x3fff_fff0], SlideError.outOfRange("RELR place", value: 0x3fff_fff0, low: 0x4000, high: 0x40f8)),
        ] {
            #expect(throws: error) {
                try words.withUnsafeBytes { w in
                    try image.withUnsafeMutableBytes { raw in
                        _ = try Relr.apply(try RelrTable(ByteView(w)), to: MutableByteView(raw), linkBase: 0x4000, displacement: 1)
                    }
                }
            }
        }
    }
}
