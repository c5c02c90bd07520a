import ArgumentParser
import Foundation
import SlideCore
import SlideKit

struct Boot: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Boot an arm64 Image under qemu-system-aarch64 (virt) and return the kernel's exit status.",
        discussion: """
            Loaders: qemu (QEMU's -kernel: the Image at 0x40200000), u-boot (Debian's u-boot-qemu;
            the Image placed raw at --at, `booti` typed at its prompt), direct (Slide places the
            Image, the DTB and a trampoline that sets x0-x3: any --at aligned to the Image's page size, chosen x1-x3),
            efi (UEFI firmware, --firmware edk2 or u-boot, starts the Image as an EFI application and hands
            over QEMU's DTB; --rng on|off adds virtio-rng for EFI_RNG_PROTOCOL, --rng-file makes its bytes
            reproducible; a Linux Image's EFI stub then chooses its own physical slot).
            The DTB is QEMU's own, with no random seed; --seed writes /chosen/kaslr-seed.
            A Slide kernel's output is printed and its semihosting exit status returned.

            A Linux Image (one with a `Linux version` banner) is booted with
            `console=ttyAMA0 panic=-1` and no root file system, so it panics and prints
            its `Kernel Offset` and `PHYS_OFFSET` lines; they are printed beside what
            `slide kaslr` predicts for the same seed, CPU, load address and RAM, and
            the exit status is 0 when they agree (--console shows the kernel's log).
            Under --loader efi, Linux also prints its EFI memory map (efi=debug), and the
            physical address its EFI stub chose (read from /proc/iomem when an initrd
            prints it, else from the map) is checked against `slide kaslr --loader efi`;
            with --rng-file the stub's seeds are the file's bytes, so the slot, the
            Kernel Offset and PHYS_OFFSET are predicted exactly.

            Examples:
              slide boot Image
              slide boot Image --loader direct --at 0x48201000 --seed 0x1234
              slide boot Image --loader u-boot --at 0x45000000 --nokaslr
              slide boot vmlinuz --seed 0x123456789abcdef0 --cpu max --memory 2048
              slide boot vmlinuz --loader efi --rng-file rng.bin --save-efi-memmap m.txt
            """)

    @Option(help: "qemu, u-boot, direct or efi.") var loader: BootOptions.Loader = .qemu
    @Option(help: "efi: the UEFI firmware: edk2 (Debian's qemu-efi-aarch64) or u-boot (u-boot-qemu's bootefi; no --initrd).") var firmware: BootOptions.Firmware = .edk2
    @Option(help: "efi: a virtio-rng device for EFI_RNG_PROTOCOL (on or off; default on).") var rng: OnOff?
    @Option(name: .customLong("rng-file"), help: "efi: the virtio-rng device returns this file's bytes in order (reproducible boots; at least 4 KiB).")
    var rngFile: String?
    @Option(name: .customLong("save-efi-memmap"), help: "efi, Linux: write the EFI memory map the kernel printed (efi=debug) to this file, for slide kaslr --efi-memmap.")
    var saveEFIMemmap: String?
    @Option(parsing: .unconditional, help: "Physical load address (u-boot, direct).", transform: { try parseNumber($0) }) var at: UInt64?
    @Option(parsing: .unconditional, help: "KASLR seed written to /chosen/kaslr-seed.", transform: { try parseNumber($0) }) var seed: UInt64?
    @Flag(help: "Add nokaslr to the command line.") var nokaslr = false
    @Option(help: ArgumentHelp(memoryHelp + "; QEMU virt's RAM starts at 0x40000000 (default 1G)."), transform: { try parseMemory($0) })
    var memory = PhysicalRange(base: Numbers.defaultRAMBase, size: 1 << 30)
    @Option(help: "Number of CPUs.") var smp = 1
    @Option(help: "QEMU CPU model (default: cortex-a57, or max for a 16 KiB-page Image, which cortex-a57 cannot run; max has RNDR).")
    var cpu: String?
    @Option(help: "Kernel command line.") var append: String?
    @Option(help: "Initial ramdisk.") var initrd: String?
    @Option(help: "Seconds before the boot is stopped.") var timeout: Double = 60
    @Flag(help: "Run QEMU with -icount shift=0 (deterministic guest instruction counts; with --append slide.bench=1 the Slide kernel reports them).")
    var icount = false
    @Option(help: "x1,x2,x3 for the direct loader (comma-separated).") var registers: String?
    @Flag(help: "Print the kernel's report as JSON.") var json = false
    @Flag(help: "Linux: print the kernel's log too.") var console = false
    @Argument(help: "An arm64 Image: a Slide kernel, or Linux's Image or vmlinuz.") var image: String

    func validate() throws {
        guard memory.base == Numbers.defaultRAMBase else { throw ValidationError("--memory: QEMU virt's RAM starts at 0x40000000, not \(hex(memory.base))") }
        guard memory.size % (1 << 20) == 0, memory.size <= 1 << 40 else { throw ValidationError("--memory: QEMU takes whole MiB, at most 1T") }
        if seed != nil && nokaslr { throw ValidationError("--seed and --nokaslr exclude each other") }
        if at != nil && loader == .qemu { throw ValidationError("--at needs --loader u-boot or direct (QEMU's -kernel chooses the address)") }
        if registers != nil && loader != .direct { throw ValidationError("--registers needs --loader direct") }
        if loader != .efi && (rng != nil || rngFile != nil || saveEFIMemmap != nil) {
            throw ValidationError("--rng, --rng-file and --save-efi-memmap need --loader efi")
        }
        if loader == .efi && seed != nil { throw ValidationError("--seed: under --loader efi the kernel's EFI stub writes /chosen/kaslr-seed from the firmware's RNG (use --rng-file)") }
        if rng == .off && rngFile != nil { throw ValidationError("--rng-file needs --rng on") }
    }

    func run() throws {
        var status: Int32 = 0
        try reportingErrors { () throws(SlideKitError) in
            var o = BootOptions()
            o.loader = loader; o.at = at; o.seed = seed; o.nokaslr = nokaslr; o.memoryMiB = Int(memory.size >> 20); o.smp = smp
            o.cpu = cpu; o.append = append; o.initrd = initrd; o.timeout = timeout; o.icount = icount
            o.firmware = firmware; o.rng = rng != .off; o.rngFile = rngFile
            if let registers {
                let v = try registers.split(separator: ",").map { (s) throws(SlideKitError) -> UInt64 in
                    guard let n = try? parseNumber(String(s)) else { throw SlideKitError(image, "--registers: '\(s)' is not a number") }
                    return n
                }
                guard v.count == 3 else { throw SlideKitError(image, "--registers takes three values: x1,x2,x3") }
                o.registers = (v[0], v[1], v[2])
            }
            let r = try Booter.boot(image, o)
            if let linux = r.linux, loader == .efi {
                status = try efiLinux(linux, r, o)
                return
            }
            if let linux = r.linux {
                status = try compare(linux, r, o)
                return
            }
            let efiRows = loader == .efi ? try slideEFIRows(r, o) : []
            if json {
                emit(r.document(image: image, loader: loader).rendered() + "\n")
            } else {
                emit(r.output)
                if !efiRows.isEmpty { emit("The Slide EFI stub beside SlideEFIModel:\n") }
                for row in efiRows { emit("  " + row.what.padded(to: 44) + row.predicted.padded(to: 22) + " " + row.printed.padded(to: 22) + (row.agree ? " agree" : " DIFFER") + "\n") }
            }
            if r.timedOut { throw SlideKitError(image, "no exit within \(timeout) s") }
            status = r.status
            if status == 0 && efiRows.contains(where: { !$0.agree }) {
                FileHandle.standardError.write(Data("slide: error: '\(image)': the EFI stub's slot differs from the model's\n".utf8))
                status = 1
            }
        }
        if status != 0 { throw ExitCode(status) }
    }
}
extension Boot {
    /// A Linux boot is judged by its `Kernel Offset` line: refused without one.
    func requireOffsetPrinted(_ linux: LinuxBootReport, _ r: BootResult) throws(SlideKitError) {
        guard linux.offsetPrinted else {
            throw SlideKitError(image, r.timedOut ? "no `Kernel Offset` line within \(timeout) s (--timeout, --console)"
                                : "the kernel ended without printing `Kernel Offset` (--console shows its log)")
        }
    }

