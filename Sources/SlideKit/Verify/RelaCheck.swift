// `slide relacheck`: the build-time guard for code that runs before relocation (docs/relocations.md,
// Linux's pi/relacheck.c, made precise).
//
// In an ET_REL object compiled with per-function sections, start from the entry points that run
// before relocation, follow every static relocation to the section it references, and report
// each R_AARCH64_ABS64 found in a reached, allocated, non-executable section: in a PIE link it
// becomes a RELATIVE entry, so the word is 0 (or wrong) until relocation has run — reading it
// earlier is the bug. Literal pools in text are exempt, as in Linux: Kernel/Asm/head.S and smp.S use them only
// after relocation.

import SlideCore

public struct RelaCheckFinding: CustomStringConvertible {
    public var section: String
    public var offset: UInt64
    public var symbol: String
    public var path: [String]
    public var description: String {
        "R_AARCH64_ABS64 at \(section)+\(hex(offset)) against \(symbol), reached from \(path.joined(separator: " → "))"
    }
}

public enum RelaCheck {
    public static func check(_ path: String, roots: [String]) throws(SlideKitError) -> [RelaCheckFinding] {
        let bytes = try Files.read(path)
        let outcome: (findings: [RelaCheckFinding], missingRoot: String?)
        do throws(SlideError) {
            outcome = try bytes.withView { (view) throws(SlideError) -> ([RelaCheckFinding], String?) in
                let elf = try ELFFile(view)
                guard elf.header.type == .rel else { throw SlideError.invalid("ELF type (relacheck reads ET_REL objects)", value: UInt64(elf.header.type.rawValue)) }
                guard let object = try RelocatableObject(elf) else { return ([], nil) }
                var rootSections: [Int] = []
                for root in roots {
                    guard let s = object.section(defining: root) else { return ([], root) }
                    rootSections.append(s)
                }
                return (object.findings(from: rootSections), nil)
            }
        } catch {
            throw SlideKitError(path, error)
        }
        if let root = outcome.missingRoot {
            throw SlideKitError(path, "root symbol '\(root)' is not defined in the object (--root names a function it defines; llvm-nm lists them)")
        }
        return outcome.findings
    }
}

/// An ET_REL object as relacheck reads it: sections and symbols with their names, and the
/// relocations that apply to each section.
struct RelocatableObject {
    var sections: [SectionHeader] = []
    var names: [String] = []
    var symbols: [Symbol] = []
    var symbolNames: [String] = []
    /// Relocation entries by the section they apply to.
    var relocations: [Int: [RelaEntry]] = [:]

    /// nil when the object has no symbol table (so nothing to follow).
    init?(_ elf: ELFFile) throws(SlideError) {
        var symtab = -1
        for i in 0..<elf.sectionCount {
            let s = try elf.section(i)
            sections.append(s)
            names.append(try elf.name(of: s))
            if s.type == .symtab { symtab = i }
        }
        guard symtab >= 0 else { return nil }
        let symbolCount = try elf.entryCount(of: sections[symtab], entrySize: Symbol.size, "SYMTAB sh_entsize")
        for j in 0..<symbolCount {
            let s = try elf.symbol(j, inTable: symtab)
            symbols.append(s)
            symbolNames.append(try elf.name(of: s, inTable: symtab))
        }
        for s in sections where s.type == .rela && Int(s.info) < sections.count {
            let n = try elf.entryCount(of: s, entrySize: RelaEntry.size, "RELA sh_entsize")
            let table = try RelaTable(try elf.contents(of: s).slice(offset: 0, size: n * RelaEntry.size))
            relocations[Int(s.info), default: []] += (0..<table.count).map { table[$0] }
        }
    }

    /// The section of the defined symbol `name`.
    func section(defining name: String) -> Int? {
        guard let j = symbolNames.firstIndex(of: name), symbols[j].sectionIndex != SectionIndex.undefined,
              Int(symbols[j].sectionIndex) < sections.count else { return nil }
        return Int(symbols[j].sectionIndex)
    }

    /// Breadth-first from `roots` along every relocation to an allocated section; each ABS64 in a
    /// reached, allocated, non-executable section is a finding, with the path that reached it.
    func findings(from roots: [Int]) -> [RelaCheckFinding] {
        var from: [Int: Int] = [:]
        var queue: [Int] = []
        for s in roots where from[s] == nil { from[s] = -1; queue.append(s) }
        var findings: [RelaCheckFinding] = []
        var head = 0
        while head < queue.count {
            let s = queue[head]
            head += 1
            let allocatedData = sections[s].flags.contains(.alloc) && !sections[s].flags.contains(.execinstr)
            for r in relocations[s] ?? [] {
                guard Int(r.symbol) < symbols.count else { continue }
                let sym = symbols[Int(r.symbol)]
                let target = Int(sym.sectionIndex)
                if allocatedData && r.type == .abs64 && sym.sectionIndex != SectionIndex.absolute {
                    var chain: [String] = []
                    var c = s
                    while c >= 0 { chain.append(names[c]); c = from[c] ?? -1 }
                    let symbolName = symbolNames[Int(r.symbol)].isEmpty ? (target < names.count ? names[target] : "?") : symbolNames[Int(r.symbol)]
                    findings.append(RelaCheckFinding(section: names[s], offset: r.offset, symbol: symbolName, path: chain.reversed()))
                }
                if target > 0 && target < sections.count && from[target] == nil && sections[target].flags.contains(.alloc) {
                    from[target] = s
                    queue.append(target)
                }
            }
        }
        return findings
    }
}
