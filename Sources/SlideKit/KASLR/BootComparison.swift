// `slide boot` of a Linux Image: the layout lines the kernel printed beside the prediction.

import SlideCore

extension KASLRPrediction {
    /// Each printed layout line beside the prediction: (what, predicted, printed, agree). A value
    /// drawn at boot (RNDR) agrees when the printed one lies in its range, on its lattice.
    public func compare(_ boot: LinuxBootReport) -> [(what: String, predicted: String, printed: String, agree: Bool)] {
        let printed = boot.offsetPrinted ? (boot.kernelOffset.map { "\(hex($0)) from \(hex(boot.linkBase ?? 0))" } ?? "disabled") : "(not printed)"
        let offsetAgrees: Bool
        switch offset {
        case .exact: offsetAgrees = printedOffset == printed
        case .within(let l, let h):
            offsetAgrees = boot.linkBase == linkBase && boot.kernelOffset.map { $0 >= l && $0 <= h && ImageAlignment.misalignment($0) == ImageAlignment.misalignment(l) } == true
        case .unknown: offsetAgrees = false
        }
        var rows = [("Kernel Offset", printedOffset, printed, offsetAgrees)]
        if boot.kernelOffset != nil || offset.exact.map({ $0 != 0 }) == true {
            let physAgrees: Bool = switch physOffset {
            case .exact(let v): boot.physOffset == v
            case .within(let l, let h): boot.physOffset.map { $0 &- l <= h &- l && ($0 &- l) % granule.memstartAlign == 0 } == true
            case .unknown: false
            }
            rows.append(("PHYS_OFFSET", physOffset.text, boot.physOffset.map { hex($0) } ?? "(not printed)", physAgrees))
        }
        return rows
    }

    /// What the kernel printed, for a boot with no prediction: (what, printed).
    public static func printedLines(_ boot: LinuxBootReport) -> [(String, String)] {
        var rows = [("Kernel Offset", boot.offsetPrinted ? (boot.kernelOffset.map { "\(hex($0)) from \(hex(boot.linkBase ?? 0))" } ?? "disabled") : "(not printed)")]
        if let p = boot.physOffset { rows.append(("PHYS_OFFSET", hex(p))) }
        return rows
    }

    /// `boot --json` of a Linux Image no model predicts: the printed lines, `agree` null and the reason.
    public static func unpredictedBootDocument(image: String, boot: LinuxBootReport, cpu: String, seed: UInt64, reason: String) -> JSON {
        .object([
            ("schema", .string(jsonSchemaVersion)), ("image", .string(image)), ("kernel", .string(boot.version ?? "")),
            ("cpu", .string(cpu)), ("seed", .hex(seed)), ("model", .null), ("agree", .null), ("no_prediction", .string(reason)),
            ("lines", .array(printedLines(boot).map { .object([("what", .string($0.0)), ("predicted", .null), ("printed", .string($0.1))]) })),
        ])
    }

    /// `boot --json` of a Linux Image: each printed line beside this prediction.
    public func bootDocument(image: String, boot: LinuxBootReport, cpu: String, seed: UInt64) -> JSON {
        let rows = compare(boot)
        return .object([
            ("schema", .string(jsonSchemaVersion)), ("image", .string(image)), ("kernel", .string(boot.version ?? "")), ("version", .string(version ?? "")),
            ("cpu", .string(cpu)), ("seed", .hex(seed)), ("model", .string(model)), ("agree", .bool(rows.allSatisfy(\.agree))),
            ("lines", .array(rows.map { .object([("what", .string($0.what)), ("predicted", .string($0.predicted)),
                                                 ("printed", .string($0.printed)), ("agree", .bool($0.agree))]) })),
        ])
    }
}
