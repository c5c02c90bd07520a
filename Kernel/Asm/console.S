// The console and the way out: bytes to the PL011 at its physical address (usable before
// relocation and with the MMU off), and the semihosting exit with the boot's status.

    .text
    .globl early_puts
early_puts:                             // (bytes, count) to the PL011 at its physical address
    mov     x2, #0x09000000
1:  cbz     x1, 3f
2:  ldr     w3, [x2, #0x18]
    tbnz    w3, #5, 2b
    ldrb    w3, [x0], #1
    str     w3, [x2]
    sub     x1, x1, #1
    b       1b
3:  ret

    .globl semihosting_exit
semihosting_exit:                       // SYS_EXIT_EXTENDED(ADP_Stopped_ApplicationExit, x0)
    adrp    x1, exit_block
    add     x1, x1, :lo12:exit_block
    mov     x9, #0x26
    movk    x9, #2, lsl #16             // 0x20026
    str     x9, [x1]
    str     x0, [x1, #8]
    mov     x0, #0x20                   // SYS_EXIT_EXTENDED
    hlt     #0xf000
1:  wfi
    b       1b

    .bss
    .balign 16
exit_block:
    .quad   0, 0
