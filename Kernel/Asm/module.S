// The call into a loaded module (Late/Modules.swift).

    .text
    .globl slide_call_init
slide_call_init:                        // x0 = a module's init function: returns its int
    stp     x29, x30, [sp, #-16]!
    mov     x29, sp
    blr     x0
    ldp     x29, x30, [sp], #16
    ret
