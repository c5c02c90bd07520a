// The running kernel as the oracle: each Debian kernel booted under QEMU prints its own
// /proc/kallsyms (busybox in an initramfs, `nokaslr`, so the addresses are the link-time ones),
// and `slide symbols` on the same file must print exactly those lines.

import Foundation
import Testing
import SlideCore
@testable import SlideKit

/// A newc initramfs whose /init (a busybox shell script) prints /proc/kallsyms between markers
/// and powers off. Built once per run with cpio from Debian's busybox-static:arm64.
enum KallsymsInitramfs {
    static let busybox = repoRoot.appendingPathComponent("testdata/debian/busybox/bin/busybox").path
    static var available: Bool { FileManager.default.isExecutableFile(atPath: busybox) && QEMUProcess.which("qemu-system-aarch64") != nil }
    static let begin = "slide-kallsyms: begin", end = "slide-kallsyms: end"

    static let path: Result<String, FixtureError> = busyboxInitramfs("kallsyms-initramfs", script: """
        #!/bin/busybox sh
        /bin/busybox mkdir -p /proc
        /bin/busybox mount -t proc proc /proc
        echo "\(begin)"
        /bin/busybox cat /proc/kallsyms
        echo "\(end)"
        /bin/busybox poweroff -f

        """)

    /// A newc initramfs of Debian's busybox and `script` as /init, built with cpio in a
    /// temporary directory named `name`.
    static func busyboxInitramfs(_ name: String, script: String) -> Result<String, FixtureError> {
        let dir = temporaryDirectory(name)
        let root = dir.appendingPathComponent("root")
        do {
            try FileManager.default.createDirectory(at: root.appendingPathComponent("bin"), withIntermediateDirectories: true)
            try FileManager.default.copyItem(atPath: busybox, toPath: root.appendingPathComponent("bin/busybox").path)
            let initPath = root.appendingPathComponent("init").path
            try script.write(toFile: initPath, atomically: true, encoding: .utf8)
            try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: initPath)
            let out = dir.appendingPathComponent("initrd.cpio").path
            let r = try run("sh", ["-c", "cd '\(root.path)' && find . | LC_ALL=C sort | cpio --quiet -o -H newc -R 0:0 > '\(out)'"])
            guard r.status == 0 else { return .failure(FixtureError(message: "cpio failed: \(r.stderr)")) }
            return .success(out)
        } catch {
            return .failure(FixtureError(message: "initramfs: \(error)"))
        }
    }

    /// The core kernel's lines of /proc/kallsyms (module, BPF and ftrace entries carry a
    /// `[owner]` column and are left out), exactly as printed.
    static func kallsyms(of kernel: String) throws -> (lines: [String], output: String) {
        var o = BootOptions()
        o.initrd = try path.get()
        o.append = "nokaslr rdinit=/init"
        o.timeout = 180
        let r = try Booter.boot(kernel, o)
        let lines = r.output.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }
        guard let from = lines.firstIndex(of: begin), let to = lines.lastIndex(of: end), from < to else {
            return ([], String(r.output.suffix(3000)))
        }
        return (lines[(from + 1)..<to].filter { !$0.contains("[") }, String(r.output.suffix(1000)))
    }
}

@Suite(.serialized, .enabled(if: !DebianSuite.present.isEmpty && KallsymsInitramfs.available,
                             "needs the Debian kernels, busybox (scripts/fetch-testdata) and qemu-system-aarch64"))
struct RunningKernelSymbols {
    @Test(arguments: DebianSuite.present)
    func symbolsAreTheRunningKernels(_ s: DebianSuite) throws {
        let truth = try KallsymsInitramfs.kallsyms(of: s.kernel)
        #expect(truth.lines.count > 30_000, "the kernel printed its symbols: \(truth.output)")
        let ours = try slide("symbols", s.kernel)
        #expect(ours.status == 0, "\(ours.stderr)")
        let lines = ours.stdout.split(separator: "\n").map(String.init)
        #expect(lines.count == truth.lines.count)
        // Same lines in the same order (kallsyms' own order, by address).
        let firstDifference = zip(lines, truth.lines).enumerated().first { $0.element.0 != $0.element.1 }
        #expect(firstDifference == nil, "line \(firstDifference?.offset ?? 0): slide '\(firstDifference?.element.0 ?? "")', kernel '\(firstDifference?.element.1 ?? "")'")
        // The kernel's own _stext is among them, inside the image at the link base the Image says.
        let k = try KernelImage.load(path: s.kernel)
        let stext = try #require(truth.lines.first { $0.hasSuffix(" T _stext") }.flatMap { UInt64($0.prefix(16), radix: 16) })
        #expect(stext >= k.linkBase && stext < k.linkBase + (k.header?.imageSize ?? 0))
    }
}
