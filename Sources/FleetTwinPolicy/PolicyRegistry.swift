import FleetTwinEngine
import FleetTwinFleet

/// How the `external` policy's process is run (FleetTwinExternalPolicy runs it; this is
/// the plain value a scenario or the command line sets).
public struct ExternalPolicySettings: Sendable, Equatable {
    /// A shell command line (`/bin/sh -c`), such as `python3 my_policy.py`.
    public var command: String
    /// Where it runs: the scenario's folder for a scenario's command, nil for the current one.
    public var directory: String?
    /// The longest wall-clock wait for one answer, in seconds; a slower answer fails the run.
    public var timeoutSeconds: Double
    /// Whether requests carry jobs' true work and remaining work (the policy is then an oracle).
    public var oracle: Bool

    public static let defaultTimeoutSeconds = 30.0

    public init(command: String, directory: String? = nil, timeoutSeconds: Double = Self.defaultTimeoutSeconds, oracle: Bool = false) {
        self.command = command
        self.directory = directory
        self.timeoutSeconds = timeoutSeconds
        self.oracle = oracle
    }
}

/// One option a policy takes: its scenario key, value kind, default and meaning.
public struct PolicyOptionInfo: Sendable, Equatable, Encodable {
    public var name: String
    public var kind: String
    public var defaultValue: String
    public var help: String
}

/// A registered policy: its name, what it is and where its rule comes from, its options,
/// and how to build it.
public struct PolicyDescriptor: Sendable {
    public let name: String
    public let summary: String
    /// The paper, documentation page or code the rule follows.
    public let source: String
    /// Whether it reads jobs' true remaining work (an oracle no real scheduler has).
    public let oracle: Bool
    /// Whether it runs outside FleetTwin, as a child process (`external`): FleetTwinScenario's
    /// `PolicySpec.make` builds it, since this module starts no processes.
    public var external: Bool { build == nil }
    public let options: [PolicyOptionInfo]
    public let defaultSwitches: MechanismSwitches
    /// The quantum it uses unless a scenario sets one.
    public let defaultQuantum: VirtualTime
    fileprivate let build: (@Sendable (_ options: PolicyOptions, _ placement: PlacementRule, _ mechanisms: MechanismSettings,
                                       _ switches: MechanismSwitches, _ quantum: VirtualTime, _ serviceSeconds: [Double]) -> any SchedulingPolicy)?

    /// Builds the policy. `serviceSeconds`: the run's jobs' service (work x world size,
    /// accelerator-seconds), for policies that learn a distribution from it. Built-in
    /// policies only: an `external` one is built by `PolicySpec.make` (FleetTwinScenario).
    public func make(options: PolicyOptions = PolicyOptions(), placement: PlacementRule = .bestFit,
                     mechanisms: MechanismSettings = .defaults, serviceSeconds: [Double] = []) -> any SchedulingPolicy {
        let switches = MechanismSwitches(preemption: options.preemption ?? defaultSwitches.preemption,
                                         elastic: options.elastic ?? defaultSwitches.elastic,
                                         migration: options.migration ?? defaultSwitches.migration)
        let quantum = options.quantumSeconds.map { VirtualTime.seconds($0) } ?? defaultQuantum
        guard let build else { preconditionFailure("policy \(name) runs as a process: PolicySpec.make (FleetTwinScenario) builds it") }
        return build(options, placement, mechanisms, switches, quantum, serviceSeconds)
    }

    /// Whether the policy takes option `key`.
    public func takes(_ key: String) -> Bool { options.contains { $0.name == key } }
}

