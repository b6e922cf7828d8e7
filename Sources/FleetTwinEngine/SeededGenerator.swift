/// A fast, seedable random number generator (xoshiro256**), one per simulated entity.
///
/// Each entity derives its own stream from the scenario seed and a stable name (and index),
/// so adding an entity or drawing one more number for it never shifts another entity's
/// numbers. Derivation uses SplitMix64 and FNV-1a of the UTF-8 name: both are defined
/// bit-for-bit, so streams are identical on every machine and in every process (unlike
/// Swift's `Hasher`, which is seeded per process).
public struct SeededGenerator: RandomNumberGenerator, Sendable {
    private var s0, s1, s2, s3: UInt64

    public init(seed: UInt64) {
        var sm = seed
        s0 = Self.splitMix(&sm); s1 = Self.splitMix(&sm)
        s2 = Self.splitMix(&sm); s3 = Self.splitMix(&sm)
    }

    /// The generator of entity `stream` number `index` in a simulation seeded with `seed`.
    public init(seed: UInt64, stream: String, index: UInt64 = 0) {
        var h = StableHasher()
        h.combine(seed)
        h.combine(stream)
        h.combine(index)
        self.init(seed: h.value)
    }

    /// The generator's whole state, for checkpoints: restoring it continues the same stream.
    public var stateWords: [UInt64] { [s0, s1, s2, s3] }

    /// A generator continuing from `stateWords` (four words, as `stateWords` returned them).
    public init(stateWords: [UInt64]) {
        precondition(stateWords.count == 4, "a generator state is four words")
        s0 = stateWords[0]; s1 = stateWords[1]; s2 = stateWords[2]; s3 = stateWords[3]
    }

    @inlinable static func rotl(_ x: UInt64, _ k: UInt64) -> UInt64 { (x << k) | (x >> (64 - k)) }

    static func splitMix(_ state: inout UInt64) -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    public mutating func next() -> UInt64 {
        let result = Self.rotl(s1 &* 5, 7) &* 9
        let t = s1 << 17
        s2 ^= s0; s3 ^= s1; s1 ^= s2; s0 ^= s3
        s2 ^= t
        s3 = Self.rotl(s3, 45)
        return result
    }

    /// Uniform in [0, 1) with 53 random bits; exact and platform-independent.
    public mutating func nextUnitDouble() -> Double {
        Double(next() >> 11) * 0x1.0p-53
    }

    /// Uniform in (0, 1]: safe to take a logarithm of.
    public mutating func nextOpenUnitDouble() -> Double {
        Double((next() >> 11) + 1) * 0x1.0p-53
    }
}
