// A Slide Image: `slide mkimage` writes a 64-byte seal (magic, digest, covered size, RELA and RELR
// bounds) into the image; the kernel checks the digest before it trusts the bounds, and so does
// this recognizer. A seal whose digest does not match is not used (and said so).

import SlideCore

struct SealRecognizer: TableRecognizer {
    var source: Provenance { .seal }
    var readsCode: Bool { true }

    func recognize(_ input: DiscoveryInput) -> Recognition? {
        let data = input.data
        guard let (o, verdict) = ImageSeal.find(in: data, dataSize: data.count) else { return nil }
        guard case .ok(let seal) = verdict else {
            return Recognition(source: source, rela: nil, relr: nil,
                               reason: "seal at \(hex(UInt64(o))) does not match the image (digest or size); not used", evidence: o)
        }
        func bounds(_ offset: UInt64, _ size: UInt64) -> TableBounds? {
            guard size > 0, offset <= UInt64(data.count), size <= UInt64(data.count) - offset else { return nil }
            return TableBounds(offset: Int(offset), size: Int(size))
        }
        var r = Recognition(source: source, rela: bounds(seal.relaOffset, seal.relaSize), relr: bounds(seal.relrOffset, seal.relrSize),
                            reason: "table bounds in the slide mkimage seal at \(hex(UInt64(o))) (digest verified)", evidence: o)
        r.exceptionTable = bounds(UInt64(seal.extableOffset), UInt64(seal.extableSize))
        return r
    }
}
