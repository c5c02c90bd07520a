// Exceptions: the vector table, the frame slide_fixup (Early/Fixup.swift) reads, and the guarded
// read whose __ex_table entry lets a fault resume. Position independent: the vectors run before
// and after relocation.

    .equ    FRAME_SIZE, 256             // the exception frame: x0-x30 and ELR, 8 bytes each (Early/Fixup.swift)

    .section .text.boot, "ax"
    // Exception vectors (Arm ARM D1.10.2): 16 entries of 0x80 bytes. A fault at an instruction
    // the relative __ex_table lists resumes at its fixup (slide_fixup, with SlideCore's table);
    // anything else is reported and ends the boot (exit 4).
    .balign 2048
    .globl vectors
vectors:
    .rept   16
    .balign 128
    b       exception
    .endr
exception:
    sub     sp, sp, #FRAME_SIZE         // the frame slide_fixup reads and changes: x0-x30, ELR
    stp     x0, x1, [sp, #0]
    stp     x2, x3, [sp, #16]
    stp     x4, x5, [sp, #32]
    stp     x6, x7, [sp, #48]
    stp     x8, x9, [sp, #64]
    stp     x10, x11, [sp, #80]
    stp     x12, x13, [sp, #96]
    stp     x14, x15, [sp, #112]
    stp     x16, x17, [sp, #128]
    stp     x18, x19, [sp, #144]
    stp     x20, x21, [sp, #160]
    stp     x22, x23, [sp, #176]
    stp     x24, x25, [sp, #192]
    stp     x26, x27, [sp, #208]
    stp     x28, x29, [sp, #224]
    mrs     x9, elr_el1
    stp     x30, x9, [sp, #240]         // x30, then ELR at frame word 31
    mov     x0, sp
    mrs     x1, esr_el1
    bl      slide_fixup                 // 1: the frame now resumes at the fixup (SlideEarly)
    cbz     x0, 1f
    ldp     x30, x9, [sp, #240]
    msr     elr_el1, x9
    ldp     x0, x1, [sp, #0]
    ldp     x2, x3, [sp, #16]
    ldp     x4, x5, [sp, #32]
    ldp     x6, x7, [sp, #48]
    ldp     x8, x9, [sp, #64]
    ldp     x10, x11, [sp, #80]
    ldp     x12, x13, [sp, #96]
    ldp     x14, x15, [sp, #112]
    ldp     x16, x17, [sp, #128]
    ldp     x18, x19, [sp, #144]
    ldp     x20, x21, [sp, #160]
    ldp     x22, x23, [sp, #176]
    ldp     x24, x25, [sp, #192]
    ldp     x26, x27, [sp, #208]
    ldp     x28, x29, [sp, #224]
    add     sp, sp, #FRAME_SIZE
    eret
1:  mrs     x0, esr_el1
    mrs     x1, elr_el1
    mrs     x2, far_el1
    mov     x3, sp                      // the frame: the registers at the fault
    bl      slide_exception             // the crash report (SlideEarly: position independent)
    mov     x0, #4
    b       semihosting_exit

    .text
    // slide_read_u64_nofault(address, out) -> 0, or -EFAULT when the load faults: the guarded
    // access (Linux: copy_from_kernel_nofault). Its __ex_table entry (EX_TYPE_UACCESS_ERR_ZERO,
    // error register x0, zero register x3) makes a fault resume at 1 with x0 = -EFAULT, x3 = 0.
    .globl slide_read_u64_nofault
slide_read_u64_nofault:
    mov     x2, x1
0:  ldr     x3, [x0]
    mov     x0, #0
1:  str     x3, [x2]
    ret
    .pushsection __ex_table, "a"
    .balign 4
    .long   0b - .                      // insn - .
    .long   1b - .                      // fixup - .
    .short  3                           // EX_TYPE_UACCESS_ERR_ZERO
    .short  (0 | 3 << 5)                // error register x0, zero register x3
    .popsection

    .globl extable_bounds
extable_bounds:                         // x0 → [__start___ex_table, __stop___ex_table, _head], as we run
    adrp    x1, __start___ex_table
    add     x1, x1, :lo12:__start___ex_table
    str     x1, [x0]
    adrp    x1, __stop___ex_table
    add     x1, x1, :lo12:__stop___ex_table
    str     x1, [x0, #8]
    adrp    x1, _head
    str     x1, [x0, #16]
    ret
