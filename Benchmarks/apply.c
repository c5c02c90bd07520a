/* Baseline for `make bench`: the boot code's RELA loop as plain C (spec §2.4), timed the same
 * way as the Swift benchmark. Usage: apply-c IMAGE TABLE_OFFSET TABLE_SIZE LINK_BASE ITERATIONS */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static uint64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int cmp_u64(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv) {
    if (argc != 6) { fprintf(stderr, "usage: apply-c IMAGE OFFSET SIZE LINK_BASE ITERATIONS\n"); return 2; }
    FILE *f = fopen(argv[1], "rb");
    if (!f) { perror(argv[1]); return 1; }
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    /* Same allocation as the Swift side: 2 MiB-aligned, so both get the same TLB behaviour. */
    uint8_t *image, *table;
    if (posix_memalign((void **)&image, 2u << 20, (size_t)n)) { perror("posix_memalign"); return 1; }
    if (fread(image, 1, (size_t)n, f) != (size_t)n) { perror("read"); return 1; }
    fclose(f);
    size_t off = strtoull(argv[2], 0, 0), size = strtoull(argv[3], 0, 0);
    uint64_t base = strtoull(argv[4], 0, 0);
    int iterations = atoi(argv[5]);
    if (posix_memalign((void **)&table, 2u << 20, size ? size : 1)) return 1; /* a copy, as the Swift side reads */
    memcpy(table, image + off, size);
    uint64_t *samples = calloc((size_t)iterations, sizeof *samples);
    uint64_t displacement = 0x1000000, sink = 0;
    for (int it = 0; it < iterations; it++) {
        uint64_t t0 = now_ns();
        for (size_t e = 0; e + 24 <= size; e += 24) {
            uint64_t r_offset, r_info, r_addend;
            memcpy(&r_offset, table + e, 8);
            memcpy(&r_info, table + e + 8, 8);
            memcpy(&r_addend, table + e + 16, 8);
            if ((uint32_t)r_info != 1027) continue;
            uint64_t v = r_addend + displacement;
            memcpy(image + (r_offset - base), &v, 8);
        }
        samples[it] = now_ns() - t0;
        sink += image[off];
    }
    qsort(samples, (size_t)iterations, sizeof *samples, cmp_u64);
    printf("c_median_ns=%llu c_min_ns=%llu sink=%llu\n", (unsigned long long)samples[iterations / 2],
           (unsigned long long)samples[0], (unsigned long long)(sink & 1));
    return 0;
}