    /// A Linux boot's printed layout beside `slide kaslr`'s prediction; 0 when they agree.
    func compare(_ linux: LinuxBootReport, _ r: BootResult, _ o: BootOptions) throws(SlideKitError) -> Int32 {
        if console { emit(r.output) }
        try requireOffsetPrinted(linux, r)
        var q = KASLRQuery()
        q.seed = o.seed ?? 0
        guard let cpu = QEMUCPU.named(r.cpu) else { throw SlideKitError(image, "--cpu '\(r.cpu)' has no KASLR model") }
        q.cpu = cpu
        q.loadPA = o.imageAddress
        q.memory = [(BootOptions.ramBase, UInt64(o.memoryMiB) << 20)]
        q.commandLine = Booter.bootargs(o, linux: true) ?? ""
        let p: KASLRPrediction
        do throws(SlideKitError) {
            p = try KASLRPredictor.predict(try KernelImage.load(path: image), q)
        } catch {
            // No model for this Image: what the kernel printed is still the boot's result.
            let reason = error.message
            if json {
                emit(KASLRPrediction.unpredictedBootDocument(image: image, boot: linux, cpu: q.cpu.name, seed: q.seed, reason: reason).rendered() + "\n")
            } else {
                emit("Linux \(linux.version ?? "?") on \(q.cpu.name), seed \(o.seed.map { hex($0) } ?? "none"): no prediction (\(reason))\n")
                for (what, printed) in KASLRPrediction.printedLines(linux) { emit(what.padded(to: 15) + printed + "\n") }
            }
            return 0
        }
        let rows = p.compare(linux)
        let agree = rows.allSatisfy(\.agree)
        if json {
            emit(p.bootDocument(image: image, boot: linux, cpu: q.cpu.name, seed: q.seed).rendered() + "\n")
        } else {
            emit("Linux \(p.version ?? "?") on \(q.cpu.name), seed \(o.seed.map { hex($0) } ?? "none"), model \(p.model)\n")
            let w0 = 15, w1 = max(24, rows.map(\.predicted.count).max() ?? 0) + 2, w2 = max(24, rows.map(\.printed.count).max() ?? 0) + 2
            func pad(_ s: String, _ n: Int) -> String { s.padded(to: n) }
            emit(pad("", w0) + pad("slide kaslr predicts", w1) + pad("the kernel printed", w2) + "\n")
            for row in rows { emit(pad(row.what, w0) + pad(row.predicted, w1) + pad(row.printed, w2) + (row.agree ? "agree" : "DIFFER") + "\n") }
        }
        if !agree { FileHandle.standardError.write(Data("slide: error: '\(image)': the kernel's layout differs from the model's\n".utf8)) }
        return agree ? 0 : 1
    }
}

