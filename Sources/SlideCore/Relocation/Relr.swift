// RELR: packed relative relocations (gABI SHT_RELR; docs/relocations.md).
//
// A table of 64-bit words. An even word is the link address A of a place; it relocates A and
// sets `next = A + 8`. An odd word is a bitmap: bit j (1...63) relocates `next + (j-1)*8`,
// then `next += 63*8`. RELR is REL-style: the place holds its link-time value and applying a
// displacement *adds* it, so application is not idempotent.

/// A view over a RELR table.
public struct RelrTable {
    public let bytes: ByteView
    public let count: Int

    public init(_ bytes: ByteView) throws(SlideError) {
        guard bytes.count % 8 == 0 else {
            throw .misaligned("RELR table size", value: UInt64(bytes.count), alignment: 8)
        }
        self.bytes = bytes
        self.count = bytes.count / 8
    }

    @inlinable public subscript(i: Int) -> UInt64 {
        precondition(i >= 0 && i < count)
        return bytes.u64Unchecked(at: i * 8)
    }

    /// The places the table relocates, in table order.
    public func makePlaces() -> RelrPlaces { RelrPlaces(table: self) }

    /// Number of places, or the error `RelrPlaces` stops on.
    public func placeCount() throws(SlideError) -> Int {
        var it = makePlaces()
        var n = 0
        while it.next() != nil { n += 1 }
        if let e = it.error { throw e }
        return n
    }
}

/// Decodes a RELR table into link addresses of places.
///
/// A bitmap before any address word has no base; decoding stops there and `error` says where
/// (a decoder that silently started from 0 would relocate the first 63 words of memory).
public struct RelrPlaces: IteratorProtocol {
    let table: RelrTable
    var index = 0
    var cursor: UInt64 = 0
    var haveBase = false
    var bits: UInt64 = 0
    var bitBase: UInt64 = 0
    /// Set when decoding stopped on a malformed table.
    public private(set) var error: SlideError? = nil
    /// Index of the word that produced the last place.
    public private(set) var wordIndex = 0

    init(table: RelrTable) { self.table = table }

    public mutating func next() -> UInt64? {
        while true {
            if bits != 0 {
                let j = UInt64(bits.trailingZeroBitCount)
                bits &= bits &- 1
                return bitBase &+ j &* 8
            }
            guard index < table.count, error == nil else { return nil }
            let w = table[index]
            wordIndex = index
            index += 1
            if w & 1 == 0 {
                haveBase = true
                cursor = w &+ 8
                return w
            }
            guard haveBase else {
                error = .invalid("RELR bitmap before any address word, word", value: UInt64(index - 1))
                return nil
            }
            bits = w >> 1
            bitBase = cursor
            cursor = cursor &+ 63 * 8
        }
    }
}

public enum Relr {
    /// Adds `displacement` to every place of `table` in `image` (byte 0 = link address `linkBase`).
    /// Returns the number of places relocated.
    @inlinable
    public static func apply(_ table: RelrTable, to image: MutableByteView, linkBase: UInt64,
                             displacement: UInt64) throws(SlideError) -> Int {
        guard image.count >= 8 else {
            if table.count > 0 { throw .truncated("image", offset: 0, size: 8, available: image.count) }
            return 0
        }
        var walk = RelrApplyWalk(lastPlace: UInt64(image.count - 8), linkBase: linkBase, displacement: displacement)
        if table.count > 0, let t = table.bytes.base, let out = image.base, (UInt(bitPattern: t) | UInt(bitPattern: out)) & 7 == 0 {
            walk.applyAligned(t, count: table.count, to: out)
        }
        try walk.applyChecked(table, to: image)
        return walk.relocated
    }

    /// Encodes ascending, distinct, even `places` as RELR words, calling `emit` for each word.
    ///
    /// One pass, no look-back: an address word for the first place not yet covered, then as many
    /// bitmaps as keep covering places within the next 63 words. Places that are not a multiple
    /// of 8 from the current base get their own address word. Odd places cannot be RELR.
    public static func encode(count: Int, place: (Int) -> UInt64, emit: (UInt64) -> Void) throws(SlideError) {
        var i = 0
        var previous: UInt64? = nil
        while i < count {
            let base = place(i)
            guard base & 1 == 0 else { throw .misaligned("RELR place", value: base, alignment: 2) }
            if let p = previous, base <= p { throw .invalid("RELR places out of order or repeated at", value: base) }
            emit(base)
            previous = base
            i += 1
            var next = base &+ 8
            while true {
                var bitmap: UInt64 = 0
                while i < count {
                    let p = place(i)
                    guard p > previous! else { throw .invalid("RELR places out of order or repeated at", value: p) }
                    let delta = p &- next
                    guard p >= next, delta < 63 * 8, delta % 8 == 0 else { break }
                    bitmap |= 1 << (delta / 8)
                    previous = p
                    i += 1
                }
                if bitmap == 0 { break }
                emit(bitmap << 1 | 1)
                next = next &+ 63 * 8
            }
        }
    }
}

