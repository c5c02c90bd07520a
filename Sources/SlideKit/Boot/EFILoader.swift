// `slide boot --loader efi`: the Image started as an EFI application by real UEFI firmware, the
// way a Debian kernel boots on an arm64 server.
//
//   edk2  Debian's qemu-efi-aarch64 (QEMU_EFI.fd) as `-bios`. QEMU hands `-kernel`, `-initrd`
//         and `-append` to the firmware through fw_cfg; edk2's QemuKernelLoaderFsDxe starts the
//         kernel with LoadImage/StartImage (so the Image must be PE/COFF), the command line
//         becomes its load options and the initrd is offered through LINUX_EFI_INITRD_MEDIA_GUID.
//         edk2 installs QEMU's device tree as a configuration table only when QEMU builds no ACPI
//         tables: `-M virt,acpi=off`.
//   u-boot  Debian's u-boot-qemu (2023.01) as `-bios`. The Image lies on a FAT disk QEMU makes
//         from a directory (virtio-blk); typed at U-Boot's prompt: `virtio scan`, `load` (which
//         also tells U-Boot's EFI loader the file), `setenv bootargs` (the load options) and
//         `bootefi` with U-Boot's own device tree. No initrd: Linux's stub takes it through
//         LINUX_EFI_INITRD_MEDIA_GUID, which U-Boot 2023.01 offers only for the initrd of a
//         Boot#### option, and Debian's build has no `efidebug` command to make one.
//
// EFI_RNG_PROTOCOL: edk2's VirtioRngDxe or U-Boot's virtio-rng driver, over `-device virtio-rng-pci`. With `--rng-file` the
// device reads a file (`-object rng-random`), so the bytes the firmware returns are the file's,
// in order from its first byte: a boot is then reproducible (docs/linux-kaslr.md, "UEFI boots").
//
// The firmware, not Slide, chooses where the Image and the DTB go; the DTB is QEMU's own with
// `dtb-randomness=off`, so the only randomness is what the firmware's RNG returns.

import Foundation

enum EFILoader {
    static let edk2Path = "/usr/share/qemu-efi-aarch64/QEMU_EFI.fd"
    static let minimumRNGFile = 4096

    /// The machine options `--loader efi` needs beyond the other loaders' (no ACPI: the DTB reaches the OS).
    static let machine = "virt,acpi=off,dtb-randomness=off"

    /// QEMU arguments: the firmware, the Image and its command line and initrd, and the RNG device.
    static func setup(_ o: BootOptions, image: String, dir: URL, linux: Bool) throws(SlideKitError) -> LoaderSetup {
        switch o.firmware {
        case .edk2: return try edk2(o, image: image, dir: dir, linux: linux)
        case .uBoot: return try uBoot(o, image: image, dir: dir, linux: linux)
        }
    }

    static func uBoot(_ o: BootOptions, image: String, dir: URL, linux: Bool) throws(SlideKitError) -> LoaderSetup {
        guard FileManager.default.fileExists(atPath: Booter.uBootPath) else {
            throw SlideKitError(image, "\(Booter.uBootPath) not found (Debian package u-boot-qemu)")
        }
        if o.initrd != nil { throw SlideKitError(image, "--initrd: U-Boot 2023.01 hands Linux an initrd only from a Boot#### option, which Debian's build cannot make (no efidebug); use --firmware edk2") }
        let disk = dir.appendingPathComponent("efi-disk")
        do {
            try FileManager.default.createDirectory(at: disk, withIntermediateDirectories: true)
            // A copy of the file itself: copyItem would copy a symbolic link as a link, which vvfat cannot follow.
            try FileManager.default.copyItem(atPath: URL(fileURLWithPath: image).resolvingSymlinksInPath().path, toPath: disk.appendingPathComponent("Image").path)
        } catch { throw SlideKitError(image, "cannot make the FAT directory: \(error.localizedDescription)") }
        var setup = LoaderSetup(arguments: ["-bios", Booter.uBootPath, "-drive", "if=none,file=fat:rw:\(disk.path),id=slide-disk,format=raw",
                                            "-device", "virtio-blk-pci,drive=slide-disk"])
        setup.arguments += try rngArguments(o, image: image)
        let commands = ["virtio scan", "load virtio 0:1 ${kernel_addr_r} Image",
                        "setenv bootargs '\(Booter.bootargs(o, linux: linux) ?? "")'", "bootefi ${kernel_addr_r} ${fdtcontroladdr}"]
        setup.script = [("Hit any key to stop autoboot", "\n")] + commands.map { ("=> ", $0 + "\n") }
        return setup
    }

    static func edk2(_ o: BootOptions, image: String, dir: URL, linux: Bool) throws(SlideKitError) -> LoaderSetup {
        guard FileManager.default.fileExists(atPath: edk2Path) else {
            throw SlideKitError(image, "\(edk2Path) not found (Debian package qemu-efi-aarch64)")
        }
        // QEMU maps -bios read-only, but a private copy keeps the system's file out of reach.
        let firmware = dir.appendingPathComponent("QEMU_EFI.fd").path
        do { try FileManager.default.copyItem(atPath: edk2Path, toPath: firmware) } catch {
            throw SlideKitError(edk2Path, "cannot copy the firmware: \(error.localizedDescription)")
        }
        var setup = LoaderSetup(arguments: ["-bios", firmware, "-kernel", image])
        if let args = Booter.bootargs(o, linux: linux) { setup.arguments += ["-append", args] }
        if let initrd = o.initrd { setup.arguments += ["-initrd", initrd] }
        setup.arguments += try rngArguments(o, image: image)
        return setup
    }

    /// `-device virtio-rng-pci`, over `--rng-file` when given.
    static func rngArguments(_ o: BootOptions, image: String) throws(SlideKitError) -> [String] {
        guard o.rng else { return [] }
        guard let file = o.rngFile else { return ["-device", "virtio-rng-pci"] }
        guard let size = (try? FileManager.default.attributesOfItem(atPath: file))?[.size] as? Int,
              FileManager.default.isReadableFile(atPath: file) else { throw SlideKitError(file, "--rng-file: cannot read the file") }
        // QEMU's rng-random has nothing more to give at the file's end, and Linux's virtio-rng
        // driver keeps reading after boot: a short file would stall the guest.
        guard size >= minimumRNGFile else { throw SlideKitError(file, "--rng-file: \(size) bytes; give at least \(minimumRNGFile)") }
        guard !file.contains(",") else { throw SlideKitError(file, "--rng-file: QEMU cannot take a path with a comma") }
        return ["-object", "rng-random,filename=\(file),id=slide-rng", "-device", "virtio-rng-pci,rng=slide-rng"]
    }
}
