// `slide boot`: run an Image under qemu-system-aarch64 (`virt`) through one of four loaders and
// return what the kernel printed and its exit status (semihosting).
//
//   qemu    QEMU's own `-kernel` loader (the Image at RAM base + 2 MiB, x0 = DTB).
//   u-boot  Debian's u-boot-qemu as `-bios`, the Image placed raw, `booti` typed at its prompt.
//   direct  Slide places the Image, the DTB and a trampoline that loads x0-x3 and branches:
//           the only way to boot 4 KiB-misaligned or with chosen x1-x3.
//   efi     UEFI firmware starts the Image as an EFI application (EFILoader.swift).
//
// Every loader but efi gets a DTB Slide controls: QEMU's own (`dumpdtb`, `dtb-randomness=off` so no seed
// sneaks in), patched with SlideCore's FDT editor for the seed, bootargs and initrd.
//
// One boot is four steps: check the placement against the loader's rules, dump and patch the DTB,
// turn the loader into QEMU arguments (Loaders.swift), run QEMU and read the report.

import Foundation
import SlideCore

public enum Booter {
    public static let uBootPath = "/usr/lib/u-boot/qemu_arm64/u-boot.bin"

    public static func boot(_ imagePath: String, _ o: BootOptions) throws(SlideKitError) -> BootResult {
        guard let qemu = QEMUProcess.which("qemu-system-aarch64") else {
            throw SlideKitError(imagePath, "qemu-system-aarch64 not found (Debian package qemu-system-arm)")
        }
        let k = try KernelImage.load(path: imagePath)
        guard let header = k.header else { throw SlideKitError(imagePath, "not an arm64 Image") }
        try checkPlacement(imagePath, header, o)
        if o.loader == .efi && k.pe == nil {
            throw SlideKitError(imagePath, "--loader efi: not a PE/COFF Image (no PE header at the Image header's res5), so UEFI firmware cannot start it")
        }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("slide-boot-\(getpid())-\(UUID().uuidString.prefix(8))")
        try? FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let cpu = o.cpu ?? QEMUCPU.defaultCPU(pageSize: header.flags.pageSize.bytes).name
        let linux = k.banner != nil
        // A Linux boot is judged against `slide kaslr`, which knows the CPUs in QEMUCPU.all only.
        if linux && QEMUCPU.named(cpu) == nil {
            throw SlideKitError(imagePath, "--cpu '\(cpu)': slide kaslr has no model of this CPU, so the boot could not be checked; use one of: \(QEMUCPU.names)")
        }
        let efi = o.loader == .efi
        let machine = ["-M", efi ? EFILoader.machine : "virt,dtb-randomness=off", "-cpu", cpu, "-m", "\(o.memoryMiB)M", "-smp", "\(o.smp)"]
        var args = machine + ["-nographic", "-semihosting", "-net", "none", "-no-reboot"]
        if o.icount { args += ["-icount", "shift=0"] }
        // Under EFI the firmware places the Image and hands over QEMU's DTB itself.
        let setup = efi ? try EFILoader.setup(o, image: imagePath, dir: dir, linux: linux)
            : try LoaderSetup.make(o, image: imagePath, imageSize: header.imageSize,
                                   dtb: try GuestDTB(qemu: qemu, machine: machine, dir: dir, options: o, linux: linux), linux: linux)
        let r = try QEMUProcess.run(qemu, args + setup.arguments, timeout: o.timeout, script: setup.script)
        return BootResult(output: r.output, status: r.status, timedOut: r.timedOut, report: report(in: r.output),
                          linux: linux ? LinuxBootReport(r.output) : nil, cpu: cpu)
    }

    /// Refuses an --at the loader cannot honour: outside RAM's window, misaligned for the Image's
    /// pages or for booti, or over U-Boot's own RAM.
    static func checkPlacement(_ imagePath: String, _ header: ImageHeader, _ o: BootOptions) throws(SlideKitError) {
        if o.loader == .efi { return } // the firmware chooses
        let pa = o.imageAddress
        guard pa >= BootOptions.lowestImageAddress || o.loader == .qemu, pa & 0xfff == 0,
              pa + header.imageSize <= o.imageCeiling else {
            throw SlideKitError(imagePath, "--at \(hex(pa)): the image (\(hex(header.imageSize)) bytes) must lie 4 KiB-aligned in RAM "
                                + "between \(hex(BootOptions.lowestImageAddress)) and \(hex(o.imageCeiling))")
        }
        // The kernel maps itself with its own pages: a 16 or 64 KiB-page Image cannot run 4 KiB-aligned
        // (the Slide kernel stops before its first message, exit status 2).
        let page = header.flags.pageSize.bytes ?? 0x1000
        if o.loader == .direct && page > 0x1000 && pa % page != 0 {
            throw SlideKitError(imagePath, "--at \(hex(pa)): this Image has \(page >> 10) KiB pages and must be loaded \(page >> 10) KiB-aligned")
        }
        if o.loader == .uBoot && ImageAlignment.misalignment(pa) != 0 {
            throw SlideKitError(imagePath, "--at \(hex(pa)): booti runs an Image 2 MiB-aligned; use --loader direct for misaligned addresses")
        }
        // U-Boot's own RAM and its FDT copy (BootOptions.clearOfUBoot).
        if o.loader == .uBoot && !o.clearOfUBoot(start: pa, size: header.imageSize) {
            throw SlideKitError(imagePath, "--at \(hex(pa)): U-Boot keeps RAM above \(hex(o.uBootTop)) and copies the FDT just below \(hex(o.uBootFDTSpot)); "
                                + "the image (\(hex(header.imageSize)) bytes) must stay clear of both")
        }
    }

