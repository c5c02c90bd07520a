// A flattened device tree reader and in-place patcher (Devicetree Specification v0.4, ch. 5).
//
// Everything is big-endian. The structure block is a stream of 32-bit tokens: BEGIN_NODE
// (name, NUL-padded to 4), END_NODE, PROP (len, nameoff, value padded to 4), NOP, END.
// Runs in the kernel before relocation: no allocation, no globals, aligned 32-bit reads only
// (the blob is 8-byte aligned per booting.rst and every token is 4-byte aligned).

public struct FDT {
    public static let magic: UInt32 = 0xd00d_feed
    public let base: UnsafeMutableRawPointer
    /// `totalsize`.
    public let totalSize: Int
    /// `off_dt_struct`, `size_dt_struct`, `off_dt_strings`, `size_dt_strings`.
    let structOffset: Int, structSize: Int, stringsOffset: Int, stringsSize: Int

    static func be32(_ p: UnsafeRawPointer, _ o: Int) -> UInt32 {
        UInt32(bigEndian: p.load(fromByteOffset: o, as: UInt32.self))
    }

    /// Validates the header of the blob at `base` (which must be 4-byte aligned), reading at most `limit` bytes.
    public init(at base: UnsafeMutableRawPointer, limit: Int) throws(SlideError) {
        guard Int(bitPattern: base) & 3 == 0 else { throw .misaligned("FDT address", value: UInt64(UInt(bitPattern: base)), alignment: 4) }
        guard limit >= 40 else { throw .truncated("FDT header", offset: 0, size: 40, available: limit) }
        guard Self.be32(base, 0) == Self.magic else { throw .badMagic("FDT", offset: 0) }
        let total = Int(Self.be32(base, 4))
        guard total >= 40, total <= limit else { throw .outOfRange("FDT totalsize", value: UInt64(total), low: 40, high: UInt64(limit)) }
        self.base = base
        totalSize = total
        structOffset = Int(Self.be32(base, 8))
        stringsOffset = Int(Self.be32(base, 12))
        stringsSize = Int(Self.be32(base, 32))
        structSize = Int(Self.be32(base, 36))
        let reserveOffset = Int(Self.be32(base, 16))
        guard structOffset & 3 == 0, structOffset <= total, structSize <= total - structOffset,
              stringsOffset <= total, stringsSize <= total - stringsOffset, reserveOffset & 7 == 0 else {
            throw .invalid("FDT block layout, totalsize", value: UInt64(total))
        }
    }

    /// A property found by `find`: where its value lives in the blob.
    public struct Property {
        public let valueOffset: Int
        public let length: Int
    }

    static let beginNode: UInt32 = 1, endNode: UInt32 = 2, prop: UInt32 = 3, nop: UInt32 = 4, end: UInt32 = 9

    /// Calls `visit(depth, nodeNameOffset, nodeNameLength, propNameOffset?, property)` for every property.
    /// Node and property names are given as offsets into the blob so no strings are built.
    func walk(_ visit: (_ path: NodePath, _ nameOffset: Int, _ property: Property) -> Bool) throws(SlideError) {
        var o = structOffset
        let end = structOffset + structSize
        var path = NodePath()
        while o + 4 <= end {
            let token = Self.be32(base, o)
            o += 4
            switch token {
            case Self.beginNode:
                let nameStart = o
                while o < end && base.load(fromByteOffset: o, as: UInt8.self) != 0 { o += 1 }
                guard o < end else { throw .truncated("FDT node name", offset: nameStart, size: 1, available: end) }
                path.push(nameOffset: nameStart, length: o - nameStart)
                o = (o + 4) & ~3
            case Self.endNode:
                guard path.depth > 0 else { throw .invalid("FDT END_NODE without a node at", value: UInt64(o - 4)) }
                path.pop()
            case Self.prop:
                guard o + 8 <= end else { throw .truncated("FDT property", offset: o, size: 8, available: end) }
                let length = Int(Self.be32(base, o))
                let nameOffset = Int(Self.be32(base, o + 4))
                o += 8
                guard length <= end - o, nameOffset < stringsSize else { throw .invalid("FDT property at", value: UInt64(o - 12)) }
                if !visit(path, stringsOffset + nameOffset, Property(valueOffset: o, length: length)) { return }
                o = (o + length + 3) & ~3
            case Self.nop:
                continue
            case Self.end:
                return
            default:
                throw .invalid("FDT token", value: UInt64(token))
            }
        }
    }

