import FleetTwinCostModel
import FleetTwinEngine
import FleetTwinFleet
import FleetTwinMetrics
import FleetTwinScenario
import FleetTwinScheduling
import FleetTwinTraces
import Foundation
import Testing

/// Issue 18: tensor and pipeline parallelism declared by jobs, placed in whole tensor groups
/// and priced by `HybridParallelStep` in the simulation.
@Suite struct ParallelismTests {
    // MARK: Declaring it

    static func scenario(_ job: String, nodeSize: Int = 8, nodes: Int = 2, placement: String = "best-fit",
                         extra: String = "") throws(ScenarioError) -> Scenario {
        try Scenario.parse("""
            fleet:
              regions:
                - name: r
                  clusters:
                    - { name: h, nodes: \(nodes), accelerators_per_node: \(nodeSize), type: h100-80gb }
            workload:
              jobs:
                - \(job)
            \(extra)
            policy: { name: fifo, placement: \(placement) }
            """, file: "tp.yaml")
    }

    static let llama = "model: { arch: llama, layers: 32, hidden: 4096, seq: 2048, batch: 8 }"

    @Test func aListedJobCarriesItsParallelismAndItsIdealStep() throws {
        let s = try Self.scenario("{ name: big, world_size: 16, steps: 100, \(Self.llama), parallelism: { tensor: 8, pipeline: 2, micro_batches: 8 } }")
        guard case let .jobs(jobs, _) = s.workload else { Issue.record("not a job list"); return }
        let job = jobs[0]
        #expect(job.parallelism == Parallelism(tensor: 8, pipeline: 2, microBatches: 8))
        #expect(job.replicaDevices == 16)
        let shape = ModelShape(architecture: .llama, layers: 32, hidden: 4096, sequence: 2048, batch: 8, mode: .train)
        let reference = CostModel.calibrated.estimate(shape, on: AcceleratorCatalog.h100)
        // Work is steps x one replica's H100 step / (T x P); memory one device's share.
        #expect(job.work == VirtualTime.seconds(100 * reference.stepSeconds / 16))
        #expect(job.memoryPerReplicaBytes == (reference.memoryBytes + 15) / 16)
        // A 7B replica does not fit one 80 GB device: without parallelism it is refused.
        #expect(reference.memoryBytes > AcceleratorCatalog.h100.memoryBytes)
        #expect(throws: ScenarioError.self) { try Self.scenario("{ name: big, world_size: 16, steps: 100, \(Self.llama) }") }
    }

    @Test func samplesAreSplitOverDataParallelReplicasOnly() throws {
        let s = try Self.scenario("{ name: s, world_size: 16, samples: 1600, \(Self.llama), parallelism: { tensor: 8 } }")
        guard case let .jobs(jobs, _) = s.workload else { Issue.record("not a job list"); return }
        // 16 / 8 = 2 data-parallel replicas of batch 8: 16 samples a step.
        #expect(jobs[0].steps == 100)
        #expect(jobs[0].parallelism == Parallelism(tensor: 8, pipeline: 1, microBatches: 1))
    }

    @Test func aGeneratorMayDeclareParallelism() throws {
        let s = try Scenario.parse("""
            fleet:
              regions: [{ name: r, clusters: [{ name: h, nodes: 4, accelerators_per_node: 8, type: h100-80gb }] }]
            workload:
              generator:
                jobs: 3
                arrivals: { poisson: { per_hour: 10 } }
                world_size: { choices: [8, 16] }
                \(Self.llama)
                parallelism: { tensor: 4, pipeline: 2, micro_batches: 4 }
                steps: 10
            policy: { name: fifo }
            """, file: "g.yaml")
        let jobs = s.jobs(seed: 1)
        #expect(jobs.count == 3 && jobs.allSatisfy { $0.parallelism == Parallelism(tensor: 4, pipeline: 2, microBatches: 4) })
    }

