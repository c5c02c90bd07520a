// `slide boot --loader efi` of a Slide Image: the slot the kernel's EFI stub chose, beside
// SlideEFIModel's prediction from the ranges and the seed the kernel reported. With --rng-file
// the seed itself is known: edk2's VirtioRngDxe hands out the file's bytes from the first, and
// the stub's one GetRNG call reads 8 of them into a little-endian u64.

import SlideCore

public enum SlideEFIBoot {
    /// (what, predicted, reported, agree) for each check; empty when the report is not an EFI stub's.
    /// `commandLine` is the kernel's (the load options): `nokaslr` and `kaslr.phys=0` keep the image where the firmware put it.
    public static func compare(_ r: BootResult, imageSize: UInt64, granule: Granule, rngBytes: [UInt8]?, commandLine: String) -> [(what: String, predicted: String, printed: String, agree: Bool)] {
        guard r.value(.loader) == "efi" else { return [] }
        var rows: [(what: String, predicted: String, printed: String, agree: Bool)] = []
        func row(_ what: String, _ predicted: String, _ printed: String?) { rows.append((what, predicted, printed ?? "missing", predicted == printed)) }
        let seed = r.value(.efiSeed).flatMap { SlideEFIModel.parseHex(Substring($0)) }
        let ranges = r.value(.efiRanges).flatMap(SlideEFIModel.reportedRanges)
        if let rngBytes, rngBytes.count >= 8 {
            row("efi_seed (the --rng-file's first 8 bytes)", hex(rngBytes.prefix(8).reversed().reduce(UInt64(0)) { $0 << 8 | UInt64($1) }), r.value(.efiSeed))
        }
        let line = Array(commandLine.utf8)
        let args = SlideBootArgs(length: line.count, byte: { line[$0] })
        if let ranges, r.value(.efiRNG) == "yes", let seed, SlideKASLR.physicalSeed(args, fdtSeed: seed) != nil {
            let p = SlideEFIModel.predict(imageSize: imageSize, granule: granule, conventional: ranges, seed: seed)
            row("efi_slot (SlideKASLR.efiSlot)", p.address.map(hex) ?? "none", r.value(.efiSlot))
            row("efi_candidates", String(p.candidates), r.value(.efiCandidates))
        } else {
            row("efi_slot (not moved at random: where the firmware loaded it)", r.value(.efiLoadedAt) ?? "missing", r.value(.efiSlot))
        }
        row("pa (the boot path kept the stub's slot)", r.value(.efiSlot) ?? "missing", r.value(.pa))
        row("phys_from (the firmware's load address)", r.value(.efiLoadedAt) ?? "missing", r.value(.physFrom))
        row("reloc_verify", "ok", r.value(.relocVerify))
        return rows
    }
}