/// Where `Relr.apply` is in a table: the aligned loop stops at the first word it cannot take
/// and the checked loop goes on from there, reporting exactly where the table leaves the image.
@usableFromInline
struct RelrApplyWalk {
    @usableFromInline let lastPlace: UInt64
    @usableFromInline let linkBase: UInt64
    @usableFromInline let displacement: UInt64
    /// The next word to read.
    @usableFromInline var index = 0
    /// The image offset the next bitmap's first bit stands for.
    @usableFromInline var next: UInt64 = 0
    @usableFromInline var haveBase = false
    @usableFromInline var relocated = 0

    @inlinable
    init(lastPlace: UInt64, linkBase: UInt64, displacement: UInt64) {
        self.lastPlace = lastPlace
        self.linkBase = linkBase
        self.displacement = displacement
    }

    /// Aligned table and image (always, in the kernel): aligned loads and stores, single
    /// instructions where the code is built for strict alignment, and one range check per
    /// word: an address word's place, rotated right by 3, is in range and 8-byte aligned in one
    /// compare; a bitmap's places are ascending, so its highest is checked for all of them.
    /// Stops at the first word that fails these checks, for `applyChecked` to report.
    @inlinable
    mutating func applyAligned(_ t: UnsafeRawPointer, count: Int, to out: UnsafeMutableRawPointer) {
        let lastWord = lastPlace >> 3
        while index < count {
            let w = UInt64(littleEndian: t.load(fromByteOffset: index &* 8, as: UInt64.self))
            if w & 1 == 0 {
                let place = w &- linkBase
                guard place.rotatedRight3 <= lastWord else { return }
                let p = (out + Int(bitPattern: UInt(place))).assumingMemoryBound(to: UInt64.self)
                p.pointee = (UInt64(littleEndian: p.pointee) &+ displacement).littleEndian
                relocated &+= 1
                next = place &+ 8
                haveBase = true
            } else {
                guard haveBase else { return }
                var bits = w >> 1
                // An empty bitmap (the word 1) relocates nothing and only moves on.
                if bits != 0 {
                    guard next <= lastPlace, next &+ UInt64(63 &- bits.leadingZeroBitCount) &* 8 <= lastPlace else { return }
                    let base = (out + Int(bitPattern: UInt(next))).assumingMemoryBound(to: UInt64.self)
                    relocated &+= bits.nonzeroBitCount
                    repeat {
                        let p = base + bits.trailingZeroBitCount
                        p.pointee = (UInt64(littleEndian: p.pointee) &+ displacement).littleEndian
                        bits &= bits &- 1
                    } while bits != 0
                }
                next = next &+ 63 * 8
            }
            index &+= 1
        }
    }

    /// Any table and image, one checked place at a time, from `index` on.
    @inlinable
    mutating func applyChecked(_ table: RelrTable, to image: MutableByteView) throws(SlideError) {
        while index < table.count {
            let w = table.bytes.u64Unchecked(at: index * 8)
            if w & 1 == 0 {
                try relocate(w &- linkBase, in: image)
                next = w &- linkBase &+ 8
                haveBase = true
                index += 1
                continue
            }
            guard haveBase else { throw .invalid("RELR bitmap before any address word, word", value: UInt64(index)) }
            var bits = w >> 1
            while bits != 0 {
                try relocate(next &+ UInt64(bits.trailingZeroBitCount) &* 8, in: image)
                bits &= bits &- 1
            }
            next = next &+ 63 * 8
            index += 1
        }
    }

    @inlinable
    mutating func relocate(_ place: UInt64, in image: MutableByteView) throws(SlideError) {
        guard place <= lastPlace else {
            throw .outOfRange("RELR place", value: linkBase &+ place, low: linkBase, high: linkBase &+ lastPlace)
        }
        image.setU64Unchecked(image.u64Unchecked(at: Int(place)) &+ displacement, at: Int(place))
        relocated += 1
    }
}