    @Test(arguments: [
        ("{ name: a, world_size: 12, steps: 10, \(llama), parallelism: { tensor: 8 } }",
         "tp.yaml:8:30: error: world size 12 is not a multiple of tensor 8 x pipeline 1 = 8"),
        ("{ name: a, world_size: 16, steps: 10, \(llama), parallelism: { tensor: 0 } }",
         "tp.yaml:8:139: error: parallelism.tensor must be between 1 and 1000000; found 0"),
        ("{ name: a, world_size: 16, steps: 10, \(llama), parallelism: { tensor: 2, ways: 2 } }",
         "tp.yaml:8:142: error: unknown key 'ways' in parallelism; expected one of: tensor, pipeline, micro_batches"),
        ("{ name: a, world_size: 16, steps: 10, duration: 1h, parallelism: { tensor: 2 } }",
         "error: 'parallelism' needs a training 'model' to split and price"),
        ("{ name: a, world_size: 16, steps: 10, \(llama), parallelism: { tensor: 2 }, elastic: true }",
         "error: 'elastic' and 'parallelism' do not go together"),
        ("{ name: a, world_size: 16, steps: 10, model: { arch: llama, layers: 32, hidden: 4096, seq: 2048, batch: 8, mode: infer }, parallelism: { tensor: 2 } }",
         "error: 'parallelism' splits a training model"),
    ])
    func badParallelismIsRefusedWhereItIsWritten(job: String, expected: String) {
        do {
            _ = try Self.scenario(job)
            Issue.record("accepted \(job)")
        } catch {
            #expect(error.description.contains(expected), "\(error.description)")
        }
    }

