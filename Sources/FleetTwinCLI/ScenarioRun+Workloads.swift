import FleetTwinReports
import FleetTwinScenario
import FleetTwinScheduling
import FleetTwinWorkloads
import Foundation

extension ScenarioRun {
    /// The real workloads' results and each kind's cross-job analysis (nil without any).
    static func workloadResults(_ result: SimulationResult, scenario: Scenario, seed: UInt64) -> WorkloadResults? {
        guard !scenario.realWorkloads.isEmpty else { return nil }
        let specs = RealWorkloads.specsByJob(scenario.realWorkloads, runSeed: seed)
        let references = ResultVerification.referenceHashes(result.computations.map { specs[$0.job]! })
        let jobs = zip(result.computations, references).map { c, reference in
            WorkloadResults.Job(
                job: c.job, kind: c.kind, steps: c.steps, restores: c.restores, dumps: c.dumps, devices: c.deviceCounts,
                resultHash: hex(c.resultHash), referenceHash: hex(reference),
                metrics: Dictionary(zip(c.metricNames, c.metricValues), uniquingKeysWith: { a, _ in a }))
        }
        var analyses: [WorkloadResults.Analysis] = []
        let outcomes = Dictionary(result.computations.map { ($0.job, $0) }, uniquingKeysWith: { a, _ in a })  // looked up only
        for type in WorkloadRegistry.all {
            // Jobs in scenario order, so the analysis does not depend on completion order.
            let finished = scenario.realWorkloads.compactMap { real -> FinishedWorkload? in
                guard real.spec.kind == type.kind, let c = outcomes[real.jobName], let spec = specs[real.jobName] else { return nil }
                return FinishedWorkload(name: c.job, spec: spec,
                                        result: WorkloadResult(metrics: Array(zip(c.metricNames, c.metricValues)).map { (name: $0.0, value: $0.1) },
                                                               hash: c.resultHash))
            }
            guard !finished.isEmpty else { continue }
            let report = type.analyse(finished)
            analyses.append(.init(kind: type.kind, title: report.title, lines: report.lines,
                                  values: Dictionary(report.values.map { ($0.name, $0.value) }, uniquingKeysWith: { a, _ in a })))
        }
        return WorkloadResults(jobs: jobs, analyses: analyses)
    }

    static func hex(_ value: UInt64) -> String {
        let digits = String(value, radix: 16)
        return String(repeating: "0", count: 16 - digits.count) + digits
    }
}

/// A real job whose result differs from its uninterrupted run: the twin's central claim failed.
struct ResultMismatch: Error, CustomStringConvertible {
    var jobs: [WorkloadResults.Job]
    var description: String {
        "\(jobs.count) real job(s) finished with a result that differs from an uninterrupted run: "
            + jobs.map { "\($0.job) (\($0.resultHash) vs \($0.referenceHash))" }.joined(separator: ", ")
    }
}
