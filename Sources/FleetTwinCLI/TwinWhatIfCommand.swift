import ArgumentParser
import FleetTwinEngine
import FleetTwinLive
import FleetTwinMetrics
import FleetTwinPolicy
import FleetTwinReports
import FleetTwinScenario
import FleetTwinScheduling
import FleetTwinStore
import Foundation

/// `fleettwin twin whatif`: what a change would do to the jobs waiting now. Forks the same
/// observed state twice, unchanged and changed, with the same seeded replicas (the same run
/// times and backfill phases), and compares them replica by replica: the mean wait of the
/// pending jobs (a paired difference with its 95% interval over replicas) and each job's
/// median start.
struct TwinWhatIfCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "whatif",
        abstract: "Fork the cluster's state unchanged and changed (nodes added or failed, slurm.conf settings, another policy) and compare the pending jobs' starts.",
        discussion: """
            Changes: --add-nodes N (nodes like the cluster's), --fail-nodes n3,n4 (down from now; the jobs \
            running there are requeued, eligible again cred_expire + 1 s later, as Slurm does), --set KEY=VALUE \
            (a slurm.conf line, applied after the file: SchedulerParameters=bf_interval=10, PriorityWeightAge=1000), \
            --policy NAME (another policy decides in the changed fork, from the same running jobs; every built-in \
            policy but gandiva can).
            Example:
              fleettwin twin whatif --replay-polls capture/polls --poll 40 --slurm-conf slurm.conf --slurm-qos qos.psv --add-nodes 1
            """)

    @Option(help: "The cluster's state (JSON, as `twin eta` reads it).") var snapshot: String?
    @Option(help: "Or a captured session; the state at --poll.") var replayPolls: String?
    @Option(help: "With --replay-polls: the observation (0-based; default the last with pending jobs).") var poll: Int?
    @Flag(help: "Or the live cluster now (squeue --json and sinfo --json with the environment's SLURM_CONF).") var live = false
    @Option(help: "With --live: read the cluster through slurmrestd at this address (http://host:port) instead of its commands; the token comes from SLURM_JWT.")
    var rest: String?
    @Option(help: "With --rest: the user the token was made for (default: $USER, else root).") var restUser: String?
    @Option(help: "The cluster's slurm.conf.") var slurmConf: String?
    @Option(help: "The QOS table.") var slurmQos: String?
    @Option(help: "Nodes to add, each like the cluster's first.") var addNodes: Int = 0
    @Option(help: "Nodes to take down, comma-separated.") var failNodes: String?
    @Option(help: "A slurm.conf line to apply after the file (repeatable).") var set: [String] = []
    @Option(help: "Another policy to decide in the changed fork (fleettwin policies; one that can start from running jobs).") var policy: String?
    @Option(help: "Store both forks' replicas as runs and the pair as a comparison in this database (`report --compare` draws it).") var db: String?
    @Option(help: "Seeded replicas.") var replicas: Int = 20
    @Option(help: "Seed.") var seed: UInt64 = 1
    @Flag(help: "Print JSON.") var json = false

    struct Comparison: Encodable {
        struct Job: Encodable {
            var id: String
            @NullEncoded var unchangedP50: Double?
            @NullEncoded var changedP50: Double?
            @NullEncoded var deltaSeconds: Double?
        }
        var changes: [String]
        var replicas: Int
        var meanWaitUnchangedSeconds: Double
        var meanWaitChangedSeconds: Double
        /// Changed minus unchanged, replica by replica: its mean and 95% half-width.
        var meanWaitDifferenceSeconds: Double
        @NullEncoded var meanWaitDifferenceCI95: Double?
        var jobs: [Job]
    }

    func run() async throws {
        guard (2...10_000).contains(replicas) else { throw InvalidInput(message: "--replicas must be from 2 to 10000 (the interval needs two)") }
        let (state, history, source) = try loadState()
        noteSlurmDefaults(slurmConf)
        var changes: [String] = []
        var changed = state
        if addNodes > 0 {
            guard addNodes <= 10_000, let like = state.nodes.first(where: \.up) ?? state.nodes.first else {
                throw InvalidInput(message: "--add-nodes must be from 1 to 10000, on a cluster with nodes")
            }
            changed.nodes += (1...addNodes).map { ClusterSnapshot.Node(name: "whatif-\($0)", gpus: like.gpus) }
            changes.append("add \(addNodes) node(s) of \(like.gpus) GPUs")
        }
        let text = try slurmConf.map { path -> String in
            guard let data = FileManager.default.contents(atPath: path) else { throw InvalidInput(message: "\(path): cannot read the file") }
            return String(decoding: data, as: UTF8.self)
        } ?? ""
        func configuration(_ extra: [String]) throws -> SlurmConfiguration {
            do {
                var c = try SlurmConfiguration.parse(([text] + extra).joined(separator: "\n"), file: slurmConf ?? "slurm.conf")
                if let slurmQos { c.qos = try SlurmConfiguration.read(conf: nil, qos: slurmQos).qos }
                return c
            } catch { throw InvalidInput(message: error.description + (extra.isEmpty ? "" : " (the --set lines follow the file's)")) }
        }
        let unchangedConfiguration = try configuration([])
        let changedConfiguration = try configuration(set)
        changes += set.map { "set \($0)" }
        if let failNodes {
            let names = failNodes.split(separator: ",").map(String.init)
            for name in names {
                guard let i = changed.nodes.firstIndex(where: { $0.name == name }) else {
                    throw InvalidInput(message: "--fail-nodes: no node \(name); the cluster has \(state.nodes.map(\.name).joined(separator: ", "))")
                }
                changed.nodes[i].up = false
            }
            // Their jobs are requeued, as Slurm requeues a batch job whose node fails.
            let hit = changed.running.filter { $0.shares?.contains { names.contains($0.node) } ?? false }
            changed.running.removeAll { job in hit.contains { $0.id == job.id } }
            changed.pending += hit.map { job in
                var requeued = job
                requeued.start = nil
                requeued.shares = nil
                requeued.eligible = state.time + changedConfiguration.requeueDelay.seconds
                requeued.reason = "NodeFail"
                return requeued
            }
            changes.append("fail \(names.joined(separator: ", ")) (\(hit.count) running job(s) requeued)")
        }
        var changedPolicy: (@Sendable (VirtualTime) -> any SchedulingPolicy)?
        if let policy {
            guard let descriptor = PolicyRegistry.named(policy) else {
                throw InvalidInput(message: "--policy must be one of: \(PolicyRegistry.names.joined(separator: ", ")); found '\(policy)'")
            }
            guard policy != "slurm" else {
                throw InvalidInput(message: "--policy slurm is the unchanged fork's policy already; give another (or --set to change its configuration)")
            }
            do {
                guard !descriptor.external, descriptor.make().adoptsRunningJobs else {
                    throw InvalidInput(message: "--policy \(policy) cannot start from a cluster with running jobs; these can: "
                                       + PolicyRegistry.all.filter { !$0.external && $0.make().adoptsRunningJobs }.map(\.name).joined(separator: ", "))
                }
                changedPolicy = { _ in descriptor.make() }
                changes.append("policy \(policy)")
            }
        }
        guard !changes.isEmpty else { throw InvalidInput(message: "no change: give --add-nodes, --fail-nodes, --set or --policy") }
        let model = RuntimeModel(history: history)
        typealias Fork = (pending: [ClusterSnapshot.Job], starts: [[Double?]], results: [SimulationResult])
        let base: Fork, other: Fork
        do {
            base = try await Forecaster.replicaRuns(state, configuration: unchangedConfiguration, runtimes: model, replicas: replicas, seed: seed,
                                                    keepResults: db != nil)
            other = try await Forecaster.replicaRuns(changed, configuration: changedConfiguration, runtimes: model, replicas: replicas, seed: seed,
                                                     policy: changedPolicy, keepResults: db != nil)
        } catch let problem as Forecaster.Problem {
            throw InvalidInput(message: "\(source): \(problem.description)")
        }
        // The jobs pending in both, compared replica by replica; a job not started by the
        // horizon counts as starting there (censored).
        let horizon = state.time + 7 * 86_400
        let common = base.pending.indices.compactMap { k in other.pending.firstIndex { $0.id == base.pending[k].id }.map { (k, $0) } }
        guard !common.isEmpty else { throw InvalidInput(message: "\(source): no job is pending in both forks") }
        func meanWait(_ starts: [Double?], _ indices: [Int]) -> Double {
            indices.reduce(0) { $0 + ((starts[$1] ?? horizon) - state.time) } / Double(indices.count)
        }
        let unchangedWaits = base.starts.map { meanWait($0, common.map(\.0)) }
        let changedWaits = other.starts.map { meanWait($0, common.map(\.1)) }
        let difference = MeanInterval(zip(changedWaits, unchangedWaits).map { $0 - $1 })
        func median(_ values: [Double?]) -> Double? {
            Distribution.nearestRank(values.compactMap { $0 }.sorted(), 0.5)
        }
        let jobs = common.map { k, j -> Comparison.Job in
            let a = median(base.starts.map { $0[k] }), b = median(other.starts.map { $0[j] })
            return Comparison.Job(id: base.pending[k].id, unchangedP50: a, changedP50: b, deltaSeconds: a.flatMap { a in b.map { $0 - a } })
        }
        let result = Comparison(changes: changes, replicas: replicas, meanWaitUnchangedSeconds: unchangedWaits.reduce(0, +) / Double(replicas),
                                meanWaitChangedSeconds: changedWaits.reduce(0, +) / Double(replicas), meanWaitDifferenceSeconds: difference.mean,
                                meanWaitDifferenceCI95: difference.halfWidth, jobs: jobs)
        var stored: String?
        if let db {
            let id = try storeForks(base.results, other.results, changes: changes, state: state, source: source, db: db)
            stored = "stored as comparison \(id) in \(db); draw it with: fleettwin report --compare \(id) --db \(db)"
        }
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .prettyPrinted]
            print(String(decoding: try encoder.encode(result), as: UTF8.self))
            return
        }
        print("what if: \(changes.joined(separator: "; ")), from \(source)")
        print(String(format: "mean wait of the %d job(s) pending in both: %.1f s -> %.1f s, difference %+.1f s", common.count,
                     result.meanWaitUnchangedSeconds, result.meanWaitChangedSeconds, result.meanWaitDifferenceSeconds)
              + (result.meanWaitDifferenceCI95.map { String(format: " ± %.1f s (95%%, %d paired replicas)", $0, replicas) } ?? ""))
        print("\n" + "job".padding(toLength: 12, withPad: " ", startingAt: 0) + "unchanged   changed     delta")
        func when(_ t: Double?) -> String { t.map { String(format: "+%.0fs", $0 - state.time) } ?? "-" }
        for job in jobs {
            print(job.id.padding(toLength: 12, withPad: " ", startingAt: 0) + when(job.unchangedP50).padding(toLength: 12, withPad: " ", startingAt: 0)
                  + when(job.changedP50).padding(toLength: 12, withPad: " ", startingAt: 0) + (job.deltaSeconds.map { String(format: "%+.0fs", $0) } ?? "-"))
        }
        if let stored { print("\n" + stored) }
    }

    /// Both forks' replicas as runs (unchanged first, replica-minor, as `compare` stores
    /// policy x seed) and the pair as a comparison whose two "policies" are the forks; the
    /// scenario is the observed state (its canonical JSON) and the changes. One transaction.
    func storeForks(_ unchanged: [SimulationResult], _ changed: [SimulationResult], changes: [String], state: ClusterSnapshot,
                    source: String, db: String) throws -> Int64 {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let text = String(decoding: try encoder.encode(state), as: UTF8.self) + "\n# what if: " + changes.joined(separator: "; ") + "\n"
        var hasher = StableHasher()
        hasher.combine(text)
        let name = "whatif \(source) @\(Int64(state.time))"
        let forks = ["unchanged", "changed"]
        let seeds = (0..<UInt64(unchanged.count)).map { seed &+ $0 }
        var records: [ResultStore.RunRecord] = []
        for (label, results) in zip(forks, [unchanged, changed]) {
            for (r, result) in results.enumerated() {
                records.append(ResultStore.RunRecord(
                    scenarioName: name, scenarioFile: source, scenarioHash: hasher.hex, scenarioText: text, seed: seeds[r],
                    policy: "\(label) (\(result.policy))", version: FleetTwinEngine.buildIdentity, result: result,
                    metrics: RunMetrics.fold(result), storeEvents: false))
            }
        }
        let store = try ResultStore(path: db)
        return try store.storeComparison(scenarioName: name, policies: forks.map { label in records.first { $0.policy.hasPrefix(label) }!.policy },
                                         seeds: seeds, runs: records).comparison
    }

    func loadState() throws -> (ClusterSnapshot, [(user: String?, partition: String?, elapsed: Double, limit: Double)], String) {
        try twinState(snapshot: snapshot, replayPolls: replayPolls, poll: poll, live: live, rest: rest, restUser: restUser)
    }
}

