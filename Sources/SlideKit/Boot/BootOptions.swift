// What `slide boot` is asked to do, and where each loader puts the Image, the DTB and the initrd
// in the `virt` machine's RAM.

import SlideCore

public struct BootOptions {
    public enum Loader: String, CaseIterable, Sendable { case qemu, uBoot = "u-boot", direct, efi }
    public var loader: Loader = .qemu
    /// The UEFI firmware of `--loader efi` (EFILoader.swift).
    public enum Firmware: String, CaseIterable, Sendable { case edk2, uBoot = "u-boot" }
    public var firmware: Firmware = .edk2
    /// `--loader efi`: a virtio-rng device, so the firmware offers EFI_RNG_PROTOCOL.
    public var rng = true
    /// `--loader efi`: the virtio-rng device reads this file (QEMU `rng-random`), so the random
    /// numbers the firmware hands out are the file's bytes, in order.
    public var rngFile: String? = nil
    public var at: UInt64? = nil
    public var seed: UInt64? = nil
    public var nokaslr = false
    public var memoryMiB = 1024
    public var smp = 1
    /// QEMU CPU model; nil picks one that supports the Image's page size (cortex-a57 has no
    /// 16 KiB granule: `max` then).
    public var cpu: String? = nil
    public var append: String? = nil
    public var initrd: String? = nil
    public var timeout: Double = 60
    /// QEMU `-icount shift=0`: one guest instruction per nanosecond of virtual time, and the PMU's
    /// instruction counter counting (the Slide kernel's `slide.bench=1` figures need it).
    public var icount = false
    public var registers: (UInt64, UInt64, UInt64) = (0, 0, 0)
    public init() {}

    public static let ramBase: UInt64 = 0x4000_0000
    /// Where QEMU's `-kernel` puts an arm64 Image with text_offset 0: RAM base + 2 MiB (QEMU's
    /// hw/arm/boot.c, load_aarch64_image).
    public static let qemuKernelAddress: UInt64 = 0x4020_0000
    public static let trampolineAddress: UInt64 = 0x4010_0000
    /// The top of RAM U-Boot keeps for itself once relocated (code, heap, stack, its FDT), with a margin.
    public static let uBootReserved: UInt64 = 36 << 20
    /// What booti's copy of the FDT may cover just below `uBootFDTSpot`.
    public static let uBootFDTCopy: UInt64 = 1 << 20

    /// The physical address the Image will run at.
    public var imageAddress: UInt64 { loader == .qemu ? Self.qemuKernelAddress : (at ?? 0x4800_0000) }
    public var ramEnd: UInt64 { Self.ramBase + UInt64(memoryMiB) << 20 }

    /// Where an Image loaded at --at (u-boot, direct) may lie: from RAM base + 2 MiB (the
    /// trampoline is below) up to 4 MiB below the end of RAM (the direct loader's DTB is above).
    public static let lowestImageAddress: UInt64 = ramBase + (2 << 20)
    public var imageCeiling: UInt64 { ramEnd - (4 << 20) }

    /// The direct loader's DTB, 2 MiB below the end of RAM, and its initrd of `size` bytes, just below the DTB.
    public var directDTBAddress: UInt64 { (ramEnd - (2 << 20)) & ~0xfff }
    public func directInitrdAddress(size: UInt64) -> UInt64 { (directDTBAddress - size - 0x1000) & ~0xfff }

    /// U-Boot (2023.01) relocates itself, its heap and stack into the top ~34 MiB of RAM and booti
    /// copies the FDT just below that, or just below 4 GiB when RAM goes higher, whatever the
    /// Image's image_size covers: there the kernel's BSS would clear the FDT. `uBootTop` is where
    /// the RAM U-Boot keeps starts, `uBootFDTSpot` the address the FDT copy ends at.
    public var uBootTop: UInt64 { ramEnd - Self.uBootReserved }
    public var uBootFDTSpot: UInt64 { min(uBootTop, 1 << 32) }
    /// Whether [start, start + size) stays below `uBootTop` and clear of the FDT copy (what
    /// `Booter.boot` demands of a u-boot Image).
    public func clearOfUBoot(start: UInt64, size: UInt64) -> Bool {
        start + size <= uBootTop && !(start < uBootFDTSpot && start + size > uBootFDTSpot - Self.uBootFDTCopy)
    }
    /// Where the u-boot loader puts the initrd: 2 MiB above the image's image_size, 2 MiB-aligned.
    public static func uBootInitrdAddress(imageAddress: UInt64, imageSize: UInt64) -> UInt64 {
        ImageAlignment.down(imageAddress + imageSize + (2 << 20))
    }
    /// The u-boot loader's initrd must end this far below the end of RAM.
    public static let uBootInitrdHeadroom: UInt64 = 16 << 20
}
