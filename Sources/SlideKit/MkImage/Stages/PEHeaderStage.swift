// The PE/COFF header: the Image as an EFI application (docs/image.md, "The PE/COFF header";
// SlideCore's PECOFF holds the layout). head.S puts "MZ" in code0, the header's offset in res5
// and PE_HEADER_SIZE zero bytes there; the link fixes the sections and the entry, so the
// header's values are written here, from the ELF's symbols and the Image header.
//
// As Linux lays out its own (arch/arm64/kernel/efi-header.S): image offsets are the RVAs
// (ImageBase 0, RVA == file offset, so the image also runs where it was loaded), .text from
// the end of the headers (_stext) to _etext, executable; .data from _etext, its raw data to
// _edata and its virtual size to image_size (BSS included); SizeOfImage = image_size; no base
// relocations (the kernel relocates itself).

import SlideCore

struct WritePEHeader: MkImageStage {
    func run(_ b: inout ImageBuild) throws(SlideKitError) {
        let h = b.header
        guard h.hasMZ else {
            b.notes.append("code0 \(hex(UInt64(h.code0))) carries no \"MZ\": not an EFI image, no PE header written")
            return
        }
        let at = Int(h.reserved5)
        if b.image.withUnsafeBytes({ ByteView($0).matches("PE\0\0", at: at) }) {
            b.notes.append("a PE header is already at \(hex(UInt64(at))) (res5): kept as linked, checked by verification")
            return
        }
        let pe = try header(b)
        guard at >= ImageHeader.size, at % 8 == 0, at + PECOFF.headerSize <= Int(pe.sizeOfHeaders) else {
            throw b.refuse("res5 \(hex(UInt64(at))) leaves no room for the \(PECOFF.headerSize)-byte PE header between the Image header "
                + "and the text at \(hex(UInt64(pe.sizeOfHeaders)))")
        }
        guard b.image[at..<(at + PECOFF.headerSize)].allSatisfy({ $0 == 0 }) else {
            throw b.refuse("the PE header's room at \(hex(UInt64(at))) (res5) is not zero: head.S reserves it as zeros for mkimage")
        }
        try b.edit { (m) throws(SlideError) in try pe.write(to: m, at: at) }
        b.notes.append("wrote the PE/COFF header at \(hex(UInt64(at))): entry \(hex(UInt64(pe.entryPoint))), "
            + "SizeOfImage \(hex(UInt64(pe.sizeOfImage))), SectionAlignment \(hex(UInt64(pe.sectionAlignment)))")
    }

    /// The layout from the ELF's symbols and the Image header, then the header it makes.
    private func header(_ b: ImageBuild) throws(SlideKitError) -> PEHeader {
        func offset(_ name: String) throws(SlideKitError) -> UInt64 {
            guard let va = b.elf.symbols[name], va >= b.linkBase, va - b.linkBase <= UInt64(UInt32.max) else {
                throw b.refuse("the PE header needs the symbol \(name) inside the image (\"MZ\" in code0 makes this an EFI image)")
            }
            return va - b.linkBase
        }
        guard let page = b.header.flags.pageSize.bytes else { throw b.refuse("the PE header's SectionAlignment needs the header's page size (flags)") }
        let layout = PELayout(text: try offset("_stext"), etext: try offset("_etext"), edata: try offset("_edata"),
                              entry: try offset("slide_efi_entry"), imageSize: b.header.imageSize, fileSize: UInt64(b.image.count), pageSize: page)
        switch layout.header() {
        case .success(let pe): return pe
        case .failure(let problems): throw b.refuse("cannot write the PE header: " + problems.reasons.joined(separator: "; "))
        }
    }
}

/// What the PE header is made of: image offsets of `_stext`, `_etext`, `_edata` and the entry,
/// the Image header's image_size and page size, and the file's size.
struct PELayout {
    var text: UInt64, etext: UInt64, edata: UInt64, entry: UInt64
    var imageSize: UInt64, fileSize: UInt64, pageSize: UInt64

    struct Problems: Error { var reasons: [String] }

    /// The header, or every reason an EFI loader could not place the image this way.
    func header() -> Result<PEHeader, Problems> {
        let align = UInt64(PECOFF.fileAlignment), page = pageSize
        var problems: [String] = []
        if page == 0 || page & (page - 1) != 0 || page < align { problems.append("page size \(hex(page)) is no SectionAlignment (a power of two, at least \(hex(align)))") }
        else if text == 0 || text % page != 0 || etext % page != 0 || text >= etext {
            problems.append("text [\(hex(text)), \(hex(etext))) does not start and end on the \(page / 1024) KiB page (SectionAlignment)")
        }
        if edata != fileSize { problems.append("_edata \(hex(edata)) is not the end of the image data (\(hex(fileSize)))") }
        if fileSize % align != 0 { problems.append("the image data (\(hex(fileSize)) bytes) does not end on FileAlignment \(hex(align)) (kernel.lds pads it)") }
        if etext > edata { problems.append("_etext \(hex(etext)) lies past _edata \(hex(edata))") }
        if imageSize < fileSize || page == 0 || imageSize % page != 0 || imageSize > UInt64(UInt32.max) {
            problems.append("image_size \(hex(imageSize)) is not a page multiple of at least the data that fits SizeOfImage")
        }
        if entry < text || entry >= etext { problems.append("slide_efi_entry \(hex(entry)) lies outside the text [\(hex(text)), \(hex(etext)))") }
        if !problems.isEmpty { return .failure(Problems(reasons: problems)) }
        var pe = PEHeader()
        pe.sizeOfCode = UInt32(etext - text)
        pe.sizeOfInitializedData = UInt32(edata - etext)
        pe.entryPoint = UInt32(entry)
        pe.baseOfCode = UInt32(text)
        pe.sectionAlignment = UInt32(page)
        pe.sizeOfImage = UInt32(imageSize)
        pe.sizeOfHeaders = UInt32(text)
        pe.sections = [
            PESection(name: PECOFF.sectionName(".text"), virtualSize: pe.sizeOfCode, virtualAddress: pe.baseOfCode, rawSize: pe.sizeOfCode,
                      rawPointer: pe.baseOfCode, characteristics: PECOFF.sectionCode | PECOFF.sectionRead | PECOFF.sectionExecute),
            PESection(name: PECOFF.sectionName(".data"), virtualSize: UInt32(imageSize - etext), virtualAddress: UInt32(etext),
                      rawSize: pe.sizeOfInitializedData, rawPointer: UInt32(etext),
                      characteristics: PECOFF.sectionInitializedData | PECOFF.sectionRead | PECOFF.sectionWrite),
        ]
        return .success(pe)
    }
}
