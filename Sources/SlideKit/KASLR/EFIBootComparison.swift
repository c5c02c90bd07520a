// `slide boot --loader efi` of a Linux Image: where the EFI stub put the kernel, beside what the
// stub model (EFIStubPredictor) and `slide kaslr` predict.
//
// The physical address of _text, read from the running kernel: /proc/iomem's "Kernel code"
// (printed by an initramfs) starts at __pa(_text) in 5.10 and 6.12+, at __pa(_stext) in 6.1
// (arch/arm64/kernel/setup.c); the Kernel Offset's low 21 bits are PA(_text) mod 2 MiB in all
// of them, which tells the two apart. Without /proc/iomem, the stub's own slot in the printed
// EFI map that agrees with the Kernel Offset mod 2 MiB.
//
// With --rng-file the stub's random numbers are known: edk2 hands out the file's bytes from the
// first, and the stub reads, in order, the slot seed (4 bytes, a little-endian u32), the
// LINUX_EFI_RANDOM_SEED table (the model's seedTableBytes) and /chosen/kaslr-seed (8 bytes,
// stored as read and so taken big-endian by the kernel) (docs/linux-kaslr.md, "UEFI boots").

import Foundation
import SlideCore

public struct EFILinuxBoot {
    /// The EFI memory map lines the kernel printed (efi=debug), and the regions.
    public var mapLines: [String] = []
    public var map: [EFIMemoryRegion] = []
    /// PA(_text), and how it was read.
    public var physicalText: UInt64? = nil
    public var physicalTextSource = "not found"
    /// The seeds the stub drew, when the RNG's bytes are known.
    public var slotSeed: UInt32? = nil
    public var kaslrSeed: UInt64? = nil
    public var stub: EFIStubPrediction? = nil
    /// Why the stub's slot is not predicted, when it is not.
    public var stubRefusal: String? = nil
    /// (what, predicted, observed, agree).
    public var rows: [(what: String, predicted: String, printed: String, agree: Bool)] = []
    public var agree: Bool { !rows.isEmpty && rows.allSatisfy(\.agree) }

    /// The RNG seeds the stub read from `rng` (the bytes the firmware returns, in order).
    public static func seeds(_ rng: [UInt8], seedTableBytes: Int) -> (slot: UInt32, kaslr: UInt64)? {
        let k = 4 + seedTableBytes
        guard rng.count >= k + 8 else { return nil }
        let slot = (0..<4).reduce(UInt32(0)) { $0 | UInt32(rng[$1]) << (8 * UInt32($1)) }
        let kaslr = (0..<8).reduce(UInt64(0)) { $0 << 8 | UInt64(rng[k + $1]) }
        return (slot, kaslr)
    }

    /// The memory Linux takes from an EFI map (drivers/firmware/efi/efi-init.c, reserve_regions):
    /// every region with WB, WT or WC, whatever its type (QEMU virt's flash at 0x04000000 counts,
    /// so memblock starts there and PHYS_OFFSET rounds down to 0), except soft-reserved memory.
    static func linuxMemory(_ map: [EFIMemoryRegion]) -> [(base: UInt64, size: UInt64)] {
        typealias A = EFIMemoryAttribute
        return map.filter { $0.attributes & (A.wb | A.wt | A.wc) != 0 && $0.attributes & A.specificPurpose == 0 }
            .compactMap { r in r.size.map { (r.start, $0) } }
    }

    /// "Kernel code" from a /proc/iomem listing in the output.
    static func kernelCode(in output: String) -> UInt64? {
        for line in output.split(whereSeparator: \.isNewline) where line.hasSuffix(" : Kernel code") {
            let t = line.trimmingCharacters(in: .whitespaces)
            if let dash = t.firstIndex(of: "-"), let v = UInt64(t[..<dash], radix: 16) { return v }
        }
        return nil
    }

    /// PA(_text) from "Kernel code" or from the map, checked against the Kernel Offset.
    mutating func findPhysicalText(_ output: String, _ k: KernelImage, _ boot: LinuxBootReport, alloc: EFIRandomAlloc?) {
        // The offset's low 21 bits; "disabled" means 0.
        let mis = boot.kernelOffset.map(ImageAlignment.misalignment) ?? 0
        if let code = Self.kernelCode(in: output) {
            let stext = (try? KernelSymbols.read(k)).flatMap { KernelSymbols.addresses($0.symbols)["_stext"] }.map { $0 &- k.linkBase }
            let options = [code] + (stext.map { [code &- $0] } ?? [])
            let fits = options.filter { ImageAlignment.misalignment($0) == mis }
            if fits.count == 1 {
                physicalText = fits[0]
                physicalTextSource = fits[0] == code ? "/proc/iomem Kernel code (= __pa(_text))" : "/proc/iomem Kernel code - (_stext - _text) (Kernel code = __pa(_stext))"
                return
            }
        }
        guard let alloc else { return }
        let fits = map.filter { $0.type == alloc.rules.slotType && $0.size == alloc.size && ImageAlignment.misalignment($0.start) == mis }
        if fits.count == 1 {
            physicalText = fits[0].start
            physicalTextSource = "the EFI memory map: the one region of the kernel's size that agrees with the Kernel Offset mod 2 MiB"
            return
        }
        // No slot drawn: the Image ran where the firmware loaded it (LoadImage: Loader Code),
        // aligned as the stub requires.
        let inPlace = map.filter { $0.type == .loaderCode }.flatMap { r -> [UInt64] in
            guard let end = r.end else { return [] }
            let first = (r.start &+ alloc.align &- 1) & ~(alloc.align - 1)
            return stride(from: first, to: end, by: Int(alloc.align)).filter { $0 &+ alloc.size <= end && ImageAlignment.misalignment($0) == mis }
        }
        if inPlace.count == 1 {
            physicalText = inPlace[0]
            physicalTextSource = "where the firmware loaded the Image (the one aligned address in a Loader Code region that agrees with the Kernel Offset mod 2 MiB)"
        }
    }
}

