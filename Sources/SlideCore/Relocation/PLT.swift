// Module PLT veneers (docs/modules.md): the 12-byte entry the loader emits for a branch out of
// ±128 MiB, patched by the A64 field writers.

/// Module PLT entries (docs/modules.md): 12 bytes that reach any address within ±4 GiB.
public enum PLTEntry {
    public static let size = 12
    /// Writes the entry for `target` at `offset` of `section`, whose address is `address`.
    public static func write(target: UInt64, to section: MutableByteView, offset: Int, address: UInt64) throws(RelocationError) {
        guard section.contains(offset: offset, size: size) else { throw RelocationError(kind: .placeOutside, type: .call26, place: address) }
        let delta = Int64(bitPattern: (target & ~0xfff) &- (address & ~0xfff)) >> 12
        guard delta >= -(1 << 20) && delta < 1 << 20 else {
            throw RelocationError(kind: .outOfRange, type: .adrPrelPgHi21, place: address, value: delta << 12, low: -(1 << 32), high: (1 << 32) - 1)
        }
        let words: [UInt32] = [
            A64Fields.setAdrImm(0x9000_0010, UInt64(bitPattern: delta)),   // adrp x16, page(target)
            A64Fields.setImm12(0x9100_0210, target & 0xfff),                // add  x16, x16, #lo12(target)
            0xd61f_0200,                                                    // br   x16
        ]
        for (i, w) in words.enumerated() { section.base!.storeBytes(of: w.littleEndian, toByteOffset: offset + 4 * i, as: UInt32.self) }
    }

    /// The target an entry at `address` branches to, or nil when the bytes are not a PLT entry.
    public static func target(of section: ByteView, offset: Int, address: UInt64) -> UInt64? {
        guard let a = try? section.u32(at: offset), let b = try? section.u32(at: offset + 4), let c = try? section.u32(at: offset + 8),
              a & 0x9f00_001f == 0x9000_0010, b & 0xffc0_03ff == 0x9100_0210, c == 0xd61f_0200 else { return nil }
        return (address & ~0xfff) &+ UInt64(bitPattern: A64Fields.adrImm(a) << 12) &+ A64Fields.imm12(b)
    }
}