extension BootOptions.Loader: ExpressibleByArgument {}
extension BootOptions.Firmware: ExpressibleByArgument {}

/// `--rng on|off`.
enum OnOff: String, ExpressibleByArgument { case on, off }

extension Boot {
    /// A Linux Image booted through UEFI: where the EFI stub put it and the layout it printed,
    /// beside the stub model and `slide kaslr`; 0 when they agree.
    func efiLinux(_ linux: LinuxBootReport, _ r: BootResult, _ o: BootOptions) throws(SlideKitError) -> Int32 {
        if console { emit(r.output) }
        try requireOffsetPrinted(linux, r)
        guard let cpu = QEMUCPU.named(r.cpu) else { throw SlideKitError(image, "--cpu '\(r.cpu)' has no KASLR model") }
        let e = EFILinuxBoot.judge(try KernelImage.load(path: image), output: r.output, boot: linux, options: o, cpu: cpu)
        if let path = saveEFIMemmap {
            guard !e.mapLines.isEmpty else { throw SlideKitError(image, "--save-efi-memmap: the kernel printed no EFI memory map (efi=debug)") }
            try Files.writeAtomically(Array((e.mapLines.joined(separator: "\n") + "\n").utf8), to: path)
        }
        let rng = o.rng ? (o.rngFile.map { "file \($0)" } ?? "virtio-rng") : "off"
        if json {
            emit(JSON.object([
                ("schema", .string(jsonSchemaVersion)), ("image", .string(image)), ("kernel", .string(linux.version ?? "")),
                ("loader", .string("efi")), ("firmware", .string(o.firmware.rawValue)), ("cpu", .string(r.cpu)), ("rng", .string(rng)),
                ("slot_seed", e.slotSeed.map { .hex(UInt64($0)) } ?? .null), ("kaslr_seed", e.kaslrSeed.map { .hex($0) } ?? .null),
                ("physical_address", e.physicalText.map { .hex($0) } ?? .null), ("physical_address_source", .string(e.physicalTextSource)),
                ("efi_memmap_regions", .int(e.map.count)), ("stub", e.stub?.json(file: image) ?? .null),
                ("agree", .bool(e.agree)),
                ("lines", .array(e.rows.map { .object([("what", .string($0.what)), ("predicted", .string($0.predicted)),
                                                       ("printed", .string($0.printed)), ("agree", .bool($0.agree))]) })),
            ]).rendered() + "\n")
        } else {
            emit("Linux \(linux.version ?? "?") on \(r.cpu) through \(o.firmware.rawValue), RNG \(rng)\n")
            if let s = e.slotSeed, let k = e.kaslrSeed { emit("The stub's seeds: slot \(hex(UInt64(s))), kaslr-seed \(hex(k))\n") }
            if let p = e.stub { emit("EFI stub model \(p.model): \(p.total) candidate slots (\(String(format: "%.2f", p.entropyBits)) bits), \(hex(p.alloc.align))-aligned\n") }
            for row in e.rows { emit(row.what.padded(to: 15) + row.predicted.padded(to: 44) + " " + row.printed.padded(to: 30) + (row.agree ? " agree" : " DIFFER") + "\n") }
        }
        if !e.agree { FileHandle.standardError.write(Data("slide: error: '\(image)': the boot differs from the model's prediction\n".utf8)) }
        return e.agree ? 0 : 1
    }
}

extension Boot {
    /// A Slide Image booted through UEFI: its stub's slot checked against SlideEFIModel (SlideEFIBoot).
    func slideEFIRows(_ r: BootResult, _ o: BootOptions) throws(SlideKitError) -> [(what: String, predicted: String, printed: String, agree: Bool)] {
        let k = try KernelImage.load(path: image)
        guard let header = k.header, let page = header.flags.pageSize.bytes else { return [] }
        let granule: Granule = page == 65536 ? .k64 : page == 16384 ? .k16 : .k4
        let rng = try o.rngFile.map { (f) throws(SlideKitError) in try Files.read(f) }
        return SlideEFIBoot.compare(r, imageSize: header.imageSize, granule: granule, rngBytes: o.rng ? rng : nil,
                                    commandLine: Booter.bootargs(o, linux: false) ?? "")
    }
}
