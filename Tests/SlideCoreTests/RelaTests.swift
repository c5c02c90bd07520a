import Testing
@testable import SlideCore

struct TableResolver: SymbolResolver {
    var values: [UInt32: UInt64]
    func value(ofSymbol index: UInt32) -> UInt64? { values[index] }
}

/// Builds a RELA table's bytes.
func relaBytes(_ entries: [RelaEntry]) -> [UInt8] {
    var out = [UInt8](repeating: 0, count: entries.count * RelaEntry.size)
    out.withUnsafeMutableBytes { raw in
        for (i, e) in entries.enumerated() { try! RelaTable.write(e, to: MutableByteView(raw), index: i) }
    }
    return out
}

func applyRela(_ entries: [RelaEntry], imageSize: Int, linkBase: UInt64, displacement: UInt64,
               symbols: [UInt32: UInt64] = [:]) throws -> ([UInt8], RelaApplyReport) {
    var image = [UInt8](repeating: 0xee, count: imageSize)
    let table = relaBytes(entries)
    let report = try table.withUnsafeBytes { t in
        try image.withUnsafeMutableBytes { raw in
            try Rela.apply(try RelaTable(ByteView(t)), to: MutableByteView(raw), linkBase: linkBase,
                           displacement: displacement, resolver: TableResolver(values: symbols))
        }
    }
    return (image, report)
}

/// The aligned fast path and the checked path gave the same image and result, or the same error.
func expectSameOutcome<R: Equatable>(_ aligned: Result<([UInt8], R), SlideError>, _ unaligned: Result<([UInt8], R), SlideError>,
                                     _ label: String, sourceLocation: SourceLocation = #_sourceLocation) {
    switch (aligned, unaligned) {
    case (.success(let a), .success(let u)): #expect(a.0 == u.0 && a.1 == u.1, "\(label)", sourceLocation: sourceLocation)
    case (.failure(let a), .failure(let u)): #expect(a == u, "\(label)", sourceLocation: sourceLocation)
    default: Issue.record("\(label): \(aligned) against \(unaligned)", sourceLocation: sourceLocation)
    }
}

func word(_ b: [UInt8], _ o: Int) -> UInt64 { b.withUnsafeBytes { try! ByteView($0).u64(at: o) } }

@Suite struct RelaApply {
    let base: UInt64 = 0xffff_8000_0800_0000

    // RELATIVE: [P] = A + d. With base 0xffff800008000000, d = 0x1000000:
    // place 0x...0010 gets 0xffff800008000040 + 0x1000000 = 0xffff800009000040.
    @Test func relativeOverwrites() throws {
        let (img, r) = try applyRela([RelaEntry(offset: base + 0x10, type: .relative, addend: Int64(bitPattern: base + 0x40))],
                                     imageSize: 0x100, linkBase: base, displacement: 0x100_0000)
        #expect(word(img, 0x10) == 0xffff_8000_0900_0040)
        #expect(word(img, 0x18) == 0xeeee_eeee_eeee_eeee)
        #expect(r.relative == 1)
    }

    // Idempotent: applying twice gives the same image (RELA ignores the old contents).
    @Test func relativeIsIdempotent() throws {
        let entries = [RelaEntry(offset: base + 8, type: .relative, addend: Int64(bitPattern: base + 0x80))]
        let (a, _) = try applyRela(entries, imageSize: 0x40, linkBase: base, displacement: 0x20_0000)
        var b = a
        let t = relaBytes(entries)
        _ = try t.withUnsafeBytes { tb in
            try b.withUnsafeMutableBytes { raw in
                try Rela.apply(try RelaTable(ByteView(tb)), to: MutableByteView(raw), linkBase: base, displacement: 0x20_0000, resolver: NoSymbols())
            }
        }
        #expect(a == b)
    }

    // At the link address (d = 0) RELA still writes the addend (places are 0 in an Image).
    @Test func appliesAtLinkAddress() throws {
        let (img, _) = try applyRela([RelaEntry(offset: base, type: .relative, addend: Int64(bitPattern: base + 0x1234))],
                                     imageSize: 0x10, linkBase: base, displacement: 0)
        #expect(word(img, 0) == base + 0x1234)
    }

    // ABS64/GLOB_DAT: [P] = S + A through the resolver; unresolved ones are skipped.
    @Test func symbolicThroughResolver() throws {
        let (img, r) = try applyRela([
            RelaEntry(offset: base + 0x00, type: .abs64, symbol: 3, addend: 0x10),
            RelaEntry(offset: base + 0x08, type: .globDat, symbol: 4, addend: 0),
            RelaEntry(offset: base + 0x10, type: .abs64, symbol: 9, addend: 0),
        ], imageSize: 0x20, linkBase: base, displacement: 0, symbols: [3: 0x5000, 4: 0x6000])
        #expect(word(img, 0) == 0x5010)
        #expect(word(img, 8) == 0x6000)
        #expect(word(img, 0x10) == 0xeeee_eeee_eeee_eeee)
        #expect(r.symbolic == 2 && r.unresolved == 1)
    }

    @Test func noneSkippedOthersReported() throws {
        let (img, r) = try applyRela([
            RelaEntry(offset: 0, info: 0, addend: 0),
            RelaEntry(offset: base, type: .jumpSlot, symbol: 1, addend: 0),
            RelaEntry(offset: base, type: .irelative, addend: 0),
        ], imageSize: 0x10, linkBase: base, displacement: 0)
        #expect(r.none == 1 && r.unsupported == 2 && r.firstUnsupported == 1)
        #expect(word(img, 0) == 0xeeee_eeee_eeee_eeee)
    }

