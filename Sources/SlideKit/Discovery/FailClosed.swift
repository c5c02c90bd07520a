// Fail closed: a result that depends on the link base or the tables gets them only through these
// checks, which refuse (naming what is missing and the option that supplies it) what is not
// established or given.

import SlideCore

extension KernelImage {

    /// The link base, for a result that depends on it: refused (naming what is missing and the
    /// option that supplies it) unless it is established or given.
    public func requireLinkBase(for what: String) throws(SlideKitError) -> UInt64 {
        if let alreadyRelocated, linkBaseStanding != .given {
            throw SlideKitError(path, "\(what) needs an Image as linked, and this one was \(alreadyRelocated): its places hold run-time values (relocate the original, or give --link-base)")
        }
        switch linkBaseStanding {
        case .established, .given: return linkBase
        case .inferred:
            throw SlideKitError(path, "\(what) needs the link base, which is not established (only inferred: \(hex(linkBase)), \(linkBaseReason)); give --link-base ADDRESS if you know it")
        case .unknown:
            if let truncation { throw SlideKitError(path, "\(what) needs the link base, which is unknown: the file is truncated (\(truncation))") }
            throw SlideKitError(path, "\(what) needs the link base, which is unknown (\(linkBaseReason)); give --link-base ADDRESS")
        }
    }

    /// How the relocation tables stand: established when every table in use is proven (or read
    /// from an ELF's headers), given when the user named the recognizer, else inferred; unknown
    /// when there are none.
    public var tableStanding: Standing {
        let tables = [rela, relr].compactMap { $0 }
        guard !tables.isEmpty else { return .unknown }
        if tables.allSatisfy(\.proven) { return .established }
        return tablesGiven ? .given : .inferred
    }

    /// The tables, for a result that depends on them (relocating): refused unless proven or
    /// chosen by the user with --table-method.
    public func requireTables(for what: String) throws(SlideKitError) {
        if let alreadyRelocated {
            throw SlideKitError(path, "\(what) needs an Image as linked, and this one was \(alreadyRelocated): its places hold run-time values; relocate the original")
        }
        switch tableStanding {
        case .established, .given: return
        case .unknown:
            if let truncation { throw SlideKitError(path, "\(what) needs the relocation tables, and the file is truncated (\(truncation))") }
            throw SlideKitError(path, "\(what) needs the relocation tables, and none was found (\(notes.last ?? "no recognizer matched")); give --table-method to choose a recognizer")
        case .inferred:
            let t = [rela, relr].compactMap { $0 }.first { !$0.proven }!
            throw SlideKitError(path, "\(what) needs proven relocation tables; the \(t.kind.rawValue.uppercased()) table is \(t.source.rawValue)'s \(t.source == StructuralScan.source ? "guess" : "unproven reading")\(t.caveat.map { " (\($0))" } ?? ""); give --table-method \(t.source.rawValue) to use it anyway")
        }
    }

    /// Runs `body` with views over the image and its tables.
    public func withTables<T>(_ body: (ByteView, RelaTable?, RelrTable?) throws(SlideError) -> T) throws(SlideKitError) -> T {
        do throws(SlideError) {
            return try bytes.withView { (view) throws(SlideError) -> T in
                let rela = try rela.map { (t) throws(SlideError) in try RelaTable(view.slice(offset: t.imageOffset, size: t.size, "RELA table")) }
                let relr = try relr.map { (t) throws(SlideError) in try RelrTable(view.slice(offset: t.imageOffset, size: t.size, "RELR table")) }
                return try body(view, rela, relr)
            }
        } catch {
            throw SlideKitError(path, error)
        }
    }
}
