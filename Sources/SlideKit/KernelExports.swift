// The symbols a kernel ELF exports to modules: every `__ksymtab*` section (Linux's `__ksymtab` and
// `__ksymtab_gpl`, the Slide kernel's `__ksymtab`) read with SlideCore's KernelSymbolTable — the
// reader the Slide kernel resolves module symbols with at boot — over the flattened image.
// Raw Images carry no section headers: their table cannot be found without the ELF.

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
}
