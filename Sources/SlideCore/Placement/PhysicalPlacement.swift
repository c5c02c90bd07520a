// Physical randomization (beyond Linux, which randomizes the physical placement only in its EFI
// stub): with a seed, the kernel moves itself to a seed-derived, 2 MiB-aligned free place in RAM
// before it maps itself. The host computes the same choice from the same inputs.
//
// The rule, in full:
//   candidates: every 2 MiB-aligned base B (in ascending address order over the RAM ranges as
//     given) such that [B + m, B + m + imageSize) lies inside one RAM range and overlaps no
//     exclusion, where m = loadPA mod 2 MiB (the kernel keeps its 4 KiB misalignment);
//   index: the high 64 bits of mix(seed) × count (Lemire's range reduction), with
//     mix = the SplitMix64 finaliser of (seed XOR 0x7068_7973_2d6b_6173, "phys-kas");
//   result: candidate[index] + m, or no move when there is no candidate or it is the current base;
//   with 64 KiB pages, a candidate whose image would straddle a 512 MiB boundary is not one (after
//   Linux's early map, which maps the image with SWAPPER_BLOCK_SIZE blocks: 512 MiB for 64 KiB
//   pages, arch/arm64/include/asm/kernel-pgtable.h, 6.1).
// Runs before relocation: fixed-size storage, no allocation.

/// Up to `capacity` address ranges [base, end), in the order given: fixed storage, no allocation.
struct FixedRanges<let capacity: Int> {
    var base: InlineArray<capacity, UInt64> = .init(repeating: 0)
    var end: InlineArray<capacity, UInt64> = .init(repeating: 0)
    var count = 0
    var isFull: Bool { count == capacity }

    /// Appends [b, b + size), its end clamped at 2^64 - 1 (an empty range adds nothing); false
    /// when there is no room.
    mutating func add(base b: UInt64, size: UInt64) -> Bool {
        guard size > 0 else { return true }
        guard count < capacity else { return false }
        base[count] = b
        end[count] = b &+ size < b ? UInt64.max : b &+ size
        count += 1
        return true
    }
}

public struct PhysicalPlacement {
    /// 64 RAM ranges: the EFI stub offers each EFI_CONVENTIONAL_MEMORY region as one (edk2 under
    /// QEMU with 1 GiB leaves about 9 of them; fragmented firmware maps have dozens).
    public static let maxRAM = 64, maxExclusions = 16

    var ram = FixedRanges<64>()
    var exclusions = FixedRanges<16>()
    public var ramCount: Int { ram.count }
    public var exclusionCount: Int { exclusions.count }
    /// Set when more ranges were offered than fit (the extra RAM is ignored; extra exclusions make every candidate unsafe).
    public private(set) var overflowed = false

    /// The kernel's page size: 64 KiB adds the 512 MiB rule.
    public let granule: Granule

    public init(granule: Granule = .k4) { self.granule = granule }

    /// The boundary a 64 KiB-page image must not straddle.
    public static let largeBlock: UInt64 = 512 << 20

    public mutating func addRAM(base: UInt64, size: UInt64) {
        if !ram.add(base: base, size: size) { overflowed = true }
    }

    public mutating func exclude(base: UInt64, size: UInt64) {
        if !exclusions.add(base: base, size: size) { overflowed = true }
    }

    /// Calls `body(base, end)` for each RAM range, in the order given.
    public func forEachRAM(_ body: (UInt64, UInt64) -> Void) {
        for i in 0..<ram.count { body(ram.base[i], ram.end[i]) }
    }

    func free(_ start: UInt64, _ end: UInt64) -> Bool {
        for i in 0..<exclusions.count where start < exclusions.end[i] && exclusions.base[i] < end { return false }
        return true
    }

    /// Calls `body(base)` for each candidate base in order; stops when it returns false.
    func forEachCandidate(imageSize: UInt64, misalignment: UInt64, _ body: (UInt64) -> Bool) {
        guard !overflowed || !exclusions.isFull else { return }
        for r in 0..<ram.count {
            var b = (ram.base[r] &+ ImageAlignment.kernel - 1) & ~(ImageAlignment.kernel - 1)
            while b >= ram.base[r], b &+ misalignment &+ imageSize <= ram.end[r], b &+ misalignment &+ imageSize > b {
                let start = b &+ misalignment, end = start &+ imageSize
                let straddles = granule == .k64 && start / Self.largeBlock != (end - 1) / Self.largeBlock
                if !straddles && free(start, end) && !body(b) { return }
                b &+= ImageAlignment.kernel
            }
        }
    }

    public func candidateCount(imageSize: UInt64, misalignment: UInt64) -> UInt64 {
        var n: UInt64 = 0
        forEachCandidate(imageSize: imageSize, misalignment: misalignment) { _ in n += 1; return true }
        return n
    }

    public static func mix(_ seed: UInt64) -> UInt64 { SplitMix64.finalize(seed ^ 0x7068_7973_2d6b_6173) }

    /// The new physical address for an image loaded at `loadPA`, or nil to stay.
    public func choose(seed: UInt64, loadPA: UInt64, imageSize: UInt64) -> (address: UInt64, candidates: UInt64)? {
        guard let choice = pick(seed: seed, imageSize: imageSize, misalignment: loadPA & (ImageAlignment.kernel - 1)),
              choice.address != loadPA else { return nil }
        return choice
    }

    /// The candidate `seed` picks for an image `misalignment` bytes past its 2 MiB base (the rule
    /// above, without a loaded image to stay at), or nil without candidates.
    public func pick(seed: UInt64, imageSize: UInt64, misalignment m: UInt64) -> (address: UInt64, candidates: UInt64)? {
        let count = candidateCount(imageSize: imageSize, misalignment: m)
        guard count > 0 else { return nil }
        let index = Self.mix(seed).multipliedFullWidth(by: count).high
        var i: UInt64 = 0, chosen: UInt64 = 0
        forEachCandidate(imageSize: imageSize, misalignment: m) { b in
            if i == index { chosen = b; return false }
            i += 1
            return true
        }
        return (chosen &+ m, count)
    }
}
