import ArgumentParser
import FleetTwinEngine
import FleetTwinMetrics
import FleetTwinReports
import FleetTwinScenario
import FleetTwinScheduling
import FleetTwinStore
import Foundation

struct RunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run a scenario and store its results.",
        discussion: """
            Example:
              fleettwin run Scenarios/quickstart.yaml --seed 7 --json
            """)

    @Argument(help: "The scenario file (YAML).")
    var scenario: String

    @Option(help: "Seed for every generator (default: the scenario's seed).")
    var seed: UInt64?

    @Option(help: "Run this policy instead of the scenario's (with its default mechanisms and the scenario's placement).")
    var policy: PolicySpec.Name?

    @OptionGroup var store: StoreOptions

    @Flag(help: "Print one JSON object instead of the table.")
    var json = false

    @Flag(help: "Check the fleet's invariants after every event (slow).")
    var check = false

    @Flag(help: "No progress line on standard error (it only shows on a terminal, after a second).")
    var quiet = false

    func run() async throws {
        // An invalid scenario throws here, before the database is opened: nothing is written.
        let parsed = try Scenario.load(path: scenario)
        let seed = self.seed ?? parsed.seed
        let override = policy.map { PolicySpec(name: $0, placement: parsed.policy.placement) }
        let simulation = try FleetSimulation(parsed.configuration(seed: seed, policy: override, checkInvariants: check))
        let progressLine = ProgressLine.forStandardError(quiet: quiet)
        var observer: (@Sendable (SimulationProgress) -> Void)?
        if let progressLine { observer = { progressLine.update($0) } }
        let result = try await simulation.run(progressInterval: ProgressLine.eventInterval, progress: observer)
        progressLine?.finish()
        let metrics = RunMetrics.fold(result, interval: parsed.outputs.utilizationInterval)
        let database = try ResultStore(path: store.db)
        let runId = try database.store(.init(
            scenarioName: parsed.name, scenarioFile: scenario, scenarioHash: parsed.contentHash, scenarioText: parsed.text,
            seed: seed, policy: result.policy, version: FleetTwinEngine.version, result: result, metrics: metrics,
            storeEvents: parsed.outputs.eventLog))
        let summary = RunSummary(scenario: parsed.name, seed: seed, policy: result.policy, runId: runId, metrics: metrics,
                                 processedEvents: result.processedEvents, eventLogHash: result.eventLogHash,
                                 horizonReached: result.horizonReached)
        print(json ? try summary.json() : summary.table() + "\n\nresults: \(store.db)")
    }
}

struct ValidateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "validate",
        abstract: "Check a scenario file without running it.",
        discussion: """
            Prints what the scenario declares, or the first error with its file, line and column.
            Example:
              fleettwin validate Scenarios/quickstart.yaml
            """)

    @Argument(help: "The scenario file (YAML).")
    var scenario: String

    func run() throws {
        let parsed = try Scenario.load(path: scenario)
        let fleet = parsed.fleet
        let jobs = parsed.jobs(seed: parsed.seed)
        print("""
            \(scenario): valid
              fleet      \(fleet.regions.count) regions, \(fleet.clusters.count) clusters, \(fleet.totalAccelerators) accelerators
              workload   \(jobs.count) jobs (seed \(parsed.seed))
              policy     \(parsed.policy.name.rawValue), placement \(parsed.policy.placement.rawValue)
              horizon    \(parsed.horizon.map(\.description) ?? "until the last job ends")
            """)
    }
}

extension PolicySpec.Name: ExpressibleByArgument {}
