// The Slide kernel's own EFI stub under Debian's edk2: each Slide kernel (4, 16 and 64 KiB pages)
// started by the firmware as an EFI application, its slot checked against the host's
// SlideEFIModel from the seed and the conventional ranges the kernel reported, the seed against
// the --rng-file's bytes, the virtual offset against SlideKASLR.offset, and the boot's own checks
// (relocation verified, the extable self-test, both CPUs up, the initrd's module linked). One boot per case serves every check.

import Foundation
import Testing
@testable import SlideCore
@testable import SlideKit

enum EFIFirmwareData {
    static let edk2 = FileManager.default.fileExists(atPath: EFILoader.edk2Path)
    static let present = TestData.slideKernel && edk2
    static let missing: Comment = "no Slide kernel built (make kernel) or no edk2 (\(EFILoader.edk2Path), Debian qemu-efi-aarch64)"
}

struct EFIBootCase: CustomTestStringConvertible, Sendable {
    var image: String
    var cpu: String
    /// The bytes virtio-rng hands edk2 (nil: no RNG device).
    var rngByte: UInt8?
    /// The module initrd, which the stub loads through EFI_LOAD_FILE2.
    var initrd = false
    /// `kaslr.phys=0`: a seed, but the image stays where the firmware loaded it.
    var physicalOff = false
    var firmware = BootOptions.Firmware.edk2
    var testDescription: String {
        "\(image) on \(cpu) through \(firmware.rawValue), " + (rngByte.map { "rng file of 0x\(String($0, radix: 16))..." } ?? "no RNG") + (initrd ? ", initrd" : "") + (physicalOff ? ", kaslr.phys=0" : "")
    }
}

