// `slide kaslr --loader efi` and `slide boot --loader efi` as a user meets them: usage errors,
// a bad map named by file and line, and refusals where no model or no slot is established.

import Foundation
import Testing
import SlideCore
@testable import SlideKit

@Suite struct EFICommandLine {
    @Test(arguments: [
        ["kaslr", "x", "--loader", "efi"],
        ["kaslr", "x", "--efi-memmap", "m"],
        ["kaslr", "x", "--loader", "efi", "--efi-memmap", "m", "--efi-memmap-before-slot", "--efi-kernel-at", "0x40000000"],
        ["boot", "x", "--rng-file", "r"],
        ["boot", "x", "--loader", "efi", "--seed", "1"],
        ["boot", "x", "--loader", "efi", "--rng", "off", "--rng-file", "r"],
        ["boot", "x", "--loader", "efi", "--firmware", "coreboot"],
    ])
    func usageErrors(_ args: [String]) throws {
        let r = try slide(args)
        #expect(r.status == 64 && r.stderr.hasPrefix("slide: error: ") && r.stderr.split(separator: "\n").count == 1, "\(r.stderr)")
    }
}

@Suite(.enabled(if: DebianSuite.present.contains { $0.suite == "bookworm" } && DebianSuite.present.contains { $0.suite == "bullseye" },
                "needs Debian's bookworm and bullseye kernels (scripts/fetch-testdata)"))
struct EFIKASLRCommand {
    let bookworm = DebianSuite.load("bookworm")!.kernel
    let map61 = repoRoot.appendingPathComponent("Tests/Fixtures/efi/bookworm-6.1-edk2.memmap").path

    @Test func slotForASeed() throws {
        let r = try slide("kaslr", bookworm, "--loader", "efi", "--efi-memmap", map61, "--efi-seed", "0xcdd89122")
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("12730 slots (13.64 bits) in 3 regions"))
        #expect(r.stdout.contains("Physical address  0x6c8d0000 (slot 10236 of 12730)"))
        #expect(r.stdout.contains("Given back        0x6c8d0000-0x6e8dffff"))
        // Without a seed: the candidates only.
        let j = try jsonObject(try slide("kaslr", bookworm, "--loader", "efi", "--efi-memmap", map61, "--json").stdout)
        #expect(j["candidates"] as? Int == 12730 && j["physical_address"] is NSNull && j["alignment"] as? String == "0x10000")
    }

    @Test func bootRefusesAnImageTheFirmwareCannotStart() throws {
        // The same Image without its PE header offset (res5, at 0x3c): no EFI application.
        var bytes = try Data(contentsOf: URL(fileURLWithPath: bookworm))
        bytes.replaceSubrange(0x3c..<0x40, with: Data(count: 4))
        let path = temporaryDirectory("efi-nope").appendingPathComponent("Image").path
        try bytes.write(to: URL(fileURLWithPath: path))
        let r = try slide("boot", path, "--loader", "efi")
        #expect(r.status == 1 && r.stderr.contains("not a PE/COFF Image") && r.stderr.split(separator: "\n").count == 1, "\(r.stderr)")
    }

    @Test func badMapIsOneLineNamingFileAndLine() throws {
        let dir = temporaryDirectory("efi-map")
        let bad = dir.appendingPathComponent("bad.txt").path
        try "efi:   0x000040000000-0x000043ffffff [Conventional|WB]\nefi:   0x000044000000-0x000044ffffff [Conventional|ZZ]\n"
            .write(toFile: bad, atomically: true, encoding: .utf8)
        let r = try slide("kaslr", bookworm, "--loader", "efi", "--efi-memmap", bad)
        #expect(r.status == 1 && r.stdout.isEmpty && r.stderr == "slide: error: '\(bad)': line 2: unknown attribute 'ZZ'\n", "\(r.stderr)")
    }

    @Test func refusesWhatItCannotEstablish() throws {
        let dir = temporaryDirectory("efi-refuse")
        // A map with no slot of the stub's: refused unless said to be the map before the stub ran.
        let plain = dir.appendingPathComponent("plain.txt").path
        try "efi:   0x000040000000-0x00007fffffff [Conventional|WB]\n".write(toFile: plain, atomically: true, encoding: .utf8)
        let r = try slide("kaslr", bookworm, "--loader", "efi", "--efi-memmap", plain)
        #expect(r.status == 1 && r.stderr.contains("no Loader Code region of the kernel's 0x2010000 bytes"), "\(r.stderr)")
        let before = try jsonObject(try slide("kaslr", bookworm, "--loader", "efi", "--efi-memmap", plain, "--efi-memmap-before-slot", "--json").stdout)
        #expect(before["candidates"] as? Int == (0x4000_0000 - 0x201_0000) / 0x1_0000 + 1)
        // Linux's stub reads a 32-bit seed.
        let wide = try slide("kaslr", bookworm, "--loader", "efi", "--efi-memmap", map61, "--efi-seed", "0x100000000")
        #expect(wide.status != 0 && wide.stderr.contains("32") && wide.stdout.isEmpty, "\(wide.stderr)")
        // nokaslr: the stub draws nothing.
        let n = try slide("kaslr", bookworm, "--loader", "efi", "--efi-memmap", plain, "--efi-memmap-before-slot", "--append", "nokaslr")
        #expect(n.status == 1 && n.stderr.contains("nokaslr: the EFI stub draws no slot"))
        // A version no stub model covers: refused, naming the missing model.
        var bytes = try Data(contentsOf: URL(fileURLWithPath: DebianSuite.load("bullseye")!.kernel))
        let at = try #require(bytes.range(of: Data("Linux version 5.10.0".utf8)))
        bytes.replaceSubrange(at, with: Data("Linux version 4.19.0".utf8))
        let old = dir.appendingPathComponent("vmlinuz-4.19").path
        try bytes.write(to: URL(fileURLWithPath: old))
        let o = try slide("kaslr", old, "--loader", "efi", "--efi-memmap", plain, "--efi-memmap-before-slot")
        #expect(o.status == 1 && o.stderr.contains("Linux 4.19: no EFI stub model (efi_random_alloc is modelled from 5.10 on)"), "\(o.stderr)")
    }
}
