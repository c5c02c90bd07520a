// `slide boot`: run an Image under qemu-system-aarch64 (`virt`) through one of three loaders and
// return what the kernel printed and its exit status (semihosting).
//
//   qemu    QEMU's own `-kernel` loader (the Image at RAM base + 2 MiB, x0 = DTB).
//   u-boot  Debian's u-boot-qemu as `-bios`, the Image placed raw, `booti` typed at its prompt.
//   direct  Slide places the Image, the DTB and a trampoline that loads x0-x3 and branches:
//           the only way to boot 4 KiB-misaligned or with chosen x1-x3.
//
// Every loader gets a DTB Slide controls: QEMU's own (`dumpdtb`, `dtb-randomness=off` so no seed
// sneaks in), patched with SlideCore's FDT editor for the seed, bootargs and initrd.

import Foundation
import SlideCore

public struct BootOptions {
    public enum Loader: String, CaseIterable, Sendable { case qemu, uBoot = "u-boot", direct }
    public var loader: Loader = .qemu
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
    /// Where QEMU's `-kernel` puts an arm64 Image with text_offset 0 (hw/arm/boot.c; bring-up facts).
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

public struct BootResult {
    public var output: String
    public var status: Int32
    public var timedOut: Bool
    /// `slide: key=value` lines, in order.
    public var report: [(String, String)]
    public func value(_ key: String) -> String? { report.last { $0.0 == key }?.1 }
    public func value(_ key: BootReportKey) -> String? { value(key.name.description) }
    /// What a Linux kernel printed about its layout (nil for a Slide kernel).
    public var linux: LinuxBootReport?
    /// The QEMU CPU model the boot ran on (--cpu, or the default for the Image's page size).
    public var cpu: String

    /// `boot --json` of a Slide kernel: its exit and its `slide: key=value` report.
    public func document(image: String, loader: BootOptions.Loader) -> JSON {
        .object([
            ("schema", .string(jsonSchemaVersion)), ("image", .string(image)), ("loader", .string(loader.rawValue)),
            ("cpu", .string(cpu)), ("status", .int(Int(status))), ("timed_out", .bool(timedOut)),
            ("report", .object(report.map { ($0.0, .string($0.1)) })),
        ])
    }
}

/// The layout lines Linux prints when it panics (arch/arm64/kernel/setup.c, dump_kernel_offset,
/// 5.10 to 7.x): `Kernel Offset: 0x… from 0x…` (or `Kernel Offset: disabled`) and `PHYS_OFFSET: 0x…`.
public struct LinuxBootReport: Equatable {
    /// nil when the kernel printed "disabled" (or nothing); then `offsetPrinted` tells which.
    public var kernelOffset: UInt64?
    public var linkBase: UInt64?
    public var offsetPrinted = false
    public var physOffset: UInt64?
    /// The kernel's `Linux version` line, as printed.
    public var version: String?

    public init(_ output: String) {
        for line in output.split(whereSeparator: \.isNewline) {
            // Strip the "[    1.234567] " timestamp.
            let text = line.firstIndex(of: "]").map { line.hasPrefix("[") ? line[line.index(after: $0)...] : line[...] } ?? line[...]
            let t = text.trimmingCharacters(in: .whitespaces)
            if t.hasPrefix("Kernel Offset: ") {
                offsetPrinted = true
                let words = t.split(separator: " ")
                if words.count >= 5, words[3] == "from" {
                    kernelOffset = UInt64(words[2].dropFirst(2), radix: 16)
                    linkBase = UInt64(words[4].dropFirst(2), radix: 16)
                }
            } else if t.hasPrefix("PHYS_OFFSET: ") {
                physOffset = UInt64(t.dropFirst("PHYS_OFFSET: 0x".count), radix: 16)
            } else if t.hasPrefix("Linux version "), version == nil {
                version = t
            }
        }
    }
}

public enum Booter {
    static func which(_ tool: String) -> String? {
        for dir in (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin").split(separator: ":") {
            let p = "\(dir)/\(tool)"
            if FileManager.default.isExecutableFile(atPath: p) { return p }
        }
        return nil
    }

    public static let uBootPath = "/usr/lib/u-boot/qemu_arm64/u-boot.bin"

