import FleetTwinMetrics
import Foundation

/// How closely a replay reproduces what a trace recorded: the recorded and simulated
/// distributions of queueing delay and job completion time over the jobs that have both,
/// and the two-sample Kolmogorov-Smirnov distance between them (0: identical
/// distributions, 1: disjoint).
public struct Fidelity: Codable, Sendable, Equatable {
    /// Absent (null in JSON) when no job has both a recorded and a simulated value.
    public struct Comparison: Codable, Sendable, Equatable {
        @NullEncoded public var recorded: Distribution?
        @NullEncoded public var simulated: Distribution?
        @NullEncoded public var ksDistance: Double?
    }

    /// Jobs with a recorded start and end that the simulation completed.
    public var jobs: Int
    public var queueDelay: Comparison
    public var jct: Comparison

    /// `recorded` and `simulated` are (queue delay, JCT) pairs in seconds, for the same jobs.
    public init(recorded: [(delay: Double, jct: Double)], simulated: [(delay: Double, jct: Double)]) {
        jobs = recorded.count
        func compare(_ a: [Double], _ b: [Double]) -> Comparison {
            Comparison(recorded: Distribution(seconds: a), simulated: Distribution(seconds: b),
                       ksDistance: a.isEmpty || b.isEmpty ? nil : Self.ks(a, b))
        }
        queueDelay = compare(recorded.map(\.delay), simulated.map(\.delay))
        jct = compare(recorded.map(\.jct), simulated.map(\.jct))
    }

    /// sup |F_a(x) - F_b(x)| over the pooled sample.
    public static func ks(_ a: [Double], _ b: [Double]) -> Double {
        guard !a.isEmpty, !b.isEmpty else { return 0 }
        let x = a.sorted(), y = b.sorted()
        var i = 0, j = 0, distance = 0.0
        while i < x.count || j < y.count {
            let next = min(i < x.count ? x[i] : .infinity, j < y.count ? y[j] : .infinity)
            while i < x.count && x[i] == next { i += 1 }
            while j < y.count && y[j] == next { j += 1 }
            distance = max(distance, abs(Double(i) / Double(x.count) - Double(j) / Double(y.count)))
        }
        return distance
    }

    public func table() -> String {
        func row(_ name: String, _ d: Distribution?) -> String {
            name.padding(toLength: 22, withPad: " ", startingAt: 0)
                + (d.map { d in [d.mean, d.p50, d.p95, d.p99].map { duration($0).padding(toLength: 10, withPad: " ", startingAt: 0) }.joined() } ?? "none")
        }
        func ks(_ value: Double?) -> String { value.map { String(format: "  Kolmogorov-Smirnov distance %.3f", $0) } ?? "  Kolmogorov-Smirnov distance: none" }
        return ([
            "fidelity over \(jobs) jobs with a recorded start and end",
            "".padding(toLength: 22, withPad: " ", startingAt: 0) + "mean      p50       p95       p99",
            row("queueing, recorded", queueDelay.recorded), row("queueing, simulated", queueDelay.simulated),
            ks(queueDelay.ksDistance),
            row("JCT, recorded", jct.recorded), row("JCT, simulated", jct.simulated),
            ks(jct.ksDistance),
        ]).joined(separator: "\n")
    }
}
