import FleetTwinEngine

/// A policy's options as a scenario's `policy:` section sets them; nil keeps the policy's
/// default. Which options a policy takes is in its `PolicyDescriptor.options`.
public struct PolicyOptions: Sendable, Equatable {
    /// Mechanism switches of the priority policies (ablations).
    public var preemption: Bool?
    public var elastic: Bool?
    public var migration: Bool?
    /// Queue boundaries in accelerator-seconds (`las`, `dlas-gpu-gittins`), increasing.
    public var thresholds: [Double]?
    /// `fair-share` tenant weights by tenant name (others weigh 1).
    public var tenantShares: [(tenant: String, weight: Double)]?
    /// Order inside a LAS queue.
    public var queueOrder: LeastAttainedService.QueueOrder?
    /// Tiresias' starvation knob (PROMOTEKNOB) of `las` and `dlas-gpu-gittins`; 0: off.
    public var promoteKnob: Double?
    /// Minimum run after a (re)start before a job may lose its devices, in seconds.
    public var quantumSeconds: Double?
    /// The empirical service distribution of `dlas-gpu-gittins`, accelerator-seconds; nil
    /// uses the run's own jobs (work x world size), an oracle view of the workload.
    public var serviceSamples: [Double]?
    /// `gandiva`: the round-robin quantum of time-slicing, in seconds.
    public var timeSliceSeconds: Double?
    /// `slurm`: the cluster's configuration (slurm.conf and its QOS table); nil: Slurm's
    /// defaults (priority/basic, sched/backfill, no preemption).
    public var slurm: SlurmConfiguration?
    /// Where `slurm` was read from (slurm.conf, QOS table), for the scenario's text.
    public var slurmSources: [String] = []
    /// Gavel's round length and least time between recomputations of its allocation, seconds.
    public var roundSeconds: Double?
    public var resetIntervalSeconds: Double?
    /// `sia`: the fairness exponent p, the penalty λ_n per job left without devices, and a
    /// restart penalty in seconds for every job in place of Sia's per-model table.
    public var fairnessP: Double?
    public var lambdaN: Double?
    public var restartPenaltySeconds: Double?
    /// `elasticflow`: the planning slot (ElasticFlow's `scheduling_slot`), seconds.
    public var slotSeconds: Double?
    /// `external`: the command that runs the policy, and how it is run.
    public var external: ExternalPolicySettings?
    /// `synergy`: the ordering policy that ranks jobs each round.
    public var ordering: SynergyPolicy.Ordering?
    /// `synergy`: how CPU and memory are given (`tune`, Synergy-TUNE, by default).
    public var synergyMechanism: SynergyPolicy.Mechanism?
    /// `singularity`: its SLA headroom (seconds; 0 off), urgent restarts, and whether its
    /// best-effort tiers share by least attained service (`thresholds` sets the queues).
    public var slaHeadroomSeconds: Double?
    public var urgentRestarts: Bool?
    public var bestEffort: BestEffortOrder?

    /// How `singularity` orders the jobs of tiers without an SLA target.
    public enum BestEffortOrder: String, Sendable, CaseIterable {
        /// Least attained service in discretised queues; arrivals preempt jobs with more.
        case las
        /// Arrival order; a best-effort job never takes devices from another.
        case arrival
    }
    /// `gavel-gandiva`: isolated and co-located throughputs per job type and accelerator type
    /// (Gavel's `simulation_throughputs.json`), and the path it was read from (as given).
    public var colocation: ColocationThroughputs?
    public var colocationSource: String?
    /// `pollux`: its genetic search's population and generations.
    public var population: Int?
    public var generations: Int?
    /// The run's seed, for policies with a seeded generator of their own (`pollux`); set by
    /// whoever builds the policy for a run (`PolicySpec.make`), not a scenario option.
    public var runSeed: UInt64 = 0

    public init() {}

    /// Equal when every option in `fields` and the external settings are; `runSeed` is not
    /// an option and does not count.
    public static func == (a: PolicyOptions, b: PolicyOptions) -> Bool {
        a.external == b.external && fields.allSatisfy { $0.same(a, b) }
    }
}

extension PolicyOptions {
    /// One option of a scenario's `policy:` section as the rest of FleetTwin handles it
    /// generically: whether a spec sets it, clearing it (a policy that does not take it),
    /// its text in a stored scenario, and equality. Parsing stays per option
    /// (`Scenario+Parsing.swift`), since each has its own kind and errors; which policies
    /// take it is each `PolicyDescriptor.options`.
    public struct Field: Sendable {
        /// The scenario key, as `PolicyDescriptor.takes` and `fleettwin policies` name it.
        public let key: String
        public let isSet: @Sendable (PolicyOptions) -> Bool
        public let clear: @Sendable (inout PolicyOptions) -> Void
        /// `key: value` as a stored scenario's flow mapping writes it; nil when unset.
        public let text: @Sendable (PolicyOptions) -> String?
        public let same: @Sendable (PolicyOptions, PolicyOptions) -> Bool

