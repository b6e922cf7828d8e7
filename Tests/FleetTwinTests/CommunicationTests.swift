import FleetTwinCostModel
import FleetTwinEngine
import FleetTwinFleet
import FleetTwinMetrics
import FleetTwinScenario
import FleetTwinScheduling
import Foundation
import Testing

/// Gradient all-reduce per step (`CommunicationModel`) and how placement now changes a
/// multi-accelerator job's speed.
@Suite struct CommunicationTests {
    static let link = LinkSpec(busBandwidth: 100e9, hopLatency: 5e-6)

    @Test func ringAllReduceIsLatencyPlusTwiceTheBytesOverBusBandwidth() {
        // 1 GB over 4 ranks: ring 6 x 5 µs + 1.5 x 1e9 / 1e11 = 15.03 ms; tree 4 x 5 µs + 20 ms.
        let (seconds, algorithm) = CommunicationModel.allReduce(bytes: 1e9, ranks: 4, link: Self.link)
        #expect(algorithm == .ring)
        #expect(abs(seconds - (30e-6 + 0.015)) < 1e-12)
        #expect(CommunicationModel.allReduce(bytes: 1e9, ranks: 1, link: Self.link).seconds == 0)
    }

    @Test func treeWinsForSmallMessagesOnManyRanks() {
        // 64 KB over 64 ranks: ring 126 x 5 µs = 630 µs of latency; tree 2 x 6 x 5 µs = 60 µs.
        let small = CommunicationModel.allReduce(bytes: 65_536, ranks: 64, link: Self.link)
        #expect(small.algorithm == .tree)
        #expect(abs(small.seconds - (60e-6 + 2 * 65_536 / 100e9)) < 1e-12)
        // 1 GB over 8 ranks: ring 14 x 5 µs + 17.5 ms beats tree 6 x 5 µs + 20 ms.
        #expect(CommunicationModel.allReduce(bytes: 1e9, ranks: 8, link: Self.link).algorithm == .ring)
    }

    @Test func theBindingLinkIsNVLinkInsideANodeElseTheSmallestNodeShareOfTheNetwork() {
        let i = Interconnect(nvlink: LinkSpec(busBandwidth: 400e9, hopLatency: 1e-6), nodeNIC: LinkSpec(busBandwidth: 200e9, hopLatency: 5e-6))
        #expect(CommunicationModel.bindingLink(replicasPerNode: [8], acceleratorsPerNode: 8, interconnect: i) == i.nvlink)
        // 6 + 2 on 8-slot nodes: the node with 2 replicas gets 2/8 of its 200 GB/s.
        let uneven = CommunicationModel.bindingLink(replicasPerNode: [6, 2], acceleratorsPerNode: 8, interconnect: i)
        #expect(uneven.busBandwidth == 50e9 && uneven.hopLatency == 5e-6)
        // Whole nodes: the network (200) is slower than NVLink (400) and binds.
        #expect(CommunicationModel.bindingLink(replicasPerNode: [8, 8], acceleratorsPerNode: 8, interconnect: i).busBandwidth == 200e9)
        // Never faster than NVLink.
        let fat = Interconnect(nvlink: i.nvlink, nodeNIC: LinkSpec(busBandwidth: 1e12, hopLatency: 5e-6))
        #expect(CommunicationModel.bindingLink(replicasPerNode: [8, 8], acceleratorsPerNode: 8, interconnect: fat).busBandwidth == 400e9)
    }

    @Test func bucketsOverlapWithBackwardExceptTheLast() {
        let model = CommunicationModel(bucketBytes: 1e8, overlap: 1)
        // 2.5 buckets: two of 1e8 and one of 5e7 bytes, over 2 ranks at 100 GB/s.
        let (total, last) = model.allReduceSeconds(gradientBytes: 2.5e8, ranks: 2, link: Self.link)
        let full = 2 * 5e-6 + 1e8 / 100e9, half = 2 * 5e-6 + 5e7 / 100e9
        #expect(abs(total - (2 * full + half)) < 1e-12 && abs(last - half) < 1e-12)
        // A long backward hides all but the last bucket; none of it without overlap.
        #expect(abs(model.exposedSeconds(gradientBytes: 2.5e8, computeSeconds: 10, ranks: 2, link: Self.link) - half) < 1e-12)
        let none = CommunicationModel(bucketBytes: 1e8, overlap: 0)
        #expect(abs(none.exposedSeconds(gradientBytes: 2.5e8, computeSeconds: 10, ranks: 2, link: Self.link) - total) < 1e-12)
        // A short backward (1.5 ms, so 1 ms of it is backward) hides 1 ms.
        #expect(abs(model.exposedSeconds(gradientBytes: 2.5e8, computeSeconds: 1.5e-3, ranks: 2, link: Self.link) - (total - 1e-3)) < 1e-12)
    }

