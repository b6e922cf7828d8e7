import FleetTwinCostModel
import FleetTwinEngine
import FleetTwinFleet
import FleetTwinMetrics
import FleetTwinPolicy
import FleetTwinReports
import FleetTwinScenario
import FleetTwinScheduling
import Foundation
import Testing

@Suite struct MechanismCostTests {
    static let fleet = FleetSpec(
        regions: [
            RegionSpec(name: "east", clusters: [ClusterSpec(name: "e", nodes: 1, acceleratorsPerNode: 4, acceleratorType: "h100-80gb")]),
            RegionSpec(name: "west", clusters: [ClusterSpec(name: "w", nodes: 1, acceleratorsPerNode: 4, acceleratorType: "h100-80gb")]),
        ],
        profiles: AcceleratorProfile.builtIn)
    static let state: Int64 = 4 * 1_073_741_824

    /// A 4 GiB job preempted twice, then migrated across regions: the first dump is the
    /// full state, later ones a tenth of it; each resume restores the full state; the
    /// migration uploads and downloads its dump at the cross-region bandwidth.
    @Test func preemptionDumpRestoreAndMigrationCosts() async throws {
        let legs = AcceleratorCatalog.h100.checkpoint
        let fullDump = VirtualTime.seconds(legs.checkpointSeconds(Self.state))
        let smallDump = VirtualTime.seconds(legs.checkpointSeconds(Self.state / 10 + (Self.state % 10 == 0 ? 0 : 1)))
        let restore = VirtualTime.seconds(legs.restoreSeconds(Self.state))
        let policy = ScriptedPolicy(script: [
            (.zero, .start(0, cluster: 0, accelerators: 4)),
            (.seconds(Int64(100)), .preempt(0)),
            (.seconds(Int64(200)), .start(0, cluster: 0, accelerators: 4)),
            (.seconds(Int64(300)), .preempt(0)),
            (.seconds(Int64(400)), .start(0, cluster: 0, accelerators: 4)),
            (.seconds(Int64(500)), .migrate(0, toCluster: 1)),
        ])
        let main = JobSpec(name: "big", submit: .zero, tier: .standard, worldSize: 4, acceleratorType: "h100-80gb",
                           work: .seconds(Int64(1000)), steps: 1000, stateBytes: Self.state)
        let triggers = [100, 200, 300, 400, 500].map {
            JobSpec(name: "t\($0)", submit: .seconds(Int64($0)), tier: .basic, worldSize: 1, acceleratorType: "h100-80gb", work: .seconds(Int64(1)))
        }
        var twoClusters = Self.fleet
        twoClusters.regions[1].clusters.append(ClusterSpec(name: "spare", nodes: 1, acceleratorsPerNode: 4, acceleratorType: "h100-80gb"))
        let result = try await FleetSimulation(SimulationConfiguration(
            fleet: twoClusters, jobs: [main] + triggers, policy: policy, checkInvariants: true)).run()
        let log = result.log.records.filter { $0.job == 0 }
        let stops = log.filter { $0.kind == .preempted || $0.kind == .migrated }
        #expect(stops.map(\.overhead) == [fullDump.microseconds, smallDump.microseconds, smallDump.microseconds])
        let starts = log.filter { $0.kind == .started }
        #expect(starts.map(\.overhead).prefix(3) == [0, restore.microseconds, restore.microseconds])
        // A 1 s step: the cut comes 2 steps after each decision.
        #expect(log.filter { $0.kind == .released }.map(\.time).prefix(2)
                == [seconds(102) + fullDump, seconds(302) + smallDump])
        let transfer = 2 * Double(Self.state / 10 + 1) / min(NetworkSpec.defaults.crossRegion, NetworkSpec.defaults.blobStore)
        let migrationDelay = smallDump + .seconds(transfer) + restore + .seconds(Int64(2))
        #expect(abs(starts[3].overhead - migrationDelay.microseconds) <= 1)
        #expect(log.map(\.progress).reduce(0, +) == 1_000_000_000, "work is conserved")
        let metrics = RunMetrics.fold(result)
        #expect(abs(metrics.overheadSeconds.preemption - (fullDump + smallDump).seconds) < 1e-6)
        #expect(abs(metrics.overheadSeconds.restore - 2 * restore.seconds) < 1e-6)
    }

    @Test func migrationOfAFewGigabytesTakesTensOfSeconds() {
        let costs = MechanismCosts(fleet: Self.fleet, settings: .defaults)
        let bytes: Int64 = 3 * 1_000_000_000
        let total = costs.dumpTime(bytes: bytes, cluster: 0) + costs.transferTime(bytes: bytes, from: 0, to: 1)
            + costs.restoreTime(state: bytes, cluster: 1)
        #expect(total.seconds > 5 && total.seconds < 60, "\(total.seconds) s")
    }

    @Test func aResizeThatDoesNotFitInMemoryIsRefused() async throws {
        let policy = ScriptedPolicy(script: [
            (.zero, .start(0, cluster: 0, accelerators: 4)),
            (.seconds(Int64(10)), .resize(0, accelerators: 1)),
        ])
        // 30 GB per replica, 10 GB of it shared state: 4 replicas on one 85 GB device need
        // 30 + 3 x 20 = 90 GB.
        let job = JobSpec(name: "wide", submit: .zero, tier: .standard, worldSize: 4, acceleratorType: "h100-80gb",
                          work: .seconds(Int64(100)), stateBytes: 10_000_000_000, memoryPerReplicaBytes: 30_000_000_000)
        let trigger = JobSpec(name: "t", submit: .seconds(Int64(10)), tier: .basic, worldSize: 1, acceleratorType: "h100-80gb",
                              work: .seconds(Int64(1)))
        var fleet = Self.fleet
        fleet.regions[1].clusters.append(ClusterSpec(name: "spare", nodes: 1, acceleratorsPerNode: 4, acceleratorType: "h100-80gb"))
        let simulation = try FleetSimulation(SimulationConfiguration(fleet: fleet, jobs: [job, trigger], policy: policy))
        await #expect(throws: SimulationError.invalidDecision("job 0: 4 replicas do not fit in memory on 1 accelerators")) {
            try await simulation.run()
        }
    }
}