    /// True when the NUL-terminated string at blob offset `o` equals `s`.
    func nameEquals(_ o: Int, _ s: StaticString) -> Bool {
        let n = s.utf8CodeUnitCount
        guard o + n < totalSize else { return false }
        for i in 0..<n where base.load(fromByteOffset: o + i, as: UInt8.self) != s.utf8Start[i] { return false }
        return base.load(fromByteOffset: o + n, as: UInt8.self) == 0
    }

    /// True when node name at `o` (length `n`) is `s` or starts with `s@` (unit address).
    func nodeNameMatches(_ o: Int, _ n: Int, _ s: StaticString) -> Bool {
        let m = s.utf8CodeUnitCount
        guard n >= m else { return false }
        for i in 0..<m where base.load(fromByteOffset: o + i, as: UInt8.self) != s.utf8Start[i] { return false }
        return n == m || base.load(fromByteOffset: o + m, as: UInt8.self) == UInt8(ascii: "@")
    }

    /// Property `name` of the top-level node `node` ("" for the root).
    public func property(node: StaticString, name: StaticString) throws(SlideError) -> Property? {
        var found: Property? = nil
        let wantRoot = node.utf8CodeUnitCount == 0
        try walk { path, nameOffset, p in
            let here = wantRoot ? path.depth == 1 : path.depth == 2 && nodeNameMatches(path.offset(1), path.length(1), node)
            if here && nameEquals(nameOffset, name) { found = p; return false }
            return true
        }
        return found
    }

    public func u32(_ p: Property, at index: Int) -> UInt32 { Self.be32(base, p.valueOffset + index * 4) }

    /// Big-endian cells as one number (1 or 2 cells).
    public func cells(_ p: Property, at index: Int, count: Int) -> UInt64 {
        var v: UInt64 = 0
        for i in 0..<count { v = v << 32 | UInt64(u32(p, at: index + i)) }
        return v
    }

    public func byte(_ p: Property, at i: Int) -> UInt8 { base.load(fromByteOffset: p.valueOffset + i, as: UInt8.self) }

    /// Length of a string property's value, up to its first NUL.
    public func stringLength(_ p: Property) -> Int {
        var n = 0
        while n < p.length && byte(p, at: n) != 0 { n += 1 }
        return n
    }

    /// Overwrites a property's value with zeros (the kernel wipes `/chosen/kaslr-seed`).
    public func zero(_ p: Property) {
        for i in 0..<p.length { base.storeBytes(of: 0, toByteOffset: p.valueOffset + i, as: UInt8.self) }
    }

    /// Calls `body(base, size)` for each `reg` range of every top-level `memory` node.
    public func forEachMemoryRange(_ body: (UInt64, UInt64) -> Void) throws(SlideError) {
        var addressCells = 2, sizeCells = 2
        if let a = try property(node: "", name: "#address-cells"), a.length == 4 { addressCells = Int(u32(a, at: 0)) }
        if let s = try property(node: "", name: "#size-cells"), s.length == 4 { sizeCells = Int(u32(s, at: 0)) }
        guard (1...2).contains(addressCells), (1...2).contains(sizeCells) else {
            throw .unsupported("FDT #address-cells/#size-cells", value: UInt64(addressCells << 8 | sizeCells))
        }
        let stride = addressCells + sizeCells
        try walk { path, nameOffset, p in
            if path.depth == 2 && nodeNameMatches(path.offset(1), path.length(1), "memory") {
                if nameEquals(nameOffset, "reg") {
                    var i = 0
                    while (i + stride) * 4 <= p.length {
                        body(cells(p, at: i, count: addressCells), cells(p, at: i + addressCells, count: sizeCells))
                        i += stride
                    }
                }
            }
            return true
        }
    }
}