    @Test func spreadingAStepOverMoreNodesSlowsIt() {
        let shape = ModelShape(architecture: .bert, layers: 12, hidden: 768, sequence: 128, batch: 8, mode: .train)
        let v100 = AcceleratorCatalog.named("v100-32gb")!
        let compute = CostModel.calibrated.estimate(shape, on: v100).stepSeconds
        func step(_ nodes: Int) -> MultiAcceleratorStep {
            MultiAcceleratorStep(gradientBytes: shape.gradientBytes, computeSeconds: compute, accelerators: 8, nodes: nodes,
                                 acceleratorsPerNode: 8, interconnect: v100.interconnect)
        }
        let (one, two, eight) = (step(1), step(2), step(8))
        #expect(one.busBandwidth == 115e9 && two.busBandwidth == 25e9 && eight.busBandwidth == 50e9 / 8)
        #expect(one.stepSeconds < two.stepSeconds && two.stepSeconds < eight.stepSeconds)
        #expect(eight.exposedSeconds > 5 * one.exposedSeconds && eight.scalingEfficiency < one.scalingEfficiency)
        #expect(shape.gradientBytes == 4 * Double(shape.parameters))
    }

    // MARK: Tensor and pipeline parallelism

    static let llama = ModelShape(architecture: .llama, layers: 32, hidden: 4096, sequence: 2048, batch: 8, mode: .train)

    static func hybrid(_ p: Parallelism, _ shares: [Int]) -> HybridParallelStep {
        HybridParallelStep(shape: llama, computeSeconds: 2, parallelism: p, replicasPerNode: shares, acceleratorsPerNode: 8,
                           interconnect: .hgxH100)
    }

    @Test func withoutTensorOrPipelineTheHybridStepIsTheDataParallelOne() {
        let plain = Self.hybrid(Parallelism(), [8, 8])
        let data = MultiAcceleratorStep(gradientBytes: Self.llama.gradientBytes, computeSeconds: 2, accelerators: 16, nodes: 2,
                                        acceleratorsPerNode: 8, interconnect: .hgxH100)
        #expect(plain.dataParallel == 16 && plain.bubbleSeconds == 0 && plain.tensorSeconds == 0)
        #expect(abs(plain.stepSeconds - data.stepSeconds) < 1e-12)
    }

    @Test func pipelineBubbleIsPMinusOneOverMPlusPMinusOne() {
        let p = Parallelism(tensor: 1, pipeline: 4, microBatches: 12)
        #expect(p.bubbleFraction == 3.0 / 15)
        let step = Self.hybrid(p, [8, 8])
        #expect(abs(step.bubbleSeconds / step.pipelineSeconds - 0.2) < 1e-12)
        #expect(step.dataParallel == 4 && step.transferSeconds > 0)
        // More micro-batches shrink the bubble.
        #expect(Self.hybrid(Parallelism(tensor: 1, pipeline: 4, microBatches: 4), [8, 8]).stepSeconds > step.stepSeconds)
    }

    @Test func tensorGroupsAcrossNodesPayTheNetwork() {
        let t8 = Parallelism(tensor: 8, pipeline: 2, microBatches: 8)
        let inside = Self.hybrid(t8, [8, 8]), across = Self.hybrid(t8, [4, 4, 4, 4])
        #expect(inside.tensorInsideNodes && !across.tensorInsideNodes)
        #expect(across.tensorSeconds > 5 * inside.tensorSeconds && across.stepSeconds > inside.stepSeconds)
        // Tensor all-reduces are on the critical path: four per layer per micro-batch slot.
        let slots = 8.0 + 2 - 1
        let one = CommunicationModel.allReduce(bytes: 1 * 2048 * 4096 * 2, ranks: 8, link: Interconnect.hgxH100.nvlink).seconds
        #expect(abs(inside.tensorSeconds - slots * 4 * 16 * one) < 1e-12)
    }