@Suite(.enabled(if: EFIFirmwareData.present, EFIFirmwareData.missing)) struct EFIStubBoots {
    static let cases = [
        EFIBootCase(image: "rela", cpu: "cortex-a57", rngByte: 0x5a, initrd: true),
        EFIBootCase(image: "rela-16k", cpu: "max", rngByte: 0xc3),
        EFIBootCase(image: "rela-64k", cpu: "cortex-a57", rngByte: 0x17),
        EFIBootCase(image: "rela", cpu: "cortex-a57", rngByte: nil),
        EFIBootCase(image: "rela", cpu: "cortex-a57", rngByte: 0x21, physicalOff: true),
    ]

    /// A 4 KiB RNG file: 8 bytes counting up from `first` (the stub's seed), then more of the same.
    func rngFile(_ first: UInt8) throws -> (path: String, seed: UInt64) {
        let bytes = (0..<4096).map { first &+ UInt8(truncatingIfNeeded: $0) }
        let path = temporaryDirectory("efi-rng").appendingPathComponent("rng-\(first).bin").path
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        return (path, bytes.prefix(8).reversed().reduce(UInt64(0)) { $0 << 8 | UInt64($1) })
    }

    @Test(arguments: cases)
    func stubBootsAndItsSlotIsTheModels(_ c: EFIBootCase) throws { try check(c) }

    /// U-Boot's EFI (bootefi): another firmware, its own memory map (2 conventional ranges) and RNG.
    @Test(.enabled(if: FileManager.default.fileExists(atPath: Booter.uBootPath), "no U-Boot (\(Booter.uBootPath), Debian u-boot-qemu)"))
    func stubBootsUnderUBoot() throws {
        try check(EFIBootCase(image: "rela", cpu: "cortex-a57", rngByte: 0x66, firmware: .uBoot))
    }

    func check(_ c: EFIBootCase) throws {
        let image = try #require(try kernelImage(c.image))
        let k = try KernelImage.load(path: image)
        let header = try #require(k.header)
        let granule: Granule = c.image.hasSuffix("-64k") ? .k64 : c.image.hasSuffix("-16k") ? .k16 : .k4
        var o = BootOptions()
        o.loader = .efi; o.firmware = c.firmware; o.cpu = c.cpu; o.smp = 2; o.rng = c.rngByte != nil
        let rng = try c.rngByte.map(rngFile)
        o.rngFile = rng?.path
        o.append = c.physicalOff ? "kaslr.phys=0" : nil
        if c.initrd { o.initrd = try #require(try moduleBuild()).appendingPathComponent("initrd.cpio").path }
        let r = try Booter.boot(image, o)
        if c.initrd {  // loaded by the stub, named in /chosen, linked by the kernel
            #expect(r.value(.initrd) == "cpio:3" && r.value(.modulesLoaded) == "1" && r.value(.helloSays) == "hello from a module")
        }
        #expect(r.status == 0 && r.value(.relocVerify) == "ok" && r.value(.extableTest) == "ok", "\(r.output.suffix(1500))")
        #expect(r.value(.loader) == "efi" && r.value(.cpusOnline) == "2")
        let rows = SlideEFIBoot.compare(r, imageSize: header.imageSize, granule: granule, rngBytes: try rng.map { try readBytes($0.path) },
                                        commandLine: Booter.bootargs(o, linux: false) ?? "")
        #expect(!rows.isEmpty && rows.allSatisfy(\.agree), "\(rows)")
        let pa = try #require(r.value(.pa).flatMap { SlideEFIModel.parseHex(Substring($0)) })
        if let rng {
            #expect(r.value(.efiRNG) == "yes" && r.value(.efiSeed) == hex(rng.seed) && r.value(.seedSource) == "fdt")
            #expect(r.value(.offset) == hex(SlideKASLR.offset(.fdt, seed: rng.seed, physicalAddress: pa)))  // the stub's seed became kaslr-seed
            let candidates = try #require(r.value(.efiCandidates).flatMap { UInt64($0) })
            if c.physicalOff {
                #expect(r.value(.physMoved) == "no" && r.value(.efiSlot) == r.value(.efiLoadedAt) && candidates == 0)
            } else {
                #expect(pa % ImageAlignment.kernel == 0 && r.value(.physMoved) == "yes")
                #expect(candidates > 100, "1 GiB of RAM holds hundreds of 2 MiB slots")
            }
        } else {
            // No EFI_RNG_PROTOCOL, no RNDR (cortex-a57), no QEMU seed (dtb-randomness=off): not randomized.
            #expect(r.value(.efiRNG) == "none" && r.value(.seedSource) == "none" && r.value(.physMoved) == "no")
            #expect(r.value(.efiSlot) == r.value(.efiLoadedAt) && r.value(.efiCandidates) == "0")
        }
        // The census agrees with the ranges listed (all taken: the firmware leaves fewer than PhysicalPlacement.maxRAM).
        let ranges = try #require(r.value(.efiRanges).flatMap(SlideEFIModel.reportedRanges))
        let total = ranges.reduce(UInt64(0)) { $0 + $1.size }
        #expect(r.value(.efiConventional) == "ranges:\(ranges.count),bytes:\(hex(total)),used:\(ranges.count)")
        #expect(ranges.allSatisfy { $0.base >= BootOptions.ramBase && $0.base + $0.size <= BootOptions.ramBase + (1 << 30) })
    }

    @Test func kaslrPredictsFromASavedBoot() throws {
        let image = try #require(try kernelImage("rela"))
        var o = BootOptions()
        o.loader = .efi; o.cpu = "cortex-a57"
        let rng = try rngFile(0x99)
        o.rngFile = rng.path
        let r = try Booter.boot(image, o)
        let saved = temporaryDirectory("efi-kaslr").appendingPathComponent("boot.txt")
        try Data(r.output.utf8).write(to: saved)
        let out = try slide("kaslr", image, "--loader", "efi", "--efi-memmap", saved.path, "--efi-seed", hex(rng.seed), "--json")
        #expect(out.status == 0, "\(out.stderr)")
        let json = try jsonObject(out.stdout)
        #expect(hexValue(json["physical_address"]) == r.value(.pa).flatMap { SlideEFIModel.parseHex(Substring($0)) })
        #expect((json["candidates"] as? Int).map(String.init) == r.value(.efiCandidates))
    }
}

@Suite struct SlideEFIModelRule {
    @Test func slotIsTheRuleOverConventionalMemory() {
        let map = [EFIMemoryRegion(type: .conventional, start: 0x4000_0000, pageCount: 0x1000, attributes: 0xf),  // 16 MiB
                   EFIMemoryRegion(type: .loaderCode, start: 0x4100_0000, pageCount: 0x100, attributes: 0xf),
                   EFIMemoryRegion(type: .conventional, start: 0x4110_0000, pageCount: 0x200, attributes: 0xf)]  // 2 MiB, not 2 MiB-aligned: no slot
        let conventional = SlideEFIModel.conventional(map)
        #expect(conventional.count == 2 && conventional[1].base == 0x4110_0000)
        let p = SlideEFIModel.predict(imageSize: 0x20_0000, granule: .k4, conventional: conventional, seed: 7)
        #expect(p.candidates == 8)                                    // 0x40000000 … 0x40e00000
        var placement = PhysicalPlacement()
        placement.addRAM(base: 0x4000_0000, size: 16 << 20)
        let index = PhysicalPlacement.mix(7).multipliedFullWidth(by: 8).high
        #expect(p.address == 0x4000_0000 + index * 0x20_0000)
        #expect(SlideEFIModel.predict(imageSize: 0x20_0000, granule: .k4, conventional: conventional, seed: nil).address == nil)
    }

    @Test func moreRangesThanTheRuleHoldsAreLeftOutAndSaid() {
        let many = (0..<70).map { (base: 0x4000_0000 + UInt64($0) * 0x40_0000, size: UInt64(0x20_0000)) }
        let p = SlideEFIModel.predict(imageSize: 0x10_0000, granule: .k4, conventional: many, seed: 1)
        #expect(p.ranges.count == PhysicalPlacement.maxRAM && p.rangesLeftOut == 6 && p.candidates == UInt64(PhysicalPlacement.maxRAM))
        #expect(p.text().contains("6 more left out"))
    }

    @Test func reportedRangesParse() {
        #expect(SlideEFIModel.reportedRanges("0x40000000+0x4000000,0x44020000+0x36fa000")?.map(\.size) == [0x400_0000, 0x36f_a000])
        #expect(SlideEFIModel.reportedRanges("none")?.isEmpty == true)
        #expect(SlideEFIModel.reportedRanges("0x40000000-0x4000000") == nil)
        #expect(SlideEFIModel.reportedRanges("40000000+0x1") == nil)
    }
}

@Suite struct SlideEFIBootComparison {
    /// A report as the stub's kernel prints it: 16 MiB of conventional memory, 8 slots for a 2 MiB image.
    func report(slot: UInt64, candidates: Int, seed: UInt64 = 7) -> BootResult {
        let pairs = [("loader", "efi"), ("efi_rng", "yes"), ("efi_seed", hex(seed)), ("efi_loaded_at", "0x7c24f000"),
                     ("efi_slot", hex(slot)), ("efi_candidates", String(candidates)), ("efi_ranges", "0x40000000+0x1000000"),
                     ("pa", hex(slot)), ("phys_from", "0x7c24f000"), ("reloc_verify", "ok")]
        return BootResult(output: "", status: 0, timedOut: false, report: pairs, linux: nil, cpu: "cortex-a57")
    }

    @Test func agreesOnlyWithTheRulesSlot() {
        let index = PhysicalPlacement.mix(7).multipliedFullWidth(by: 8).high
        let right = 0x4000_0000 + index * 0x20_0000
        let good = SlideEFIBoot.compare(report(slot: right, candidates: 8), imageSize: 0x20_0000, granule: .k4, rngBytes: nil, commandLine: "")
        #expect(!good.isEmpty && good.allSatisfy(\.agree))
        let wrong = right == 0x4000_0000 ? right + 0x20_0000 : right - 0x20_0000
        let bad = SlideEFIBoot.compare(report(slot: wrong, candidates: 8), imageSize: 0x20_0000, granule: .k4, rngBytes: nil, commandLine: "")
        #expect(bad.filter { !$0.agree }.map(\.what) == ["efi_slot (SlideKASLR.efiSlot)"])
        // With kaslr.phys=0 the stub must stay: a moved slot disagrees.
        let stayed = SlideEFIBoot.compare(report(slot: right, candidates: 8), imageSize: 0x20_0000, granule: .k4, rngBytes: nil, commandLine: "kaslr.phys=0")
        #expect(stayed.contains { !$0.agree })
        // The seed against the RNG file's first 8 bytes, little-endian.
        let rng: [UInt8] = [7, 0, 0, 0, 0, 0, 0, 0, 0xff]
        let seeded = SlideEFIBoot.compare(report(slot: right, candidates: 8), imageSize: 0x20_0000, granule: .k4, rngBytes: rng, commandLine: "")
        #expect(seeded.count == good.count + 1 && seeded.allSatisfy(\.agree))
        #expect(SlideEFIBoot.compare(report(slot: right, candidates: 8), imageSize: 0x20_0000, granule: .k4, rngBytes: [8] + rng.dropFirst(), commandLine: "").contains { !$0.agree })
        // Another loader's report: nothing to compare.
        #expect(SlideEFIBoot.compare(BootResult(output: "", status: 0, timedOut: false, report: [], linux: nil, cpu: "x"), imageSize: 0x20_0000, granule: .k4, rngBytes: nil, commandLine: "").isEmpty)
    }
}
