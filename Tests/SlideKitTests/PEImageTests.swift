// The Slide Image as a PE/COFF EFI application (docs/image.md, "The PE/COFF header"): the header
// mkimage writes against llvm-readobj and the ELF's own symbols (llvm-nm), hostile headers that
// `slide verify` reports and `slide inspect` shows without trapping, edk2 loading and starting
// the 4, 16 and 64 KiB Images, and a Secure Boot signature made with sbsign that sbverify accepts
// and that leaves the Image bootable.

import Foundation
import Testing
@testable import SlideCore
@testable import SlideKit

/// llvm-readobj's `Key: value` lines, in order (sections repeat their keys).
func readobjFields(_ path: String) throws -> [(String, String)] {
    try output("llvm-readobj", ["--file-headers", "--sections", path]).split(separator: "\n").compactMap { line in
        let parts = line.trimmingCharacters(in: .whitespaces).split(separator: ":", maxSplits: 1)
        guard parts.count == 2 else { return nil }
        return (String(parts[0]), parts[1].trimmingCharacters(in: .whitespaces))
    }
}

/// A readobj number: "0x1000", "4096", or "IMAGE_…  (0xA)".
func readobjNumber(_ s: String?) -> UInt64? {
    guard let s else { return nil }
    if let open = s.lastIndex(of: "("), s.hasSuffix(")") { return readobjNumber(String(s[s.index(after: open)..<s.index(before: s.endIndex)])) }
    return s.hasPrefix("0x") ? UInt64(s.dropFirst(2), radix: 16) : UInt64(s)
}

/// The ELF's symbols as image offsets, from llvm-nm.
func symbolOffsets(_ elf: String, base: UInt64) throws -> [String: UInt64] {
    var out: [String: UInt64] = [:]
    for line in try output("llvm-nm", [elf]).split(separator: "\n") {
        let cols = line.split(separator: " ")
        guard cols.count == 3, let v = UInt64(cols[0], radix: 16), v >= base else { continue }
        out[String(cols[2])] = v - base
    }
    return out
}

let peVariants = ["rela", "relr", "rela-16k", "relr-16k", "rela-64k", "relr-64k"]

