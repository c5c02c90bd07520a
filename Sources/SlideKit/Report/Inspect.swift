// `slide inspect`: what a kernel file is and where its relocation machinery lives.

import SlideCore

public struct InspectReport {
    public var kernel: KernelImage
    public var fileSize: Int
    public var relaTypeCounts: [(RelocationType, Int)]
    public var relrPlaces: Int?
    public var relativeCount: Int
    public var relrWordsIfPacked: Int?
    /// What the kernel exports to modules (ELF inputs with `__ksymtab*` sections).
    public var exports: [KernelExport] = []

    public static func build(_ k: KernelImage) throws(SlideKitError) -> InspectReport {
        var counts: [RelocationType: Int] = [:]
        var relrPlaces: Int? = nil
        var relative = 0
        try k.withTables { (_, rela, relr) throws(SlideError) in
            if let rela { for i in 0..<rela.count { counts[rela[i].type, default: 0] += 1 } }
            if let relr { relrPlaces = try relr.placeCount() }
        }
        relative = counts[.relative] ?? 0
        var packed: Int? = nil
        if relative > 0 && k.relr == nil {
            // Encode the RELATIVE places as RELR would (in place order) and count the words.
            let places = try RelrTool.relativePlaces(of: k)
            do { packed = try RelrTool.pack(places).count } catch { packed = nil } // odd places cannot be packed
        }
        let sorted = counts.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }
        return InspectReport(kernel: k, fileSize: k.format == .image ? k.bytes.count : k.elfBytes?.count ?? 0,
                             relaTypeCounts: sorted.map { ($0.key, $0.value) }, relrPlaces: relrPlaces,
                             relativeCount: relative, relrWordsIfPacked: packed, exports: k.format == .elf ? try KernelExports.read(k) : (try? KernelExports.read(k)) ?? [])
    }

    /// A `file(1)`-style one-line description.
    public var kind: String {
        let k = kernel
        if k.format == .elf {
            return "ELF 64-bit LSB, ARM aarch64" + (k.header != nil ? ", with an arm64 Image header" : "")
        }
        guard let h = k.header else { return "unknown" }
        var s = "Linux kernel ARM64 boot executable Image, " + (h.flags.isBigEndian ? "big-endian" : "little-endian")
        if let bytes = h.flags.pageSize.bytes { s += ", \(bytes / 1024)K pages" }
        if k.pe != nil { s += ", EFI (PE/COFF)" }
        return s
    }

    var appended: Int { kernel.format == .image ? fileSize - kernel.dataSize : 0 }

    func flagsText(_ f: ImageFlags) -> String {
        var parts = [f.isBigEndian ? "big-endian" : "little-endian",
                     f.pageSize == .unspecified ? "page size unspecified" : "\(f.pageSize) pages",
                     f.placementAnywhere ? "placement anywhere" : "placement near base of RAM"]
        if f.reservedBits != 0 { parts.append("reserved bits \(hex(f.reservedBits))") }
        return parts.joined(separator: ", ")
    }

    func tableText(_ t: TableLocation, name: String) -> [String] {
        let k = kernel
        let entrySize = t.kind == .rela ? RelaEntry.size : 8
        var lines = ["\(name) table:".padded(18) + "file offset \(hex(UInt64(t.fileOffset))), VA \(hex(k.linkBase &+ UInt64(t.imageOffset))), "
            + "size \(hex(UInt64(t.size))) (\(t.size / entrySize) \(t.kind == .rela ? "entries" : "words"))"]
        lines.append("  found by:".padded(18) + "\(t.source.rawValue) (\(t.proven ? "proven" : t.confidence < 1 ? "not proven, a guess" : "not proven"), confidence \(String(format2(t.confidence))))")
        lines.append("  reason:".padded(18) + t.reason)
        if let c = t.caveat { lines.append("  caveat:".padded(18) + c) }
        return lines
    }

    public func text() -> String {
        var lines = TextRows()
        fileText(&lines)
        tablesText(&lines)
        extrasText(&lines)
        return lines.lines.joined(separator: "\n") + "\n"
    }

    /// `Label:` padded to 18 columns, then the value.
    struct TextRows {
        var lines: [String] = []
        mutating func row(_ label: String, _ value: String) { lines.append((label + ":").padded(18) + value) }
    }

    /// The file, its header, PE/COFF, sizes, banner and state.
    func fileText(_ lines: inout TextRows) {
        let k = kernel
        func row(_ label: String, _ value: String) { lines.row(label, value) }
        row("File", k.path)
        row("Kind", kind)
        row("Containers", k.containers.isEmpty ? "none" : k.containers.joined(separator: " > "))
        if let h = k.header {
            lines.lines.append("Image header:")
            row("  code0", hex(UInt64(h.code0)) + (h.hasMZ ? " (\"MZ\": EFI/PE image)" : ""))
            row("  code1", hex(UInt64(h.code1)) + (h.entryOffset.map { " (b to image offset \(hex(signed: $0)))" } ?? ""))
            row("  text_offset", hex(h.textOffset))
            row("  image_size", "\(hex(h.imageSize)) (\(h.imageSize) bytes)")
            row("  flags", "\(hex(h.flags.rawValue)) (\(flagsText(h.flags)))")
            row("  magic", "ARM\\x64")
            row("  res5", hex(UInt64(h.reserved5)) + (k.pe != nil ? " (PE header offset)" : ""))
        } else {
            row("Image header", "none")
        }
        if let pe = k.pe {
            peText(pe, &lines)
        } else if k.format == .image {
            row("PE/COFF", "absent")
        }
        row("File size", "\(hex(UInt64(fileSize))) (\(fileSize) bytes)")
        if k.format == .image {
            row("Image data", "\(hex(UInt64(k.dataSize))) bytes")
            let what = k.pe?.certificate != nil ? " (PE certificate table: Authenticode signature)" : ""
            row("Appended", appended == 0 ? "none" : "\(hex(UInt64(appended))) bytes after the image data\(what)")
        }
        row("Memory size", "\(hex(k.memorySize)) (image_size: data + BSS)")
        if let b = k.banner { row("Linux version", b) }
        if let t = k.truncation { row("Truncated", t) }
        if let r = k.alreadyRelocated { row("Relocated", r + ": its places hold run-time values, not link-time ones") }
    }

    /// The PE/COFF header: its fields, then one row per section.
    func peText(_ pe: PEInfo, _ lines: inout TextRows) {
        let p = pe.header
        lines.row("PE/COFF", "at \(hex(UInt64(pe.offset))): Machine \(hex(UInt64(p.machine)))\(p.machine == PECOFF.machineARM64 ? " (arm64)" : ""), "
            + "Subsystem \(hex(UInt64(p.subsystem)))\(p.subsystem == PECOFF.subsystemEFIApplication ? " (EFI application)" : ""), \(pe.sectionCount) sections")
        lines.row("  entry", "\(hex(UInt64(p.entryPoint))) (AddressOfEntryPoint)")
        lines.row("  SizeOfImage", hex(UInt64(p.sizeOfImage)))
        lines.row("  SizeOfHeaders", hex(UInt64(p.sizeOfHeaders)))
        lines.row("  alignment", "section \(hex(UInt64(p.sectionAlignment))), file \(hex(UInt64(p.fileAlignment)))")
        for s in pe.sections {
            var flags: [String] = []
            if s.isExecutable { flags.append("execute") }
            if s.characteristics & PECOFF.sectionRead != 0 { flags.append("read") }
            if s.characteristics & PECOFF.sectionWrite != 0 { flags.append("write") }
            lines.row("  \(s.nameText)", "RVA \(hex(UInt64(s.virtualAddress))) size \(hex(UInt64(s.virtualSize))), file \(hex(UInt64(s.rawPointer))) "
                + "size \(hex(UInt64(s.rawSize))) (\(flags.isEmpty ? "no access" : flags.joined(separator: " ")))")
        }
        if let c = pe.certificate {
            lines.row("  certificate", "file offset \(hex(c.offset)), size \(hex(c.size)) (Authenticode signature)")
        }
    }

    /// The link base and the RELA and RELR tables.
    func tablesText(_ lines: inout TextRows) {
        let k = kernel
        func row(_ label: String, _ value: String) { lines.row(label, value) }
        row("Link base", k.linkBaseStanding == .unknown ? "unknown (\(k.linkBaseReason); give --link-base)"
            : "\(hex(k.linkBase)) \(k.linkBaseStanding == .established ? "" : k.linkBaseStanding.rawValue.uppercased() + " ")(\(k.linkBaseSource.rawValue): \(k.linkBaseReason))")
        if let t = k.rela {
            lines.lines += tableText(t, name: "RELA")
            row("  entries", relaTypeCounts.map { "\($0.0) \($0.1)" }.joined(separator: ", "))
        } else {
            row("RELA table", "none found")
        }
        if let t = k.relr {
            lines.lines += tableText(t, name: "RELR")
            row("  places", relrPlaces.map(String.init) ?? "undecodable")
        } else {
            row("RELR table", "none found")
        }
        if let words = relrWordsIfPacked {
            let relaBytes = relativeCount * RelaEntry.size, relrBytes = words * 8
            row("RELR would save", "\(relativeCount) RELATIVE entries take \(relaBytes) bytes as RELA; "
                + "as RELR \(words) words = \(relrBytes) bytes (saves \(relaBytes - relrBytes) bytes)")
        }
    }

    /// Exports, the exception table, each recognizer's finding, disagreements and notes.
    func extrasText(_ lines: inout TextRows) {
        let k = kernel
        func row(_ label: String, _ value: String) { lines.row(label, value) }
        if !exports.isEmpty {
            let sections = Set(exports.map(\.section)).sorted().joined(separator: ", ")
            row("Exports", "\(exports.count) symbols in \(sections) (PREL32 entries; `link-module --kernel` resolves modules with them)")
        }
        if let (n, problem) = try? k.exceptionTableCheck() {
            row("Exception table", "__ex_table, \(n) relative 12-byte entries: "
                + (problem ?? "sorted, every insn and fixup in the \(k.text != nil ? "text" : "image"), no relocation place inside"))
        }
        if !k.recognitions.isEmpty {
            lines.lines.append("Recognizers:")
            for r in k.recognitions {
                let chosen = r.source == k.rela?.source || r.source == k.relr?.source
                func text(_ t: (offset: Int, size: Int)?, _ name: String) -> String? { t.map { "\(name) \(hex(UInt64($0.offset)))+\(hex(UInt64($0.size)))" } }
                let found = [text(r.rela, "RELA"), text(r.relr, "RELR")].compactMap { $0 }.joined(separator: ", ")
                let verdict = r.problem.map { "not used: \($0)" } ?? (chosen ? "used" : "agrees")
                row("  " + r.source.rawValue, "\(found) (\(r.proven ? "proven" : r.source == StructuralScan.source ? "guess" : "not proven"); \(verdict))")
            }
        }
        for d in k.disagreements + k.guessDisagreements { row("Disagreement", d) }
        for n in k.notes { row("Note", n) }
    }

    public func json() -> JSON {
        .object(identityJSON() + tablesJSON() + extrasJSON())
    }

    /// The file, its kind, header and PE/COFF.
    func identityJSON() -> [(String, JSON)] {
        let k = kernel
        var fields: [(String, JSON)] = [
            ("schema", .string(jsonSchemaVersion)), ("file", .string(k.path)), ("format", .string(k.format.rawValue)),
            ("kind", .string(kind)), ("containers", .array(k.containers.map { .string($0) })),
        ]
        if let h = k.header {
            fields.append(("header", .object([
                ("code0", .hex(UInt64(h.code0))), ("code1", .hex(UInt64(h.code1))),
                ("entry_offset", h.entryOffset.map { .string(hex(signed: $0)) } ?? .null),
                ("text_offset", .hex(h.textOffset)), ("image_size", .hex(h.imageSize)), ("flags", .hex(h.flags.rawValue)),
                ("big_endian", .bool(h.flags.isBigEndian)),
                ("page_size", h.flags.pageSize.bytes.map { .int(Int($0)) } ?? .null),
                ("placement_anywhere", .bool(h.flags.placementAnywhere)), ("res5", .hex(UInt64(h.reserved5))),
            ])))
        } else {
            fields.append(("header", .null))
        }
        if let pe = k.pe {
            let h = pe.header
            var p: [(String, JSON)] = [("offset", .hex(UInt64(pe.offset))), ("machine", .hex(UInt64(pe.machine))), ("subsystem", .int(Int(h.subsystem))),
                                       ("size_of_image", .hex(UInt64(pe.sizeOfImage))), ("size_of_headers", .hex(UInt64(h.sizeOfHeaders))),
                                       ("entry_point", .hex(UInt64(pe.entryPoint))), ("section_alignment", .hex(UInt64(h.sectionAlignment))),
                                       ("file_alignment", .hex(UInt64(h.fileAlignment))), ("section_count", .int(pe.sectionCount)),
                                       ("sections", .array(pe.sections.map { s in .object([
                                           ("name", .string(s.nameText)), ("virtual_address", .hex(UInt64(s.virtualAddress))),
                                           ("virtual_size", .hex(UInt64(s.virtualSize))), ("raw_pointer", .hex(UInt64(s.rawPointer))),
                                           ("raw_size", .hex(UInt64(s.rawSize))), ("characteristics", .hex(UInt64(s.characteristics))),
                                       ]) }))]
            if let c = pe.certificate { p.append(("certificate", .object([("offset", .hex(c.offset)), ("size", .hex(c.size))]))) }
            fields.append(("pe", .object(p)))
        } else {
            fields.append(("pe", .null))
        }
        return fields
    }

    /// Sizes, the link base and the RELA and RELR tables.
    func tablesJSON() -> [(String, JSON)] {
        let k = kernel
        var fields: [(String, JSON)] = []
        fields += [
            ("file_size", .hex(fileSize)), ("data_size", .hex(k.dataSize)), ("appended_size", .hex(appended)),
            ("memory_size", .hex(k.memorySize)),
            ("link_base", .object([("value", k.linkBaseStanding == .unknown ? .null : .hex(k.linkBase)), ("source", .string(k.linkBaseSource.rawValue)),
                                   ("standing", .string(k.linkBaseStanding.rawValue)), ("reason", .string(k.linkBaseReason))])),
        ]
        func table(_ t: TableLocation?, extra: [(String, JSON)]) -> JSON {
            guard let t else { return .null }
            return .object([
                ("file_offset", .hex(t.fileOffset)), ("va", .hex(k.linkBase &+ UInt64(t.imageOffset))), ("size", .hex(t.size)),
                ("source", .string(t.source.rawValue)), ("proven", .bool(t.proven)), ("confidence", .double(t.confidence)),
                ("reason", .string(t.reason)), ("caveat", t.caveat.map { .string($0) } ?? .null),
                ("evidence_offset", t.evidence.map { .hex($0) } ?? .null),
            ] + extra)
        }
        fields.append(("rela", table(k.rela, extra: [
            ("entries", .int((k.rela?.size ?? 0) / RelaEntry.size)),
            ("types", .object(relaTypeCounts.map { ($0.0.description, .int($0.1)) })),
        ])))
        fields.append(("relr", table(k.relr, extra: [("words", .int((k.relr?.size ?? 0) / 8)), ("places", relrPlaces.map { .int($0) } ?? .null)])))
        if let words = relrWordsIfPacked {
            fields.append(("relr_if_packed", .object([
                ("relative_entries", .int(relativeCount)), ("rela_bytes", .int(relativeCount * RelaEntry.size)),
                ("relr_words", .int(words)), ("relr_bytes", .int(words * 8)),
                ("saved_bytes", .int(relativeCount * RelaEntry.size - words * 8)),
            ])))
        }
        return fields
    }

    /// Exports, the exception table, banner, state, recognizers, disagreements and notes.
    func extrasJSON() -> [(String, JSON)] {
        let k = kernel
        var fields: [(String, JSON)] = []
        fields.append(("exports", .array(exports.map { .object([("name", .string($0.name)), ("address", .hex($0.address)), ("section", .string($0.section))]) })))
        if let (n, problem) = try? k.exceptionTableCheck() {
            fields.append(("exception_table", .object([("entries", .int(n)), ("problem", problem.map { .string($0) } ?? .null)])))
        } else {
            fields.append(("exception_table", .null))
        }
        fields.append(("linux_version", k.banner.map { .string($0) } ?? .null))
        fields.append(("truncated", k.truncation.map { .string($0) } ?? .null))
        fields.append(("already_relocated", k.alreadyRelocated.map { .string($0) } ?? .null))
        fields.append(("recognizers", .array(k.recognitions.map { r in
            func bounds(_ t: (offset: Int, size: Int)?) -> JSON { t.map { .object([("offset", .hex($0.offset)), ("size", .hex($0.size))]) } ?? .null }
            return .object([("source", .string(r.source.rawValue)), ("rela", bounds(r.rela)), ("relr", bounds(r.relr)),
                            ("proven", .bool(r.proven)), ("problem", r.problem.map { .string($0) } ?? .null), ("reason", .string(r.reason))])
        })))
        fields.append(("disagreements", .array(k.disagreements.map { .string($0) })))
        fields.append(("structural_disagreements", .array(k.guessDisagreements.map { .string($0) })))
        fields.append(("notes", .array(k.notes.map { .string($0) })))
        return fields
    }
}

func format2(_ d: Double) -> String {
    let hundredths = Int((d * 100).rounded())
    let frac = hundredths % 100
    return "\(hundredths / 100).\(frac < 10 ? "0" : "")\(frac)"
}
