// The Slide kernel under QEMU: a matrix of boots whose reports are checked against what the
// host computes from the same inputs with SlideCore's model; corrupted images that must refuse
// to boot; and the completeness of the relocation table, from two links at different bases.

import Foundation
import Testing
@testable import SlideCore
@testable import SlideKit

/// The kernel Images `make kernel` builds, or nil when absent and not required.
func kernelImage(_ variant: String) throws -> String? {
    let path = repoRoot.appendingPathComponent(".build/kernel/\(variant)/Image").path
    if FileManager.default.fileExists(atPath: path) { return path }
    if ProcessInfo.processInfo.environment["SLIDE_REQUIRE_KERNEL"] == "1" {
        throw FixtureError(message: "\(path) missing: run make kernel")
    }
    return nil
}

/// Addresses of the kernel ELF's symbols (link time), from llvm-nm.
func kernelSymbols(_ variant: String) throws -> [String: UInt64] {
    let elf = repoRoot.appendingPathComponent(".build/kernel/\(variant)/slide-kernel.elf").path
    var out: [String: UInt64] = [:]
    let r = try run("llvm-nm", [elf])
    guard r.status == 0 else { throw FixtureError(message: "llvm-nm \(elf): \(r.stderr)") }
    for line in r.stdout.split(separator: "\n") {
        let f = line.split(separator: " ")
        if f.count == 3, let v = UInt64(f[0], radix: 16) { out[String(f[2])] = v }
    }
    return out
}

struct BootCase: CustomTestStringConvertible, Sendable {
    var image = "rela"
    var loader = BootOptions.Loader.qemu
    var at: UInt64? = nil
    var seed: UInt64? = nil
    var nokaslr = false
    var memoryMiB = 1024
    var registers: (UInt64, UInt64, UInt64) = (0, 0, 0)
    /// nil: `slide boot` picks (cortex-a57, or max for 16 KiB pages).
    var cpu: String? = nil
    var smp = 1
    var append: String? = nil
    var initrd = false

    /// The kernel's page size, from the image variant's name (`rela-16k`, `relr-64k`; 4k otherwise).
    var granule: String { image.hasSuffix("-16k") ? "16k" : image.hasSuffix("-64k") ? "64k" : "4k" }
    /// The CPU QEMU runs.
    var effectiveCPU: String { cpu ?? (granule == "16k" ? "max" : "cortex-a57") }

    var testDescription: String {
        var s = "\(image) \(loader.rawValue)"
        if let at { s += " at \(hex(at))" }
        if let seed { s += " seed \(hex(seed))" }
        if nokaslr { s += " nokaslr" }
        if memoryMiB != 1024 { s += " \(memoryMiB / 1024)G" }
        if registers != (0, 0, 0) { s += " x1-x3" }
        if let cpu { s += " cpu \(cpu)" }
        if smp != 1 { s += " smp \(smp)" }
        if let append { s += " '\(append)'" }
        if initrd { s += " initrd" }
        return s
    }
}

