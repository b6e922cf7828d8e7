import FleetTwinEngine
import FleetTwinFleet
import FleetTwinMetrics
import FleetTwinPolicy
import FleetTwinScheduling
import Foundation

/// A Slurm cluster's state at one instant, as the live twin observed it (`squeue`, `sinfo`):
/// what a forecast forks from. Times are Unix seconds; GPUs are counts.
public struct ClusterSnapshot: Sendable, Equatable, Codable {
    public struct Node: Sendable, Equatable, Codable {
        public var name: String
        public var gpus: Int
        /// False for a node that takes no jobs (down, drained, failing).
        public var up: Bool

        public init(name: String, gpus: Int, up: Bool = true) {
            self.name = name
            self.gpus = gpus
            self.up = up
        }

        /// `up` may be left out: true.
        public init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            self.init(name: try c.decode(String.self, forKey: .name), gpus: try c.decode(Int.self, forKey: .gpus),
                      up: try c.decodeIfPresent(Bool.self, forKey: .up) ?? true)
        }
    }

    /// GPUs a running job holds on one node.
    public struct Share: Sendable, Equatable, Codable {
        public var node: String
        public var gpus: Int

        public init(node: String, gpus: Int) {
            self.node = node
            self.gpus = gpus
        }
    }

    public struct Job: Sendable, Equatable, Codable {
        public var id: String
        public var gpus: Int
        public var submit: Double
        /// When it may start (a requeued job waits); nil: at submission.
        public var eligible: Double?
        /// Seconds; nil: none (the partition's default applies).
        public var timeLimit: Double?
        public var partition: String?
        public var qos: String?
        public var user: String?
        /// Why it waits, in Slurm's words (squeue's `state_reason`: Priority, Resources, ...).
        public var reason: String?
        /// Running jobs: when they started and where they run.
        public var start: Double?
        public var shares: [Share]?

        public init(id: String, gpus: Int, submit: Double, eligible: Double? = nil, timeLimit: Double? = nil, partition: String? = nil,
                    qos: String? = nil, user: String? = nil, reason: String? = nil, start: Double? = nil, shares: [Share]? = nil) {
            self.id = id
            self.gpus = gpus
            self.submit = submit
            self.eligible = eligible
            self.timeLimit = timeLimit
            self.partition = partition
            self.qos = qos
            self.user = user
            self.reason = reason
            self.start = start
            self.shares = shares
        }
    }

    public var time: Double
    /// The FleetTwin accelerator type of the cluster's GPUs.
    public var acceleratorType: String
    public var nodes: [Node]
    public var running: [Job]
    public var pending: [Job]

    /// `acceleratorType` may be left out: h100-80gb.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(time: try c.decode(Double.self, forKey: .time),
                  acceleratorType: try c.decodeIfPresent(String.self, forKey: .acceleratorType) ?? "h100-80gb",
                  nodes: try c.decode([Node].self, forKey: .nodes), running: try c.decode([Job].self, forKey: .running),
                  pending: try c.decode([Job].self, forKey: .pending))
    }

    public init(time: Double, acceleratorType: String = "h100-80gb", nodes: [Node], running: [Job], pending: [Job]) {
        self.time = time
        self.acceleratorType = acceleratorType
        self.nodes = nodes
        self.running = running
        self.pending = pending
    }
}

/// How long a job runs, as a share of its time limit, learnt from the cluster's own history
/// (the elapsed / limit ratios of its finished jobs, from sacct). Users set limits with a
/// margin that is their own habit, so the ratio is kept per user and partition and used
/// where at least `minimumSamples` were seen, else the cluster's; with no history at all a
/// job runs to its limit, which is what Slurm itself plans with. A running job's draw is
/// conditioned on what it has already run.
public struct RuntimeModel: Sendable, Equatable {
    public var overall: [Double]
    public var byUserAndPartition: [String: [Double]]
    public var minimumSamples: Int

    public init(overall: [Double] = [], byUserAndPartition: [String: [Double]] = [:], minimumSamples: Int = 5) {
        self.overall = overall.sorted()
        self.byUserAndPartition = byUserAndPartition.mapValues { $0.sorted() }
        self.minimumSamples = minimumSamples
    }

