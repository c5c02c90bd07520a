// `slide verify`: the checks the boot code never makes (docs/relocations.md: "nothing is range-checked"),
// made before boot. One finding per problem; errors make the image unfit to boot, warnings
// name what the boot code will silently skip.

import SlideCore

public struct Finding {
    public enum Severity: String { case error, warning }
    public var severity: Severity
    /// Stable identifier of the check, for scripts (`place-outside-image`).
    public var check: String
    public var message: String
    /// Entry index in its table, when the finding is about one entry.
    public var index: Int?
    public var table: String?
}

public struct VerifyReport {
    public var findings: [Finding] = []
    public var relaEntries = 0
    public var relrPlaces = 0
    public var errors: Int { findings.filter { $0.severity == .error }.count }
    public var warnings: Int { findings.filter { $0.severity == .warning }.count }
}

public enum Verifier {
    /// `allowNoTable`: a kernel image in which no table is found is a warning, not an error.
    public static func verify(_ k: KernelImage, allowNoTable: Bool = false) throws(SlideKitError) -> VerifyReport {
        var report = VerifyReport()
        func add(_ s: Finding.Severity, _ check: String, _ message: String, table: String? = nil, index: Int? = nil) {
            report.findings.append(Finding(severity: s, check: check, message: message, index: index, table: table))
        }
        checkHeader(k, add)
        if let t = k.truncation { add(.error, "image-truncated", "the image is truncated: \(t)") }
        if let r = k.alreadyRelocated { add(.error, "already-relocated", "the image was \(r): its places hold run-time values, not link-time ones") }
        if let (_, problem) = try k.exceptionTableCheck(), let problem { add(.error, "extable-invalid", "__ex_table: \(problem)") }

        if k.rela == nil && k.relr == nil {
            // A kernel Image always carries its tables (RELOCATABLE is on in every arm64 defconfig
            // and distribution kernel): not finding them means Slide cannot check or relocate it.
            let isKernel = k.header != nil
            add(isKernel && !allowNoTable ? .error : .warning, "no-relocation-table",
                "no relocation table found; the image cannot be checked or relocated"
                    + (isKernel && !allowNoTable ? " (--allow-no-table makes this a warning)" : ""))
        }
        for t in [k.rela, k.relr].compactMap({ $0 }) where !t.proven {
            add(.warning, "table-not-proven", "\(t.kind == .rela ? "RELA" : "RELR") table found by \(t.source.rawValue), not proven "
                + "(confidence \(format2(t.confidence))): \(t.caveat ?? t.reason)", table: t.kind == .rela ? "RELA" : "RELR")
        }
        for d in k.disagreements {
            add(.error, "recognizers-disagree", d)
        }
        for d in k.guessDisagreements {
            add(.warning, "structural-scan-disagrees", d)
        }
        let base = k.linkBase
        let end = base &+ k.span
        let tableRanges: [(String, Range<UInt64>)] = [k.rela, k.relr].compactMap { t in
            t.map { ($0.kind == .rela ? "RELA" : "RELR", (base &+ UInt64($0.imageOffset))..<(base &+ UInt64($0.imageOffset + $0.size))) }
        }
        var places: [(UInt64, String, Int)] = []
        var nulls: (rela: [(Int, UInt64)], relr: [(Int, UInt64)]) = ([], [])

        func checkPlace(_ p: UInt64, table: String, index: Int, what: String) {
            places.append((p, table, index))
            guard p >= base, p < end, end - p >= 8 else {
                add(.error, "place-outside-image", "\(table)[\(index)] \(what) place \(hex(p)) is outside the image [\(hex(base)), \(hex(end)))",
                    table: table, index: index)
                return
            }
            if p % 2 != 0 {
                add(.error, "place-misaligned", "\(table)[\(index)] \(what) place \(hex(p)) is odd", table: table, index: index)
            } else if p % 8 != 0 {
                // GNU ld 2.47 relocates pointers inside packed structures through RELR; the kernel's
                // store is unaligned, fine with the MMU on (Linux relocates after enabling it).
                add(.warning, "place-unaligned", "\(table)[\(index)] \(what) place \(hex(p)) is not 8-byte aligned (an unaligned store: needs the MMU on)",
                    table: table, index: index)
            }
            if p < base + UInt64(ImageHeader.size), k.header != nil {
                add(.error, "place-in-header", "\(table)[\(index)] \(what) place \(hex(p)) is inside the Image header", table: table, index: index)
            }
            for (name, r) in tableRanges where r.overlaps(p..<(p &+ 8)) {
                add(.error, "place-in-relocation-table", "\(table)[\(index)] \(what) place \(hex(p)) is inside the \(name) table itself",
                    table: table, index: index)
            }
            if p - base >= UInt64(k.dataSize) && k.format == .image {
                add(.warning, "place-in-bss", "\(table)[\(index)] \(what) place \(hex(p)) lies past the file data (in BSS, cleared after relocation)",
                    table: table, index: index)
            }
        }

        try k.withTables { (_, rela, relr) throws(SlideError) in
            if let rela {
                report.relaEntries = rela.count
                var noneRun: (start: Int, count: Int)? = nil
                func flushNone() {
                    if let r = noneRun {
                        add(.warning, "none-padding", "RELA[\(r.start)..\(r.start + r.count - 1)]: \(r.count) R_AARCH64_NONE entries (linker padding), skipped by the boot code",
                            table: "RELA", index: r.start)
                        noneRun = nil
                    }
                }
                for i in 0..<rela.count {
                    let e = rela[i]
                    if e.type == .none {
                        if e.offset != 0 || e.info != 0 || e.addend != 0 {
                            add(.warning, "none-not-zero", "RELA[\(i)] R_AARCH64_NONE entry has non-zero fields", table: "RELA", index: i)
                        }
                        if let r = noneRun, r.start + r.count == i { noneRun = (r.start, r.count + 1) } else { flushNone(); noneRun = (i, 1) }
                        continue
                    }
                    flushNone()
                    switch e.type {
                    case .relative:
                        if e.symbol != 0 {
                            add(.error, "relative-with-symbol", "RELA[\(i)] R_AARCH64_RELATIVE names symbol \(e.symbol)", table: "RELA", index: i)
                        }
                        checkPlace(e.offset, table: "RELA", index: i, what: "R_AARCH64_RELATIVE")
                        let a = UInt64(bitPattern: e.addend)
                        if a == 0 {
                            nulls.rela.append((i, e.offset))
                        } else if a < base || a > end {
                            add(.error, "addend-outside-image", "RELA[\(i)] R_AARCH64_RELATIVE addend \(hex(a)) is outside [\(hex(base)), \(hex(end))]",
                                table: "RELA", index: i)
                        }
                    case .abs64, .globDat:
                        add(.warning, "symbolic-entry", "RELA[\(i)] \(e.type) against symbol \(e.symbol) at \(hex(e.offset)), addend \(hex(UInt64(bitPattern: e.addend))): the boot code skips it and the place stays \(placeValue(k, e.offset))",
                            table: "RELA", index: i)
                        checkPlace(e.offset, table: "RELA", index: i, what: e.type.description)
                    default:
                        add(.error, "unsupported-type", "RELA[\(i)] \(e.type) at \(hex(e.offset)) cannot be processed by the boot code", table: "RELA", index: i)
                    }
                }
                flushNone()
            }
            if let relr {
                var it = relr.makePlaces()
                var n = 0
                while let p = it.next() {
                    checkPlace(p, table: "RELR", index: it.wordIndex, what: "RELR")
                    if placeValue(k, p) == "0x0" { nulls.relr.append((it.wordIndex, p)) }
                    n += 1
                }
                report.relrPlaces = n
                if let e = it.error { add(.error, "relr-bitmap-first", e.description, table: "RELR") }
            }
        }

        // Null pointers: relocated like any other, they become the bare offset (GNU ld writes them for
        // `__mcount_loc` slots of discarded functions; LinkBase.swift). One warning per table.
        for (table, list) in [("RELA", nulls.rela), ("RELR", nulls.relr)] where !list.isEmpty {
            add(.warning, "null-pointer", "\(table): \(list.count) relocated places hold a null pointer (link-time value 0), first \(table)[\(list[0].0)] at \(hex(list[0].1)): after relocation each holds the displacement itself",
                table: table, index: list[0].0)
        }

        places.sort { $0.0 < $1.0 }
        if places.count > 1 {
            for i in 1..<places.count where places[i].0 == places[i - 1].0 {
                let (p, t, idx) = places[i], (_, t0, idx0) = places[i - 1]
                add(.error, "duplicate-place", "place \(hex(p)) is relocated twice: \(t0)[\(idx0)] and \(t)[\(idx)]", table: t, index: idx)
            }
        }
        return report
    }