    // MARK: In the simulation

    static func scenario(placement: String, network: String = "", worldSize: Int = 8) throws(ScenarioError) -> Scenario {
        try Scenario.parse("""
            fleet:
              \(network)
              regions:
                - name: r
                  clusters:
                    - { name: v, nodes: 4, accelerators_per_node: 4, type: v100-32gb }
            workload:
              jobs:
                - { name: big, world_size: \(worldSize), steps: 2000, model: { arch: bert, layers: 12, hidden: 768, seq: 128, batch: 8 } }
            policy: { name: fifo, placement: \(placement) }
            """, file: "comm.yaml")
    }

    static let shape = ModelShape(architecture: .bert, layers: 12, hidden: 768, sequence: 128, batch: 8, mode: .train)

    /// The simulated end of the one job, seconds.
    static func end(_ s: Scenario) async throws -> Double {
        let result = try await runScenario(s)
        return RunMetrics.fold(result).jobs[0].end!.seconds
    }

    @Test func aJobsRateDependsOnHowManyNodesItSpans() async throws {
        let v100 = AcceleratorCatalog.named("v100-32gb")!
        let compute = CostModel.calibrated.estimate(Self.shape, on: v100).stepSeconds
        func predicted(_ nodes: Int) -> Double {
            2000 * MultiAcceleratorStep(gradientBytes: Self.shape.gradientBytes, computeSeconds: compute, accelerators: 8, nodes: nodes,
                                        acceleratorsPerNode: 4, interconnect: v100.interconnect).stepSeconds
        }
        // best-fit packs 8 on two whole nodes (4 + 4); spread takes one accelerator at a time
        // from the node with the most free: 2 + 2 + 2 + 2 over all four.
        let packed = try await Self.end(try Self.scenario(placement: "best-fit"))
        let spread = try await Self.end(try Self.scenario(placement: "spread"))
        #expect(abs(packed - predicted(2)) < 1e-3, "\(packed) vs \(predicted(2))")
        #expect(abs(spread - predicted(4)) < 1e-3, "\(spread) vs \(predicted(4))")
        #expect(spread > packed)
        // Switched off in the scenario or on the command line: perfect scaling, as before.
        let off = try await Self.end(try Self.scenario(placement: "spread", network: "network: { communication: false }"))
        #expect(abs(off - 2000 * compute) < 1e-3)
        let flag = try Self.scenario(placement: "spread").withoutCommunication()
        #expect(try await Self.end(flag) == off)
        #expect(flag.contentHash != (try Self.scenario(placement: "spread")).contentHash)
    }

    /// A migration re-rates the job by its new placement: 4 replicas on one node (NVLink),
    /// migrated at 10 s to a cluster of 2-accelerator nodes behind 1 GB/s networks (2 + 2),
    /// slow down by the exposed all-reduce there. No state: the migration costs its cut only.
    @Test func aMigrationPaysTheCommunicationOfItsNewPlacement() async throws {
        var fleet = MechanismTests.fleet
        fleet.profiles[0].spec.interconnect.nodeNIC.busBandwidth = 1e9
        var job = MechanismTests.job("main", at: 0, size: 4, work: 100)
        job.steps = 1000
        job.model = Self.shape
        let policy = ScriptedPolicy(script: [(.zero, .start(0, cluster: 0, accelerators: 4)), (.seconds(Int64(10)), .migrate(0, toCluster: 1))])
        // A one-second job arriving at 10 s gives the scripted policy its pass then.
        let jobs = [job, MechanismTests.job("t1", at: 10, size: 1, work: 1)]
        let result = try await FleetSimulation(SimulationConfiguration(fleet: fleet, jobs: jobs, policy: policy, checkInvariants: true)).run()
        let costs = CommunicationCosts(fleet: fleet)
        let before = costs.rate(job, computeRate: 1, speed: 1, placement: Placement(region: 0, cluster: 0, shares: [NodeShare(node: 0, count: 4)]))
        let after = costs.rate(job, computeRate: 1, speed: 1,
                               placement: Placement(region: 1, cluster: 1, shares: [NodeShare(node: 0, count: 2), NodeShare(node: 1, count: 2)]))
        #expect(before > 0.99 && after < 0.2, "\(before) \(after)")
        // The cut: two steps of 0.1 s at the first rate; then the rest at the second.
        let cutAt = 10 + 2 * 0.1 / before
        let banked = (cutAt * before * 1e6).rounded(.down) / 1e6
        let expected = cutAt + (100 - banked) / after
        let end = result.log.records.last { $0.kind == .completed && $0.job == 0 }!.time.seconds
        #expect(abs(end - expected) < 1e-4, "\(end) vs \(expected)")
        #expect(result.log.records.filter { $0.kind == .started && $0.job == 0 }.map(\.cluster) == [0, 1])
    }

