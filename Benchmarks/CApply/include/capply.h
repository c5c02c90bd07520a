#include <stddef.h>
#include <stdint.h>
/* The baselines `make bench` compares SlideCore against, in plain C (-O2), without any checks. */

/* The boot code's RELA loop (spec §2.4): R_AARCH64_RELATIVE places overwritten with addend + displacement. */
size_t c_apply_rela(const uint8_t *table, size_t size, uint8_t *image, uint64_t link_base, uint64_t displacement);

/* RELR the way Linux 6.x's relocate_kernel (arch/arm64/kernel/pi/relocate.c) walks it: an address
 * word relocates its place and sets the cursor past it; a bitmap is shifted one bit at a time,
 * each set bit adding the displacement to the word at the cursor, then the cursor moves 63 words. */
size_t c_apply_relr(const uint64_t *table, size_t words, uint8_t *image, uint64_t link_base, uint64_t displacement);
