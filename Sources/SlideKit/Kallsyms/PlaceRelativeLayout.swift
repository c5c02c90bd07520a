// The place-relative layout (7.0+): kallsyms_offsets, an s32 per symbol, right after
// kallsyms_token_index (4-byte aligned); address = address of the entry + entry.
//
// scripts/kallsyms.c --pc-relative (set for every 64-bit or relocatable kernel) emits each entry
// as `.long _text - . + x`, which the linker resolves as R_AARCH64_PREL32; there is no
// kallsyms_relative_base any more, and nothing in the table is relocated at boot. The entry's
// own address is the link base plus its image offset, so the link base is the one thing needed.
//
// Why vmlinux-to-elf (kallsyms.py's pc-relative branch) reports a base of 0x2f00000 on Debian's 7.x: its pc-relative
// branch takes _text to be symbol 0 and reads the base from "the first program header's p_vaddr"
// at e_phoff + 0x10, e_phoff being the u64 at offset 0x20. That is ELF; in a raw arm64 Image the
// u64 at 0x20 is the header's res2 (0), so it reads offset 0x10, the header's image_size
// (0x2f00000 for 7.2.13+deb14): the right offsets, added to the image size instead of the link base.

import SlideCore

struct PlaceRelativeLayout: KallsymsAddressLayout {
    var name: String { "place-relative" }

    func read(_ core: KallsymsCore, _ input: KallsymsInput) -> KallsymsLayoutReading {
        do throws(SlideError) {
            let n = core.count
            let offsets = KallsymsLocator.alignUp(core.tokenIndex.upperBound, 4)
            let values = try input.words32(at: offsets, count: n)
            // kallsyms_* are never symbols, so no entry points at itself.
            if let i = values.firstIndex(of: 0) {
                return .notThisLayout("kallsyms_offsets[\(i)] at \(hex(UInt64(offsets + 4 * i))) is 0 (an entry pointing at itself)")
            }
            let addresses = values.enumerated().map { i, v in
                input.linkBase &+ UInt64(offsets + 4 * i) &+ UInt64(bitPattern: Int64(Int32(bitPattern: v)))
            }
            if let p = input.problem(addresses, tables: core.span(offsets..<(offsets + 4 * n)),
                                            starts: core.starts + [offsets]) { return .notThisLayout("\(KallsymsPlacement.afterTokenIndex.rawValue): \(p)") }
            return .found(KallsymsAddresses(values: addresses, table: offsets..<(offsets + 4 * n), relativeBase: nil,
                                            placement: .afterTokenIndex, seqsAfter: offsets + 4 * n))
        } catch {
            return .notThisLayout("\(error)")
        }
    }
}
