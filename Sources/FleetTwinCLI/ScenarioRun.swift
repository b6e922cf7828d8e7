import FleetTwinEngine
import FleetTwinFleet
import FleetTwinMetrics
import FleetTwinReports
import FleetTwinScenario
import FleetTwinScheduling
import FleetTwinStore
import Foundation

/// Runs one scenario, stores it and summarises it: what `run` and `replay` share.
struct ScenarioRun {
    var scenario: Scenario
    var seed: UInt64
    var policy: PolicySpec?
    var check: Bool
    var quiet: Bool
    var database: String

    struct Outcome {
        var summary: RunSummary
        var result: SimulationResult
        var metrics: RunMetrics
        var skipped: [(id: String, reason: String)]
    }

    func execute() async throws -> Outcome {
        try ResourceLimits.check(scenario)
        let (jobs, skipped) = scenario.workloadJobs(seed: seed)
        if let problem = scenario.slurmProblem(policy: policy ?? scenario.policy, jobs: jobs) { throw InvalidInput(message: problem) }
        for warning in scenario.slurmJobWarnings(policy: policy ?? scenario.policy, jobs: jobs) { printError("warning: \(warning)") }
        var configuration = scenario.configuration(seed: seed, policy: policy, checkInvariants: check)
        configuration.jobs = jobs
        let simulation = try FleetSimulation(configuration)
        let progressLine = ProgressLine.forStandardError(quiet: quiet)
        var observer: (@Sendable (SimulationProgress) -> Void)?
        if let progressLine { observer = { progressLine.update($0) } }
        let result = try await simulation.run(progressInterval: ProgressLine.eventInterval, progress: observer)
        progressLine?.finish()
        let metrics = RunMetrics.fold(result, interval: scenario.outputs.utilizationInterval)
        let workloads = Self.workloadResults(result, scenario: scenario, seed: seed)
        var record = ResultStore.RunRecord(
            scenarioName: scenario.name, scenarioFile: scenario.file, scenarioHash: scenario.contentHash, scenarioText: scenario.text,
            seed: seed, policy: result.policy, version: FleetTwinEngine.buildIdentity, result: result, metrics: metrics,
            storeEvents: scenario.outputs.eventLog)
        record.workloadResultsJSON = try workloads.map { try $0.json() }
        record.goals = scenario.goals
        let runId = try ResultStore(path: database).store(record)
        var summary = RunSummary(scenario: scenario.name, seed: seed, policy: result.policy, runId: runId, metrics: metrics,
                                 processedEvents: result.processedEvents, eventLogHash: result.eventLogHash,
                                 horizonReached: result.horizonReached, skippedJobs: skipped.count)
        summary.workloads = workloads
        summary.goals = GoalVerdict.judge(scenario.goals, runs: [metrics])
        if !skipped.isEmpty { summary.skipped = skipped.map { SkippedJob(id: $0.id, reason: $0.reason) } }
        if !skipped.isEmpty && !quiet { printError(Self.describe(skipped)) }
        return Outcome(summary: summary, result: result, metrics: metrics, skipped: skipped)
    }

    /// slurm.conf's NodeName lines against the fleet (`Scenario.checkSlurmNodes`) for the
    /// `slurm` policy with a slurm.conf: a contradiction Slurm would not run is an error, other
    /// differences warnings on standard error.
    static func checkSlurmNodes(policy: PolicySpec, fleet: FleetSpec, fleetFile: String) throws {
        guard policy.name == "slurm", let configuration = policy.options.slurm else { return }
        do {
            for warning in try Scenario.checkSlurmNodes(configuration, fleet: fleet, fleetFile: fleetFile) { printError("warning: \(warning)") }
        } catch {
            throw InvalidInput(message: error.description)
        }
    }

    /// Skipped trace jobs grouped by reason, with a few ids each.
    static func describe(_ skipped: [(id: String, reason: String)]) -> String {
        var order: [String] = [], ids: [String: [String]] = [:]  // looked up; output follows `order`
        for s in skipped {
            if ids[s.reason] == nil { order.append(s.reason) }
            ids[s.reason, default: []].append(s.id)
        }
        return (["skipped \(skipped.count) trace jobs that this fleet can never run:"] + order.map { reason in
            let list = ids[reason]!
            return "  \(list.count): \(reason) (\(list.prefix(3).joined(separator: ", "))\(list.count > 3 ? ", ..." : ""))"
        }).joined(separator: "\n")
    }
}
