// slide_efi_main: the kernel's EFI stub, called by Asm/efi.S from the PE entry point with the
// firmware's image handle and system table. It finds the FDT, a seed (EFI_RNG_PROTOCOL) and the
// command line (the loaded image's options), chooses the physical slot with SlideCore's rule
// over the firmware's EFI_CONVENTIONAL_MEMORY (SlideKASLR.efiSlot), copies the image there,
// writes /chosen in its own copy of the FDT as Linux's stub does (drivers/firmware/efi/libstub/
// fdt.c, 6.1: bootargs, kaslr-seed, linux,uefi-system-table, linux,uefi-mmap-*; plus
// EFIStubFacts), and exits boot services. efi.S then turns the MMU off and enters primary_entry
// in the copy, where slide_place sees `slide,efi-stub` and leaves the image where it is.
// Before relocation (Early.swift's constraints) but with the firmware's identity map, caches on.

/// Bytes of room the stub's FDT copy has beyond the firmware's blob.
let efiFDTRoom: UInt64 = 64 << 10
/// The memory map buffer: 64 KiB, over 1300 descriptors of edk2's 48 bytes.
let efiMapPages: UInt64 = 16

/// The firmware's loaded image: where it is, how much it has, and its load options (UCS-2).
struct EFILoadedImage {
    let base: UInt64, size: UInt64
    let options: UnsafePointer<UInt16>?, optionChars: Int

    /// EFI_LOADED_IMAGE_PROTOCOL (§9.1): LoadOptionsSize (UINT32) at 48, LoadOptions at 56, ImageBase at 64, ImageSize at 72.
    init(_ p: UnsafeRawPointer) {
        base = p.load(fromByteOffset: 64, as: UInt64.self)
        size = p.load(fromByteOffset: 72, as: UInt64.self)
        let raw = UnsafeRawPointer(bitPattern: p.load(fromByteOffset: 56, as: UInt.self))
        options = raw?.assumingMemoryBound(to: UInt16.self)
        var n = 0
        let limit = raw == nil ? 0 : Int(p.load(fromByteOffset: 48, as: UInt32.self)) / 2
        while n < limit, let o = options, o[n] != 0 { n += 1 }
        optionChars = n
    }

    /// The options as ASCII (others as '?'), for /chosen/bootargs and the early rules.
    func byte(_ i: Int) -> UInt8 {
        guard let o = options else { return 0 }
        return o[i] < 0x80 ? UInt8(o[i]) : UInt8(ascii: "?")
    }

    var bootArgs: SlideBootArgs { SlideBootArgs(length: optionChars, byte: byte) }
}

/// The stub's buffers: the FDT copy and the memory map, both EfiLoaderData (kept after ExitBootServices).
struct EFIStubBuffers {
    let fdt: UnsafeMutableRawPointer, fdtCapacity: Int
    let map: UnsafeMutableRawPointer, mapCapacity: UInt64
}

@c(slide_efi_main)
func slideEFIMain(_ imageHandle: UInt64, _ systemTable: UInt64, _ imagePA: UInt64, _ out: UnsafeMutableRawPointer) -> EFIStatus {
    guard let efi = EFIFirmware(imageHandle: imageHandle, systemTable: systemTable) else { return EFIStatusCode.loadError }
    efi.say("slide-efi: stub, image at ", imagePA)
    guard let loadedImage = efi.handleProtocol(.loadedImage) else {
        efi.say("slide-efi: no EFI_LOADED_IMAGE_PROTOCOL")
        return EFIStatusCode.notFound
    }
    let image = EFILoadedImage(loadedImage)
    guard let firmwareFDT = efi.configurationTable(.deviceTree) else {
        efi.say("slide-efi: no device tree in the configuration table (QEMU: -M virt,acpi=off)")
        return EFIStatusCode.notFound
    }
    let seed = efi.randomSeed()
    if let seed { efi.say("slide-efi: EFI_RNG_PROTOCOL seed ", seed) } else { efi.say("slide-efi: no EFI_RNG_PROTOCOL: the image is not moved at random") }
    var buffers: EFIStubBuffers
    do throws(SlideError) {
        guard let b = try copyFDT(efi, from: firmwareFDT) else { return EFIStatusCode.outOfResources }
        buffers = b
    } catch {
        efi.say("slide-efi: the firmware's FDT is unreadable at ", firmwareFDT)
        return EFIStatusCode.loadError
    }
    var facts = EFIStubFacts()
    facts.loadedAt = imagePA
    facts.rng = seed != nil ? 1 : 0
    let status = placeAndWrite(efi, image, seed: seed, buffers, &facts)
    guard status == EFIStatusCode.success else { return status }
    efi.say("slide-efi: exiting boot services; the kernel at ", facts.slot)
    let exit = exitBootServices(efi, buffers)
    guard exit == EFIStatusCode.success else { return exit }
    var layout = ImageLayout()
    imageLayout(&layout)
    out.storeBytes(of: EFIHandoff(image: facts.slot, imageSize: layout.end &- layout.text, fdt: UInt64(UInt(bitPattern: buffers.fdt)),
                                  fdtSize: UInt64(buffers.fdtCapacity)), as: EFIHandoff.self)
    return EFIStatusCode.success
}

