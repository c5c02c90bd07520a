// The parts of a PE/COFF header (Microsoft PE format) that tell where an EFI Image's data ends.
//
// An arm64 Image built with CONFIG_EFI is also a PE executable: "MZ" in code0, the PE header
// at the offset in `res5`. Distributions append an Authenticode signature after the image
// data; the certificate table data directory (index 4, a *file offset*) says where it starts.

import SlideCore

public struct PEInfo: Equatable {
    /// COFF `Machine` (0xaa64 for arm64).
    public var machine: UInt16
    /// Optional header `SizeOfImage`.
    public var sizeOfImage: UInt32
    /// Optional header `AddressOfEntryPoint`.
    public var entryPoint: UInt32
    /// Optional header `SectionAlignment`.
    public var sectionAlignment: UInt32
    /// End of the last section's raw data (`PointerToRawData + SizeOfRawData`).
    public var rawDataEnd: UInt64
    /// Certificate table (file offset, size), if present.
    public var certificate: (offset: UInt64, size: UInt64)?
    /// File offset of the certificate table's data directory entry (8 bytes), when there is one.
    public var certificateDirectory: Int?
    public var sectionCount: Int
    /// End (RVA = image offset) of the section called `.text`: where the kernel's executable
    /// mapping ends (efi-header.S sizes it to the init text's end, exit text included).
    public var textEnd: UInt64? = nil

    public static func == (a: PEInfo, b: PEInfo) -> Bool {
        a.machine == b.machine && a.sizeOfImage == b.sizeOfImage && a.rawDataEnd == b.rawDataEnd
            && a.certificate?.offset == b.certificate?.offset && a.certificate?.size == b.certificate?.size
    }

    /// Decodes the PE header at `offset`.
    public init(from b: ByteView, at offset: Int) throws(SlideError) {
        guard b.matches("PE\0\0", at: offset) else { throw .badMagic("PE", offset: UInt64(offset)) }
        let coff = offset + 4
        machine = try b.u16(at: coff, "COFF Machine")
        sectionCount = Int(try b.u16(at: coff + 2, "COFF NumberOfSections"))
        let optionalSize = Int(try b.u16(at: coff + 16, "COFF SizeOfOptionalHeader"))
        let opt = coff + 20
        let magic = try b.u16(at: opt, "optional header magic")
        guard magic == 0x20b else { throw .unsupported("PE optional header magic (only PE32+)", value: UInt64(magic)) }
        entryPoint = try b.u32(at: opt + 16)
        sectionAlignment = try b.u32(at: opt + 32)
        sizeOfImage = try b.u32(at: opt + 56)
        let directoryCount = Int(try b.u32(at: opt + 108, "NumberOfRvaAndSizes"))
        certificate = nil
        certificateDirectory = nil
        if directoryCount > 4, optionalSize >= 112 + 5 * 8 {
            certificateDirectory = opt + 112 + 4 * 8
            let certOffset = try b.u32(at: opt + 112 + 4 * 8), certSize = try b.u32(at: opt + 112 + 4 * 8 + 4)
            if certSize > 0 { certificate = (UInt64(certOffset), UInt64(certSize)) }
        }
        var end: UInt64 = 0
        let sections = opt + optionalSize
        guard sectionCount <= 96 else { throw .countOverflow("PE section table", count: UInt64(sectionCount), size: 40) }
        for i in 0..<sectionCount {
            let s = sections + i * 40
            let rawSize = try b.u32(at: s + 16, "PE section SizeOfRawData")
            let rawPointer = try b.u32(at: s + 20, "PE section PointerToRawData")
            end = max(end, UInt64(rawPointer) + UInt64(rawSize))
            if b.matches(".text\0\0\0", at: s) {
                textEnd = UInt64(try b.u32(at: s + 12, "PE section VirtualAddress")) + UInt64(try b.u32(at: s + 8, "PE section VirtualSize"))
            }
        }
        rawDataEnd = end
    }
}

extension KernelImage {
    /// The image without its appended Authenticode signature: the bytes up to the certificate
    /// table, whose data directory entry is cleared (a relocated image no longer matches it).
    /// nil when there is none. The PE CheckSum is left as it is (EFI loaders do not check it).
    public func strippingSignature(_ bytes: [UInt8]) -> [UInt8]? {
        guard let pe, let cert = pe.certificate, let directory = pe.certificateDirectory,
              cert.offset <= UInt64(bytes.count), directory + 8 <= bytes.count else { return nil }
        var out = Array(bytes[0..<Int(cert.offset)])
        for i in directory..<(directory + 8) where i < out.count { out[i] = 0 }
        return out
    }
}
