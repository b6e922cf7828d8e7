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

    @Option(help: "Run this policy instead of the scenario's (with the scenario's placement and the policy options it takes; the others are named on standard error; `fleettwin policies` lists them).")
    var policy: PolicyName?

    @OptionGroup var external: ExternalPolicyOptions

    @OptionGroup var store: StoreOptions

    @Flag(help: "Print one JSON object instead of the table.")
    var json = false

    @Flag(help: "Check the fleet's invariants after every event (slow).")
    var check = false

    @Flag(help: "No progress line on standard error (it only shows on a terminal, after a second).")
    var quiet = false

    @Flag(help: "Turn gradient communication off: every job's replicas scale perfectly, wherever they are placed (as simulators that ignore the network assume).")
    var noCommunication = false

    func run() async throws {
        // An invalid scenario throws here, before the database is opened: nothing is written.
        let loaded = try Scenario.load(path: scenario)
        let parsed = noCommunication ? loaded.withoutCommunication() : loaded
        if let name = policy?.value { noteDroppedOptions(parsed.policy, for: name) }
        let chosen = try external.apply(to: policy.map { parsed.policy.renamed($0.value) } ?? parsed.policy)
        let override = policy != nil || chosen != parsed.policy ? chosen : nil
        try ScenarioRun.checkSlurmNodes(policy: chosen, fleet: parsed.fleet, fleetFile: scenario)
        let outcome = try await ScenarioRun(scenario: parsed, seed: seed ?? parsed.seed, policy: override, check: check,
                                            quiet: quiet, database: store.db).execute()
        print(json ? try outcome.summary.json() : outcome.summary.table() + "\n\nresults: \(store.db)")
        let differing = outcome.summary.workloads?.jobs.filter { !$0.identical } ?? []
        if !differing.isEmpty { throw ResultMismatch(jobs: differing) }
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
        var kinds: [String] = []
        for real in parsed.realWorkloads where !kinds.contains(real.spec.kind) { kinds.append(real.spec.kind) }
        let real = parsed.realWorkloads.isEmpty ? "" : " (\(parsed.realWorkloads.count) real: \(kinds.joined(separator: ", ")))"
        print("""
            \(scenario): valid
              fleet      \(fleet.regions.count) regions, \(fleet.clusters.count) clusters, \(fleet.totalAccelerators) accelerators
              workload   \(jobs.count) jobs\(real) (seed \(parsed.seed))
              policy     \(parsed.policy.text)
              network    \(Self.communication(parsed, jobs))
              horizon    \(parsed.horizon.map(\.description) ?? "until the last job ends")
            """ + (parsed.goals.isEmpty ? "" : "\n  goals      " + parsed.goals.map(\.text).joined(separator: "\n             ")))
    }

    /// Whether gradient communication is on, how, and for how many of the jobs.
    static func communication(_ scenario: Scenario, _ jobs: [JobSpec]) -> String {
        guard let model = scenario.fleet.network.communication else { return "communication off: replicas scale perfectly" }
        let count = jobs.filter { $0.worldSize > 1 && CommunicationCosts.communicates($0) }.count
        return String(format: "communication on (%.0f MiB buckets, %.2g of backward overlapped): %d of %d jobs all-reduce gradients",
                      model.bucketBytes / 1_048_576, model.overlap, count, jobs.count)
    }
}

