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

    /// The entry at byte `o` of `bytes`: r_offset, r_info, r_addend, little-endian. Unchecked:
    /// the caller has checked `o + 24 <= bytes.count` (the one RELA record decoder; table walks
    /// over a kernel's ~280,000 entries call it per entry).
    @inlinable @inline(__always)
    public init(unchecked bytes: ByteView, at o: Int) {
        self.init(offset: bytes.u64Unchecked(at: o), info: bytes.u64Unchecked(at: o + 8),
                  addend: Int64(bitPattern: bytes.u64Unchecked(at: o + 16)))
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
        return RelaEntry(unchecked: bytes, at: i * RelaEntry.size)
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
        // One walk of the table, in table order. Hot loop: RELATIVE (all but a handful of a
        // kernel's entries), as the boot code does, pointer-walked with wrapping arithmetic: the
        // table's extent was checked when the RelaTable was made, and every place is checked
        // against the image before the store. Any other entry goes out of line (`applyOther`).
        if table.count > 0, let start = t.base, let out = image.base {
            let end = start + table.count * RelaEntry.size
            if (UInt(bitPattern: start) | UInt(bitPattern: out)) & 7 == 0 {
                // Aligned table and image (always, in the kernel): `applyRelative` walks as far as
                // it can; the entry it stops at goes through the checked path, then it resumes.
                var entry = start
                while entry != end {
                    entry = applyRelative(from: entry, to: end, image: out, linkBase: linkBase,
                                          lastWord: lastPlace >> 3, displacement: displacement)
                    guard entry != end else { break }
                    entry = try applyChecked(table, from: entry, start: start, end: end, to: image, linkBase: linkBase,
                                             lastPlace: lastPlace, displacement: displacement, resolver: resolver, report: &report)
                }
            } else {
                var entry = start
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
                        try applyOther(table[(entry - start) / RelaEntry.size], index: (entry - start) / RelaEntry.size, to: image,
                                       linkBase: linkBase, lastPlace: lastPlace, resolver: resolver, report: &report)
                    }
                    entry += RelaEntry.size
                } while entry < end
            }
        }
        report.relative = table.count - report.none - report.symbolic - report.unresolved - report.unsupported
        return report
    }

    /// The aligned hot loop of `apply`: RELATIVE entries (r_info exactly R_AARCH64_RELATIVE, symbol
    /// 0) at 8-byte aligned places in the image, from `entry` on; returns the first entry it did
    /// not apply (or `end`). A leaf with everything in registers: aligned loads and stores, which
    /// stay single instructions where the code is built for strict alignment, and one compare
    /// for range and alignment (rotated right by 3, a place that is not a multiple of 8 becomes
    /// larger than any in-range word index).
    @inlinable @inline(never)
    static func applyRelative(from entry: UnsafeRawPointer, to end: UnsafeRawPointer, image out: UnsafeMutableRawPointer,
                              linkBase: UInt64, lastWord: UInt64, displacement: UInt64) -> UnsafeRawPointer {
        let relative = UInt64(RelocationType.relative.rawValue)
        var entry = entry
        repeat {
            let offset = UInt64(littleEndian: entry.load(as: UInt64.self))
            let info = UInt64(littleEndian: entry.load(fromByteOffset: 8, as: UInt64.self))
            let addend = UInt64(littleEndian: entry.load(fromByteOffset: 16, as: UInt64.self))
            let place = offset &- linkBase
            guard info == relative && place.rotatedRight3 <= lastWord else { return entry }
            (out + Int(bitPattern: UInt(place))).assumingMemoryBound(to: UInt64.self).pointee = (addend &+ displacement).littleEndian
            entry += RelaEntry.size
        } while entry != end
        return end
    }

    /// The entries of `apply` the aligned hot loop did not take, from `entry` up to the next
    /// plain RELATIVE one (or `end`), which it returns: RELATIVE at a misaligned place (unaligned
    /// store) or out of range (the error), NONE (counted), any other type (`applyOther`).
    @inlinable @inline(never)
    static func applyChecked<R: SymbolResolver>(
        _ table: RelaTable, from entry: UnsafeRawPointer, start: UnsafeRawPointer, end: UnsafeRawPointer, to image: MutableByteView,
        linkBase: UInt64, lastPlace: UInt64, displacement: UInt64, resolver: R, report: inout RelaApplyReport
    ) throws(SlideError) -> UnsafeRawPointer {
        let relative = UInt64(RelocationType.relative.rawValue)
        var entry = entry, none = 0
        defer { report.none += none }
        repeat {
            let info = UInt64(littleEndian: entry.load(fromByteOffset: 8, as: UInt64.self))
            if info & 0xffff_ffff == 0 {
                none &+= 1
            } else {
                let index = (entry - start) / RelaEntry.size
                let e = table[index]
                if e.type == .relative {
                    let place = e.offset &- linkBase
                    guard place <= lastPlace else {
                        throw .outOfRange("RELA place", value: e.offset, low: linkBase, high: linkBase &+ lastPlace)
                    }
                    image.setU64Unchecked(UInt64(bitPattern: e.addend) &+ displacement, at: Int(place))
                } else {
                    try applyOther(e, index: index, to: image, linkBase: linkBase, lastPlace: lastPlace, resolver: resolver, report: &report)
                }
            }
            entry += RelaEntry.size
        } while entry != end && UInt64(littleEndian: entry.load(fromByteOffset: 8, as: UInt64.self)) != relative
        return entry
    }

    /// One entry of `apply` that is not RELATIVE, counted by kind into `report`.
    @inlinable @inline(never)
    static func applyOther<R: SymbolResolver>(
        _ e: RelaEntry, index: Int, to image: MutableByteView, linkBase: UInt64, lastPlace: UInt64, resolver: R,
        report: inout RelaApplyReport
    ) throws(SlideError) {
        switch e.type {
        case .none:
            report.none += 1
        case .abs64, .globDat:
            guard let s = resolver.value(ofSymbol: e.symbol) else {
                report.unresolved += 1
                return
            }
            let place = e.offset &- linkBase
            guard place <= lastPlace else {
                throw .outOfRange("RELA place", value: e.offset, low: linkBase, high: linkBase &+ lastPlace)
            }
            image.setU64Unchecked(s &+ UInt64(bitPattern: e.addend), at: Int(place))
            report.symbolic += 1
        default:
            if report.firstUnsupported == nil { report.firstUnsupported = index }
            report.unsupported += 1
        }
    }
}

extension UInt64 {
    /// Rotated right by 3 bits: a multiple of 8 becomes itself / 8; anything else gets a top bit
    /// set (one compare then checks both range and 8-byte alignment).
    @inlinable @inline(__always)
    var rotatedRight3: UInt64 { self >> 3 | self << 61 }
}
