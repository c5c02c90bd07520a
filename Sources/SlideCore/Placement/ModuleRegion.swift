// The module region, randomized with the kernel (docs/linux-kaslr.md, Linux 6.1 kaslr.c with
// RANDOMIZE_MODULE_REGION_FULL): a 2 GiB window that always covers the kernel image, so 32-bit
// PC-relative references between modules and the kernel fit; calls may need PLTs.
//
// Linux draws the 21-bit fraction from get_random_u32(); Slide derives it from the KASLR seed
// (low 21 bits of mix(seed XOR "modules!")) so the host can predict the base from the same inputs.

public enum ModuleRegion {
    /// MODULES_VADDR = PAGE_END for VA_BITS_MIN 48.
    public static let modulesVaddr: UInt64 = 0xffff_8000_0000_0000
    public static let window: UInt64 = 2 << 30

    /// The 21-bit fraction derived from the seed.
    public static func fraction(seed: UInt64) -> UInt64 {
        PhysicalPlacement.mix(seed ^ 0x2173_656c_7564_6f6d) & 0x1f_ffff
    }

    /// module_alloc_base for a kernel with pages of `page` bytes whose `_stext`, `_etext` and
    /// `_end` are at these run-time VAs.
    public static func base(randomized: Bool, fraction: UInt64, stext: UInt64, etext: UInt64, end: UInt64, page: UInt64) -> UInt64 {
        guard randomized else { return (etext &- (128 << 20)) & ~(page &- 1) } // the kernel's own 128 MiB below _etext
        return fullWindowBase(stext: stext, end: end, modulesVaddr: modulesVaddr, fraction: fraction, page: page)
    }

    /// Linux's RANDOMIZE_MODULE_REGION_FULL base (arch/arm64/kernel/kaslr.c, 5.10 and 6.1): the
    /// 2 GiB window's start, max(_end - 2 GiB, MODULES_VADDR), moved up by the 21-bit `fraction` of
    /// the room the image leaves in it, aligned down to the kernel's page (`&= PAGE_MASK`). The
    /// Slide kernel and SlideCore's 5.10 and 6.1 models (LinuxKASLR.FullModuleWindow) share it.
    public static func fullWindowBase(stext: UInt64, end: UInt64, modulesVaddr: UInt64, fraction: UInt64, page: UInt64) -> UInt64 {
        let range = window &- (end &- stext)
        return (max(end &- window, modulesVaddr) &+ ((range &* fraction) >> 21)) & ~(page &- 1)
    }

    /// Where a module of `size` bytes goes when the next free module address is `cursor`: there,
    /// unless it would overlap the kernel image mapped inside the window ([imageStart, imageEnd)),
    /// in which case on the first page (of `page` bytes) past the image — as Linux's vmalloc skips
    /// the image's vm area.
    public static func place(cursor: UInt64, size: UInt64, imageStart: UInt64, imageEnd: UInt64, page: UInt64) -> UInt64 {
        cursor < imageEnd && cursor &+ size > imageStart ? (imageEnd &+ page &- 1) & ~(page &- 1) : cursor
    }
}
