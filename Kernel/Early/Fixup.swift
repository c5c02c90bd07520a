// slide_fixup: the exception vector's first step. A data abort at an instruction the relative
// __ex_table lists resumes at its fixup instead of ending the boot (Linux: fixup_exception in
// arch/arm64/mm/extable.c, for copy_from_kernel_nofault and the uaccess routines).
//
// Runs before or after relocation, at the physical or the virtual address: it reaches the table
// and the image start PC-relatively (Asm/vectors.S's extable_bounds) and reads only their bytes, so it
// is a relacheck root. The table needs no relocation: its fields are relative to themselves.

/// Words of the exception frame (Asm/vectors.S): x0-x30 at 0-30, ELR at 31.
let frameELR = 31

/// The ESR_EL1 exception class of a data abort taken without a change of exception level
/// (Arm ARM D17.2.37, EC 0b100101).
let dataAbortSameEL: UInt64 = 0x25

@c(slide_fixup)
func slideFixup(_ frame: UnsafeMutablePointer<UInt64>, _ esr: UInt64) -> UInt64 {
    guard (esr >> 26) & 0x3f == dataAbortSameEL else { return 0 }
    var bounds: (UInt64, UInt64, UInt64) = (0, 0, 0)
    extableBounds(&bounds)
    let (start, end, image) = bounds
    guard end >= start, let table = try? ExceptionTable(ByteView(start: UnsafeRawPointer(bitPattern: UInt(start)), count: Int(end - start)),
                                                       at: Int(start &- image)) else { return 0 }
    guard let entry = table.lookup(Int64(bitPattern: frame[frameELR] &- image)) else { return 0 }
    switch entry.type {
    case .fixup:
        break
    case .accessErrorZero:
        if entry.errorRegister != 31 { frame[entry.errorRegister] = ExceptionEntry.faultError }
        if entry.zeroRegister != 31 { frame[entry.zeroRegister] = 0 }
    default:
        return 0
    }
    frame[frameELR] = image &+ UInt64(bitPattern: entry.fixup)
    bootInfo().pointee.extableFixups += 1
    return 1
}
