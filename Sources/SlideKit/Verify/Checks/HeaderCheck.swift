// The arm64 Image header (docs/image.md) against the image; the PE/COFF header behind it is PECheck's.

import SlideCore

struct HeaderCheck: VerifyCheck {
    func run(_ c: inout VerifyContext) {
        let k = c.image
        guard let h = k.header else {
            if k.format == .elf { c.add(.warning, "no-image-header", "no arm64 Image header at the start of the image") }
            return
        }
        sizes(h, &c)
        if h.textOffset % 4096 != 0 {
            c.add(.error, "text-offset-misaligned", "text_offset \(hex(h.textOffset)) is not 4 KiB aligned")
        }
        if h.flags.reservedBits != 0 {
            c.add(.error, "flags-reserved", "flags \(hex(h.flags.rawValue)) sets reserved bits 4-63")
        }
        if h.flags.pageSize == .unspecified && h.imageSize != 0 {
            c.add(.warning, "page-size-unspecified", "flags leave the page size unspecified")
        }
        if h.flags.isBigEndian {
            c.add(.warning, "big-endian", "flags say big-endian; relocation tables were read as little-endian")
        }
        if let entry = h.entryOffset, entry < 0 || entry >= Int64(k.dataSize) {
            c.add(.error, "entry-outside-image", "code1 branches to \(hex(signed: entry)), outside the image data")
        }
        for t in [k.rela, k.relr].compactMap({ $0 }) where UInt64(t.imageOffset + t.size) > h.imageSize && h.imageSize != 0 {
            c.add(.error, "table-outside-image", "\(t.kind == .rela ? "RELA" : "RELR") table ends at \(hex(UInt64(t.imageOffset + t.size))), past image_size \(hex(h.imageSize))")
        }
    }

    private func sizes(_ h: ImageHeader, _ c: inout VerifyContext) {
        let k = c.image
        if h.imageSize == 0 {
            c.add(.warning, "image-size-zero", "image_size is 0: loaders assume a pre-3.17 kernel (16 MiB, text_offset 0x80000)")
            return
        }
        if h.imageSize < UInt64(k.dataSize) {
            c.add(.error, "image-size-too-small", "image_size \(hex(h.imageSize)) is smaller than the image data (\(hex(UInt64(k.dataSize))) bytes)")
        }
        if k.format == .elf && h.imageSize < k.memorySize {
            c.add(.error, "image-size-too-small", "image_size \(hex(h.imageSize)) is smaller than the ELF's allocated span \(hex(k.memorySize))")
        }
    }
}
