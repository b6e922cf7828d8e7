/// FleetTwinScenario owns scenario files: parsing YAML into a typed, validated `Scenario`
/// with errors located by file, line and column; the workload generators (arrival
/// processes, size, duration and tier distributions); and turning a scenario plus a seed
/// into a `SimulationConfiguration`. Nothing downstream of this module sees YAML.
import FleetTwinEngine
import FleetTwinFleet
import FleetTwinScheduling

/// A validated scenario, ready to run with any seed.
public struct Scenario: Sendable {
    public var name: String
    /// Where it was read from, for messages and the results store.
    public var file: String
    /// The exact text it was parsed from, stored with every run.
    public var text: String
    public var seed: UInt64
    public var horizon: VirtualTime?
    public var fleet: FleetSpec
    public var workload: WorkloadSource
    public var policy: PolicySpec
    public var mechanisms: MechanismSettings
    public var failures: FailureSettings = .none
    public var outputs: OutputSpec

    /// FNV-1a of the scenario text: runs of the same file share it.
    public var contentHash: String {
        var h = StableHasher()
        h.combine(text)
        return h.hex
    }

    /// The jobs this scenario submits under `seed`, in submission order.
    public func jobs(seed: UInt64) -> [JobSpec] { workloadJobs(seed: seed).jobs }

    /// The listed jobs that are real workloads.
    public var realWorkloads: [RealWorkloadJob] {
        if case .jobs(_, let real) = workload { return real }
        return []
    }

    /// The jobs, and those a trace workload had to skip (with the reason).
    public func workloadJobs(seed: UInt64) -> (jobs: [JobSpec], skipped: [(id: String, reason: String)]) {
        switch workload {
        case .jobs(let jobs, _): (jobs, [])
        case .generator(let generator): (generator.generate(seed: seed, horizon: horizon), [])
        case .trace(let trace): trace.select(seed: seed, fleet: fleet)
        }
    }

    public func configuration(seed: UInt64? = nil, policy override: PolicySpec? = nil, checkInvariants: Bool = false) -> SimulationConfiguration {
        SimulationConfiguration(
            fleet: fleet, jobs: jobs(seed: seed ?? self.seed), policy: (override ?? policy).make(mechanisms: mechanisms), horizon: horizon,
            mechanisms: mechanisms, failures: failures, seed: seed ?? self.seed, checkInvariants: checkInvariants,
            computations: realWorkloads.isEmpty ? nil : RealWorkloads(jobs: realWorkloads, runSeed: seed ?? self.seed))
    }
}

public enum WorkloadSource: Sendable {
    case generator(WorkloadGenerator)
    /// Listed jobs; `real` names those that are real workloads (their kernels run).
    case jobs([JobSpec], real: [RealWorkloadJob] = [])
    case trace(TraceWorkload)
}

public struct PolicySpec: Sendable, Equatable {
    public enum Name: String, Sendable, CaseIterable {
        case fifo, srtf, las, singularity
    }

    public var name: Name
    public var placement: PlacementRule
    /// Which mechanisms a preemptive policy may use (ablations); fifo uses none.
    public var switches: MechanismSwitches
    /// LAS queue boundaries, accelerator-seconds.
    public var lasThresholds: [Double]

    public init(name: Name = .fifo, placement: PlacementRule = .consolidated, switches: MechanismSwitches? = nil,
                lasThresholds: [Double] = [3_250, 7_200]) {
        self.name = name
        self.placement = placement
        self.switches = switches ?? Self.defaultSwitches(name)
        self.lasThresholds = lasThresholds
    }

    /// srtf and las preempt; singularity also resizes and migrates.
    public static func defaultSwitches(_ name: Name) -> MechanismSwitches {
        switch name {
        case .fifo: MechanismSwitches(preemption: false)
        case .srtf, .las: MechanismSwitches(preemption: true)
        case .singularity: MechanismSwitches(preemption: true, elastic: true, migration: true)
        }
    }

    public func make(mechanisms: MechanismSettings = .defaults) -> any SchedulingPolicy {
        switch name {
        case .fifo: FIFOPolicy(placement: placement)
        case .srtf: PreemptivePolicy(rule: ShortestRemainingTime(), placement: placement, switches: switches, mechanisms: mechanisms)
        case .las: PreemptivePolicy(rule: LeastAttainedService(thresholdSeconds: lasThresholds), placement: placement,
                                    switches: switches, mechanisms: mechanisms)
        case .singularity: PreemptivePolicy(rule: TierPriority(), placement: placement, switches: switches, mechanisms: mechanisms)
        }
    }
}

public struct OutputSpec: Sendable, Equatable {
    /// Store every event of the run in the results database.
    public var eventLog: Bool
    /// Bucket width of the utilization time series; nil picks about 100 buckets.
    public var utilizationInterval: VirtualTime?

    public init(eventLog: Bool = true, utilizationInterval: VirtualTime? = nil) {
        self.eventLog = eventLog
        self.utilizationInterval = utilizationInterval
    }
}

extension Scenario {
    /// How many jobs the scenario will submit: exact for lists and traces and counted
    /// generators; for an open generator ended by the horizon, the expected count at its
    /// highest arrival rate (an upper estimate for bursty arrivals).
    public var expectedJobCount: Int {
        switch workload {
        case .jobs(let jobs, _): return jobs.count
        case .trace(let trace): return trace.limit.map { min($0, trace.jobs.count) } ?? trace.jobs.count
        case .generator(let g):
            if let count = g.count { return count }
            let perHour: Double
            switch g.arrivals {
            case .poisson(let rate): perHour = rate
            case let .bursty(base, burst, _, _): perHour = max(base, burst)
            }
            let hours = ((horizon ?? .zero) - g.start).seconds / 3600
            return Int(min(Double(Int32.max), max(0, perHour * hours).rounded(.up)))
        }
    }

    /// Memory one run of this scenario needs, estimated from measurements of `fleettwin
    /// bench` (about 1 KiB per job, peak resident; doubled for the results store and the
    /// metrics) plus the fleet's actors and a fixed base.
    public var estimatedMemoryBytes: Int64 {
        64 << 20 + Int64(expectedJobCount) * 2048 + Int64(fleet.totalAccelerators) * 1024
    }
}