extension EFILinuxBoot {
    /// Everything `slide boot --loader efi` says of a Linux boot: the map, PA(_text), the stub's
    /// slot and the virtual layout, each beside its prediction.
    public static func judge(_ k: KernelImage, output: String, boot: LinuxBootReport, options o: BootOptions, cpu: QEMUCPU) -> EFILinuxBoot {
        var e = EFILinuxBoot()
        e.mapLines = EFIMemoryMapText.mapLines(in: output)
        e.map = (try? EFIMemoryMapText.parse(e.mapLines.joined(separator: "\n"), path: "the kernel's log")) ?? []
        let commandLine = Booter.bootargs(o, linux: true) ?? ""
        let model = try? EFIStubPredictor.model(k).0
        let alloc = model.flatMap { m in
            k.header.flatMap { h in
                EFIRandomAlloc(size: h.imageSize, align: m.kernelAlignment(pageSize: h.flags.pageSize.bytes ?? EFIMemoryRegion.pageSize, nokaslr: false),
                               rules: m.rules, skipsSpecificPurpose: true)
            }
        }
        e.findPhysicalText(output, k, boot, alloc: alloc)
        if let model, o.rng, let file = o.rngFile, let bytes = try? Files.read(file, limit: 1 << 20),
           let s = seeds(bytes, seedTableBytes: model.seedTableBytes) {
            (e.slotSeed, e.kaslrSeed) = (s.slot, s.kaslr)
        }
        if !o.rng { e.kaslrSeed = 0 } // no RNG: the stub writes no kaslr-seed, and QEMU's DTB has none
        e.physicalRow(k, rng: o.rng, commandLine: commandLine)
        e.virtualRows(k, boot, o, cpu: cpu, commandLine: commandLine)
        return e
    }

    mutating func physicalRow(_ k: KernelImage, rng: Bool, commandLine: String) {
        let observed = physicalText.map { "\(hex($0)) (\(physicalTextSource))" } ?? "(not found)"
        guard rng else {
            // No EFI_RNG_PROTOCOL: the stub draws no slot and runs the Image where edk2 loaded it
            // when it is EFI_KIMG_ALIGN-aligned (else copies it to an aligned block).
            let align = (try? EFIStubPredictor.model(k).0).map { $0.kernelAlignment(pageSize: k.header?.flags.pageSize.bytes ?? 0x1000, nokaslr: commandLine.split(separator: " ").contains("nokaslr")) }
            rows.append(("Physical addr", "no slot drawn (no RNG): \(align.map { hex($0) } ?? "?")-aligned", observed,
                         physicalText != nil && align.map { physicalText! % $0 == 0 } == true))
            return
        }
        var q = EFIStubPredictor.Query()
        q.map = map; q.kernelAt = physicalText; q.seed = slotSeed; q.commandLine = commandLine
        do throws(SlideKitError) {
            let p = try EFIStubPredictor.predict(k, q)
            stub = p
            guard let pa = physicalText else { rows.append(("Physical addr", "\(p.total) slots", observed, false)); return }
            if let address = p.address {
                rows.append(("Physical addr", "\(hex(address)) (slot \(p.index ?? 0) of \(p.total))", observed, address == pa))
            } else {
                let index = p.alloc.index(of: pa, in: p.stubMap)
                rows.append(("Physical addr", "one of \(p.total) slots, \(hex(p.alloc.align))-aligned", observed + (index.map { ", slot \($0)" } ?? ", not a slot"), index != nil))
            }
        } catch {
            stubRefusal = error.message
            rows.append(("Physical addr", "no prediction (\(error.message))", observed, false))
        }
    }

    mutating func virtualRows(_ k: KernelImage, _ boot: LinuxBootReport, _ o: BootOptions, cpu: QEMUCPU, commandLine: String) {
        guard let pa = physicalText else { return }
        guard let seed = kaslrSeed else {
            // A seed drawn from the real RNG: the offset must still keep PA(_text) mod 2 MiB.
            let printed = boot.kernelOffset.map { "\(hex($0)) from \(hex(boot.linkBase ?? 0))" } ?? "disabled"
            rows.append(("Kernel Offset", "drawn by the stub (seed not known), ≡ \(hex(ImageAlignment.misalignment(pa))) mod 2 MiB", printed,
                         boot.kernelOffset.map { ImageAlignment.misalignment($0) == ImageAlignment.misalignment(pa) } == true))
            return
        }
        var q = KASLRQuery()
        q.seed = seed; q.cpu = cpu; q.loadPA = pa; q.commandLine = commandLine
        q.memory = Self.linuxMemory(map)
        if q.memory.isEmpty { q.memory = [(BootOptions.ramBase, UInt64(o.memoryMiB) << 20)] }
        do throws(SlideKitError) {
            rows += try KASLRPredictor.predict(k, q).compare(boot)
        } catch {
            rows.append(("Kernel Offset", "no prediction (\(error.message))", boot.kernelOffset.map { hex($0) } ?? "disabled", false))
        }
    }
}
