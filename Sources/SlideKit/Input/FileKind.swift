// What a file is, by its magic: the one place Slide sniffs an input (docs/image.md).

import SlideCore

public enum FileKind: Equatable, Sendable {
    /// An ELF file ("\x7fELF"), with its `e_type` when the header is long enough to hold it.
    case elf(ELFFileType?)
    /// A raw arm64 Image ("ARM\x64" at 0x38).
    case image
    /// A gzip, xz or zstd stream (`Containers.compression`).
    case compressed(String)
    /// An EFI zboot PE ("MZ", "zimg" at 4).
    case zboot
    /// None of these.
    case other

    public init(_ b: [UInt8]) {
        if b.starts(with: [0x7f, 0x45, 0x4c, 0x46]) {
            self = .elf(b.count >= 18 ? ELFFileType(rawValue: UInt16(b[16]) | UInt16(b[17]) << 8) : nil)
        } else if b.withUnsafeBytes({ ImageHeader.isPresent(in: ByteView($0)) }) {
            // Before the zboot check: an EFI-stub Image starts with "MZ" too, and is an Image.
            self = .image
        } else if let method = Containers.compression(b) {
            self = .compressed(method)
        } else if Containers.isZboot(b) {
            self = .zboot
        } else {
            self = .other
        }
    }

    /// Something `KernelImage.load` reads (possibly after unpacking).
    public var isKernelInput: Bool { self != .other }

    /// Every input format Slide reads, for help texts and errors.
    public static let formats = "an ELF file, arm64 Image, gzip, xz or zstd stream, or EFI zboot image (gzip, xzkern or zstd22 payload)"
}
