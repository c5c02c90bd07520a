// Stage 1 translation tables, 48-bit VA, for any granule (Granule.swift; Arm ARM D8).
//
// The builder writes descriptors into a pool of zeroed table pages and always puts down the
// largest block the alignment of VA, PA and the remaining size allows (4 KiB granule: 1 GiB at
// level 1, 2 MiB at level 2, pages at level 3; 16 KiB: 32 MiB, 64 KiB: 512 MiB at level 2), and
// marks aligned runs of blocks or pages contiguous. It runs in the kernel with the MMU off, on
// physical addresses: no allocation, no globals, aligned 64-bit stores only. On the host the
// same code runs over a buffer, with `pointerDelta` translating "physical" to real addresses.

/// What a mapping allows.
public struct MapAttributes: Equatable, Sendable {
    public enum Memory: Equatable, Sendable { case normal, device }
    public var memory: Memory
    public var writable: Bool
    public var executable: Bool
    public init(memory: Memory = .normal, writable: Bool, executable: Bool) {
        self.memory = memory
        self.writable = writable
        self.executable = executable
    }
    public static var text: MapAttributes { MapAttributes(writable: false, executable: true) }
    public static var readOnly: MapAttributes { MapAttributes(writable: false, executable: false) }
    public static var readWrite: MapAttributes { MapAttributes(writable: true, executable: false) }
    public static var device: MapAttributes { MapAttributes(memory: .device, writable: true, executable: false) }
    /// Only for the identity map that the MMU switch executes from.
    public static var bootIdentity: MapAttributes { MapAttributes(writable: true, executable: true) }
    // Computed, not stored: code that runs before relocation must not depend on lazily initialised globals.
}

/// Descriptor bit fields (Arm ARM D8.3, stage 1).
public enum Descriptor {
    public static let valid: UInt64 = 1 << 0
    /// Bit 1: table (levels 0-2) or page (level 3); clear = block.
    public static let tableOrPage: UInt64 = 1 << 1
    /// AttrIndx[2:0], bits 4:2: index into MAIR_EL1 (0 Device-nGnRnE, 1 Normal WBWA).
    public static func attrIndex(_ i: UInt64) -> UInt64 { i << 2 }
    /// AP[2], bit 7: read-only.
    public static let readOnly: UInt64 = 1 << 7
    /// SH[1:0], bits 9:8: inner shareable.
    public static let innerShareable: UInt64 = 3 << 8
    /// AF, bit 10: access flag.
    public static let accessFlag: UInt64 = 1 << 10
    /// Contiguous, bit 52: this entry is one of 16 adjacent, aligned entries with the same attributes
    /// (one TLB entry for 64 KiB at level 3, 32 MiB at level 2; Arm ARM D8.6.1).
    public static let contiguous: UInt64 = 1 << 52
    /// PXN, bit 53; UXN, bit 54.
    public static let pxn: UInt64 = 1 << 53
    public static let uxn: UInt64 = 1 << 54
    /// Output address bits 47:12 (4 KiB granule; `Granule.addressMask` for the others).
    public static let addressMask: UInt64 = 0x0000_ffff_ffff_f000

    public static func leaf(_ a: MapAttributes) -> UInt64 {
        var d = valid | accessFlag | uxn
        switch a.memory {
        case .normal: d |= attrIndex(1) | innerShareable
        case .device: d |= attrIndex(0)
        }
        if !a.writable { d |= readOnly }
        if !a.executable { d |= pxn }
        return d
    }
}

public struct PageTableBuilder {
    /// Physical address of the first pool page, and how many pages the pool has.
    public let poolBase: UInt64
    public let poolPages: Int
    public private(set) var usedPages = 0
    /// Real address of physical address p is p &+ pointerDelta (0 in the kernel with the MMU off).
    public let pointerDelta: UInt64
    public let granule: Granule

    public init(poolBase: UInt64, poolPages: Int, pointerDelta: UInt64 = 0, granule: Granule = .k4) {
        self.poolBase = poolBase
        self.poolPages = poolPages
        self.pointerDelta = pointerDelta
        self.granule = granule
    }

    func pointer(_ pa: UInt64) -> UnsafeMutablePointer<UInt64> {
        UnsafeMutablePointer(bitPattern: UInt(pa &+ pointerDelta))!
    }

    /// A zeroed table page from the pool.
    public mutating func allocateTable() throws(SlideError) -> UInt64 {
        guard usedPages < poolPages else { throw .outOfRange("page-table pool pages", value: UInt64(usedPages + 1), low: 1, high: UInt64(poolPages)) }
        let pa = poolBase + UInt64(usedPages) * granule.pageSize
        usedPages += 1
        let p = pointer(pa)
        for i in 0..<granule.entries { p[i] = 0 }
        return pa
    }

