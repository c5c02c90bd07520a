// slide_relocate: check the image against the seal mkimage wrote, then apply the relocation
// tables with SlideCore (the code the host tests run), then check every relocated place.
//
// Runs with the MMU on, from the identity map, *before* anything absolute may be used: it
// reads the tables and writes the places through the image's physical (identity) addresses.
// On any failure it reports and returns a non-zero exit status: the boot never continues on
// an image whose relocations it cannot vouch for.

func say(_ s: StaticString) { earlyPuts(s.utf8Start, s.utf8CodeUnitCount) }

func fail(_ f: VerifyFailure, _ detail: UInt64) -> UInt64 {
    let info = bootInfo()
    info.pointee.verifyStatus = f.rawValue
    info.pointee.verifyDetail = detail
    say("slide: reloc_verify=fail:")
    say(f.name)
    say("\n")
    return 3
}

@c(slide_relocate)
func slideRelocate(_ imagePA: UInt64, _ offset: UInt64, _ fdtPA: UInt64) -> UInt64 {
    var layout = ImageLayout()
    imageLayout(&layout)
    let info = bootInfo()
    info.pointee.offset = offset
    if info.pointee.earlyFailure != 0 { return fail(.earlyTables, 0) }

    // 1. The seal mkimage wrote: digest over the file data, and where the tables are.
    let sealOffset = Int(layout.seal - layout.text)
    let fileSize = Int(layout.edata - layout.text)
    guard let base = UnsafeMutableRawPointer(bitPattern: UInt(imagePA)) else { return fail(.tables, 0) }
    let image = ByteView(start: UnsafeRawPointer(base), count: fileSize)
    let seal: ImageSeal
    switch ImageSeal.verify(image, at: sealOffset, dataSize: fileSize) {
    case .ok(let s)?: seal = s
    case .digestMismatch(_, let sealed)?: return fail(.digest, sealed)
    case .sizeMismatch?, nil: return fail(.unsealed, 0)
    }

    // 2. Apply, exactly as the host's `slide relocate` does.
    let whole = MutableByteView(UnsafeMutableRawBufferPointer(start: base, count: Int(layout.end - layout.text)))
    let relaView: ByteView, relrView: ByteView
    do throws(SlideError) {
        relaView = try image.slice(offset: seal.relaOffset, size: seal.relaSize, "RELA table")
        relrView = try image.slice(offset: seal.relrOffset, size: seal.relrSize, "RELR table")
    } catch {
        return fail(.tables, 0)
    }
    let link = linkBase()
    let start = readCNTVCT()
    let rela: RelaTable, relr: RelrTable, report: RelaApplyReport, relrCount: Int
    do throws(SlideError) {
        rela = try RelaTable(relaView)
        relr = try RelrTable(relrView)
        report = try Rela.apply(rela, to: whole, linkBase: link, displacement: offset, resolver: NoSymbols())
        relrCount = try Relr.apply(relr, to: whole, linkBase: link, displacement: offset)
    } catch {
        return fail(.tables, 0)
    }
    info.pointee.relocCycles = readCNTVCT() &- start
    info.pointee.relaApplied = UInt64(report.relative)
    info.pointee.relrApplied = UInt64(relrCount)
    if report.unsupported != 0 || report.unresolved != 0 {
        return fail(.unsupportedType, UInt64(report.firstUnsupported ?? 0))
    }
    if info.pointee.bench != 0 { benchRelocation(rela: rela, relr: relr, image: whole, imagePA: imagePA, offset: offset) }

    // 3. Every place now holds what it must: RELA addend + offset; RELR a pointer into the image.
    for i in 0..<rela.count where rela[i].type == .relative {
        let e = rela[i]
        if whole.u64Unchecked(at: Int(e.offset &- link)) != UInt64(bitPattern: e.addend) &+ offset {
            return fail(.relaPlace, UInt64(i))
        }
    }
    let low = link &+ offset, high = low &+ UInt64(whole.count)
    var places = relr.makePlaces()
    while let p = places.next() {
        let v = whole.u64Unchecked(at: Int(p &- link))
        if v < low || v > high { return fail(.relrPlace, p) }
    }
    return 0
}

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