    /// Ratios from finished jobs: (user, partition, elapsed seconds, limit seconds).
    public init(history: [(user: String?, partition: String?, elapsed: Double, limit: Double)], minimumSamples: Int = 5) {
        var overall: [Double] = [], keyed: [String: [Double]] = [:]
        for h in history where h.limit > 0 && h.elapsed >= 0 {
            let ratio = min(1, h.elapsed / h.limit)
            overall.append(ratio)
            keyed[Self.key(h.user, h.partition), default: []].append(ratio)
        }
        self.init(overall: overall, byUserAndPartition: keyed, minimumSamples: minimumSamples)
    }

    static func key(_ user: String?, _ partition: String?) -> String { "\(user ?? "")|\(partition ?? "")" }

    /// A run time in seconds for a job with `limit`, `elapsed` already run, drawn with `g`.
    func draw(limit: Double, elapsed: Double, user: String?, partition: String?, using g: inout SeededGenerator) -> Double {
        let samples = byUserAndPartition[Self.key(user, partition)].flatMap { $0.count >= minimumSamples ? $0 : nil } ?? overall
        // Conditioned on having run `elapsed` already.
        let possible = samples.filter { $0 * limit > elapsed }
        guard !possible.isEmpty else { return max(limit, elapsed + 1) }
        return possible[Int(g.next() % UInt64(possible.count))] * limit
    }
}

/// When each pending job of a snapshot starts, forecast by forking the snapshot into
/// simulations under the `slurm` policy with the cluster's configuration: running jobs keep
/// their nodes and end when their drawn run time does; pending jobs queue in job-id order.
public struct StartForecast: Sendable, Equatable, Codable {
    public var id: String
    /// Unix seconds, over the replicas that started it (nearest rank).
    public var p10: Double?
    public var p50: Double?
    public var p90: Double?
    /// Replicas in which it had not started by the horizon.
    public var notStarted: Int
    public var reason: String?
}

public enum Forecaster {
    /// Why a snapshot cannot be forked.
    public struct Problem: Error, CustomStringConvertible {
        public var description: String

        public init(description: String) { self.description = description }
    }

    /// Forecasts every pending job's start over `replicas` seeded replicas (replica r uses the
    /// generator streams of (seed, "forecast-runtime", r x jobs + job)).
    public static func forecast(_ snapshot: ClusterSnapshot, configuration: SlurmConfiguration, runtimes: RuntimeModel,
                                replicas: Int, seed: UInt64, horizonSeconds: Double = 7 * 86_400) async throws -> [StartForecast] {
        let (pending, starts) = try await replicaStarts(snapshot, configuration: configuration, runtimes: runtimes, replicas: replicas,
                                                        seed: seed, horizonSeconds: horizonSeconds)
        return summary(pending, starts)
    }

    /// `forecast`, and the replicas' median `JobCountSeries` of the snapshot's jobs (running
    /// and pending) from the snapshot's time to `seriesHorizon` µs after it: the GPUs of the
    /// jobs still waiting and the jobs running, as the forks predict them. The same replicas
    /// (same seeds) as `forecast`, so the starts are the same.
    public static func forecastWithSeries(_ snapshot: ClusterSnapshot, configuration: SlurmConfiguration, runtimes: RuntimeModel,
                                          replicas: Int, seed: UInt64, seriesHorizon: Int64,
                                          horizonSeconds: Double = 7 * 86_400) async throws -> (starts: [StartForecast], series: JobCountSeries) {
        let runs = try await replicaRuns(snapshot, configuration: configuration, runtimes: runtimes, replicas: replicas, seed: seed,
                                         horizonSeconds: horizonSeconds, keepResults: true)
        let series = runs.results.map { JobCountSeries.fold($0.log.records, gpus: $0.jobs.map(\.worldSize), horizon: seriesHorizon) }
        return (summary(runs.pending, runs.starts), JobCountSeries.median(series))
    }

