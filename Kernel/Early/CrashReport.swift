// Printing before relocation, and the crash report: digits are computed, not formatted, and
// early_puts writes to the PL011 at its physical address (MMU off, or through either identity map).
//
// Runs before relocation (Early.swift's constraints); slide_exception is a relacheck root.

/// Writes a literal to the console.
func say(_ s: StaticString) { earlyPuts(s.utf8Start, s.utf8CodeUnitCount) }

/// Any exception slide_fixup did not resume, before or after relocation: the crash report, then
/// Asm/vectors.S exits with status 4. Runs without relocations (it may be the relocation that faulted):
/// digits are computed, not formatted; names come from the SymbolMap slide mkimage embedded.
@c(slide_exception)
func slideException(_ esr: UInt64, _ elr: UInt64, _ far: UInt64, _ frame: UnsafePointer<UInt64>) {
    let lr = frame[30]
    say("slide: exception esr=")
    sayHex(esr)
    say(" elr=")
    sayHex(elr)
    say(" far=")
    sayHex(far)
    say(" lr=") // the caller, when the exception is a trap in a shared stub
    sayHex(lr)
    say("\nslide: crash ec=")
    sayHex(esr >> 26)
    say(" elr=")
    saySymbol(elr)
    say(" lr=")
    saySymbol(lr)
    say(" offset=")
    sayHex(bootInfo().pointee.offset)
    say("\nslide: crash_registers")
    for r in 0..<31 {
        say(" ")
        sayHex(frame[r])
    }
    say("\nslide: reloc_verify=fail:exception\n")
}

/// `function+0xoff` for a code address of the image, from the embedded symbols; the address alone otherwise.
func saySymbol(_ address: UInt64) {
    var bounds: (UInt64, UInt64, UInt64) = (0, 0, 0)
    symtabBounds(&bounds)
    let (start, size, image) = bounds
    if address >= image, let map = SymbolMap(ByteView(start: UnsafeRawPointer(bitPattern: UInt(start)), count: Int(size))),
       let i = map.lookup(address - image) {
        let name = map.name(i)
        if let base = name.base { earlyPuts(base.assumingMemoryBound(to: UInt8.self), name.count) }
        say("+")
        sayHex(address - image - map.start(i))
        return
    }
    sayHex(address)
}

func sayHex(_ v: UInt64) {
    var digits: (UInt64, UInt64) = (0, 0) // 16 ASCII digits, built without a heap or a table
    withUnsafeMutableBytes(of: &digits) { buffer in
        for i in 0..<16 {
            let nibble = UInt8(truncatingIfNeeded: v >> UInt64(60 - 4 * i)) & 0xf
            buffer[i] = nibble < 10 ? 0x30 + nibble : 0x57 + nibble
        }
        say("0x")
        earlyPuts(buffer.baseAddress!.assumingMemoryBound(to: UInt8.self), 16)
    }
}
