import FleetTwinCostModel
import FleetTwinEngine
import FleetTwinFleet
import FleetTwinMetrics
import FleetTwinScenario
import FleetTwinScheduling
import FleetTwinTraces
import Foundation
import Testing

/// Batch-inference jobs (`BatchInference`): replicas split the requests, every start loads
/// the weights, a dump writes the cursor and the new outputs.
@Suite struct InferenceJobTests {
    static let fleet = MechanismTests.fleet

    static func job(_ name: String, size: Int, work: Int64, inference: BatchInference?, state: Int64 = 0) -> JobSpec {
        var spec = JobSpec(name: name, submit: .zero, tier: .basic, worldSize: size, acceleratorType: "h100-80gb",
                           work: .seconds(work), stateBytes: state)
        spec.inference = inference
        return spec
    }

    static func run(_ jobs: [JobSpec], _ script: [(at: VirtualTime, decision: SchedulingDecision)]) async throws -> SimulationResult {
        try await FleetSimulation(SimulationConfiguration(
            fleet: fleet, jobs: jobs, policy: ScriptedPolicy(script: script), checkInvariants: true)).run()
    }

    /// On 2 of its 4 devices an inference job runs at exactly half speed; a training job of
    /// the same work time-slices its replicas and pays the splicing overhead (1.03).
    @Test func fewerDevicesServeAShareOfTheRequests() async throws {
        let script: [(at: VirtualTime, decision: SchedulingDecision)] = [(.zero, .start(0, cluster: 0, accelerators: 2))]
        let inference = try await Self.run([Self.job("i", size: 4, work: 100, inference: BatchInference(requests: 1000, weightBytes: 0))], script)
        let training = try await Self.run([Self.job("t", size: 4, work: 100, inference: nil)], script)
        #expect(RunMetrics.fold(inference).jobs[0].end == .seconds(Int64(200)))
        #expect(RunMetrics.fold(training).jobs[0].end == .seconds(200 * 1.03))
        // No splicing overhead is charged to inference.
        #expect(RunMetrics.fold(inference).overheadSeconds.splicing == 0)
        #expect(RunMetrics.fold(training).overheadSeconds.splicing > 0)
    }

    /// Every start loads the weights, the first one included; a training job without dumps
    /// starts at once.
    @Test func everyStartLoadsTheWeights() async throws {
        let weights: Int64 = 8 << 30
        let costs = MechanismCosts(fleet: Self.fleet, settings: MechanismSettings())
        let load = costs.restoreTime(state: weights + BatchInference.cursorBytes, cluster: 0)
        #expect(load > .seconds(Int64(1)))
        let script: [(at: VirtualTime, decision: SchedulingDecision)] = [
            (.zero, .start(0, cluster: 0, accelerators: 4)),
            (.seconds(Int64(50)), .preempt(0)),
            (.seconds(Int64(60)), .start(0, cluster: 0, accelerators: 4)),
        ]
        // Jobs 1 and 2 only make the scheduler pass at 50 s and 60 s.
        let result = try await Self.run([Self.job("i", size: 4, work: 100,
                                                  inference: BatchInference(requests: 1000, weightBytes: weights), state: 4000)]
                                        + [50, 60].map { MechanismTests.job("t\($0)", at: $0, size: 1, work: 1) }, script)
        let started = result.log.records.filter { $0.job == 0 && $0.kind == .started }
        #expect(started.count == 2)
        let metrics = RunMetrics.fold(result)
        // Progress from `load` to the cut at 50 + 2 default steps, then from 60 + load on.
        let banked = VirtualTime.seconds(Int64(52)) - load
        #expect(metrics.jobs[0].end == .seconds(Int64(60)) + load + (.seconds(Int64(100)) - banked))
        #expect(metrics.overheadSeconds.restore >= 2 * load.seconds - 1e-9)
    }

