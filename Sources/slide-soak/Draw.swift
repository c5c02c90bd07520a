// The draw: every parameter of boot I from SlideCore's SplitMix64, seeded by the master seed and
// I. The address rules are the loaders' own (BootOptions), the layout rules SlideKASLR's.

import Foundation
import SlideCore
import SlideKit

extension SplitMix64 {
    /// One of `choices`, uniformly.
    mutating func pick<T>(_ choices: [T]) -> T { choices[Int(below(UInt64(choices.count)))] }

    /// One of `table`'s values, each as likely as its weight.
    mutating func weighted<T>(_ table: [(T, UInt64)]) -> T {
        var r = below(table.reduce(0) { $0 + $1.1 })
        for (value, w) in table {
            if r < w { return value }
            r -= w
        }
        preconditionFailure("weighted: empty table")
    }
}

enum KASLRChoice: String { case seed, zeroSeed = "zero-seed", none, nokaslr, physOff = "phys=0" }
enum ModulePlace: String { case inRange = "in", outOfRange = "out", overImage = "over" }

/// One boot's parameters.
struct Params {
    var i: Int
    var variant = ""
    var memoryMiB = 1024
    var smp = 1
    /// nil: the loader's default (cortex-a57, or max for a 16 KiB-page Image).
    var cpu: String? = nil
    var loader = BootOptions.Loader.qemu
    var kaslr = KASLRChoice.none
    var seed: UInt64? = nil
    var initrd = false
    var registers: (UInt64, UInt64, UInt64)? = nil
    var at: UInt64? = nil
    var place: ModulePlace? = nil
    /// `--loader efi`: the firmware that starts the Image.
    var firmware = BootOptions.Firmware.edk2

    /// `--loader efi`: the seed reaches the kernel through the firmware's EFI_RNG_PROTOCOL. The
    /// stub's one GetRNG call reads the file's first 8 bytes as a little-endian u64 and writes
    /// it to /chosen/kaslr-seed (docs/efi-stub.md); no seed: no RNG device.
    var rngBytes: [UInt8]? {
        guard loader == .efi, let seed else { return nil }
        var r = SplitMix64(seed: seed)
        return (0..<8).map { UInt8(truncatingIfNeeded: seed >> (8 * UInt64($0))) }
            + (0..<(EFIRNGFile.size - 8)).map { _ in UInt8(truncatingIfNeeded: r.next()) }
    }

    /// Where the loader puts the Image (BootOptions.imageAddress).
    var loadAddress: UInt64 {
        var o = BootOptions()
        o.loader = loader; o.at = at
        return o.imageAddress
    }

    /// A seed that randomizes (not none, not 0, not with nokaslr).
    var seeded: Bool { seed != nil && seed != 0 && kaslr != .nokaslr }

    /// What `slide boot` is given for these parameters.
    func options(_ facts: Facts) throws(SlideKitError) -> BootOptions {
        var o = BootOptions()
        o.loader = loader; o.at = at; o.seed = seed; o.nokaslr = kaslr == .nokaslr
        o.memoryMiB = memoryMiB; o.smp = smp; o.cpu = cpu
        o.append = kaslr == .physOff ? "kaslr.phys=0" : nil
        o.initrd = initrd ? try facts.module().initrd : nil
        o.registers = registers ?? (0, 0, 0)
        o.timeout = Soak.bootTimeout
        o.firmware = firmware
        o.rng = rngBytes != nil
        o.rngFile = try rngBytes.map { bytes throws(SlideKitError) in try EFIRNGFile.write(bytes, boot: i) }
        return o
    }
}

struct DrawError: Error { var message: String }

/// The `--rng-file` of an EFI boot: what the firmware's RNG returns, from its first byte.
enum EFIRNGFile {
    static let size = 4096

    static func write(_ bytes: [UInt8], boot i: Int) throws(SlideKitError) -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("slide-soak-rng-\(getpid())-\(i)").path
        do { try Data(bytes).write(to: URL(fileURLWithPath: path)) } catch { throw SlideKitError(path, "cannot write the RNG file: \(error)") }
        return path
    }
}