    /// Maps [va, va + size) to [pa, pa + size) in the tree rooted at `root`, with the largest blocks possible.
    /// All three must be page aligned. Overlapping an existing mapping is an error.
    public mutating func map(root: UInt64, va: UInt64, pa: UInt64, size: UInt64, _ attributes: MapAttributes) throws(SlideError) {
        let g = granule
        guard va & (g.pageSize - 1) == 0, pa & (g.pageSize - 1) == 0, size & (g.pageSize - 1) == 0 else {
            throw .misaligned("mapping", value: va | pa | size, alignment: g.pageSize)
        }
        var done: UInt64 = 0
        while done < size {
            let v = va &+ done, p = pa &+ done, left = size - done
            // The largest level whose block fits (4 KiB granule: level 1, 1 GiB), else a page at level 3.
            var level = g.firstBlockLevel
            while level < 3 {
                let b = g.blockSize(level: level)
                if v & (b - 1) == 0 && p & (b - 1) == 0 && left >= b { break }
                level += 1
            }
            var table = root
            for l in g.startLevel..<level {
                let slot = pointer(table) + g.index(v, level: l)
                let d = slot.pointee
                if d & Descriptor.valid == 0 {
                    let next = try allocateTable()
                    slot.pointee = next | Descriptor.valid | Descriptor.tableOrPage
                    table = next
                } else if d & Descriptor.tableOrPage != 0 {
                    table = d & g.addressMask
                } else {
                    throw .invalid("mapping overlaps a block at VA", value: v)
                }
            }
            let slot = pointer(table) + g.index(v, level: level)
            let size = g.blockSize(level: level)
            // One run of entries, aligned in VA and PA: mark them contiguous (levels 2 and 3, Arm ARM D8.6.1).
            let runEntries = g.contiguousEntries(level: level)
            let run = size * UInt64(runEntries)
            let group = level >= 2 && v & (run - 1) == 0 && p & (run - 1) == 0 && left >= run
            let count = group ? runEntries : 1
            for i in 0..<count {
                guard slot[i] & Descriptor.valid == 0 else { throw .invalid("mapping overlaps a page at VA", value: v &+ UInt64(i) * size) }
            }
            for i in 0..<count {
                slot[i] = (p &+ UInt64(i) * size) | Descriptor.leaf(attributes) | (level == 3 ? Descriptor.tableOrPage : 0)
                    | (group ? Descriptor.contiguous : 0)
            }
            done += size * UInt64(count)
        }
    }
}

extension PageTableBuilder {
    /// Removes the mappings of [va, va + size), which must all be pages (level 3); a contiguous
    /// group must lie wholly inside the range (Arm ARM D8.6.1: its entries change together). Table pages
    /// are kept. Returns the number of pages removed; the caller invalidates their TLB entries.
    public func unmap(root: UInt64, va: UInt64, size: UInt64) throws(SlideError) -> Int {
        let g = granule, page = g.pageSize
        guard va & (page - 1) == 0, size & (page - 1) == 0 else { throw .misaligned("unmapping", value: va | size, alignment: page) }
        // Check everything first, so a refused range changes nothing.
        func leaf(_ v: UInt64) throws(SlideError) -> UnsafeMutablePointer<UInt64> {
            var table = root
            for level in g.startLevel..<3 {
                let d = pointer(table)[g.index(v, level: level)]
                guard d & Descriptor.valid != 0 else { throw .invalid("unmapping a VA that is not mapped", value: v) }
                guard d & Descriptor.tableOrPage != 0 else { throw .invalid("unmapping part of a block at VA", value: v) }
                table = d & g.addressMask
            }
            let slot = pointer(table) + g.index(v, level: 3)
            guard slot.pointee & Descriptor.valid != 0 else { throw .invalid("unmapping a VA that is not mapped", value: v) }
            return slot
        }
        let run = UInt64(g.contiguousEntries(level: 3)) * page
        var v = va
        while v < va &+ size {
            let slot = try leaf(v)
            if slot.pointee & Descriptor.contiguous != 0 {
                let group = v & ~(run - 1)
                guard group >= va, group &+ run <= va &+ size else { throw .invalid("unmapping part of a contiguous run at VA", value: v) }
            }
            v &+= page
        }
        v = va
        while v < va &+ size { try leaf(v).pointee = 0; v &+= page }
        return Int(size / page)
    }
}

