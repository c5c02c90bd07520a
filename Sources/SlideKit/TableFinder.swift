// Finding the relocation tables inside a raw Image, where no section headers survive.
//
// code-scan (proven): the kernel's own relocation routine says where its tables are. We find
// the RELA loop by its `cmp wN, #1027` (R_AARCH64_RELATIVE), emulate the straight-line code
// around it — ADRP/ADR/ADD and MOVZ/MOVN/MOVK into a small register file — and take the bounds
// from the loop's own cursor: the register that `ldp xA, xB, [xC], #24` walks (RELA) or that
// `ldr xA, [xC], #8` walks (RELR), compared against its end register by `cmp xC, xD`.
// That is exactly the table the boot code walks, NONE padding and symbolic entries included.
//
// heuristic (guessed): the longest run of consecutive 24-byte records whose r_info is 0x403.
// It is what vmlinux-to-elf does, and it stops at the first NONE padding entry.

import SlideCore

struct FoundTables {
    var rela: TableLocation?
    var relr: TableLocation?
    var linkBaseHint: UInt64?
}

enum TableFinder {
    static func find(in image: ByteView, dataSize: Int, discovery: KernelImage.Discovery,
                     notes: inout [String]) throws(SlideError) -> FoundTables {
        let data = try image.slice(offset: 0, size: min(dataSize, image.count))
        if discovery == .auto, let sealed = sealScan(data, notes: &notes) { return sealed }
        if discovery != .heuristic {
            let scanned = codeScan(data)
            if scanned.rela != nil || scanned.relr != nil { return scanned }
            notes.append("code-scan: no relocation routine found (no `cmp wN, #1027` loop with ADRP/ADD-loaded bounds)")
            if discovery == .codeScan { return scanned }
        }
        var found = FoundTables()
        found.rela = heuristicScan(data)
        if found.rela == nil { notes.append("heuristic: no run of R_AARCH64_RELATIVE records found") }
        return found
    }

    // MARK: seal

    /// A Slide Image names its tables in the seal `slide mkimage` wrote; trusted when its digest matches.
    static func sealScan(_ data: ByteView, notes: inout [String]) -> FoundTables? {
        var o = ImageHeader.size
        while o + ImageSeal.size <= data.count {
            defer { o += 8 }
            guard data.u64Unchecked(at: o) == ImageDigest.sealMagic, let seal = ImageSeal(from: data, at: o) else { continue }
            guard seal.covered == UInt64(data.count), ImageDigest.compute(data, covered: data.count, sealOffset: o) == seal.digest else {
                notes.append("seal at \(hex(UInt64(o))) does not match the image (digest or size); not used")
                return nil
            }
            func table(_ kind: TableLocation.Kind, _ offset: UInt64, _ size: UInt64) -> TableLocation? {
                guard size > 0, offset <= UInt64(data.count), size <= UInt64(data.count) - offset else { return nil }
                return TableLocation(kind: kind, imageOffset: Int(offset), size: Int(size), source: .seal, confidence: 1,
                                     reason: "table bounds in the slide mkimage seal at \(hex(UInt64(o))) (digest verified)",
                                     sectionName: nil, fileOffset: Int(offset), evidence: o)
            }
            return FoundTables(rela: table(.rela, seal.relaOffset, seal.relaSize), relr: table(.relr, seal.relrOffset, seal.relrSize),
                               linkBaseHint: nil)
        }
        return nil
    }

    // MARK: code-scan

    /// A window of straight-line code emulated for constants.
    struct Emulator {
        var regs = [UInt64?](repeating: nil, count: 32)
        /// Registers whose value came from MOVZ/MOVN/MOVK (candidates for the link base).
        var wideConstants: [UInt64] = []
        /// Latest `cmp xN, xM` per N: (value of xN, value of xM).
        var compares: [Int: (UInt64, UInt64)] = [:]
        var rela: (start: UInt64, end: UInt64)? = nil
        var relr: (start: UInt64, end: UInt64)? = nil
        var pendingRelrCursor: (reg: Int, bounds: (UInt64, UInt64))? = nil

        /// Register a MOVZ/MOVN/MOVK sequence is building; its value is recorded when the sequence ends.
        var wideRegister: Int? = nil

