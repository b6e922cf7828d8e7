import FleetTwinEngine
import Foundation

/// Faults injected into a run, all drawn from the seed: nodes failing at random (each node
/// its own stream), and outages of whole clusters at given times.
public struct FailureSettings: Sendable, Equatable {
    public enum TimeBetweenFailures: Sendable, Equatable {
        case exponential(mean: VirtualTime)
        /// Weibull with `scale` and `shape` (shape < 1: infant mortality; > 1: wear-out).
        case weibull(scale: VirtualTime, shape: Double)

        public func sample(using g: inout SeededGenerator) -> VirtualTime {
            let u = g.nextOpenUnitDouble()
            switch self {
            case .exponential(let mean): return .seconds(-mean.seconds * log(u))
            case let .weibull(scale, shape): return .seconds(scale.seconds * pow(-log(u), 1 / shape))
            }
        }
    }

    /// A correlated outage: every node of `clusters` (global indices) fails at `at` and comes
    /// back `duration` later.
    public struct Outage: Sendable, Equatable {
        public var at: VirtualTime
        public var clusters: [Int32]
        public var duration: VirtualTime

        public init(at: VirtualTime, clusters: [Int32], duration: VirtualTime) {
            self.at = at
            self.clusters = clusters
            self.duration = duration
        }
    }

    /// Time between failures of each node; nil: nodes do not fail at random.
    public var nodeTimeBetweenFailures: TimeBetweenFailures?
    /// Time to repair a failed node.
    public var repair: VirtualTime
    public var outages: [Outage]

    public init(nodeTimeBetweenFailures: TimeBetweenFailures? = nil, repair: VirtualTime = .seconds(Int64(3600)), outages: [Outage] = []) {
        self.nodeTimeBetweenFailures = nodeTimeBetweenFailures
        self.repair = repair
        self.outages = outages
    }

    public static let none = FailureSettings()
    public var isEmpty: Bool { nodeTimeBetweenFailures == nil && outages.isEmpty }
}
