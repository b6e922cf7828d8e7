import FleetTwinCostModel
import FleetTwinTraces
import Foundation
import Testing

/// The cost model against the workloads recorded on a real H100 (Traces/h100-workloads.jsonl):
/// the 12 reranker trainings (BERT-style cross-encoders, 32 sequences of 256 tokens, bf16).
/// The recordings were not used to fit the model, so this is an out-of-sample check.
@Suite struct CostModelWorkloadCheckTests {
    struct Check { var id: String; var stepError: Double; var stateError: Double; var memoryError: Double }

    static func checks() throws -> [Check] {
        let path = repositoryRoot.appendingPathComponent("Traces/h100-workloads.jsonl").path
        let jobs = try TraceReader(path: path).readAll().1
        return try jobs.filter { $0.id.hasPrefix("reranker-") }.map { job in
            // reranker-LOSS-LAYERSxHIDDEN
            let dims = try #require(job.id.split(separator: "-").last).split(separator: "x").compactMap { Int($0) }
            let shape = ModelShape(architecture: .bert, layers: dims[0], hidden: dims[1], sequence: 256, batch: 32, mode: .train)
            let estimate = CostModel.calibrated.estimate(shape, on: AcceleratorCatalog.h100)
            let recordedStep = try #require(job.stepTime)
            return Check(id: job.id,
                         stepError: estimate.stepSeconds / recordedStep - 1,
                         stateError: Double(estimate.checkpointBytes) / Double(try #require(job.stateBytes)) - 1,
                         memoryError: Double(estimate.memoryBytes) / Double(try #require(job.memoryPerReplicaBytes)) - 1)
        }
    }

    @Test func predictsTheRecordedRerankerJobs() throws {
        let checks = try Self.checks()
        #expect(checks.count == 12)
        for c in checks {
            // Median step time after warm-up; the recordings of one shape differ by up to 60% between losses.
            #expect(abs(c.stepError) < 0.30, "\(c.id): step time off by \(c.stepError)")
            #expect(abs(c.stateError) < 0.01, "\(c.id): checkpoint bytes off by \(c.stateError)")
            #expect(abs(c.memoryError) < 0.10, "\(c.id): peak memory off by \(c.memoryError)")
        }
        // Not all within a few percent: the check measures, it does not restate the fit.
        #expect(checks.contains { abs($0.stepError) > 0.05 })
    }
}