        mutating func step(_ w: UInt32, pc: UInt64) {
            if let r = wideRegister, A64.moveWide(w).map({ $0.kind == 3 && $0.rd == r }) != true {
                if let v = regs[r] { wideConstants.append(v) }
                wideRegister = nil
            }
            if let i = A64.adrp(w) {
                regs[i.rd] = UInt64(bitPattern: Int64(bitPattern: pc & ~0xfff) &+ i.pageDelta)
            } else if let i = A64.adr(w) {
                regs[i.rd] = UInt64(bitPattern: Int64(bitPattern: pc) &+ i.delta)
            } else if let i = A64.addImmediate(w) {
                regs[i.rd] = i.rn == 31 ? nil : regs[i.rn].map { $0 &+ i.imm }
            } else if let i = A64.moveWide(w) {
                switch i.kind {
                case 2: regs[i.rd] = i.imm16 << i.shift
                case 0: regs[i.rd] = ~(i.imm16 << i.shift)
                default: regs[i.rd] = regs[i.rd].map { $0 & ~(0xffff << i.shift) | i.imm16 << i.shift }
                }
                wideRegister = i.rd
            } else if let i = A64.movRegister(w) {
                regs[i.rd] = i.rm == 31 ? 0 : regs[i.rm]
            } else if let i = A64.cmpRegister64(w) {
                if let a = regs[i.rn], let b = regs[i.rm] { compares[i.rn] = (a, b) }
            } else if let i = A64.ldpPostIndex(w) {
                if i.imm == 24, rela == nil, let bounds = compares[i.rn] { rela = bounds }
                regs[i.rn] = nil; regs[i.rt1] = nil; regs[i.rt2] = nil
            } else if let i = A64.ldrPostIndex(w) {
                if i.imm == 8, let bounds = compares[i.rn] { pendingRelrCursor = (i.rt, bounds) }
                regs[i.rn] = nil; regs[i.rt] = nil
            } else if let i = A64.testBranch(w) {
                // RELR: the loaded word's bit 0 tells address from bitmap.
                if i.bit == 0, let p = pendingRelrCursor, p.reg == i.rt, relr == nil { relr = p.bounds }
            }
        }
    }

    static let relativeCompareWindow = 64 // instructions either side of the `cmp wN, #1027`

    static func codeScan(_ data: ByteView) -> FoundTables {
        var best = FoundTables()
        var lastWindowEnd = -1
        var offset = 0
        while offset + 4 <= data.count {
            defer { offset += 4 }
            guard let cmp = A64.cmpImmediate32(data.u32Unchecked(at: offset)), cmp.imm == 1027 else { continue }
            guard offset >= lastWindowEnd else { continue }
            let start = max(0, offset - relativeCompareWindow * 4)
            let end = min(data.count & ~3, offset + relativeCompareWindow * 4 * 2)
            lastWindowEnd = end
            var emu = Emulator()
            var pc = start
            while pc < end {
                let w = data.u32Unchecked(at: pc)
                emu.step(w, pc: UInt64(pc))
                pc += 4
                if A64.isReturn(w) && pc > offset && emu.rela != nil {
                    // The routine may go on to RELR after a `ret`-free fallthrough; stop at its end.
                    if emu.relr != nil || !hasRelrLoopAhead(data, from: pc) { break }
                }
            }
            var found = FoundTables()
            if let r = emu.rela, r.start <= r.end, r.end <= UInt64(data.count), (r.end - r.start) % 24 == 0,
               r.start == r.end || firstEntryIsDynamic(data, at: Int(r.start)) {
                found.rela = TableLocation(
                    kind: .rela, imageOffset: Int(r.start), size: Int(r.end - r.start), source: .codeScan, confidence: 1,
                    reason: "bounds loaded by ADRP/ADD in the relocation routine at \(hex(UInt64(start)))-\(hex(UInt64(pc))) "
                        + "(RELA loop `cmp w\(cmp.rn), #1027` at \(hex(UInt64(offset))))",
                    sectionName: nil, fileOffset: Int(r.start), evidence: offset)
            }
            if let r = emu.relr, r.start <= r.end, r.end <= UInt64(data.count), (r.end - r.start) % 8 == 0 {
                found.relr = TableLocation(
                    kind: .relr, imageOffset: Int(r.start), size: Int(r.end - r.start), source: .codeScan, confidence: 1,
                    reason: "bounds loaded by ADRP/ADD in the relocation routine; its RELR loop tests bit 0 of each word",
                    sectionName: nil, fileOffset: Int(r.start), evidence: offset)
            }
            found.linkBaseHint = emu.wideConstants.first { $0 >= 0xffff_0000_0000_0000 && $0 & 0xffff == 0 }
            if score(found) > score(best) { best = found }
        }
        return best
    }

    /// True when an `ldr xN, [xM], #8` follows within a few instructions (a RELR loop after the RELA one).
    static func hasRelrLoopAhead(_ data: ByteView, from pc: Int) -> Bool {
        var p = pc
        while p + 4 <= data.count && p < pc + 16 * 4 {
            if let i = A64.ldrPostIndex(data.u32Unchecked(at: p)), i.imm == 8 { return true }
            p += 4
        }
        return false
    }