    /// Per pending job, its replicas' starts as a median and p10-p90 (nearest rank).
    static func summary(_ pending: [ClusterSnapshot.Job], _ starts: [[Double?]]) -> [StartForecast] {
        pending.enumerated().map { k, job in
            let s = starts.compactMap { $0[k] }.sorted()
            func rank(_ p: Double) -> Double? { Distribution.nearestRank(s, p) }
            return StartForecast(id: job.id, p10: rank(0.1), p50: rank(0.5), p90: rank(0.9), notStarted: starts.count - s.count, reason: job.reason)
        }
    }

    /// Each replica's start of every pending job (Unix seconds; nil: not started by the
    /// horizon), `starts[replica][k]` for the k-th of `pending` (job-id order): what
    /// `forecast` summarises, and what a what-if pairs replica by replica.
    /// `policy`: what decides in the forks, given the replica's backfill phase; nil: the
    /// `slurm` policy with `configuration` (a what-if of another policy passes its own; it
    /// must adopt running jobs).
    public static func replicaStarts(_ snapshot: ClusterSnapshot, configuration: SlurmConfiguration, runtimes: RuntimeModel,
                                     replicas: Int, seed: UInt64, horizonSeconds: Double = 7 * 86_400,
                                     policy: (@Sendable (_ backfillPhase: VirtualTime) -> any SchedulingPolicy)? = nil) async throws
        -> (pending: [ClusterSnapshot.Job], starts: [[Double?]]) {
        let runs = try await replicaRuns(snapshot, configuration: configuration, runtimes: runtimes, replicas: replicas, seed: seed,
                                         horizonSeconds: horizonSeconds, policy: policy, keepResults: false)
        return (runs.pending, runs.starts)
    }

