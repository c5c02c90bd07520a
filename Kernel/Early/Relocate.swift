// slide_relocate: check the image against the seal mkimage wrote, then apply the relocation
// tables with SlideCore (the code the host tests run), then check every relocated place.
//
// Runs with the MMU on, from the identity map, *before* anything absolute may be used: it
// reads the tables and writes the places through the image's physical (identity) addresses.
// On any failure it reports and returns a non-zero exit status: the boot never continues on
// an image whose relocations it cannot vouch for.

/// Why a step of slide_relocate stopped the boot: the failure and its detail (an index or an address).
struct RelocateFailure: Error {
    let failure: VerifyFailure, detail: UInt64
    init(_ failure: VerifyFailure, _ detail: UInt64 = 0) { self.failure = failure; self.detail = detail }
}

/// Records the failure for the report, prints it, and gives head.S the exit status 3.
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
    guard let base = UnsafeMutableRawPointer(bitPattern: UInt(imagePA)) else { return fail(.tables, 0) }
    let image = ByteView(start: UnsafeRawPointer(base), count: Int(layout.edata - layout.text))
    let whole = MutableByteView(UnsafeMutableRawBufferPointer(start: base, count: Int(layout.end - layout.text)))
    do throws(RelocateFailure) {
        let seal = try checkSeal(image, sealOffset: Int(layout.seal - layout.text))
        let (rela, relr) = try applyTables(image, seal, to: whole, offset: offset, info: info)
        if info.pointee.bench != 0 { benchRelocation(rela: rela, relr: relr, image: whole, imagePA: imagePA, offset: offset) }
        try verifyPlaces(rela: rela, relr: relr, in: whole, offset: offset)
    } catch {
        return fail(error.failure, error.detail)
    }
    return 0
}

/// 1. The seal mkimage wrote: the digest over the file data, and where the tables are.
func checkSeal(_ image: ByteView, sealOffset: Int) throws(RelocateFailure) -> ImageSeal {
    switch ImageSeal.verify(image, at: sealOffset, dataSize: image.count) {
    case .ok(let s)?: return s
    case .digestMismatch(_, let sealed)?: throw RelocateFailure(.digest, sealed)
    case .sizeMismatch?, nil: throw RelocateFailure(.unsealed)
    }
}

/// 2. Apply, exactly as the host's `slide relocate` does; the counts and the time go to BootInfo.
func applyTables(_ image: ByteView, _ seal: ImageSeal, to whole: MutableByteView, offset: UInt64,
                 info: UnsafeMutablePointer<BootInfo>) throws(RelocateFailure) -> (RelaTable, RelrTable) {
    let link = linkBase()
    let start = readCNTVCT()
    let rela: RelaTable, relr: RelrTable, report: RelaApplyReport, relrCount: Int
    do throws(SlideError) {
        rela = try RelaTable(try image.slice(offset: seal.relaOffset, size: seal.relaSize, "RELA table"))
        relr = try RelrTable(try image.slice(offset: seal.relrOffset, size: seal.relrSize, "RELR table"))
        report = try Rela.apply(rela, to: whole, linkBase: link, displacement: offset, resolver: NoSymbols())
        relrCount = try Relr.apply(relr, to: whole, linkBase: link, displacement: offset)
    } catch {
        throw RelocateFailure(.tables)
    }
    info.pointee.relocCycles = readCNTVCT() &- start
    info.pointee.relaApplied = UInt64(report.relative)
    info.pointee.relrApplied = UInt64(relrCount)
    if report.unsupported != 0 || report.unresolved != 0 {
        throw RelocateFailure(.unsupportedType, UInt64(report.firstUnsupported ?? 0))
    }
    return (rela, relr)
}

/// 3. Every place now holds what it must: RELA addend + offset; RELR a pointer into the image.
func verifyPlaces(rela: RelaTable, relr: RelrTable, in whole: MutableByteView, offset: UInt64) throws(RelocateFailure) {
    let link = linkBase()
    for i in 0..<rela.count where rela[i].type == .relative {
        let e = rela[i]
        if whole.u64Unchecked(at: Int(e.offset &- link)) != UInt64(bitPattern: e.addend) &+ offset {
            throw RelocateFailure(.relaPlace, UInt64(i))
        }
    }
    let low = link &+ offset, high = low &+ UInt64(whole.count)
    var places = relr.makePlaces()
    while let p = places.next() {
        let v = whole.u64Unchecked(at: Int(p &- link))
        if v < low || v > high { throw RelocateFailure(.relrPlace, p) }
    }
}
