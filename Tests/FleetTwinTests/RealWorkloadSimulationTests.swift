import FleetTwinEngine
import FleetTwinFleet
import FleetTwinReports
import FleetTwinScenario
import FleetTwinScheduling
import FleetTwinWorkloads
import Foundation
import GRDB
import Testing

/// Real kernels inside the simulator: every mechanism the scheduler applies to a real job
/// (preemption, restart on fewer devices, resize, migration, failure and roll-back) must leave
/// its result bit-identical to an uninterrupted run.
@Suite struct RealWorkloadSimulationTests {
    @Test func everyKindHasTinyOptions() {
        #expect(WorkloadRegistry.kindNames.sorted() == ["eci", "rag", "reranker", "vlm-meme"])
        #expect(WorkloadRegistry.kindNames.allSatisfy { tinyWorkloadOptions[$0] != nil })
    }

    /// Job 0 is the real job (20 s per step); 1 s jobs arriving at `triggers` only make the
    /// scripted policy take its next decision then (see ScriptedPolicy).
    static func realJob(kind: String, triggers: [Int64]) throws -> (jobs: [JobSpec], real: RealWorkloads, steps: Int) {
        let spec = WorkloadSpec(kind: kind, seed: 0, worldSize: 4, options: tinyWorkloadOptions[kind]!)
        let steps = try WorkloadRegistry.make(spec).totalSteps
        let job = JobSpec(name: "main", submit: .zero, tier: .standard, worldSize: 4, acceleratorType: "h100-80gb",
                          work: .seconds(Int64(steps) * 20), steps: Int64(steps), stateBytes: 1 << 20)
        let real = RealWorkloads(jobs: [RealWorkloadJob(jobName: "main", spec: spec, explicitSeed: nil)], runSeed: 11)
        return ([job] + triggers.map { MechanismTests.job("t\($0)", at: $0, size: 1, work: 1) }, real, steps)
    }

    /// Cuts are immediate, so the script's instants are the cut instants.
    static var mechanisms: MechanismSettings {
        var m = MechanismSettings.defaults
        m.cutSteps = 0
        return m
    }

    @Test(arguments: ["eci", "rag", "reranker", "vlm-meme"])
    func preemptedRestartedResizedAndMigratedJobsFinishIdentically(kind: String) async throws {
        // 20 s per real step: the script lands between steps, several steps apart.
        let (jobs, real, steps) = try Self.realJob(kind: kind, triggers: [30, 50, 90, 130])
        let policy = ScriptedPolicy(script: [
            (.zero, .start(0, cluster: 0, accelerators: 4)),
            (.seconds(Int64(30)), .preempt(0)),
            (.seconds(Int64(50)), .start(0, cluster: 0, accelerators: 2)),
            (.seconds(Int64(90)), .resize(0, accelerators: 4)),
            (.seconds(Int64(130)), .migrate(0, toCluster: 1)),
        ])
        let result = try await FleetSimulation(SimulationConfiguration(
            fleet: MechanismTests.fleet, jobs: jobs, policy: policy, mechanisms: Self.mechanisms, checkInvariants: true,
            computations: real)).run()
        let kinds = result.log.records.filter { $0.job == 0 }.map(\.kind)
        #expect(kinds.contains(.preempted) && kinds.contains(.resized) && kinds.contains(.migrated))
        let outcome = try #require(result.computations.first)
        #expect(result.computations.count == 1)
        #expect(outcome.steps == steps)
        let reference = ResultVerification.referenceHashes([real.spec(of: "main")!])[0]
        #expect(outcome.resultHash == reference, "\(kind): \(outcome.resultHash) vs reference \(reference)")
        #expect(outcome.restores == 2, "restored from bytes after the preemption and after the migration")
        #expect(outcome.deviceCounts == [4, 2], "ran on 4, was restarted on 2 and grown back to 4")
        #expect(outcome.dumps == 2)
    }

    @Test(arguments: ["eci", "rag", "reranker", "vlm-meme"])
    func aFailureRollsBackToTheLastCheckpointAndStillFinishesIdentically(kind: String) async throws {
        let (jobs, real, _) = try Self.realJob(kind: kind, triggers: [100])
        var mechanisms = Self.mechanisms
        mechanisms.checkpointInterval = [nil, .seconds(Int64(50)), nil]
        var failures = FailureSettings.none
        failures.outages = [.init(at: .seconds(Int64(85)), clusters: [0], duration: .seconds(Int64(10)))]
        let policy = ScriptedPolicy(script: [
            (.zero, .start(0, cluster: 0, accelerators: 4)),
            (.seconds(Int64(100)), .start(0, cluster: 1, accelerators: 4)),
        ])
        let result = try await FleetSimulation(SimulationConfiguration(
            fleet: MechanismTests.fleet, jobs: jobs, policy: policy, mechanisms: mechanisms, failures: failures,
            checkInvariants: true, computations: real)).run()
        #expect(result.log.records.contains { $0.kind == .failed }, "the outage hit the job")
        let outcome = try #require(result.computations.first)
        let reference = ResultVerification.referenceHashes([real.spec(of: "main")!])[0]
        #expect(outcome.resultHash == reference, "\(kind): \(outcome.resultHash) vs reference \(reference)")
        #expect(outcome.restores == 1, "restored from the checkpoint taken before the outage")
    }