let bootMatrix: [BootCase] = [
    BootCase(seed: 0x1),
    BootCase(seed: 0xdead_beef_cafe_f00d),
    BootCase(seed: 0),                                                   // a zero seed is no seed
    BootCase(nokaslr: true),
    BootCase(),                                                          // no seed at all
    BootCase(seed: 0x0123_4567_89ab_cdef, memoryMiB: 4096),
    BootCase(seed: 0x42, smp: 2),
    BootCase(cpu: "max"),                                                // RNDR supplies the seed
    BootCase(image: "relr", seed: 0x1_2345_6789),
    BootCase(image: "relr", nokaslr: true),
    BootCase(image: "relr", seed: 0xffff_ffff_ffff_ffff, memoryMiB: 4096),
    BootCase(loader: .direct, at: 0x4820_1000, seed: 0x77),              // 4 KiB-misaligned
    BootCase(loader: .direct, at: 0x7f00_0000, seed: 0x3_0000_0000),     // high in 1 GiB
    BootCase(loader: .direct, at: 0x40a0_0000, nokaslr: true),           // low
    BootCase(loader: .direct, at: 0x4400_0000, seed: 0x99, registers: (1, 2, 3)),
    BootCase(loader: .direct, at: 0x1_2000_3000, seed: 0x1234_5678_9abc, memoryMiB: 4096), // above 4 GiB, misaligned
    BootCase(image: "relr", loader: .direct, at: 0x5a3f_f000, seed: 0xabcdef),
    BootCase(image: "relr", loader: .direct, at: 0x4060_0000),
    BootCase(loader: .uBoot, at: 0x4500_0000, seed: 0x5eed),
    BootCase(loader: .uBoot, at: 0x6000_0000),
    BootCase(image: "relr", loader: .uBoot, at: 0x4600_0000, nokaslr: true),
    BootCase(image: "relr", loader: .uBoot, at: 0x1_0000_0000, seed: 0x8888_0000_1111, memoryMiB: 4096),
    BootCase(loader: .uBoot, at: 0x7000_0000, seed: 0xffff_0000_ffff_0000),
    BootCase(image: "relr", seed: 0x2000_0000_0000),                     // bit 45: the top of the range
    BootCase(seed: 0x1234, append: "kaslr.phys=0"),                      // virtual only
    BootCase(loader: .direct, at: 0x4820_1000, seed: 0x1234, append: "console=ttyAMA0 kaslr.phys=0"),
    BootCase(loader: .uBoot, at: 0x4800_0000, seed: 0xc0ffee, append: "kaslr.phys=0"),
    BootCase(seed: 0x1d, initrd: true),                                  // physical randomization avoids the initrd
    BootCase(loader: .direct, at: 0x4500_0000, seed: 0x2d, initrd: true),
    BootCase(loader: .uBoot, at: 0x4500_0000, seed: 0x3d, initrd: true),
    // Secondary CPUs (PSCI CPU_ON), every loader and both tables, with and without a physical move.
    BootCase(seed: 0x5a5a, smp: 4),
    BootCase(image: "relr", nokaslr: true, smp: 4),
    BootCase(loader: .direct, at: 0x4820_1000, seed: 0x4321, smp: 4),
    BootCase(image: "relr", loader: .uBoot, at: 0x4500_0000, seed: 0x6789, smp: 4),
    BootCase(cpu: "max", smp: 4),
    // 16 KiB pages (32 MiB blocks in contiguous runs of 32; QEMU's max CPU) and 64 KiB pages
    // (512 MiB blocks): page-aligned load addresses, every loader, RELA and RELR, one and four CPUs.
    BootCase(image: "rela-16k", seed: 0x16, smp: 4),
    BootCase(image: "relr-16k", loader: .uBoot, at: 0x4500_0000, seed: 0x1616),
    BootCase(image: "rela-16k", loader: .direct, at: 0x4821_0000, nokaslr: true, memoryMiB: 4096),
    BootCase(image: "rela-64k", seed: 0x64, memoryMiB: 4096),
    BootCase(image: "relr-64k", loader: .direct, at: 0x4821_0000, seed: 0x6464, smp: 4),
    BootCase(image: "rela-64k", loader: .uBoot, at: 0x4600_0000, nokaslr: true, smp: 4),
    // Linked at another base (build.sh --base): relocated and run relative to its own link address.
    BootCase(image: "rela-alt", seed: 0xa17),
    BootCase(image: "rela-alt", loader: .direct, at: 0x4820_1000, nokaslr: true, smp: 2),
]

/// A 3 MiB initrd of pseudo-random bytes, made once.
let testInitrd: String = {
    let path = temporaryDirectory("initrd").appendingPathComponent("initrd.bin").path
    var rng: UInt64 = 0x1d1d
    let bytes = (0..<(3 << 20)).map { _ -> UInt8 in rng = rng &* 6364136223846793005 &+ 1442695040888963407; return UInt8(truncatingIfNeeded: rng >> 56) }
    try! Data(bytes).write(to: URL(fileURLWithPath: path))
    return path
}()

