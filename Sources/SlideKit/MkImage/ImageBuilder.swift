// `slide mkimage`: the fixup step, made trustworthy (docs/image.md).
//
// ELF in, flat Image out (objcopy -O binary semantics), refusing what cannot boot; the header
// checked (never silently rewritten); optionally RELA → RELR repacking and zeroed RELA places;
// a relative exception table sorted; and the seal — digest and table bounds — written into
// the image for the kernel to check before it relocates. The result is verified before it is
// written, atomically.
//
// A build is a list of passes (`ImageBuilder.stages`) over one `ImageBuild` value, in the order
// a linker's post-link steps would run: header, relocations, exception table, symbols, seal,
// verification. A new pass is one `MkImageStage` type (a file in Stages/) and one line in the list.

import SlideCore

public struct BuildOptions {
    public var packRelr = false
    public var zeroRelocatedPlaces = false
    public var pageSize: UInt64? = nil
    /// Accept ABS64/GLOB_DAT entries and leave them untouched, as Linux's boot code does (right only
    /// for undefined weak symbols, whose value is 0): for Linux vmlinux files.
    public var allowSymbolic = false
    public init() {}
}

public struct BuildResult {
    public var image: [UInt8]
    /// The header's image_size: what a loader reserves (at least the ELF's extent).
    public var memorySize: UInt64
    public var relaEntries: Int
    public var relrWords: Int
    public var relrPlaces: Int
    public var bytesSavedByRelr: Int
    public var sealed: Bool
    public var extableEntries: Int
    public var notes: [String]

    /// `mkimage --json`: what was built from `file` and written to `output`.
    public func document(file: String, output: String) -> JSON {
        .object([
            ("schema", .string(jsonSchemaVersion)), ("file", .string(file)), ("output", .string(output)),
            ("image_bytes", .int(image.count)), ("image_size", .hex(memorySize)), ("rela_entries", .int(relaEntries)),
            ("relr_words", .int(relrWords)), ("relr_places", .int(relrPlaces)), ("relr_saved_bytes", .int(bytesSavedByRelr)),
            ("sealed", .bool(sealed)), ("extable_entries", .int(extableEntries)), ("notes", .array(notes.map { .string($0) })),
        ])
    }
}

public enum ImageBuilder {
    /// In the order they run; each may refuse the build.
    static let stages: [any MkImageStage] = [
        FillHeaderPlaceholder(),
        CheckHeader(),
        WritePEHeader(),
        CollectRelocations(),
        RepackRelocations(),
        SortExceptionTable(),
        EmbedSymbols(),
        SealImage(),
        VerifyBuiltImage(),
    ]

    public static func build(_ path: String, _ options: BuildOptions) throws(SlideKitError) -> BuildResult {
        var build = try ImageBuild(path, options)
        for stage in stages { try stage.run(&build) }
        return BuildResult(image: build.image, memorySize: build.header.imageSize, relaEntries: build.relaEntries,
                           relrWords: build.relrWords, relrPlaces: build.relrPlaces, bytesSavedByRelr: build.saved,
                           sealed: build.sealed, extableEntries: build.extableEntries, notes: build.notes)
    }
}

/// One pass of mkimage.
protocol MkImageStage: Sendable {
    func run(_ b: inout ImageBuild) throws(SlideKitError)
}

extension MutableByteView {
    func slice(_ offset: Int, _ size: Int) throws(SlideError) -> MutableByteView {
        guard contains(offset: offset, size: size) else { throw .truncated("range", offset: offset, size: size, available: count) }
        return MutableByteView(UnsafeMutableRawBufferPointer(start: base.map { $0 + offset }, count: size))
    }
}