    /// The `slide: key=value` lines of a Slide kernel's output, in order.
    static func report(in output: String) -> [(String, String)] {
        output.split(whereSeparator: \.isNewline).compactMap { line -> (String, String)? in // "\r\n" is one Character
            let prefix = BootReportKey.prefix.description
            guard line.hasPrefix(prefix), let eq = line.firstIndex(of: "=") else { return nil }
            return (String(line[line.index(line.startIndex, offsetBy: prefix.count)..<eq]), String(line[line.index(after: eq)...]))
        }
    }

    /// The command line. Linux gets its console on the PL011 and `panic=-1`, so a boot with no
    /// root file system ends (QEMU runs with -no-reboot) after printing the panic's layout lines.
    public static func bootargs(_ o: BootOptions, linux: Bool) -> String? {
        let console = linux && !(o.append ?? "").contains("console=") ? "console=ttyAMA0 panic=-1" : nil
        // efi=debug: Linux prints the firmware's memory map (EFIMemoryMapText reads it back).
        let efiDebug = linux && o.loader == .efi && !(o.append ?? "").contains("efi=") ? "efi=debug" : nil
        let parts = [console, efiDebug, o.append, o.nokaslr ? "nokaslr" : nil].compactMap { $0 }
        return parts.isEmpty ? nil : parts.joined(separator: " ")
    }
}

/// QEMU's own DTB for the machine (`dumpdtb`), with the seed and bootargs set for the loaders that
/// pass a DTB themselves (U-Boot sets them at its prompt instead).
struct GuestDTB {
    var editor: FDTEditor
    /// Where the dump was written; the patched copies go beside it.
    let path: String

    init(qemu: String, machine: [String], dir: URL, options o: BootOptions, linux: Bool) throws(SlideKitError) {
        path = dir.appendingPathComponent("virt.dtb").path
        let dump = try QEMUProcess.run(qemu, machine + ["-M", "virt,dumpdtb=\(path)", "-nographic", "-net", "none"], timeout: 30)
        guard dump.status == 0, let raw = try? Data(contentsOf: URL(fileURLWithPath: path)) else {
            throw SlideKitError(path, "qemu could not dump its DTB: \(dump.output.prefix(200))")
        }
        do throws(SlideError) {
            editor = try FDTEditor([UInt8](raw))
            if let seed = o.seed, o.loader != .uBoot {
                try editor.setProperty(path: ["chosen"], name: "kaslr-seed", value: Self.be64(seed))
            }
            if let args = Booter.bootargs(o, linux: linux), o.loader != .uBoot {
                try editor.setProperty(path: ["chosen"], name: "bootargs", value: Array(args.utf8) + [0])
            }
        } catch {
            throw SlideKitError(path, error)
        }
    }

    /// `/chosen`'s initrd range.
    mutating func setInitrd(start: UInt64, end: UInt64) throws(SlideKitError) {
        do throws(SlideError) {
            try editor.setProperty(path: ["chosen"], name: "linux,initrd-start", value: Self.be64(start))
            try editor.setProperty(path: ["chosen"], name: "linux,initrd-end", value: Self.be64(end))
        } catch { throw SlideKitError(path, error) }
    }

    /// Writes the patched DTB beside the dump and returns its path.
    func write() throws(SlideKitError) -> String {
        let patched = URL(fileURLWithPath: path).deletingLastPathComponent().appendingPathComponent("patched.dtb").path
        let bytes: [UInt8]
        do throws(SlideError) { bytes = try editor.packed() } catch { throw SlideKitError(path, error) }
        try Files.writeAtomically(bytes, to: patched)
        return patched
    }

    static func be64(_ v: UInt64) -> [UInt8] { (0..<8).map { UInt8(truncatingIfNeeded: v >> (56 - 8 * UInt64($0))) } }
}