    /// Outputs stream to storage step by step: a dump writes the cursor and the last step's
    /// outputs, nothing when the job has not progressed since its last dump.
    @Test func dumpsWriteTheCursorAndTheLastStep() {
        let costs = MechanismCosts(fleet: Self.fleet, settings: MechanismSettings())
        func bytes(_ steps: Int64?, progressed: Bool = true) -> Int64 {
            costs.inferenceDumpBytes(outputBytes: 1000, steps: steps, work: .seconds(Int64(100)), defaultStep: .seconds(Int64(1)),
                                     progressed: progressed)
        }
        #expect(bytes(10) == 8 + 100)
        #expect(bytes(3) == 8 + 334)
        #expect(bytes(nil) == 8 + 10)  // 100 rounds of the 1 s default step
        #expect(bytes(10, progressed: false) == 0)
    }

    /// An elastic policy starts an inference job on whatever is free even at full SLA
    /// targets, since a share of the devices is a share of the speed.
    @Test func fractionIsLinearForInference() {
        var job = PendingJob(index: 0, submit: .zero, tier: .premium, worldSize: 8, acceleratorTypes: TypeSet([0]))
        #expect(job.fraction(on: 3, splicingOverhead: 0.03) == 1 / (3 * 1.03))
        job.splitsRequests = true
        #expect(job.fraction(on: 3, splicingOverhead: 0.03) == 3.0 / 8)
        #expect(job.fraction(on: 8, splicingOverhead: 0.03) == 1)
    }

    static func scenario(_ jobs: String, policy: String = "fifo") throws(ScenarioError) -> Scenario {
        try Scenario.parse(text(jobs, policy: policy), file: "inference.yaml")
    }

    static func text(_ jobs: String, policy: String = "fifo") -> String {
        """
            fleet:
              regions:
                - name: r
                  clusters:
                    - { name: c, nodes: 2, accelerators_per_node: 4, type: h100-80gb }
            policy: { name: \(policy) }
            workload:
              jobs:
            \(jobs)
            """
    }

    @Test func inferenceModelsAreBatchInferenceJobs() throws {
        let shape = ModelShape(architecture: .bert, layers: 12, hidden: 768, sequence: 128, batch: 64, mode: .infer)
        let s = try Self.scenario("""
                - { name: eval, world_size: 4, requests: 100001, model: { arch: bert, layers: 12, hidden: 768, seq: 128, batch: 64, mode: infer } }
                - { name: emb, world_size: 2, steps: 10, output_size: 1KiB, model: { arch: bert, layers: 12, hidden: 768, seq: 128, batch: 64, mode: infer } }
                - { name: train, world_size: 2, steps: 10, model: { arch: bert, layers: 12, hidden: 768, seq: 128, batch: 64 } }
            """)
        let jobs = s.jobs(seed: 1)
        #expect(jobs[0].inference == BatchInference(requests: 100_001, weightBytes: shape.checkpointBytes))
        #expect(jobs[0].steps == 391)  // ceil(100001 / (64 x 4))
        #expect(jobs[0].stateBytes == 100_001 * shape.outputBytesPerRequest)
        #expect(jobs[1].inference == BatchInference(requests: 1280, weightBytes: shape.checkpointBytes))
        #expect(jobs[1].stateBytes == 10 * 64 * 2 * 1024)
        #expect(jobs[2].inference == nil)
    }