/// Allocates the stub's buffers and copies the firmware's FDT into the first, with room; nil when
/// the firmware has no memory for them.
func copyFDT(_ efi: EFIFirmware, from fdtPA: UInt64) throws(SlideError) -> EFIStubBuffers? {
    guard let source = UnsafeMutableRawPointer(bitPattern: UInt(fdtPA)) else { throw .invalid("FDT address", value: 0) }
    let fdt = try FDT(at: source, limit: 16 << 20)
    let capacity = (UInt64(fdt.totalSize) + efiFDTRoom + 4095) & ~4095
    var fdtCopy: UInt64 = 0, map: UInt64 = 0
    guard efi.allocatePages(.anyPages, .loaderData, pages: capacity / 4096, &fdtCopy) == EFIStatusCode.success,
          efi.allocatePages(.anyPages, .loaderData, pages: efiMapPages, &map) == EFIStatusCode.success,
          let to = UnsafeMutableRawPointer(bitPattern: UInt(fdtCopy)), let mapBuffer = UnsafeMutableRawPointer(bitPattern: UInt(map)) else {
        efi.say("slide-efi: AllocatePages failed for the FDT copy and the memory map")
        return nil
    }
    for i in 0..<fdt.totalSize { to.storeBytes(of: source.load(fromByteOffset: i, as: UInt8.self), toByteOffset: i, as: UInt8.self) }
    return EFIStubBuffers(fdt: to, fdtCapacity: Int(capacity), map: mapBuffer, mapCapacity: efiMapPages * 4096)
}

/// Chooses the slot over the firmware's conventional memory, puts the image there (copied, its
/// BSS zeroed) and writes /chosen. Fills in `facts`.
func placeAndWrite(_ efi: EFIFirmware, _ image: EFILoadedImage, seed: UInt64?, _ b: EFIStubBuffers, _ facts: inout EFIStubFacts) -> EFIStatus {
    var layout = ImageLayout()
    imageLayout(&layout)
    let imageSize = layout.end &- layout.text, fileSize = layout.edata &- layout.text
    var placement = PhysicalPlacement(granule: kernelGranule)
    let w: FDTWriter
    do throws(SlideError) {
        w = try FDTWriter(at: b.fdt, capacity: b.fdtCapacity)
        let status = conventionalMemory(efi, b, &placement, &facts)
        guard status == EFIStatusCode.success else { return status }
        try writeRanges(w, placement)
    } catch {
        efi.say("slide-efi: the FDT copy or the memory map is unreadable")
        return EFIStatusCode.loadError
    }
    let args = image.bootArgs
    facts.seed = seed ?? 0
    guard let target = chooseSlot(efi, image, seed: SlideKASLR.physicalSeed(args, fdtSeed: seed ?? 0), placement, imageSize: imageSize, &facts) else {
        return EFIStatusCode.outOfResources
    }
    facts.slot = target
    if target != facts.loadedAt { copyImage(from: facts.loadedAt, to: target, fileSize: fileSize, imageSize: imageSize) }
    restorePEImageBase(target)
    do throws(SlideError) {
        if image.optionChars > 0 { try writeBootArgs(w, image) }
        if let seed, !args.nokaslr { try w.setU64(node: "chosen", name: "kaslr-seed", seed) }
        try w.setU64(node: "chosen", name: "linux,uefi-system-table", UInt64(UInt(bitPattern: efi.systemTable)))
        if let initrd = loadInitrd(efi) {
            try w.setU64(node: "chosen", name: "linux,initrd-start", initrd.start)
            try w.setU64(node: "chosen", name: "linux,initrd-end", initrd.end)
        }
        try facts.write(w)
    } catch {
        efi.say("slide-efi: no room for /chosen in the FDT copy")
        return EFIStatusCode.bufferTooSmall
    }
    return EFIStatusCode.success
}

