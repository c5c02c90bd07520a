/* The Slide kernel's C runtime: what Embedded Swift's runtime expects from its platform
 * (posix_memalign, free, memset, memcpy, memmove, putchar: the symbols an Embedded Swift
 * program links against), a bump allocator
 * over a static heap, the PL011 console and semihosting exit. Runs after relocation only. */
#include <stddef.h>
#include <stdint.h>

/* Swift keeps flags in the top bits of object pointers (BridgeObject), so heap objects must
 * not live at kernel VAs (0xffff...). The heap is handed out through its physical alias, which
 * the late identity map (TTBR0) keeps mapped read-write, never executable. */
#define HEAP_SIZE (1u << 20)
#ifndef PAGE_SIZE
#define PAGE_SIZE 4096 /* Kernel/build.sh --granule */
#endif
uint8_t slide_heap[HEAP_SIZE] __attribute__((aligned(PAGE_SIZE)));
static uint64_t slide_heap_alias_delta; /* VA - PA of the image: set by kernel_main before any allocation */
static size_t heap_used;

/* Memory for modules (Kernel/Late/Modules.swift): written through the linear map, mapped at the
 * module region's addresses with per-part permissions. */
uint8_t slide_module_pool[64u * PAGE_SIZE] __attribute__((aligned(PAGE_SIZE))); /* modulePoolSize */

void slide_set_heap_alias(uint64_t delta) { slide_heap_alias_delta = delta; }

int posix_memalign(void **out, size_t alignment, size_t size) {
    if (alignment < 16) alignment = 16;
    size_t start = (heap_used + alignment - 1) & ~(alignment - 1);
    if (start + size > HEAP_SIZE) return 12; /* ENOMEM */
    heap_used = start + size;
    *out = (void *)((uintptr_t)(slide_heap + start) - slide_heap_alias_delta);
    return 0;
}

void free(void *p) { (void)p; } /* a bump allocator: the kernel's report allocates little */

/* 8 bytes at a time while both ends are 8-byte aligned (module regions, page tables), then bytes:
 * this file is built for strict alignment, so the word loop only sees aligned addresses. */
void *memset(void *d, int c, size_t n) {
    uint8_t *p = d;
    if ((((uintptr_t)p | n) & 7) == 0) {
        uint64_t v = 0x0101010101010101ull * (uint8_t)c;
        for (uint64_t *w = d; n; n -= 8) *w++ = v;
        return d;
    }
    while (n--) *p++ = (uint8_t)c;
    return d;
}

void *memcpy(void *d, const void *s, size_t n) {
    uint8_t *dp = d;
    const uint8_t *sp = s;
    if ((((uintptr_t)dp | (uintptr_t)sp) & 7) == 0) {
        uint64_t *dw = d;
        const uint64_t *sw = s;
        for (; n >= 8; n -= 8) *dw++ = *sw++;
        dp = (uint8_t *)dw;
        sp = (const uint8_t *)sw;
    }
    while (n--) *dp++ = *sp++;
    return d;
}

void *memmove(void *d, const void *s, size_t n) {
    uint8_t *dp = d;
    const uint8_t *sp = s;
    if (dp < sp) { while (n--) *dp++ = *sp++; }
    else { dp += n; sp += n; while (n--) *--dp = *--sp; }
    return d;
}

int memcmp(const void *a, const void *b, size_t n) {
    const uint8_t *x = a, *y = b;
    for (; n; n--, x++, y++) if (*x != *y) return *x - *y;
    return 0;
}

size_t strlen(const char *s) { size_t n = 0; while (s[n]) n++; return n; }

/* PL011 on QEMU virt, reached through the identity map (TTBR0). */
#define UART0 ((volatile uint32_t *)0x09000000)
int putchar(int c) {
    while (UART0[0x18 / 4] & (1u << 5)) { } /* FR.TXFF */
    UART0[0] = (uint32_t)c;
    return c;
}

void arc4random_buf(void *buf, size_t n) { memset(buf, 0x5a, n); }
