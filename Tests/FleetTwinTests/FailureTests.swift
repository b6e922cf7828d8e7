import FleetTwinEngine
import FleetTwinMetrics
import FleetTwinScenario
import FleetTwinScheduling
import Testing

@Suite struct FailureTests {
    /// One accelerator, a 100 s job checkpointing every 30 s (no state, so checkpoints cost
    /// nothing). The node is out from 50 s to 70 s: the 20 s since the checkpoint at 30 s are
    /// lost, the job resumes at 70 s with 70 s to go and ends at 140 s.
    @Test func anOutageLosesTheWorkSinceTheLastCheckpoint() async throws {
        let s = try Scenario.parse("""
            fleet: { regions: [ { name: r, clusters: [ { name: c, nodes: 1, accelerators_per_node: 1 } ] } ] }
            workload: { jobs: [ { name: A, tier: premium, world_size: 1, duration: 100s } ] }
            mechanisms: { checkpoint_interval: { premium: 30s } }
            failures: { outages: [ { at: 50s, clusters: [c], duration: 20s } ] }
            """, file: "outage.yaml")
        let result = try await runScenario(s)
        let metrics = RunMetrics.fold(result)
        #expect(metrics.jobs[0].end == seconds(140))
        #expect(metrics.failures == 1 && metrics.lostWorkSeconds == 20)
        let kinds = result.log.records.map(\.kind)
        #expect(kinds == [.submitted, .started, .checkpointed, .failed, .started, .checkpointed, .checkpointed, .completed])
        #expect(result.log.records.map(\.progress).reduce(0, +) == 100_000_000, "work is conserved")
    }

    /// Random node failures on the quickstart fleet under every policy: invariants hold
    /// after every event, every job completes, and work is conserved.
    @Test(arguments: ["fifo", "las", "singularity"])
    func randomFailuresKeepEveryInvariant(policy: String) async throws {
        var s = try Scenario.load(path: repositoryRoot.appendingPathComponent("Scenarios/quickstart.yaml").path)
        s.policy = PolicySpec(name: PolicySpec.Name(rawValue: policy)!)
        s.failures = FailureSettings(nodeTimeBetweenFailures: .weibull(scale: .seconds(Int64(6 * 3600)), shape: 0.8),
                                     repair: .seconds(Int64(1800)))
        s.mechanisms.checkpointInterval = [.seconds(Int64(1200)), .seconds(Int64(1800)), nil]
        let result = try await runScenario(s, check: true)
        let metrics = RunMetrics.fold(result)
        #expect(metrics.jobsCompleted == result.jobs.count)
        #expect(metrics.failures > 0 && metrics.lostWorkSeconds > 0)
        var banked = Array(repeating: Int64(0), count: result.jobs.count)
        for r in result.log.records { banked[Int(r.job)] += r.progress }
        for (i, job) in result.jobs.enumerated() { #expect(banked[i] == job.work.microseconds) }
    }

    @Test func failuresAreDeterministic() async throws {
        var s = try Scenario.load(path: repositoryRoot.appendingPathComponent("Scenarios/quickstart.yaml").path)
        s.failures = FailureSettings(nodeTimeBetweenFailures: .exponential(mean: .seconds(Int64(4 * 3600))))
        let a = try await runScenario(s, check: false), b = try await runScenario(s, check: false)
        #expect(a.eventLogHash == b.eventLogHash)
        let c = try await runScenario(s, seed: 99, check: false)
        #expect(c.eventLogHash != a.eventLogHash)
    }
}
