/// FleetTwinMetrics owns what a run measured. Every metric is a fold over the event log
/// (`RunMetrics.fold`), so a stored or replayed log gives identical metrics and a new
/// metric needs no change to the simulation.
import FleetTwinEngine
import FleetTwinScheduling

/// Mean and nearest-rank percentiles of a sample, in seconds.
public struct Distribution: Sendable, Equatable, Codable {
    public var mean: Double
    public var p50: Double
    public var p95: Double
    public var p99: Double

    public static let empty = Distribution(mean: 0, p50: 0, p95: 0, p99: 0)

    /// Percentiles by nearest rank on the sorted sample: always a value that occurred.
    public init(seconds values: [Double]) {
        guard !values.isEmpty else { self = .empty; return }
        let sorted = values.sorted()
        func rank(_ p: Double) -> Double {
            sorted[max(0, min(sorted.count - 1, Int((p * Double(sorted.count)).rounded(.up)) - 1))]
        }
        self.init(mean: sorted.reduce(0, +) / Double(sorted.count), p50: rank(0.50), p95: rank(0.95), p99: rank(0.99))
    }

    public init(mean: Double, p50: Double, p95: Double, p99: Double) {
        self.mean = mean
        self.p50 = p50
        self.p95 = p95
        self.p99 = p99
    }
}

/// One job's life, measured from the log. Times are absolute virtual times.
public struct JobOutcome: Sendable, Equatable {
    public var index: Int32
    public var submit: VirtualTime
    public var firstStart: VirtualTime?
    public var end: VirtualTime?
    /// Microseconds x accelerators held, over every run of the job.
    public var acceleratorMicroseconds: Int64
    public var starts: Int
    /// Energy its accelerators drew while it held them (busy power of their type).
    public var energyKWh: Double

    public var queueDelay: VirtualTime? { firstStart.map { $0 - submit } }
    public var completionTime: VirtualTime? { end.map { $0 - submit } }
    public var acceleratorSeconds: Double { Double(acceleratorMicroseconds) / 1e6 }
}

/// One bucket of the fleet's time series: the fraction allocated and the mean power drawn
/// (busy accelerators at busy power, the rest at idle power).
public struct UtilizationPoint: Sendable, Equatable, Codable {
    public var start: Double
    public var utilization: Double
    public var powerKW: Double
}

/// The headline figures of a run.
public struct RunMetrics: Sendable, Equatable {
    public var jobsSubmitted: Int
    public var jobsCompleted: Int
    /// Allocated accelerator-seconds / (capacity x span from first arrival to last completion).
    public var utilization: Double
    public var jct: Distribution
    public var queueDelay: Distribution
    /// First arrival to last completion, seconds.
    public var makespan: Double
    public var acceleratorSeconds: Double
    public var capacity: Int
    public var utilizationInterval: Double
    public var utilizationSeries: [UtilizationPoint]
    /// Fleet energy over the span (first arrival to last completion), kWh.
    public var energyKWh: Double
    /// The highest bucket-averaged fleet power, kW.
    public var peakPowerKW: Double
    public var jobs: [JobOutcome]
}
