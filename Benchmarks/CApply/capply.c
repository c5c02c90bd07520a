#include <string.h>
#include "capply.h"

size_t c_apply_rela(const uint8_t *table, size_t size, uint8_t *image, uint64_t link_base, uint64_t displacement) {
    size_t applied = 0;
    for (size_t e = 0; e + 24 <= size; e += 24) {
        uint64_t r_offset, r_info, r_addend;
        memcpy(&r_info, table + e + 8, 8);
        if ((uint32_t)r_info != 1027) continue;
        memcpy(&r_offset, table + e, 8);
        memcpy(&r_addend, table + e + 16, 8);
        uint64_t v = r_addend + displacement;
        memcpy(image + (r_offset - link_base), &v, 8);
        applied++;
    }
    return applied;
}

size_t c_apply_relr(const uint64_t *table, size_t words, uint8_t *image, uint64_t link_base, uint64_t displacement) {
    size_t applied = 0;
    uint64_t *cursor = NULL;
    for (const uint64_t *w = table, *end = table + words; w < end; w++) {
        uint64_t word = *w;
        if (!(word & 1)) {
            uint64_t *place = (uint64_t *)(image + (word - link_base));
            *place += displacement;
            cursor = place + 1;
            applied++;
            continue;
        }
        uint64_t *p = cursor;
        for (uint64_t bits = word >> 1; bits != 0; bits >>= 1, p++) {
            if (bits & 1) {
                *p += displacement;
                applied++;
            }
        }
        cursor += 63;
    }
    return applied;
}
