// kallsyms as a witness of the tables: with KALLSYMS_ALL (Debian's 6.12 and 7.x), the kernel's
// own symbol table names them — `__pi_rela_start`/`__pi_rela_end` and `__pi_relr_start`/
// `__pi_relr_end`, the bounds pi/relocate.c reads (6.9+), or `__rela_start`… and `__relr_start`…
// where vmlinux.lds.S's names are listed. An account independent of the code: the bounds come
// from names, not instructions. kallsyms' addresses are link-time ones, so it is not one of
// `TableRecognizers.all` (which run before there is a link base, on the image data alone): it is
// discovery's last step, after the recognizers have given the link base, when the loader is asked
// for it (`KernelImage.load(…, kallsymsWitness: true)`: `inspect` and `verify`; reading kallsyms
// costs about a second, and the other commands do not need it). A kernel whose kallsyms lists
// text only (5.10, 6.1) has nothing to say, and says so.

import SlideCore

enum KallsymsWitness {
    static let names: [(rela: (String, String), relr: (String, String))] = [
        (("__pi_rela_start", "__pi_rela_end"), ("__pi_relr_start", "__pi_relr_end")),
        (("__rela_start", "__rela_end"), ("__relr_start", "__relr_end")),
    ]

    static func recognize(_ k: KernelImage) -> RecognizerOutcome? {
        guard let table = try? KallsymsTable.read(k) else { return nil }
        let first = KernelSymbols.addresses(table.symbols)
        func bounds(_ pair: (String, String)) -> (offset: Int, size: Int)? {
            guard let s = first[pair.0], let e = first[pair.1], s >= k.linkBase, e > s, e &- k.linkBase <= UInt64(k.dataSize) else { return nil }
            return (Int(s &- k.linkBase), Int(e - s))
        }
        for n in names {
            let rela = bounds(n.rela), relr = bounds(n.relr)
            guard rela != nil || relr != nil else { continue }
            let named = [rela.map { _ in "\(n.rela.0)..\(n.rela.1)" }, relr.map { _ in "\(n.relr.0)..\(n.relr.1)" }].compactMap { $0 }
            return RecognizerOutcome(source: .kallsymsSymbols, rela: rela, relr: relr, proven: false, problem: nil,
                                     reason: "kallsyms names " + named.joined(separator: " and "))
        }
        return nil
    }
}

extension KernelImage {
    /// Adds kallsyms' account of the tables to `recognitions`; a disagreement with the tables in
    /// use is recorded as one (verify: recognizers-disagree).
    public mutating func addKallsymsWitness() {
        guard format == .image, var w = KallsymsWitness.recognize(self) else { return }
        func same(_ t: TableLocation?, _ b: (offset: Int, size: Int)?) -> Bool {
            guard let b else { return true } // a table it does not name is no disagreement
            return t.map { $0.imageOffset == b.offset && $0.size == b.size } ?? false
        }
        if same(rela, w.rela) && same(relr, w.relr) {
            w.proven = true
        } else {
            func text(_ b: (offset: Int, size: Int)?) -> String { b.map { "\(hex(UInt64($0.offset)))+\(hex(UInt64($0.size)))" } ?? "none" }
            w.problem = "kallsyms names RELA \(text(w.rela)), RELR \(text(w.relr)); the tables in use are RELA \(text(rela.map { ($0.imageOffset, $0.size) })), RELR \(text(relr.map { ($0.imageOffset, $0.size) }))"
            disagreements.append("kallsyms-symbols: " + w.problem!)
        }
        recognitions.append(w)
    }
}