    /// `compare` shows the inference metrics where the runs have inference jobs, and only there.
    @Test func compareShowsInferenceRowsOnlyWithInference() throws {
        let dir = try temporaryDirectory()
        let db = dir.appendingPathComponent("c.sqlite").path
        let train = "    - { name: train, world_size: 4, steps: 100, model: { arch: bert, layers: 2, hidden: 128, seq: 64, batch: 8 } }"
        let withInference = dir.appendingPathComponent("inf.yaml").path, without = dir.appendingPathComponent("train.yaml").path
        try Self.text("    - { name: eval, world_size: 4, requests: 64000, model: { arch: bert, layers: 12, hidden: 768, seq: 128, batch: 64, mode: infer } }\n" + train)
            .write(toFile: withInference, atomically: true, encoding: .utf8)
        try Self.text(train).write(toFile: without, atomically: true, encoding: .utf8)
        let shown = try runFleettwin(["compare", withInference, "--policies", "fifo,las", "--seeds", "1", "--db", db])
        #expect(shown.status == 0, "\(shown.stderr)")
        let row = shown.stdout.split(separator: "\n").first { $0.hasPrefix("inference requests/s") }
        #expect(row.map { $0.split(separator: " ").count >= 4 && !$0.contains(" - ") } == true, "\(shown.stdout)")
        #expect(shown.stdout.contains("inference accel-s / 1k req"))
        let json = try jsonObject(try runFleettwin(["compare", withInference, "--policies", "fifo", "--seeds", "1", "--json", "--db", db]))
        let mean = (json["policies"] as? [String: [String: Any]])?["fifo"]?["mean"] as? [String: Double]
        #expect((mean?["inferenceRequestsPerSecond"] ?? 0) > 0 && (mean?["inferenceAcceleratorSecondsPer1k"] ?? 0) > 0, "\(json)")
        let hidden = try runFleettwin(["compare", without, "--policies", "fifo,las", "--seeds", "1", "--db", db])
        #expect(hidden.status == 0 && !hidden.stdout.contains("inference"), "\(hidden.stdout)")
    }

    @Test func inferenceKeysAreCheckedWhereTheyAreWritten() {
        let cases: [(String, String)] = [
            ("- { world_size: 1, samples: 10, model: { arch: bert, layers: 2, hidden: 128, seq: 64, batch: 4, mode: infer } }",
             "inference.yaml:9:33: error: an inference model (mode: infer) serves 'requests'"),
            ("- { world_size: 1, requests: 10, model: { arch: bert, layers: 2, hidden: 128, seq: 64, batch: 4 } }",
             "inference.yaml:9:34: error: 'requests' is for batch inference"),
            ("- { world_size: 1, requests: 10, duration: 1h }",
             "inference.yaml:9:34: error: 'requests' is for batch inference: it needs a 'model' with 'mode: infer'"),
            ("- { world_size: 2, requests: 10, speedup: [1, 1.5], model: { arch: bert, layers: 2, hidden: 128, seq: 64, batch: 4, mode: infer } }",
             "inference.yaml:9:47: error: 'speedup' is for training whose replicas follow devices; a batch-inference job already runs at devices / world_size"),
            ("- { world_size: 1, requests: 0, model: { arch: bert, layers: 2, hidden: 128, seq: 64, batch: 4, mode: infer } }",
             "inference.yaml:9:34: error: requests must be"),
        ]
        for (job, expected) in cases {
            do {
                _ = try Self.scenario("    " + job)
                Issue.record("accepted \(job)")
            } catch {
                #expect(error.description.hasPrefix(expected), "\(error.description)")
            }
        }
    }

    /// A trace's inference jobs keep their requests and weights through the writer and reader.
    @Test func tracesCarryInference() throws {
        let dir = try temporaryDirectory()
        let path = dir.appendingPathComponent("t.jsonl").path
        var writer = try TraceWriter(path: path, header: TraceHeader(name: "t", source: "test"))
        var job = TraceJob(id: "eval", submit: 0, worldSize: 4, duration: 100, stateBytes: 4000)
        job.requests = 1000
        job.weightBytes = 1 << 30
        writer.write(job)
        writer.write(TraceJob(id: "train", submit: 1, worldSize: 2, duration: 50))
        try writer.close()
        let (_, jobs) = try TraceReader(path: path).readAll()
        #expect(jobs[0].requests == 1000 && jobs[0].weightBytes == 1 << 30)
        #expect(jobs[1].requests == nil)

        try """
            {"format":"fleettwin-trace","version":1,"name":"t","source":"s"}
            {"id":"a","submit":0,"worldSize":1,"duration":5,"weightBytes":100}
            """.write(toFile: path, atomically: true, encoding: .utf8)
        do {
            _ = try TraceReader(path: path).readAll()
            Issue.record("accepted weightBytes without requests")
        } catch {
            #expect("\(error)".contains(":2:") && "\(error)".contains("'weightBytes' is for batch inference"), "\(error)")
        }
    }

