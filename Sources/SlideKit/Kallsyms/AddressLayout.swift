// Where kallsyms keeps the addresses and how they are encoded: the extension point. One layout
// per file, each tried on every image; exactly one must fit.
//
// Three encodings have existed (kallsyms_sym_address() in kernel/kallsyms.c; scripts/kallsyms.c):
//   absolute        kallsyms_addresses: a u64 per symbol, emitted as `_text + x`, so relocated
//                   at boot (R_AARCH64_RELATIVE). Only with KALLSYMS_BASE_RELATIVE off; removed
//                   in 6.11 (64e166099b69, "kallsyms: get rid of code for absolute kallsyms").
//   relative-base   kallsyms_offsets: a u32 per symbol; address = kallsyms_relative_base +
//                   offset. relative_base is a u64 `_text + x` (relocated at boot) holding the
//                   first symbol's address, so offsets[0] is 0. 4.6 to 6.x; arm64's default, and
//                   the only kind from 6.11. (x86_64's absolute-percpu variant, negative offsets
//                   counted down from the base, removed in 6.15, is never built for arm64.)
//   place-relative  kallsyms_offsets: an s32 per symbol; address = &kallsyms_offsets[i] +
//                   offset (`.long _text - . + x`, which the linker resolves as R_AARCH64_PREL32:
//                   no boot-time relocation, no base). 7.0+ (a081b5789255, "kallsyms: Get rid
//                   of kallsyms relative base"). Labels are 4-byte aligned from then on.
// They sit either before kallsyms_num_syms (to 6.3) or after kallsyms_token_index (6.4+, from
// 404bad70fcf7); see KallsymsLocator.swift.
//
// A relocated word is read at its link-time value: RELR kernels (Debian's 6.12 and 7.x) keep that
// value at the place; RELA kernels linked with --no-apply-dynamic-relocs (5.10, 6.1) hold zero
// there, and the value is the R_AARCH64_RELATIVE entry's addend.
//
// Each layout checks what it reads: every address inside [link base, link base + image size],
// none inside the kallsyms tables themselves (but at their labels), in ascending order (kallsyms
// sorts by address), not all at one address, plus its own invariant (relative-base: offsets[0]
// is 0; place-relative: no entry is 0, i.e. points at itself). A table of one encoding breaks
// another's invariants; the reader insists that exactly one layout fits.

import SlideCore

protocol KallsymsAddressLayout: Sendable {
    /// The name reports give the layout (`KallsymsTable.layout`).
    var name: String { get }
    func read(_ core: KallsymsCore, _ input: KallsymsInput) -> KallsymsLayoutReading
}

enum KallsymsLayouts {
    /// Every layout; a new encoding is a new file and one entry here.
    static let all: [any KallsymsAddressLayout] = [RelativeBaseLayout(), PlaceRelativeLayout(), AbsoluteLayout()]
}

/// What a layout made of an image: its address tables, or why they are not there.
enum KallsymsLayoutReading {
    case found(KallsymsAddresses)
    case notThisLayout(String)
}

/// Where the address tables sit relative to the shared ones.
enum KallsymsPlacement: String {
    /// Before kallsyms_num_syms: up to 6.3.
    case beforeCount = "before kallsyms_num_syms"
    /// After kallsyms_token_index: 6.4 and later.
    case afterTokenIndex = "after kallsyms_token_index"
}

struct KallsymsAddresses {
    /// Link-time address of every symbol, in table order.
    var values: [UInt64]
    /// kallsyms_offsets or kallsyms_addresses, as image offsets.
    var table: Range<Int>
    /// kallsyms_relative_base (a u64), for the relative-base layout.
    var relativeBase: Int?
    var placement: KallsymsPlacement
    /// Where kallsyms_seqs_of_names would start when it follows these tables (6.4+).
    var seqsAfter: Int?
}

/// What the layouts read: the flat image, its link base and size, and its RELA table (for the
/// link-time value of relocated words).
struct KallsymsInput {
    let path: String
    let view: ByteView
    /// Link address of image offset 0.
    let linkBase: UInt64
    /// Bytes the image spans in memory: symbols lie in [linkBase, linkBase + memorySize].
    let memorySize: UInt64
    let rela: RelaTable?

    /// `count` u64 words at `offset`, each at its link-time value: a place an R_AARCH64_RELATIVE
    /// entry covers reads as the entry's addend.
    func linkTimeWords(at offset: Int, count: Int) throws(SlideError) -> [UInt64] {
        guard count <= KallsymsLocator.mostSymbols else { throw SlideError.countOverflow("kallsyms words", count: UInt64(count), size: 8) }
        let region = try view.slice(offset: offset, size: 8 * count, "kallsyms table")
        var words = (0..<count).map { region.u64Unchecked(at: 8 * $0) }
        if let rela {
            let low = linkBase &+ UInt64(offset), high = low &+ UInt64(8 * count)
            for i in 0..<rela.count {
                let e = rela[i]
                guard e.type == .relative, e.offset >= low, e.offset < high, (e.offset - low) % 8 == 0 else { continue }
                words[Int((e.offset - low) / 8)] = UInt64(bitPattern: e.addend)
            }
        }
        return words
    }

    /// `count` u32 words at `offset`.
    func words32(at offset: Int, count: Int) throws(SlideError) -> [UInt32] {
        guard count <= KallsymsLocator.mostSymbols else { throw SlideError.countOverflow("kallsyms words", count: UInt64(count), size: 4) }
        let region = try view.slice(offset: offset, size: 4 * count, "kallsyms_offsets")
        return (0..<count).map { region.u32Unchecked(at: 4 * $0) }
    }

    /// Why `addresses` cannot be kallsyms' (outside the image, inside the kallsyms tables other
    /// than at a table's start, or out of order), or nil. `tables` spans the kallsyms tables and
    /// `starts` are their image offsets: with KALLSYMS_ALL, 6.x and 7.x list each table's label
    /// (kallsyms_names, kallsyms_offsets, ...) as a symbol, and nothing else lies among them.
    func problem(_ addresses: [UInt64], tables: Range<Int>, starts: [Int]) -> String? {
        let high = linkBase &+ memorySize
        let tablesLow = linkBase &+ UInt64(tables.lowerBound), tablesHigh = linkBase &+ UInt64(tables.upperBound)
        let labels = Set(starts.map { linkBase &+ UInt64($0) })
        for (i, v) in addresses.enumerated() {
            if v < linkBase || v > high {
                return "symbol \(i) at \(hex(v)) lies outside the image [\(hex(linkBase)), \(hex(high))]"
                    + (linkBase == 0 ? " (link base unknown: give --link-base)" : "")
            }
            if v > tablesLow && v < tablesHigh && !labels.contains(v) { return "symbol \(i) at \(hex(v)) lies inside the kallsyms tables" }
            if i > 0, v < addresses[i - 1] { return "symbol \(i) at \(hex(v)) lies below symbol \(i - 1) at \(hex(addresses[i - 1])): not in address order" }
        }
        // A kernel's symbols span its text at least: all at one address is a table of zeros.
        if addresses.count > 1, addresses.first == addresses.last { return "every symbol is at \(hex(addresses[0]))" }
        return nil
    }
}
