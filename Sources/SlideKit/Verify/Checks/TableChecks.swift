// The relocation tables as found: present, proven, and agreed on by the recognizers.

import SlideCore

struct TablePresenceCheck: VerifyCheck {
    func run(_ c: inout VerifyContext) {
        let k = c.image
        guard k.rela == nil && k.relr == nil else { return }
        // A kernel Image always carries its tables (RELOCATABLE is on in every arm64 defconfig
        // and distribution kernel): not finding them means Slide cannot check or relocate it.
        let fatal = k.header != nil && !c.allowNoTable
        c.add(fatal ? .error : .warning, "no-relocation-table",
              "no relocation table found; the image cannot be checked or relocated" + (fatal ? " (--allow-no-table makes this a warning)" : ""))
    }
}

struct TableProvenanceCheck: VerifyCheck {
    func run(_ c: inout VerifyContext) {
        for t in [c.image.rela, c.image.relr].compactMap({ $0 }) where !t.proven {
            let name = t.kind == .rela ? "RELA" : "RELR"
            c.add(.warning, "table-not-proven", "\(name) table found by \(t.source.rawValue), not proven "
                + "(confidence \(format2(t.confidence))): \(t.caveat ?? t.reason)", table: name)
        }
    }
}

struct RecognizerAgreementCheck: VerifyCheck {
    func run(_ c: inout VerifyContext) {
        for d in c.image.disagreements { c.add(.error, "recognizers-disagree", d) }
        for d in c.image.guessDisagreements { c.add(.warning, "structural-scan-disagrees", d) }
    }
}
