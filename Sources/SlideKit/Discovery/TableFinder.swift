// Runs the recognizers over a raw Image, proves what they propose, and checks they agree.
//
// A proposal is *proven* only when every entry validates against the link base: RELA records of
// the types a linker emits for the kernel (RELATIVE, NONE, ABS64, GLOB_DAT), non-NONE places
// inside [base, base + image size), RELATIVE addends inside the image or 0 (a null pointer); RELR well formed with
// every place inside the image. Places must be even, not 8-byte aligned: GNU ld 2.47 (Debian's
// 7.x) puts pointers of packed structures at 2-byte-aligned places into RELR, and the kernel
// relocates with the MMU on, where an unaligned store is fine (`verify` warns about them).
//
// Which tables are used: the first code recognizer (in `TableRecognizers.all` order) whose
// proposal is proven; else the first code recognizer that found tables at all, not proven (its
// bounds are what the boot code walks; verify reports the bad entries); else the structural
// scan's guess. Every other recognizer that found something is compared with them; a
// disagreement is kept and reported (`inspect`; `verify`: an error between code recognizers, a
// warning from the structural scan), never dropped.

import SlideCore

struct DiscoveryResult {
    var rela: TableLocation?
    var relr: TableLocation?
    var linkBase: LinkBase?
    /// The `__ex_table` a seal names.
    var exceptionTable: TableBounds?
    /// Every recognizer that found something, with what became of it.
    var recognitions: [RecognizerOutcome] = []
    /// Code recognizers (or the seal) that read different tables from the ones used: errors.
    var disagreements: [String] = []
    /// The structural scan's guess differing from the tables used: warnings.
    var guessDisagreements: [String] = []
    var notes: [String] = []
    /// A table the code names lies past the end of the file data: the file is truncated.
    var truncation: String? = nil
    /// The places no longer hold link-time values (RelocationState.swift).
    var relocated: RelocationState.Shown? = nil
}

/// One recognizer's proposal after validation, for reports.
public struct RecognizerOutcome {
    public var source: Provenance
    public var rela: (offset: Int, size: Int)?
    public var relr: (offset: Int, size: Int)?
    public var proven: Bool
    /// Why it is not proven, or what it disagrees with.
    public var problem: String?
    public var reason: String
}

enum TableFinder {
    /// One recognizer's proposal with the link base its evidence gives and, when not every
    /// entry validates against it, why.
    struct Proposal {
        var recognition: Recognition
        var base: LinkBase?
        var problem: String?
        var readsCode: Bool
    }

    static func find(in image: ByteView, dataSize: Int, memorySize: UInt64, discovery: KernelImage.Discovery,
                     linkBaseOverride: UInt64?) throws(SlideError) -> DiscoveryResult {
        let data = try image.slice(offset: 0, size: min(dataSize, image.count))
        let recognizers = TableRecognizers.all.filter { discovery.includes($0) }
        let needsTraces = recognizers.contains { $0.readsRoutines }
        let input = DiscoveryInput(data: data, memorySize: memorySize, traces: needsTraces ? TableRecognizers.traces(data) : [])
        var result = DiscoveryResult()
        let proposals = propose(recognizers, input, linkBaseOverride: linkBaseOverride, into: &result)
        let chosen = choose(proposals)
        compare(proposals, chosen: chosen?.recognition, data, into: &result)
        guard let chosen, let base = chosen.base else {
            if proposals.isEmpty { result.notes.append("no recognizer found a relocation table (\(recognizers.map(\.name).joined(separator: ", ")))") }
            return result
        }
        use(chosen.recognition, base: base, problem: chosen.problem, data, memorySize: memorySize, into: &result)
        return result
    }

