// System registers for Swift: each routine reads one (the ID registers, RNDR, the generic
// timer, MPIDR, TCR, SCTLR).

    .text
    .globl read_cntfrq
read_cntfrq:
    mrs     x0, cntfrq_el0
    ret

    .globl read_mpidr
read_mpidr:
    mrs     x0, mpidr_el1
    ret

    .globl read_tcr
read_tcr:
    mrs     x0, tcr_el1
    ret

    .globl read_id_aa64isar0
read_id_aa64isar0:
    mrs     x0, id_aa64isar0_el1
    ret

    .globl read_id_aa64mmfr0
read_id_aa64mmfr0:
    mrs     x0, id_aa64mmfr0_el1
    ret

    .globl read_rndr
read_rndr:                              // x0 → ok flag; returns the random value
    mrs     x1, s3_3_c2_c4_0            // RNDR
    cset    x2, ne                      // NZCV.Z clear on success
    str     x2, [x0]
    mov     x0, x1
    ret

    .globl read_cntvct
read_cntvct:
    isb
    mrs     x0, cntvct_el0
    ret

    .globl read_sctlr
read_sctlr:
    mrs     x0, sctlr_el1
    ret
