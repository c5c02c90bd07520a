// The symbols a kernel ELF exports to modules: every `__ksymtab*` section (Linux's `__ksymtab` and
// `__ksymtab_gpl`, the Slide kernel's `__ksymtab`) read with SlideCore's KernelSymbolTable — the
// reader the Slide kernel resolves module symbols with at boot — over the flattened image.
// Raw Images carry no section headers: their table cannot be found without the ELF. A module
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
}

public enum KernelExports {
    /// The exports, in table order; empty when the ELF has no `__ksymtab*` section.
    public static func read(_ k: KernelImage) throws(SlideKitError) -> [KernelExport] {
        guard let elfBytes = k.elfBytes else { return [] }
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
}