/// Every policy FleetTwin knows, by name. Adding a policy is one file with its rule (or its
/// `SchedulingPolicy`) plus one entry here; scenarios, `run --policy`, `compare`, `sweep`
/// and `fleettwin policies` take it from this list.
public enum PolicyRegistry {
    static let switchOptions = [
        PolicyOptionInfo(name: "preemption", kind: "bool", defaultValue: "policy's", help: "may stop running jobs to make room"),
        PolicyOptionInfo(name: "elastic", kind: "bool", defaultValue: "policy's",
                         help: "may start jobs on fewer devices (time-sliced replicas), grow them, and shrink victims by splicing"),
        PolicyOptionInfo(name: "migration", kind: "bool", defaultValue: "policy's", help: "may move a running job to another cluster to open a gang slot"),
        PolicyOptionInfo(name: "quantum", kind: "duration", defaultValue: "policy's",
                         help: "a job keeps its devices at least this long after a (re)start (hysteresis)"),
    ]
    static let thresholdOption = PolicyOptionInfo(name: "thresholds", kind: "list of accelerator-seconds", defaultValue: "[3250, 7200]",
                                                  help: "queue boundaries (Tiresias' queue_limit)")
    static let promoteOption = PolicyOptionInfo(
        name: "promote-knob", kind: "number, at least 0", defaultValue: "0 (off)",
        help: "starvation promotion (Tiresias' PROMOTEKNOB, schedule dlas-gpu-<knob>): a waiting job outside Q0 that has run goes back "
            + "to the end of Q0, its service count reset, once it has waited knob x its run time since its last promotion")

    /// The external policy's: its command and how it is run (`ExternalPolicySettings`).
    static let externalOptions = [
        PolicyOptionInfo(name: "external", kind: "shell command line", defaultValue: "none (required)",
                         help: "the policy's command, run by /bin/sh -c in the scenario's folder, such as \"python3 my_policy.py\""),
        PolicyOptionInfo(name: "timeout", kind: "duration", defaultValue: "30s", help: "the longest wall-clock wait for one answer; a slower answer fails the run"),
        PolicyOptionInfo(name: "oracle", kind: "bool", defaultValue: "false", help: "send jobs' true work and remaining work (the policy is then an oracle)"),
    ]

