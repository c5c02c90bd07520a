// The PE/COFF header (docs/image.md, "The PE/COFF header"): SlideCore's reader at offset 0 and
// at the offset the input's first word names; the input as an EFI Image ("MZ" and "ARM\x64"
// forced, res5 = 0x40) through KernelImage.load, inspect and verify's PE checks; and mkimage's
// writer over a layout drawn from the input: every header the writer accepts must read back
// unchanged and pass PECheck without an error, or the run traps (a finding).

import FuzzSupport
import SlideCore
@testable import SlideKit

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    var input = bytes(data, size)
    withAlignedCopy(data, size) { raw in
        let v = ByteView(UnsafeRawBufferPointer(raw))
        if let h = try? PEHeader(from: v, at: 0) { sink(UInt64(h.sections.count) ^ UInt64(h.sizeOfImage)) }
        if let at = try? v.u32(at: 0), let h = try? PEHeader(from: v, at: Int(at & 0xffff)) { sink(UInt64(h.entryPoint)) }
    }
    asEFIImage(&input)
    writer(input)
    return 0
}

/// The input with an arm64 Image header saying "MZ" and res5 = 0x40: the reader through RawImage,
/// inspect's PE rows and every PE check over whatever follows.
func asEFIImage(_ input: inout [UInt8]) {
    guard input.count >= ImageHeader.size else { return }
    let header: [(Int, UInt32)] = [(0, 0xfa40_5a4d), (0x38, ImageHeader.magic), (0x3c, 0x40)]
    for (at, value) in header { for i in 0..<4 { input[at + i] = UInt8(truncatingIfNeeded: value >> (8 * UInt32(i))) } }
    do throws(SlideKitError) {
        let k = try KernelImage.load(bytes: input, path: "fuzz", discovery: .only(SealRecognizer.self))
        sink(try InspectReport.build(k).text())
        var c = VerifyContext(image: k, allowNoTable: true)
        PECheck().run(&c)
        sink(UInt64(c.report.errors))
    } catch {
        sink(error.description)
    }
}

/// The writer's inputs from the input's first 32 bytes: a page size and offsets in pages and file
/// alignment units (byte 0 bit 0 set: raw 24-bit values instead, for the refusals).
func writer(_ input: [UInt8]) {
    guard input.count >= 32 else { return }
    func u32(_ i: Int) -> UInt64 { (0..<4).reduce(0) { $0 | UInt64(input[4 * i + $1]) << (8 * UInt64($1)) } }
    let page: UInt64 = [0x1000, 0x4000, 0x10000, 0x200][Int(input[1] % 4)]
    var l: PELayout
    if input[0] & 1 == 1 {
        l = PELayout(text: u32(1) & 0xff_ffff, etext: u32(2) & 0xff_ffff, edata: u32(3) & 0xff_ffff, entry: u32(4) & 0xff_ffff,
                     imageSize: u32(5) & 0xff_ffff, fileSize: u32(6) & 0xff_ffff, pageSize: page)
    } else {
        let text = (u32(1) % 4) * page, etext = text + (u32(2) % 4) * page
        let edata = etext + (u32(3) % 64) * UInt64(PECOFF.fileAlignment)
        l = PELayout(text: text, etext: etext, edata: edata, entry: text + (u32(4) % 0x4000) * 4,
                     imageSize: (edata + (u32(5) % 8) * page + page - 1) / page * page, fileSize: edata, pageSize: page)
    }
    guard case .success(let pe) = l.header() else { return }
    // Accepted: write it into an Image of that layout, read it back, check it.
    var image = [UInt8](repeating: 0, count: Int(l.fileSize))
    let code1 = 0x1400_0000 | UInt32((l.text - 4) / 4)
    let header = ImageHeader(code0: 0xfa40_5a4d, code1: code1, imageSize: l.imageSize,
                             flags: ImageFlags(pageSize: PageSizeField(bytes: l.pageSize) ?? .unspecified, placementAnywhere: true), peHeaderOffset: 0x40)
    let read: PEHeader? = image.withUnsafeMutableBytes { buffer in
        let m = MutableByteView(buffer)
        guard (try? header.write(to: m)) != nil, (try? pe.write(to: m, at: 0x40)) != nil else { return nil }
        return try? PEHeader(from: m.readOnly, at: 0x40)
    }
    guard read == pe else { fatalError("the PE header written for \(l) reads back as \(String(describing: read))") }
    guard let k = try? KernelImage.load(bytes: image, path: "fuzz", discovery: .only(SealRecognizer.self)) else { fatalError("the written Image does not load: \(l)") }
    var c = VerifyContext(image: k, allowNoTable: true)
    PECheck().run(&c)
    if let e = c.report.findings.first(where: { $0.severity == .error }) { fatalError("the written header fails \(e.check): \(e.message) (\(l))") }
}
