/// FNV-1a, 64 bit: a hash defined bit-for-bit, for event-log fingerprints and generator
/// derivation. Unlike `Hasher` it is the same in every process and on every machine.
/// It detects divergence; it is not meant to resist deliberate collisions.
public struct StableHasher: Sendable {
    public private(set) var value: UInt64 = 0xCBF2_9CE4_8422_2325
    private static let prime: UInt64 = 0x0000_0100_0000_01B3

    public init() {}

    @inline(__always)
    mutating func combineByte(_ byte: UInt8) {
        value = (value ^ UInt64(byte)) &* Self.prime
    }

    /// Combines the 8 bytes of `word`, little-endian.
    public mutating func combine(_ word: UInt64) {
        var w = word
        for _ in 0..<8 {
            combineByte(UInt8(truncatingIfNeeded: w))
            w >>= 8
        }
    }

    public mutating func combine(_ word: Int64) { combine(UInt64(bitPattern: word)) }
    public mutating func combine(_ word: Int) { combine(UInt64(bitPattern: Int64(word))) }

    /// Combines the UTF-8 bytes of `string` followed by its length, so "ab"+"c" != "a"+"bc".
    public mutating func combine(_ string: String) {
        var count: UInt64 = 0
        for byte in string.utf8 { combineByte(byte); count += 1 }
        combine(count)
    }

    /// Combines every byte of `bytes` followed by their count.
    public mutating func combine(bytes: some Sequence<UInt8>) {
        var count: UInt64 = 0
        for byte in bytes { combineByte(byte); count += 1 }
        combine(count)
    }

    /// Lower-case hexadecimal, 16 digits.
    public var hex: String {
        let digits = String(value, radix: 16)
        return String(repeating: "0", count: 16 - digits.count) + digits
    }
}
