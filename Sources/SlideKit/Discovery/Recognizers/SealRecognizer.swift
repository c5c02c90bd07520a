// A Slide Image: `slide mkimage` writes a 64-byte seal (magic, digest, covered size, RELA and RELR
// bounds) into the image; the kernel checks the digest before it trusts the bounds, and so does
// this recognizer. A seal whose digest does not match is not used (and said so). The link base
// is the constant the kernel's own `link_base` routine builds (Kernel/Asm/layout.S: KIMAGE_VADDR in
// four MOVZ/MOVK immediates), found through the symbol map mkimage embeds.

import SlideCore

struct SealRecognizer: TableRecognizer {
    static let name = "slide-seal"
    static let summary = "a Slide Image's seal (digest checked)"
    var readsCode: Bool { true }
    /// The seal is data: no code to trace.
    var readsRoutines: Bool { false }

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
        if let (base, at) = Self.linkBaseRoutine(data) {
            r.linkBase = base
            r.linkBaseEvidence = "KIMAGE_VADDR \(hex(base)) built by MOVZ/MOVK in link_base at \(hex(UInt64(at)))"
        }
        r.exceptionTable = bounds(UInt64(seal.extableOffset), UInt64(seal.extableSize))
        return r
    }

    /// The constant `link_base` builds: the routine named in the symbol map, four move-wide
    /// instructions into x0 (MOVZ then MOVK), then RET.
    static func linkBaseRoutine(_ data: ByteView) -> (UInt64, Int)? {
        var o = 0
        while o + SymbolMap.headerSize <= data.count {
            defer { o += 8 }
            guard data.u64Unchecked(at: o) == SymbolMap.magic,
                  let map = SymbolMap(ByteView(start: data.base.map { $0 + o }, count: data.count - o)) else { continue }
            for i in 0..<map.count where String(map.name(i)) == "link_base" {
                let at = Int(map.start(i))
                guard at + 20 <= data.count else { return nil }
                var value: UInt64 = 0
                for n in 0..<4 {
                    guard case .moveWide(let kind, 0, let imm16, let shift, true) = A64Instruction(data.u32Unchecked(at: at + 4 * n)),
                          kind == (n == 0 ? .movz : .movk) else { return nil }
                    value |= imm16 << shift
                }
                guard case .returnOrIndirect = A64Instruction(data.u32Unchecked(at: at + 16)) else { return nil }
                return (value, at)
            }
            return nil
        }
        return nil
    }
}