    /// Tensor groups must fit a node of every type the job may use: 16 on 8-GPU nodes, or 4 on
    /// 6-GPU nodes (whole nodes would split a group), are refused at `tensor`.
    @Test func aTensorGroupLargerThanOrNotDividingANodeIsRefused() {
        for (tensor, nodeSize) in [(16, 8), (4, 6)] {
            do {
                _ = try Self.scenario("{ name: a, world_size: 48, steps: 10, \(Self.llama), parallelism: { tensor: \(tensor) } }",
                                      nodeSize: nodeSize, nodes: 8)
                Issue.record("accepted tensor \(tensor) on \(nodeSize)-accelerator nodes")
            } catch {
                #expect(error.description.hasPrefix("tp.yaml:8:139: error: ") && error.description.contains(
                    "tensor \(tensor) must divide the \(nodeSize) accelerators of a h100-80gb node (cluster h)"), "\(error.description)")
            }
        }
    }

    @Test func traceJobsReadWriteAndValidateParallelism() throws {
        let dir = try temporaryDirectory()
        let path = dir.appendingPathComponent("t.jsonl").path
        let good = #"{"id":"a","submit":0,"worldSize":16,"duration":60,"parallelism":{"tensor":4,"pipeline":2,"microBatches":8}}"#
        try ("{\"format\":\"fleettwin-trace\",\"version\":1}\n" + good + "\n").write(toFile: path, atomically: true, encoding: .utf8)
        let jobs = try TraceReader(path: path).readAll().1
        #expect(jobs[0].parallelism == TraceParallelism(tensor: 4, pipeline: 2, microBatches: 8))
        let written = dir.appendingPathComponent("w.jsonl").path
        var writer = try TraceWriter(path: written, header: TraceHeader(name: "t", source: "test"))
        writer.write(jobs[0])
        try writer.close()
        #expect(try TraceReader(path: written).readAll().1 == jobs)
        for (line, expected) in [
            (#"{"id":"b","submit":0,"worldSize":12,"duration":60,"parallelism":{"tensor":8}}"#, ":2: error: 'parallelism': tensor 8 x pipeline 1 = 8 must divide worldSize 12"),
            (#"{"id":"b","submit":0,"worldSize":8,"duration":60,"parallelism":{"tensor":0}}"#, ":2: error: 'parallelism.tensor' must be a whole number from 1"),
            (#"{"id":"b","submit":0,"worldSize":8,"duration":60,"parallelism":{"stages":2}}"#, ":2: error: unknown field 'parallelism.stages'"),
            (#"{"id":"b","submit":0,"worldSize":8,"duration":60,"requests":5,"parallelism":{"tensor":2}}"#, ":2: error: 'parallelism' is for training with a fixed world"),
        ] {
            try ("{\"format\":\"fleettwin-trace\",\"version\":1}\n" + line + "\n").write(toFile: path, atomically: true, encoding: .utf8)
            do {
                _ = try TraceReader(path: path).readAll()
                Issue.record("accepted \(line)")
            } catch {
                #expect("\(error)".contains(expected), "\(error)")
            }
        }
    }

    // MARK: Placement

    /// Under every rule, a gang in groups of 4 on 8-accelerator nodes takes a multiple of 4 on
    /// every node, and the summary's fit test agrees with what `reserve` can do, through
    /// random churn beside ungrouped jobs.
    @Test(arguments: PlacementRule.allCases)
    func tensorGroupsNeverStraddleNodes(rule: PlacementRule) throws {
        var g = SeededGenerator(seed: 18)
        var c = ClusterCapacity(nodes: 5, acceleratorsPerNode: 8)
        var held: [[NodeShare]] = []
        var grouped = 0
        for _ in 0..<3_000 {
            let group = g.next() % 2 == 0 ? 4 : 1
            let count = group * (Int(g.next() % 6) + 1)
            let fits = c.summary.fits(count, rule: rule, group: group)
            var probe = c
            let shares = probe.reserve(count, rule: rule, group: group)
            #expect(fits == (shares != nil), "rule \(rule), \(count) in groups of \(group), free \(c.freeOnNode)")
            if let shares {
                #expect(shares.reduce(0) { $0 + Int($1.count) } == count)
                if group > 1 {
                    grouped += 1
                    #expect(shares.allSatisfy { $0.count % 4 == 0 }, "rule \(rule): split tensor group in \(shares)")
                }
                c = probe
                held.append(shares)
            }
            if !held.isEmpty && g.next() % 3 == 0 { c.release(held.remove(at: Int(g.next() % UInt64(held.count)))) }
        }
        #expect(grouped > 30)
        // A gang's count must be whole groups.
        #expect(!ClusterCapacity(nodes: 2, acceleratorsPerNode: 8).summary.fits(6, rule: .any, group: 4))
    }

    /// `any` and `spread` count only whole groups: 3 + 3 free on two nodes hold six single
    /// accelerators but not two groups of 2 plus ... in groups of 4 nothing at all.
    @Test func freeCapacityInGroupsCountsWholeGroupsPerNode() throws {
        var c = ClusterCapacity(nodes: 2, acceleratorsPerNode: 8)
        _ = c.reserve(5, rule: .bestFit)
        _ = c.reserve(5, rule: .bestFit)
        #expect(c.freeOnNode == [3, 3])
        #expect(c.summary.fits(6, rule: .any) && !c.summary.fits(4, rule: .any, group: 4))
        #expect(c.summary.freeInGroups(of: 2) == 4 && c.summary.fits(4, rule: .spread, group: 2))
        let reserved = c.reserve(4, rule: .spread, group: 2)
        #expect(reserved?.map(\.count) == [2, 2])
    }

    /// In the simulation, under every placement rule and the Slurm and Gandiva policies that
    /// choose nodes themselves: T = 4 jobs beside 1- and 3-accelerator jobs on 8-accelerator
    /// nodes all finish, the invariants hold after every event, and every start of a T = 4 job
    /// is accepted by the scheduler, which refuses a split tensor group.
    @Test(arguments: ["first-fit", "best-fit", "spread", "any"])
    func modelParallelJobsRunBesideOthersUnderEveryRule(placement: String) async throws {
        var lines: [String] = []
        for i in 0..<24 {
            let kind = i % 3
            let job = kind == 0
                ? "{ name: tp\(i), submit: \(i * 30)s, world_size: \(4 * (1 + i % 4)), steps: 200, model: { arch: bert, layers: 24, hidden: 1024, seq: 512, batch: 8 }, parallelism: { tensor: 4 } }"
                : "{ name: dp\(i), submit: \(i * 30)s, world_size: \(kind == 1 ? 1 : 3), duration: \(300 + 50 * i)s }"
            lines.append("    - " + job)
        }
        for policy in ["fifo", "las", "singularity", "slurm", "gandiva", "afs"] {
            let s = try Scenario.parse("""
                fleet:
                  regions: [{ name: r, clusters: [{ name: h, nodes: 3, accelerators_per_node: 8, type: h100-80gb }] }]
                workload:
                  jobs:
                \(lines.joined(separator: "\n"))
                policy: { name: \(policy), placement: \(placement) }
                """, file: "mix.yaml")
            let result = try await runScenario(s)
            let metrics = RunMetrics.fold(result)
            #expect(metrics.jobs.allSatisfy { $0.end != nil }, "\(policy), \(placement): unfinished jobs")
            // Model-parallel jobs only ever held whole model replicas (multiples of 4).
            let starts = result.log.records.filter { $0.kind == .started && Int($0.job) % 3 == 0 }
            #expect(!starts.isEmpty && starts.allSatisfy { $0.accelerators % 4 == 0 }, "\(policy), \(placement)")
        }
    }

    /// Singularity shrinks a running basic-tier job by splicing to make room for premium
    /// work: a T = 2 x P = 2 job of 16 keeps whole model replicas (multiples of 4), whereas
    /// the same job without parallelism is halved freely; the invariants hold throughout.
    @Test func splicingKeepsWholeModelReplicas() async throws {
        func sizes(_ parallelism: String) async throws -> [Int32] {
            let s = try Scenario.parse("""
                fleet:
                  regions: [{ name: r, clusters: [{ name: h, nodes: 3, accelerators_per_node: 8, type: h100-80gb }] }]
                workload:
                  jobs:
                    - { name: big, tier: basic, world_size: 16, steps: 50000, model: { arch: bert, layers: 24, hidden: 1024, seq: 512, batch: 8 }\(parallelism) }
                    - { name: p1, tier: premium, submit: 10m, world_size: 6, duration: 600s }
                    - { name: p2, tier: premium, submit: 11m, world_size: 7, duration: 600s }
                policy: { name: singularity, placement: any }
                """, file: "splice.yaml")
            let result = try await runScenario(s)
            #expect(RunMetrics.fold(result).jobs.allSatisfy { $0.end != nil })
            return result.log.records.filter { ($0.kind == .started || $0.kind == .resized) && $0.job == 0 }.map(\.accelerators)
        }
        let split = try await sizes(", parallelism: { tensor: 2, pipeline: 2, micro_batches: 4 }")
        let plain = try await sizes("")
        // Halved to 8 (two model replicas) for the 7 premium accelerators, then grown back.
        #expect(split == [16, 8, 16], "\(split)")
        #expect(split.allSatisfy { $0 % 4 == 0 }, "\(split)")
        #expect(plain.contains { $0 % 4 != 0 }, "\(plain)")
    }

    // MARK: Pricing

    /// The same 8-GPU job as T = 8, as P = 8 (8 micro-batches) and as pure data parallelism:
    /// each runs its steps in exactly the step `fleettwin predict` prints for its placement
    /// (one 8-GPU node under best-fit), and perfectly scaled without communication.
    @Test func theSimulatedStepIsTheOnePredictPrints() async throws {
        let shape = "model: { arch: bert, layers: 24, hidden: 1024, seq: 512, batch: 16 }"
        let cases: [(parallelism: String, flags: [String], key: String)] = [
            ("parallelism: { tensor: 8 }", ["--tensor", "8"], "hybridParallel"),
            ("parallelism: { pipeline: 8, micro_batches: 8 }", ["--pipeline", "8", "--micro-batches", "8"], "hybridParallel"),
            ("", [], "dataParallel"),
        ]
        var ends: [Double] = []
        for c in cases {
            let job = "{ name: j, world_size: 8, steps: 500, \(shape)\(c.parallelism.isEmpty ? "" : ", " + c.parallelism) }"
            let s = try Self.scenario(job)
            let end = RunMetrics.fold(try await runScenario(s)).jobs[0].end!.seconds
            let out = try runFleettwin(["predict", "--arch", "bert", "--layers", "24", "--hidden", "1024", "--seq", "512", "--batch", "16",
                                        "--mode", "train", "--accelerator", "h100-80gb", "--gpus", "8", "--nodes", "1", "--node-size", "8",
                                        "--json"] + c.flags)
            let reply = try jsonObject(out)
            let predicted = try #require((reply[c.key] as? [String: Any])?["stepSeconds"] as? Double)
            #expect(abs(end / 500 - predicted) < 1e-6, "\(c.parallelism): simulated \(end / 500) s a step, predict \(predicted)")
            ends.append(end)
            // Without communication: the ideal step, one replica's compute / (T x P) (DP: / 1).
            let off = RunMetrics.fold(try await runScenario(s.withoutCommunication())).jobs[0].end!.seconds
            let compute = try #require(reply["stepSeconds"] as? Double)
            let ideal = c.parallelism.isEmpty ? compute : compute / 8
            #expect(abs(off / 500 - ideal) < 1e-6, "\(c.parallelism): \(off / 500) vs \(ideal)")
        }
        // T = 8 pays activation all-reduces, P = 8 a bubble of 7/15: both slower than the ideal.
        #expect(ends[1] > ends[0])
    }

    /// A T = 8 job placed so that its tensor groups must stay in nodes: on 4-GPU nodes T = 8 is
    /// refused, and on two 8-GPU nodes under spread its 16 devices are two whole nodes.
    @Test func spreadPlacementKeepsTensorGroupsWhole() async throws {
        let job = "{ name: j, world_size: 16, steps: 50, \(Self.llama), parallelism: { tensor: 8, pipeline: 2, micro_batches: 8 } }"
        let s = try Self.scenario(job, nodes: 2, placement: "spread")
        let end = RunMetrics.fold(try await runScenario(s)).jobs[0].end!.seconds
        let shape = ModelShape(architecture: .llama, layers: 32, hidden: 4096, sequence: 2048, batch: 8, mode: .train)
        let compute = CostModel.calibrated.estimate(shape, on: AcceleratorCatalog.h100).stepSeconds
        let step = HybridParallelStep(shape: shape, computeSeconds: compute, parallelism: Parallelism(tensor: 8, pipeline: 2, microBatches: 8),
                                      replicasPerNode: [8, 8], acceleratorsPerNode: 8, interconnect: Interconnect.hgxH100)
        #expect(step.tensorInsideNodes)
        #expect(abs(end / 50 - step.stepSeconds) < 1e-5, "\(end / 50) vs \(step.stepSeconds)")
    }

    /// Same scenario twice in two processes: the same event log.
    @Test func modelParallelRunsAreDeterministic() throws {
        let dir = try temporaryDirectory()
        let path = dir.appendingPathComponent("tp.yaml").path
        try String(contentsOfFile: repositoryRoot.appendingPathComponent("Scenarios/model-parallel.yaml").path, encoding: .utf8)
            .write(toFile: path, atomically: true, encoding: .utf8)
        func hash() throws -> String {
            let out = try jsonObject(try runFleettwin(["run", path, "--json", "--quiet", "--check", "--db", dir.appendingPathComponent("r.db").path]))
            return try #require(out["eventLogHash"] as? String)
        }
        let first = try hash()
        #expect(try hash() == first)
    }

    /// `export` writes a model-parallel job's parallelism, and the trace replays with it.
    @Test func exportKeepsParallelism() throws {
        let text = try Self.scenario("{ name: j, world_size: 16, steps: 20, \(Self.llama), parallelism: { tensor: 8, pipeline: 2, micro_batches: 4 } }").text
        let (_, replayed, exported) = try exportRoundTrip(text, policy: "fifo")
        #expect(exported.map(\.parallelism) == [TraceParallelism(tensor: 8, pipeline: 2, microBatches: 4)])
        #expect(replayed["completed"] as? Int == 1)
    }
}