@Suite(.enabled(if: TestData.slideKernel, TestData.missingKernel)) struct PEImage {
    /// Every field mkimage writes, read back by llvm-readobj, against the Image header and the
    /// ELF's symbols (_stext, _etext, _edata, slide_efi_entry).
    @Test(arguments: peVariants)
    func headerMatchesTheOracle(_ variant: String) throws {
        let image = try #require(try kernelImage(variant))
        let elf = URL(fileURLWithPath: image).deletingLastPathComponent().appendingPathComponent("slide-kernel.elf").path
        let k = try KernelImage.load(path: image)
        let h = try #require(k.header)
        let sym = try symbolOffsets(elf, base: k.linkBase)
        let stext = try #require(sym["_stext"]), etext = try #require(sym["_etext"]), edata = try #require(sym["_edata"])
        let entry = try #require(sym["slide_efi_entry"])
        let fields = try readobjFields(image)
        func field(_ key: String, _ n: Int = 0) -> UInt64? { readobjNumber(fields.filter { $0.0 == key }.dropFirst(n).first?.1) }
        let page = try #require(h.flags.pageSize.bytes)
        #expect(field("Machine") == 0xaa64)
        #expect(field("SectionCount") == 2)
        #expect(field("Magic") == 0x20b)
        #expect(field("Subsystem") == 0xa)
        #expect(field("AddressOfNewExeHeader") == UInt64(h.reserved5))
        #expect(field("SizeOfImage") == h.imageSize)
        #expect(field("SizeOfHeaders") == stext && field("BaseOfCode") == stext)
        #expect(field("AddressOfEntryPoint") == entry)
        #expect(field("SectionAlignment") == page && field("FileAlignment") == 512)
        #expect(field("ImageBase") == 0 && field("NumberOfRvaAndSize") == 6)
        #expect(field("BaseRelocationTableSize") == 0 && field("CertificateTableSize") == 0)
        // .text: [_stext, _etext), executable; .data: raw to _edata, virtual to image_size.
        #expect(fields.filter { $0.0 == "Name" }.map(\.1) == [".text (2E 74 65 78 74 00 00 00)", ".data (2E 64 61 74 61 00 00 00)"])
        #expect(field("VirtualAddress") == stext && field("PointerToRawData") == stext)
        #expect(field("VirtualSize") == etext - stext && field("RawDataSize") == etext - stext)
        #expect(field("VirtualAddress", 1) == etext && field("PointerToRawData", 1) == etext)
        #expect(field("RawDataSize", 1) == edata - etext && field("VirtualSize", 1) == h.imageSize - etext)
        let blocks = try output("llvm-readobj", ["--sections", image]).components(separatedBy: "Section {").dropFirst()
        #expect(blocks.count == 2 && blocks.first!.contains("IMAGE_SCN_MEM_EXECUTE") && !blocks.first!.contains("IMAGE_SCN_MEM_WRITE"))
        #expect(blocks.last!.contains("IMAGE_SCN_MEM_WRITE") && !blocks.last!.contains("IMAGE_SCN_MEM_EXECUTE"))
        #expect(UInt64(k.bytes.count) == edata && edata % 512 == 0)
        // The arm64 header stays valid: "MZ" in code0, code1 still branches to primary_entry (_stext).
        #expect(h.hasMZ && h.entryOffset == Int64(stext))
        // slide inspect --json shows the same fields.
        let pe = try #require(try jsonObject(try output(slideBinary, ["inspect", "--json", image]))["pe"] as? [String: Any])
        #expect(hexValue(pe["entry_point"]) == entry && hexValue(pe["size_of_headers"]) == stext)
        #expect(hexValue(pe["section_alignment"]) == page && (pe["sections"] as? [[String: Any]])?.count == 2)
        #expect(try Verifier.verify(k).findings.filter { $0.check.hasPrefix("pe-") }.isEmpty)
    }

    /// One hostile edit per fact the PE header must share with the Image header and the file:
    /// verify reports it (an error, exit 1), inspect still describes the file, nothing traps.
    @Test(arguments: [
        PEEdit("SizeOfImage", at: 0x40 + 24 + 56, u32: 0x30_0000, check: "pe-size-mismatch"),
        PEEdit("Machine", at: 0x44, u16: 0x8664, check: "pe-machine"),
        PEEdit("AddressOfEntryPoint", at: 0x40 + 24 + 16, u32: 0x100, check: "pe-entry"),
        PEEdit("Subsystem", at: 0x40 + 24 + 68, u16: 3, check: "pe-subsystem"),
        PEEdit("SizeOfHeaders", at: 0x40 + 24 + 60, u32: 0x100, check: "pe-headers-size"),
        PEEdit("SectionAlignment", at: 0x40 + 24 + 32, u32: 0x3000, check: "pe-alignment"),
        PEEdit(".text VirtualSize", at: 0x40 + 24 + 160 + 8, u32: 0x1000_0000, check: "pe-section-outside-image"),
        PEEdit(".data SizeOfRawData", at: 0x40 + 24 + 160 + 40 + 16, u32: 0x100_0000, check: "pe-section-outside-file"),
        PEEdit(".data PointerToRawData", at: 0x40 + 24 + 160 + 40 + 20, u32: 0x200, check: "pe-section-layout"),
        PEEdit(".text VirtualAddress", at: 0x40 + 24 + 160 + 12, u32: 0x1200, check: "pe-section-misaligned"),
        PEEdit("res5 off the header", at: 0x3c, u32: 0x48, check: "pe-header-missing"),
        PEEdit("res5 past the file", at: 0x3c, u32: 0xffff_fff0, check: "pe-header-missing"),
        PEEdit("NumberOfSections", at: 0x46, u16: 0xffff, check: "pe-header-missing"),
        PEEdit("optional header magic", at: 0x40 + 24, u16: 0x10b, check: "pe-header-missing"),
    ])
    func verifyReportsADisagreeingHeader(_ edit: PEEdit) throws {
        let image = try #require(try kernelImage("rela"))
        var bytes = try readBytes(image)
        edit.apply(&bytes)
        let path = temporaryDirectory("pe-edit").appendingPathComponent("Image").path
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        let v = try slide("verify", "--json", path)
        #expect(v.status == 1, "\(v.stderr)")
        let findings = try #require(try jsonObject(v.stdout)["findings"] as? [[String: Any]])
        #expect(findings.contains { $0["check"] as? String == edit.check && $0["severity"] as? String == "error" }, "\(v.stdout.prefix(1500))")
        let i = try slide("inspect", path)
        #expect(i.status == 0, "\(i.stderr)")
        if edit.check != "pe-header-missing" {
            #expect(i.stdout.contains(hex(UInt64(edit.value))), "inspect shows the edited \(edit.field)")
        } else {
            #expect(i.stdout.contains("PE/COFF:          absent"))
        }
    }

    /// Secure Boot as users sign: a throwaway key, sbsign, sbverify --cert; inspect shows the
    /// certificate table as for Debian's kernels; the signed Image still boots (-kernel, and
    /// through edk2 into the EFI stub) and verifies its
    /// seal (the digest reads the fields sbsign writes as zeros); a changed byte fails sbverify.
    @Test(.enabled(if: ["sbsign", "sbverify", "openssl"].allSatisfy { (try? run("which", [$0]).status) == 0 }, "sbsigntool or openssl missing"))
    func signedImageVerifiesAndBoots() throws {
        let image = try #require(try kernelImage("rela"))
        let dir = temporaryDirectory("sign")
        func path(_ n: String) -> String { dir.appendingPathComponent(n).path }
        _ = try output("openssl", ["req", "-new", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=Slide test key/",
                                   "-keyout", path("key.pem"), "-out", path("cert.pem")])
        _ = try output("sbsign", ["--key", path("key.pem"), "--cert", path("cert.pem"), "--output", path("signed"), image])
        #expect(try run("sbverify", ["--cert", path("cert.pem"), path("signed")]).status == 0)
        let unsigned = try readBytes(image), signed = try readBytes(path("signed"))
        #expect(signed.count > unsigned.count)

        let k = try KernelImage.load(path: path("signed"))
        let cert = try #require(k.pe?.certificate)
        #expect(cert.offset == UInt64(unsigned.count) && cert.offset + cert.size == UInt64(signed.count))
        let text = try output(slideBinary, ["inspect", path("signed")])
        #expect(text.contains("Appended:         \(hex(cert.size)) bytes after the image data (PE certificate table: Authenticode signature)"))
        #expect(text.contains("certificate:    file offset \(hex(cert.offset)), size \(hex(cert.size))"))
        #expect(try slide("verify", path("signed")).status == 0)
        // The seal still holds: sbsign changed only the CheckSum and the certificate directory.
        let sealed = signed.withUnsafeBytes { ImageDigest.compute(ByteView($0), covered: unsigned.count, sealOffset: -128) }
        let plain = unsigned.withUnsafeBytes { ImageDigest.compute(ByteView($0), covered: unsigned.count, sealOffset: -128) }
        #expect(sealed == plain && signed[0..<unsigned.count].elementsEqual(unsigned) == false)

        var o = BootOptions()
        o.seed = 0x5157
        o.timeout = 60
        let r = try Booter.boot(path("signed"), o)
        #expect(!r.timedOut && r.status == 0 && r.output.contains("slide: done"), "\(r.output.suffix(1500))")
        // And as firmware starts it: edk2 loads the signed PE (Secure Boot off) and the stub runs.
        if FileManager.default.fileExists(atPath: edk2Firmware) {
            o.loader = .efi
            let e = try Booter.boot(path("signed"), o)
            #expect(!e.timedOut && e.status == 0 && e.output.contains("slide: loader=efi") && e.output.contains("slide: reloc_verify=ok"),
                    "\(e.output.suffix(1500))")
        }

        var tampered = signed
        tampered[Int(k.pe!.sections[0].rawPointer) + 0x100] ^= 1
        try Data(tampered).write(to: URL(fileURLWithPath: path("tampered")))
        #expect(try run("sbverify", ["--cert", path("cert.pem"), path("tampered")]).status != 0)
    }
}