/// The first memory map: its conventional memory into `placement` and the census into `facts`.
func conventionalMemory(_ efi: EFIFirmware, _ b: EFIStubBuffers, _ placement: inout PhysicalPlacement, _ facts: inout EFIStubFacts) -> EFIStatus {
    let map = efi.memoryMap(b.map, capacity: b.mapCapacity)
    guard map.0 == EFIStatusCode.success else {
        efi.say("slide-efi: GetMemoryMap failed: ", map.0)
        return map.0
    }
    var census = EFIConventionalCensus()
    do throws(SlideError) {
        try EFIMemoryDescriptor.forEach(ByteView(start: b.map, count: Int(map.size)), descriptorSize: Int(map.descriptorSize)) { r in
            census.add(r)
            if r.type == .conventional, let size = r.size { placement.addRAM(base: r.start, size: size) }
        }
    } catch {
        efi.say("slide-efi: the memory map is malformed; descriptor size ", map.descriptorSize)
        return EFIStatusCode.loadError
    }
    facts.conventionalRanges = UInt64(census.ranges)
    facts.conventionalBytes = census.bytes
    facts.rangesUsed = UInt64(placement.ramCount)
    efi.say("slide-efi: conventional ranges ", facts.conventionalRanges)
    return EFIStatusCode.success
}

/// Where the image goes: the rule's slot with a seed; else where the firmware loaded it, when
/// that is page-aligned and holds the BSS; else any 2 MiB-aligned free place. Nil when the
/// firmware refuses the pages.
func chooseSlot(_ efi: EFIFirmware, _ image: EFILoadedImage, seed: UInt64?, _ placement: PhysicalPlacement, imageSize: UInt64,
                _ facts: inout EFIStubFacts) -> UInt64? {
    let pages = (imageSize + 4095) / 4096
    if let seed {
        guard let choice = SlideKASLR.efiSlot(seed: seed, placement: placement, imageSize: imageSize) else {
            efi.say("slide-efi: no slot in conventional memory for bytes ", imageSize)
            return nil
        }
        var address = choice.address
        guard efi.allocatePages(.address, .loaderData, pages: pages, &address) == EFIStatusCode.success else {
            efi.say("slide-efi: AllocatePages refused the slot ", choice.address)
            return nil
        }
        facts.candidates = choice.candidates
        return address
    }
    if image.base == facts.loadedAt && image.size >= imageSize && facts.loadedAt % kernelGranule.pageSize == 0 { return facts.loadedAt }
    var address: UInt64 = 0
    guard efi.allocatePages(.anyPages, .loaderData, pages: pages + ImageAlignment.kernel / 4096, &address) == EFIStatusCode.success else {
        efi.say("slide-efi: AllocatePages failed for the image")
        return nil
    }
    return (address + ImageAlignment.kernel - 1) & ~(ImageAlignment.kernel - 1)
}

/// Copies the file's bytes of the image and zeroes its BSS, 8 bytes at a time (caches on).
func copyImage(from: UInt64, to: UInt64, fileSize: UInt64, imageSize: UInt64) {
    guard let source = UnsafeRawPointer(bitPattern: UInt(from)), let target = UnsafeMutableRawPointer(bitPattern: UInt(to)) else { return }
    var o = 0
    while UInt64(o) < fileSize { target.storeBytes(of: source.load(fromByteOffset: o, as: UInt64.self), toByteOffset: o, as: UInt64.self); o += 8 }
    while UInt64(o) < imageSize { target.storeBytes(of: 0, toByteOffset: o, as: UInt64.self); o += 8 }
}

