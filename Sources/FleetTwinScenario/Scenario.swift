/// FleetTwinScenario owns scenario files: parsing YAML into a typed, validated `Scenario`
/// with errors located by file, line and column; the workload generators (arrival
/// processes, size, duration and tier distributions); and turning a scenario plus a seed
/// into a `SimulationConfiguration`. Nothing downstream of this module sees YAML.
import FleetTwinEngine
import FleetTwinExternalPolicy
import FleetTwinFleet
import FleetTwinMetrics
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
    /// The files the scenario refers to (traces, distributions), each with the hash of its
    /// bytes when the scenario was read.
    public var referencedFiles: [ReferencedFile] = []
    /// Targets the run's metrics are judged against (`goals:`), in the order written.
    public var goals: [Goal] = []
    /// The file the fleet was read from (a replay's `--fleet`), for messages; nil: `file`.
    public var fleetFile: String? = nil

    /// FNV-1a of the scenario text and of every file it refers to (as written, and its
    /// bytes): runs of the same inputs share it, and editing a referenced trace changes it.
    public var contentHash: String {
        var h = StableHasher()
        h.combine(text)
        for file in referencedFiles {
            h.combine(file.given)
            h.combine(file.contentHash)
        }
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
        let jobs = jobs(seed: seed ?? self.seed), policy = override ?? policy
        // `restart_cost: compat` becomes what this policy's original simulator charges.
        let mechanisms = mechanisms.resolved(for: policy.name)
        return SimulationConfiguration(
            fleet: fleet, jobs: jobs, policy: policy.make(mechanisms: mechanisms, jobs: jobs, seed: seed ?? self.seed), horizon: horizon,
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

/// The policy a scenario names: a registered policy (`PolicyRegistry`), its placement
/// rule and its options, exactly as run (so what is stored is what ran).
public struct PolicySpec: Sendable, Equatable {
    /// A name `PolicyRegistry` knows (checked where the spec is made).
    public var name: String
    public var placement: PlacementRule
    public var options: PolicyOptions

    public init(name: String = "fifo", placement: PlacementRule = .bestFit, options: PolicyOptions = PolicyOptions()) {
        precondition(PolicyRegistry.named(name) != nil, "unknown policy \(name)")
        self.name = name
        self.placement = placement
        self.options = options
    }

    public var descriptor: PolicyDescriptor { PolicyRegistry.named(name)! }

    /// The mechanisms it may use: its options over the policy's defaults.
    public var switches: MechanismSwitches {
        get {
            let d = descriptor.defaultSwitches
            return MechanismSwitches(preemption: options.preemption ?? d.preemption, elastic: options.elastic ?? d.elastic,
                                     migration: options.migration ?? d.migration)
        }
        set {
            options.preemption = newValue.preemption
            options.elastic = newValue.elastic
            options.migration = newValue.migration
        }
    }

    /// The scenario's options that policy `other` does not take, by their scenario keys
    /// (what `renamed` drops), in the order of `PolicyOptions.fields`.
    public func optionsDropped(by other: String) -> [String] {
        guard let d = PolicyRegistry.named(other) else { return [] }
        return PolicyOptions.fields.filter { $0.isSet(options) && !d.takes($0.key) }.map(\.key)
    }

    /// The same policy under another name, keeping the options the other policy also takes.
    public func renamed(_ other: String) -> PolicySpec {
        var spec = PolicySpec(name: other, placement: placement, options: options)
        let d = spec.descriptor
        for field in PolicyOptions.fields where !d.takes(field.key) { field.clear(&spec.options) }
        if !d.external { spec.options.external = nil }
        return spec
    }

    /// The spec as a YAML flow mapping, every option given: what a stored scenario says ran.
    public var text: String {
        var parts = ["name: \(name)", "placement: \(placement.rawValue)"]
        if let e = options.external {
            // The command, not its program's text: what the program is, FleetTwin cannot know.
            parts.append("external: \(Self.quoted(e.command))")
            if let d = e.directory { parts.append("in: \(Self.quoted(d))") }
            parts.append("timeout: \(e.timeoutSeconds.clean)s")
            if e.oracle { parts.append("oracle: true") }
        }
        parts += PolicyOptions.fields.compactMap { $0.text(options) }
        return "{ " + parts.joined(separator: ", ") + " }"
    }

    /// A YAML double-quoted scalar.
    static func quoted(_ s: String) -> String {
        "\"" + s.map { $0 == "\"" || $0 == "\\" ? "\\\($0)" : String($0) }.joined() + "\""
    }

    /// Why the spec cannot run, or nil: the `external` policy needs its command.
    public var problem: String? {
        descriptor.external && options.external == nil
            ? "the external policy needs its command: policy: { external: \"python3 my_policy.py\" } in the scenario, or --external-command on run, replay and compare"
            : nil
    }

    /// Builds the policy; `jobs` are the run's jobs (their service, for policies that learn
    /// a distribution from the workload). An `external` policy's process starts at its first
    /// scheduling pass.
    /// `seed`: the run's, for a policy with a seeded generator of its own (`pollux`).
    public func make(mechanisms: MechanismSettings = .defaults, jobs: [JobSpec] = [], seed: UInt64 = 0) -> any SchedulingPolicy {
        if descriptor.external {
            precondition(problem == nil, problem ?? "")
            return ExternalPolicy(settings: options.external!, placement: placement)
        }
        var options = options
        options.runSeed = seed
        return descriptor.make(options: options, placement: placement, mechanisms: mechanisms,
                        serviceSeconds: jobs.map { $0.work.seconds * Double($0.worldSize) })
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

extension Scenario {
    /// The scenario with gradient communication off (`--no-communication`): every job's
    /// replicas scale perfectly, as simulators that ignore the network assume. The stored
    /// text says so, so the run's scenario hash differs from the scenario's own.
    public func withoutCommunication() -> Scenario {
        var s = self
        s.fleet.network.communication = nil
        s.text += (s.text.hasSuffix("\n") ? "" : "\n") + "# run with --no-communication: gradient communication off\n"
        return s
    }
}
