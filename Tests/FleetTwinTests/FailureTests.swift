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
        #expect(kinds == [.submitted, .started, .checkpointed, .nodeOutage, .failed, .nodeRepaired, .started, .checkpointed,
                          .checkpointed, .completed])
        #expect(metrics.outageNodeFailures == 1 && metrics.nodeDowntimeSeconds == 20)
        #expect(result.log.records.map(\.progress).reduce(0, +) == 100_000_000, "work is conserved")
    }

    /// Random node failures on the quickstart fleet under every policy: invariants hold
    /// after every event, every job completes, and work is conserved.
    @Test(arguments: ["fifo", "las", "singularity"])
    func randomFailuresKeepEveryInvariant(policy: String) async throws {
        var s = try Scenario.load(path: repositoryRoot.appendingPathComponent("Scenarios/quickstart.yaml").path)
        s.policy = PolicySpec(name: policy)
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

@Suite struct DegradationTests {
    /// A 100 s job; its accelerator runs at half speed from 20 s to 60 s: 20 s + 20 s of
    /// work by 60 s, the other 60 s at full speed, ending at 120 s.
    @Test func degradedHardwareSlowsRunningJobs() async throws {
        let s = try Scenario.parse("""
            fleet: { regions: [ { name: r, clusters: [ { name: c, nodes: 1, accelerators_per_node: 1 } ] } ] }
            workload: { jobs: [ { name: A, world_size: 1, duration: 100s } ] }
            failures: { degraded: [ { at: 20s, clusters: [c], factor: 0.5, duration: 40s } ] }
            """, file: "slow.yaml")
        let result = try await runScenario(s)
        let metrics = RunMetrics.fold(result)
        #expect(metrics.jobs[0].end == seconds(120))
        #expect(result.log.records.filter { $0.kind == .rerated }.map(\.progress) == [20_000_000, 20_000_000])
        // 120 s held, 100 s of it useful at full speed.
        #expect(abs(metrics.goodputUtilization - 100.0 / 120.0) < 1e-9)
    }
}

@Suite struct PartitionTests {
    @Test func noMigrationCrossesAPartition() async throws {
        let policy = ScriptedPolicy(script: [
            (.zero, .start(0, cluster: 0, accelerators: 4)),
            (.seconds(Int64(10)), .migrate(0, toCluster: 1)),
        ])
        let jobs = [MechanismTests.job("main", at: 0, size: 4, work: 100), MechanismTests.job("t", at: 10, size: 1, work: 1)]
        let cut = FailureSettings(partitions: [.init(at: .seconds(Int64(5)), regions: [0], duration: .seconds(Int64(100)))])
        let simulation = try FleetSimulation(SimulationConfiguration(fleet: MechanismTests.fleet, jobs: jobs, policy: policy, failures: cut))
        await #expect(throws: SimulationError.invalidDecision("job 0 cannot migrate across a network partition")) {
            try await simulation.run()
        }
        // Once the partition heals, the same move goes through.
        let healed = FailureSettings(partitions: [.init(at: .seconds(Int64(1)), regions: [0], duration: .seconds(Int64(5)))])
        let result = try await FleetSimulation(SimulationConfiguration(fleet: MechanismTests.fleet, jobs: jobs, policy: policy,
                                                                       failures: healed, checkInvariants: true)).run()
        #expect(result.log.records.contains { $0.kind == .migrated })
    }
}

@Suite struct RandomOutageTests {
    @Test func outagesAtARateStrikeAndRecover() async throws {
        var s = try Scenario.load(path: repositoryRoot.appendingPathComponent("Scenarios/quickstart.yaml").path)
        s = try Scenario.parse(s.text + """

            failures:
              outages:
                - { every: 3h, clusters: [east-a, west-b], duration: 30m }
            """, file: "random-outages.yaml")
        let result = try await runScenario(s, check: true)
        let metrics = RunMetrics.fold(result)
        #expect(metrics.jobsCompleted == result.jobs.count)
        #expect(metrics.failures > 0)
        let again = try await runScenario(s, check: false)
        #expect(again.eventLogHash == result.eventLogHash)
    }
}

@Suite struct AcceleratorFailureTests {
    /// Accelerator failures drain their node: with 8 accelerators per node failing on
    /// average every 40 h each, nodes fail about every 5 h.
    @Test func acceleratorFailuresTakeTheirNodeOut() async throws {
        let base = try Scenario.load(path: repositoryRoot.appendingPathComponent("Scenarios/quickstart.yaml").path)
        let s = try Scenario.parse(base.text + """

            failures:
              accelerators: { mtbf: 40h, repair: 1h }
            """, file: "accelerator-failures.yaml")
        let result = try await runScenario(s, check: true)
        let metrics = RunMetrics.fold(result)
        #expect(metrics.jobsCompleted == result.jobs.count)
        #expect(metrics.failures > 0)
    }
}
