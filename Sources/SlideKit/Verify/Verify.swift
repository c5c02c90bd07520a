// `slide verify`: the checks the boot code never makes (docs/relocations.md: "nothing is range-checked"),
// made before boot. One finding per problem; errors make the image unfit to boot, warnings
// name what the boot code will silently skip.
//
// The checks are a list (`Verifier.checks`), run in order over one `VerifyContext`; a new check
// is one type conforming to `VerifyCheck` (a file in Checks/) and one line in the list.

import SlideCore

public struct Finding {
    public enum Severity: String { case error, warning }
    public var severity: Severity
    /// Stable identifier of the check, for scripts (`place-outside-image`).
    public var check: String
    public var message: String
    /// Entry index in its table, when the finding is about one entry.
    public var index: Int?
    public var table: String?
}

public struct VerifyReport {
    public var findings: [Finding] = []
    public var relaEntries = 0
    public var relrPlaces = 0
    public var errors: Int { findings.filter { $0.severity == .error }.count }
    public var warnings: Int { findings.filter { $0.severity == .warning }.count }
}

/// What the checks share: the image, the options, the report they add to, and the relocation
/// places the entry walk collected for the checks over the whole set of places.
struct VerifyContext {
    let image: KernelImage
    let allowNoTable: Bool
    var report = VerifyReport()
    /// Every relocated place: (address, table, entry index).
    var places: [(UInt64, String, Int)] = []
    /// Places whose link-time value is 0, per table: (entry index, address).
    var nulls: (rela: [(Int, UInt64)], relr: [(Int, UInt64)]) = ([], [])

    mutating func add(_ s: Finding.Severity, _ check: String, _ message: String, table: String? = nil, index: Int? = nil) {
        report.findings.append(Finding(severity: s, check: check, message: message, index: index, table: table))
    }
}

protocol VerifyCheck: Sendable {
    func run(_ c: inout VerifyContext) throws(SlideKitError)
}

public enum Verifier {
    /// In the order their findings are printed.
    static let checks: [any VerifyCheck] = [
        HeaderCheck(),
        PECheck(),
        TruncationCheck(),
        AlreadyRelocatedCheck(),
        ExceptionTableCheck(),
        TablePresenceCheck(),
        TableProvenanceCheck(),
        RecognizerAgreementCheck(),
        RelocationEntriesCheck(),
        NullPointerCheck(),
        DuplicatePlaceCheck(),
    ]

    /// `allowNoTable`: a kernel image in which no table is found is a warning, not an error.
    public static func verify(_ k: KernelImage, allowNoTable: Bool = false) throws(SlideKitError) -> VerifyReport {
        var context = VerifyContext(image: k, allowNoTable: allowNoTable)
        for check in checks { try check.run(&context) }
        return context.report
    }

    /// The link-time value at a place, as hex ("unread" outside the file).
    static func placeValue(_ k: KernelImage, _ p: UInt64) -> String {
        let o = p &- k.linkBase
        guard o < UInt64(k.bytes.count), UInt64(k.bytes.count) - o >= 8 else { return "unread" }
        let v = k.bytes.withUnsafeBytes { ByteView($0).u64Unchecked(at: Int(o)) }
        return hex(v)
    }
}
