// Setting properties in a flattened device tree blob (Devicetree Specification v0.4, ch. 5):
// replace a property's value, or insert the property into its node, growing the structure
// block and the strings block and fixing the header. Host-side (arrays); the kernel only
// patches in place (`FDT.zero`).

public struct FDTEditor {
    public private(set) var bytes: [UInt8]

    public init(_ blob: [UInt8]) throws(SlideError) {
        bytes = blob
        _ = try header()
    }

    struct Header { var total: Int; var structOffset: Int; var stringsOffset: Int; var structSize: Int; var stringsSize: Int; var reserveOffset: Int }

    func be32(_ o: Int) -> UInt32 { UInt32(bytes[o]) << 24 | UInt32(bytes[o + 1]) << 16 | UInt32(bytes[o + 2]) << 8 | UInt32(bytes[o + 3]) }
    mutating func setBE32(_ v: UInt32, _ o: Int) { for i in 0..<4 { bytes[o + i] = UInt8(truncatingIfNeeded: v >> (24 - 8 * UInt32(i))) } }

    func header() throws(SlideError) -> Header {
        guard bytes.count >= 40 else { throw .truncated("FDT header", offset: 0, size: 40, available: bytes.count) }
        guard be32(0) == FDT.magic else { throw .badMagic("FDT", offset: 0) }
        let h = Header(total: Int(be32(4)), structOffset: Int(be32(8)), stringsOffset: Int(be32(12)),
                       structSize: Int(be32(36)), stringsSize: Int(be32(32)), reserveOffset: Int(be32(16)))
        // The blocks lie inside totalsize without overlapping, tokens 4-byte aligned and the
        // reservation block 8-byte aligned (spec 5.2): edits move them, so each must be whole.
        let structEnd = h.structOffset + h.structSize, stringsEnd = h.stringsOffset + h.stringsSize
        guard h.total >= 40, h.total <= bytes.count, structEnd <= h.total, stringsEnd <= h.total, h.reserveOffset <= h.total,
              h.structOffset & 3 == 0, h.reserveOffset & 7 == 0,
              structEnd <= h.stringsOffset || stringsEnd <= h.structOffset else {
            throw .invalid("FDT block layout, totalsize", value: UInt64(h.total))
        }
        return h
    }

    func cString(_ o: Int, limit: Int) -> [UInt8] {
        var e = o
        while e < limit && bytes[e] != 0 { e += 1 }
        return Array(bytes[o..<e])
    }

    /// The blob without the free space after its last block (QEMU's own DTB carries 1 MiB of it,
    /// and Linux 5.10 to 7.x does not boot from QEMU's -dtb with it: nothing reaches the console).
    public func packed() throws(SlideError) -> [UInt8] {
        var h = try header()
        var reserveEnd = h.reserveOffset
        while reserveEnd + 16 <= h.total {
            let pair = (0..<16).reduce(0) { $0 | UInt64(bytes[reserveEnd + $1]) }
            reserveEnd += 16
            if pair == 0 { break }
        }
        let used = max(reserveEnd, h.structOffset + h.structSize, h.stringsOffset + h.stringsSize)
        var copy = self
        h.total = (used + 7) & ~7
        copy.bytes += [UInt8](repeating: 0, count: max(0, h.total - copy.bytes.count))
        copy.writeHeader(h)
        return copy.bytes
    }

