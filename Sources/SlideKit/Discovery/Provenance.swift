// What every derived fact carries: how it was established (Provenance), where a table is and
// why it is believed (TableLocation), and whether a command may rely on it (Standing).

import SlideCore

/// How a fact was established, for reports (`"source"` in JSON): an open set of names, as a
/// table found in a raw Image is named by its recognizer (`TableRecognizer.source`, the names in
/// `TableRecognizers.all`).
public struct Provenance: RawRepresentable, Hashable, Sendable {
    public let rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }

    public static let elfSection = Provenance(rawValue: "elf-section")
    public static let elfDynamic = Provenance(rawValue: "elf-dynamic")
    public static let elfSegment = Provenance(rawValue: "elf-segment")
    /// kallsyms' names for the tables (KallsymsWitness.swift).
    public static let kallsymsSymbols = Provenance(rawValue: "kallsyms-symbols")
    /// A link base built by the relocation routine and confirmed by the places and pointers.
    public static let codeConstant = Provenance(rawValue: "code-constant")
    public static let addendRange = Provenance(rawValue: "addend-range")
    public static let user = Provenance(rawValue: "user")
}

/// Where a relocation table lives and how we know.
public struct TableLocation {
    public enum Kind: String { case rela, relr }
    public var kind: Kind
    /// Offset of the table in the flat image (= file offset for a raw Image).
    public var imageOffset: Int
    public var size: Int
    public var source: Provenance
    /// 1 when read from code, a seal or sections; below 1 for the structural scan.
    public var confidence: Double
    /// Why this table was chosen, in one sentence.
    public var reason: String
    /// Section name, for ELF inputs.
    public var sectionName: String?
    /// File offset of the table, when it differs from `imageOffset` (ELF inputs).
    public var fileOffset: Int
    /// Image offset of the instruction (or seal) that is the evidence.
    public var evidence: Int? = nil
    /// Every entry validated against the link base, and the bounds come from the kernel's own
    /// code, seal or section headers (not from the structural scan).
    public var proven: Bool = true
    /// What the finder could not see (the structural scan's guessed end), when anything.
    public var caveat: String? = nil
}

/// How a derived fact stands: what every consumer asks before using it (fail closed).
public enum Standing: String, Sendable {
    /// Read from the kernel's own code, seal or section headers, and confirmed by its data.
    case established
    /// The user's override (`--link-base`, `--table-method`): used, and labelled as given.
    case given
    /// A best guess (the structural scan, the most aligned of several candidates): shown by
    /// `inspect`, refused by every command whose result would depend on it.
    case inferred
    /// Not found at all.
    case unknown

    /// Whether a command may build a result on it.
    public var usable: Bool { self == .established || self == .given }
}