    static func placeValue(_ k: KernelImage, _ p: UInt64) -> String {
        let o = p &- k.linkBase
        guard o < UInt64(k.bytes.count), UInt64(k.bytes.count) - o >= 8 else { return "unread" }
        let v = k.bytes.withUnsafeBytes { ByteView($0).u64Unchecked(at: Int(o)) }
        return hex(v)
    }

    static func checkHeader(_ k: KernelImage, _ add: (Finding.Severity, String, String, String?, Int?) -> Void) {
        guard let h = k.header else {
            if k.format == .elf { add(.warning, "no-image-header", "no arm64 Image header at the start of the image", nil, nil) }
            return
        }
        if h.imageSize == 0 {
            add(.warning, "image-size-zero", "image_size is 0: loaders assume a pre-3.17 kernel (16 MiB, text_offset 0x80000)", nil, nil)
        } else {
            if h.imageSize < UInt64(k.dataSize) {
                add(.error, "image-size-too-small", "image_size \(hex(h.imageSize)) is smaller than the image data (\(hex(UInt64(k.dataSize))) bytes)", nil, nil)
            }
            if k.format == .elf && h.imageSize < k.memorySize {
                add(.error, "image-size-too-small", "image_size \(hex(h.imageSize)) is smaller than the ELF's allocated span \(hex(k.memorySize))", nil, nil)
            }
        }
        if h.textOffset % 4096 != 0 {
            add(.error, "text-offset-misaligned", "text_offset \(hex(h.textOffset)) is not 4 KiB aligned", nil, nil)
        }
        if h.flags.reservedBits != 0 {
            add(.error, "flags-reserved", "flags \(hex(h.flags.rawValue)) sets reserved bits 4-63", nil, nil)
        }
        if h.flags.pageSize == .unspecified && h.imageSize != 0 {
            add(.warning, "page-size-unspecified", "flags leave the page size unspecified", nil, nil)
        }
        if h.flags.isBigEndian {
            add(.warning, "big-endian", "flags say big-endian; relocation tables were read as little-endian", nil, nil)
        }
        if let entry = h.entryOffset, entry < 0 || entry >= Int64(k.dataSize) {
            add(.error, "entry-outside-image", "code1 branches to \(hex(signed: entry)), outside the image data", nil, nil)
        }
        if h.hasMZ {
            if let pe = k.pe {
                if UInt64(pe.sizeOfImage) != h.imageSize {
                    add(.error, "pe-size-mismatch", "PE SizeOfImage \(hex(UInt64(pe.sizeOfImage))) differs from image_size \(hex(h.imageSize))", nil, nil)
                }
                if pe.machine != 0xaa64 {
                    add(.error, "pe-machine", "PE Machine \(hex(UInt64(pe.machine))) is not arm64 (0xaa64)", nil, nil)
                }
            } else if k.format == .image {
                add(.error, "pe-header-missing", "code0 starts with \"MZ\" but res5 (\(hex(UInt64(h.reserved5)))) does not point at a PE header", nil, nil)
            }
        }
        for t in [k.rela, k.relr].compactMap({ $0 }) where UInt64(t.imageOffset + t.size) > h.imageSize && h.imageSize != 0 {
            add(.error, "table-outside-image", "\(t.kind == .rela ? "RELA" : "RELR") table ends at \(hex(UInt64(t.imageOffset + t.size))), past image_size \(hex(h.imageSize))", nil, nil)
        }
    }
}