    /// Sets property `name` of the node at `path` (e.g. ["chosen"]; [] is the root) to `value`.
    public mutating func setProperty(path: [String], name: String, value: [UInt8]) throws(SlideError) {
        var h = try header()
        let want = path.map { Array($0.utf8) }
        let nameBytes = Array(name.utf8)
        var o = h.structOffset
        let end = h.structOffset + h.structSize
        var stack: [[UInt8]] = []
        var insertAt: Int? = nil
        while o + 4 <= end {
            let token = be32(o)
            let tokenStart = o
            o += 4
            switch token {
            case 1:
                let n = cString(o, limit: end)
                o = (o + n.count + 1 + 3) & ~3
                stack.append(n)
                // A node matches by full name or by the name before its unit address ("memory@40000000").
                let names = Array(stack.dropFirst())
                if names.count == want.count && zip(names, want).allSatisfy({ $0 == $1 || Array($0.prefix { $0 != UInt8(ascii: "@") }) == $1 }) {
                    insertAt = o // first position inside the node
                }
            case 2:
                guard !stack.isEmpty else { throw .invalid("FDT END_NODE without a node at", value: UInt64(tokenStart)) }
                stack.removeLast()
                if insertAt != nil && stack.count == want.count { // leaving the target node without finding the property
                    try insert(&h, at: insertAt!, name: nameBytes, value: value)
                    return
                }
            case 3:
                guard o + 8 <= end else { throw .truncated("FDT property", offset: o, size: 8, available: end) }
                let length = Int(be32(o)), nameOffset = Int(be32(o + 4))
                let valueStart = o + 8
                guard tokenStart + 12 + ((length + 3) & ~3) <= end else { throw .truncated("FDT property", offset: valueStart, size: length, available: end) }
                guard nameOffset < h.stringsSize else { throw .invalid("FDT property name offset", value: UInt64(nameOffset)) }
                let inTarget = insertAt != nil && stack.count == want.count + 1
                if inTarget && cString(h.stringsOffset + nameOffset, limit: h.stringsOffset + h.stringsSize) == nameBytes {
                    // Replace in place: remove the old property, insert the new one at the same spot.
                    let oldSize = 12 + ((length + 3) & ~3)
                    bytes.removeSubrange(tokenStart..<(tokenStart + oldSize))
                    h.structSize -= oldSize
                    shiftAfterStruct(&h, by: -oldSize)
                    try insert(&h, at: tokenStart, name: nameBytes, value: value)
                    return
                }
                o = (valueStart + length + 3) & ~3
            case 4: continue
            case 9: o = end
            default: throw .invalid("FDT token", value: UInt64(token))
            }
        }
        throw .invalid("FDT: node not found; path depth", value: UInt64(path.count))
    }

    /// Moves the blocks after the structure block by `delta` bytes (the structure block changed size).
    mutating func shiftAfterStruct(_ h: inout Header, by delta: Int) {
        if h.stringsOffset > h.structOffset { h.stringsOffset += delta }
        if h.reserveOffset > h.structOffset { h.reserveOffset += delta }
        h.total += delta
        writeHeader(h)
    }

    mutating func writeHeader(_ h: Header) {
        setBE32(UInt32(h.total), 4)
        setBE32(UInt32(h.structOffset), 8)
        setBE32(UInt32(h.stringsOffset), 12)
        setBE32(UInt32(h.reserveOffset), 16)
        setBE32(UInt32(h.stringsSize), 32)
        setBE32(UInt32(h.structSize), 36)
        bytes.removeSubrange(min(h.total, bytes.count)...)
    }

    mutating func insert(_ h: inout Header, at o: Int, name: [UInt8], value: [UInt8]) throws(SlideError) {
        // The name's offset in the strings block, appending it when new.
        var nameOffset: Int? = nil
        var s = 0
        while s < h.stringsSize {
            let str = cString(h.stringsOffset + s, limit: h.stringsOffset + h.stringsSize)
            if str == name { nameOffset = s; break }
            s += str.count + 1
        }
        if nameOffset == nil {
            let at = h.stringsOffset + h.stringsSize
            bytes.insert(contentsOf: name + [0], at: at)
            nameOffset = h.stringsSize
            h.stringsSize += name.count + 1
            h.total += name.count + 1
            if h.structOffset > h.stringsOffset { h.structOffset += name.count + 1 }
            writeHeader(h)
        }
        var record: [UInt8] = [0, 0, 0, 3]
        for v in [UInt32(value.count), UInt32(nameOffset!)] { for i in 0..<4 { record.append(UInt8(truncatingIfNeeded: v >> (24 - 8 * UInt32(i)))) } }
        record += value
        while record.count % 4 != 0 { record.append(0) }
        let where_ = o + (h.structOffset > h.stringsOffset && o >= h.stringsOffset ? name.count + 1 : 0)
        bytes.insert(contentsOf: record, at: where_)
        h.structSize += record.count
        shiftAfterStruct(&h, by: record.count)
    }
}
