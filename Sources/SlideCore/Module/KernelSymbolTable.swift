// The kernel's exported symbols, as Linux 6.1 lays out `__ksymtab` with
// CONFIG_HAVE_ARCH_PREL32_RELOCATIONS (include/linux/export.h, docs/modules.md): 12-byte entries
// { value_offset, name_offset, namespace_offset }, each a signed 32-bit offset from the field's own
// address, so the table needs no relocation at boot and stays valid wherever the kernel slides.
// Entries are sorted by name (the linker script sorts the per-symbol sections), so lookups bisect.
//
// Runs in the kernel (resolving a module's undefined symbols) and on the host (checking an image).

public struct KernelSymbolTable {
    public static let entrySize = 12
    /// A view of memory that holds the table and the names, and the address of its first byte.
    public let memory: ByteView, address: UInt64
    /// Offset of the table in `memory`, and its number of entries.
    public let tableOffset: Int, count: Int

    public init(memory: ByteView, address: UInt64, tableOffset: Int, tableSize: Int) throws(SlideError) {
        guard tableSize % Self.entrySize == 0 else { throw .misaligned("__ksymtab size", value: UInt64(tableSize), alignment: UInt64(Self.entrySize)) }
        _ = try memory.slice(offset: tableOffset, size: tableSize, "__ksymtab")
        self.memory = memory
        self.address = address
        self.tableOffset = tableOffset
        count = tableSize / Self.entrySize
    }

    /// The address a PREL32 field at memory offset `o` points to.
    func target(ofFieldAt o: Int) throws(SlideError) -> UInt64 {
        address &+ UInt64(o) &+ UInt64(bitPattern: Int64(Int32(bitPattern: try memory.u32(at: o, "__ksymtab field"))))
    }

    /// Entry `i`: the symbol's name and address.
    public func entry(_ i: Int) throws(SlideError) -> (name: ByteView, value: UInt64) {
        guard i >= 0, i < count else { throw .outOfRange("__ksymtab index", value: UInt64(truncatingIfNeeded: i), low: 0, high: UInt64(max(count, 1) - 1)) }
        let o = tableOffset + i * Self.entrySize
        let name = try target(ofFieldAt: o + 4)
        guard name >= address, name - address < UInt64(memory.count) else { throw .outOfRange("__ksymtab name", value: name, low: address, high: address &+ UInt64(memory.count)) }
        return (try memory.cString(at: Int(name - address)), try target(ofFieldAt: o))
    }

    /// True when every name sorts after the one before it (no duplicates).
    public func isSorted() throws(SlideError) -> Bool {
        guard count > 1 else { return true }
        for i in 1..<count where try entry(i - 1).name.compare(try entry(i).name) >= 0 { return false }
        return true
    }

    /// The address of `name`, by bisection.
    public func lookup(_ name: ByteView) -> UInt64? {
        var lo = 0, hi = count
        while lo < hi {
            let mid = (lo + hi) / 2
            guard let e = try? entry(mid) else { return nil }
            let c = e.name.compare(name)
            if c == 0 { return e.value }
            if c < 0 { lo = mid + 1 } else { hi = mid }
        }
        return nil
    }
}

extension KernelSymbolTable: ModuleSymbolResolver {
    public func address(of name: ByteView) -> UInt64? { lookup(name) }
}
