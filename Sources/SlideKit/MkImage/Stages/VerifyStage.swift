// The built image, verified as `slide verify` would, with the tables as built (the ELF's, as
// repacked), not rediscovered in the flat image.

import SlideCore

struct VerifyBuiltImage: MkImageStage {
    func run(_ b: inout ImageBuild) throws(SlideKitError) {
        var built = try KernelImage.load(bytes: b.image, path: b.path, discovery: .only(SealRecognizer.self), linkBase: b.linkBase)
        func location(_ kind: TableLocation.Kind, _ r: Range<Int>) -> TableLocation? {
            r.isEmpty ? nil : TableLocation(kind: kind, imageOffset: r.lowerBound, size: r.count, source: .elfSection, confidence: 1,
                                            reason: "from the ELF", sectionName: nil, fileOffset: r.lowerBound)
        }
        built.rela = location(.rela, b.relaRange)
        built.relr = location(.relr, b.relrRange)
        built.disagreements = []
        built.guessDisagreements = []
        let report = try Verifier.verify(built)
        if let first = report.findings.first(where: { $0.severity == .error }) {
            throw b.refuse("the built image fails verification: \(first.message)")
        }
    }
}
