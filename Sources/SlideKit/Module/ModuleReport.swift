// Reports for `slide link-module`: one module, or a summary over many.

import Foundation
import SlideCore

public enum ModuleReport {
    public static func text(_ m: LinkedModule) -> String {
        var out = "module \(m.name): core \(hex(m.coreBase)) (\(m.core.count) bytes), init \(hex(m.initBase)) (\(m.initRegion.count) bytes), "
            + "\(m.page >> 10) KiB pages\n"
        out += "  Section                          Address            Size     Region\n"
        for s in m.sections {
            out += "  " + s.name.padded(32) + hexPadded(s.address) + "  " + hexPadded(s.size, width: 8) + " " + (s.isInit ? "init" : "core") + "\n"
        }
        out += "relocations: \(m.relocationCount)\n"
        for (t, n) in m.relocationsByType.sorted(by: { $0.value > $1.value }) { out += "  \(t.description.padded(32))\(n)\n" }
        out += "plt: core \(m.pltUsed.core) used of \(m.pltReserved.core) reserved, init \(m.pltUsed.initial) used of \(m.pltReserved.initial) reserved\n"
        if !m.failures.isEmpty { out += "failures: \(m.failures.count) (on stderr)\n" }
        return out
    }

    /// `written`: the files the command wrote (path, bytes), listed as `outputs`.
    public static func json(_ m: LinkedModule, written: [(String, Int)] = []) -> JSON {
        .object([
            ("schema", .string(jsonSchemaVersion)), ("module", .string(m.name)),
            ("core", .object([("address", .hex(m.coreBase)), ("size", .hex(m.core.count))])),
            ("init", .object([("address", .hex(m.initBase)), ("size", .hex(m.initRegion.count))])),
            ("page_size", .hex(m.page)),
            ("sections", .array(m.sections.map { .object([("name", .string($0.name)), ("address", .hex($0.address)), ("size", .hex($0.size)),
                                                          ("region", .string($0.isInit ? "init" : "core"))]) })),
            ("relocations", .object(m.relocationsByType.sorted { $0.key < $1.key }.map { ($0.key.description, .int($0.value)) })),
            ("plt", .object([("core_reserved", .int(m.pltReserved.core)), ("core_used", .int(m.pltUsed.core)),
                             ("init_reserved", .int(m.pltReserved.initial)), ("init_used", .int(m.pltUsed.initial))])),
            ("failures", .array(m.failures.map { .string($0) })),
            ("outputs", .array(written.map { .object([("path", .string($0.0)), ("bytes", .int($0.1))]) })),
        ])
    }
}

/// Totals over `link-module --all`. Failures are grouped by reason (the failure line with its
/// numbers taken out), and every failing module is named with its full, numbered lines.
public struct ModuleSummary {
    public var modules = 0
    public var failedModules = 0
    public var relocationsByType: [RelocationType: Int] = [:]
    public var pltReserved = 0, pltUsed = 0
    /// Every failure line, by module, in the order the modules were linked.
    public var failures: [(module: String, lines: [String])] = []
    public init() {}

    public mutating func add(_ m: LinkedModule, path: String) {
        modules += 1
        for (t, n) in m.relocationsByType { relocationsByType[t, default: 0] += n }
        pltReserved += m.pltReserved.core + m.pltReserved.initial
        pltUsed += m.pltUsed.core + m.pltUsed.initial
        if !m.failures.isEmpty { failedModules += 1; failures.append((path, m.failures)) }
    }

    public mutating func addError(_ message: String, path: String) {
        modules += 1
        failedModules += 1
        failures.append((path, [message]))
    }

    /// A failure line without its place (table entry, section offset, address), its value and
    /// its symbol: the reason to group by, whole otherwise (relocation type, range, hint).
    /// `.rela.text entry 2: .text+0x40: relocation R_AARCH64_CALL26 at 0x… out of range: 0x… is
    /// not in [-0x8000000, 0x7ffffff] against foo` → `relocation R_AARCH64_CALL26 at N out of
    /// range: N is not in [-0x8000000, 0x7ffffff]`.
    static func reason(_ line: String) -> String {
        var r = line
        for (pattern, replacement) in reasonRewrites {
            r = r.replacingOccurrences(of: pattern, with: replacement, options: .regularExpression)
        }
        return r
    }

    static let reasonRewrites: [(String, String)] = [
        ("^.*? entry [0-9]+: [^ :]+: ", ""),                   // where: the table entry and section+offset
        (" at -?0x[0-9a-f]+", " at N"),                        // the place
        (": -?0x[0-9a-f]+ is not", ": N is not"),              // the value
        (" against [^ (]+", ""),                               // the symbol
        ("lies -?0x[0-9a-f]+ from", "lies N from"),            // the distance in the hint
    ]

    /// Reasons, most frequent first: how many failures, and which modules with how many each.
    public var byReason: [(reason: String, count: Int, modules: [(String, Int)])] {
        var groups: [String: [String: Int]] = [:], order: [String] = []
        for (module, lines) in failures {
            for l in lines {
                let r = Self.reason(l)
                if groups[r] == nil { order.append(r) }
                groups[r, default: [:]][module, default: 0] += 1
            }
        }
        return order.map { r in
            let ms = groups[r]!.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
            return (r, ms.reduce(0) { $0 + $1.1 }, ms)
        }.sorted { $0.count > $1.count }
    }

    public var relocations: Int { relocationsByType.values.reduce(0, +) }

    public func text() -> String {
        var out = "modules: \(modules), failed: \(failedModules)\nrelocations: \(relocations)\n"
        for (t, n) in relocationsByType.sorted(by: { $0.value > $1.value }) { out += "  \(t.description.padded(32))\(n)\n" }
        out += "plt: \(pltUsed) used of \(pltReserved) reserved\n"
        for g in byReason {
            out += "failure (\(g.count) in \(g.modules.count) module\(g.modules.count == 1 ? "" : "s")): \(g.reason)\n"
            for (m, n) in g.modules { out += "  \(m)\(n > 1 ? " (\(n))" : "")\n" }
        }
        return out
    }

    public func json() -> JSON {
        .object([
            ("schema", .string(jsonSchemaVersion)), ("modules", .int(modules)), ("failed_modules", .int(failedModules)),
            ("relocations", .int(relocations)),
            ("relocations_by_type", .object(relocationsByType.sorted { $0.key < $1.key }.map { ($0.key.description, .int($0.value)) })),
            ("plt_reserved", .int(pltReserved)), ("plt_used", .int(pltUsed)),
            ("failures", .array(byReason.map { g in
                .object([("reason", .string(g.reason)), ("count", .int(g.count)),
                         ("modules", .array(g.modules.map { .object([("module", .string($0.0)), ("count", .int($0.1))]) }))])
            })),
            ("errors", .array(failures.map { f in .object([("module", .string(f.module)), ("errors", .array(f.lines.map { .string($0) }))]) })),
        ])
    }
}
