/// A point or span of simulated time in integer microseconds.
///
/// Integer time keeps event ordering exact and identical on every machine; microseconds
/// cover ±292,000 years, far beyond any trace.
public struct VirtualTime: Hashable, Comparable, Sendable, CustomStringConvertible {
    public var microseconds: Int64

    @inlinable public init(microseconds: Int64) { self.microseconds = microseconds }

    public static let zero = VirtualTime(microseconds: 0)
    public static let microsecondsPerSecond: Int64 = 1_000_000

    @inlinable public static func seconds(_ s: Int64) -> VirtualTime {
        VirtualTime(microseconds: s * microsecondsPerSecond)
    }

    /// The latest instant a simulation may reach: about 146,000 years, half of Int64's
    /// range so that adding two times never overflows.
    public static let limit = VirtualTime(microseconds: Int64.max / 2)

    /// Rounds to the nearest microsecond (ties away from zero, as `Double.rounded()` does),
    /// saturating at ±`limit` (and NaN at zero) instead of trapping: generated durations
    /// from heavy-tailed distributions can exceed any representable time.
    @inlinable public static func seconds(_ s: Double) -> VirtualTime {
        let us = (s * Double(microsecondsPerSecond)).rounded()
        guard !us.isNaN else { return .zero }
        return VirtualTime(microseconds: Int64(max(-Double(limit.microseconds), min(Double(limit.microseconds), us))))
    }

    @inlinable public var seconds: Double { Double(microseconds) / Double(Self.microsecondsPerSecond) }

    @inlinable public static func < (a: VirtualTime, b: VirtualTime) -> Bool { a.microseconds < b.microseconds }
    @inlinable public static func + (a: VirtualTime, b: VirtualTime) -> VirtualTime {
        VirtualTime(microseconds: a.microseconds + b.microseconds)
    }
    @inlinable public static func - (a: VirtualTime, b: VirtualTime) -> VirtualTime {
        VirtualTime(microseconds: a.microseconds - b.microseconds)
    }
    @inlinable public static func += (a: inout VirtualTime, b: VirtualTime) { a.microseconds += b.microseconds }

    /// Compact human form: `1d2h`, `3h05m`, `42.5s`.
    public var description: String {
        let us = microseconds
        let sign = us < 0 ? "-" : ""
        let a = us.magnitude
        let s = a / 1_000_000
        if s >= 86_400 { return "\(sign)\(s / 86_400)d\(s % 86_400 / 3600)h" }
        if s >= 3600 { return "\(sign)\(s / 3600)h\(pad2(s % 3600 / 60))m" }
        if s >= 60 { return "\(sign)\(s / 60)m\(pad2(s % 60))s" }
        let frac = a % 1_000_000
        if frac == 0 { return "\(sign)\(s)s" }
        return "\(sign)\(Double(a) / 1_000_000)s"
    }
}

@usableFromInline func pad2(_ v: UInt64) -> String { v < 10 ? "0\(v)" : "\(v)" }

extension Int64 {
    /// `self * other`, clamped to `Int64.min ... Int64.max` instead of trapping: for
    /// accelerator-time (accelerators x microseconds), whose factors the parser bounds one
    /// by one but a very slow job's run can still multiply past 64 bits.
    @inlinable public func saturatingMultiplied(by other: Int64) -> Int64 {
        let (product, overflow) = multipliedReportingOverflow(by: other)
        guard overflow else { return product }
        return (self < 0) == (other < 0) ? .max : .min
    }

    /// `self + other`, clamped to `Int64.min ... Int64.max` instead of trapping.
    @inlinable public func saturatingAdding(_ other: Int64) -> Int64 {
        let (sum, overflow) = addingReportingOverflow(other)
        guard overflow else { return sum }
        return other > 0 ? .max : .min
    }
}
