#include <stddef.h>
#include <stdint.h>
/* The boot code's RELA loop as plain C (spec §2.4): the baseline `make bench` compares against. */
size_t c_apply_rela(const uint8_t *table, size_t size, uint8_t *image, uint64_t link_base, uint64_t displacement);