    public static func boot(_ imagePath: String, _ o: BootOptions) throws(SlideKitError) -> BootResult {
        guard let qemu = which("qemu-system-aarch64") else {
            throw SlideKitError(imagePath, "qemu-system-aarch64 not found (Debian package qemu-system-arm)")
        }
        let k = try KernelImage.load(path: imagePath)
        guard let header = k.header else { throw SlideKitError(imagePath, "not an arm64 Image") }
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
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("slide-boot-\(getpid())-\(UUID().uuidString.prefix(8))")
        try? FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let cpu = o.cpu ?? QEMUCPU.defaultCPU(pageSize: header.flags.pageSize.bytes).name
        let linux = k.banner != nil
        // A Linux boot is judged against `slide kaslr`, which knows the CPUs in QEMUCPU.all only.
        if linux && QEMUCPU.named(cpu) == nil {
            throw SlideKitError(imagePath, "--cpu '\(cpu)': slide kaslr has no model of this CPU, so the boot could not be checked; use one of: \(QEMUCPU.names)")
        }
        let machine = ["-M", "virt,dtb-randomness=off", "-cpu", cpu, "-m", "\(o.memoryMiB)M", "-smp", "\(o.smp)"]

        // The DTB: QEMU's own for this machine, patched.
        let dtbPath = dir.appendingPathComponent("virt.dtb").path
        let dump = try run(qemu, machine + ["-M", "virt,dumpdtb=\(dtbPath)", "-nographic", "-net", "none"], timeout: 30)
        guard dump.status == 0, let raw = try? Data(contentsOf: URL(fileURLWithPath: dtbPath)) else {
            throw SlideKitError(imagePath, "qemu could not dump its DTB: \(dump.output.prefix(200))")
        }
        var dtb: FDTEditor
        do throws(SlideError) {
            dtb = try FDTEditor([UInt8](raw))
            if let seed = o.seed, o.loader != .uBoot {
                try dtb.setProperty(path: ["chosen"], name: "kaslr-seed", value: (0..<8).map { UInt8(truncatingIfNeeded: seed >> (56 - 8 * UInt64($0))) })
            }
            if let args = bootargs(o, linux: linux), o.loader != .uBoot {
                try dtb.setProperty(path: ["chosen"], name: "bootargs", value: Array(args.utf8) + [0])
            }
        } catch {
            throw SlideKitError(dtbPath, error)
        }

        var args = machine + ["-nographic", "-semihosting", "-net", "none", "-no-reboot"]
        if o.icount { args += ["-icount", "shift=0"] }
        var script: [(String, String)] = []
        switch o.loader {
        case .qemu:
            let patched = dir.appendingPathComponent("patched.dtb").path
            try Files.writeAtomically(try packed(dtb, dtbPath), to: patched)
            args += ["-kernel", imagePath, "-dtb", patched]
            if let initrd = o.initrd { args += ["-initrd", initrd] }
        case .direct:
            let dtbAddress = o.directDTBAddress
            var initrdRange: (UInt64, UInt64)? = nil
            if let initrd = o.initrd {
                let size = UInt64((try Files.read(initrd)).count)
                let start = o.directInitrdAddress(size: size)
                initrdRange = (start, start + size)
                args += ["-device", "loader,file=\(initrd),addr=\(hex(start)),force-raw=on"]
                do throws(SlideError) {
                    try dtb.setProperty(path: ["chosen"], name: "linux,initrd-start", value: be64(start))
                    try dtb.setProperty(path: ["chosen"], name: "linux,initrd-end", value: be64(start + size))
                } catch { throw SlideKitError(dtbPath, error) }
            }
            if let r = initrdRange, r.0 < pa + header.imageSize { throw SlideKitError(imagePath, "the initrd overlaps the image") }
            let patched = dir.appendingPathComponent("patched.dtb").path
            try Files.writeAtomically(try packed(dtb, dtbPath), to: patched)
            let trampoline = dir.appendingPathComponent("trampoline.bin").path
            try Files.writeAtomically(Trampoline.code(x0: dtbAddress, x1: o.registers.0, x2: o.registers.1, x3: o.registers.2, entry: pa),
                                      to: trampoline)
            args += ["-device", "loader,file=\(imagePath),addr=\(hex(pa)),force-raw=on",
                     "-device", "loader,file=\(patched),addr=\(hex(dtbAddress)),force-raw=on",
                     "-device", "loader,file=\(trampoline),addr=\(hex(BootOptions.trampolineAddress)),force-raw=on,cpu-num=0"]
        case .uBoot:
            guard FileManager.default.fileExists(atPath: uBootPath) else {
                throw SlideKitError(imagePath, "\(uBootPath) not found (Debian package u-boot-qemu)")
            }
            args += ["-bios", uBootPath, "-device", "loader,file=\(imagePath),addr=\(hex(pa)),force-raw=on"]
            var initrdArgument = "-"
            if let initrd = o.initrd {
                let size = UInt64((try Files.read(initrd)).count)
                let start = BootOptions.uBootInitrdAddress(imageAddress: pa, imageSize: header.imageSize)
                guard start + size <= o.ramEnd - BootOptions.uBootInitrdHeadroom else { throw SlideKitError(initrd, "no room for the initrd above the image") }
                args += ["-device", "loader,file=\(initrd),addr=\(hex(start)),force-raw=on"]
                initrdArgument = "\(hex(start)):\(hex(size))"
            }
            var commands = ["fdt addr ${fdtcontroladdr}", "fdt resize 512"]
            if let seed = o.seed { commands.append("fdt set /chosen kaslr-seed <\(hex(seed >> 32)) \(hex(seed & 0xffff_ffff))>") }
            commands.append("setenv bootargs '\(bootargs(o, linux: linux) ?? "")'")
            commands.append("booti \(hex(pa)) \(initrdArgument) ${fdtcontroladdr}")
            script = [("Hit any key to stop autoboot", "\n")] + commands.map { ("=> ", $0 + "\n") }
        }
        let r = try run(qemu, args, timeout: o.timeout, script: script)
        let report = r.output.split(whereSeparator: \.isNewline).compactMap { line -> (String, String)? in // "\r\n" is one Character
            let prefix = BootReportKey.prefix.description
            guard line.hasPrefix(prefix), let eq = line.firstIndex(of: "=") else { return nil }
            return (String(line[line.index(line.startIndex, offsetBy: prefix.count)..<eq]), String(line[line.index(after: eq)...]))
        }
        return BootResult(output: r.output, status: r.status, timedOut: r.timedOut, report: report,
                          linux: linux ? LinuxBootReport(r.output) : nil, cpu: cpu)
    }

