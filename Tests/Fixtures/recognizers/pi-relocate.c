// Linux 6.9+'s relocate_kernel shape (arch/arm64/kernel/pi/relocate.c, checked on Debian's 6.12
// and 7.2), written from its description: a RELA loop that applies R_AARCH64_RELATIVE only, then
// a RELR loop when the offset is not zero. Compiled by the tests with clang -O2 -fpie: the
// compiler chooses the registers and the code shape; the recognizer must follow them.
typedef unsigned long u64;
struct rela { u64 offset, info; long addend; };

extern const struct rela __rela_start[] __attribute__((visibility("hidden")));
extern const struct rela __rela_end[] __attribute__((visibility("hidden")));
extern const u64 __relr_start[] __attribute__((visibility("hidden")));
extern const u64 __relr_end[] __attribute__((visibility("hidden")));

void relocate_kernel(u64 offset) {
    for (const struct rela *r = __rela_start; r < __rela_end; r++) {
        if ((unsigned int)r->info != 1027)          // ELF64_R_TYPE != R_AARCH64_RELATIVE
            continue;
        *(u64 *)(r->offset + offset) = r->addend + offset;
    }
    if (!offset)
        return;
    u64 *place = 0;
    for (const u64 *relr = __relr_start; relr < __relr_end; relr++) {
        if ((*relr & 1) == 0) {
            place = (u64 *)(*relr + offset);
            *place++ += offset;
        } else {
            for (u64 *p = place, bits = *relr >> 1; bits; p++, bits >>= 1)
                if (bits & 1)
                    *p += offset;
            place += 63;
        }
    }
}