    /// `replicaStarts` with each replica's whole run (`results[r]`, when `keepResults`), for
    /// a what-if that stores its forks as runs; a replica's seed is `seed + r`.
    public static func replicaRuns(_ snapshot: ClusterSnapshot, configuration: SlurmConfiguration, runtimes: RuntimeModel,
                                   replicas: Int, seed: UInt64, horizonSeconds: Double = 7 * 86_400,
                                   policy: (@Sendable (_ backfillPhase: VirtualTime) -> any SchedulingPolicy)? = nil,
                                   keepResults: Bool) async throws
        -> (pending: [ClusterSnapshot.Job], starts: [[Double?]], results: [SimulationResult]) {
        // Forecasts keep the instant model (the main scheduler at every event, exact will-run
        // starts): scored side by side on captured sessions, slurmctld's half-second latency
        // and will-run windows moved the errors by less than the replicas' spread (README,
        // Forecasts), and the hand cases (TwinForecastTests) are exact under this model.
        var configuration = configuration
        configuration.schedulerLatency = nil
        configuration.willRunWindow = nil
        let up = snapshot.nodes.filter(\.up)
        guard let perNode = up.first?.gpus, up.allSatisfy({ $0.gpus == perNode }), perNode > 0 else {
            throw Problem(description: "a forecast needs nodes of one GPU count; the snapshot has \(Set(up.map(\.gpus)).sorted())")
        }
        let nodeIndex = Dictionary(uniqueKeysWithValues: up.enumerated().map { ($0.element.name, Int32($0.offset)) })  // looked up only
        guard let profile = AcceleratorProfile.builtIn.first(where: { $0.name == snapshot.acceleratorType }) else {
            throw Problem(description: "unknown accelerator type \(snapshot.acceleratorType); built in: \(AcceleratorProfile.builtIn.map(\.name).joined(separator: ", "))")
        }
        let fleet = FleetSpec(regions: [RegionSpec(name: "slurm", clusters: [
            ClusterSpec(name: "slurm", nodes: up.count, acceleratorsPerNode: perNode, acceleratorType: snapshot.acceleratorType)])],
                              profiles: [profile])
        func limit(_ job: ClusterSnapshot.Job) -> Double {
            job.timeLimit ?? configuration.partitions.first { $0.name == job.partition }?.defaultTime?.seconds ?? horizonSeconds
        }
        let pending = snapshot.pending.sorted { jobOrder($0.id).lexicographicallyPrecedes(jobOrder($1.id)) }
        var starts: [[Double?]] = []
        var results: [SimulationResult] = []
        for r in 0..<replicas {
            var jobs: [JobSpec] = [], adopted: [Int: AdoptedRun] = [:]
            for (k, job) in snapshot.running.enumerated() {
                guard let start = job.start, let shares = job.shares else {
                    throw Problem(description: "running job \(job.id) lacks its start or its nodes")
                }
                var nodeShares: [NodeShare] = []
                for share in shares {
                    guard let n = nodeIndex[share.node] else { throw Problem(description: "running job \(job.id) runs on \(share.node), which is not an up node") }
                    nodeShares.append(NodeShare(node: n, count: Int32(share.gpus)))
                }
                var g = SeededGenerator(seed: seed, stream: "forecast-runtime", index: UInt64(r * 100_000 + k))
                let elapsed = max(0, snapshot.time - start)
                let total = runtimes.draw(limit: limit(job), elapsed: elapsed, user: job.user, partition: job.partition, using: &g)
                var spec = JobSpec(name: job.id, submit: .zero, tier: .standard, worldSize: job.gpus, acceleratorType: snapshot.acceleratorType,
                                   work: .seconds(max(1e-3, total - elapsed)), tenant: job.user)
                // Slurm plans it to end at start + limit: from now, what is left of the limit.
                spec.timeLimit = .seconds(max(1, limit(job) - elapsed))
                spec.partition = job.partition
                spec.qos = job.qos
                adopted[jobs.count] = AdoptedRun(cluster: 0, shares: nodeShares)
                jobs.append(spec)
            }
            for (k, job) in pending.enumerated() {
                var g = SeededGenerator(seed: seed, stream: "forecast-runtime", index: UInt64(r * 100_000 + 50_000 + k))
                let total = runtimes.draw(limit: limit(job), elapsed: 0, user: job.user, partition: job.partition, using: &g)
                let arrives = max(0, (job.eligible ?? snapshot.time) - snapshot.time)
                var spec = JobSpec(name: job.id, submit: .seconds(arrives), tier: .standard, worldSize: job.gpus,
                                   acceleratorType: snapshot.acceleratorType, work: .seconds(max(1e-3, total)), tenant: job.user)
                spec.timeLimit = .seconds(limit(job))
                spec.partition = job.partition
                spec.qos = job.qos
                jobs.append(spec)
            }
            // The cluster's backfill cycle has a phase the twin cannot see: each replica draws one.
            var phaseDraw = SeededGenerator(seed: seed, stream: "forecast-backfill-phase", index: UInt64(r))
            let interval = max(1, configuration.bfInterval.microseconds)
            let phase = VirtualTime(microseconds: replicas > 1 ? Int64(phaseDraw.next() % UInt64(interval)) : 0)
            let decider = policy?(phase) ?? SlurmPolicy(configuration: configuration, backfillPhase: phase)
            guard decider.adoptsRunningJobs else {
                throw Problem(description: "policy \(decider.name) cannot start from a cluster with running jobs")
            }
            var config = SimulationConfiguration(fleet: fleet, jobs: jobs, policy: decider,
                                                 horizon: .seconds(horizonSeconds), seed: seed &+ UInt64(r))
            config.adopted = adopted
            let result = try await FleetSimulation(config).run()
            let metrics = RunMetrics.fold(result)
            let byName = Dictionary(zip(result.jobs.map(\.name), metrics.jobs.map(\.firstStart)), uniquingKeysWith: { a, _ in a })  // looked up only
            starts.append(pending.map { job in (byName[job.id] ?? nil).map { snapshot.time + $0.seconds } })
            if keepResults { results.append(result) }
        }
        return (pending, starts, results)
    }

    /// Slurm job ids in numeric order (array tasks `12_3` by job then task).
    static func jobOrder(_ id: String) -> [Int] { id.split(separator: "_").map { Int($0) ?? Int.max } }
}
