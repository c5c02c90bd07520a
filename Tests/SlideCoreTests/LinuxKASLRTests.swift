// The Linux KASLR formulas against figures real kernels printed (Debian's 5.10.223, 6.1.192,
// 6.12.118 and 7.2.13 booted under QEMU 7.2 with these seeds, `-m 2G`, loaded at 0x40200000;
// docs/linux-kaslr.md has the boots) and against the constants worked out by hand.
// make test boots the kernels again (SlideKitTests LinuxKASLRBoots); these rows need no QEMU.

import Testing
@testable import SlideCore

@Suite struct LinuxKASLRFormulas {
    static let a57 = LinuxCPU(paBits: 44, lpa2: false, rndr: false)
    static let a53 = LinuxCPU(paBits: 40, lpa2: false, rndr: false)
    static let n1 = LinuxCPU(paBits: 48, lpa2: false, rndr: false)
    static let max = LinuxCPU(paBits: 52, lpa2: true, rndr: true)
    static let a76 = LinuxCPU(paBits: 40, lpa2: false, rndr: false)
    static let s1: UInt64 = 0x1234_5678_9abc_def0, s2: UInt64 = 0x0fed_cba9_8765_4321, sF = UInt64.max

    struct Row: CustomTestStringConvertible, Sendable {
        var kernel: String, cpu: LinuxCPU, seed: UInt64, offset: UInt64, physOffset: UInt64
        var testDescription: String { "\(kernel) \(cpu.paBits)-bit PA\(cpu.lpa2 ? " LPA2" : "") seed \(hex(seed))" }
    }

    static let rows: [Row] = [
        Row(kernel: "5.10", cpu: a57, seed: s1, offset: 0x3678_9aa0_0000, physOffset: 0xffff_f6e6_8000_0000),
        Row(kernel: "5.10", cpu: a57, seed: s2, offset: 0x2ba9_8760_0000, physOffset: 0xffff_f80a_0000_0000),
        Row(kernel: "5.10", cpu: a57, seed: sF, offset: 0x5fff_ffe0_0000, physOffset: 0xffff_8001_4000_0000),
        Row(kernel: "6.1", cpu: a57, seed: s1, offset: 0x3678_9aa0_0000, physOffset: 0xffff_9e77_4000_0000),
        Row(kernel: "6.1", cpu: a53, seed: s1, offset: 0x3678_9aa0_0000, physOffset: 0xffff_9167_4000_0000),
        Row(kernel: "6.1", cpu: n1, seed: s1, offset: 0x3678_9aa0_0000, physOffset: 0x4000_0000),
        Row(kernel: "6.12", cpu: a57, seed: s1, offset: 0x23fa_aa40_0000, physOffset: 0xfff0_9e77_4000_0000),
        Row(kernel: "6.12", cpu: a57, seed: s2, offset: 0x236b_4f00_0000, physOffset: 0xfff0_e2a2_0000_0000),
        Row(kernel: "6.12", cpu: a57, seed: sF, offset: 0x5e7f_6f80_0000, physOffset: 0xfff0_9000_c000_0000),
        Row(kernel: "6.12", cpu: a53, seed: s1, offset: 0x23fa_aa40_0000, physOffset: 0xfff0_9167_4000_0000),
        Row(kernel: "6.12", cpu: n1, seed: s1, offset: 0x23fa_aa40_0000, physOffset: 0xfff1_0000_4000_0000),
        Row(kernel: "6.12", cpu: max, seed: s1, offset: 0x12d8_8820_0000, physOffset: 0x4000_0000),
        Row(kernel: "6.12", cpu: max, seed: s2, offset: 0x128d_7120_0000, physOffset: 0x4000_0000),
        Row(kernel: "6.12", cpu: max, seed: sF, offset: 0x317f_6f80_0000, physOffset: 0x4000_0000),
        Row(kernel: "7.2", cpu: a57, seed: s1, offset: 0x23fa_aa40_0000, physOffset: 0xfff1_0000_4000_0000),
        Row(kernel: "7.2", cpu: max, seed: s1, offset: 0x12d8_8820_0000, physOffset: 0x4000_0000),
        // Debian's 6.12.118 -arm64-16k (16 KiB pages, VA_BITS 52, VA_BITS_MIN 47), 2026-12-04.
        Row(kernel: "6.12-16k", cpu: max, seed: s1, offset: 0xdc6_f7a0_0000, physOffset: 0x4000_0000),
        Row(kernel: "6.12-16k", cpu: max, seed: s2, offset: 0xd90_12a0_0000, physOffset: 0x4000_0000),
        Row(kernel: "6.12-16k", cpu: a76, seed: s1, offset: 0x1234_0d40_0000, physOffset: 0xfff0_4923_4000_0000),
        Row(kernel: "6.12-16k", cpu: a76, seed: s2, offset: 0x11eb_8580_0000, physOffset: 0xfff0_6f7b_4000_0000),
    ]

