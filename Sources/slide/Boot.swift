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
            Image, the DTB and a trampoline that sets x0-x3: any 4 KiB-aligned --at, chosen x1-x3).
            The DTB is QEMU's own, with no random seed; --seed writes /chosen/kaslr-seed.
            The kernel's output is printed; its semihosting exit status is returned.

            Examples:
              slide boot Image
              slide boot Image --loader direct --at 0x48201000 --seed 0x1234
              slide boot Image --loader u-boot --at 0x45000000 --nokaslr
            """)

    @Option(help: "qemu, u-boot or direct.") var loader: BootOptions.Loader = .qemu
    @Option(help: "Physical load address (u-boot, direct).", transform: { try parseNumber($0) }) var at: UInt64?
    @Option(help: "KASLR seed written to /chosen/kaslr-seed.", transform: { try parseNumber($0) }) var seed: UInt64?
    @Flag(help: "Add nokaslr to the command line.") var nokaslr = false
    @Option(help: "RAM size in MiB.") var memory = 1024
    @Option(help: "Number of CPUs.") var smp = 1
    @Option(help: "QEMU CPU model (default: cortex-a57, or max for a 16 KiB-page Image, which cortex-a57 cannot run; max has RNDR).")
    var cpu: String?
    @Option(help: "Kernel command line.") var append: String?
    @Option(help: "Initial ramdisk.") var initrd: String?
    @Option(help: "Seconds before the boot is stopped.") var timeout: Double = 60
    @Option(help: "x1,x2,x3 for the direct loader (comma-separated).") var registers: String?
    @Flag(help: "Print the kernel's report as JSON.") var json = false
    @Argument(help: "The Image.") var image: String

    func validate() throws {
        if seed != nil && nokaslr { throw ValidationError("--seed and --nokaslr exclude each other") }
        if at != nil && loader == .qemu { throw ValidationError("--at needs --loader u-boot or direct (QEMU's -kernel chooses the address)") }
        if registers != nil && loader != .direct { throw ValidationError("--registers needs --loader direct") }
    }

    func run() throws {
        var status: Int32 = 0
        try reportingErrors { () throws(SlideKitError) in
            var o = BootOptions()
            o.loader = loader; o.at = at; o.seed = seed; o.nokaslr = nokaslr; o.memoryMiB = memory; o.smp = smp
            o.cpu = cpu; o.append = append; o.initrd = initrd; o.timeout = timeout
            if let registers {
                let v = try registers.split(separator: ",").map { (s) throws(SlideKitError) -> UInt64 in
                    guard let n = try? parseNumber(String(s)) else { throw SlideKitError(image, "--registers: '\(s)' is not a number") }
                    return n
                }
                guard v.count == 3 else { throw SlideKitError(image, "--registers takes three values: x1,x2,x3") }
                o.registers = (v[0], v[1], v[2])
            }
            let r = try Booter.boot(image, o)
            if json {
                emit(JSON.object([
                    ("schema", .string(jsonSchemaVersion)), ("image", .string(image)), ("loader", .string(loader.rawValue)),
                    ("status", .int(Int(r.status))), ("timed_out", .bool(r.timedOut)),
                    ("report", .object(r.report.map { ($0.0, .string($0.1)) })),
                ]).rendered() + "\n")
            } else {
                emit(r.output)
            }
            if r.timedOut { throw SlideKitError(image, "no exit within \(timeout) s") }
            status = r.status
        }
        if status != 0 { throw ExitCode(status) }
    }
}
extension BootOptions.Loader: ExpressibleByArgument {}