let edk2Firmware = "/usr/share/qemu-efi-aarch64/QEMU_EFI.fd"

/// One field of a Slide Image's PE header (at 0x40) set to a hostile value.
struct PEEdit: CustomTestStringConvertible, Sendable {
    var field: String
    var offset: Int
    var value: UInt32
    var width: Int
    var check: String
    init(_ field: String, at offset: Int, u32: UInt32, check: String) { (self.field, self.offset, value, width, self.check) = (field, offset, u32, 4, check) }
    init(_ field: String, at offset: Int, u16: UInt16, check: String) { (self.field, self.offset, value, width, self.check) = (field, offset, UInt32(u16), 2, check) }
    var testDescription: String { "\(field) = \(hex(UInt64(value)))" }
    func apply(_ bytes: inout [UInt8]) {
        for i in 0..<width { bytes[offset + i] = UInt8(truncatingIfNeeded: value >> (8 * UInt32(i))) }
    }
}

/// mkimage on an ELF whose header says "MZ": it writes the PE header only into zeroed room and
/// only with the layout symbols it needs.
@Suite struct PEHeaderRefusals {
    @Test func anEFIHeaderWithoutTheLayoutSymbolsIsRefused() throws {
        let dir = temporaryDirectory("pe-refusal")
        let s = try miniKernel(in: dir) {
            $0.replacingOccurrences(of: "    nop                                 // code0: no EFI", with: "    ccmp x18, #0, #0xd, pl")
              .replacingOccurrences(of: "    .long   0                           // res5", with: "    .long   0x40\n    .zero 264")
        }
        let o = dir.appendingPathComponent("mz.o").path, e = dir.appendingPathComponent("mz.elf").path
        #expect(try run("clang", ["--target=aarch64-linux-gnu", "-c", "-I", repoRoot.appendingPathComponent("Tests/Fixtures").path, s, "-o", o]).status == 0)
        #expect(try run("ld.lld", ["-pie", "-z", "notext", "--no-dynamic-linker", "-T",
                                   repoRoot.appendingPathComponent("Tests/Fixtures/mini-kernel.lds").path, o, "-o", e]).status == 0)
        let out = dir.appendingPathComponent("Image").path
        let r = try slide("mkimage", e, "-o", out)
        #expect(r.status == 1 && r.stderr.contains("the PE header needs the symbol"), "\(r.stderr)")
        #expect(r.stderr.split(separator: "\n").count == 1 && !FileManager.default.fileExists(atPath: out))
    }

    /// The Slide kernel's ELF with its PE room not zero, or res5 leaving no room: refused, no output.
    @Test(.enabled(if: TestData.slideKernel, TestData.missingKernel), arguments: [
        (0x80, UInt8(0xff), "is not zero"), (0x3d, UInt8(0x0f), "leaves no room"),
    ])
    func aSlideELFWithoutRoomIsRefused(_ at: Int, _ byte: UInt8, _ message: String) throws {
        let image = try #require(try kernelImage("rela"))
        let elf = URL(fileURLWithPath: image).deletingLastPathComponent().appendingPathComponent("slide-kernel.elf").path
        var bytes = try readBytes(elf)
        // .head.text's file offset, from llvm-readelf -S (Name Type Address Off Size).
        let line = try #require(try output("llvm-readelf", ["-S", "-W", elf]).split(separator: "\n").first { $0.contains(" .head.text ") })
        let cols = line.split(separator: " ", omittingEmptySubsequences: true)
        let i = try #require(cols.firstIndex(of: ".head.text"))
        let head = try #require(Int(cols[i + 3], radix: 16))
        bytes[head + at] = byte
        let dir = temporaryDirectory("pe-room")
        let edited = dir.appendingPathComponent("k.elf").path, out = dir.appendingPathComponent("Image").path
        try Data(bytes).write(to: URL(fileURLWithPath: edited))
        let r = try slide("mkimage", edited, "-o", out)
        #expect(r.status == 1 && r.stderr.contains(message), "\(r.stderr)")
        #expect(!FileManager.default.fileExists(atPath: out))
    }
}