@Suite(.enabled(if: TestData.slideKernel, TestData.missingKernel)) struct KernelBoots {
    /// build.sh links at KIMAGE_VADDR_DEFAULT, which Kernel/Asm/asm-offsets.h carries from
    /// SlideKASLR.defaultLinkBase, its one definition: the kernels built without --base are there.
    @Test(arguments: ["rela", "relr", "rela-16k", "relr-64k"])
    func defaultLinkBaseIsSlideKASLRs(_ variant: String) throws {
        let k = try KernelImage.load(path: try #require(try kernelImage(variant)))
        #expect(k.linkBase == SlideKASLR.defaultLinkBase)
    }

    @Test(arguments: bootMatrix)
    func bootMatchesTheModel(_ c: BootCase) throws {
        let image = try #require(try kernelImage(c.image))
        var o = BootOptions()
        o.loader = c.loader; o.at = c.at; o.seed = c.seed; o.nokaslr = c.nokaslr; o.memoryMiB = c.memoryMiB
        o.registers = c.registers; o.cpu = c.cpu; o.smp = c.smp; o.append = c.append; o.timeout = 90
        if c.initrd { o.initrd = testInitrd }
        let r = try Booter.boot(image, o)
        #expect(!r.timedOut && r.status == 0, "\(r.output.suffix(2000))")
        #expect(r.output.contains("slide: done"))

        // What the host predicts from the same inputs.
        let loadPA = o.imageAddress
        let k = try KernelImage.load(path: image)
        let seedUsed = c.seed.map { $0 != 0 && !c.nokaslr } ?? false
        let expectedSource = c.nokaslr ? "nokaslr" : seedUsed ? "fdt" : c.effectiveCPU == "max" ? "rndr" : "none"
        // Physical randomization: SlideCore's rule over RAM, minus the FDT, the reserved ranges the
        // kernel reports, and the loaded image.
        var pa = loadPA
        var candidates: UInt64 = 0
        if seedUsed && !(c.append ?? "").contains("kaslr.phys=0") {
            var placement = PhysicalPlacement(granule: c.granule == "64k" ? .k64 : c.granule == "16k" ? .k16 : .k4)
            placement.addRAM(base: BootOptions.ramBase, size: UInt64(c.memoryMiB) << 20)
            let fdt = try #require(r.value(.fdt).flatMap { UInt64($0.dropFirst(2), radix: 16) })
            let fdtSize = try #require(r.value(.fdtSize).flatMap { UInt64($0.dropFirst(2), radix: 16) })
            placement.exclude(base: fdt, size: fdtSize)
            for range in (r.value(.physReserved) ?? "none").split(separator: ",") where range != "none" {
                let parts = range.split(separator: "+").map { UInt64($0.dropFirst(2), radix: 16)! }
                placement.exclude(base: parts[0], size: parts[1])
            }
            placement.exclude(base: loadPA, size: k.header!.imageSize)
            if let choice = placement.choose(seed: c.seed!, loadPA: loadPA, imageSize: k.header!.imageSize) {
                pa = choice.address
                candidates = choice.candidates
            }
            #expect(candidates > 400, "most 2 MiB slots of RAM are free")
        }
        #expect(r.value(.pa) == hex(pa), "\(r.output.suffix(3000))")
        if c.initrd {
            // The initrd is among the reserved ranges the kernel avoided, and the kernel does not overlap it.
            let reserved = (r.value(.physReserved) ?? "").split(separator: ",").map { $0.split(separator: "+").map { UInt64($0.dropFirst(2), radix: 16)! } }
            let initrd = try #require(reserved.first { $0[1] == 3 << 20 })
            #expect(pa + k.header!.imageSize <= initrd[0] || initrd[0] + initrd[1] <= pa)
        }
        #expect(r.value(.physMoved) == (pa != loadPA ? "yes" : "no"))
        #expect(r.value(.physFrom) == hex(loadPA))
        #expect(r.value(.physCandidates) == String(candidates))
        #expect(ImageAlignment.misalignment(pa) == ImageAlignment.misalignment(loadPA), "the kernel keeps its offset within 2 MiB when it moves")
        #expect(r.value(.seedSource) == expectedSource)
        #expect(r.value(.relocVerify) == "ok")
        #expect(r.value(.wxViolations) == "0")
        // The guarded read resumed through __ex_table twice (unmapped, non-canonical) and read the
        // valid address; the table (llvm-readelf's section size / 12 entries) holds no relocation place.
        #expect(r.value(.extableTest) == "ok" && r.value(.extableFixups) == "2", "\(r.output.suffix(1500))")
        // Every CPU QEMU was given came up through PSCI and checked in.
        #expect(r.value(.cpusListed) == String(c.smp) && r.value(.cpusOnline) == String(c.smp) && r.value(.cpusErrors) == nil,
                "\(r.output.suffix(800))")
        let elf = URL(fileURLWithPath: image).deletingLastPathComponent().appendingPathComponent("slide-kernel.elf").path
        let extable = try #require(try sectionHeader(elf, "__ex_table"))
        #expect(extable.size > 0 && r.value(.extableEntries) == String(extable.size / 12))
        let places = try RelrTool.relativePlaces(of: k)
        #expect(places.count > 100)
        #expect(places.allSatisfy { $0 + 8 <= extable.address || $0 >= extable.address + extable.size })
        // No module here: random initrd bytes are not a cpio archive; nothing was mapped in the module region.
        #expect(r.value(.initrd) == (c.initrd ? "not-cpio" : "none"))
        #expect(r.value(.moduleMap) == "rx:0,r:0,rw:0" && r.value(.moduleCounter) == "0")
        #expect(r.value(.fdtSeedWiped) == (c.seed != nil ? "yes" : "no"))
        #expect(r.value(.x1X3) == (c.registers == (0, 0, 0) ? "zero" : "nonzero:\(hex(c.registers.0)),\(hex(c.registers.1)),\(hex(c.registers.2))"))
        let relaCount = k.rela.map { $0.size / RelaEntry.size } ?? 0
        let relrCount = try RelrTool.relativePlaces(of: k).count - relaCount
        #expect(r.value(.relocsRela) == String(relaCount))
        #expect(r.value(.relocsRelr) == String(relrCount))
        #expect(relaCount + relrCount > 50)
        // The linear map is what `slide pagetables` computes for the same RAM and granule (SlideCore's
        // builder on the host): for RAM at 1 GiB, nothing but the granule's largest blocks.
        let model = try slide("pagetables", "--memory", "\(hex(BootOptions.ramBase)):\(c.memoryMiB)M", "--granule", c.granule, "--json")
        let layouts = try #require(try jsonObject(model.stdout)["layouts"] as? [[String: Any]])
        #expect(r.value(.linearMap) == layouts.first?["summary"] as? String)
        #expect(r.value(.granule) == c.granule.uppercased())
        let blocks = UInt64(c.memoryMiB) / (c.granule == "4k" ? 1024 : c.granule == "16k" ? 32 : 512)
        let largest = c.granule == "4k" ? "1G:\(blocks),2M:0,4K:0" : c.granule == "16k" ? "32M:\(blocks),16K:0" : "512M:\(blocks),64K:0"
        #expect(r.value(.linearMap) == largest + ",bytes:\(hex(UInt64(c.memoryMiB) << 20))")
        #expect(r.value(.physOffset) == layouts.first?["phys_offset"] as? String && r.value(.physOffset) == "0x40000000")
        // The module region: the 2 GiB window covers the kernel; with an FDT seed, the host predicts it.
        let nm = try kernelSymbols(c.image)
        func symbol(_ name: String) throws -> UInt64 { try #require(nm[name]) }
        let moduleBase = try #require(r.value(.moduleBase).flatMap { UInt64($0.dropFirst(2), radix: 16) })
        let runOffset = try #require(r.value(.offset).flatMap { UInt64($0.dropFirst(2), radix: 16) })
        let (stext, etext, end) = (try symbol("_stext") &+ runOffset, try symbol("_etext") &+ runOffset, try symbol("_end") &+ runOffset)
        if expectedSource == "fdt" {
            let page: UInt64 = c.granule == "4k" ? 0x1000 : c.granule == "16k" ? 0x4000 : 0x1_0000
            #expect(moduleBase == ModuleRegion.base(randomized: true, fraction: ModuleRegion.fraction(seed: c.seed!), stext: stext, etext: etext, end: end, page: page))
            #expect(moduleBase <= stext && moduleBase &+ ModuleRegion.window >= end, "the window covers the kernel")
        } else if expectedSource != "rndr" {
            #expect(moduleBase == etext &- (128 << 20))
        }
        if expectedSource == "rndr" {
            // Unpredictable seed: the offset must still be a valid KASLR offset for this PA.
            let offset = try #require(r.value(.offset).flatMap { UInt64($0.dropFirst(2), radix: 16) })
            #expect(ImageAlignment.misalignment(offset) == ImageAlignment.misalignment(pa))
            #expect(offset >= 1 << 45 && offset < (1 << 45) + (1 << 46))
        } else {
            let offset = SlideKASLR.offset(seedUsed ? .fdt : .none, seed: c.seed ?? 0, physicalAddress: pa)
            #expect(r.value(.offset) == hex(offset))
            #expect(r.value(.va) == hex(k.linkBase &+ offset))
            #expect(r.value(.kimageVoffset) == hex(k.linkBase &+ offset &- pa))
        }

        // slide kaslr, given the same inputs and the ranges the kernel reported avoiding, predicts the report.
        var args = ["kaslr", "--image", image, "--cpu", c.effectiveCPU, "--pa", hex(loadPA), "--memory", "\(hex(BootOptions.ramBase)):\(c.memoryMiB)M",
                    "--append", Booter.bootargs(o, linux: false) ?? "", "--json"]
        if let seed = c.seed { args += ["--seed", hex(seed)] }
        if let fdt = r.value(.fdt), let size = r.value(.fdtSize) { args += ["--reserve", "\(fdt):\(size)"] }
        for range in (r.value(.physReserved) ?? "none").split(separator: ",") where range != "none" {
            args += ["--reserve", range.replacingOccurrences(of: "+", with: ":")]
        }
        let predicted = try slide(args)
        let p = try jsonObject(predicted.stdout)
        #expect(predicted.status == 0 && p["kind"] as? String == "slide", "\(predicted.stderr)")
        #expect(p["seed_source"] as? String == r.value(.seedSource))
        if expectedSource != "rndr" {
            #expect(p["kernel_offset"] as? String == r.value(.offset))
            #expect(p["physical_address"] as? String == r.value(.pa))
            #expect((p["physical_candidates"] as? Int).map(String.init) ?? "0" == r.value(.physCandidates))
            #expect(p["kimage_voffset"] as? String == r.value(.kimageVoffset))
            #expect(p["module_base"] as? String == r.value(.moduleBase))
        }
        #expect(p["phys_offset"] as? String == r.value(.physOffset))
    }
}

extension KernelBoots {
    /// A 16 or 64 KiB-page Image maps itself with its own pages: the direct loader refuses a load
    /// address that is only 4 KiB-aligned (the kernel would stop before its first message).
    @Test(arguments: ["rela-16k", "relr-64k"])
    func directLoaderRefusesAnAddressOffTheImagesPages(_ variant: String) throws {
        let image = try #require(try kernelImage(variant))
        var o = BootOptions()
        o.loader = .direct; o.at = 0x4820_1000
        #expect(throws: SlideKitError.self) { try Booter.boot(image, o) }
        let r = try slide("boot", image, "--loader", "direct", "--at", "0x48201000")
        #expect(r.status == 1 && r.stderr.contains("KiB pages and must be loaded"), "\(r.stderr)")
    }

    /// U-Boot copies the FDT just below the top ~34 MiB it keeps (or just below 4 GiB): an image
    /// whose image_size reaches there would clear the FDT with its BSS, so slide boot refuses it
    /// (found by make soak: a 64 KiB kernel at 0x7d800000 in 1 GiB booted with no FDT).
    @Test func uBootRefusesAnImageOverItsFDTCopy() throws {
        let image = try #require(try kernelImage("rela-64k"))
        var o = BootOptions()
        o.loader = .uBoot
        for (at, memory) in [(0x7d80_0000, 1024), (0xffc0_0000, 4096)] as [(UInt64, Int)] {
            o.at = at; o.memoryMiB = memory
            #expect(throws: SlideKitError.self, "\(hex(at))") { try Booter.boot(image, o) }
        }
        let r = try slide("boot", image, "--loader", "u-boot", "--at", "0x7d800000")
        #expect(r.status == 1 && r.stderr.contains("U-Boot keeps RAM above 0x7dc00000"), "\(r.stderr)")
    }
}

@Suite(.enabled(if: TestData.slideKernel, TestData.missingKernel)) struct KernelFaults {
    enum Fault: String, CaseIterable, CustomTestStringConvertible, Sendable {
        case relaOffset, relaInfo, relaAddend, relrWord, relocatedPlace, textByte, resealedRelaOffset, resealedRelaInfo, resealedRelrWord
        var testDescription: String { rawValue }
    }

    /// Flips one word (or byte) of a sealed Image; "resealed" variants also rewrite the seal, so
    /// only the kernel's own checks of the tables and places can catch them.
    @Test(arguments: Fault.allCases)
    func corruptedImageDoesNotBoot(_ fault: Fault) throws {
        let variant = [.relrWord, .resealedRelrWord].contains(fault) ? "relr" : "rela"
        let path = try #require(try kernelImage(variant))
        let k = try KernelImage.load(path: path)
        var b = try readBytes(path)
        func xor(_ o: Int, _ v: UInt64) { for i in 0..<8 { b[o + i] ^= UInt8(truncatingIfNeeded: v >> (8 * UInt64(i))) } }
        func put(_ o: Int, _ v: UInt64) { for i in 0..<8 { b[o + i] = UInt8(truncatingIfNeeded: v >> (8 * UInt64(i))) } }
        let rela = k.rela?.imageOffset ?? 0, relr = k.relr?.imageOffset ?? 0
        var expected = "digest"
        switch fault {
        case .relaOffset: xor(rela + 24 * 3, 0x1000)
        case .relaInfo: xor(rela + 24 * 3 + 8, 0x1)
        case .relaAddend: xor(rela + 24 * 3 + 16, 0x40)
        case .relrWord: xor(relr + 8, 0x4)
        case .relocatedPlace:
            let place = try RelrTool.relativePlaces(of: k)[5]
            xor(Int(place - k.linkBase), 0x1)
        case .textByte:
            // A byte of kernel_main (runs after the check; a byte of the pre-check path is covered by the exception test).
            let va = try #require(try kernelSymbols("rela")["kernel_main"])
            b[Int(va - k.linkBase) + 8] ^= 0x10
        case .resealedRelaOffset: put(rela + 24 * 3, k.linkBase + 0x4000_0000); expected = "tables"
        case .resealedRelaInfo: put(rela + 24 * 3 + 8, 0x402); expected = "unsupported-type"
        case .resealedRelrWord: put(relr, k.linkBase + 0x10_0000_0000); expected = "tables"
        }
        if fault.rawValue.hasPrefix("resealed") {
            try b.withUnsafeMutableBytes { raw in
                let m = MutableByteView(raw)
                let sealAt = try #require(k.rela?.evidence ?? k.relr?.evidence)
                var seal = try #require(ImageSeal(from: m.readOnly, at: sealAt))
                seal.digest = ImageDigest.compute(m.readOnly, covered: Int(seal.covered), sealOffset: sealAt)
                try seal.write(to: m, at: sealAt)
            }
        }
        let bad = temporaryDirectory("fault").appendingPathComponent("Image").path
        try Data(b).write(to: URL(fileURLWithPath: bad))
        var o = BootOptions()
        o.seed = 0x1234_5678
        o.timeout = 60
        let r = try Booter.boot(bad, o)
        #expect(!r.timedOut)
        #expect(r.status == 3, "\(r.output.suffix(500))")
        #expect(r.output.contains("slide: reloc_verify=fail:\(expected)"), "\(r.output.suffix(500))")
        #expect(!r.output.contains("slide: done"))
    }
}

extension KernelFaults {
    /// An unguarded fault (`slide.crash=1`: a read of an unmapped address that no __ex_table entry
    /// covers) ends the boot with the crash report: exception class, ELR and LR as function+offset
    /// from the symbols mkimage embedded (llvm-nm's address of that function is the oracle), the
    /// randomized offset, the registers.
    @Test(.enabled(if: TestData.slideKernel, TestData.missingKernel))
    func unguardedFaultNamesTheFunction() throws {
        let image = try #require(try kernelImage("rela"))
        var o = BootOptions()
        o.seed = 0x1234_5678
        o.timeout = 60
        o.append = "slide.crash=1"
        let r = try Booter.boot(image, o)
        #expect(!r.timedOut && r.status == 4, "\(r.output.suffix(800))")
        let crash = try #require(r.output.split(separator: "\n").first { $0.hasPrefix("slide: crash ec=") }, "\(r.output.suffix(800))")
        #expect(crash.contains("ec=0x0000000000000025"), "a data abort")
        // elr=NAME+0xOFF: NAME is the function that faulted, OFF its distance from llvm-nm's address for it.
        let fields = crash.split(separator: " ")
        let elrField = try #require(fields.first { $0.hasPrefix("elr=") }).dropFirst(4)
        let parts = elrField.split(separator: "+")
        #expect(parts.count == 2 && parts[0].contains("crashSelfTest"), "\(crash)")
        let nm = try kernelSymbols("rela")
        let function = try #require(nm[String(parts[0])], "llvm-nm knows \(parts[0])")
        let elr = try #require(r.output.split(separator: " ").first { $0.hasPrefix("elr=0x") }.flatMap { UInt64($0.dropFirst(6), radix: 16) })
        let offset = try #require(r.value(.offset).flatMap { UInt64($0.dropFirst(2), radix: 16) })
        #expect(UInt64(parts[1].dropFirst(2), radix: 16) == elr - offset - function, "function+offset at the randomized address")
        #expect(crash.contains("offset=0x\(String(repeating: "0", count: 16 - String(offset, radix: 16).count))\(String(offset, radix: 16))"))
        let registers = try #require(r.output.split(separator: "\n").first { $0.hasPrefix("slide: crash_registers ") })
        #expect(registers.split(separator: " ").count == 2 + 31)
        #expect(!r.output.contains("slide: done"))
    }
}

@Suite(.enabled(if: TestData.slideKernel, TestData.missingKernel)) struct RelocationCompleteness {
    /// The kernel linked at two bases: relocated for their own link addresses, the images differ
    /// exactly at the relocation places, each by the base delta. A pointer the table missed would
    /// differ without being a place; a place that is not a pointer would not differ.
    @Test func twoLinksDifferExactlyAtThePlaces() throws {
        let a = try #require(try kernelImage("rela")), b = try #require(try kernelImage("rela-alt"))
        let ka = try KernelImage.load(path: a), kb = try KernelImage.load(path: b)
        let delta = kb.linkBase &- ka.linkBase
        #expect(delta == 0x800_0000)
        let ra = try Relocator.relocate(ka, displacement: 0), rb = try Relocator.relocate(kb, displacement: 0)
        #expect(ra.bytes.count == rb.bytes.count)
        let places = Set(try RelrTool.relativePlaces(of: ka).map { Int($0 - ka.linkBase) })
        #expect(places == Set(try RelrTool.relativePlaces(of: kb).map { Int($0 - kb.linkBase) }))
        // Exempt: the tables (they hold link addresses), the seal (its digest) and ld.lld's .dynamic
        // (d_ptr link addresses that nothing at run time reads).
        var exempt = [ka.rela!.imageOffset..<(ka.rela!.imageOffset + ka.rela!.size)]
        let seal = ka.rela!.evidence!
        exempt.append(seal..<(seal + ImageSeal.size))
        let elf = repoRoot.appendingPathComponent(".build/kernel/rela/slide-kernel.elf").path
        exempt.append(try #require(try sectionRange(elf, ".dynamic", base: ka.linkBase)))
        // And link_base: its MOVZ/MOVK immediates are the link address itself, on purpose no
        // relocation place; in each link the four immediates spell that link's base.
        let linkBase = Int(try #require(try kernelSymbols("rela")["link_base"]) - ka.linkBase)
        for (bytes, base) in [(ra.bytes, ka.linkBase), (rb.bytes, kb.linkBase)] {
            var value: UInt64 = 0
            for i in 0..<4 {
                let o = linkBase + 4 * i
                let w = UInt32(bytes[o]) | UInt32(bytes[o + 1]) << 8 | UInt32(bytes[o + 2]) << 16 | UInt32(bytes[o + 3]) << 24
                value |= UInt64((w >> 5) & 0xffff) << (16 * UInt64((w >> 21) & 3))
            }
            #expect(value == base, "link_base's immediates")
        }
        exempt.append((linkBase & ~7)..<(linkBase + 16))
        var differing = 0
        for o in stride(from: 0, to: ra.bytes.count - 7, by: 8) where !exempt.contains(where: { $0.contains(o) }) {
            let x = u64(ra.bytes, o), y = u64(rb.bytes, o)
            if places.contains(o) {
                #expect(y &- x == delta, "place \(hex(UInt64(o))) differs by \(hex(y &- x))")
            } else {
                #expect(x == y, "word \(hex(UInt64(o))) differs but is not a relocation place")
            }
            if x != y { differing += 1 }
        }
        #expect(differing == places.count)
    }

    /// The pre-MMU code is compiled with strict alignment and the build checks the flag works: without
    /// it, the probe's unaligned load is one instruction and the build stops before linking.
    @Test(.enabled(if: TestData.slideKernel, TestData.missingKernel))
    func buildRefusesWithoutStrictAlignment() throws {
        let out = temporaryDirectory("no-strict-align").path
        let r = try run("env", ["SLIDE_TEST_NO_STRICT_ALIGN=1", "SLIDE=\(slideBinary)", repoRoot.appendingPathComponent("Kernel/build.sh").path, out])
        #expect(r.status != 0)
        #expect(r.stderr.contains("strict alignment is not in effect"), "\(r.stderr)")
        #expect(!FileManager.default.fileExists(atPath: out + "/slide-kernel.elf"))
    }

    /// The assembly's offsets into the Swift structs are checked against the Swift layout at build time: a
    /// header whose EarlyResult.ttbr1 offset is wrong (as after reordering a field) stops the build
    /// before anything is compiled, and the message says how to regenerate it.
    @Test(.enabled(if: TestData.slideKernel, TestData.missingKernel))
    func buildRefusesAsmOffsetsThatDisagreeWithSwift() throws {
        let dir = temporaryDirectory("asm-offsets")
        let header = try String(contentsOf: repoRoot.appendingPathComponent("Kernel/Asm/asm-offsets.h"), encoding: .utf8)
        #expect(header.contains("#define EARLY_RESULT_TTBR1 8\n"))
        let bad = dir.appendingPathComponent("asm-offsets.h").path
        try header.replacingOccurrences(of: "#define EARLY_RESULT_TTBR1 8\n", with: "#define EARLY_RESULT_TTBR1 16\n")
            .write(toFile: bad, atomically: true, encoding: .utf8)
        let out = dir.appendingPathComponent("out").path
        let r = try run("env", ["ASM_OFFSETS_H=\(bad)", "SLIDE=\(slideBinary)", repoRoot.appendingPathComponent("Kernel/build.sh").path, out])
        #expect(r.status == 1 && r.stderr.contains("disagrees with the Swift layout of Kernel/Shared/BootABI.swift"), "\(r.stderr)")
        #expect(r.stderr.contains("-#define EARLY_RESULT_TTBR1 16") && r.stderr.contains("+#define EARLY_RESULT_TTBR1 8"))
        #expect(!FileManager.default.fileExists(atPath: out + "/early.o"))
    }

    @Test func relacheckFailsOnAPlantedAbsoluteReference() throws {
        let out = temporaryDirectory("planted").path
        let r = try run("env", ["EXTRA_EARLY_SWIFT=Tests/Fixtures/PlantedAbsolute.swift", "EXTRA_EARLY_ROOTS=--root slide_planted",
                                "SLIDE=\(slideBinary)", repoRoot.appendingPathComponent("Kernel/build.sh").path, out])
        #expect(r.status != 0)
        #expect(r.stdout.contains("error: \(out)/early.o: R_AARCH64_ABS64 at .data.rel.ro"))
        #expect(r.stdout.contains("reached from .text.slide_planted"))
        #expect(!FileManager.default.fileExists(atPath: out + "/slide-kernel.elf"), "the build stops before linking")
    }
}

/// `slide.bench=1` under `slide boot --icount` (what `make bench` boots): the PMU's instruction
/// counter counts, both tables are measured over the entries the boot applied (SlideCore's apply
/// and the reference loop), the example module's link is counted, and the image the measurements
/// ran over still verifies. Counts are checked to exist, never against a threshold: `make bench`
/// prints the figures. Without the option, no bench line.
@Suite(.enabled(if: TestData.slideKernel, TestData.missingKernel)) struct KernelBench {
    @Test(arguments: ["rela", "relr"])
    func reportsInstructionCounts(_ variant: String) throws {
        let image = try #require(try kernelImage(variant))
        var o = BootOptions()
        o.seed = 0x5eed_5eed
        o.append = "slide.bench=1"
        o.icount = true
        if variant == "rela", let modules = try moduleBuild() { o.initrd = modules.appendingPathComponent("initrd.cpio").path }
        let r = try Booter.boot(image, o)
        #expect(!r.timedOut && r.status == 0 && r.value(.relocVerify) == "ok", "\(r.output.suffix(800))")
        #expect(r.value(.benchCounter) == "pmu")
        func fields(_ key: String) throws -> [String: Int] {
            let v = try #require(r.value(key), "\(key) reported")
            return Dictionary(uniqueKeysWithValues: v.split(separator: ",").map { kv in
                let p = kv.split(separator: ":")
                return (String(p[0]), Int(p[1]) ?? -1)
            })
        }
        let rela = try fields("bench_rela"), relr = try fields("bench_relr")
        #expect(rela["entries"].map(String.init) == r.value(.relocsRela))
        #expect(relr["places"].map(String.init) == r.value(.relocsRelr))
        let measured = variant == "rela" ? rela : relr
        #expect((measured["slide"] ?? 0) > 0 && (measured["linux"] ?? 0) > 0, "\(measured)")
        if o.initrd != nil {
            let module = try fields("bench_module_hello")
            #expect((module["link"] ?? 0) > 0 && (module["relocs"] ?? 0) > 0, "\(module)")
        }
        var plain = o
        plain.append = nil
        let p = try Booter.boot(image, plain)
        #expect(p.status == 0 && !p.report.contains { $0.0.hasPrefix("bench_") })
    }
}
