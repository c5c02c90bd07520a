// The EFI stub's initrd: what the loader offers through EFI_LOAD_FILE2 on the vendor media
// device path LINUX_EFI_INITRD_MEDIA_GUID (the protocol Linux's stub reads since 5.8:
// drivers/firmware/efi/libstub/efi-stub-helper.c, efi_load_initrd_dev_path, 6.1; edk2's
// QemuKernelLoaderFsDxe offers QEMU's -initrd this way). Loaded into EfiLoaderData pages and
// named in /chosen/linux,initrd-start and -end, where the kernel's module loader reads it.
// Before relocation, before ExitBootServices (EFIStub.swift's constraints).

/// Loads the initrd when the firmware offers one: its [start, end), or nil (none offered, or it
/// failed to load: said on the console).
func loadInitrd(_ efi: EFIFirmware) -> (start: UInt64, end: UInt64)? {
    // The device path: one vendor media node (type 4, subtype 3, 20 bytes: the GUID) and the end node.
    var path = InlineArray<24, UInt8>(repeating: 0)
    path[0] = 4; path[1] = 3; path[2] = 20
    var guid = EFIGUID.linuxInitrdMedia
    withUnsafeBytes(of: &guid) { g in for i in 0..<16 { path[4 + i] = g[i] } }
    path[20] = 0x7f; path[21] = 0xff; path[22] = 4
    let found = withUnsafeMutableBytes(of: &path) { p -> (UnsafeMutableRawPointer, UnsafeMutableRawPointer)? in
        guard let found = efi.locateDevicePath(.loadFile2, p.baseAddress!), let lf2 = efi.handleProtocol(.loadFile2, on: found.handle) else { return nil }
        return (lf2, found.rest)
    }
    guard let (loadFile2, filePath) = found else { return nil }
    let loadFile = loadFile2.load(as: EFILoadFile.self)
    var size: UInt64 = 0
    guard loadFile(loadFile2, filePath, 0, &size, nil) == EFIStatusCode.bufferTooSmall, size > 0 else {
        efi.say("slide-efi: the initrd's LoadFile2 gave no size")
        return nil
    }
    var address: UInt64 = 0
    guard efi.allocatePages(.anyPages, .loaderData, pages: (size + 4095) / 4096, &address) == EFIStatusCode.success,
          loadFile(loadFile2, filePath, 0, &size, UnsafeMutableRawPointer(bitPattern: UInt(address))) == EFIStatusCode.success else {
        efi.say("slide-efi: the initrd did not load; bytes ", size)
        return nil
    }
    efi.say("slide-efi: initrd loaded at ", address)
    return (address, address + size)
}
