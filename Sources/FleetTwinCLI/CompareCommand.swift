import ArgumentParser
import FleetTwinEngine
import FleetTwinMetrics
import FleetTwinReports
import FleetTwinScenario
import FleetTwinScheduling
import FleetTwinStore
import Foundation

struct CompareCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "compare",
        abstract: "Run a scenario under several policies and seeds, and compare them.",
        discussion: """
            Runs every policy x seed (one simulation per core at a time), stores every run and the comparison \
            in the database, and prints per policy the mean and 95% confidence interval (Student's t over the \
            seeds) of each metric, the best marked *. Each policy runs with its default mechanisms and the \
            scenario's placement; `fleettwin report --compare ID` draws the comparison.
            Example:
              fleettwin compare Scenarios/quickstart.yaml --policies fifo,las,singularity --seeds 1-5
            """)

    @Argument(help: "The scenario file (YAML).")
    var scenario: String

    @Option(help: "Policies, comma-separated (\(PolicyRegistry.names.joined(separator: ", "))); each keeps the scenario's policy options it takes. Default: every built-in one.")
    var policies = PolicyRegistry.builtInNames.joined(separator: ",")

    @OptionGroup var external: ExternalPolicyOptions

    @Option(help: "Seeds: a range like 1-5 or a list like 1,4,9.")
    var seeds = "1-5"

    @OptionGroup var store: StoreOptions

    @Flag(help: "Print one JSON object instead of the table.")
    var json = false

    @Flag(help: "Exit with status 1 unless the policy that meets the most of the scenario's goals meets every one (met over the whole 95% interval; uncertain is not met).")
    var requireGoals = false

    @Flag(help: "Turn gradient communication off: every job's replicas scale perfectly, wherever they are placed (as simulators that ignore the network assume).")
    var noCommunication = false

    func validate() throws {
        _ = try parsedPolicies()
        _ = try parsedSeeds()
    }

    func parsedPolicies() throws -> [String] {
        let names = policies.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
        let parsed = try names.map { name -> String in
            guard PolicyRegistry.named(name) != nil else {
                throw ValidationError("unknown policy '\(name)'; expected some of: \(PolicyRegistry.names.joined(separator: ", "))")
            }
            return name
        }
        guard !parsed.isEmpty, Set(parsed).count == parsed.count else { throw ValidationError("--policies must name distinct policies") }
        return parsed
    }

    func parsedSeeds() throws -> [UInt64] {
        let text = seeds.trimmingCharacters(in: .whitespaces)
        let bounds = text.split(separator: "-", omittingEmptySubsequences: false)
        if bounds.count == 2, let lo = UInt64(bounds[0]), let hi = UInt64(bounds[1]) {
            guard lo <= hi, hi - lo < 1000 else { throw ValidationError("--seeds \(seeds): expected a range like 1-5 of at most 1000 seeds") }
            return Array(lo...hi)
        }
        let list = text.split(separator: ",").map { UInt64($0.trimmingCharacters(in: .whitespaces)) }
        guard !list.isEmpty, list.allSatisfy({ $0 != nil }) else {
            throw ValidationError("--seeds \(seeds): expected a range like 1-5 or a list like 1,4,9")
        }
        let values = list.map { $0! }
        guard Set(values).count == values.count else { throw ValidationError("--seeds \(seeds): a seed is given twice") }
        return values
    }

    /// One simulation of the comparison.
    struct Unit: Sendable {
        var position: Int
        var policy: PolicySpec
        var seed: UInt64
    }

    func run() async throws {
        let loaded = try Scenario.load(path: scenario)
        let parsed = noCommunication ? loaded.withoutCommunication() : loaded
        if requireGoals && parsed.goals.isEmpty {
            throw InvalidInput(message: "--require-goals: \(scenario) states no goals (add a goals: section; see Scenarios/README.md)")
        }
        let names = try parsedPolicies(), seedList = try parsedSeeds()
        // Every run's results are held until the comparison is stored.
        try ResourceLimits.check(parsed, parallel: names.count * seedList.count)
        let specs = try names.map { name in
            noteDroppedOptions(parsed.policy, for: name)
            let spec = parsed.policy.renamed(name)
            return spec.descriptor.external ? try external.apply(to: spec) : spec
        }
        if external.given && !specs.contains(where: { $0.descriptor.external }) {
            throw ValidationError("--external-command and --external-timeout go with external among --policies")
        }
        let units = specs.flatMap { spec in
            seedList.map { Unit(position: 0, policy: spec, seed: $0) }
        }.enumerated().map { i, unit in var u = unit; u.position = i; return u }

        // One simulation per core; results are put back in canonical order, so run ids and
        // output never depend on which simulation finished first.
        var results = [(SimulationResult, RunMetrics)?](repeating: nil, count: units.count)
        let parallel = max(1, ProcessInfo.processInfo.activeProcessorCount)
        try await withThrowingTaskGroup(of: (Int, SimulationResult, RunMetrics).self) { group in
            var next = 0
            func add() {
                let unit = units[next]
                next += 1
                group.addTask {
                    let result = try await FleetSimulation(parsed.configuration(seed: unit.seed, policy: unit.policy)).run()
                    return (unit.position, result, RunMetrics.fold(result, interval: parsed.outputs.utilizationInterval))
                }
            }
            while next < min(parallel, units.count) { add() }
            while let (position, result, metrics) = try await group.next() {
                results[position] = (result, metrics)
                if next < units.count { add() }
            }
        }

        var differing: [WorkloadResults.Job] = []
        let records = try zip(units, results).map { unit, outcome in
            var record = ResultStore.RunRecord(
                scenarioName: parsed.name, scenarioFile: scenario, scenarioHash: parsed.contentHash, scenarioText: parsed.text,
                seed: unit.seed, policy: outcome!.0.policy, version: FleetTwinEngine.buildIdentity, result: outcome!.0,
                metrics: outcome!.1, storeEvents: parsed.outputs.eventLog)
            let workloads = ScenarioRun.workloadResults(outcome!.0, scenario: parsed, seed: unit.seed)
            record.workloadResultsJSON = try workloads.map { try $0.json() }
            record.goals = parsed.goals
            differing += workloads?.jobs.filter { !$0.identical } ?? []
            return record
        }
        let (comparisonId, runIds) = try ResultStore(path: store.db).storeComparison(
            scenarioName: parsed.name, policies: names, seeds: seedList, runs: records)
        var perPolicy: [[(summary: RunSummary, metrics: RunMetrics)]] = []
        for (p, _) in names.enumerated() {
            perPolicy.append(seedList.indices.map { s in
                let i = p * seedList.count + s
                let (result, metrics) = results[i]!
                return (RunSummary(scenario: parsed.name, seed: units[i].seed, policy: result.policy, runId: runIds[i],
                                   metrics: metrics, processedEvents: result.processedEvents, eventLogHash: result.eventLogHash,
                                   horizonReached: result.horizonReached), metrics)
            })
        }
        let comparison = PolicyComparison(comparisonId: comparisonId, scenario: parsed.name, seeds: seedList,
                                          policies: names, runs: perPolicy, goals: parsed.goals)
        print(json ? try comparison.json()
                   : comparison.table() + "\n\nstored as comparison \(comparisonId) (runs \(runIds.first!)-\(runIds.last!)) in \(store.db); "
                     + "draw it with: fleettwin report --compare \(comparisonId) --db \(store.db)")
        if !differing.isEmpty { throw ResultMismatch(jobs: differing) }
        if requireGoals, let best = comparison.bestForGoals, best.goalsMet < best.goals.count {
            let unmet = best.goals.filter { $0.verdict != .met }
            printError("goals not met by the best policy, \(best.policy):\n" + unmet.map { "  " + $0.line }.joined(separator: "\n"))
            throw ExitCode(1)
        }
    }
}