    static func inputs(_ kernel: String, cpu: LinuxCPU, seed: UInt64, disabled: Bool = false, loadPA: UInt64 = 0x4020_0000) -> LinuxKASLRInputs {
        let (vaBits, linkBase, size): (Int, UInt64, UInt64) = switch kernel {
        case "6.12-16k": (52, 0xffff_c000_8000_0000, 0x25b_0000)
        case "5.10": (48, 0xffff_8000_1000_0000, 0x1ad_0000)
        case "6.1": (48, 0xffff_8000_0800_0000, 0x201_0000)
        case "6.12": (52, 0xffff_8000_8000_0000, 0x251_0000)
        default: (52, 0xffff_8000_8000_0000, 0x2f0_0000)
        }
        let k16 = kernel.hasSuffix("-16k")
        return LinuxKASLRInputs(seed: seed, disabled: disabled, cpu: cpu, vaBits: vaBits, vaBitsMin: k16 ? 47 : 48, linkBase: linkBase, imageSize: size,
                                stextOffset: 0x1_0000, etextOffset: nil, loadPA: loadPA, ramLow: 0x4000_0000, ramHigh: 0xc000_0000,
                                granule: k16 ? .k16 : .k4)
    }

    static func layout(_ kernel: String, _ i: LinuxKASLRInputs) -> LinuxKASLRLayout {
        switch kernel {
        case "5.10": Linux510KASLR.layout(i)
        case "6.1": Linux61KASLR.layout(i)
        case "6.12", "6.12-16k": Linux69KASLR.layout(i)
        default: Linux616KASLR.layout(i)
        }
    }

    @Test(arguments: rows)
    func printedByTheKernel(_ r: Row) {
        let l = Self.layout(r.kernel, Self.inputs(r.kernel, cpu: r.cpu, seed: r.seed))
        #expect(l.seedSource == .fdt)
        #expect(l.offset == .exact(r.offset))
        #expect(l.physOffset == .exact(r.physOffset))
    }

    /// VMALLOC_END by hand (pgtable.h, 6.12): VMEMMAP_START = -1 GiB - (2^52 - 2^47) / 4096 · 64.
    @Test func vmallocEnd() {
        #expect(Linux69KASLR.vmallocEnd(vaBits: 52, vaBitsMin: 48, vaActual: 52, pageShift: 12) == 0xffff_c1ff_bf80_0000)
        #expect(Linux69KASLR.vmallocEnd(vaBits: 52, vaBitsMin: 48, vaActual: 48, pageShift: 12) == 0xffff_fdff_bf80_0000)
        // 16 KiB pages: VMEMMAP_START = -1 GiB - (2^52 - 2^46) / 16384 · 64; running 47-bit adds (2^52 - 2^47) / 256.
        #expect(Linux69KASLR.vmallocEnd(vaBits: 52, vaBitsMin: 47, vaActual: 52, pageShift: 14) == 0xffff_f03f_bf80_0000)
        #expect(Linux69KASLR.vmallocEnd(vaBits: 52, vaBitsMin: 47, vaActual: 47, pageShift: 14) == 0xffff_ffbf_bf80_0000)
    }

