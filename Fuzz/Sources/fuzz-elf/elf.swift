// The ELF reader (SlideCore/ELF): the file checks, then every accessor over every record,
// as inspect, relocs and link-module walk them.

import FuzzSupport
import SlideCore

/// At most this many records of each kind are walked (extended numbering allows ~millions).
let recordLimit = 1 << 12

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    withAlignedCopy(data, size) { raw in
        do throws(SlideError) {
            let elf = try ELFFile(ByteView(UnsafeRawBufferPointer(raw)))
            sink(UInt64(elf.header.type.rawValue) ^ elf.header.entry)
            for i in 0..<min(elf.programHeaderCount, recordLimit) {
                let p = try elf.programHeader(i)
                sink(p.offset ^ p.virtualAddress)
                if p.type == .dynamic, let d = try? elf.bytes.slice(offset: p.offset, size: p.fileSize) {
                    var o = 0
                    while o + DynamicEntry.size <= min(d.count, recordLimit * DynamicEntry.size) {
                        let e = try DynamicEntry(from: d, at: o)
                        sink(UInt64(bitPattern: e.tag.rawValue) ^ e.value)
                        _ = try? elf.fileOffset(ofAddress: e.value, size: 8)
                        o += DynamicEntry.size
                    }
                }
            }
            _ = try? elf.fileOffset(ofAddress: elf.header.entry)
            _ = try? elf.section(named: ".symtab")
            for i in 0..<min(elf.sectionCount, recordLimit) {
                let s = try elf.section(i)
                do throws(SlideError) {
                    sink(try elf.name(of: s))
                    let contents = try elf.contents(of: s)
                    if let b = contents.base, contents.count > 0 { sink(UInt64(b.load(fromByteOffset: contents.count - 1, as: UInt8.self))) }
                    if s.type == .symtab || s.type == .dynsym {
                        let n = try elf.entryCount(of: s, entrySize: Symbol.size, "symbol table")
                        for j in 0..<min(n, recordLimit) {
                            let sym = try elf.symbol(j, inTable: i)
                            sink(sym.value ^ UInt64(sym.binding) ^ UInt64(sym.symbolType))
                            if let name = try? elf.name(of: sym, inTable: i) { sink(name) }
                        }
                    }
                    if s.type == .rela {
                        let n = try elf.entryCount(of: s, entrySize: RelaEntry.size, "RELA section")
                        let table = try RelaTable(contents)
                        for j in 0..<min(n, recordLimit) { sink(table[j].offset ^ table[j].info) }
                    }
                } catch {
                    sink(error)
                }
            }
        } catch {
            sink(error)
        }
    }
    return 0
}