/// The PE reader (SlideCore's PEHeader through PEInfo) against llvm-readobj on Debian's signed
/// kernels, the layout the Slide header follows: the same fields, the same sections, and
/// PECheck finds nothing to report.
@Suite(.enabled(if: TestData.debianKernel, TestData.missingDebian)) struct PEReaderOnDebian {
    @Test(arguments: DebianSuite.present)
    func readerMatchesTheOracle(_ s: DebianSuite) throws {
        let k = try KernelImage.load(path: s.kernel)
        let pe = try #require(k.pe)
        let fields = try readobjFields(s.kernel)
        func field(_ key: String, _ n: Int = 0) -> UInt64? { readobjNumber(fields.filter { $0.0 == key }.dropFirst(n).first?.1) }
        #expect(field("Machine") == UInt64(pe.machine) && field("SectionCount") == UInt64(pe.sectionCount))
        #expect(field("SizeOfImage") == UInt64(pe.sizeOfImage) && field("SizeOfImage") == k.header?.imageSize)
        #expect(field("AddressOfEntryPoint") == UInt64(pe.entryPoint) && field("SizeOfHeaders") == UInt64(pe.header.sizeOfHeaders))
        #expect(field("SectionAlignment") == UInt64(pe.sectionAlignment) && field("FileAlignment") == UInt64(pe.header.fileAlignment))
        #expect(field("Subsystem") == UInt64(pe.header.subsystem) && field("AddressOfNewExeHeader") == UInt64(pe.offset))
        #expect(field("CertificateTableRVA") == pe.certificate?.offset && field("CertificateTableSize") == pe.certificate?.size)
        for (i, section) in pe.sections.enumerated() {
            #expect(field("VirtualAddress", i) == UInt64(section.virtualAddress) && field("VirtualSize", i) == UInt64(section.virtualSize))
            #expect(field("PointerToRawData", i) == UInt64(section.rawPointer) && field("RawDataSize", i) == UInt64(section.rawSize))
        }
        var c = VerifyContext(image: k, allowNoTable: true)
        PECheck().run(&c)
        #expect(c.report.findings.isEmpty, "\(c.report.findings.map(\.message))")
    }
}
