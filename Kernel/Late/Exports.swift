// What the kernel exports to modules (listed in ksymtab.S): C-callable functions over the
// kernel's state. Modules reach them by CALL26/JUMP26 (through PLTs when out of range) and by
// address (ADRP, ABS64, PREL32).

@_silgen_name("putchar") func putchar(_ c: Int32) -> Int32

/// The exported symbol table at its run-time address.
func kernelSymbols() -> KernelSymbolTable? {
    var layout = ImageLayout()
    imageLayout(&layout)
    let memory = ByteView(start: UnsafeRawPointer(bitPattern: UInt(layout.text)), count: Int(layout.end &- layout.text))
    return try? KernelSymbolTable(memory: memory, address: layout.text, tableOffset: Int(layout.ksymtab &- layout.text),
                                  tableSize: Int(layout.ksymtabEnd &- layout.ksymtab))
}

/// Writes a NUL-terminated string to the console.
@c(slide_puts)
func slidePuts(_ s: UnsafePointer<UInt8>) {
    var p = s
    while p.pointee != 0 { _ = putchar(Int32(p.pointee)); p += 1 }
}

/// Writes `v` as 0x-prefixed hex.
@c(slide_put_hex)
func slidePutHex(_ v: UInt64) {
    for c in hex(v).utf8 { _ = putchar(Int32(c)) }
}

/// The address of an exported symbol, or 0.
@c(slide_lookup_symbol)
func slideLookupSymbol(_ name: UnsafePointer<UInt8>) -> UInt64 {
    var n = 0
    while name[n] != 0 { n += 1 }
    return kernelSymbols()?.lookup(ByteView(start: UnsafeRawPointer(name), count: n)) ?? 0
}

/// The physical address behind a kernel-image or linear-map virtual address, or all ones.
@c(slide_virt_to_phys)
func slideVirtToPhys(_ va: UInt64) -> UInt64 {
    let info = bootInfo().pointee
    var layout = ImageLayout()
    imageLayout(&layout)
    if va >= layout.text && va < layout.end { return va &- info.kimageVoffset }
    if va >= pageOffset && va < 0xffff_8000_0000_0000 { return va &- pageOffset &+ info.physOffset }
    return UInt64.max
}
