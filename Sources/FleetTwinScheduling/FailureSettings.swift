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

    /// Outages that strike each of `clusters` at random, at exponential intervals of mean
    /// `every` (each cluster its own stream), lasting `duration`.
    public struct RandomOutages: Sendable, Equatable {
        public var every: VirtualTime
        public var clusters: [Int32]
        public var duration: VirtualTime

        public init(every: VirtualTime, clusters: [Int32], duration: VirtualTime) {
            self.every = every
            self.clusters = clusters
            self.duration = duration
        }
    }

    /// A stretch of degraded hardware: the accelerators of `clusters` run at `factor` of their
    /// speed from `at` for `duration` (thermal throttling, a bad link).
    public struct Degradation: Sendable, Equatable {
        public var at: VirtualTime
        public var clusters: [Int32]
        public var factor: Double
        public var duration: VirtualTime

        public init(at: VirtualTime, clusters: [Int32], factor: Double, duration: VirtualTime) {
            self.at = at
            self.clusters = clusters
            self.factor = factor
            self.duration = duration
        }
    }

    /// Regions that cannot reach each other from `at` for `duration`: no migration crosses
    /// the cut (the only traffic between regions in the model).
    public struct Partition: Sendable, Equatable {
        public var at: VirtualTime
        public var regions: [Int32]
        public var duration: VirtualTime

        public init(at: VirtualTime, regions: [Int32], duration: VirtualTime) {
            self.at = at
            self.regions = regions
            self.duration = duration
        }
    }

    /// Time between failures of each node; nil: nodes do not fail at random.
    public var nodeTimeBetweenFailures: TimeBetweenFailures?
    /// Time between failures of each accelerator. A failed accelerator takes its node out
    /// for repair (drained, as operators do with a bad GPU), so a node fails at the first
    /// failure among itself and its accelerators.
    public var acceleratorTimeBetweenFailures: TimeBetweenFailures?
    /// Time to repair a failed node.
    public var repair: VirtualTime
    public var outages: [Outage]
    public var degradations: [Degradation]
    public var partitions: [Partition]
    public var randomOutages: [RandomOutages] = []

    public init(nodeTimeBetweenFailures: TimeBetweenFailures? = nil, repair: VirtualTime = .seconds(Int64(3600)),
                outages: [Outage] = [], degradations: [Degradation] = [], partitions: [Partition] = []) {
        self.partitions = partitions
        self.nodeTimeBetweenFailures = nodeTimeBetweenFailures
        self.repair = repair
        self.outages = outages
        self.degradations = degradations
    }

    public static let none = FailureSettings()
    public var isEmpty: Bool { nodeTimeBetweenFailures == nil && acceleratorTimeBetweenFailures == nil && outages.isEmpty && degradations.isEmpty && partitions.isEmpty && randomOutages.isEmpty }
}