    // A place whose 8 bytes would cross the image end is refused before any store.
    @Test func placeOutsideImageThrows() {
        #expect(throws: SlideError.outOfRange("RELA place", value: base + 0x1c, low: base, high: base + 0x18)) {
            _ = try applyRela([RelaEntry(offset: base + 0x1c, type: .relative, addend: 0)], imageSize: 0x20, linkBase: base, displacement: 0)
        }
        #expect(throws: SlideError.self) {
            _ = try applyRela([RelaEntry(offset: base - 8, type: .relative, addend: 0)], imageSize: 0x20, linkBase: base, displacement: 0)
        }
    }

    // A RELATIVE place that is not a multiple of 8 leaves the aligned loop for the checked path
    // (an unaligned store), and the walk goes on; so does a RELATIVE entry with a symbol index.
    @Test func misalignedPlaceAndSymbolIndexStillRelative() throws {
        let (img, r) = try applyRela([
            RelaEntry(offset: base + 0x8, type: .relative, addend: 0x100),
            RelaEntry(offset: base + 0x13, type: .relative, addend: 0x200),
            RelaEntry(offset: 0, info: 0, addend: 0),
            RelaEntry(offset: 0, info: 0, addend: 0),
            RelaEntry(offset: base + 0x28, type: .relative, symbol: 7, addend: 0x300),
            RelaEntry(offset: base + 0x30, type: .relative, addend: 0x400),
        ], imageSize: 0x40, linkBase: base, displacement: 0x10)
        #expect(word(img, 0x8) == 0x110 && word(img, 0x13) == 0x210 && word(img, 0x28) == 0x310 && word(img, 0x30) == 0x410)
        #expect(r.relative == 4 && r.none == 2 && r.unsupported == 0)
    }

    // The aligned loop (table and image 8-byte aligned, as in the kernel) and the unaligned one
    // give the same image and report on a random mix of every kind of entry, and the same error.
    @Test func alignedAndUnalignedPathsAgree() throws {
        var rng = SplitMix64(seed: 0x5eed_12)
        for round in 0..<200 {
            let size = 0x200
            var entries: [RelaEntry] = []
            for _ in 0..<Int(rng.next() % 40) {
                let kind = rng.next() % 8
                var place = base + rng.next() % UInt64(size - 7)
                if kind < 4 { place &= ~7 }
                if round % 10 == 0 && rng.next() % 30 == 0 { place = base + UInt64(size) }  // out of range
                switch kind {
                case 0, 1, 2, 4: entries.append(RelaEntry(offset: place, type: .relative, addend: Int64(bitPattern: rng.next())))
                case 3: entries.append(RelaEntry(offset: 0, info: 0, addend: 0))
                case 5: entries.append(RelaEntry(offset: place, type: .abs64, symbol: UInt32(rng.next() % 3), addend: 8))
                case 6: entries.append(RelaEntry(offset: place, type: .relative, symbol: 1, addend: 0x99))
                default: entries.append(RelaEntry(offset: place, type: .jumpSlot, symbol: 1, addend: 0))
                }
            }
            let table = relaBytes(entries)
            func run(shift: Int) -> Result<([UInt8], RelaApplyReport), SlideError> {
                var tbuf = [UInt8](repeating: 0, count: table.count + 8), ibuf = [UInt8](repeating: 0xee, count: size + 8)
                tbuf.replaceSubrange(shift..<(shift + table.count), with: table)
                let result = tbuf.withUnsafeBytes { t in
                    ibuf.withUnsafeMutableBytes { raw in
                        Result { () throws(SlideError) -> RelaApplyReport in
                            try Rela.apply(try RelaTable(ByteView(start: t.baseAddress! + shift, count: table.count)),
                                           to: MutableByteView(UnsafeMutableRawBufferPointer(rebasing: raw[shift..<(shift + size)])),
                                           linkBase: base, displacement: 0x1234_0000, resolver: TableResolver(values: [1: 0x5000]))
                        }
                    }
                }
                return result.map { (Array(ibuf[shift..<(shift + size)]), $0) }
            }
            expectSameOutcome(run(shift: 0), run(shift: 1), "round \(round)")
        }
    }

    @Test func tableSizeMustBeWholeEntries() {
        let bytes = [UInt8](repeating: 0, count: 25)
        #expect(throws: SlideError.misaligned("RELA table size", value: 25, alignment: 24)) {
            try bytes.withUnsafeBytes { _ = try RelaTable(ByteView($0)) }
        }
    }
}

@Suite struct RelocationTypes {
    @Test func namesFromTheSpec() {
        #expect(RelocationType.relative.description == "R_AARCH64_RELATIVE")
        #expect(RelocationType(rawValue: 1027) == .relative)
        #expect(RelocationType(rawValue: 257).description == "R_AARCH64_ABS64")
        #expect(RelocationType(rawValue: 0x11b).description == "R_AARCH64_CALL26")
        #expect(RelocationType(rawValue: 0x401).description == "R_AARCH64_GLOB_DAT")
        #expect(RelocationType(rawValue: 0x999).description == "R_AARCH64_<0x999>")
        #expect(RelocationType(name: "R_AARCH64_JUMP26") == .jump26)
        #expect(RelocationType(name: "PREL32")?.rawValue == 0x105)
        #expect(RelocationType(name: "R_AARCH64_BOGUS") == nil)
    }

    @Test func tableIsSortedAndUnique() {
        let values = RelocationType.names.map(\.0)
        #expect(values == values.sorted())
        #expect(Set(values).count == values.count)
    }
}
