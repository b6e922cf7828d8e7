import ArgumentParser
import FleetTwinEngine
import FleetTwinMetrics
import FleetTwinReports
import FleetTwinScenario
import FleetTwinScheduling
import FleetTwinStore
import Foundation

/// `fleettwin tune`: the cheapest setting of a scenario's knobs that meets every goal.
///
/// The search races the candidates (every combination of the knobs' values) over doubling
/// seed budgets, as successive halving does with its budgets (Jamieson and Talwalkar,
/// AISTATS 2016), but eliminates by verdict rather than by rank: a candidate that misses a
/// goal over the whole 95% interval is dropped, one that meets them all is settled, and the
/// uncertain ones get twice the seeds in the next round, up to `--max-seeds`. Minimising
/// accelerators, a candidate no cheaper than a settled one is dropped unevaluated. Every run
/// is a sweep unit of the database, so a rerun reuses them.
struct TuneCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tune",
        abstract: "Search knobs of a scenario for the cheapest setting that meets every goal.",
        discussion: """
            Each --knob names a value of the scenario by its keys (a segment that is not a key names the list \
            element with that name, so fleet.c.nodes is the nodes of cluster c) and the values to try: a range \
            1..64 or a list 30m,1h,2h. Every combination is a candidate. Candidates race over seeds: --seeds \
            first, doubling for those whose verdicts are still uncertain, up to --max-seeds; a candidate that \
            misses a goal is dropped, one that meets them all is settled (goal verdicts: Scenarios/README.md). \
            The choice is the settled candidate with the fewest accelerators (--minimize accelerators) or the \
            highest mean utilization (--maximize utilization); the Pareto front of accelerators against \
            utilization over the settled candidates is printed with it. Every run is stored as a sweep unit, \
            so a rerun with the same --db reuses them.
            Example:
              fleettwin tune Scenarios/capacity.yaml --knob fleet.c.nodes=4..16 --minimize accelerators
            """)

    @Argument(help: "The scenario file (YAML), with a goals: section.") var scenario: String
    @Option(name: .customLong("knob"), help: "NAME=RANGE: a value of the scenario and the values to try (repeatable).")
    var knobs: [String] = []
    @Option(help: "What to minimise: accelerators.") var minimize: String?
    @Option(help: "What to maximise: utilization.") var maximize: String?
    @Option(help: "Seeds every candidate runs first.") var seeds = 2
    @Option(help: "The most seeds a candidate runs before its open verdicts are reported as uncertain.") var maxSeeds = 16
    @Option(help: "Run this policy instead of the scenario's.") var policy: PolicyName?
    @Option(help: "The results database (SQLite).") var db = "tune.sqlite"
    @Option(help: "Also draw every setting and the Pareto front into this SVG file.") var plot: String?
    @Flag(help: "Print one JSON object.") var json = false

    enum Objective: String, Encodable { case accelerators, utilization }

    func objective() throws -> Objective {
        switch (minimize, maximize) {
        case ("accelerators"?, nil), (nil, nil): return .accelerators
        case (nil, "utilization"?): return .utilization
        default: throw ValidationError("choose one of --minimize accelerators or --maximize utilization")
        }
    }

    func validate() throws {
        _ = try objective()
        guard !knobs.isEmpty else { throw ValidationError("name at least one --knob NAME=RANGE") }
        guard seeds >= 2, maxSeeds >= seeds, maxSeeds <= 1000 else {
            throw ValidationError("--seeds must be at least 2 (an interval needs two) and at most --max-seeds (at most 1000)")
        }
    }

    /// One setting of the knobs and what its runs showed.
    struct Candidate: Encodable {
        var setting: [String: String]
        var accelerators: Int
        var seeds: Int = 0
        var utilization: Double?
        var status: Status = .racing
        var goals: [GoalVerdict] = []
        var dropped: String?

        enum Status: String, Encodable { case racing, met, missed, uncertain, pruned }
    }

    func run() async throws {
        let base = try Scenario.load(path: scenario)
        guard !base.goals.isEmpty else {
            throw InvalidInput(message: "\(scenario) states no goals: tune searches for a setting that meets them (add a goals: section; see Scenarios/README.md)")
        }
        let parsedKnobs: [Knob]
        do {
            parsedKnobs = try knobs.map { k throws(KnobError) in try Knob(parsing: k) }
            try Knob.checkDistinct(parsedKnobs)
        } catch { throw InvalidInput(message: error.description) }
        let objective = try objective()
        let policySpec = policy.map { base.policy.renamed($0.value) } ?? base.policy
        if let problem = policySpec.problem { throw ValidationError(problem) }

        // Every combination, in knob order (the first knob varies slowest).
        var settings: [[(path: String, value: String)]] = [[]]
        for knob in parsedKnobs { settings = settings.flatMap { s in knob.values.map { s + [(knob.path, $0)] } } }
        guard settings.count <= 10_000 else { throw InvalidInput(message: "\(settings.count) candidates: at most 10,000 (narrow the ranges)") }
        var scenarios: [Scenario] = []
        for setting in settings {
            let named = setting.map { "\($0.path)=\($0.value)" }.joined(separator: " ")
            do { scenarios.append(try base.setting(setting)) } catch let error as KnobError {
                throw InvalidInput(message: error.description)
            } catch let error as ScenarioError {
                // Located in the scenario with the value replaced; say which setting it was.
                throw InvalidInput(message: "the setting \(named) makes the scenario invalid:\n\(error.description)")
            }
        }
        var candidates = zip(settings, scenarios).map { setting, s in
            Candidate(setting: Dictionary(setting.map { ($0.path, $0.value) }, uniquingKeysWith: { _, b in b }), accelerators: s.accelerators)
        }
        let store = try ResultStore(path: db)
        var stored = Dictionary(try store.sweepUnits().map { ($0.unitId, $0.runId) }, uniquingKeysWith: { a, _ in a })  // looked up only
        var values = [[[Double?]]](repeating: [], count: candidates.count)  // [candidate][seed][goal]
        var utilizations = [[Double]](repeating: [], count: candidates.count)
        var evaluated = 0, reused = 0
        var budget = seeds
        while true {
            // Minimising accelerators: nothing at least as costly as a settled setting can win.
            if objective == .accelerators, let best = candidates.filter({ $0.status == .met }).map(\.accelerators).min() {
                for i in candidates.indices where candidates[i].status == .racing && candidates[i].accelerators >= best {
                    candidates[i].status = .pruned
                    candidates[i].dropped = "no cheaper than a setting that meets every goal (\(best) accelerators)"
                }
            }
            let racing = candidates.indices.filter { candidates[$0].status == .racing }
            if racing.isEmpty { break }
            var work: [(candidate: Int, seed: UInt64, id: String)] = []
            for i in racing {
                for seed in UInt64(values[i].count + 1)...UInt64(budget) {
                    var h = StableHasher()
                    h.combine(scenarios[i].contentHash)
                    h.combine(policySpec.text)
                    h.combine(seed)
                    h.combine(FleetTwinEngine.buildIdentity)
                    work.append((i, seed, h.hex))
                }
            }
            let results = try await Self.evaluate(work.filter { stored[$0.id] == nil }, scenarios: scenarios, policy: policySpec,
                                                  store: store, firstPosition: evaluated + reused)
            for (id, runId) in results { stored[id] = runId }
            evaluated += results.count
            reused += work.count - results.count
            for item in work {
                let runId = stored[item.id]!
                values[item.candidate].append(try store.goals(run: runId).map(\.value))
                utilizations[item.candidate].append(try store.metrics(run: runId).first { $0.name == "utilization" }?.value ?? 0)
            }
            for i in racing {
                let goals = base.goals.indices.map { g in
                    GoalVerdict(base.goals[g], values: values[i].map { $0.indices.contains(g) ? $0[g] : nil })
                }
                candidates[i].goals = goals
                candidates[i].seeds = values[i].count
                candidates[i].utilization = MeanInterval(utilizations[i]).mean
                if goals.contains(where: { $0.verdict == .missed }) {
                    candidates[i].status = .missed
                } else if goals.allSatisfy({ $0.verdict == .met }) {
                    candidates[i].status = .met
                } else if budget >= maxSeeds {
                    candidates[i].status = .uncertain
                }
            }
            if budget >= maxSeeds { break }
            budget = min(maxSeeds, budget * 2)
        }

        let met = candidates.indices.filter { candidates[$0].status == .met }
        let chosen: Int? = switch objective {
        case .accelerators: met.min { (candidates[$0].accelerators, -(candidates[$0].utilization ?? 0), $0) < (candidates[$1].accelerators, -(candidates[$1].utilization ?? 0), $1) }
        case .utilization: met.min { (-(candidates[$0].utilization ?? 0), candidates[$0].accelerators, $0) < (-(candidates[$1].utilization ?? 0), candidates[$1].accelerators, $1) }
        }
        // Pareto front over the settled candidates: fewer accelerators, higher utilization.
        let front = met.filter { i in
            !met.contains { j in
                let (a, b) = (candidates[j], candidates[i])
                return a.accelerators <= b.accelerators && (a.utilization ?? 0) >= (b.utilization ?? 0)
                    && (a.accelerators < b.accelerators || (a.utilization ?? 0) > (b.utilization ?? 0))
            }
        }.sorted { candidates[$0].accelerators < candidates[$1].accelerators }
        if let plot {
            let points = candidates.map { c in
                TuneChart.Point(accelerators: c.accelerators, utilization: c.utilization, status: c.status.rawValue,
                                label: parsedKnobs.map { "\($0.path)=\(c.setting[$0.path]!)" }.joined(separator: " ") + ": \(c.status.rawValue)")
            }
            let svg = TuneChart.svg(title: "\(base.name): accelerators against utilization of every setting tried", points: points,
                                    front: front, chosen: chosen)
            do { try svg.write(toFile: plot, atomically: true, encoding: .utf8) } catch {
                throw InvalidInput(message: "cannot write \(plot): \(error.localizedDescription)")
            }
        }
        let method = "racing over doubling seed budgets (\(seeds) to \(maxSeeds) seeds; verdicts on 95% intervals)"

        if json {
            struct Output: Encodable {
                var scenario: String
                var objective: Objective
                var method: String
                var chosen: [String: String]?
                var chosenCandidate: Candidate?
                var front: [Candidate]
                var evaluated: [Candidate]
                var runs: Int
                var reusedRuns: Int
                var database: String
            }
            print(try RunListing.json(Output(
                scenario: base.name, objective: objective, method: method, chosen: chosen.map { candidates[$0].setting },
                chosenCandidate: chosen.map { candidates[$0] }, front: front.map { candidates[$0] }, evaluated: candidates,
                runs: evaluated, reusedRuns: reused, database: db)))
        } else {
            print(Self.table(candidates, knobs: parsedKnobs.map(\.path), chosen: chosen, front: front))
            print("\nsearch: \(method); \(evaluated) runs, \(reused) reused from \(db)")
            if let chosen {
                let setting = parsedKnobs.map { "\($0.path)=\(candidates[chosen].setting[$0.path]!)" }.joined(separator: " ")
                print("chosen (\(objective == .accelerators ? "fewest accelerators" : "highest utilization")): \(setting), "
                      + "\(candidates[chosen].accelerators) accelerators, utilization \(GoalMetric.Unit.fraction.format(candidates[chosen].utilization ?? 0))")
            } else {
                print("no setting meets every goal")
            }
        }
        if chosen == nil { throw ExitCode(1) }
    }

    /// Runs the units not yet stored, one simulation per core; returns unit id -> run id.
    static func evaluate(_ work: [(candidate: Int, seed: UInt64, id: String)], scenarios: [Scenario], policy: PolicySpec,
                         store: ResultStore, firstPosition: Int) async throws -> [(String, Int64)] {
        var stored: [(String, Int64)] = []
        let parallel = max(1, ProcessInfo.processInfo.activeProcessorCount)
        try await withThrowingTaskGroup(of: (Int, SimulationResult, RunMetrics).self) { group in
            var next = 0
            func add() {
                let item = work[next], position = next
                next += 1
                group.addTask {
                    let s = scenarios[item.candidate]
                    let result = try await FleetSimulation(s.configuration(seed: item.seed, policy: policy)).run()
                    return (position, result, RunMetrics.fold(result, interval: s.outputs.utilizationInterval))
                }
            }
            while next < min(parallel, work.count) { add() }
            var finished: [(Int, SimulationResult, RunMetrics)] = []
            while let done = try await group.next() {
                finished.append(done)
                if next < work.count { add() }
            }
            // Stored in canonical order, so run ids never depend on which finished first.
            for (position, result, metrics) in finished.sorted(by: { $0.0 < $1.0 }) {
                let item = work[position], s = scenarios[item.candidate]
                var record = ResultStore.RunRecord(
                    scenarioName: s.name, scenarioFile: s.file, scenarioHash: s.contentHash, scenarioText: s.text, seed: item.seed,
                    policy: result.policy, version: FleetTwinEngine.buildIdentity, result: result, metrics: metrics,
                    storeEvents: false)
                record.goals = s.goals
                stored.append((item.id, try store.storeSweepUnit(record, unitId: item.id, position: firstPosition + position)))
            }
        }
        return stored
    }

    /// One row per candidate: its setting, accelerators, seeds run, mean utilization, status.
    static func table(_ candidates: [Candidate], knobs: [String], chosen: Int?, front: [Int]) -> String {
        let header = knobs + ["accelerators", "seeds", "utilization", "verdict"]
        var rows = [header]
        for (i, c) in candidates.enumerated() {
            var verdict = c.status.rawValue
            if c.status == .missed, let goal = c.goals.first(where: { $0.verdict == .missed }) { verdict += " (\(goal.goal))" }
            if c.status == .uncertain, let goal = c.goals.first(where: { $0.verdict == .uncertain }) { verdict += " (\(goal.goal))" }
            if front.contains(i) { verdict += " · front" }
            if i == chosen { verdict += " · chosen" }
            rows.append(knobs.map { c.setting[$0]! } + [String(c.accelerators), String(c.seeds),
                        c.utilization.map { GoalMetric.Unit.fraction.format($0) } ?? "–", verdict])
        }
        return RunListing.aligned(rows)
    }
}
