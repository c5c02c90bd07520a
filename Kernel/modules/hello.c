/* hello: a Slide kernel module, linked at boot by the kernel (SlideCore's ModuleLayout) from the
 * initrd. It calls exported kernel functions from its core and its init code (CALL26; a tail
 * call is a JUMP26), takes kernel addresses in every way the linker must handle (ADRP/ADD,
 * ADRP/LDR/STR, MOVZ/MOVK absolute, ABS64 data, PREL32 data) and checks that they agree.
 * init_module returns 0 when every check holds, else the bits of the checks that failed. */

extern void slide_puts(const char *s);
extern void slide_put_hex(unsigned long v);
extern unsigned long slide_lookup_symbol(const char *name);
extern unsigned long slide_virt_to_phys(unsigned long va);
extern const char slide_banner[];
extern unsigned long slide_module_counter;

/* ABS64 data against kernel symbols and module strings. */
void (*const kernel_functions[])(const char *) = { slide_puts };
const char *const greetings[] = { "hello", "from", "a module" };
const char *banner_pointer = slide_banner;

/* PREL32 data: 32-bit offsets from the field to kernel and module symbols (like __ksymtab). */
extern const int relative_table[3];
__asm__(".section .rodata.relative, \"a\"\n"
        ".balign 4\n"
        ".globl relative_table\n"
        "relative_table:\n"
        ".long slide_puts - .\n"
        ".long slide_banner - .\n"
        ".long greetings - .\n"
        ".text\n");

static unsigned long calls; /* .bss */

static unsigned long at(const int *field) { return (unsigned long)field + (long)*field; }

/* A tail call into the kernel: JUMP26. */
__attribute__((noinline)) void say(const char *s) {
    calls++;
    slide_puts(s);
}

/* The banner's address through MOVZ/MOVK (R_AARCH64_MOVW_UABS_G3 .. G0_NC). */
__attribute__((noinline)) unsigned long banner_by_movw(void) {
    unsigned long v;
    __asm__("movz %0, #:abs_g3:slide_banner\n\t"
            "movk %0, #:abs_g2_nc:slide_banner\n\t"
            "movk %0, #:abs_g1_nc:slide_banner\n\t"
            "movk %0, #:abs_g0_nc:slide_banner" : "=r"(v));
    return v;
}

/* Core code: checks that run from .text (CALL26 from the core region). */
__attribute__((noinline)) int check_core(void) {
    int failed = 0;
    if (slide_lookup_symbol("slide_puts") != (unsigned long)&slide_puts) failed |= 1 << 0;      /* ADRP/ADD vs ksymtab */
    if ((unsigned long)kernel_functions[0] != (unsigned long)&slide_puts) failed |= 1 << 1;     /* ABS64 */
    if (at(&relative_table[0]) != (unsigned long)&slide_puts) failed |= 1 << 2;                 /* PREL32 */
    if (at(&relative_table[1]) != (unsigned long)slide_banner) failed |= 1 << 3;
    if (at(&relative_table[2]) != (unsigned long)greetings) failed |= 1 << 4;
    if (banner_by_movw() != (unsigned long)slide_banner || banner_pointer != slide_banner) failed |= 1 << 5;
    if (slide_banner[0] != 'S') failed |= 1 << 6;
    if (slide_virt_to_phys((unsigned long)&slide_module_counter) == ~0ul) failed |= 1 << 7;
    return failed;
}

__attribute__((section(".init.text"))) int init_module(void) {
    slide_puts("slide: hello_says=");           /* CALL26 from the init region */
    for (int i = 0; i < 3; i++) {
        slide_puts(greetings[i]);
        slide_puts(i < 2 ? " " : "\n");
    }
    int failed = check_core();
    say("slide: hello_checks=");
    slide_put_hex((unsigned long)failed);
    slide_puts("\n");
    slide_module_counter += calls + 1;          /* ADRP/LDR/STR of kernel data */
    return failed;
}
