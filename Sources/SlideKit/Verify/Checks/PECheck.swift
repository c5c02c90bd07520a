// The PE/COFF header of an EFI Image ("MZ" in code0) against the Image header and the file
// (docs/image.md, "The PE/COFF header"): what an EFI loader reads to place and start the
// image must describe the same image the arm64 boot protocol does.

import SlideCore

struct PECheck: VerifyCheck {
    func run(_ c: inout VerifyContext) {
        let k = c.image
        guard k.format == .image, let h = k.header, h.hasMZ else { return }
        guard let pe = k.pe else {
            c.add(.error, "pe-header-missing", "code0 starts with \"MZ\" but res5 (\(hex(UInt64(h.reserved5)))) does not point at a PE header: \(decodeError(k, h))")
            return
        }
        header(pe, h, &c)
        for (i, s) in pe.sections.enumerated() { section(i, s, pe, &c) }
        let entry = UInt64(pe.entryPoint)
        if !pe.sections.contains(where: { $0.isExecutable && entry >= UInt64($0.virtualAddress) && entry < $0.virtualEnd }) {
            c.add(.error, "pe-entry", "PE AddressOfEntryPoint \(hex(entry)) lies in no executable section")
        }
    }

    /// Why the header at res5 does not decode (the image load only keeps a header that does).
    private func decodeError(_ k: KernelImage, _ h: ImageHeader) -> String {
        do throws(SlideError) {
            _ = try k.bytes.withView { (v) throws(SlideError) in try PEHeader(from: v, at: Int(h.reserved5)) }
            return "it does not decode"
        } catch {
            return "\(error)"
        }
    }

    private func header(_ pe: PEInfo, _ h: ImageHeader, _ c: inout VerifyContext) {
        let p = pe.header
        if pe.offset != Int(h.reserved5) || pe.offset < ImageHeader.size || pe.offset % 8 != 0 {
            c.add(.error, "pe-offset", "the PE header at \(hex(UInt64(pe.offset))) is not at res5 \(hex(UInt64(h.reserved5))), 8-byte aligned past the Image header")
        }
        if UInt64(p.sizeOfImage) != h.imageSize {
            c.add(.error, "pe-size-mismatch", "PE SizeOfImage \(hex(UInt64(p.sizeOfImage))) differs from image_size \(hex(h.imageSize))")
        }
        if p.machine != PECOFF.machineARM64 {
            c.add(.error, "pe-machine", "PE Machine \(hex(UInt64(p.machine))) is not arm64 (\(hex(UInt64(PECOFF.machineARM64))))")
        }
        if p.subsystem != PECOFF.subsystemEFIApplication {
            c.add(.error, "pe-subsystem", "PE Subsystem \(p.subsystem) is not an EFI application (\(PECOFF.subsystemEFIApplication))")
        }
        let tableEnd = UInt64(pe.offset + PECOFF.optionalHeader) + UInt64(pe.header.optionalHeaderSize) + UInt64(pe.sectionCount * PECOFF.sectionHeaderSize)
        if UInt64(p.sizeOfHeaders) < tableEnd || UInt64(p.sizeOfHeaders) > UInt64(c.image.dataSize) {
            c.add(.error, "pe-headers-size", "PE SizeOfHeaders \(hex(UInt64(p.sizeOfHeaders))) does not cover the section table (to \(hex(tableEnd))) within the image data")
        }
        if !isPowerOfTwo(p.fileAlignment) || p.fileAlignment < 512 || !isPowerOfTwo(p.sectionAlignment) || p.sectionAlignment < p.fileAlignment {
            c.add(.error, "pe-alignment", "PE SectionAlignment \(hex(UInt64(p.sectionAlignment))) and FileAlignment \(hex(UInt64(p.fileAlignment))) "
                + "are not powers of two with SectionAlignment >= FileAlignment >= 0x200")
        }
        if let relocations = p.directory(PECOFF.baseRelocationDirectory), relocations.size != 0 {
            c.add(.warning, "pe-base-relocations", "the PE header has base relocations (\(hex(UInt64(relocations.size))) bytes): the loader would patch the image before the kernel relocates itself")
        }
    }

    private func section(_ i: Int, _ s: PESection, _ pe: PEInfo, _ c: inout VerifyContext) {
        let name = "PE section \(i) (\(s.nameText))"
        if s.virtualEnd > UInt64(pe.sizeOfImage) || UInt64(s.virtualAddress) < UInt64(pe.header.sizeOfHeaders) {
            c.add(.error, "pe-section-outside-image", "\(name) spans [\(hex(UInt64(s.virtualAddress))), \(hex(s.virtualEnd))), outside "
                + "[SizeOfHeaders \(hex(UInt64(pe.header.sizeOfHeaders))), SizeOfImage \(hex(UInt64(pe.sizeOfImage))))")
        }
        if s.rawEnd > UInt64(c.image.dataSize) {
            c.add(.error, "pe-section-outside-file", "\(name)'s raw data runs to \(hex(s.rawEnd)), past the image data (\(hex(UInt64(c.image.dataSize))) bytes)")
        }
        if s.rawSize > 0 && s.rawPointer != s.virtualAddress {
            c.add(.error, "pe-section-layout", "\(name) is loaded at RVA \(hex(UInt64(s.virtualAddress))) from file offset \(hex(UInt64(s.rawPointer))): "
                + "the loaded image would not have the Image's layout")
        }
        if pe.sectionAlignment != 0 && s.virtualAddress % pe.sectionAlignment != 0 {
            c.add(.error, "pe-section-misaligned", "\(name) RVA \(hex(UInt64(s.virtualAddress))) is not a multiple of SectionAlignment \(hex(UInt64(pe.sectionAlignment)))")
        }
    }

    private func isPowerOfTwo(_ v: UInt32) -> Bool { v != 0 && v & (v - 1) == 0 }
}