    /// Runs the recognizers and validates what each proposes. A table past the file data is a
    /// truncation, a recognition without tables a note.
    static func propose(_ recognizers: [any TableRecognizer], _ input: DiscoveryInput, linkBaseOverride: UInt64?,
                        into result: inout DiscoveryResult) -> [Proposal] {
        let data = input.data
        var proposals: [Proposal] = []
        for recognizer in recognizers {
            guard let r = recognizer.recognize(input) else { continue }
            // The kernel's code names a table the file does not reach: truncated, not "no table".
            if let (name, t) = [("RELA", r.rela), ("RELR", r.relr)].compactMap({ n, t in t.map { (n, $0) } }).first(where: { $0.1.end > data.count }) {
                if result.truncation == nil {
                    result.truncation = "the \(name) table at \(hex(UInt64(t.offset)))+\(hex(UInt64(t.size))) (named by \(r.source.rawValue)) lies past the end of the file data (\(hex(UInt64(data.count))))"
                }
                continue
            }
            guard r.rela != nil || r.relr != nil else { result.notes.append("\(r.source.rawValue): \(r.reason)"); continue }
            let base = linkBaseOverride.map { LinkBase(value: $0, source: .user, reason: "given with --link-base") }
                ?? LinkBase.derive(data, rela: r.rela, relr: r.relr, memorySize: input.memorySize, constant: r.linkBase, constantEvidence: r.linkBaseEvidence)
            let problem = base.map { validate(data, r, base: $0.value, memorySize: input.memorySize) } ?? "no link base fits its places and pointers"
            proposals.append(Proposal(recognition: r, base: base, problem: problem, readsCode: recognizer.readsCode))
        }
        return proposals
    }

    /// The first code recognizer whose proposal is proven. Else the kernel's own code names
    /// tables of which not every entry validates: they are what its boot code walks, so they are
    /// used (not proven) and verify reports each bad entry. Else nothing read the code: the
    /// structural guess stands, marked as such.
    static func choose(_ proposals: [Proposal]) -> Proposal? {
        proposals.first { $0.readsCode && $0.problem == nil && $0.base != nil }
            ?? proposals.first { $0.readsCode && $0.base != nil } ?? proposals.first { $0.base != nil }
    }

    /// Every proposal's outcome, and how each differs from the chosen one.
    static func compare(_ proposals: [Proposal], chosen c: Recognition?, _ data: ByteView, into result: inout DiscoveryResult) {
        for p in proposals {
            let r = p.recognition
            var outcome = RecognizerOutcome(source: r.source, rela: r.rela.map { ($0.offset, $0.size) }, relr: r.relr.map { ($0.offset, $0.size) },
                                            proven: p.problem == nil && r.confidence == 1, problem: p.problem, reason: r.reason)
            if let problem = p.problem, p.readsCode {
                result.notes.append("\(r.source.rawValue): found tables but not every entry validates: \(problem)")
            }
            if let c, c.source != r.source, let d = disagreement(data, chosen: c, other: r) {
                outcome.problem = [p.problem, d].compactMap { $0 }.joined(separator: "; ")
                let text = "\(r.source.rawValue) disagrees with \(c.source.rawValue): \(d)"
                if r.source == StructuralScan.source || c.source == StructuralScan.source { result.guessDisagreements.append(text) } else { result.disagreements.append(text) }
            }
            result.recognitions.append(outcome)
        }
    }

    /// The chosen recognition's tables, link base and relocation state become the result.
    static func use(_ r: Recognition, base: LinkBase, problem: String?, _ data: ByteView, memorySize: UInt64, into result: inout DiscoveryResult) {
        func location(_ kind: TableLocation.Kind, _ b: TableBounds?) -> TableLocation? {
            b.map {
                TableLocation(kind: kind, imageOffset: $0.offset, size: $0.size, source: r.source, confidence: r.confidence,
                              reason: r.reason, sectionName: nil, fileOffset: $0.offset, evidence: r.evidence,
                              proven: r.confidence == 1 && problem == nil,
                              caveat: [r.caveat, problem.map { "not every entry validates: \($0)" }].compactMap { $0 }.joined(separator: "; ").nilIfEmpty)
            }
        }
        result.exceptionTable = r.exceptionTable
        result.rela = location(.rela, r.rela)
        result.relr = location(.relr, r.relr)
        result.linkBase = base
        result.relocated = RelocationState.shown(data, rela: r.rela, relr: r.relr, base: base.value, span: max(memorySize, UInt64(data.count)))
    }