        /// An optional option stored at `path`, written as `key: text(value)`.
        static func optional<V: Equatable & Sendable>(_ key: String, _ path: WritableKeyPath<PolicyOptions, V?> & Sendable,
                                                      text: @escaping @Sendable (V) -> String) -> Field {
            Field(key: key, isSet: { $0[keyPath: path] != nil }, clear: { $0[keyPath: path] = nil },
                  text: { o in o[keyPath: path].map { "\(key): \(text($0))" } }, same: { $0[keyPath: path] == $1[keyPath: path] })
        }
    }

    /// Every option but `external` (written first, and kept for external policies only), in
    /// the order a stored scenario's text writes them. Adding an option: its property, its
    /// parsing, its `PolicyOptionInfo` on the policies that take it, and one entry here.
    public static let fields: [Field] = [
        .optional("preemption", \.preemption) { "\($0)" },
        .optional("elastic", \.elastic) { "\($0)" },
        .optional("migration", \.migration) { "\($0)" },
        .optional("quantum", \.quantumSeconds) { "\($0.clean)s" },
        .optional("thresholds", \.thresholds) { "[\($0.map(\.clean).joined(separator: ", "))]" },
        Field(key: "shares", isSet: { $0.tenantShares != nil }, clear: { $0.tenantShares = nil },
              text: { o in o.tenantShares.map { "shares: { \($0.map { "\($0.tenant): \($0.weight.clean)" }.joined(separator: ", ")) }" } },
              same: { $0.tenantShares?.map(\.tenant) == $1.tenantShares?.map(\.tenant) && $0.tenantShares?.map(\.weight) == $1.tenantShares?.map(\.weight) }),
        .optional("queue-order", \.queueOrder) { $0.rawValue },
        .optional("ordering", \.ordering) { $0.rawValue },
        .optional("mechanism", \.synergyMechanism) { $0.rawValue },
        .optional("promote-knob", \.promoteKnob) { $0.clean },
        .optional("time-slice", \.timeSliceSeconds) { "\($0.clean)s" },
        .optional("round", \.roundSeconds) { "\($0.clean)s" },
        .optional("reset-interval", \.resetIntervalSeconds) { "\($0.clean)s" },
        .optional("p", \.fairnessP) { $0.clean },
        .optional("lambda-n", \.lambdaN) { $0.clean },
        .optional("restart-penalty", \.restartPenaltySeconds) { "\($0.clean)s" },
        .optional("slot", \.slotSeconds) { "\($0.clean)s" },
        .optional("sla-headroom", \.slaHeadroomSeconds) { "\($0.clean)s" },
        .optional("urgent-restarts", \.urgentRestarts) { "\($0)" },
        .optional("best-effort", \.bestEffort) { $0.rawValue },
        .optional("population", \.population) { "\($0)" },
        .optional("generations", \.generations) { "\($0)" },
        // The configuration is written as the files it was read from.
        Field(key: "slurm-conf", isSet: { $0.slurm != nil }, clear: { $0.slurm = nil; $0.slurmSources = [] },
              text: { $0.slurmSources.isEmpty ? nil : "slurm: [\($0.slurmSources.joined(separator: ", "))]" },
              same: { $0.slurm == $1.slurm && $0.slurmSources == $1.slurmSources }),
        // The table is written as the file it was read from.
        Field(key: "throughputs", isSet: { $0.colocation != nil }, clear: { $0.colocation = nil; $0.colocationSource = nil },
              text: { o in o.colocation == nil ? nil : "throughputs: \(o.colocationSource ?? "")" },
              same: { $0.colocation == $1.colocation && $0.colocationSource == $1.colocationSource }),
        // Samples are many: written as their count and a hash.
        Field(key: "distribution", isSet: { $0.serviceSamples != nil }, clear: { $0.serviceSamples = nil },
              text: { o in
                  o.serviceSamples.map { v in
                      var h = StableHasher()
                      for x in v { h.combine(x.bitPattern) }
                      return "distribution: \(v.count) samples, hash \(h.hex)"
                  }
              },
              same: { $0.serviceSamples == $1.serviceSamples }),
    ]
}

extension Double {
    /// `2` rather than `2.0`; other values as Swift prints them (scenario text, messages).
    public var clean: String { self == rounded() && abs(self) < 1e15 ? String(Int64(self)) : String(self) }
}