func draw(_ i: Int, master: UInt64, facts: Facts) throws -> Params {
    var r = SplitMix64(seed: master ^ (UInt64(i + 1) &* 0xd1b5_4a32_d192_ed03))
    var p = Params(i: i)
    p.variant = r.weighted([("rela", 3), ("relr", 3), ("rela-16k", 2), ("relr-16k", 2), ("rela-64k", 2), ("relr-64k", 2), ("rela-alt", 1)])
    let v = try facts.variant(p.variant)
    p.memoryMiB = r.pick([512, 1024, 1024, 1536, 2048, 3072, 4096])
    p.smp = 1 + Int(r.below(4))
    p.cpu = v.granule == .k16 ? "max" : r.weighted([(nil, 3), ("max", 1)])
    p.loader = r.pick([.qemu, .uBoot, .direct, .efi])
    if p.loader == .efi { p.firmware = r.pick([.edk2, .uBoot]) }
    p.kaslr = r.weighted([(.seed, 13), (.zeroSeed, 1), (.none, 2), (.nokaslr, 2), (.physOff, 2)])
    p.seed = p.kaslr == .seed || p.kaslr == .physOff ? r.next() : p.kaslr == .zeroSeed ? 0 : nil
    // Under EFI the stub picks the physical slot from the firmware's map, which the draw cannot
    // know, and the module seed search needs the load address: EFI boots carry no module.
    p.initrd = p.loader != .efi && r.weighted([(true, 1), (false, 1)])
    if p.loader == .direct && r.below(3) == 0 {
        let x1 = r.next(), x2 = r.below(1 << 32), x3 = r.next()
        p.registers = (x1, x2, x3 >> r.below(64))
    }
    var o = BootOptions()
    o.loader = p.loader; o.memoryMiB = p.memoryMiB
    let size = v.imageSize, step = ImageAlignment.kernel
    switch p.loader {
    case .qemu, .efi:
        p.at = nil
    case .uBoot:
        // booti runs the Image where it lies, 2 MiB-aligned, clear of the RAM U-Boot keeps and of
        // its FDT copy; the initrd goes above the image and must keep clear of them too.
        let initrdSize = p.initrd ? try facts.module().initrdSize : 0
        let low = BootOptions.qemuKernelAddress
        guard o.uBootTop >= low + size else { throw DrawError(message: "no room for the image below U-Boot") }
        let slots = (o.uBootTop - size - low) / step + 1
        for _ in 0..<10_000 {
            let at = low + r.below(slots) * step
            let extent = p.initrd ? BootOptions.uBootInitrdAddress(imageAddress: at, imageSize: size) + initrdSize - at : size
            if o.clearOfUBoot(start: at, size: extent) { p.at = at; break }
        }
        guard p.at != nil else { throw DrawError(message: "no U-Boot load address clear of U-Boot's RAM and FDT copy") }
    case .direct:
        // Any page of the kernel's granule from the lowest load address up to below the DTB and
        // the initrd (the direct loader puts the DTB at the top 2 MiB, the initrd just below it); mostly misaligned.
        var ceiling = o.imageCeiling
        if p.initrd { ceiling = min(ceiling, o.directInitrdAddress(size: try facts.module().initrdSize)) }
        let low = BootOptions.lowestImageAddress, top = ceiling - size
        if r.below(4) == 0 {
            p.at = low + r.below((top - low) / step + 1) * step
        } else {
            let page = v.granule.pageSize
            p.at = low + r.below((top - low) / page + 1) * page
        }
    }
    if p.initrd && p.seeded {
        p.place = r.weighted([(.inRange, 4), (.outOfRange, 5), (.overImage, 1)])
        p.seed = try searchSeed(p, v, from: p.seed!, facts.module())
    }
    return p
}

/// Where the first module goes for `seed` (SlideKASLR.firstModule, what the kernel computes).
func predictedModule(_ p: Params, _ v: Variant, seed: UInt64, _ m: ModuleFacts) -> (offset: UInt64, base: UInt64, address: UInt64) {
    let f = SlideKASLR.firstModule(seed: seed, loadPA: p.loadAddress, image: v.landmarks, size: m.size(v.granule), granule: v.granule)
    return (f.offset, f.base, f.address)
}

/// The first seed from `from` on that puts the module where `p.place` says (ModuleSeedSearch, the
/// module boot tests' rule).
func searchSeed(_ p: Params, _ v: Variant, from: UInt64, _ m: ModuleFacts) throws -> UInt64 {
    guard let place = p.place else { return from }
    let target: ModuleSeedSearch.Target = switch place { case .inRange: .inRange; case .outOfRange: .outOfRange; case .overImage: .overImage }
    guard let seed = ModuleSeedSearch.firstSeed(target, from: from, tries: 2_000_000, loadPA: p.loadAddress, image: v.landmarks,
                                                size: m.size(v.granule), granule: v.granule) else {
        throw DrawError(message: "no seed for module \(place.rawValue)")
    }
    return seed
}