/// `slide,efi-conventional`: the ranges the slot rule saw, (base, size) big-endian pairs.
func writeRanges(_ w: FDTWriter, _ placement: PhysicalPlacement) throws(SlideError) {
    var cells = InlineArray<128, UInt64>(repeating: 0)
    var n = 0
    placement.forEachRAM { base, end in
        cells[n] = base.bigEndian; cells[n + 1] = (end &- base).bigEndian; n += 2
    }
    try withUnsafeBytes(of: &cells) { (v) throws(SlideError) in
        try w.setProperty(node: "chosen", name: "slide,efi-conventional", value: v.baseAddress!, length: 8 * n)
    }
}

/// /chosen/bootargs from the load options (ASCII, NUL-terminated; up to 1023 characters).
func writeBootArgs(_ w: FDTWriter, _ image: EFILoadedImage) throws(SlideError) {
    var text = InlineArray<1024, UInt8>(repeating: 0)
    let n = min(image.optionChars, 1023)
    for i in 0..<n { text[i] = image.byte(i) }
    try withUnsafeBytes(of: &text) { (v) throws(SlideError) in
        try w.setProperty(node: "chosen", name: "bootargs", value: v.baseAddress!, length: n + 1)
    }
}

/// The final memory map into /chosen (linux,uefi-mmap-*), then ExitBootServices; again with a
/// new map when the key went stale (EFI_INVALID_PARAMETER, §7.4), up to three times.
func exitBootServices(_ efi: EFIFirmware, _ b: EFIStubBuffers) -> EFIStatus {
    var last = EFIStatusCode.invalidParameter
    for _ in 0..<3 {
        let map = efi.memoryMap(b.map, capacity: b.mapCapacity)
        guard map.0 == EFIStatusCode.success else { return map.0 }
        do throws(SlideError) {
            let w = try FDTWriter(at: b.fdt, capacity: b.fdtCapacity)
            try w.setU64(node: "chosen", name: "linux,uefi-mmap-start", UInt64(UInt(bitPattern: b.map)))
            try w.setU32(node: "chosen", name: "linux,uefi-mmap-size", UInt32(truncatingIfNeeded: map.size))
            try w.setU32(node: "chosen", name: "linux,uefi-mmap-desc-size", UInt32(truncatingIfNeeded: map.descriptorSize))
            try w.setU32(node: "chosen", name: "linux,uefi-mmap-desc-ver", map.version)
        } catch {
            return EFIStatusCode.bufferTooSmall
        }
        last = efi.exitBootServices(mapKey: map.key)
        if last != EFIStatusCode.invalidParameter { return last }
    }
    return last
}

/// Puts back the one header field a PE loader rewrites: edk2's loader stores the load address in
/// the loaded image's OptionalHeader.ImageBase (measured: the seal's digest, which covers the
/// header, then fails), and `slide mkimage` writes ImageBase = 0 (PEHeaderStage). The header is
/// at res5 (e_lfanew, 0x3c), ImageBase in its PE32+ optional header (PEHeader.Field).
func restorePEImageBase(_ image: UInt64) {
    guard let p = UnsafeMutableRawPointer(bitPattern: UInt(image)) else { return }
    let pe = Int(p.load(fromByteOffset: 0x3c, as: UInt32.self))
    guard pe & 7 == 0, pe >= 64, pe + PECOFF.headerSize <= 1 << 16, p.load(fromByteOffset: pe, as: UInt32.self) == PECOFF.signature,
          p.load(fromByteOffset: pe + PECOFF.optionalHeader, as: UInt16.self) == PECOFF.pe32PlusMagic else { return }
    p.storeBytes(of: 0, toByteOffset: pe + PECOFF.optionalHeader + PEHeader.Field.imageBase, as: UInt64.self)
}
