// Debian's kernels booted through real UEFI firmware (`slide boot --loader efi`: edk2, and U-Boot's
// EFI once, virtio-rng over a file of fixed bytes), one boot per kernel: the physical address the EFI stub chose,
// read from the running kernel's /proc/iomem (busybox in an initramfs), must be aligned as the
// stub model says, one of the candidate slots of the map the kernel printed, and exactly the slot
// the model draws for the first four bytes of the file; the Kernel Offset and PHYS_OFFSET must be
// what `slide kaslr` gives for the kaslr-seed the stub took from the same file; and
// `slide kaslr --loader efi` on the saved map must say the same.

import Foundation
import Testing
import SlideCore
@testable import SlideKit

/// A newc initramfs whose /init prints /proc/iomem and exits, so the kernel panics and prints
/// its Kernel Offset and PHYS_OFFSET.
enum IomemInitramfs {
    static let path = KallsymsInitramfs.busyboxInitramfs("iomem-initramfs",
        script: "#!/bin/busybox sh\n/bin/busybox mkdir -p /proc\n/bin/busybox mount -t proc proc /proc\n/bin/busybox cat /proc/iomem\nexit 1\n")
}

struct LinuxEFIBootCase: CustomTestStringConvertible, Sendable {
    var suite: DebianSuite
    var rngSeed: UInt64
    var firmware = "edk2"
    var testDescription: String { "\(suite.suite) \(firmware) rng \(hex(rngSeed))" }

    /// One boot per kernel under edk2, a second RNG file for 6.1, and 6.12 under U-Boot's EFI.
    static let all: [LinuxEFIBootCase] = DebianSuite.present.filter { ["bullseye", "bookworm", "trixie", "sid"].contains($0.suite) }
        .flatMap { s in
            [LinuxEFIBootCase(suite: s, rngSeed: 1)] + (s.suite == "bookworm" ? [LinuxEFIBootCase(suite: s, rngSeed: 2)] : [])
                + (s.suite == "trixie" && FileManager.default.fileExists(atPath: Booter.uBootPath) ? [LinuxEFIBootCase(suite: s, rngSeed: 3, firmware: "u-boot")] : [])
        }

    /// 64 KiB of SplitMix64 output: what the firmware's EFI_RNG_PROTOCOL returns, in order.
    func rngBytes() -> [UInt8] {
        var r = SplitMix64(seed: rngSeed)
        return (0..<8192).flatMap { _ in withUnsafeBytes(of: r.next().littleEndian, Array.init) }
    }
}

@Suite(.serialized, .enabled(if: !LinuxEFIBootCase.all.isEmpty && KallsymsInitramfs.available && FileManager.default.fileExists(atPath: EFILoader.edk2Path),
                             "needs the Debian kernels and busybox (scripts/fetch-testdata), qemu-system-aarch64 and edk2 (qemu-efi-aarch64)"))
struct EFILinuxBoots {
    @Test(arguments: LinuxEFIBootCase.all)
    func stubSlotIsPredicted(_ c: LinuxEFIBootCase) throws {
        let dir = temporaryDirectory("efi-boot")
        let rngFile = dir.appendingPathComponent("rng.bin").path, mapFile = dir.appendingPathComponent("memmap.txt").path
        let bytes = c.rngBytes()
        try Data(bytes).write(to: URL(fileURLWithPath: rngFile))
        // U-Boot's EFI takes no initrd: the address is then read from the map (checked against the Kernel Offset).
        let initrd = c.firmware == "edk2" ? ["--initrd", try IomemInitramfs.path.get(), "--append", "rdinit=/init"] : []
        let r = try slide(["boot", c.suite.kernel, "--loader", "efi", "--firmware", c.firmware, "--rng-file", rngFile]
                          + initrd + ["--save-efi-memmap", mapFile, "--json", "--timeout", "120"])
        let doc = try jsonObject(r.stdout)
        let lines = try #require(doc["lines"] as? [[String: Any]], "\(r.stdout)\(r.stderr)")
        #expect(r.status == 0 && doc["agree"] as? Bool == true, "\(lines)")
        // The address comes from the running kernel, not from the map.
        #expect((doc["physical_address_source"] as? String)?.hasPrefix(c.firmware == "edk2" ? "/proc/iomem" : "the EFI memory map") == true, "\(doc)")
        let pa = try #require(hexValue(doc["physical_address"]))
        let stub = try #require(doc["stub"] as? [String: Any])
        let align = try #require(hexValue(stub["alignment"]))
        #expect(align == 0x1_0000 && pa % align == 0)
        // The seeds, read from the file here: the first u32 (little-endian), kaslr-seed 36 bytes on (big-endian).
        let slotSeed = (0..<4).reduce(UInt64(0)) { $0 | UInt64(bytes[$1]) << (8 * UInt64($1)) }
        let kaslrSeed = (36..<44).reduce(UInt64(0)) { $0 << 8 | UInt64(bytes[$1]) }
        #expect(hexValue(doc["slot_seed"]) == slotSeed && hexValue(doc["kaslr_seed"]) == kaslrSeed)
        #expect(hexValue(stub["physical_address"]) == pa)
        let candidates = try #require(stub["candidates"] as? Int)
        #expect(candidates > 8000, "1 GiB of RAM holds thousands of 64 KiB slots")
        #expect(Set(lines.compactMap { $0["what"] as? String }) == ["Physical addr", "Kernel Offset", "PHYS_OFFSET"])

        // slide kaslr on the saved map: the same candidates and slot, and the same Kernel Offset for kaslr-seed.
        // U-Boot's copy of the PE image has the kernel's size too: the address names the stub's slot.
        let k = try slide(["kaslr", c.suite.kernel, "--loader", "efi", "--efi-memmap", mapFile, "--efi-seed", hex(slotSeed), "--json"]
                          + (c.firmware == "u-boot" ? ["--efi-kernel-at", hex(pa)] : []))
        let kdoc = try jsonObject(k.stdout)
        #expect(k.status == 0 && hexValue(kdoc["physical_address"]) == pa && kdoc["candidates"] as? Int == candidates, "\(k.stdout)\(k.stderr)")
        #expect(kdoc["slot_type"] as? String == (c.suite.version < (6, 1) ? "Loader Data" : "Loader Code"))
        let v = try slide(["kaslr", c.suite.kernel, "--seed", hex(kaslrSeed), "--pa", hex(pa), "--json"])
        let printed = try #require(lines.first { $0["what"] as? String == "Kernel Offset" }?["printed"] as? String)
        #expect(try jsonObject(v.stdout)["printed_kernel_offset"] as? String == printed)
    }
}
