// The seal: the digest of the image and the tables' bounds, written into the `slide_seal`
// placeholder for the kernel to check before it relocates (SlideCore's ImageSeal).

import SlideCore

struct SealImage: MkImageStage {
    func run(_ b: inout ImageBuild) throws(SlideKitError) {
        guard let sealVA = b.elf.symbols["slide_seal"] else {
            b.notes.append("no slide_seal symbol: the image is not sealed (the kernel cannot verify it at boot)")
            return
        }
        let at = Int(sealVA &- b.linkBase)
        var seal = ImageSeal()
        seal.covered = UInt64(b.image.count)
        seal.relaOffset = UInt64(b.relaRange.lowerBound); seal.relaSize = UInt64(b.relaRange.count)
        seal.relrOffset = UInt64(b.relrRange.lowerBound); seal.relrSize = UInt64(b.relrRange.count)
        if let (offset, size) = b.elf.extable, let o = UInt32(exactly: offset), let n = UInt32(exactly: size) {
            seal.extableOffset = o; seal.extableSize = n
        }
        let tables = [b.relaRange, b.relrRange]
        try b.edit { (m) throws(SlideError) in
            guard at & 7 == 0, at >= ImageHeader.size, m.contains(offset: at, size: ImageSeal.size),
                  m.readOnly.u64Unchecked(at: at) == ImageDigest.sealMagic else {
                throw SlideError.invalid("slide_seal symbol: no 8-aligned \"SLIDEVF1\" placeholder at image offset", value: UInt64(bitPattern: Int64(at)))
            }
            for r in tables where at < r.upperBound && r.lowerBound < at + ImageSeal.size {
                throw SlideError.invalid("slide_seal overlaps a relocation table at", value: UInt64(at))
            }
            try seal.write(to: m, at: at)
            seal.digest = ImageDigest.compute(m.readOnly, covered: m.count, sealOffset: at)
            try seal.write(to: m, at: at)
        }
        b.sealed = true
    }
}