    public static let all: [PolicyDescriptor] = [
        PolicyDescriptor(
            name: "fifo", summary: "first in, first out; the head blocks every job behind it (gang scheduling, no preemption)",
            source: "Tiresias simulator, run_sim.py::one_queue_fifo_sim_jobs", oracle: false, options: [],
            defaultSwitches: MechanismSwitches(preemption: false), defaultQuantum: .zero,
            build: { _, placement, _, _, _, _ in FIFOPolicy(placement: placement) }),
        PolicyDescriptor(
            name: "srtf", summary: "shortest remaining time first, preemptive, with backfill",
            source: "Tiresias simulator, run_sim.py::shortest_first_sim_jobs (schedule 'shortest')", oracle: true,
            options: switchOptions, defaultSwitches: MechanismSwitches(preemption: true), defaultQuantum: .zero,
            build: { _, placement, mechanisms, switches, quantum, _ in
                PriorityPolicy(rule: ShortestRemainingTime(), placement: placement, switches: switches, mechanisms: mechanisms, quantum: quantum)
            }),
        PolicyDescriptor(
            name: "las", summary: "discretised 2D least attained service (GPU-time) in queues ordered as Tiresias keeps them; preempts lower queues",
            source: "Tiresias (NSDI'19) simulator, run_sim.py::dlas_sim_jobs (schedule 'dlas-gpu'; with promote-knob, 'dlas-gpu-<knob>')", oracle: false,
            options: switchOptions + [thresholdOption, promoteOption,
                                      PolicyOptionInfo(name: "queue-order", kind: "tiresias | arrival", defaultValue: "tiresias",
                                                       help: "order inside a queue: as the Tiresias simulator keeps it (running first, the latest stopped first), or by submission")],
            defaultSwitches: MechanismSwitches(preemption: true), defaultQuantum: .zero,
            build: { options, placement, mechanisms, switches, quantum, _ in
                PriorityPolicy(rule: LeastAttainedService(thresholdSeconds: options.thresholds ?? [3_250, 7_200],
                                                          order: options.queueOrder ?? .tiresias,
                                                          promoteKnob: options.promoteKnob ?? 0),
                               placement: placement, switches: switches, mechanisms: mechanisms, quantum: quantum)
            }),
        PolicyDescriptor(
            name: "dlas-gpu-gittins", summary: "2D-LAS queues, ordered inside each queue by Gittins index (higher first, preempts within the queue)",
            source: "Tiresias simulator, run_sim.py::dlas_sim_jobs with get_gittins_index (schedule 'dlas-gpu-gittins')", oracle: false,
            options: switchOptions + [thresholdOption, promoteOption,
                                      PolicyOptionInfo(name: "distribution", kind: "CSV file of accelerator-seconds (first column; a header line is skipped)",
                                                       defaultValue: "the run's own jobs",
                                                       help: "the empirical service distribution the index is computed over")],
            defaultSwitches: MechanismSwitches(preemption: true), defaultQuantum: .zero,
            build: { options, placement, mechanisms, switches, quantum, service in
                let samples = options.serviceSamples ?? service
                return PriorityPolicy(rule: GittinsIndex(serviceSeconds: samples.isEmpty ? [1] : samples,
                                                         thresholdSeconds: options.thresholds ?? [3_250, 7_200],
                                                         promoteKnob: options.promoteKnob ?? 0),
                                      placement: placement, switches: switches, mechanisms: mechanisms, quantum: quantum)
            }),
        PolicyDescriptor(
            name: "gandiva", summary: "node sets per job size; packs, else opens a set, else time-slices a set round-robin (suspend/resume every 60 s); grows a crowded size's sets from free nodes",
            source: "Gandiva (OSDI'18) as the Tiresias simulator implements it: run_sim.py::gandiva_sim_jobs, cluster.py::gandiva_placement, gandiva_node_set_adjust, time_slicing_execute",
            oracle: false,
            options: [PolicyOptionInfo(name: "time-slice", kind: "duration", defaultValue: "60s",
                                       help: "the round-robin quantum: an oversubscribed node set rotates its running jobs to the back at every multiple of it")],
            defaultSwitches: MechanismSwitches(preemption: true), defaultQuantum: .zero,
            build: { options, placement, _, _, _, _ in
                GandivaPolicy(placement: placement, quantum: .seconds(options.timeSliceSeconds ?? 60))
            }),
        PolicyDescriptor(
            name: "fair-share", summary: "tenants (virtual clusters) with guaranteed shares; arrival order; reclaims from tenants over their share",
            source: "YARN CapacityScheduler as Philly's virtual clusters ran (Jeon et al., ATC'19; Hadoop CapacityScheduler docs)", oracle: false,
            options: switchOptions + [PolicyOptionInfo(name: "shares", kind: "mapping of tenant to weight", defaultValue: "1 each",
                                                       help: "guaranteed share of each tenant (virtual cluster or user): weight over the sum")],
            defaultSwitches: MechanismSwitches(preemption: true), defaultQuantum: .zero,
            build: { options, placement, mechanisms, switches, quantum, _ in
                PriorityPolicy(rule: FairShare(weights: options.tenantShares ?? []), placement: placement, switches: switches,
                               mechanisms: mechanisms, quantum: quantum)
            }),
        PolicyDescriptor(
            name: "singularity",
            summary: "SLA tier first; elastic (splicing), migrating, preemptive, never idle; SLA jobs shielded by their headroom and restarted by SLA deadline; best effort by least attained service",
            source: "Singularity (arXiv:2202.07848), §3-4; the headroom, urgent-restart and best-effort rules are FleetTwin's (TierPriority)",
            oracle: false,
            options: switchOptions + [
                PolicyOptionInfo(name: "sla-headroom", kind: "duration", defaultValue: "30m",
                                 help: "a job of a tier with an SLA target loses devices only if its delivered GPU fraction would still meet the target after this long without progress; 0s: off"),
                PolicyOptionInfo(name: "urgent-restarts", kind: "bool", defaultValue: "true",
                                 help: "a stopped SLA job waits ahead of its tier's unstarted jobs, earliest SLA deadline first, and may take devices from its own tier's jobs with headroom"),
                PolicyOptionInfo(name: "best-effort", kind: "las or arrival", defaultValue: "las",
                                 help: "order of tiers without an SLA target: least attained service (arrivals preempt best-effort jobs with more; queues from thresholds) or arrival"),
                PolicyOptionInfo(name: "thresholds", kind: "list of accelerator-seconds", defaultValue: "[3250, 7200]",
                                 help: "queue boundaries of the best-effort tiers' least attained service"),
            ],
            defaultSwitches: MechanismSwitches(preemption: true, elastic: true, migration: true),
            // Long enough that a job's dump and restore (seconds to a minute for the default
            // models) are a small share of each run it gets, so tiers cannot thrash it.
            defaultQuantum: .seconds(Int64(300)),
            build: { options, placement, mechanisms, switches, quantum, _ in
                var settings = TierPriority.Settings()
                if let h = options.slaHeadroomSeconds { settings.slaHeadroom = .seconds(h) }
                if let u = options.urgentRestarts { settings.urgentRestarts = u }
                if options.bestEffort == .arrival { settings.bestEffortThresholds = nil }
                else if let t = options.thresholds { settings.bestEffortThresholds = t }
                return PriorityPolicy(rule: TierPriority(settings: settings, mechanisms: mechanisms), placement: placement,
                                      switches: switches, mechanisms: mechanisms, quantum: quantum)
            }),
        PolicyDescriptor(
            name: "slurm", summary: "Slurm's multifactor priority, main scheduler and backfill on time limits, QOS/partition preemption by requeue",
            source: "Slurm 22.05 documentation: priority_multifactor.html, sched_config.html, preempt.html (rule by rule in SlurmPolicy)",
            oracle: false,
            options: [PolicyOptionInfo(name: "slurm-conf", kind: "path of a slurm.conf", defaultValue: "Slurm's defaults",
                                       help: "the cluster's configuration: SchedulerParameters, Priority*, Preempt*, PartitionName and NodeName lines (NodeName held against the fleet)"),
                      PolicyOptionInfo(name: "slurm-qos", kind: "path of `sacctmgr -P show qos format=Name,Priority,Preempt,PreemptMode,GraceTime` output",
                                       defaultValue: "one QOS, normal", help: "the QOS table (priorities, who preempts whom)")],
            defaultSwitches: MechanismSwitches(preemption: true), defaultQuantum: .zero,
            build: { options, placement, _, _, _, _ in
                SlurmPolicy(configuration: options.slurm ?? SlurmConfiguration(), placement: placement)
            }),
        PolicyDescriptor(
            name: "external", summary: "a program in any language, run as a child process, that answers each scheduling pass over JSON Lines on stdin/stdout",
            source: "docs/external-policy.md (protocol), docs/external-policy.schema.json (schema), Examples/external-policy/ (a Python example)",
            oracle: false,
            options: externalOptions,
            defaultSwitches: MechanismSwitches(preemption: true, elastic: true, migration: true), defaultQuantum: .zero,
            build: nil),
    ] + GavelPolicy.Objective.allCases.map(gavel) + [
        PolicyDescriptor(
            name: "afs", summary: "AFS-L: devices one at a time to the job whose speedup gains most relative to the job that would finish sooner; elastic jobs resize, others time-slice",
            source: "AFS (Hwang et al., NSDI'21) as heyfey/vodascheduler pkg/algorithm/afsl.go implements it (third-party port; research/policies.md §13)",
            oracle: true, options: [],
            defaultSwitches: MechanismSwitches(preemption: true, elastic: true), defaultQuantum: .zero,
            build: { _, placement, mechanisms, _, _, _ in
                ElasticPolicy(rule: AFSRule(), placement: placement, splicingOverhead: mechanisms.splicingOverhead)
            }),
        PolicyDescriptor(
            name: "optimus", summary: "Optimus: every job its fewest devices, then each device to the job whose completion time falls most; re-divided every round",
            source: "Optimus (Peng et al., EuroSys'18) as Pollux's simulator implements it: simulator/optimus.py::OptimusPolicy (research/policies.md §11a)",
            oracle: true,
            options: [PolicyOptionInfo(name: "round", kind: "duration", defaultValue: "60s", help: "how often the devices are re-divided (also at every arrival, completion and release)")],
            defaultSwitches: MechanismSwitches(preemption: true, elastic: true), defaultQuantum: .zero,
            build: { options, placement, mechanisms, _, _, _ in
                ElasticPolicy(rule: OptimusRule(), placement: placement, round: .seconds(options.roundSeconds ?? 60),
                              splicingOverhead: mechanisms.splicingOverhead)
            }),
        PolicyDescriptor(
            name: "sia", summary: "Sia: each job one configuration (a cluster's type; 1, 2, 4, ... devices, then whole nodes) from one MILP across types over its normalised goodput (= throughput x type speed) "
                + "to the power p, restart-penalised; a fixed-world job is rigid (its world or nothing); re-solved every round",
            source: "Sia (SOSP'23) as its simulator implements it: siasosp23/artifacts sia-simulator/sia.py::SiaPolicy.optimize_mip (research/policies.md §12); MILP by COIN-OR Cbc",
            oracle: false,
            options: [
                PolicyOptionInfo(name: "round", kind: "duration", defaultValue: "60s", help: "how often the MILP is re-solved (also at every arrival, completion and release)"),
                PolicyOptionInfo(name: "p", kind: "number, not 0", defaultValue: "-0.5",
                                 help: "fairness exponent of the goodput (Sia's policy_p_val; negative: minimise, fairer)"),
                PolicyOptionInfo(name: "lambda-n", kind: "number", defaultValue: "1.1", help: "objective penalty per job left without devices (Sia's mip_lambda_n)"),
                PolicyOptionInfo(name: "restart-penalty", kind: "duration", defaultValue: "per model: deepspeech 25s, imagenet (and resnet50) 250s, cifar 30s, bert 120s, yolov3 45s, other 30s",
                                 help: "the restart penalty P of the re-allocation factor max(age - restarts x P, 0) / (age + P), for every job"),
            ],
            defaultSwitches: MechanismSwitches(preemption: true, elastic: true), defaultQuantum: .zero,
            build: { options, placement, mechanisms, _, _, _ in
                ElasticPolicy(rule: SiaRule(p: options.fairnessP ?? -0.5, lambdaN: options.lambdaN ?? 1.1,
                                            restartPenaltyOverride: options.restartPenaltySeconds),
                              placement: placement, round: .seconds(options.roundSeconds ?? 60), splicingOverhead: mechanisms.splicingOverhead)
            }),
        PolicyDescriptor(
            name: "pollux",
            summary: "Pollux: a genetic search (NSGA-II) over jobs x nodes replica matrices for the best power mean (p = -1) of fair-share-rebased "
                + "goodput speedups (throughput x statistical efficiency), restart-penalised, exploring 1, 2, 4... replicas; re-searched every round",
            source: "Pollux (Qiao et al., OSDI'21) as its simulator implements it: petuum/adaptdl osdi21-artifact simulator/pollux.py::PolluxPolicy, "
                + "goodput.py (research/policies.md §10)",
            oracle: false,
            options: [
                PolicyOptionInfo(name: "round", kind: "duration", defaultValue: "60s", help: "how often the search runs (only then, as in Pollux's simulator; an idle device still goes at once to a waiting job whose world fits)"),
                PolicyOptionInfo(name: "population", kind: "whole number, 2 to 1000", defaultValue: "100", help: "states in the genetic search (NSGA2 pop_size)"),
                PolicyOptionInfo(name: "generations", kind: "whole number, 0 to 1000", defaultValue: "100", help: "generations of the genetic search (n_gen)"),
            ],
            defaultSwitches: MechanismSwitches(preemption: true, elastic: true), defaultQuantum: .zero,
            build: { options, placement, mechanisms, _, _, _ in
                ElasticPolicy(rule: PolluxRule(population: options.population ?? 100, generations: options.generations ?? 100, seed: options.runSeed),
                              placement: placement, round: .seconds(options.roundSeconds ?? 60), splicingOverhead: mechanisms.splicingOverhead)
            }),
        PolicyDescriptor(
            name: "elasticflow",
            summary: "ElasticFlow: admits a job only if EDF planning with minimum satisfactory shares meets every deadline (declines it otherwise), "
                + "then spare devices one level at a time by marginal device-time; jobs without a deadline are best effort",
            source: "ElasticFlow (Gu et al., ASPLOS'23) as its simulator implements it: scheduler.py::ef_sim_jobs_access_control, "
                + "ef_sim_allocation, allocate_free_gpus (schedule ef-accessctrl, pkusys/ElasticFlow 04a0109; research/policies.md §15)",
            oracle: true,
            options: [PolicyOptionInfo(name: "slot", kind: "duration", defaultValue: "60s",
                                       help: "the planning slot: deadlines and planned ends are rounded up to whole slots (EF's scheduling_slot)")],
            defaultSwitches: MechanismSwitches(preemption: true, elastic: true), defaultQuantum: .zero,
            build: { options, placement, mechanisms, _, _, _ in
                ElasticPolicy(rule: ElasticFlowRule(slot: .seconds(options.slotSeconds ?? 60)), placement: placement,
                              splicingOverhead: mechanisms.splicingOverhead)
            }),
        PolicyDescriptor(
            name: "synergy",
            summary: "Synergy-TUNE: 300 s rounds; jobs ranked (LAS by default), pre-selected by GPU count, each given its ideal CPU and memory, "
                + "else the GPU-proportional share, else peers over that share are cut back to it; speed x the job's CPU/memory speedup",
            source: "Synergy (Mohan et al., OSDI'22) as its simulator implements it: msr-fiddle/synergy simulator/ 1bb2bed, "
                + "schedulers/las_synergy_new.py (and fifo, srtf), resources/cluster.py::allocate_synergy_tune, _tune, _reallocate_peer "
                + "(schedule X+tune; research/policies.md §14)",
            oracle: false,
            options: [PolicyOptionInfo(name: "ordering", kind: "las | srtf | fifo", defaultValue: "las",
                                       help: "how jobs are ranked each round: least attained GPU-time, shortest remaining work (an oracle), or arrival"),
                      PolicyOptionInfo(name: "mechanism", kind: "tune | opt | fair", defaultValue: "tune",
                                       help: "how CPU and memory are given: Synergy-TUNE (greedy), Synergy-OPT (an LP for CPU and memory, "
                                           + "then a placement MILP; opt_algo/synergy_opt.py), or the GPU-proportional share at speedup 1 (X+fair)"),
                      PolicyOptionInfo(name: "round", kind: "duration", defaultValue: "300s",
                                       help: "the lease: every allocation ends and is made again each round (Synergy's round_duration)")],
            defaultSwitches: MechanismSwitches(preemption: true), defaultQuantum: .zero,
            build: { options, placement, _, _, _, _ in
                SynergyPolicy(ordering: options.ordering ?? .las, mechanism: options.synergyMechanism ?? .tune, placement: placement,
                              round: .seconds(options.roundSeconds ?? 300))
            }),
        PolicyDescriptor(
            name: "las-continuous",
            summary: "continuous LAS: every 300 s, jobs by least attained GPU-time (no queues), pre-selected by GPU count, the rest preempted; "
                + "a job idle over 1,000 h goes first",
            source: "Synergy's LAS (msr-fiddle/synergy schedulers/las_synergy_new.py, schedule las+fair) and Blox's (msr-fiddle/blox "
                + "schedulers/las.py), research/policies.md §4",
            oracle: false,
            options: [PolicyOptionInfo(name: "round", kind: "duration", defaultValue: "300s", help: "how often jobs are ranked and the fleet handed out again")],
            defaultSwitches: MechanismSwitches(preemption: true), defaultQuantum: .zero,
            build: { options, placement, _, _, _, _ in
                SynergyPolicy(name: "las-continuous", ordering: .las, mechanism: .fair, placement: placement,
                              round: .seconds(options.roundSeconds ?? 300))
            }),
    ]

