import ArgumentParser
import FleetTwinEngine
import FleetTwinMetrics
import FleetTwinReports
import FleetTwinScenario
import FleetTwinScheduling
import FleetTwinStore
import Foundation

struct SweepCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sweep",
        abstract: "Run scenarios x policies x seeds, or one shard of them, into a SQLite file.",
        discussion: """
            Units are expanded in a canonical order and named by a content hash; shard I of N runs the units \
            at positions k with k % N == I (one simulation per core at a time). The shard index and count \
            default to SLURM_ARRAY_TASK_ID / SLURM_ARRAY_TASK_COUNT, or to JOB_COMPLETION_INDEX (Kubernetes \
            Indexed Jobs) with FLEETTWIN_SHARD_COUNT. Units already in the file are skipped, so a retried \
            shard does only what is left. Combine shard files with `fleettwin merge`.
            Examples:
              fleettwin sweep Scenarios/example-sweep.yaml
              fleettwin sweep Scenarios/example-sweep.yaml --shard-index 2 --shard-count 4 --db shard-2.sqlite
            """)

    @Argument(help: "The sweep file (YAML: scenarios, policies, seeds).") var sweep: String
    @Option(help: "This shard's index, 0-based.") var shardIndex: Int?
    @Option(help: "The number of shards.") var shardCount: Int?
    @Option(help: "The shard's results file (default sweep.sqlite, or sweep-shard-I.sqlite when sharded).") var db: String?
    @Flag(help: "Print one JSON object.") var json = false

    /// (index, count) from the options, or the environment of a Slurm array task or a
    /// Kubernetes Indexed Job; nil when not sharded.
    func shard(_ environment: [String: String] = ProcessInfo.processInfo.environment) throws -> (Int, Int)? {
        let index = shardIndex ?? environment["SLURM_ARRAY_TASK_ID"].flatMap(Int.init) ?? environment["JOB_COMPLETION_INDEX"].flatMap(Int.init)
        let count = shardCount ?? environment["SLURM_ARRAY_TASK_COUNT"].flatMap(Int.init) ?? environment["FLEETTWIN_SHARD_COUNT"].flatMap(Int.init)
        switch (index, count) {
        case (nil, nil): return nil
        case let (i?, n?):
            guard n >= 1, i >= 0, i < n else { throw InvalidInput(message: "shard index \(i) is not in 0..<\(n)") }
            return (i, n)
        case (_?, nil): throw InvalidInput(message: "a shard index needs a shard count (--shard-count, SLURM_ARRAY_TASK_COUNT or FLEETTWIN_SHARD_COUNT)")
        case (nil, _?): throw InvalidInput(message: "a shard count needs a shard index (--shard-index, SLURM_ARRAY_TASK_ID or JOB_COMPLETION_INDEX)")
        }
    }

    func run() async throws {
        let plan = try Sweep.load(path: sweep)
        let sharding = try shard()
        let units = sharding.map { plan.shard($0.0, of: $0.1) } ?? plan.units
        let path = db ?? sharding.map { "sweep-shard-\($0.0).sqlite" } ?? "sweep.sqlite"
        for unit in units { try ResourceLimits.check(unit.scenario, parallel: min(units.count, ProcessInfo.processInfo.activeProcessorCount)) }
        let store = try ResultStore(path: path)
        let done = Set(try store.sweepUnits().map(\.unitId))  // membership only
        let todo = units.filter { !done.contains($0.id) }
        let parallel = max(1, ProcessInfo.processInfo.activeProcessorCount)
        var differing: [WorkloadResults.Job] = []
        try await withThrowingTaskGroup(of: (Sweep.Unit, SimulationResult, RunMetrics).self) { group in
            var next = 0
            func add() {
                let unit = todo[next]
                next += 1
                group.addTask {
                    let result = try await FleetSimulation(unit.scenario.configuration(seed: unit.seed, policy: unit.policy)).run()
                    return (unit, result, RunMetrics.fold(result, interval: unit.scenario.outputs.utilizationInterval))
                }
            }
            while next < min(parallel, todo.count) { add() }
            // Each unit is stored as it finishes, in its own transaction: a killed shard keeps
            // every finished unit, and its retry skips them.
            while let (unit, result, metrics) = try await group.next() {
                var record = ResultStore.RunRecord(
                    scenarioName: unit.scenario.name, scenarioFile: unit.scenario.file, scenarioHash: unit.scenario.contentHash,
                    scenarioText: unit.scenario.text, seed: unit.seed, policy: result.policy, version: FleetTwinEngine.buildIdentity,
                    result: result, metrics: metrics, storeEvents: unit.scenario.outputs.eventLog)
                let workloads = ScenarioRun.workloadResults(result, scenario: unit.scenario, seed: unit.seed)
                record.workloadResultsJSON = try workloads.map { try $0.json() }
                record.goals = unit.scenario.goals
                differing += workloads?.jobs.filter { !$0.identical } ?? []
                _ = try store.storeSweepUnit(record, unitId: unit.id, position: unit.position)
                if next < todo.count { add() }
            }
        }
        let shardText = sharding.map { "shard \($0.0) of \($0.1): " } ?? ""
        let goals = try Self.goalVerdicts(plan, store: store)
        if json {
            struct Output: Encodable {
                var file, units, ran, skipped: String
                var goals: [GroupVerdicts]
            }
            print(try RunListing.json(Output(file: path, units: String(units.count), ran: String(todo.count),
                                             skipped: String(units.count - todo.count), goals: goals)))
        } else {
            print("\(shardText)\(units.count) of \(plan.units.count) units; ran \(todo.count), \(units.count - todo.count) already in \(path)")
            if !goals.isEmpty {
                print("\ngoals over the seeds stored in \(path) (met: the whole 95% interval meets the target; uncertain: it straddles it)")
                for group in goals {
                    print("\(group.scenario) · \(group.policy) (\(group.seeds) seed\(group.seeds == 1 ? "" : "s")):")
                    for verdict in group.verdicts { print("  " + verdict.line) }
                }
            }
        }
        if !differing.isEmpty { throw ResultMismatch(jobs: differing) }
    }
}