/// The state a forecast forks from, the run-time history known at it, and where it came from:
/// a snapshot file, or the observation `poll` (default the last with pending jobs) of a
/// captured session, with the jobs finished by then.
func twinState(snapshot: String?, replayPolls: String?, poll: Int?, live: Bool = false, rest: String? = nil, restUser: String? = nil) throws
    -> (ClusterSnapshot, [(user: String?, partition: String?, elapsed: Double, limit: Double)], String) {
    guard rest == nil || live else { throw InvalidInput(message: "--rest reads the live cluster: give --live with it") }
    if live {
        // The cluster now: one poll of squeue and sinfo (SLURM_CONF from the environment), or
        // of the same through slurmrestd.
        guard snapshot == nil, replayPolls == nil else { throw InvalidInput(message: "--live asks the cluster itself; leave out --snapshot and --replay-polls") }
        // squeue and sinfo only: the state now is theirs; sacct adds history the fork does not use.
        var slurm: any PollSource = try rest.map { try LiveOptions.restSource($0, user: restUser, sacct: false).0 }
            ?? LiveSlurm(clock: wallClockMicroseconds, sacct: false)
        let answer = slurm.next()
        guard case let .replies(replies)? = answer else {
            if case let .failed(_, message)? = answer { throw InvalidInput(message: "the live cluster did not answer: \(message)") }
            throw InvalidInput(message: rest.map { "the live cluster did not answer through slurmrestd \($0)" }
                ?? "the live cluster did not answer (squeue --json, sinfo --json; is SLURM_CONF set?)")
        }
        var mirror = SlurmMirror()
        let step = mirror.observe(replies)
        guard let observation = step.observation else {
            throw InvalidInput(message: "the live cluster's reply could not be read: \(step.events.first?.details.note ?? "")")
        }
        do { return (try ClusterSnapshot(observation), FinishedRuns([observation]).runs, "the live cluster") } catch {
            throw InvalidInput(message: "the live cluster: \(error.description)")
        }
    }
    switch (snapshot, replayPolls) {
    case let (path?, nil):
        guard let data = FileManager.default.contents(atPath: path) else { throw InvalidInput(message: "\(path): cannot read the file") }
        return (try ClusterSnapshot.decode(data, file: path), [], path)
    case let (nil, directory?):
        let seen = try mirrored(polls: directory).observations.map(\.observation)
        let index = try poll ?? (seen.lastIndex { !$0.openJobs.filter { $0.phase == .pending }.isEmpty }).orThrow(
            InvalidInput(message: "\(directory): no observation has a pending job"))
        guard seen.indices.contains(index) else { throw InvalidInput(message: "--poll \(index): the session has observations 0 to \(seen.count - 1)") }
        do { return (try ClusterSnapshot(seen[index]), FinishedRuns(seen[...index]).runs, "\(directory), observation \(index)") } catch {
            throw InvalidInput(message: "\(directory): \(error.description)")
        }
    default:
        throw InvalidInput(message: "give the cluster's state as --snapshot FILE, --replay-polls DIR or --live (one of them)")
    }
}
