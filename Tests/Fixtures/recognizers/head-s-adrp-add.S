// Linux 5.11–6.8's __relocate_kernel shape (arch/arm64/kernel/head.S, checked on Debian's 6.1):
// bounds with adr_l (ADRP/ADD), the run-time offset in x23, RELA records read with ldp, then RELR.
#include "common.S"

#include "head-s-adrp-add-routine.S"
