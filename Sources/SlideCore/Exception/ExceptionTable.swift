// The relative exception table (`__ex_table`): where a faulting instruction may resume.
//
// Layout as Linux 6.1 (arch/arm64/include/asm/asm-extable.h, struct exception_table_entry in
// arch/arm64/include/asm/extable.h): 12-byte entries, each
//     s32 insn  (address of the instruction that may fault, minus the field's own address)
//     s32 fixup (address to resume at, minus the field's own address)
//     s16 type, s16 data
// sorted by insn address at build time (Linux: scripts/sorttable; Slide: `slide mkimage`). Being
// relative, the table reads the same at any load address and needs no boot relocation: none of
// its words is a relocation place. The host (mkimage, inspect, verify) and the kernel's exception
// vector use this one reader; lookups bisect.

/// `type` values (asm-extable.h, Linux 6.1).
public struct ExceptionFixupType: RawRepresentable, Equatable, Sendable {
    public var rawValue: UInt16
    public init(rawValue: UInt16) { self.rawValue = rawValue }
    public static let none = ExceptionFixupType(rawValue: 0)
    /// EX_TYPE_FIXUP: resume at the fixup.
    public static let fixup = ExceptionFixupType(rawValue: 1)
    public static let bpf = ExceptionFixupType(rawValue: 2)
    /// EX_TYPE_UACCESS_ERR_ZERO: write -EFAULT to the error register, 0 to the zero register, resume.
    public static let accessErrorZero = ExceptionFixupType(rawValue: 3)
    public static let loadUnalignedZeroPad = ExceptionFixupType(rawValue: 4)
}

public struct ExceptionEntry: Equatable {
    public static let size = 12
    /// Image offsets of the instruction and of its fixup (entry field address + stored delta).
    public var instruction: Int64
    public var fixup: Int64
    public var type: ExceptionFixupType
    public var data: UInt16

    public init(instruction: Int64, fixup: Int64, type: ExceptionFixupType, data: UInt16) {
        self.instruction = instruction; self.fixup = fixup; self.type = type; self.data = data
    }

    /// EX_TYPE_UACCESS_ERR_ZERO's registers: data bits 0-4 (error) and 5-9 (zero), asm-extable.h.
    public var errorRegister: Int { Int(data & 0x1f) }
    public var zeroRegister: Int { Int((data >> 5) & 0x1f) }

    /// -EFAULT, what EX_TYPE_UACCESS_ERR_ZERO writes to the error register.
    public static let faultError: UInt64 = 0 &- 14
}

/// The table over its bytes; `offset` is where the bytes start in the image (the fields are
/// relative to their own image offsets).
public struct ExceptionTable {
    public let bytes: ByteView
    public let offset: Int
    public var count: Int { bytes.count / ExceptionEntry.size }

    public init(_ bytes: ByteView, at offset: Int) throws(SlideError) {
        guard bytes.count % ExceptionEntry.size == 0 else {
            throw .misaligned("__ex_table size", value: UInt64(bytes.count), alignment: UInt64(ExceptionEntry.size))
        }
        self.bytes = bytes
        self.offset = offset
    }

    public subscript(i: Int) -> ExceptionEntry {
        let o = i * ExceptionEntry.size
        let insn = Int64(Int32(bitPattern: bytes.u32Unchecked(at: o))), fixup = Int64(Int32(bitPattern: bytes.u32Unchecked(at: o + 4)))
        let typeAndData = bytes.u32Unchecked(at: o + 8)
        return ExceptionEntry(instruction: Int64(offset + o) + insn, fixup: Int64(offset + o + 4) + fixup,
                              type: ExceptionFixupType(rawValue: UInt16(truncatingIfNeeded: typeAndData)),
                              data: UInt16(truncatingIfNeeded: typeAndData >> 16))
    }

    /// The entry for the instruction at image offset `instruction`, by bisection (the table is sorted).
    public func lookup(_ instruction: Int64) -> ExceptionEntry? {
        var low = 0, high = count
        while low < high {
            let mid = low + (high - low) / 2
            let e = self[mid]
            if e.instruction == instruction { return e }
            if e.instruction < instruction { low = mid + 1 } else { high = mid }
        }
        return nil
    }

    /// The first problem of the table, or nil: sorted, no instruction twice, every instruction and
    /// fixup inside `text` (image offsets).
    public func problem(text: Range<Int64>) -> ExceptionTableProblem? {
        var previous: Int64? = nil
        for i in 0..<count {
            let e = self[i]
            if let p = previous, e.instruction < p { return ExceptionTableProblem(kind: .unsorted, index: i, value: e.instruction) }
            if let p = previous, e.instruction == p { return ExceptionTableProblem(kind: .duplicate, index: i, value: e.instruction) }
            if !text.contains(e.instruction) { return ExceptionTableProblem(kind: .instructionOutsideText, index: i, value: e.instruction) }
            if !text.contains(e.fixup) { return ExceptionTableProblem(kind: .fixupOutsideText, index: i, value: e.fixup) }
            previous = e.instruction
        }
        return nil
    }

    /// Sorts the entries in place by instruction address, rewriting each relative field for its
    /// new position; throws when a moved field no longer fits 32 bits. Insertion sort: the
    /// kernel's table is short and mostly sorted by the linker already.
    public static func sort(_ bytes: MutableByteView, at offset: Int) throws(SlideError) -> Int {
        let table = try ExceptionTable(bytes.readOnly, at: offset)
        let n = table.count
        var i = 1
        while i < n {
            let e = table[i]
            var j = i
            while j > 0, table[j - 1].instruction > e.instruction {
                try write(table[j - 1], to: bytes, index: j, offset: offset)
                j -= 1
            }
            if j != i { try write(e, to: bytes, index: j, offset: offset) }
            i += 1
        }
        return n
    }

    /// Writes `e` as entry `index` of a table at image offset `offset`.
    public static func write(_ e: ExceptionEntry, to bytes: MutableByteView, index: Int, offset: Int) throws(SlideError) {
        let o = index * ExceptionEntry.size
        let insn = e.instruction - Int64(offset + o), fixup = e.fixup - Int64(offset + o + 4)
        guard let a = Int32(exactly: insn) else { throw .outOfRange("__ex_table insn delta", value: UInt64(bitPattern: insn), low: 0, high: UInt64(Int32.max)) }
        guard let b = Int32(exactly: fixup) else { throw .outOfRange("__ex_table fixup delta", value: UInt64(bitPattern: fixup), low: 0, high: UInt64(Int32.max)) }
        try bytes.setU32(UInt32(bitPattern: a), at: o)
        try bytes.setU32(UInt32(bitPattern: b), at: o + 4)
        try bytes.setU32(UInt32(e.type.rawValue) | UInt32(e.data) << 16, at: o + 8)
    }
}

public struct ExceptionTableProblem: Equatable {
    public enum Kind: Equatable { case unsorted, duplicate, instructionOutsideText, fixupOutsideText }
    public var kind: Kind
    public var index: Int
    /// The instruction or fixup image offset at fault.
    public var value: Int64
}
