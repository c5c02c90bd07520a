// Reports for `slide link-module`: one module, or a summary over many.

import SlideCore

public enum ModuleReport {
    public static func text(_ m: LinkedModule) -> String {
        var out = "module \(m.name): core \(hex(m.coreBase)) (\(m.core.count) bytes), init \(hex(m.initBase)) (\(m.initRegion.count) bytes)\n"
        out += "  Section                          Address            Size     Region\n"
        for s in m.sections {
            out += "  " + s.name.padded(32) + hexPadded(s.address) + "  " + hexPadded(s.size, width: 8) + " " + (s.isInit ? "init" : "core") + "\n"
        }
        out += "relocations: \(m.relocationCount)\n"
        for (t, n) in m.relocationsByType.sorted(by: { $0.value > $1.value }) { out += "  \(t.description.padded(32))\(n)\n" }
        out += "plt: core \(m.pltUsed.core) used of \(m.pltReserved.core) reserved, init \(m.pltUsed.initial) used of \(m.pltReserved.initial) reserved\n"
        for f in m.failures { out += "error: \(f)\n" }
        return out
    }

    public static func json(_ m: LinkedModule) -> JSON {
        .object([
            ("schema", .string(jsonSchemaVersion)), ("module", .string(m.name)),
            ("core", .object([("address", .hex(m.coreBase)), ("size", .int(m.core.count))])),
            ("init", .object([("address", .hex(m.initBase)), ("size", .int(m.initRegion.count))])),
            ("sections", .array(m.sections.map { .object([("name", .string($0.name)), ("address", .hex($0.address)), ("size", .hex($0.size)),
                                                          ("region", .string($0.isInit ? "init" : "core"))]) })),
            ("relocations", .object(m.relocationsByType.sorted { $0.key < $1.key }.map { ($0.key.description, .int($0.value)) })),
            ("plt", .object([("core_reserved", .int(m.pltReserved.core)), ("core_used", .int(m.pltUsed.core)),
                             ("init_reserved", .int(m.pltReserved.initial)), ("init_used", .int(m.pltUsed.initial))])),
            ("failures", .array(m.failures.map { .string($0) })),
        ])
    }
}

/// Totals over `link-module --all`.
public struct ModuleSummary {
    public var modules = 0
    public var failedModules = 0
    public var relocationsByType: [RelocationType: Int] = [:]
    public var pltReserved = 0, pltUsed = 0
    public var failuresByReason: [String: Int] = [:]
    public init() {}

    public mutating func add(_ m: LinkedModule) {
        modules += 1
        for (t, n) in m.relocationsByType { relocationsByType[t, default: 0] += n }
        pltReserved += m.pltReserved.core + m.pltReserved.initial
        pltUsed += m.pltUsed.core + m.pltUsed.initial
        if !m.failures.isEmpty { failedModules += 1 }
        for f in m.failures { failuresByReason[Self.reason(f), default: 0] += 1 }
    }

    public mutating func addError(_ message: String) {
        modules += 1
        failedModules += 1
        failuresByReason[Self.reason(message), default: 0] += 1
    }

    /// A failure line without its module, section and numbers: the reason to group by.
    static func reason(_ line: String) -> String {
        var r = line
        if let colon = r.range(of: ": ", options: .backwards) { r = String(r[colon.upperBound...]) }
        return r.split(separator: " ").map { $0.hasPrefix("0x") || $0.hasPrefix("-0x") ? "N" : String($0) }.joined(separator: " ")
    }

    public var relocations: Int { relocationsByType.values.reduce(0, +) }

    public func text() -> String {
        var out = "modules: \(modules), failed: \(failedModules)\nrelocations: \(relocations)\n"
        for (t, n) in relocationsByType.sorted(by: { $0.value > $1.value }) { out += "  \(t.description.padded(32))\(n)\n" }
        out += "plt: \(pltUsed) used of \(pltReserved) reserved\n"
        for (r, n) in failuresByReason.sorted(by: { $0.value > $1.value }) { out += "failure (\(n)): \(r)\n" }
        return out
    }

    public func json() -> JSON {
        .object([
            ("schema", .string(jsonSchemaVersion)), ("modules", .int(modules)), ("failed_modules", .int(failedModules)),
            ("relocations", .int(relocations)),
            ("relocations_by_type", .object(relocationsByType.sorted { $0.key < $1.key }.map { ($0.key.description, .int($0.value)) })),
            ("plt_reserved", .int(pltReserved)), ("plt_used", .int(pltUsed)),
            ("failures", .object(failuresByReason.sorted { $0.value > $1.value }.map { ($0.key, .int($0.value)) })),
        ])
    }
}
