// Table discovery's extension point: one recognizer per shape of kernel, each in its own file.
//
// A raw Image has no section headers; what says where its relocation tables are is the kernel's
// own code (or, for a Slide Image, its seal). Each recognizer knows one shape — Slide's seal,
// head.S with literal-pool bounds (Linux 4.6–5.x), head.S with ADRP/ADD bounds (6.1–6.8), the
// compiled C `relocate_kernel` (6.9+) — or, for the structural scan, no code at all. The finder
// (TableFinder.swift) runs them in order, validates what each proposes entry by entry, and checks
// that the ones that found something agree. A new kernel shape is a new file here (a type with
// its name, a one-line summary and `recognize`), a new fixture in the tests, and one line in
// `TableRecognizers.all`: the provenance of what it finds, the `--table-method` choice and the
// help texts that list the recognizers are all derived from that list.

import SlideCore

/// A table's bounds as a recognizer proposes them, in image offsets.
struct TableBounds: Equatable {
    var offset: Int
    var size: Int
    var end: Int { offset + size }
}

/// What one recognizer found, and why it believes it.
struct Recognition {
    var source: Provenance
    var rela: TableBounds?
    var relr: TableBounds?
    /// The link base the evidence names (a constant the routine builds), and where it is.
    var linkBase: UInt64? = nil
    var linkBaseEvidence: String? = nil
    /// One sentence: what was seen where.
    var reason: String
    /// Image offset of the code or record that is the evidence.
    var evidence: Int?
    /// 1 for a recognizer that reads the kernel's own code or seal; below 1 for a structural guess.
    var confidence: Double = 1
    /// For the structural scan: what it cannot see (a table end it had to guess).
    var caveat: String? = nil
    /// The seal also names the image's `__ex_table`.
    var exceptionTable: TableBounds? = nil
}

/// What every recognizer reads: the image data (no appended signature) and the image's size in memory.
struct DiscoveryInput {
    let data: ByteView
    let memorySize: UInt64
    /// Every routine that compares a type with R_AARCH64_RELATIVE, traced, with its relocation
    /// loops: computed once for all code recognizers.
    let routines: [TracedRoutine]

    init(data: ByteView, memorySize: UInt64, traces: [CodeTrace]) {
        self.data = data
        self.memorySize = memorySize
        routines = traces.map { t in let l = RelocationLoops.find(in: t); return TracedRoutine(trace: t, rela: l.rela, relr: l.relr) }
    }
}

struct TracedRoutine {
    let trace: CodeTrace
    let rela: RelocationLoop?
    let relr: RelocationLoop?
}

protocol TableRecognizer: Sendable {
    /// Stable name: the `--table-method` value that selects it and the `"source"` of what it
    /// finds (JSON, reports).
    static var name: String { get }
    /// One line for the help texts: which kernels it reads, and what in them.
    static var summary: String { get }
    /// Whether it reads the kernel's code or seal (a proof) rather than guessing from data.
    var readsCode: Bool { get }
    /// Whether it reads `DiscoveryInput.routines` (the traces cost a pass over the image); by
    /// default, when it reads code.
    var readsRoutines: Bool { get }
    func recognize(_ input: DiscoveryInput) -> Recognition?
}

extension TableRecognizer {
    /// How what it finds was established: its name.
    static var source: Provenance { Provenance(rawValue: name) }
    var name: String { Self.name }
    var summary: String { Self.summary }
    var source: Provenance { Self.source }
    var readsRoutines: Bool { readsCode }
}

enum TableRecognizers {
    /// In order of trust: the first that finds a valid table is used; all are compared.
    static let all: [any TableRecognizer] = [SealRecognizer(), HeadSLiteralPool(), HeadSAdrpAdd(), PiRelocateC(), StructuralScan()]

    /// The routines to trace: every function that holds a `cmp Rn, #1027`. Where a function
    /// starts is not marked in a raw Image, and compiled code returns early from the middle, so
    /// each anchor is traced from several candidate starts, nearest first; recognizers take the
    /// first trace whose bounds they can read.
    static func traces(_ data: ByteView) -> [CodeTrace] {
        var starts: [Int] = []
        var offset = 0
        while offset + 4 <= data.count {
            defer { offset += 4 }
            let w = data.u32Unchecked(at: offset)
            // CMP Wn|Xn, #1027 = SUBS {W,X}ZR, Rn, #0x403 (C6.2.389).
            guard w & 0x7fff_fc1f == 0x7110_0c1f else { continue }
            for start in candidateStarts(data, before: offset) where !starts.contains(start) { starts.append(start) }
        }
        return starts.map { CodeTrace.run(data, from: $0) }
    }

    /// How many boundaries back an anchor's function may start, and how far.
    static let startsPerAnchor = 4, startWindow = 256 * 4

    /// Instructions just after a return, an unconditional branch or a padding word, nearest first.
    static func candidateStarts(_ data: ByteView, before offset: Int) -> [Int] {
        var starts: [Int] = []
        var p = offset
        while p >= 4, offset - p < startWindow, starts.count < startsPerAnchor {
            let w = data.u32Unchecked(at: p - 4)
            switch A64Instruction(w) {
            case .returnOrIndirect, .branch: starts.append(p)
            default: if w == 0 { starts.append(p) }
            }
            p -= 4
        }
        if starts.isEmpty { starts.append(p) }
        return starts
    }
}

extension KernelImage {
    /// Table discovery policy for raw Images (`--table-method`): every recognizer (auto), the
    /// ones that read code or the seal (code), or one recognizer by its name.
    public struct Discovery: Equatable, Sendable {
        /// auto, code or a recognizer's name.
        public let rawValue: String

        public static let auto = Discovery(valid: "auto"), code = Discovery(valid: "code")

        /// Every method by name: auto, code, then `TableRecognizers.all`'s names in order.
        public static var names: [String] { [auto.rawValue, code.rawValue] + TableRecognizers.all.map(\.name) }

        /// nil for a name that is none of `names`.
        public init?(rawValue: String) {
            guard Self.names.contains(rawValue) else { return nil }
            self.rawValue = rawValue
        }

        private init(valid name: String) { rawValue = name }

        /// The one recognizer `R`.
        static func only<R: TableRecognizer>(_: R.Type) -> Discovery { Discovery(valid: R.name) }

        /// Whether the method runs `r`.
        func includes(_ r: any TableRecognizer) -> Bool {
            switch self {
            case .auto: return true
            case .code: return r.readsCode
            default: return r.name == rawValue
            }
        }

        /// `--table-method`'s help.
        public static var help: String {
            "How to find a raw Image's tables: auto (every recognizer), code (the ones that read code or the seal), or one of "
                + TableRecognizers.all.map(\.name).joined(separator: ", ") + "."
        }

        /// The recognizers, one line each (name, summary), indented by `indent` spaces: for help texts.
        public static func recognizerList(indent: Int) -> String {
            let width = (TableRecognizers.all.map(\.name.count).max() ?? 0) + 2
            return TableRecognizers.all.map { r in
                String(repeating: " ", count: indent) + r.name + String(repeating: " ", count: width - r.name.count) + r.summary
            }.joined(separator: "\n")
        }
    }
}

extension RelocationLoop {
    /// The bounds, when the loop's start is an image offset (PC-relative, no entry register).
    func imageBounds(in input: DiscoveryInput) -> TableBounds? {
        // Bounds past the file data (but inside image_size) are kept: the finder reports a truncated file.
        guard start.pcRelative, start.entry == nil, let size, start.constant <= max(UInt64(input.data.count), input.memorySize) else { return nil }
        return TableBounds(offset: Int(start.constant), size: size)
    }
}