extension SweepCommand {
    /// The goals of one scenario under one policy, judged over the seeds stored so far.
    struct GroupVerdicts: Encodable {
        var scenario: String
        var policy: String
        var seeds: Int
        var verdicts: [GoalVerdict]
    }

    /// For each (scenario, policy) of the sweep whose scenario states goals, in the sweep's
    /// order: the verdicts over the seeds whose units the database holds (a shard's file holds
    /// only its own; a merged file holds them all).
    static func goalVerdicts(_ plan: Sweep, store: ResultStore) throws -> [GroupVerdicts] {
        let runs = Dictionary(try store.sweepUnits().map { ($0.unitId, $0.runId) }, uniquingKeysWith: { a, _ in a })  // looked up only
        // Units grouped by (scenario, policy) in one pass, groups in the sweep's order.
        var order: [String] = [], members: [String: [Sweep.Unit]] = [:]  // looked up; output follows `order`
        for unit in plan.units where !unit.scenario.goals.isEmpty {
            let key = unit.scenario.file + "\u{0}" + unit.policy.text
            if members[key] == nil { order.append(key) }
            members[key, default: []].append(unit)
        }
        var groups: [GroupVerdicts] = []
        for key in order {
            let unit = members[key]![0]
            let stored = try members[key]!.compactMap { runs[$0.id] }.map { try store.goals(run: $0) }
            guard !stored.isEmpty else { continue }
            let verdicts = unit.scenario.goals.indices.map { g in
                GoalVerdict(unit.scenario.goals[g], values: stored.map { $0.indices.contains(g) ? $0[g].value : nil })
            }
            groups.append(GroupVerdicts(scenario: unit.scenario.name, policy: unit.policy.name, seeds: stored.count, verdicts: verdicts))
        }
        return groups
    }
}

struct MergeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "merge",
        abstract: "Combine sweep shard files into one database, checking determinism.",
        discussion: """
            Copies every unit (its run, jobs, metrics, series and events) that OUT does not hold yet. A unit \
            present in two files with different event-log hashes is a determinism failure: it is listed and \
            the command exits with status 1. A unit's id includes the build that ran it (fleettwin --version) \
            and the content of every file its scenario reads, so shards from different code or inputs are \
            kept apart and reported as such, never as a determinism failure.
            Example:
              fleettwin merge sweep.sqlite sweep-shard-*.sqlite
            """)

    @Argument(help: "The database to merge into (created if needed).") var out: String
    @Argument(help: "Shard files.") var shards: [String]

    func validate() throws {
        guard !shards.isEmpty else { throw ValidationError("name at least one shard file") }
    }

    func run() throws {
        let store = try ResultStore(path: out)
        var copied = 0, divergent: [ResultStore.Divergence] = []
        for shard in shards {
            guard FileManager.default.fileExists(atPath: shard) else { throw InvalidInput(message: "no shard file \(shard)") }
            _ = try ResultStore(existingPath: shard)  // brings an older shard's schema up to date
            let (n, bad) = try store.merge(shard: shard)
            copied += n
            divergent += bad
        }
        print("merged \(copied) units from \(shards.count) file\(shards.count == 1 ? "" : "s") into \(out); it holds \(try store.sweepUnits().count)")
        let builds = try store.sweepBuilds()
        if builds.count > 1 {
            // Not a determinism failure: unit ids include the build, so these never collide.
            print("note: the units were run by \(builds.count) different builds (code changed between shards): "
                  + builds.map { "\($0.build) (\($0.units) units)" }.joined(separator: ", "))
        }
        guard divergent.isEmpty else {
            for d in divergent { printError("determinism failure: unit \(d.unitId) has event-log hash \(d.hashes[0]) in \(d.sources[0]) and \(d.hashes[1]) in \(d.sources[1])") }
            throw ExitCode(1)
        }
    }
}
