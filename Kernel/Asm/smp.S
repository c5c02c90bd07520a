// Secondary CPUs (Late/Smp.swift): their entry, the PSCI call that starts them, their check-in,
// and where they rest.

#include "boot-steps.h"

    .text
    // Secondary CPUs (PSCI CPU_ON, from Smp.swift): entered at the physical address of
    // secondary_entry with the MMU off, x0 = the CPU's index. Same steps as the boot CPU, minus
    // everything done once: EL1, FP/SIMD, a stack of its own, the boot CPU's tables and TCR from
    // smp_block, the MMU on, then secondary_main at its virtual address.
    .globl secondary_entry
secondary_entry:
    mov     x19, x0
    drop_to_el1
    mov     x9, #(3 << 20)              // CPACR_EL1.FPEN
    msr     cpacr_el1, x9
    adr     x9, vectors
    msr     vbar_el1, x9
    adrp    x9, secondary_stacks        // stack: CPU i uses the 16 KiB below secondary_stacks + i * 16 KiB
    add     x9, x9, :lo12:secondary_stacks
    add     x9, x9, x19, lsl #14
    mov     sp, x9
    adrp    x10, smp_block              // {TCR, TTBR0 (boot identity), TTBR1, secondary_main VA, kimage_voffset}
    add     x10, x10, :lo12:smp_block
    ldr     x1, [x10, #SMP_BLOCK_TCR]
    ldr     x2, [x10, #SMP_BLOCK_TTBR0]
    ldr     x3, [x10, #SMP_BLOCK_TTBR1]
    ldr     x4, [x10, #SMP_BLOCK_ENTRY]
    ldr     x5, [x10, #SMP_BLOCK_KIMAGE_VOFFSET]
    enable_mmu x1, x2, x3               // the boot CPU's TCR and tables
    ldr     x9, =vectors                // relocated by the boot CPU: the virtual address
    msr     vbar_el1, x9
    isb
    add     sp, sp, x5                  // the same stack through the kernel mapping
    mov     x0, x19
    br      x4                          // secondary_main(index): never returns
    .ltorg

    .globl psci_call
psci_call:                              // psci_call(function, a1, a2, a3, use SMC) → x0 (SMCCC)
    cbnz    x4, 1f
    hvc     #0
    ret
1:  smc     #0
    ret

    .globl smp_check_in
smp_check_in:                           // cpus_online += 1 (exclusive access: the MMU is on), then SEV
    adrp    x1, cpus_online
    add     x1, x1, :lo12:cpus_online
1:  ldaxr   x2, [x1]
    add     x2, x2, #1
    stlxr   w3, x2, [x1]
    cbnz    w3, 1b
    sev
    ret

    .globl smp_cpus_online
smp_cpus_online:                        // → cpus_online (acquire)
    adrp    x1, cpus_online
    add     x1, x1, :lo12:cpus_online
    ldar    x0, [x1]
    ret

    .globl smp_block_address
smp_block_address:
    adrp    x0, smp_block
    add     x0, x0, :lo12:smp_block
    ret

    .globl secondary_entry_address
secondary_entry_address:                // → secondary_entry as we run (the boot CPU: its VA)
    adrp    x0, secondary_entry
    add     x0, x0, :lo12:secondary_entry
    ret

    .globl secondary_main_address
secondary_main_address:                 // → secondary_main (Smp.swift) as we run
    adrp    x0, secondary_main
    add     x0, x0, :lo12:secondary_main
    ret

    .globl park
park:                                   // a secondary CPU's rest
    wfe
    b       park

    .bss
    .balign 16
cpus_online:
    .quad   0
smp_block:                              // SmpBlock (Shared/BootABI.swift)
    .zero   SMP_BLOCK_SIZE
    .balign PAGE_SIZE
secondary_stacks:                       // 8 secondaries, 16 KiB each (Smp.swift starts at most 8)
    .zero   16 * 1024 * 8
