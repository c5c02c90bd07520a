// efi_random_alloc as modelled (Sources/SlideCore/Placement/LinuxEFI/), on hand-made maps whose
// answers follow from randomalloc.c by hand: slot counts at region edges, the limit, wrapping
// arithmetic, mirrored and hot-pluggable memory, and maps where nothing fits.

import Testing
@testable import SlideCore

private func conventional(_ start: UInt64, _ size: UInt64, _ attributes: UInt64 = EFIMemoryAttribute.wb) -> EFIMemoryRegion {
    EFIMemoryRegion(type: .conventional, start: start, pageCount: size / EFIMemoryRegion.pageSize, attributes: attributes)
}

private let image61: UInt64 = 0x201_0000 // Debian 6.1's image_size, already a multiple of 64 KiB

private func alloc(_ model: any LinuxEFIStubModel.Type, size: UInt64 = image61, align: UInt64 = 0x1_0000,
                   skipsSP: Bool = true) -> EFIRandomAlloc {
    EFIRandomAlloc(size: size, align: align, rules: model.rules, skipsSpecificPurpose: skipsSP)!
}

@Suite struct LinuxEFIRandomAlloc {
    @Test func oneGiBOfRAM() {
        let a = alloc(LinuxEFI61Stub.self), map = [conventional(0x4000_0000, 0x4000_0000)]
        // last = round_down(0x7fffffff - 0x2010000 + 1, 64 KiB) = 0x7dff0000.
        #expect(a.runs(in: map) == [EFISlotRun(first: 0x4000_0000, count: 0x3e00, align: 0x1_0000, mirrored: false)])
        #expect(a.slot(seed: 0, in: map) == 0x4000_0000)
        #expect(a.slot(seed: .max, in: map) == 0x7dff_0000)
        #expect(a.slot(seed: 0x8000_0000, in: map) == 0x4000_0000 + 0x1f00 * 0x1_0000)
        #expect(a.index(of: 0x4001_0000, in: map) == 1)
        #expect(a.index(of: 0x4001_1000, in: map) == nil)   // not on the 64 KiB lattice
        #expect(a.index(of: 0x7e00_0000, in: map) == nil)   // the image would pass the region's end
    }

    @Test func regionEdges() {
        let a = alloc(LinuxEFI61Stub.self)
        // Exactly the image: one slot. One page short: none.
        #expect(a.total(in: [conventional(0x4000_0000, image61)]) == 1)
        #expect(a.total(in: [conventional(0x4000_0000, image61 - 0x1000)]) == 0)
        // A start off the 64 KiB lattice: the first slot is rounded up, and the region must hold
        // the image from there.
        #expect(a.total(in: [conventional(0x4000_1000, image61 + 0x1_0000)]) == 1)
        #expect(a.slot(seed: 0, in: [conventional(0x4000_1000, image61 + 0x1_0000)]) == 0x4001_0000)
        #expect(a.total(in: [conventional(0x4000_1000, image61 + 0xe000)]) == 0)
        // An end off the lattice is rounded down.
        #expect(a.total(in: [conventional(0x4000_0000, image61 + 0x1_f000)]) == 2)
    }

    @Test func sizeAndAlignmentAreRounded() {
        // A 1-byte image still takes 64 KiB; a 4 KiB alignment is raised to EFI_ALLOC_ALIGN.
        let a = alloc(LinuxEFI61Stub.self, size: 1, align: 0x1000)
        #expect(a.size == 0x1_0000 && a.align == 0x1_0000)
        #expect(a.total(in: [conventional(0x4000_0000, 0x4_0000)]) == 4)
        let b = alloc(LinuxEFI61Stub.self, size: 0x1_0001, align: 0x20_0000)
        #expect(b.size == 0x2_0000 && b.align == 0x20_0000)
        #expect(EFIRandomAlloc(size: 1, align: 0x3_0000, rules: LinuxEFI61Stub.rules, skipsSpecificPurpose: true) == nil)
        #expect(EFIRandomAlloc(size: .max, align: 0x1_0000, rules: LinuxEFI61Stub.rules, skipsSpecificPurpose: true) == nil)
    }

    @Test func onlyConventionalMemoryCounts() {
        let a = alloc(LinuxEFI61Stub.self)
        let map = [EFIMemoryRegion(type: .loaderCode, start: 0x4000_0000, pageCount: 0x4_0000, attributes: 0),
                   EFIMemoryRegion(type: .bootServicesData, start: 0x8000_0000, pageCount: 0x4_0000, attributes: 0),
                   conventional(0xc000_0000, image61 + 0x1_0000)]
        #expect(a.total(in: map) == 2)
        #expect(a.slot(seed: .max, in: map) == 0xc001_0000)
    }

