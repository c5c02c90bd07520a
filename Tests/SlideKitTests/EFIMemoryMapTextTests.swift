// The EFI memory map as Linux prints it (EFIMemoryMapText), and the stub model over maps printed
// by real boots (Tests/Fixtures/efi/: Debian 6.1 and 5.10 under edk2 with virtio-rng over a
// file whose first four bytes are cd d8 91 22): giving the stub's slot back and drawing with
// that seed lands where the kernel was found (/proc/iomem).

import Foundation
import Testing
import SlideCore
@testable import SlideKit

private func fixture(_ name: String) throws -> String {
    try String(contentsOfFile: repoRoot.appendingPathComponent("Tests/Fixtures/efi/\(name)").path, encoding: .utf8)
}

private func parseError(_ text: String) -> String? {
    do { _ = try EFIMemoryMapText.parse(text, path: "m.txt"); return nil } catch { return error.description }
}

@Suite struct EFIMemoryMapTextParsing {
    @Test func printedMap() throws {
        let map = try EFIMemoryMapText.parse(try fixture("bookworm-6.1-edk2.memmap"), path: "m")
        #expect(map.count == 33)
        #expect(map[0] == EFIMemoryRegion(type: .conventional, start: 0x4000_0000, pageCount: 0x4000, attributes: EFIMemoryAttribute.wb))
        let runtime = try #require(map.first { $0.start == 0x7c44_0000 })
        #expect(runtime.type == .runtimeServicesCode && runtime.attributes == EFIMemoryAttribute.runtime | EFIMemoryAttribute.wb)
        let flash = try #require(map.first { $0.start == 0x400_0000 })
        #expect(flash.type == .mmio && flash.attributes == EFIMemoryAttribute.runtime | EFIMemoryAttribute.wc && flash.pageCount == 0x4000)
        // Linux's own format, column for column.
        #expect(EFIMemoryMapText.line(map[0]) == "efi:   0x000040000000-0x000043ffffff [Conventional|   |  |  |  |  |  |  |  |  |  |   |WB|  |  |  ]")
        let lines = try fixture("bookworm-6.1-edk2.memmap").split(separator: "\n").map(String.init)
        #expect(map.map(EFIMemoryMapText.line) == lines)
    }

    @Test func fiveTenHasOneColumnFewer() throws {
        // 5.10 prints no HP column; tokens are read by name.
        let map = try EFIMemoryMapText.parse(try fixture("bullseye-5.10-edk2.memmap"), path: "m")
        #expect(map.first == EFIMemoryRegion(type: .conventional, start: 0x4000_0000, pageCount: 0x4000, attributes: EFIMemoryAttribute.wb))
    }

    @Test func dmesgWithTimestampsAndOtherLines() throws {
        let text = """
            [    0.000000] efi: Processing EFI memory map:\r
            [    0.000000] efi:   0x000040000000-0x000043ffffff [Conventional|   |HP|MR|  |  |  |  |  |  |  |   |WB|  |  |  ]\r
            [    0.050586] efi: memattr:  0x00007c440000-0x00007c44ffff [Runtime Code|RUN|  |  |  |  |  |XP|  |  |  |   |  |  |  |  ]
            0x000050000000-0x000050000fff [type=20     |attr=0x0000000000000080]
            random text
            """
        let map = try EFIMemoryMapText.parse(text, path: "dmesg")
        #expect(map == [EFIMemoryRegion(type: .conventional, start: 0x4000_0000, pageCount: 0x4000,
                                        attributes: EFIMemoryAttribute.wb | EFIMemoryAttribute.moreReliable | EFIMemoryAttribute.hotPluggable),
                        EFIMemoryRegion(type: EFIMemoryType(rawValue: 20), start: 0x5000_0000, pageCount: 1, attributes: 0x80)])
        #expect(EFIMemoryMapText.line(map[1]) == "efi:   0x000050000000-0x000050000fff [type=20|attr=0x0000000000000080]")
        #expect(EFIMemoryMapText.mapLines(in: text).count == 2)
    }

    @Test(arguments: [
        ("efi:   0x000040000000-0x000043ffffff [Conventional|XX|]", "m.txt: line 1: unknown attribute 'XX'"),
        ("x\nefi:   0x000040000000-0x000043ffffff [Memory|WB]", "m.txt: line 2: unknown memory type 'Memory'"),
        ("efi:   0x000040000001-0x000043ffffff [Conventional|WB]", "m.txt: line 1: 0x000040000001-0x000043ffffff is not a whole number of 4 KiB pages"),
        ("efi:   0x000040000000-0x00004000 [Conventional|WB]", "m.txt: line 1: 0x000040000000-0x00004000 is not a whole number of 4 KiB pages"),
        ("efi:   0x000040000000-0x000043ffffff Conventional", "m.txt: line 1: expected `0xSTART-0xLAST [Type|attributes]`"),
        ("efi:   0xzz-0x000043ffffff [Conventional|WB]", "m.txt: line 1: '0xzz' is not a 64-bit hex address"),
        ("0x10000000000000000-0x1fff [Conventional|WB]", "m.txt: line 1: '0x10000000000000000' is not a 64-bit hex address"),
        ("efi:   0x000040000000-0x000043ffffff [Conventional]", "m.txt: line 1: no `|` after the memory type"),
        ("0x40000000-0x40ffffff [Conventional|WB]\n0x40fff000-0x41ffffff [Conventional|WB]", "m.txt: line 2: overlaps line 1 (two maps in one file?)"),
        ("hello\n", "m.txt: no EFI memory map lines (Linux prints them with efi=debug: `efi:   0x…-0x… [Conventional|…]`)"),
    ])
    func badLinesNameTheLine(text: String, message: String) {
        #expect(parseError(text) == "'" + message.replacingOccurrences(of: "m.txt: ", with: "m.txt': "))
    }

    @Test func topOfTheAddressSpace() throws {
        let map = try EFIMemoryMapText.parse("0xfffffffffffff000-0xffffffffffffffff [Reserved|]", path: "m")
        #expect(map == [EFIMemoryRegion(type: .reserved, start: 0xffff_ffff_ffff_f000, pageCount: 1, attributes: 0)])
    }
}