    /// The command line. Linux gets its console on the PL011 and `panic=-1`, so a boot with no
    /// root file system ends (QEMU runs with -no-reboot) after printing the panic's layout lines.
    public static func bootargs(_ o: BootOptions, linux: Bool) -> String? {
        let console = linux && !(o.append ?? "").contains("console=") ? "console=ttyAMA0 panic=-1" : nil
        let parts = [console, o.append, o.nokaslr ? "nokaslr" : nil].compactMap { $0 }
        return parts.isEmpty ? nil : parts.joined(separator: " ")
    }

    static func packed(_ dtb: FDTEditor, _ path: String) throws(SlideKitError) -> [UInt8] {
        do throws(SlideError) { return try dtb.packed() } catch { throw SlideKitError(path, error) }
    }

    static func be64(_ v: UInt64) -> [UInt8] { (0..<8).map { UInt8(truncatingIfNeeded: v >> (56 - 8 * UInt64($0))) } }

    struct Run { var output: String; var status: Int32; var timedOut: Bool }

    /// Runs `tool`, answering each (prompt, reply) of `script` in order as the prompt appears.
    static func run(_ tool: String, _ args: [String], timeout: Double, script: [(String, String)] = []) throws(SlideKitError) -> Run {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: tool)
        p.arguments = args
        let out = Pipe(), input = Pipe()
        p.standardOutput = out
        p.standardError = out
        p.standardInput = input
        do { try p.run() } catch { throw SlideKitError(tool, "cannot start: \(error)") }
        let fd = out.fileHandleForReading.fileDescriptor
        var output = [UInt8]()
        var step = 0, searchFrom = 0
        let deadline = Date().addingTimeInterval(timeout)
        var timedOut = false
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            let ready = poll(&pfd, 1, 100)
            if ready > 0 {
                let n = read(fd, &buffer, buffer.count)
                if n <= 0 { break }
                output += buffer[0..<n]
                while step < script.count {
                    let text = String(decoding: output[searchFrom...], as: UTF8.self)
                    guard let range = text.range(of: script[step].0) else { break }
                    searchFrom += text[..<range.upperBound].utf8.count
                    usleep(100_000)
                    input.fileHandleForWriting.write(Data(script[step].1.utf8))
                    step += 1
                }
            }
            if Date() > deadline {
                // QEMU may not honour SIGTERM while its CPU thread spins: SIGKILL after a grace period.
                timedOut = true
                p.terminate()
                for _ in 0..<20 where p.isRunning { usleep(100_000) }
                if p.isRunning { kill(p.processIdentifier, SIGKILL) }
                break
            }
            if !p.isRunning && ready == 0 { break }
        }
        p.waitUntilExit()
        return Run(output: String(decoding: output, as: UTF8.self), status: timedOut ? -1 : p.terminationStatus, timedOut: timedOut)
    }
}

/// The direct loader's trampoline: `ldr x0-x3, =values; ldr x4, =entry; br x4` and its literal pool.
enum Trampoline {
    static func code(x0: UInt64, x1: UInt64, x2: UInt64, x3: UInt64, entry: UInt64) -> [UInt8] {
        var words: [UInt32] = []
        let literals = [x0, x1, x2, x3, entry]
        let poolStart = 8 // instructions: 5 loads, br, 2 padding → the pool at byte 32 (8-aligned)
        for (reg, _) in literals.enumerated() {
            let pc = words.count * 4, target = poolStart * 4 + reg * 8
            words.append(0x5800_0000 | UInt32((target - pc) / 4) << 5 | UInt32(reg))  // ldr x<reg>, literal
        }
        words.append(0xd61f_0080)   // br x4
        words.append(0xd503_201f)   // nop
        words.append(0xd503_201f)   // nop
        var bytes: [UInt8] = []
        for w in words { for i in 0..<4 { bytes.append(UInt8(truncatingIfNeeded: w >> (8 * UInt32(i)))) } }
        for v in literals { for i in 0..<8 { bytes.append(UInt8(truncatingIfNeeded: v >> (8 * UInt64(i)))) } }
        return bytes
    }
}