    static let gavelOptions = [
        PolicyOptionInfo(name: "round", kind: "duration", defaultValue: "360s", help: "round length (Gavel's time_per_iteration)"),
        PolicyOptionInfo(name: "reset-interval", kind: "duration", defaultValue: "1920s",
                         help: "least time between recomputations of the allocation (minimum_time_between_allocation_resets)"),
    ]

    static let throughputsOption = PolicyOptionInfo(
        name: "throughputs", kind: "path of a throughput table in Gavel's simulation_throughputs.json format", defaultValue: "none: nothing is packed",
        help: "isolated and co-located (packed) steps/s per accelerator type and job type ('(model, scale factor)'; a job's application and world size)")

    /// Gavel's round mechanism with one of its allocation policies (`GavelPolicy`).
    static func gavel(_ objective: GavelPolicy.Objective) -> PolicyDescriptor {
        let (summary, file): (String, String) = switch objective {
        case .maxMinFairness: ("Gavel's LAS: max-min fair accelerator-time (LP), time-shared in 360 s rounds", "max_min_fairness.py::MaxMinFairnessPolicy")
        case .maxMinFairnessPerf: ("Gavel's heterogeneity-aware LAS: max-min fair normalised throughput over per-type speeds (LP), in rounds",
                                   "max_min_fairness.py::MaxMinFairnessPolicyWithPerf")
        case .finishTimeFairness: ("Themis-FTF as Gavel implements it: minimise the largest finish-time ratio (LP bisection), in rounds",
                                   "finish_time_fairness.py::FinishTimeFairnessPolicyWithPerf")
        case .minTotalDuration: ("Gavel's minimum makespan: the allocation that finishes all remaining work soonest (LP bisection), in rounds",
                                 "min_total_duration.py::MinTotalDurationPolicyWithPerf")
        case .gandiva: ("Gavel's Gandiva packing: random pairs of equal scale factor (seeded by the run's seed) share accelerators at their "
                        + "packed throughputs once jobs want more than the cluster has; equal time per combination, in rounds",
                        "gandiva.py::GandivaPolicy (Gandiva_Packing)")
        }
        return PolicyDescriptor(
            name: objective.rawValue, summary: summary,
            source: "Gavel (OSDI'20) scheduler.py rounds + policies/\(file), stanford-futuredata/gavel c4fa400; LP by COIN-OR Clp",
            oracle: objective.readsRemainingWork, options: objective == .gandiva ? gavelOptions + [throughputsOption] : gavelOptions,
            defaultSwitches: MechanismSwitches(preemption: true), defaultQuantum: .zero,
            build: { options, placement, _, _, _, _ in
                GavelPolicy(objective: objective, placement: placement,
                            round: .seconds(options.roundSeconds ?? 360), resetInterval: .seconds(options.resetIntervalSeconds ?? 1920),
                            colocation: options.colocation, seed: options.runSeed)
            })
    }

    public static var names: [String] { all.map(\.name) }
    /// The policies that run inside FleetTwin: what `compare` runs unless told otherwise.
    public static var builtInNames: [String] { all.filter { !$0.external }.map(\.name) }

    public static func named(_ name: String) -> PolicyDescriptor? { all.first { $0.name == name } }
}