    @Test func mapOrderNotAddressOrder() {
        // The stub walks the map as the firmware lists it.
        let a = alloc(LinuxEFI61Stub.self)
        let map = [conventional(0x8000_0000, image61), conventional(0x4000_0000, image61)]
        #expect(a.slot(seed: 0, in: map) == 0x8000_0000)
        #expect(a.slot(seed: .max, in: map) == 0x4000_0000)
    }

    @Test func allocationLimit() {
        // 6.1+: nothing may reach past 2^48 - 1; 5.10: no limit.
        let top: UInt64 = 1 << 48
        let map = [conventional(top - 0x100_0000 - image61, 0x200_0000 + image61)]
        #expect(alloc(LinuxEFI61Stub.self).total(in: map) == 0x101)
        #expect(alloc(LinuxEFI510Stub.self).total(in: map) == 0x201)
    }

    @Test func wrappingArithmeticDoesNotTrap() {
        // A region whose end passes 2^64: the C code's end wraps below the image size (no slot).
        let wraps = EFIMemoryRegion(type: .conventional, start: 0xffff_ffff_fff0_0000, pageCount: 0x200, attributes: 0)
        #expect(alloc(LinuxEFI510Stub.self).total(in: [wraps]) == 0)
        #expect(alloc(LinuxEFI61Stub.self).total(in: [wraps]) == 0)
        let huge = EFIMemoryRegion(type: .conventional, start: 0x4000_0000, pageCount: .max, attributes: 0)
        _ = alloc(LinuxEFI510Stub.self).slot(seed: .max, in: [huge])
        #expect(EFIRandomAlloc.target(total: .max, seed: .max) == 0xffff_ffff) // (2^64-1)(2^32-1) mod 2^64 = 0xffffffff00000001
    }

    @Test func addressZero() {
        let map = [conventional(0, 0x400_0000)]
        #expect(alloc(LinuxEFI61Stub.self).slot(seed: 0, in: map) == 0x1_0000)    // alloc_min = align
        #expect(alloc(LinuxEFI510Stub.self).slot(seed: 0, in: map) == 0)
    }

    @Test func mirroredMemory() {
        let mr = EFIMemoryAttribute.wb | EFIMemoryAttribute.moreReliable
        let map = [conventional(0x4000_0000, 0x1000_0000), conventional(0x8000_0000, image61 + 0x2_0000, mr)]
        // 6.1+: only the three mirrored slots; 5.10: all.
        #expect(alloc(LinuxEFI61Stub.self).runs(in: map).map(\.count) == [3])
        #expect(alloc(LinuxEFI61Stub.self).slot(seed: 0, in: map) == 0x8000_0000)
        #expect(alloc(LinuxEFI510Stub.self).total(in: map) == 0xdff + 1 + 3)
        // A mirrored region too small for a slot does not exclude the others.
        let small = [conventional(0x4000_0000, 0x1000_0000), conventional(0x8000_0000, 0x1_0000, mr)]
        #expect(alloc(LinuxEFI61Stub.self).total(in: small) == 0xdff + 1)
    }

    @Test func hotPluggableAndSoftReserved() {
        let hp = conventional(0x4000_0000, 0x1000_0000, EFIMemoryAttribute.hotPluggable)
        #expect(alloc(LinuxEFI61Stub.self).total(in: [hp]) == 0)
        #expect(alloc(LinuxEFI510Stub.self).total(in: [hp]) == 0xdff + 1)
        let sp = conventional(0x4000_0000, 0x1000_0000, EFIMemoryAttribute.specificPurpose)
        #expect(alloc(LinuxEFI61Stub.self).total(in: [sp]) == 0)
        #expect(alloc(LinuxEFI61Stub.self, skipsSP: false).total(in: [sp]) == 0xdff + 1)
    }

    @Test func nothingFits() {
        let a = alloc(LinuxEFI61Stub.self)
        #expect(a.slot(seed: 0x1234_5678, in: [conventional(0x4000_0000, 0x100_0000)]) == nil)
        #expect(a.slot(seed: 0, in: []) == nil)
        #expect(a.total(in: []) == 0)
    }

    @Test(arguments: [(UInt64(0x1000), false, UInt64(0x1_0000)), (0x4000, false, 0x1_0000), (0x1_0000, false, 0x2_0000),
                      (0x1000, true, 0x20_0000), (0x1_0000, true, 0x20_0000)])
    func kernelAlignment(page: UInt64, nokaslr: Bool, align: UInt64) {
        #expect(LinuxEFI61Stub.kernelAlignment(pageSize: page, nokaslr: nokaslr) == align)
        #expect(LinuxEFI510Stub.kernelAlignment(pageSize: page, nokaslr: nokaslr) == align)
    }
}