    /// The run reports what its inference jobs served and what each 1,000 requests cost.
    @Test func metricsReportRequestsServed() async throws {
        let s = try Self.scenario("""
                - { name: eval, world_size: 4, requests: 64000, model: { arch: bert, layers: 12, hidden: 768, seq: 128, batch: 64, mode: infer } }
                - { name: train, world_size: 4, steps: 100, model: { arch: bert, layers: 2, hidden: 128, seq: 64, batch: 8 } }
            """)
        let result = try await runScenario(s)
        let metrics = RunMetrics.fold(result)
        let inference = try #require(metrics.inference)
        #expect(inference.jobs == 1 && inference.completed == 1 && inference.requestsServed == 64_000)
        let eval = metrics.jobs[0]
        let running = (eval.end! - eval.firstStart!).seconds
        #expect(abs(inference.requestsPerSecond - 64_000 / running) < 1e-6)
        #expect(abs(inference.acceleratorSecondsPer1kRequests - eval.acceleratorSeconds / 64) < 1e-9)
        // A run without inference jobs has no inference figures.
        let training = try await runScenario(try Self.scenario("""
                - { name: train, world_size: 4, steps: 100, model: { arch: bert, layers: 2, hidden: 128, seq: 64, batch: 8 } }
            """))
        #expect(RunMetrics.fold(training).inference == nil)
    }

    /// `singularity` shrinks a running basic-tier inference job for a premium arrival and
    /// grows it back; the job's work is conserved throughout (`--check`).
    @Test func elasticPoliciesResizeInferenceJobs() async throws {
        let s = try Self.scenario("""
                - { name: eval, tier: basic, world_size: 8, requests: 100000000, model: { arch: bert, layers: 12, hidden: 768, seq: 128, batch: 64, mode: infer } }
                - { name: urgent, tier: premium, submit: 10m, world_size: 4, steps: 2000, model: { arch: bert, layers: 2, hidden: 128, seq: 64, batch: 8 } }
            """, policy: "singularity")
        let result = try await runScenario(s)
        let kinds = result.log.records.filter { $0.job == 0 }.map(\.kind)
        #expect(kinds.contains(.resized))
        #expect(!kinds.contains(.preempted))
        #expect(RunMetrics.fold(result).jobsCompleted == 2)
    }

    /// A run's inference jobs are stored as such: exported, they replay to the same event log.
    @Test func exportKeepsInference() throws {
        let (original, replayed, jobs) = try exportRoundTrip("""
            fleet:
              regions:
                - name: r
                  clusters:
                    - { name: c, nodes: 2, accelerators_per_node: 4, type: h100-80gb }
            policy: { name: singularity }
            workload:
              jobs:
                - { name: eval, tier: basic, world_size: 8, requests: 50000000, model: { arch: bert, layers: 12, hidden: 768, seq: 128, batch: 64, mode: infer } }
                - { name: urgent, tier: premium, submit: 5m, world_size: 4, duration: 20m, state_size: 2GiB }
            """, policy: "singularity")
        let inference = try #require(original["inference"] as? [String: Any])
        #expect(inference["requestsServed"] as? Int == 50_000_000)
        #expect((original["resizes"] as? Int ?? 0) > 0)
        #expect(jobs[0].requests == 50_000_000 && jobs[0].weightBytes == ModelShape(
            architecture: .bert, layers: 12, hidden: 768, sequence: 128, batch: 64, mode: .infer).checkpointBytes)
        #expect(jobs[1].requests == nil)
        #expect(replayed["eventLogHash"] as? String == original["eventLogHash"] as? String)
    }
}
