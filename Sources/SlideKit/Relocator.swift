// `slide relocate`: apply the tables as the boot code does when the image runs at
// `linkBase + displacement` (RELA overwrites, RELR adds), with the same SlideCore routines
// the kernel runs. Output is the input's bytes with only relocated places changed, or that
// image wrapped in an ELF64 with one PT_LOAD at the chosen address.

import SlideCore

public struct RelocateResult {
    public var bytes: [UInt8]
    public var rela: RelaApplyReport
    public var relrPlaces: Int
    public var displacement: UInt64
    public var runtimeBase: UInt64
}

public enum Relocator {
    public static func relocate(_ k: KernelImage, displacement: UInt64) throws(SlideKitError) -> RelocateResult {
        var out = k.bytes
        guard k.rela != nil || k.relr != nil else { throw SlideKitError(k.path, "no relocation table found: nothing to relocate") }
        // Read the tables from the original bytes: a place can never rewrite the table mid-walk.
        let (rela, relr) = try k.withTables { (_, relaTable, relrTable) throws(SlideError) -> (RelaApplyReport, Int) in
            try out.withMutableView { (image) throws(SlideError) -> (RelaApplyReport, Int) in
                var report = RelaApplyReport()
                if let relaTable {
                    report = try Rela.apply(relaTable, to: image, linkBase: k.linkBase, displacement: displacement, resolver: NoSymbols())
                }
                var relrCount = 0
                if let relrTable {
                    relrCount = try Relr.apply(relrTable, to: image, linkBase: k.linkBase, displacement: displacement)
                }
                return (report, relrCount)
            }
        }
        return RelocateResult(bytes: out, rela: rela, relrPlaces: relr, displacement: displacement,
                              runtimeBase: k.linkBase &+ displacement)
    }

    /// Wraps a flat image in a minimal ELF64 (ET_EXEC, EM_AARCH64) with one RWX PT_LOAD at
    /// `address`: file size = image data, memory size = image size (BSS included), entry at
    /// the Image's `code1` target when it has a header. Disassemblers then load it where it runs.
    public static func wrapInELF(_ image: [UInt8], dataSize: Int, memorySize: UInt64, address: UInt64, entry: UInt64) -> [UInt8] {
        let headerSize = 64, phSize = 56
        let dataOffset = 0x1000 // page-aligned so p_offset ≡ p_vaddr (mod page)
        var out = [UInt8](repeating: 0, count: dataOffset + dataSize)
        out.withUnsafeMutableBytes { raw in
            let b = MutableByteView(raw)
            // e_ident: magic, ELFCLASS64, ELFDATA2LSB, EV_CURRENT.
            for (i, v) in [0x7f, 0x45, 0x4c, 0x46, 2, 1, 1].enumerated() { try! b.setU8(UInt8(v), at: i) }
            try! b.setU16(2, at: 16)                      // e_type = ET_EXEC
            try! b.setU16(ELFMachine.aarch64, at: 18)     // e_machine
            try! b.setU32(1, at: 20)                      // e_version
            try! b.setU64(entry, at: 24)                  // e_entry
            try! b.setU64(UInt64(headerSize), at: 32)     // e_phoff
            try! b.setU16(UInt16(headerSize), at: 52)     // e_ehsize
            try! b.setU16(UInt16(phSize), at: 54)         // e_phentsize
            try! b.setU16(1, at: 56)                      // e_phnum
            try! b.setU16(64, at: 58)                     // e_shentsize
            let p = headerSize
            try! b.setU32(1, at: p)                       // p_type = PT_LOAD
            try! b.setU32(7, at: p + 4)                   // p_flags = RWX
            try! b.setU64(UInt64(dataOffset), at: p + 8)  // p_offset
            try! b.setU64(address, at: p + 16)            // p_vaddr
            try! b.setU64(address, at: p + 24)            // p_paddr
            try! b.setU64(UInt64(dataSize), at: p + 32)   // p_filesz
            try! b.setU64(max(memorySize, UInt64(dataSize)), at: p + 40) // p_memsz
            try! b.setU64(0x1000, at: p + 48)             // p_align
        }
        out.replaceSubrange(dataOffset..<(dataOffset + dataSize), with: image[0..<dataSize])
        return out
    }
}
