import Testing
@testable import SlideCore

/// EFI_MEMORY_DESCRIPTORs as firmware lays them out: `stride` bytes apart (edk2: 48), the bytes
/// past the 40 defined ones filled with 0xAA so a decoder stepping by 40 reads garbage.
func efiMap(_ regions: [(type: UInt32, start: UInt64, pages: UInt64, attributes: UInt64)], stride: Int = 48) -> [UInt8] {
    var b: [UInt8] = []
    func le<T: FixedWidthInteger>(_ v: T) { withUnsafeBytes(of: v.littleEndian) { b += $0 } }
    for r in regions {
        le(r.type); le(UInt32(0xaaaa_aaaa)); le(r.start); le(UInt64(0xdead_0000)); le(r.pages); le(r.attributes)
        b += [UInt8](repeating: 0xaa, count: stride - 40)
    }
    return b
}

@Suite struct EFIMemoryMapDecoding {
    let sample: [(type: UInt32, start: UInt64, pages: UInt64, attributes: UInt64)] = [
        (7, 0x4000_0000, 0x100, 0xf), (2, 0x4010_0000, 0x20, 0xf), (7, 0x4012_0000, 0x3_fee0, 0xf),
        (5, 0x7fff_0000, 0x10, 0x8000_0000_0000_000f),
    ]

    func decode(_ bytes: [UInt8], stride: Int) throws -> [EFIMemoryRegion] {
        var out: [EFIMemoryRegion] = []
        try bytes.withUnsafeBytes { raw in
            try EFIMemoryDescriptor.forEach(ByteView(raw), descriptorSize: stride) { out.append($0) }
        }
        return out
    }

    @Test(arguments: [40, 48, 64])
    func stepsByTheDescriptorSize(stride: Int) throws {
        let regions = try decode(efiMap(sample, stride: stride), stride: stride)
        #expect(regions.map(\.type.rawValue) == [7, 2, 7, 5])
        #expect(regions.map(\.start) == [0x4000_0000, 0x4010_0000, 0x4012_0000, 0x7fff_0000])
        #expect(regions[2].end == 0x8000_0000)
        #expect(regions[3].attributes & EFIMemoryAttribute.runtime != 0)
        var census = EFIConventionalCensus()
        regions.forEach { census.add($0) }
        #expect(census.ranges == 2 && census.bytes == (0x100 + 0x3_fee0) * 4096)
    }

    @Test func refusesBadShapes() {
        let bytes = efiMap(sample)
        #expect(throws: SlideError.self) { try decode(bytes, stride: 32) }                        // too small for the fields
        #expect(throws: SlideError.self) { try decode(bytes, stride: 44) }                        // not 8-byte aligned
        #expect(throws: SlideError.self) { try decode(Array(bytes.dropLast(8)), stride: 48) }     // a partial descriptor
        #expect(throws: SlideError.self) { try decode(efiMap([(7, 0xffff_ffff_ffff_0000, 0x100, 0)]), stride: 48) } // wraps
        #expect(throws: SlideError.self) { try decode(efiMap([(7, 0, 1 << 60, 0)]), stride: 48) }  // pages overflow
        #expect((try? decode([], stride: 48))?.isEmpty == true)
    }
}

@Suite struct EFIGUIDs {
    /// The text form's fields as the words in memory: Data1-3 little-endian, Data4 byte by byte.
    func guid(_ text: String) -> EFIGUID {
        let parts = text.split(separator: "-").map(String.init)
        var bytes: [UInt8] = []
        for (i, width) in [(0, 4), (1, 2), (2, 2)] {
            let v = UInt32(parts[i], radix: 16)!
            for b in 0..<width { bytes.append(UInt8(truncatingIfNeeded: v >> (8 * UInt32(b)))) }
        }
        let tail = parts[3] + parts[4]
        var index = tail.startIndex
        while index < tail.endIndex {
            let next = tail.index(index, offsetBy: 2)
            bytes.append(UInt8(tail[index..<next], radix: 16)!)
            index = next
        }
        return bytes.withUnsafeBytes { EFIGUID(at: $0.baseAddress!) }
    }

    @Test func wordsMatchTheSpecText() {
        #expect(EFIGUID.loadedImage == guid("5B1B31A1-9562-11d2-8E3F-00A0C969723B"))
        #expect(EFIGUID.rng == guid("3152bca5-eade-433d-862e-c01cdc291f44"))
        #expect(EFIGUID.deviceTree == guid("b1b621d5-f19c-41a5-830b-d9152c69aae0"))
        #expect(EFIGUID.linuxInitrdMedia == guid("5568e427-68fc-4f3d-ac74-ca555231cc68"))
        #expect(EFIGUID.loadFile2 == guid("4006c0c1-fcb3-403e-996d-4a6c8724e06d"))
    }
}
