// Whether a module was built for a kernel, as the kernel's loader decides before linking it
// (kernel/module/version.c and main.c): the module's `vermagic=` in `.modinfo` must equal the
// kernel's `vermagic` string (release, SMP, preemption, mod_unload, modversions, arch), and with
// modversions each symbol the module imports (`__versions`: 64-byte entries, a CRC in the first
// 8 bytes and the name after it) must carry the CRC the kernel exports it with (`__kcrctab`).
// `link-module --kernel` refuses a mismatch unless --force, and says what it could not check.

import SlideCore

public struct ModuleCompatibility {
    /// Mismatches, one line each (the loader's refusals).
    public var problems: [String] = []
    /// What could not be checked, and why.
    public var unchecked: [String] = []
    /// Imports whose CRC was compared.
    public var crcsChecked = 0

    /// The module's `vermagic=` and its imports' CRCs.
    static func moduleFacts(_ bytes: [UInt8]) throws(SlideError) -> (vermagic: String?, versions: [(name: String, crc: UInt32)]) {
        try bytes.withView { (view) throws(SlideError) in
            let elf = try ELFFile(view)
            var vermagic: String? = nil
            var versions: [(String, UInt32)] = []
            if let (_, info) = try elf.section(named: ".modinfo") {
                let data = try elf.contents(of: info)
                for field in Array(UnsafeRawBufferPointer(start: data.base, count: data.count)).split(separator: 0) {
                    let text = String(decoding: field, as: UTF8.self)
                    if text.hasPrefix("vermagic=") { vermagic = String(text.dropFirst(9)) }
                }
            }
            if let (_, v) = try elf.section(named: "__versions") {
                let data = try elf.contents(of: v)
                var o = 0
                while o + 64 <= data.count {
                    let nameBytes = Array(UnsafeRawBufferPointer(start: data.base.map { $0 + o + 8 }, count: 56)).prefix { $0 != 0 }
                    versions.append((String(decoding: nameBytes, as: UTF8.self), UInt32(truncatingIfNeeded: data.u64Unchecked(at: o))))
                    o += 64
                }
            }
            return (vermagic, versions)
        }
    }

    /// The kernel's `vermagic` string, through its symbol (kallsyms with KALLSYMS_ALL, or an
    /// ELF's .symtab); nil when no table names it.
    public static func kernelVermagic(_ k: KernelImage) -> String? {
        let symbols = KernelSymbols.elfSymbols(k) ?? (try? KallsymsTable.read(k).symbols) ?? []
        guard let address = symbols.first(where: { $0.name == "vermagic" })?.address, address >= k.linkBase else { return nil }
        let start = Int(address - k.linkBase)
        guard start < k.dataSize else { return nil }
        let bytes = k.bytes[start..<min(k.dataSize, start + 256)].prefix { $0 != 0 }
        return String(decoding: bytes, as: UTF8.self)
    }

    public static func check(module bytes: [UInt8], path: String, kernel k: KernelImage, exports: [KernelExport]) throws(SlideKitError) -> ModuleCompatibility {
        let facts: (vermagic: String?, versions: [(name: String, crc: UInt32)])
        do throws(SlideError) { facts = try moduleFacts(bytes) } catch { throw SlideKitError(path, error) }
        var c = ModuleCompatibility()
        switch (facts.vermagic, kernelVermagic(k)) {
        case (let m?, let kv?) where m != kv:
            c.problems.append("vermagic '\(m)' is not the kernel's '\(kv)'")
        case (nil, _):
            c.unchecked.append("vermagic: the module has none")
        case (_, nil):
            c.unchecked.append("vermagic: the kernel's symbol tables do not name its vermagic string")
        default:
            break
        }
        let crcs = Dictionary(exports.compactMap { e in e.crc.map { (e.name, $0) } }, uniquingKeysWith: { a, _ in a })
        if facts.versions.isEmpty {
            if !crcs.isEmpty { c.unchecked.append("CRCs: the module has no __versions (built without modversions)") }
        } else if crcs.isEmpty {
            c.unchecked.append("CRCs: the kernel's CRC tables are not known (modversions CRCs are read from a raw Image's __kcrctab)")
        } else {
            for v in facts.versions {
                guard let kernelCRC = crcs[v.name] else { continue } // module_layout and symbols of other modules
                c.crcsChecked += 1
                if kernelCRC != v.crc { c.problems.append("symbol \(v.name): CRC \(hex(UInt64(v.crc))), the kernel's is \(hex(UInt64(kernelCRC))) (disagrees about symbol version)") }
            }
        }
        return c
    }
}
