// SplitMix64 (Steele, Lea and Flood, "Fast splittable pseudorandom number generators", OOPSLA
// 2014): the generator the tests and the soak draw from, and its finaliser, which physical
// randomization and the module region use to spread a seed's bits.

public struct SplitMix64: Sendable {
    public var state: UInt64

    public init(seed: UInt64) { state = seed }

    public mutating func next() -> UInt64 {
        state &+= 0x9e37_79b9_7f4a_7c15
        return Self.finalize(state)
    }

    /// A value in [0, n) (Lemire's multiply-shift reduction); 0 when n is 0.
    public mutating func below(_ n: UInt64) -> UInt64 { next().multipliedFullWidth(by: n).high }

    /// The finaliser: every input bit affects every output bit.
    public static func finalize(_ x: UInt64) -> UInt64 {
        var z = x
        z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
        z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
        return z ^ (z >> 31)
    }
}
