// The parts of a PE/COFF header (Microsoft PE format) that tell where an EFI Image's data ends.
//
// An arm64 Image built with CONFIG_EFI is also a PE executable: "MZ" in code0, the PE header
// at the offset in `res5`. Distributions append an Authenticode signature after the image
// data; the certificate table data directory (index 4, a *file offset*) says where it starts.

import SlideCore

public struct PEInfo: Equatable {
    /// The header as decoded (SlideCore's PEHeader: the layout's one definition).
    public var header: PEHeader
    /// File offset of the header ("PE\0\0"): the Image header's res5.
    public var offset: Int
    /// COFF `Machine` (0xaa64 for arm64).
    public var machine: UInt16 { header.machine }
    /// Optional header `SizeOfImage`.
    public var sizeOfImage: UInt32 { header.sizeOfImage }
    /// Optional header `AddressOfEntryPoint`.
    public var entryPoint: UInt32 { header.entryPoint }
    /// Optional header `SectionAlignment`.
    public var sectionAlignment: UInt32 { header.sectionAlignment }
    public var sections: [PESection] { header.sections }
    public var sectionCount: Int { header.sections.count }
    /// End of the last section's raw data (`PointerToRawData + SizeOfRawData`).
    public var rawDataEnd: UInt64 { header.sections.map(\.rawEnd).max() ?? 0 }
    /// Certificate table (file offset, size), if present.
    public var certificate: (offset: UInt64, size: UInt64)? {
        guard let d = header.directory(PECOFF.certificateDirectory), d.size > 0 else { return nil }
        return (UInt64(d.rva), UInt64(d.size))
    }
    /// File offset of the certificate table's data directory entry (8 bytes), when there is one.
    public var certificateDirectory: Int? {
        header.directory(PECOFF.certificateDirectory) == nil ? nil : PEHeader.certificateDirectoryOffset(headerAt: offset)
    }
    /// End (RVA = image offset) of the section called `.text`: where the kernel's executable
    /// mapping ends (efi-header.S sizes it to the init text's end, exit text included).
    public var textEnd: UInt64? {
        header.sections.first { $0.name == PECOFF.sectionName(".text") }?.virtualEnd
    }

    public static func == (a: PEInfo, b: PEInfo) -> Bool { a.header == b.header && a.offset == b.offset }

    /// Decodes the PE header at `offset`.
    public init(from b: ByteView, at offset: Int) throws(SlideError) {
        header = try PEHeader(from: b, at: offset)
        self.offset = offset
    }
}

extension PESection {
    /// The section's name: its 8 bytes up to the first NUL, unprintable bytes as `?`.
    public var nameText: String {
        var bytes: [UInt8] = []
        for i in 0..<8 {
            let c = UInt8(truncatingIfNeeded: name >> (8 * UInt64(i)))
            if c == 0 { break }
            bytes.append(c >= 0x20 && c < 0x7f ? c : UInt8(ascii: "?"))
        }
        return String(decoding: bytes, as: UTF8.self)
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