@Suite struct PreemptivePolicyTests {
    static func scenario(_ policy: String) throws -> Scenario {
        var s = try Scenario.load(path: repositoryRoot.appendingPathComponent("Scenarios/quickstart.yaml").path)
        s.policy = PolicySpec(name: policy, placement: .bestFit)
        return s
    }

    /// Whatever the policy does to a job, the work it banks adds up to its work.
    @Test(arguments: ["srtf", "las", "singularity"])
    func workIsConservedUnderPreemption(policy: String) async throws {
        let result = try await runScenario(try Self.scenario(policy), check: true)
        var banked = Array(repeating: Int64(0), count: result.jobs.count)
        for r in result.log.records { banked[Int(r.job)] += r.progress }
        let metrics = RunMetrics.fold(result)
        #expect(metrics.jobsCompleted == result.jobs.count)
        #expect(metrics.preemptions + metrics.resizes > 0, "the scenario must exercise the mechanisms")
        for (i, job) in result.jobs.enumerated() { #expect(banked[i] == job.work.microseconds, "job \(i)") }
    }

    @Test func singularityNeverPreemptsOrShrinksPremiumJobs() async throws {
        let result = try await runScenario(try Self.scenario("singularity"), check: true)
        var devices = Array(repeating: Int32(0), count: result.jobs.count)
        var preemptedOrShrunk: [SLATier] = []
        for r in result.log.records {
            let tier = result.jobs[Int(r.job)].tier
            switch r.kind {
            case .started: devices[Int(r.job)] = r.accelerators
            case .preempted: preemptedOrShrunk.append(tier)
            case .resized:
                if r.accelerators < devices[Int(r.job)] { preemptedOrShrunk.append(tier) }
                devices[Int(r.job)] = r.accelerators
            default: break
            }
        }
        #expect(!preemptedOrShrunk.isEmpty)
        #expect(!preemptedOrShrunk.contains(.premium))
    }

    /// LAS with one queue boundary at 100 accelerator-seconds on one accelerator: B waits
    /// behind A (same queue) until A crosses the boundary at 100 s; then A is cut two 1 s
    /// steps later and B runs 102-152; A resumes at 152 and ends at 152 + 898 = 1050.
    @Test func lasDemotesAtTheThreshold() async throws {
        let s = try Scenario.parse("""
            fleet: { regions: [ { name: r, clusters: [ { name: c, nodes: 1, accelerators_per_node: 1 } ] } ] }
            workload:
              jobs:
                - { name: A, submit: 0s, world_size: 1, duration: 1000s }
                - { name: B, submit: 10s, world_size: 1, duration: 50s }
            policy: { name: las, thresholds: [100] }
            """, file: "las.yaml")
        let metrics = RunMetrics.fold(try await runScenario(s))
        #expect(metrics.jobs[1].firstStart == seconds(102) && metrics.jobs[1].end == seconds(152))
        #expect(metrics.jobs[0].end == seconds(1050))
        #expect(metrics.preemptions == 1)
    }

    @Test func ablationSwitchesTurnMechanismsOff() async throws {
        var s = try Self.scenario("singularity")
        s.policy.switches = MechanismSwitches(preemption: false, elastic: false, migration: false)
        let metrics = RunMetrics.fold(try await runScenario(s))
        #expect(metrics.preemptions == 0 && metrics.resizes == 0 && metrics.migrations == 0)
    }

    @Test func heavyPreemptionStaysDeterministicAcrossProcesses() throws {
        let dir = try temporaryDirectory()
        let quickstart = repositoryRoot.appendingPathComponent("Scenarios/quickstart.yaml").path
        let hashes = try (0..<2).map { _ in
            let out = try runFleettwin(["run", quickstart, "--policy", "las", "--json", "--db", dir.appendingPathComponent("d.sqlite").path])
            return try #require(try JSONSerialization.jsonObject(with: Data(out.stdout.utf8)) as? [String: Any])["eventLogHash"] as? String
        }
        #expect(hashes[0] == hashes[1])
    }
}

@Suite struct CompareTests {
    @Test func confidenceIntervalOnAKnownSample() throws {
        let ci = MeanInterval([1, 2, 3, 4, 5])
        #expect(ci.mean == 3)
        // s = sqrt(2.5), t(4) = 2.776: 2.776 x sqrt(2.5 / 5) = 1.9629
        #expect(abs(try #require(ci.halfWidth) - 1.9629) < 1e-4)
        #expect(MeanInterval([7]).halfWidth == nil)
        #expect(MeanInterval([2, 2, 2]).halfWidth == 0)
    }

