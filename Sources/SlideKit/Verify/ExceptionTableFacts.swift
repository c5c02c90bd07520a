// The exception table's facts for inspect and verify: its size and its first problem.

import SlideCore

extension KernelImage {
    /// The exception table's entry count and its first problem (unsorted, a duplicate instruction,
    /// an instruction or fixup outside the text), when the ELF has one.
    public func exceptionTableCheck() throws(SlideKitError) -> (entries: Int, problem: String?)? {
        guard let range = exceptionTable else { return nil }
        // A raw Image says nothing of where its text ends: there, instructions must lie in the image data.
        let text = self.text ?? 0..<dataSize
        let where_ = self.text != nil ? "the kernel text" : "the image data"
        // Relative entries need no relocation: a relocation place inside the table is a defect.
        let low = linkBase &+ UInt64(range.lowerBound), high = linkBase &+ UInt64(range.upperBound)
        if let p = try RelrTool.relativePlaces(of: self).first(where: { $0 &+ 8 > low && $0 < high }) {
            let n = range.count / ExceptionEntry.size
            return (n, "relocation place \(hex(p)) lies inside the table (its entries are relative and must not be relocated)")
        }
        do throws(SlideError) {
            return try bytes.withView { (v) throws(SlideError) -> (Int, String?) in
                let t = try ExceptionTable(v.slice(offset: range.lowerBound, size: range.count, "__ex_table"), at: range.lowerBound)
                guard let p = t.problem(text: Int64(text.lowerBound)..<Int64(text.upperBound)) else { return (t.count, nil) }
                let at = hex(linkBase &+ UInt64(bitPattern: p.value))
                switch p.kind {
                case .unsorted: return (t.count, "entry \(p.index) (insn \(at)) is out of order: the table is not sorted")
                case .duplicate: return (t.count, "entry \(p.index) lists insn \(at) again")
                case .instructionOutsideText: return (t.count, "entry \(p.index): insn \(at) is outside \(where_)")
                case .fixupOutsideText: return (t.count, "entry \(p.index): fixup \(at) is outside \(where_)")
                }
            }
        } catch {
            throw SlideKitError(path, error)
        }
    }
}
