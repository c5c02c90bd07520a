// One model for every kernel input: the flat image as the boot code sees it.
//
// A raw Image *is* the flat image (file offset 0 = link address). An ELF is flattened with
// `objcopy -O binary` semantics: allocated, non-NOBITS sections from the lowest allocated
// address, gaps zero-filled. Every later step — listing, checking, relocating — works on this
// model, so an ELF and the Image made from it give the same answers.
//
// This file is the value and the loader's entry; a raw Image is read in RawImage.swift, an ELF in
// Input/ELFKernel.swift; the facts' provenance is Provenance.swift, and FailClosed.swift is how a
// command takes a fact it depends on.

import Foundation
import SlideCore

public struct KernelImage {
    public enum Format: String { case image, elf }

    public let path: String
    public let format: Format
    /// Containers removed to reach the kernel (`gzip`, `efi-zboot(gzip)`).
    public let containers: [String]
    /// The flat image; for a raw Image, the whole file including trailing bytes.
    public var bytes: [UInt8]
    /// Bytes of image data (excludes e.g. an appended signature).
    public let dataSize: Int
    public let header: ImageHeader?
    public let pe: PEInfo?
    /// Link address of image byte 0 (KIMAGE_VADDR for Linux). Read it through `requireLinkBase()`
    /// wherever a result depends on it: it may be unknown (0) or only inferred.
    public var linkBase: UInt64
    public var linkBaseSource: Provenance
    public var linkBaseReason: String
    /// How far the link base is established (`Standing`).
    public var linkBaseStanding: Standing = .established
    /// Bytes the image occupies in memory (header `image_size`, or ELF end of BSS − start).
    public let memorySize: UInt64
    /// What pointers into the image may reach: `memorySize`, or a vmlinux's header `image_size`
    /// (_text.._end) when larger, as GNU ld can end the sections before _end (init_pg_dir).
    public var span: UInt64 { max(memorySize, header?.imageSize ?? 0) }
    public var rela: TableLocation?
    public var relr: TableLocation?
    /// Candidates considered but not chosen (for `inspect --json`).
    public var notes: [String]
    /// Every recognizer that found tables in a raw Image, and whether it was proven and agreed.
    public var recognitions: [RecognizerOutcome] = []
    /// The `__ex_table` (an ELF's section, or what a Slide Image's seal names) and the executable
    /// sections' span (ELF inputs only), as image offsets.
    public var exceptionTable: Range<Int>? = nil
    public var text: Range<Int>? = nil
    /// The `Linux version …` banner, when the image holds one.
    public var banner: String? = nil
    /// Why the image data is shorter than its headers say, when it is.
    public var truncation: String? = nil
    /// "already relocated by +0x200000": the places hold run-time values, not link-time ones.
    public var alreadyRelocated: String? = nil
    /// The user named the recognizer (--table-method other than auto/code): its tables are given.
    public var tablesGiven = false
    /// Recognizers whose tables differ from the ones used (verify reports each as an error).
    public var disagreements: [String] = []
    /// The structural scan's guess differing from the tables used (verify warns).
    public var guessDisagreements: [String] = []
    /// The ELF reader for ELF inputs (symbols for symbolic entries).
    public let elfBytes: [UInt8]?

    /// Reads and understands a kernel file. With `kallsymsWitness`, discovery ends by reading
    /// the kernel's own symbol table as a witness of the tables found (KallsymsWitness.swift):
    /// its account is one more entry in `recognitions`, a disagreement one more in
    /// `disagreements`. It costs about a second, so only the reports that show it ask for it.
    public static func load(path: String, discovery: Discovery = .auto, linkBase: UInt64? = nil,
                            kallsymsWitness: Bool = false) throws(SlideKitError) -> KernelImage {
        // What the file is, from its first bytes, before it is read whole (a 2 GB file of zeros is
        // refused at once, and /dev/zero does not fill memory).
        let head = try Files.head(path)
        guard !head.isEmpty else { throw SlideKitError(path, "file is empty") }
        guard FileKind(head).isKernelInput else { throw notAKernel(path, head) }
        return try load(bytes: try Files.read(path), path: path, discovery: discovery, linkBase: linkBase, kallsymsWitness: kallsymsWitness)
    }

    static func notAKernel(_ path: String, _ bytes: [UInt8]) -> SlideKitError {
        SlideKitError(path, bytes.count < 64 ? "too short to be a kernel (\(bytes.count) bytes)"
            : "not \(FileKind.formats) (no \"ARM\\x64\" magic at 0x38)")
    }

    /// Loads from bytes already in memory; `path` names them in errors.
    public static func load(bytes raw: [UInt8], path: String, discovery: Discovery = .auto,
                            linkBase: UInt64? = nil, kallsymsWitness: Bool = false) throws(SlideKitError) -> KernelImage {
        guard !raw.isEmpty else { throw SlideKitError(path, "file is empty") }
        let (bytes, chain) = try Containers.unpack(raw, path: path)
        switch FileKind(bytes) {
        case .elf: return try fromELF(bytes, path: path, containers: chain, linkBaseOverride: linkBase)
        case .image: break
        default:
            throw notAKernel(path, bytes)
        }
        var k = try fromImage(bytes, path: path, containers: chain, discovery: discovery, linkBaseOverride: linkBase)
        if kallsymsWitness { k.addKallsymsWitness() }
        return k
    }

    /// -2^52: the lowest address a kernel can be linked at (VA_BITS ≤ 52, the kernel in TTBR1's half).
    public static let lowestKernelAddress: UInt64 = 0xfff0_0000_0000_0000
}
