// Rendering a verify report: one line per finding (capped per check), then a summary line.

import SlideCore

public enum VerifyText {
    public static func text(_ r: VerifyReport, _ k: KernelImage, maxPerCheck: Int) -> String {
        var out = ""
        var shown: [String: Int] = [:]
        for f in r.findings {
            let n = shown[f.check, default: 0]
            shown[f.check] = n + 1
            if maxPerCheck == 0 || n < maxPerCheck { out += "\(f.severity.rawValue): \(f.message) [\(f.check)]\n" }
        }
        for (check, n) in shown.sorted(by: { $0.key < $1.key }) where maxPerCheck > 0 && n > maxPerCheck {
            out += "note: \(n - maxPerCheck) more [\(check)] findings not shown (--max-findings 0 shows all)\n"
        }
        out += "\(k.path): \(r.errors) error\(r.errors == 1 ? "" : "s"), \(r.warnings) warning\(r.warnings == 1 ? "" : "s") "
            + "(\(r.relaEntries) RELA entries, \(r.relrPlaces) RELR places checked)\n"
        return out
    }

    /// `ok` is what the exit status says: no error (and no warning with --warnings-as-errors).
    public static func json(_ r: VerifyReport, _ k: KernelImage, warningsAsErrors: Bool = false) -> JSON {
        .object([
            ("schema", .string(jsonSchemaVersion)), ("file", .string(k.path)), ("ok", .bool(r.errors == 0 && !(warningsAsErrors && r.warnings > 0))),
            ("errors", .int(r.errors)), ("warnings", .int(r.warnings)),
            ("rela_entries", .int(r.relaEntries)), ("relr_places", .int(r.relrPlaces)),
            ("link_base", .hex(k.linkBase)), ("memory_size", .hex(k.memorySize)),
            ("findings", .array(r.findings.map { f in
                var o: [(String, JSON)] = [("severity", .string(f.severity.rawValue)), ("check", .string(f.check)), ("message", .string(f.message))]
                if let t = f.table { o.append(("table", .string(t))) }
                if let i = f.index { o.append(("index", .int(i))) }
                return .object(o)
            })),
        ])
    }
}