    @Test func compareRunsEveryPolicyAndSeedAndStoresTheComparison() throws {
        let dir = try temporaryDirectory()
        let db = dir.appendingPathComponent("c.sqlite").path
        let out = try runFleettwin(["compare", fixture("fifo-hand.yaml"), "--policies", "fifo,las", "--seeds", "1-2", "--json", "--db", db])
        #expect(out.status == 0, "\(out.stderr)")
        let root = try #require(try JSONSerialization.jsonObject(with: Data(out.stdout.utf8)) as? [String: Any])
        let policies = try #require(root["policies"] as? [String: [String: Any]])
        #expect(policies.keys.sorted() == ["fifo", "las"])
        for (_, entry) in policies {
            #expect((entry["runs"] as? [Any])?.count == 2)
            #expect((entry["mean"] as? [String: Double])?["utilization"] != nil)
            #expect((entry["ci95"] as? [String: Any])?["utilization"] != nil)
        }
        let report = try runFleettwin(["report", "--compare", "1", "--db", db, "--out", dir.appendingPathComponent("r.html").path])
        #expect(report.status == 0, "\(report.stderr)")
        #expect(report.stdout.contains("runs 1, 2, 3, 4"))
        #expect(try runFleettwin(["report", "--compare", "9", "--db", db]).status == 2)
        #expect(try runFleettwin(["compare", fixture("fifo-hand.yaml"), "--policies", "fifo,fofo", "--db", db]).status == 2)
    }
}

@Suite struct CheckpointTests {
    /// 100 s of work, a checkpoint every 30 s of running: at 30, 60 and 90 s of progress
    /// (the next would come after the end). The first dump is the full 1 GiB, the other two
    /// a tenth; each pauses the job.
    @Test func periodicCheckpointsPauseTheJob() async throws {
        let s = try Scenario.parse("""
            fleet: { regions: [ { name: r, clusters: [ { name: c, nodes: 1, accelerators_per_node: 1 } ] } ] }
            workload:
              jobs:
                - { name: A, tier: premium, world_size: 1, duration: 100s, state_size: 1GiB }
            mechanisms: { checkpoint_interval: { premium: 30s } }
            """, file: "ckpt.yaml")
        let legs = AcceleratorCatalog.h100.checkpoint
        let full = VirtualTime.seconds(legs.checkpointSeconds(1_073_741_824))
        let small = VirtualTime.seconds(legs.checkpointSeconds(107_374_183))
        let result = try await runScenario(s)
        let checkpoints = result.log.records.filter { $0.kind == .checkpointed }
        #expect(checkpoints.map(\.overhead) == [full.microseconds, small.microseconds, small.microseconds])
        #expect(checkpoints.map(\.time) == [seconds(30), seconds(60) + full, seconds(90) + full + small])
        let metrics = RunMetrics.fold(result)
        #expect(metrics.jobs[0].end == seconds(100) + full + small + small)
        #expect(abs(metrics.overheadSeconds.checkpoint - (full + small + small).seconds) < 1e-9)
        #expect(metrics.checkpoints == 3)
    }