    /// The load address's offset within 2 MiB is kept; kimage_voffset stays 2 MiB-aligned.
    @Test(arguments: ["5.10", "6.1", "6.12", "7.2"])
    func misalignmentIsKept(_ kernel: String) {
        let l = Self.layout(kernel, Self.inputs(kernel, cpu: Self.a57, seed: Self.s1, loadPA: 0x4021_0000))
        let aligned = Self.layout(kernel, Self.inputs(kernel, cpu: Self.a57, seed: Self.s1))
        #expect(l.offset.exact == aligned.offset.exact.map { $0 | 0x1_0000 })
        // nokaslr still prints the misalignment as the offset.
        #expect(Self.layout(kernel, Self.inputs(kernel, cpu: Self.a57, seed: Self.s1, disabled: true, loadPA: 0x4021_0000)).offset == .exact(0x1_0000))
    }

    /// Entropy: 2^25 slots for 5.10/6.1; 6.12's range depends on the VA size; 16 bits of linear map
    /// when the PA is small enough, none when it is not, none at all from 6.16.
    @Test func entropy() {
        let e510 = Self.layout("5.10", Self.inputs("5.10", cpu: Self.a57, seed: 1))
        #expect(e510.imageEntropy == 25 && e510.physEntropy == 16)
        let e612 = Self.layout("6.12", Self.inputs("6.12", cpu: Self.a57, seed: 1))
        #expect(abs(e612.imageEntropy - 24.977) < 0.01 && e612.physEntropy == 16)
        let e612max = Self.layout("6.12", Self.inputs("6.12", cpu: Self.max, seed: 1))
        #expect(abs(e612max.imageEntropy - 24.044) < 0.01 && e612max.physEntropy == 0)
        #expect(Self.layout("6.1", Self.inputs("6.1", cpu: Self.n1, seed: 1)).physEntropy == 0)
        #expect(Self.layout("7.2", Self.inputs("7.2", cpu: Self.a57, seed: 1)).physEntropy == 0)
        #expect(LinuxKASLR.bits(3) > 1.584 && LinuxKASLR.bits(3) < 1.585)
    }

    /// RNDR: 6.x uses it only without a DTB seed; 5.10 mixes it in always (not reproducible).
    @Test func randomAtBoot() {
        #expect(Self.layout("6.12", Self.inputs("6.12", cpu: Self.max, seed: Self.s1)).seedSource == .fdt)
        let none = Self.layout("6.12", Self.inputs("6.12", cpu: Self.max, seed: 0))
        #expect(none.seedSource == .rndr)
        guard case .within(let low, let high) = none.offset else { Issue.record("no range"); return }
        #expect(low == 0x107f_cfe0_0000 && high == 0x317f_6f80_0000)
        #expect(Self.layout("5.10", Self.inputs("5.10", cpu: Self.max, seed: Self.s1)).seedSource == .rndr)
        #expect(Self.layout("6.1", Self.inputs("6.1", cpu: Self.a57, seed: 0)).offset == .exact(0))
    }

    /// The command-line rules differ: 5.10/6.1 take the first "nokaslr" substring, 6.9+ whole tokens.
    @Test func commandLines() {
        #expect(Linux61KASLR.disables(commandLine: "nokaslrfoo") && !Linux61KASLR.disables(commandLine: "xnokaslr nokaslr"))
        #expect(!Linux69KASLR.disables(commandLine: "nokaslrfoo") && Linux69KASLR.disables(commandLine: "xnokaslr nokaslr"))
        #expect(Linux69KASLR.disables(commandLine: "console=ttyAMA0 arm64_sw.nokaslr=1"))
    }
}