    /// Why the proposal's entries do not all validate against `base`, or nil when they do.
    static func validate(_ data: ByteView, _ r: Recognition, base: UInt64, memorySize: UInt64) -> String? {
        let span = max(memorySize, UInt64(data.count))
        func inside(_ p: UInt64) -> Bool { p >= base && p - base < span && span - (p - base) >= 8 }
        // A table of nothing but NONE records proves no bounds (a zeroed table validates vacuously).
        var relocating = 0
        if let t = r.rela {
            guard t.size % RelaEntry.size == 0 else { return "RELA size \(hex(UInt64(t.size))) is not a multiple of 24" }
            guard t.end <= data.count else { return "RELA table ends past the image data" }
            var o = t.offset, i = 0
            while o < t.end {
                defer { o += RelaEntry.size; i += 1 }
                let e = RelaEntry(unchecked: data, at: o)
                if e.info != 0 { relocating += 1 }
                let offset = e.offset, addend = UInt64(bitPattern: e.addend)
                switch e.type {
                case .none: continue
                case .relative:
                    guard e.symbol == 0 else { return "RELA[\(i)] R_AARCH64_RELATIVE names a symbol" }
                    // 0 is a null pointer (GNU ld: `__mcount_loc` slots of discarded functions; LinkBase.swift).
                    guard addend == 0 || (addend >= base && addend - base <= span) else { return "RELA[\(i)] addend \(hex(addend)) is outside the image" }
                case .abs64, .globDat: break
                default: return "RELA[\(i)] has type \(e.type), which the kernel's linker does not emit"
                }
                guard offset & 1 == 0, inside(offset) else { return "RELA[\(i)] place \(hex(offset)) is not an even place inside the image" }
            }
        }
        if let t = r.relr {
            guard t.size % 8 == 0, t.end <= data.count else { return "RELR bounds \(hex(UInt64(t.offset)))+\(hex(UInt64(t.size))) are not whole words inside the image" }
            guard let table = try? RelrTable(data.slice(offset: t.offset, size: t.size)) else { return "RELR table unreadable" }
            var it = table.makePlaces()
            while let p = it.next() {
                guard inside(p) else { return "RELR place \(hex(p)) (word \(it.wordIndex)) is not inside the image" }
                relocating += 1
            }
            if let e = it.error { return "RELR: \(e.description)" }
        }
        return relocating == 0 ? "no entry relocates anything (every RELA record is NONE, no RELR place)" : nil
    }

    /// How `other` differs from the chosen proposal, or nil when it agrees as far as it can see.
    static func disagreement(_ data: ByteView, chosen: Recognition, other: Recognition) -> String? {
        var problems: [String] = []
        func compare(_ name: String, _ a: TableBounds?, _ b: TableBounds?) {
            switch (a, b) {
            case (nil, nil): return
            case (let a?, let b?) where a == b: return
            case (let a?, let b?) where other.source == StructuralScan.source && name == "RELA" && a.offset == b.offset && b.end > a.end
                && isZero(data, a.end..<b.end):
                return // the scan took padding past the real end for trailing NONE records, as its caveat says
            case (let a?, nil) where other.source == StructuralScan.source && a.size == 0:
                return
            default:
                func text(_ t: TableBounds?) -> String { t.map { "\(hex(UInt64($0.offset)))+\(hex(UInt64($0.size)))" } ?? "none" }
                problems.append("\(name) \(text(b)), not \(text(a))")
            }
        }
        compare("RELA", chosen.rela, other.rela)
        compare("RELR", chosen.relr, other.relr)
        return problems.isEmpty ? nil : problems.joined(separator: "; ")
    }

    static func isZero(_ data: ByteView, _ range: Range<Int>) -> Bool {
        guard range.upperBound <= data.count else { return false }
        var o = range.lowerBound
        while o + 8 <= range.upperBound { if data.u64Unchecked(at: o) != 0 { return false }; o += 8 }
        return true
    }
}

extension String {
    var nilIfEmpty: String? { isEmpty ? nil : self }
}