/// Counts of a walk over a translation table tree.
public struct PageTableCensus: Equatable {
    /// Leaf descriptors by level (4 KiB granule: [1] = 1 GiB blocks, [2] = 2 MiB blocks, [3] = pages).
    public var leaves: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)
    /// Table descriptors.
    public var tables = 0
    /// Leaves that are both writable and executable at EL1.
    public var writableExecutable = 0
    /// Leaves with the contiguous hint.
    public var contiguous = 0
    /// Bytes mapped.
    public var mappedBytes: UInt64 = 0
    public init() {}

    public static func == (a: PageTableCensus, b: PageTableCensus) -> Bool {
        a.leaves == b.leaves && a.tables == b.tables && a.writableExecutable == b.writableExecutable && a.mappedBytes == b.mappedBytes
            && a.contiguous == b.contiguous
    }

    public func leafCount(level: Int) -> UInt64 {
        switch level { case 1: leaves.1; case 2: leaves.2; case 3: leaves.3; default: leaves.0 }
    }

    /// "1G:4,2M:0,4K:0,bytes:0x100000000": leaves per level from the first block level down, by
    /// size (the kernel's `linear_map` report and `slide pagetables`' summary).
    public func summary(granule g: Granule) -> String {
        var out = String()
        for level in g.firstBlockLevel...3 { out += sizeText(g.blockSize(level: level)) + ":" + String(leafCount(level: level)) + "," }
        return out + "bytes:" + hex(mappedBytes)
    }
}

public enum PageTableWalker {
    /// Walks the tree at `root` (pointers are `pa &+ pointerDelta`), calling `visit(va, pa, size, descriptor)` per leaf.
    public static func walk(root: UInt64, vaBase: UInt64, pointerDelta: UInt64 = 0, granule: Granule = .k4,
                            visit: (UInt64, UInt64, UInt64, UInt64) -> Void) -> PageTableCensus {
        var census = PageTableCensus()
        let g = granule
        func table(_ pa: UInt64, level: Int, va: UInt64) {
            let p = UnsafeMutablePointer<UInt64>(bitPattern: UInt(pa &+ pointerDelta))!
            for i in 0..<g.entries {
                let d = p[i]
                guard d & Descriptor.valid != 0 else { continue }
                let v = va | UInt64(i) << g.levelShift(level)
                if level < 3 && d & Descriptor.tableOrPage != 0 {
                    census.tables += 1
                    table(d & g.addressMask, level: level + 1, va: v)
                    continue
                }
                guard level >= g.firstBlockLevel else { continue } // no blocks above the first block level
                let size = g.blockSize(level: level)
                switch level { case 1: census.leaves.1 += 1; case 2: census.leaves.2 += 1; default: census.leaves.3 += 1 }
                census.mappedBytes += size
                if d & Descriptor.readOnly == 0 && d & Descriptor.pxn == 0 { census.writableExecutable += 1 }
                if d & Descriptor.contiguous != 0 { census.contiguous += 1 }
                visit(v, d & g.addressMask, size, d)
            }
        }
        table(root, level: g.startLevel, va: vaBase)
        return census
    }
}

extension MapAttributes {
    /// The attributes a leaf descriptor grants (the inverse of `Descriptor.leaf`).
    public init(descriptor d: UInt64) {
        self.init(memory: (d >> 2) & 7 == 0 ? .device : .normal, writable: d & Descriptor.readOnly == 0, executable: d & Descriptor.pxn == 0)
    }
}

extension PageTableWalker {
    /// The software walk of one address: the physical address `va` translates to and the leaf
    /// descriptor, or nil when it is not mapped (Arm ARM D8.2, as the MMU walks).
    public static func translate(root: UInt64, va: UInt64, pointerDelta: UInt64 = 0, granule g: Granule = .k4) -> (pa: UInt64, descriptor: UInt64)? {
        var table = root
        var level = g.startLevel
        while level <= 3 {
            let d = UnsafeMutablePointer<UInt64>(bitPattern: UInt(table &+ pointerDelta))![g.index(va, level: level)]
            guard d & Descriptor.valid != 0 else { return nil }
            if level < 3 && d & Descriptor.tableOrPage != 0 { table = d & g.addressMask; level += 1; continue }
            guard level >= g.firstBlockLevel, level < 3 || d & Descriptor.tableOrPage != 0 else { return nil }
            let size = g.blockSize(level: level)
            return ((d & g.addressMask & ~(size - 1)) | (va & (size - 1)), d)
        }
        return nil
    }
}

/// "1G", "512M", "4K": a power-of-two size in its largest whole unit.
public func sizeText(_ bytes: UInt64) -> String {
    let unit: UInt64 = bytes >= 1 << 30 ? 30 : bytes >= 1 << 20 ? 20 : 10
    return String(bytes >> unit) + (unit == 30 ? "G" : unit == 20 ? "M" : "K")
}
