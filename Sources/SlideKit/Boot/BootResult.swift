// What a boot printed: the Slide kernel's `slide: key=value` report, or Linux's layout lines.

import Foundation
import SlideCore

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