extension FDT {
    /// Calls `body(base, size)` for every reserved range: the memory reservation block, the
    /// `reg` of each `/reserved-memory` child, and the initrd named in `/chosen`.
    public func forEachReservedRange(_ body: (UInt64, UInt64) -> Void) throws(SlideError) {
        // Memory reservation block: (address, size) pairs of big-endian u64, ended by (0, 0).
        var o = Int(Self.be32(base, 16))
        while o + 16 <= totalSize {
            let a = UInt64(Self.be32(base, o)) << 32 | UInt64(Self.be32(base, o + 4))
            let n = UInt64(Self.be32(base, o + 8)) << 32 | UInt64(Self.be32(base, o + 12))
            if a == 0 && n == 0 { break }
            body(a, n)
            o += 16
        }
        try walk { path, nameOffset, p in
            if path.depth == 3 && nodeNameMatches(path.offset(1), path.length(1), "reserved-memory") && nameEquals(nameOffset, "reg") {
                var i = 0
                while (i + 4) * 4 <= p.length { body(cells(p, at: i, count: 2), cells(p, at: i + 2, count: 2)); i += 4 }
            }
            return true
        }
        if let r = try initrd() { body(r.start, r.end - r.start) }
    }

    /// Calls `body(mpidr)` with the `reg` of every `/cpus/cpu@…` node (its MPIDR affinity bits,
    /// devicetree-specification §3.8; `#address-cells` of /cpus, 1 or 2).
    public func forEachCPU(_ body: (UInt64) -> Void) throws(SlideError) {
        var cells = 2
        if let a = try property(node: "cpus", name: "#address-cells"), a.length == 4 { cells = Int(u32(a, at: 0)) }
        guard (1...2).contains(cells) else { throw .unsupported("FDT /cpus #address-cells", value: UInt64(cells)) }
        try walk { path, nameOffset, p in
            if path.depth == 3 && nodeNameMatches(path.offset(1), path.length(1), "cpus") && nodeNameMatches(path.offset(2), path.length(2), "cpu")
                && nameEquals(nameOffset, "reg") && p.length >= cells * 4 {
                body(self.cells(p, at: 0, count: cells))
            }
            return true
        }
    }

    /// The initrd named in `/chosen` (`linux,initrd-start` and `-end`, one or two cells each), when non-empty.
    public func initrd() throws(SlideError) -> (start: UInt64, end: UInt64)? {
        guard let s = try property(node: "chosen", name: "linux,initrd-start"), let e = try property(node: "chosen", name: "linux,initrd-end") else {
            return nil
        }
        let start = cells(s, at: 0, count: min(s.length / 4, 2)), end = cells(e, at: 0, count: min(e.length / 4, 2))
        return end > start ? (start, end) : nil
    }
}

/// The path to the current node during a walk: up to 8 levels of (name offset, length).
struct NodePath {
    var offsets: (Int, Int, Int, Int, Int, Int, Int, Int) = (0, 0, 0, 0, 0, 0, 0, 0)
    var lengths: (Int, Int, Int, Int, Int, Int, Int, Int) = (0, 0, 0, 0, 0, 0, 0, 0)
    var depth = 0

    mutating func push(nameOffset: Int, length: Int) {
        if depth < 8 {
            withUnsafeMutableBytes(of: &offsets) { $0.storeBytes(of: nameOffset, toByteOffset: depth * 8, as: Int.self) }
            withUnsafeMutableBytes(of: &lengths) { $0.storeBytes(of: length, toByteOffset: depth * 8, as: Int.self) }
        }
        depth += 1
    }
    mutating func pop() { depth -= 1 }
    func offset(_ level: Int) -> Int { withUnsafeBytes(of: offsets) { $0.load(fromByteOffset: min(level, 7) * 8, as: Int.self) } }
    func length(_ level: Int) -> Int { withUnsafeBytes(of: lengths) { $0.load(fromByteOffset: min(level, 7) * 8, as: Int.self) } }
}
