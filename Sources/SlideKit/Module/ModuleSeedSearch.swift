// Seeds that put the Slide kernel's first module where a test wants it: every branch into the
// kernel's text within reach, none within reach, or a module_base so close below the image that
// the module must skip past it. The module boot tests and the soak draw their seeds from here;
// where a seed puts the module is SlideKASLR.firstModule, what the kernel itself computes.

import SlideCore

public enum ModuleSeedSearch {
    public enum Target: Sendable { case inRange, outOfRange, overImage }

    /// A B/BL reaches ±128 MiB (a signed 26-bit word offset: AAELF64 CALL26/JUMP26).
    public static let branchReach: UInt64 = 128 << 20
    /// Kept clear of the reach either way, so a seed is not a borderline case.
    public static let margin: UInt64 = 1 << 20

    /// The first seed from `from` on (0 skipped: it means "no seed") that puts a module of `size`
    /// bytes (laid out in pages of the kernel's `granule`) where `target` says, or nil after `tries` seeds.
    public static func firstSeed(_ target: Target, from: UInt64, tries: Int, loadPA: UInt64, image: ImageLandmarks,
                                 size: UInt64, granule: Granule) -> UInt64? {
        var seed = from == 0 ? 1 : from
        for _ in 0..<tries {
            if places(target, seed: seed, loadPA: loadPA, image: image, size: size, granule: granule) { return seed }
            seed = seed &+ 1
            if seed == 0 { seed = 1 }
        }
        return nil
    }

    /// Whether `seed` puts the module where `target` says.
    public static func places(_ target: Target, seed: UInt64, loadPA: UInt64, image: ImageLandmarks, size: UInt64, granule: Granule) -> Bool {
        let m = SlideKASLR.firstModule(seed: seed, loadPA: loadPA, image: image, size: size, granule: granule)
        let (s, e, top) = (image.stext &+ m.offset, image.etext &+ m.offset, m.address &+ size)
        let farthest = max(e > m.address ? e - m.address : 0, top > s ? top - s : 0)
        let nearest = m.address >= e ? m.address - e : s >= top ? s - top : 0
        switch target {
        case .inRange: return farthest + margin < branchReach && m.address == m.base
        case .outOfRange: return nearest > branchReach + margin
        case .overImage: return m.address != m.base
        }
    }
}