@Suite struct EFIStubOnPrintedMaps {
    /// The stub's slot in a printed map, given back, and the slot the seed picks.
    func draw(_ file: String, _ model: any LinuxEFIStubModel.Type, imageSize: UInt64) throws -> (given: EFIMemoryRegion, total: UInt64, slot: UInt64?) {
        let map = try EFIMemoryMapText.parse(try fixture(file), path: file)
        let alloc = try #require(EFIRandomAlloc(size: imageSize, align: model.kernelAlignment(pageSize: 4096, nokaslr: false), rules: model.rules, skipsSpecificPurpose: true))
        let given = try EFIStubPredictor.kernelRegion(file, map, alloc, at: nil)
        let before = EFIStubPredictor.beforeSlot(map, slot: given)
        return (given, alloc.total(in: before), alloc.slot(seed: 0xcdd8_9122, in: before))
    }

    @Test func debian61() throws {
        // The boot found _text at 0x6c8d0000 (/proc/iomem's Kernel code 0x6c8e0000 = __pa(_stext)).
        let r = try draw("bookworm-6.1-edk2.memmap", LinuxEFI61Stub.self, imageSize: 0x201_0000)
        #expect(r.given.start == 0x6c8d_0000 && r.given.type == .loaderCode)
        #expect(r.total == 12730)
        #expect(r.slot == 0x6c8d_0000)
    }

    @Test func debian510() throws {
        // 5.10 allocates its slot as Loader Data; _text was at 0x6d350000 (Kernel code = __pa(_text)).
        let r = try draw("bullseye-5.10-edk2.memmap", LinuxEFI510Stub.self, imageSize: 0x1ad_0000)
        #expect(r.given.start == 0x6d35_0000 && r.given.type == .loaderData)
        #expect(r.total == 13149)
        #expect(r.slot == 0x6d35_0000)
    }

    @Test func givingBackJoinsNeighbours() {
        let wb = EFIMemoryAttribute.wb
        let map = [EFIMemoryRegion(type: .conventional, start: 0x4000_0000, pageCount: 0x10, attributes: wb),
                   EFIMemoryRegion(type: .loaderCode, start: 0x4001_0000, pageCount: 0x20, attributes: wb),
                   EFIMemoryRegion(type: .conventional, start: 0x4003_0000, pageCount: 0x10, attributes: wb)]
        let back = EFIStubPredictor.giveBack(EFIMemoryRegion(type: .loaderCode, start: 0x4001_0000, pageCount: 0x10, attributes: wb), in: map)
        #expect(back == [EFIMemoryRegion(type: .conventional, start: 0x4000_0000, pageCount: 0x20, attributes: wb),
                         EFIMemoryRegion(type: .loaderCode, start: 0x4002_0000, pageCount: 0x10, attributes: wb),
                         EFIMemoryRegion(type: .conventional, start: 0x4003_0000, pageCount: 0x10, attributes: wb)])
    }

    @Test func theSlotMustBeFoundOnce() throws {
        let alloc = try #require(EFIRandomAlloc(size: 0x2_0000, align: 0x1_0000, rules: LinuxEFI61Stub.rules, skipsSpecificPurpose: true))
        let two = [EFIMemoryRegion(type: .loaderCode, start: 0x4000_0000, pageCount: 0x20, attributes: 0),
                   EFIMemoryRegion(type: .loaderCode, start: 0x5000_0000, pageCount: 0x20, attributes: 0)]
        #expect(throws: SlideKitError.self) { try EFIStubPredictor.kernelRegion("m", two, alloc, at: nil) }
        #expect(try EFIStubPredictor.kernelRegion("m", two, alloc, at: 0x5000_0000).start == 0x5000_0000)
        #expect(throws: SlideKitError.self) { try EFIStubPredictor.kernelRegion("m", two, alloc, at: 0x5001_0000) } // runs past the region
        #expect(throws: SlideKitError.self) { try EFIStubPredictor.kernelRegion("m", [], alloc, at: nil) }
    }

    @Test func seedsFromTheRNGStream() {
        // 4 bytes for the slot (little-endian), 32 for the seed table, then kaslr-seed (big-endian).
        let bytes = (0..<64).map { UInt8($0) }
        let s = EFILinuxBoot.seeds(bytes, seedTableBytes: 32)
        #expect(s?.slot == 0x0302_0100 && s?.kaslr == 0x2425_2627_2829_2a2b)
        #expect(EFILinuxBoot.seeds(Array(bytes.prefix(43)), seedTableBytes: 32) == nil)
    }

    @Test func linuxMemoryUnderEFI() throws {
        // The flash (MMIO, WC) counts as memory, so memblock starts at 0x04000000; UC-only MMIO does not.
        let map = try EFIMemoryMapText.parse(try fixture("bookworm-6.1-edk2.memmap"), path: "m")
        let memory = EFILinuxBoot.linuxMemory(map)
        #expect(memory.map(\.base).min() == 0x400_0000)
        #expect(!memory.contains { $0.base == 0x901_0000 })
        #expect(memory.map { $0.base + $0.size }.max() == 0x8000_0000)
    }
}