    @Test func workDoneMapsToWholeStepsExactly() {
        #expect(WorkloadProgress.steps(covering: 0, of: 100, total: 7) == 0)
        #expect(WorkloadProgress.steps(covering: 99, of: 100, total: 7) == 6)
        #expect(WorkloadProgress.steps(covering: 100, of: 100, total: 7) == 7)
        // No overflow for month-long jobs of many steps.
        #expect(WorkloadProgress.steps(covering: Int64.max / 2, of: Int64.max, total: 1_000_000) == 499_999)
    }
}

/// Scenario files with real workloads: parsing, matrices, errors, the run command's output.
@Suite struct RealWorkloadScenarioTests {
    static func scenario(_ workload: String, extra: String = "") -> String {
        """
        name: real-jobs
        seed: 5
        fleet:
          regions:
            - name: r0
              clusters:
                - { name: c0, nodes: 2, accelerators_per_node: 4, type: h100-80gb }
        workload:
          jobs:
            - name: rag
              world_size: 2
              step_time: 30s
        \(workload)
            - { name: urgent, submit: 1m, world_size: 8, duration: 3m, tier: premium }
        policy: { name: singularity, quantum: 30s, sla-headroom: 0s }   # the urgent job comes within the default 5-minute quantum and 30-minute headroom
        \(extra)
        """
    }

    static let ragWorkload = """
              workload:
                kind: rag
                options: {width: 16, heads: 2, subjects: 6, relations: 2, objects: 4, fillers: 3, segments: 2, segmentFillers: 1, batch: 4, steps: 6, probes: 3}
                matrix: {layers: [2, 3]}
        """

    @Test func aMatrixExpandsIntoOneJobPerCombination() throws {
        let s = try Scenario.parse(Self.scenario(Self.ragWorkload), file: "real.yaml")
        #expect(s.realWorkloads.map(\.jobName) == ["rag[layers=2]", "rag[layers=3]"])
        let jobs = s.jobs(seed: 5)
        #expect(jobs.map(\.name) == ["rag[layers=2]", "rag[layers=3]", "urgent"])
        let steps = try WorkloadRegistry.make(s.realWorkloads[0].spec(runSeed: 5)).totalSteps
        #expect(jobs[0].steps == Int64(steps) && jobs[0].work == .seconds(Int64(30 * steps)))
        #expect(s.realWorkloads[0].spec(runSeed: 9).seed == 9, "the run's seed unless the workload names one")
    }