    /// A table the boot code walks starts with an entry of a dynamic type it knows.
    static func firstEntryIsDynamic(_ data: ByteView, at offset: Int) -> Bool {
        guard let info = try? data.u64(at: offset + 8) else { return false }
        let type = RelocationType(rawValue: UInt32(truncatingIfNeeded: info))
        return type == .relative || type == .none || type.isSymbolic
    }

    /// Prefer the candidate that locates the most: a found table (even empty) beats none.
    static func score(_ f: FoundTables) -> Int {
        (f.rela.map { $0.size + 1 } ?? 0) + (f.relr.map { $0.size + 1 } ?? 0)
    }

    // MARK: heuristic

    static func heuristicScan(_ data: ByteView) -> TableLocation? {
        var bestStart = 0, bestCount = 0
        var offset = 0
        let relative = UInt64(RelocationType.relative.rawValue)
        while offset + RelaEntry.size <= data.count {
            guard data.u64Unchecked(at: offset + 8) == relative else { offset += 8; continue }
            var end = offset
            while end + RelaEntry.size <= data.count && data.u64Unchecked(at: end + 8) == relative { end += RelaEntry.size }
            let count = (end - offset) / RelaEntry.size
            if count > bestCount { bestCount = count; bestStart = offset }
            offset = end
        }
        guard bestCount >= 16 else { return nil }
        let end = bestStart + bestCount * RelaEntry.size
        let confidence = bestCount >= 1000 ? 0.8 : 0.5
        return TableLocation(
            kind: .rela, imageOffset: bestStart, size: bestCount * RelaEntry.size, source: .heuristic, confidence: confidence,
            reason: "longest run of consecutive R_AARCH64_RELATIVE records (\(bestCount)); it ends at \(hex(UInt64(end))), "
                + "so NONE padding and symbol-based entries after it are not seen",
            sectionName: nil, fileOffset: bestStart)
    }

    // MARK: link base

    /// The link address of image byte 0.
    ///
    /// Candidates: the constant the relocation routine builds (Linux's KIMAGE_VADDR), and the
    /// lowest RELATIVE addend (or RELR address) rounded down to 2 MiB — Linux images point at
    /// `_text` itself. Outliers far below the bulk (a corrupt entry) are ignored when taking the
    /// lowest. Each candidate is scored by how many places and addends fall inside
    /// `[candidate, candidate + memorySize]`; the best wins, the code-scan constant on a tie.
    static func linkBase(in image: ByteView, found: FoundTables, memorySize: UInt64) throws(SlideError) -> (UInt64, Provenance, String) {
        var places: [UInt64] = [], addends: [UInt64] = []
        if let t = found.rela {
            let table = try RelaTable(image.slice(offset: t.imageOffset, size: t.size))
            for i in 0..<table.count where table[i].type == .relative {
                places.append(table[i].offset)
                addends.append(UInt64(bitPattern: table[i].addend))
            }
        }
        var what = "RELATIVE addend"
        if let t = found.relr {
            let table = try RelrTable(image.slice(offset: t.imageOffset, size: t.size))
            var it = table.makePlaces()
            while let p = it.next() { places.append(p) }
        }
        var pointers = addends
        if pointers.isEmpty { pointers = places; what = "RELR place" }
        let span = max(memorySize, UInt64(image.count))

        func score(_ base: UInt64) -> Int {
            var n = 0
            for v in places where v >= base && v - base < span { n += 1 }
            for v in addends where v >= base && v - base <= span { n += 1 }
            return n
        }
        let total = places.count + addends.count
        var candidates: [(UInt64, Provenance, String)] = []
        if let hint = found.linkBaseHint {
            candidates.append((hint, .codeScan, "constant \(hex(hint)) built by MOVZ/MOVK in the relocation routine"))
        }
        if !pointers.isEmpty {
            let sorted = pointers.sorted()
            let median = sorted[sorted.count / 2]
            let floor = median >= span ? median - span : 0
            let lowest = sorted.first { $0 >= floor }!
            candidates.append((lowest & ~UInt64(0x1f_ffff), .addendRange, "lowest \(what) \(hex(lowest)) rounded down to 2 MiB"))
        }
        guard !candidates.isEmpty else {
            return (0, .addendRange, "no RELATIVE entries: link base unknown, assuming 0 (use --link-base)")
        }
        var best = candidates[0], bestScore = score(best.0)
        for c in candidates.dropFirst() {
            let s = score(c.0)
            if s > bestScore { best = c; bestScore = s }
        }
        if total > 0 { best.2 += "; \(bestScore) of \(total) places and addends fall inside the image" }
        return best
    }
}

extension ByteView {
    @inline(__always) func u32Unchecked(at offset: Int) -> UInt32 {
        UInt32(littleEndian: base.unsafelyUnwrapped.loadUnaligned(fromByteOffset: offset, as: UInt32.self))
    }
}
