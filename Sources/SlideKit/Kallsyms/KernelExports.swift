// The symbols a kernel ELF exports to modules: every `__ksymtab*` section (Linux's `__ksymtab` and
// `__ksymtab_gpl`, the Slide kernel's `__ksymtab`) read with SlideCore's KernelSymbolTable — the
// reader the Slide kernel resolves module symbols with at boot — over the flattened image.
// A raw Image (a Debian `vmlinuz` as shipped) has no section headers: its tables are found by
// kallsyms' names for their bounds (`__start___ksymtab`…`__stop___ksymtab_gpl`, and the CRC
// tables `__start___kcrctab`…, listed with KALLSYMS_ALL: Debian's 6.12 and later); a kernel whose
// kallsyms lists text only (5.10, 6.1) does not name them, and is refused. A module
// (ET_REL) exports too, but its entries are PREL32 fields its `.rela__ksymtab*` sections fill in
// (Linux 6.1's `crc-t10dif.ko` holds zeros there): it is linked first, as the loader would, at
// address 0, and read from the linked core region (addresses are then offsets in that region).

import SlideCore

public struct KernelExport {
    public var name: String
    /// Link-time address (add the KASLR offset for a running kernel).
    public var address: UInt64
    /// The section it was listed in.
    public var section: String
    /// Its modversions CRC (`__kcrctab*`, parallel to the symbol table), when the kernel has one.
    public var crc: UInt32? = nil
}

public enum KernelExports {
    /// The exports, in table order; empty when the ELF has no `__ksymtab*` section.
    public static func read(_ k: KernelImage) throws(SlideKitError) -> [KernelExport] {
        guard let elfBytes = k.elfBytes else { return try imageExports(k) }
        if elfBytes.count >= 18, FileKind(Array(elfBytes.prefix(18))) == .elf(.rel) { return try moduleExports(elfBytes, path: k.path) }
        do throws(SlideError) {
            return try elfBytes.withView { (view) throws(SlideError) -> [KernelExport] in
                let elf = try ELFFile(view)
                var out: [KernelExport] = []
                for i in 0..<elf.sectionCount {
                    let s = try elf.section(i)
                    let name = try elf.name(of: s)
                    guard name.hasPrefix("__ksymtab"), name != "__ksymtab_strings", s.flags.contains(.alloc), s.size > 0 else { continue }
                    guard s.address >= k.linkBase, s.address - k.linkBase <= UInt64(k.bytes.count) else {
                        throw SlideError.outOfRange("__ksymtab address", value: s.address, low: k.linkBase, high: k.linkBase &+ UInt64(k.bytes.count))
                    }
                    try k.bytes.withView { (image) throws(SlideError) in
                        let table = try KernelSymbolTable(memory: image, address: k.linkBase, tableOffset: Int(s.address - k.linkBase), tableSize: Int(s.size))
                        for j in 0..<table.count {
                            let e = try table.entry(j)
                            out.append(KernelExport(name: String(e.name), address: e.value, section: name))
                        }
                    }
                }
                return out
            }
        } catch {
            throw SlideKitError(k.path, error)
        }
    }

    /// A module's exports: linked at 0 (undefined symbols 1 GiB above it), then read where the
    /// loader would read them.
    static func moduleExports(_ bytes: [UInt8], path: String) throws(SlideKitError) -> [KernelExport] {
        var o = ModuleLinkOptions()
        o.base = 0
        o.undefinedAt = 1 << 30
        let m = try ModuleLinker.link(bytes, name: ModuleFiles.name(path), path: path, o)
        var out: [KernelExport] = []
        do throws(SlideError) {
            try m.core.withView { (core) throws(SlideError) in
                for s in m.sections where s.name.hasPrefix("__ksymtab") && s.name != "__ksymtab_strings" && !s.isInit && s.size > 0 {
                    let table = try KernelSymbolTable(memory: core, address: m.coreBase, tableOffset: Int(s.address - m.coreBase), tableSize: Int(s.size))
                    for j in 0..<table.count {
                        let e = try table.entry(j)
                        out.append(KernelExport(name: String(e.name), address: e.value, section: s.name))
                    }
                }
            }
        } catch {
            throw SlideKitError(path, error)
        }
        return out
    }

    /// The kallsyms names of each table's bounds: (symbols, CRCs, section name).
    static let rawTables = [("__start___ksymtab", "__stop___ksymtab", "__start___kcrctab", "__stop___kcrctab", "__ksymtab"),
                            ("__start___ksymtab_gpl", "__stop___ksymtab_gpl", "__start___kcrctab_gpl", "__stop___kcrctab_gpl", "__ksymtab_gpl")]

    /// A raw Image's exports, through kallsyms' names for the tables.
    static func imageExports(_ k: KernelImage) throws(SlideKitError) -> [KernelExport] {
        let base = try k.requireLinkBase(for: "the kernel's exports")
        let table: KallsymsTable
        do throws(SlideKitError) { table = try KallsymsTable.read(k) } catch {
            throw SlideKitError(k.path, "a raw Image's exports are found through kallsyms' names for the __ksymtab bounds, and its kallsyms cannot be read (\(error.message)); give the kernel's ELF (vmlinux)")
        }
        let symbols = KernelSymbols.addresses(table.symbols)
        var out: [KernelExport] = []
        do throws(SlideError) {
            try k.bytes.withView { (image) throws(SlideError) in
                for (start, stop, crcStart, crcStop, section) in rawTables {
                    guard let s = symbols[start], let e = symbols[stop] else { continue }
                    guard s >= base, e >= s, e - base <= UInt64(k.dataSize) else {
                        throw SlideError.outOfRange("__ksymtab bounds", value: e, low: base, high: base &+ UInt64(k.dataSize))
                    }
                    let table = try KernelSymbolTable(memory: image, address: base, tableOffset: Int(s - base), tableSize: Int(e - s))
                    // CRCs: one u32 per entry, in the same order, when the kernel has modversions.
                    var crcs: ByteView? = nil
                    if let cs = symbols[crcStart], let ce = symbols[crcStop], cs >= base, ce - cs == UInt64(4 * table.count), ce - base <= UInt64(k.dataSize) {
                        crcs = try image.slice(offset: Int(cs - base), size: Int(ce - cs), "__kcrctab")
                    }
                    for j in 0..<table.count {
                        let entry = try table.entry(j)
                        out.append(KernelExport(name: String(entry.name), address: entry.value, section: section, crc: crcs.map { $0.u32Unchecked(at: 4 * j) }))
                    }
                }
            }
        } catch {
            throw SlideKitError(k.path, error)
        }
        guard !out.isEmpty else {
            throw SlideKitError(k.path, "kallsyms names no __start___ksymtab: the exports of this raw Image cannot be found (its kallsyms lists text only, as Linux 5.10 and 6.1 build it); give the kernel's -dbg vmlinux")
        }
        return out
    }
}
