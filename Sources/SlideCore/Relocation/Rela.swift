// RELA tables (gABI `Elf64_Rela`, 24 bytes) and their application, as the arm64 boot code does
// it (docs/relocations.md): for R_AARCH64_RELATIVE the place is *overwritten* with
// `addend + displacement`, so application is idempotent and works on the zero-filled places
// that `--no-apply-dynamic-relocs` leaves in an Image.
//
// Runs inside the kernel: no allocation, typed throws, every place bounds-checked before the
// store, and a table that points outside the image is an error, never a wild write.

/// One `Elf64_Rela` entry.
public struct RelaEntry: Equatable {
    public static let size = 24
    /// `r_offset`: the link-time virtual address of the place.
    public var offset: UInt64
    /// `r_info`: symbol index in the high 32 bits, type in the low 32 bits.
    public var info: UInt64
    /// `r_addend`.
    public var addend: Int64

    public init(offset: UInt64, info: UInt64, addend: Int64) {
        self.offset = offset
        self.info = info
        self.addend = addend
    }

    public init(offset: UInt64, type: RelocationType, symbol: UInt32 = 0, addend: Int64) {
        self.init(offset: offset, info: UInt64(symbol) << 32 | UInt64(type.rawValue), addend: addend)
    }

    /// `ELF64_R_TYPE(r_info)`.
    @inlinable public var type: RelocationType { RelocationType(rawValue: UInt32(truncatingIfNeeded: info)) }
    /// `ELF64_R_SYM(r_info)`.
    @inlinable public var symbol: UInt32 { UInt32(truncatingIfNeeded: info >> 32) }
}

/// A view over a RELA table in memory.
public struct RelaTable {
    public let bytes: ByteView
    public let count: Int

    /// The table must be a whole number of 24-byte entries.
    public init(_ bytes: ByteView) throws(SlideError) {
        guard bytes.count % RelaEntry.size == 0 else {
            throw .misaligned("RELA table size", value: UInt64(bytes.count), alignment: UInt64(RelaEntry.size))
        }
        self.bytes = bytes
        self.count = bytes.count / RelaEntry.size
    }

    @inlinable
    public subscript(i: Int) -> RelaEntry {
        precondition(i >= 0 && i < count)
        let o = i * RelaEntry.size
        return RelaEntry(offset: bytes.u64Unchecked(at: o), info: bytes.u64Unchecked(at: o + 8),
                         addend: Int64(bitPattern: bytes.u64Unchecked(at: o + 16)))
    }

    /// Writes `entry` as 24 little-endian bytes at `index` of `out`.
    public static func write(_ entry: RelaEntry, to out: MutableByteView, index: Int) throws(SlideError) {
        let o = index * RelaEntry.size
        try out.setU64(entry.offset, at: o)
        try out.setU64(entry.info, at: o + 8)
        try out.setU64(UInt64(bitPattern: entry.addend), at: o + 16)
    }
}

/// Supplies `S` for symbol-based entries (R_AARCH64_ABS64, R_AARCH64_GLOB_DAT).
public protocol SymbolResolver {
    /// The run-time value of symbol `index`, or nil when it cannot be resolved (the entry is skipped).
    func value(ofSymbol index: UInt32) -> UInt64?
}

/// The boot code's resolver: no symbol table survives in an Image, so symbol-based entries are skipped.
public struct NoSymbols: SymbolResolver {
    public init() {}
    public func value(ofSymbol index: UInt32) -> UInt64? { nil }
}

/// What applying a RELA table did, by kind. Allocation-free.
public struct RelaApplyReport: Equatable {
    /// R_AARCH64_RELATIVE entries written.
    public var relative = 0
    /// ABS64/GLOB_DAT entries written through the resolver.
    public var symbolic = 0
    /// ABS64/GLOB_DAT entries the resolver could not resolve (left untouched).
    public var unresolved = 0
    /// R_AARCH64_NONE entries (padding) skipped.
    public var none = 0
    /// Entries of any other type (left untouched).
    public var unsupported = 0
    /// Index of the first unsupported entry, if any.
    public var firstUnsupported: Int? = nil
    public init() {}
}

public enum Rela {
    /// Applies `table` to `image`, whose byte 0 is link address `linkBase`, for an image that
    /// runs at `linkBase + displacement`.
    ///
    /// RELATIVE: `[P] = A + displacement`. ABS64/GLOB_DAT: `[P] = S + A` with S from `resolver`.
    /// NONE is skipped; other types are counted and left alone. A place outside the image
    /// (or one that would overlap its end) stops the walk with an error before any store to it.
    @inlinable
    public static func apply<R: SymbolResolver>(
        _ table: RelaTable, to image: MutableByteView, linkBase: UInt64, displacement: UInt64,
        resolver: R
    ) throws(SlideError) -> RelaApplyReport {
        var report = RelaApplyReport()
        guard image.count >= 8 else {
            if table.count > 0 { throw .truncated("image", offset: 0, size: 8, available: image.count) }
            return report
        }
        let lastPlace = UInt64(image.count - 8)
        let t = table.bytes
        let relative = UInt64(RelocationType.relative.rawValue)
        // Hot loop: RELATIVE only (all but a handful of a kernel's entries), as the boot code does.
        // Pointer-walked with wrapping arithmetic: the table's extent was checked when the
        // RelaTable was made, and every place is checked against the image before the store.
        var others = 0
        if table.count > 0, let start = t.base, let out = image.base {
            var entry = start
            let end = start + table.count * RelaEntry.size
            repeat {
                let info = UInt64(littleEndian: entry.loadUnaligned(fromByteOffset: 8, as: UInt64.self))
                if info & 0xffff_ffff == relative {
                    let offset = UInt64(littleEndian: entry.loadUnaligned(as: UInt64.self))
                    let place = offset &- linkBase
                    guard place <= lastPlace else {
                        throw .outOfRange("RELA place", value: offset, low: linkBase, high: linkBase &+ lastPlace)
                    }
                    let addend = UInt64(littleEndian: entry.loadUnaligned(fromByteOffset: 16, as: UInt64.self))
                    out.storeBytes(of: (addend &+ displacement).littleEndian, toByteOffset: Int(bitPattern: UInt(place)), as: UInt64.self)
                } else {
                    others &+= 1
                }
                entry += RelaEntry.size
            } while entry < end
        }
        report.relative = table.count - others
        guard others > 0 else { return report }
        // Cold pass: everything else, by kind.
        for i in 0..<table.count {
            let e = table[i]
            switch e.type {
            case .relative:
                continue
            case .none:
                report.none += 1
            case .abs64, .globDat:
                guard let s = resolver.value(ofSymbol: e.symbol) else {
                    report.unresolved += 1
                    continue
                }
                let place = e.offset &- linkBase
                guard place <= lastPlace else {
                    throw .outOfRange("RELA place", value: e.offset, low: linkBase, high: linkBase &+ lastPlace)
                }
                image.setU64Unchecked(s &+ UInt64(bitPattern: e.addend), at: Int(place))
                report.symbolic += 1
            default:
                if report.firstUnsupported == nil { report.firstUnsupported = i }
                report.unsupported += 1
            }
        }
        return report
    }
}