    @Test(arguments: [
        ("kind: rg", "unknown workload kind 'rg'; expected one of"),
        ("kind: rag\n          options: {widht: 16}", "unknown rag option 'widht'"),
        ("kind: rag\n          options: {layers: 9}", "layers"),
        ("kind: rag\n          matrix: {layers: []}", "needs at least one value"),
        ("kind: rag\n          colour: red", "unknown key 'colour'"),
    ])
    func badWorkloadsAreLocatedErrors(_ body: String, _ message: String) {
        let text = Self.scenario("      workload:\n        " + body.replacingOccurrences(of: "\n          ", with: "\n        "))
        #expect {
            try Scenario.parse(text, file: "real.yaml")
        } throws: { error in
            let description = "\(error)"
            return description.contains("real.yaml:") && description.contains(message)
        }
    }

    /// A bad option value is reported where the option is written, not at `workload:`.
    @Test(arguments: [("options: {width: 16, layers: 9}", "9}"), ("matrix: {layers: [2, 9]}", "layers:")])
    func aBadOptionIsLocatedAtItsKey(_ line: String, _ target: String) throws {
        let text = Self.scenario("      workload:\n        kind: rag\n        " + line)
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        let row = try #require(lines.firstIndex { $0.contains(line) })
        let column = try #require(lines[row].range(of: target)).lowerBound.utf16Offset(in: lines[row]) + 1
        do {
            _ = try Scenario.parse(text, file: "real.yaml")
            Issue.record("accepted layers 9")
        } catch {
            #expect("\(error)".hasPrefix("real.yaml:\(row + 1):\(column): error:"), "\(error)")
            #expect("\(error)".contains("'layers'"), "\(error)")
        }
    }

    @Test func aRealJobCannotAlsoGiveItsWork() {
        #expect(throws: ScenarioError.self) {
            try Scenario.parse(Self.scenario(Self.ragWorkload + "\n          duration: 1h"), file: "real.yaml")
        }
    }

    @Test func runReportsVerifiedResultsAndAnalysesDeterministically() throws {
        let dir = try temporaryDirectory()
        let path = dir.appendingPathComponent("real.yaml").path
        try Self.scenario(Self.ragWorkload).write(toFile: path, atomically: true, encoding: .utf8)
        #expect(try runFleettwin(["validate", path]).stdout.contains("3 jobs (2 real: rag)"))
        var outputs: [String] = []
        for i in 0..<2 {
            let out = try runFleettwin(["run", path, "--json", "--quiet", "--db", dir.appendingPathComponent("r\(i).sqlite").path])
            #expect(out.status == 0, "\(out.stderr)")
            outputs.append(out.stdout.replacingOccurrences(of: #""runId" : \d+"#, with: #""runId" : 0"#, options: .regularExpression))
        }
        #expect(outputs[0] == outputs[1], "two processes, byte-identical results")
        let summary = try JSONDecoder().decode(RunSummary.self, from: Data(outputs[0].utf8))
        #expect(summary.resultsVerified == ResultsVerified(checked: 2, identical: 2))
        let workloads = try #require(summary.workloads)
        #expect(workloads.jobs.map(\.job) == ["rag[layers=2]", "rag[layers=3]"])
        #expect(workloads.analyses.map(\.kind) == ["rag"])
        #expect(summary.preemptions >= 1, "the premium job preempts the real ones")
        #expect(workloads.jobs.contains { $0.restores >= 1 })

        let table = try runFleettwin(["run", path, "--quiet", "--db", dir.appendingPathComponent("t.sqlite").path])
        #expect(table.stdout.contains("results verified: 2 of 2 identical"))

        // Stored with the run: `show` gives back the same results and analyses.
        let shown = try runFleettwin(["show", "1", "--json", "--db", dir.appendingPathComponent("r0.sqlite").path])
        let object = try JSONSerialization.jsonObject(with: Data(shown.stdout.utf8)) as! [String: Any]
        let stored = try JSONDecoder().decode(WorkloadResults.self, from: JSONSerialization.data(withJSONObject: object["workloads"]!))
        #expect(stored == workloads)
        #expect(try runFleettwin(["show", "1", "--db", dir.appendingPathComponent("r0.sqlite").path]).stdout
            .contains("results verified: 2 of 2 identical"))
    }

    @Test func compareAndSweepVerifyAndStoreEveryRunsWorkloads() throws {
        let dir = try temporaryDirectory()
        let path = dir.appendingPathComponent("real.yaml").path
        try Self.scenario(Self.ragWorkload).write(toFile: path, atomically: true, encoding: .utf8)
        let compareDB = dir.appendingPathComponent("c.sqlite").path
        let compare = try runFleettwin(["compare", path, "--policies", "fifo,singularity", "--seeds", "1-2", "--db", compareDB])
        #expect(compare.status == 0, "\(compare.stderr)")
        try #require(FileManager.default.createFile(atPath: dir.appendingPathComponent("s.yaml").path, contents: Data(
            "scenarios: [real.yaml]\npolicies: [fifo]\nseeds: 1-2\n".utf8)))
        let sweepDB = dir.appendingPathComponent("s.sqlite").path
        let sweep = try runFleettwin(["sweep", dir.appendingPathComponent("s.yaml").path, "--db", sweepDB])
        #expect(sweep.status == 0, "\(sweep.stderr)")
        for (db, runs) in [(compareDB, 4), (sweepDB, 2)] {
            let stored = try DatabaseQueue(path: db).read { try String.fetchAll($0, sql: "SELECT results_json FROM workload_results") }
            #expect(stored.count == runs)
            #expect(try stored.allSatisfy { try WorkloadResults(json: $0).verified == ResultsVerified(checked: 2, identical: 2) })
        }
    }

    @Test func aDifferingResultFailsTheRun() {
        let same = WorkloadResults.Job(job: "a", kind: "rag", steps: 1, restores: 0, dumps: 0, devices: [1],
                                       resultHash: "01", referenceHash: "01", metrics: [:])
        let differs = WorkloadResults.Job(job: "b", kind: "rag", steps: 1, restores: 1, dumps: 1, devices: [1],
                                          resultHash: "01", referenceHash: "02", metrics: [:])
        let results = WorkloadResults(jobs: [same, differs], analyses: [])
        #expect(results.verified == ResultsVerified(checked: 2, identical: 1))
        #expect(results.text().contains("DIFFERS (01 vs 02)"))
    }
}