    /// `run --no-communication` and `compare --no-communication` in a separate process.
    @Test func theNoCommunicationFlagRestoresPerfectScaling() throws {
        let dir = try temporaryDirectory()
        let path = dir.appendingPathComponent("comm.yaml").path
        try (try Self.scenario(placement: "spread")).text.write(toFile: path, atomically: true, encoding: .utf8)
        func makespan(_ extra: [String]) throws -> Double {
            let out = try runFleettwin(["run", path, "--json", "--quiet", "--db", dir.appendingPathComponent("r.db").path] + extra)
            #expect(out.status == 0, "\(out.stderr)")
            struct Reply: Decodable { var makespan: Double }
            return try JSONDecoder().decode(Reply.self, from: Data(out.stdout.utf8)).makespan
        }
        let validate = try runFleettwin(["validate", path])
        #expect(validate.stdout.contains("network    communication on (25 MiB buckets, 0.5 of backward overlapped): 1 of 1 jobs all-reduce gradients"),
                "\(validate.stdout)")
        let on = try makespan([]), off = try makespan(["--no-communication"])
        let compute = CostModel.calibrated.estimate(Self.shape, on: AcceleratorCatalog.named("v100-32gb")!).stepSeconds
        #expect(on > off && abs(off - 2000 * compute) < 1e-3, "\(on) \(off)")
        let compared = try runFleettwin(["compare", path, "--policies", "fifo", "--seeds", "1", "--json", "--no-communication",
                                         "--db", dir.appendingPathComponent("c.db").path])
        #expect(compared.status == 0, "\(compared.stderr)")
        struct Comparison: Decodable {
            struct Policy: Decodable { var mean: [String: Double?] }
            var policies: [String: Policy]
        }
        let comparison = try JSONDecoder().decode(Comparison.self, from: Data(compared.stdout.utf8))
        #expect(comparison.policies["fifo"]?.mean["makespan"] == off)
    }

    /// Scenarios/heterogeneous.yaml under spread placement on 25 Gb/s node networks, where
    /// communication decides every multi-accelerator job's rate: two processes (each with its
    /// own hash seed) agree on the event log, the invariants hold after every event, and
    /// switching communication off changes the run.
    @Test func communicatingRunsAreDeterministicAndKeepTheInvariants() throws {
        let dir = try temporaryDirectory()
        let text = try String(contentsOfFile: repositoryRoot.appendingPathComponent("Scenarios/heterogeneous.yaml").path, encoding: .utf8)
            .replacingOccurrences(of: "placement: consolidated", with: "placement: spread")
            .replacingOccurrences(of: "fleet:\n", with: "fleet:\n  network: { node_nic: 25Gbps }\n")
        let path = dir.appendingPathComponent("spread.yaml").path
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        func hash(_ extra: [String]) throws -> String {
            let out = try runFleettwin(["run", path, "--json", "--quiet", "--db", dir.appendingPathComponent("r.db").path] + extra)
            #expect(out.status == 0, "\(out.stderr)")
            struct Reply: Decodable { var eventLogHash: String }
            return try JSONDecoder().decode(Reply.self, from: Data(out.stdout.utf8)).eventLogHash
        }
        let first = try hash(["--check"])
        #expect(try hash([]) == first)
        #expect(try hash(["--no-communication"]) != first)
    }

    @Test func scenarioKeysOverrideTheInterconnect() async throws {
        let slowNIC = try Self.scenario(placement: "spread", network: "network: { node_nic: 10Gbps, overlap: 0 }")
        #expect(slowNIC.fleet.profile(named: "v100-32gb")!.spec.interconnect.nodeNIC.busBandwidth == 1.25e9)
        #expect(slowNIC.fleet.network.communication == CommunicationModel(overlap: 0))
        let fast = try Self.scenario(placement: "spread")
        #expect(try await Self.end(slowNIC) > (try await Self.end(fast)) * 1.5)
        let nvlink = try Self.scenario(placement: "best-fit", network: "network: { nvlink: { v100-32gb: 1GBps }, bucket: 1MiB }", worldSize: 4)
        #expect(nvlink.fleet.profile(named: "v100-32gb")!.spec.interconnect.nvlink.busBandwidth == 1e9)
        #expect(nvlink.fleet.network.communication?.bucketBytes == 1_048_576)
    }

    @Test(arguments: [
        ("network: { overlap: 2 }", "comm.yaml:2:23: error: overlap must be at most 1"),
        ("network: { bucket: 10B }", "comm.yaml:2:22: error: bucket must be between 1KiB and 1TiB; found 10 bytes"),
        ("network: { nvlink: { tpu: 1GBps } }", "comm.yaml:2:24: error: nvlink: unknown accelerator type 'tpu'"),
        ("network: { nvlink: 450GBps }", "comm.yaml:2:22: error: nvlink must be a mapping of accelerator type to bandwidth"),
        ("network: { node_nic: fast }", "comm.yaml:2:24: error: node_nic must be a bandwidth"),
        ("network: { communication: maybe }", "comm.yaml:2:29: error: communication must be true or false"),
    ])
    func badNetworkValuesAreRefusedWhereTheyAreWritten(network: String, expected: String) {
        do {
            _ = try Self.scenario(placement: "spread", network: network)
            Issue.record("accepted \(network)")
        } catch {
            #expect(error.description.hasPrefix(expected), "\(error.description)")
        }
    }

    @Test func predictReportsTheDataParallelStep() throws {
        let base = ["predict", "--arch", "bert", "--layers", "12", "--hidden", "768", "--seq", "128", "--batch", "8", "--mode", "train",
                    "--accelerator", "v100-32gb", "--node-size", "4"]
        let args = base + ["--gpus", "8", "--nodes", "4"]
        let out = try runFleettwin(args + ["--json"])
        #expect(out.status == 0, "\(out.stderr)")
        struct Reply: Decodable { var stepSeconds: Double; var dataParallel: MultiAcceleratorStep }
        let reply = try JSONDecoder().decode(Reply.self, from: Data(out.stdout.utf8))
        let v100 = AcceleratorCatalog.named("v100-32gb")!
        let expected = MultiAcceleratorStep(gradientBytes: Self.shape.gradientBytes, computeSeconds: reply.stepSeconds, accelerators: 8,
                                            nodes: 4, acceleratorsPerNode: 4, interconnect: v100.interconnect)
        #expect(reply.dataParallel == expected)
        #expect(reply.dataParallel.replicasPerNode == [2, 2, 2, 2])
        let table = try runFleettwin(args)
        #expect(table.stdout.contains("8 replicas on 4 node(s): 2+2+2+2"))
        let bad = try runFleettwin(base + ["--gpus", "8", "--nodes", "9"])
        #expect(bad.status != 0 && bad.stderr.contains("--nodes must be between 1 and --gpus (8)"))
        let hybrid = try runFleettwin(base + ["--gpus", "8", "--nodes", "2", "--tensor", "2", "--pipeline", "2", "--micro-batches", "4"])
        #expect(hybrid.stdout.contains("tensor 2 (inside nodes), pipeline 2 x 4 micro-batches, data 2"), "\(hybrid.stdout)")
        let uneven = try runFleettwin(base + ["--gpus", "8", "--nodes", "2", "--tensor", "3"])
        #expect(uneven.status != 0 && uneven.stderr.contains("--gpus 8 must be a multiple of --tensor x --pipeline (3)"))
    }
}
