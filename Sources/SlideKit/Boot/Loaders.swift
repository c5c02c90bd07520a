// The loaders of `slide boot` that Slide places itself, as QEMU arguments: what each places where, and for U-Boot the
// commands typed at its prompt. Placement rules are BootOptions'; this file only applies them.

import Foundation
import SlideCore

struct LoaderSetup {
    var arguments: [String] = []
    /// (prompt, reply) pairs answered in order as the prompts appear on the console.
    var script: [(String, String)] = []

    static func make(_ o: BootOptions, image: String, imageSize: UInt64, dtb: GuestDTB, linux: Bool) throws(SlideKitError) -> LoaderSetup {
        switch o.loader {
        case .qemu: return try qemu(o, image: image, dtb: dtb)
        case .direct: return try direct(o, image: image, imageSize: imageSize, dtb: dtb)
        case .uBoot: return try uBoot(o, image: image, imageSize: imageSize, linux: linux)
        case .efi: throw SlideKitError(image, "--loader efi: the firmware loads the Image (EFILoader.setup)")
        }
    }

    /// QEMU's `-kernel`, `-dtb` and `-initrd`: QEMU places all three.
    static func qemu(_ o: BootOptions, image: String, dtb: GuestDTB) throws(SlideKitError) -> LoaderSetup {
        var setup = LoaderSetup(arguments: ["-kernel", image, "-dtb", try dtb.write()])
        if let initrd = o.initrd { setup.arguments += ["-initrd", initrd] }
        return setup
    }

    /// The Image at --at, the DTB near the end of RAM, the initrd below it, and a trampoline that
    /// loads x0-x3 and branches to the Image, all as raw `-device loader` blobs.
    static func direct(_ o: BootOptions, image: String, imageSize: UInt64, dtb: GuestDTB) throws(SlideKitError) -> LoaderSetup {
        let pa = o.imageAddress
        var dtb = dtb, setup = LoaderSetup()
        if let initrd = o.initrd {
            let size = UInt64((try Files.read(initrd)).count)
            let start = o.directInitrdAddress(size: size)
            setup.arguments += ["-device", "loader,file=\(initrd),addr=\(hex(start)),force-raw=on"]
            try dtb.setInitrd(start: start, end: start + size)
            if start < pa + imageSize { throw SlideKitError(image, "the initrd overlaps the image") }
        }
        let patched = try dtb.write()
        let trampoline = URL(fileURLWithPath: patched).deletingLastPathComponent().appendingPathComponent("trampoline.bin").path
        try Files.writeAtomically(Trampoline.code(x0: o.directDTBAddress, x1: o.registers.0, x2: o.registers.1, x3: o.registers.2, entry: pa),
                                  to: trampoline)
        setup.arguments += ["-device", "loader,file=\(image),addr=\(hex(pa)),force-raw=on",
                            "-device", "loader,file=\(patched),addr=\(hex(o.directDTBAddress)),force-raw=on",
                            "-device", "loader,file=\(trampoline),addr=\(hex(BootOptions.trampolineAddress)),force-raw=on,cpu-num=0"]
        return setup
    }

    /// Debian's U-Boot as `-bios`, the Image (and initrd) placed raw, and `booti` typed at its
    /// prompt after the seed and bootargs are set in U-Boot's own FDT.
    static func uBoot(_ o: BootOptions, image: String, imageSize: UInt64, linux: Bool) throws(SlideKitError) -> LoaderSetup {
        guard FileManager.default.fileExists(atPath: Booter.uBootPath) else {
            throw SlideKitError(image, "\(Booter.uBootPath) not found (Debian package u-boot-qemu)")
        }
        let pa = o.imageAddress
        var setup = LoaderSetup(arguments: ["-bios", Booter.uBootPath, "-device", "loader,file=\(image),addr=\(hex(pa)),force-raw=on"])
        var initrdArgument = "-"
        if let initrd = o.initrd {
            let size = UInt64((try Files.read(initrd)).count)
            let start = BootOptions.uBootInitrdAddress(imageAddress: pa, imageSize: imageSize)
            guard start + size <= o.ramEnd - BootOptions.uBootInitrdHeadroom else { throw SlideKitError(initrd, "no room for the initrd above the image") }
            setup.arguments += ["-device", "loader,file=\(initrd),addr=\(hex(start)),force-raw=on"]
            initrdArgument = "\(hex(start)):\(hex(size))"
        }
        var commands = ["fdt addr ${fdtcontroladdr}", "fdt resize 512"]
        if let seed = o.seed { commands.append("fdt set /chosen kaslr-seed <\(hex(seed >> 32)) \(hex(seed & 0xffff_ffff))>") }
        commands.append("setenv bootargs '\(Booter.bootargs(o, linux: linux) ?? "")'")
        commands.append("booti \(hex(pa)) \(initrdArgument) ${fdtcontroladdr}")
        setup.script = [("Hit any key to stop autoboot", "\n")] + commands.map { ("=> ", $0 + "\n") }
        return setup
    }
}
