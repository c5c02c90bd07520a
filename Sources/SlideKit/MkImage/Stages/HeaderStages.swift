// The Image header: the values the linker could not write, then the header against the ELF.

import SlideCore

/// A placeholder header (image_size and flags 0) gets the values the linker could not write:
/// the "fixup step" of docs/image.md.
struct FillHeaderPlaceholder: MkImageStage {
    func run(_ b: inout ImageBuild) throws(SlideKitError) {
        guard b.header.imageSize == 0 && b.header.flags.rawValue == 0 else { return }
        let page = b.options.pageSize ?? 4096
        guard let field = PageSizeField(bytes: page) else { throw b.refuse("--page-size must be 4096, 16384 or 65536") }
        b.header.imageSize = b.input.memorySize
        b.header.flags = ImageFlags(pageSize: field, placementAnywhere: true)
        let header = b.header
        try b.edit { (m) throws(SlideError) in try header.write(to: m) }
        b.notes.append("filled the header placeholder: image_size \(hex(b.input.memorySize)), flags \(hex(b.header.flags.rawValue))")
    }
}

/// The header, checked against what the ELF says, never rewritten.
/// booting.rst: the loader leaves image_size bytes free from the Image start, so image_size
/// may exceed the ELF's extent (Linux's is `_end - _text`, with `_end` aligned past the
/// last section) but never fall short of it (BSS would land on whatever follows).
struct CheckHeader: MkImageStage {
    func run(_ b: inout ImageBuild) throws(SlideKitError) {
        let header = b.header, extent = b.input.memorySize
        var problems: [String] = []
        if header.imageSize < extent {
            problems.append("image_size \(hex(header.imageSize)) is smaller than the ELF's extent \(hex(extent))")
        } else if header.imageSize > extent {
            b.notes.append("image_size \(hex(header.imageSize)) reserves \(hex(header.imageSize - extent)) bytes past the ELF's extent "
                + "\(hex(extent)) (the linker script aligns _end past the last section)")
        }
        if let page = b.options.pageSize {
            guard let field = PageSizeField(bytes: page) else { throw b.refuse("--page-size must be 4096, 16384 or 65536") }
            if header.flags.pageSize != field { problems.append("flags page size \(header.flags.pageSize) differs from --page-size \(page / 1024)K") }
        }
        // The Slide kernel's linker script records its page size as the absolute symbol PAGE_SIZE
        // (Kernel/kernel.lds): the header's page-size flag must say the same.
        if let page = b.elf.symbols["PAGE_SIZE"], let field = PageSizeField(bytes: page), header.flags.pageSize != field {
            problems.append("flags page size \(header.flags.pageSize) differs from the ELF's PAGE_SIZE \(page / 1024)K")
        }
        if header.flags.reservedBits != 0 { problems.append("flags \(hex(header.flags.rawValue)) sets reserved bits") }
        if header.textOffset != 0 && header.textOffset % 4096 != 0 { problems.append("text_offset \(hex(header.textOffset)) is not 4 KiB aligned") }
        if !problems.isEmpty { throw b.refuse("Image header disagrees with the ELF: " + problems.joined(separator: "; ")) }
    }
}