    @Test func mechanismSettingsAreValidated() {
        #expect(throws: ScenarioError.self) {
            try Scenario.parse("""
                fleet: { regions: [ { name: r, clusters: [ { name: c, nodes: 1, accelerators_per_node: 1 } ] } ] }
                workload: { jobs: [ { world_size: 1, duration: 1s } ] }
                mechanisms: { sla_targets: { premium: 1.5 } }
                """, file: "bad.yaml")
        }
    }
}

/// Running a scenario under another policy says which of its policy options are left out.
@Suite struct DroppedPolicyOptionTests {
    @Test func runAndCompareNameTheOptionsLeftOut() throws {
        let dir = try temporaryDirectory()
        let scenario = dir.appendingPathComponent("s.yaml").path, db = dir.appendingPathComponent("r.sqlite").path
        try """
            fleet:
              regions:
                - name: r
                  clusters:
                    - { name: c, nodes: 1, accelerators_per_node: 4 }
            policy: { name: las, thresholds: [100, 1000], quantum: 30s }
            workload:
              jobs:
                - { world_size: 2, duration: 10m }
            """.write(toFile: scenario, atomically: true, encoding: .utf8)
        let run = try runFleettwin(["run", scenario, "--policy", "fifo", "--db", db])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stderr.contains("note: fifo does not take the scenario's quantum, thresholds (las's); left out"), "\(run.stderr)")
        let kept = try runFleettwin(["run", scenario, "--policy", "dlas-gpu-gittins", "--db", db])
        #expect(!kept.stderr.contains("left out"), "\(kept.stderr)")
        let compare = try runFleettwin(["compare", scenario, "--policies", "las,srtf", "--seeds", "1", "--db", db])
        #expect(compare.stderr.contains("note: srtf does not take the scenario's thresholds (las's); left out"), "\(compare.stderr)")
    }

    /// Every option a built-in policy takes has its entry in `PolicyOptions.fields`, which
    /// equality, `renamed`, `optionsDropped` and a stored scenario's text all go through: an
    /// option missing there would be silently kept for a policy that does not take it, left
    /// out of what a stored run says ran, and ignored when two specs are compared.
    @Test func everyOptionAPolicyTakesIsInTheOptionTable() {
        let keys = PolicyOptions.fields.map(\.key)
        #expect(Set(keys).count == keys.count, "a key twice: \(keys)")
        // `slurm-qos` is read into the same configuration as `slurm-conf`, one field.
        let covered = keys + ["slurm-qos"]
        for d in PolicyRegistry.all where !d.external {
            for option in d.options { #expect(covered.contains(option.name), "\(d.name)'s option \(option.name) is not in PolicyOptions.fields") }
        }
        // And the table drives all four: a set option, dropped by a policy without it.
        var spec = PolicySpec(name: "singularity")
        spec.options.slaHeadroomSeconds = 600
        spec.options.bestEffort = .arrival
        #expect(spec.text == "{ name: singularity, placement: best-fit, sla-headroom: 600s, best-effort: arrival }")
        #expect(spec.optionsDropped(by: "las") == ["sla-headroom", "best-effort"])
        let las = spec.renamed("las")
        #expect(las.options == PolicyOptions() && las.text == "{ name: las, placement: best-fit }")
        #expect(spec.renamed("singularity") == spec && spec != las.renamed("singularity"))
    }
}
