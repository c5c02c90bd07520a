// A relative exception table, sorted at build time (docs/exception-table.md): the kernel bisects it.

import SlideCore

struct SortExceptionTable: MkImageStage {
    func run(_ b: inout ImageBuild) throws(SlideKitError) {
        guard let (offset, size) = b.elf.extable else { return }
        guard size % ExceptionEntry.size == 0, offset >= 0, offset <= b.image.count, size <= b.image.count - offset else {
            throw b.refuse("__ex_table at \(hex(UInt64(offset))) (\(size) bytes) is not whole 12-byte entries inside the image")
        }
        do throws(SlideError) {
            b.extableEntries = try b.image.withMutableView { (m) throws(SlideError) -> Int in try ExceptionTable.sort(try m.slice(offset, size), at: offset) }
        } catch {
            throw b.refuse("__ex_table: \(error.description) after sorting")
        }
        b.notes.append("sorted __ex_table: \(b.extableEntries) entries")
    }
}
