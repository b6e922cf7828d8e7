import FleetTwinEngine
import FleetTwinFleet
import FleetTwinMetrics
import FleetTwinPolicy
import FleetTwinScenario
import FleetTwinScheduling
import Foundation
import Testing

/// Gavel's Gandiva packing (`policies/gandiva.py`, research/policies.md §5b): the co-located
/// throughput table (Gavel's file format) and the allocation step's pairing. The fixture
/// Fixtures/gavel-packing/g5.json holds G5's figures: LM (batch 20) 64.74 steps/s alone and
/// 45.64 packed, ResNet-18 (batch 64) keeping its throughput packed; its isolated 24.0917
/// steps/s is derived (policies.md gives none): 43,365 steps in 5 rounds of 360 s.
@Suite struct GandivaPackingTests {
    static let resnet = GavelJobType(model: "ResNet-18 (batch size 64)", scaleFactor: 1)
    static let lm = GavelJobType(model: "LM (batch size 20)", scaleFactor: 1)

    static func g5() throws -> ColocationThroughputs { try GavelThroughputFile.read(path: fixture("gavel-packing/g5.json")) }

    @Test func readsIsolatedAndPackedThroughputsInBothOrders() throws {
        let t = try Self.g5()
        #expect(t.workerTypes == ["v100"])
        #expect(t.isolated(Self.resnet, on: "v100") == 24.0917 && t.isolated(Self.lm, on: "v100") == 64.74)
        #expect(t.packed(Self.resnet, Self.lm, on: "v100")! == (24.0917, 45.64))
        #expect(t.packed(Self.lm, Self.resnet, on: "v100")! == (45.64, 24.0917))
        #expect(t.isolated(Self.lm, on: "k80") == nil && t.packed(Self.lm, Self.lm, on: "v100") == nil)
        // 1 + 45.64 / 64.74: worth packing (≥ 1.0); on a type the table lacks, nothing.
        #expect(abs(t.normalizedPackedThroughput(Self.resnet, Self.lm, workers: ["v100"]) - (1 + 45.64 / 64.74)) < 1e-12)
        #expect(t.normalizedPackedThroughput(Self.resnet, Self.lm, workers: ["v100", "k80"]) == 0)
    }

    /// Bad entries: the error names the file, the line, the key path and what was expected.
    @Test(arguments: [
        (#"["v100"]"#, 1, "the throughput table must be a mapping"),
        (#"{"v100": {"('LM (batch size 20)', 1)": {"('LM (batch size 20)', 1)": [1, 1]}}}"#, 1, #"has no "null" entry"#),
        ("{\"v100\": {\n \"('LM', 1)\": {\"null\": -1}}}", 2, "v100 > ('LM', 1) > null (steps/s alone) must be at least 0"),
        ("{\"v100\": {\n \"LM, 1\": {\"null\": 1}}}", 2, "expected a job type such as ('ResNet-18 (batch size 64)', 1)"),
        ("{\"v100\": {\n \"('LM', 0)\": {\"null\": 1}}}", 2, "scale factor (at least 1); found '('LM', 0)'"),
        ("{\"v100\": {\"('A', 1)\": {\"null\": 1,\n \"('B', 1)\": [1]}}}", 2, "must be a list of two numbers"),
        ("{\"v100\": {\"('A', 1)\": {\"null\": 1,\n \"('B', 1)\": [1, \"x\"]}}}", 2, "v100 > ('A', 1) > ('B', 1)[1] (steps/s) must be a number"),
        ("{\"v100\": {\"('A', 1)\": {\"null\": 1,\n \"('B', 1)\": [1, 2]}}}", 2, "names a job type with no entry of its own under v100"),
        ("{\"v100\": {\"('A', 1)\": {\"null\": 1, \"('B', 1)\": [1, 2]},\n \"('B', 1)\": {\"null\": 1, \"('A', 1)\": [3, 1]}}}", 2,
         "says [1, 2]; the two orders must agree"),
    ])
    func badEntriesAreLocatedErrors(text: String, line: Int, message: String) {
        do {
            _ = try GavelThroughputFile.parse(text, file: "t.json")
            Issue.record("accepted: \(text)")
        } catch {
            #expect(error.file == "t.json" && error.line == line && error.message.contains(message), "\(error)")
        }
    }

    @Test func anUnreadableFileIsAnError() {
        #expect(throws: ScenarioError.self) { try GavelThroughputFile.read(path: "/nonexistent/throughputs.json") }
    }

    static func member(_ i: Int32, _ type: GavelJobType?, scale: Int = 1) -> GandivaPacking.Member {
        GandivaPacking.Member(index: JobIndex(i), scaleFactor: scale, type: type)
    }

    /// G5's allocation: two 1-GPU jobs on one V100 ask for more than the cluster has, so the
    /// only possible pair is packed and gets all of the V100 (one combination, x = 1).
    @Test func g5PacksTheOnlyPair() throws {
        var packing = GandivaPacking(seed: 1)
        let combos = packing.allocate([Self.member(0, Self.resnet), Self.member(1, Self.lm)], workers: [("v100", 1)], throughputs: try Self.g5())
        #expect(combos == [GandivaPacking.Combination(jobs: [0, 1], shares: [1])])
        #expect(packing.pairs.map { [$0.0, $0.1] }.allSatisfy { Set($0) == [0, 1] } && packing.pairs.count == 1)
    }

    /// While the jobs' scale factors sum to at most the accelerators, nothing is packed and
    /// each job gets (N / m) / s, its row scaled down to at most 1: on 4 GPUs, jobs of 1, 1
    /// and 2 GPUs get 4/3 -> 1, 1 and 2/3.
    @Test func noPackingWhileRequestsFit() throws {
        var packing = GandivaPacking(seed: 1)
        let jobs = [Self.member(0, Self.resnet), Self.member(1, Self.lm), Self.member(2, nil, scale: 2)]
        let combos = packing.allocate(jobs, workers: [("v100", 4)], throughputs: try Self.g5())
        #expect(combos.map(\.jobs) == [[0], [1], [2]])
        #expect(zip(combos.map { $0.shares[0] }, [1, 1, 2.0 / 3]).allSatisfy { abs($0 - $1) < 1e-12 }, "\(combos)")
        #expect(packing.pairs.isEmpty)
    }

    /// A pair worth packing (normalised throughput ≥ 1) persists across recomputations, even
    /// one that no longer packs; a pair below 1.0 is dropped at the next one; a pair whose
    /// member left is dropped.
    @Test func stalePairsAreDropped() throws {
        var table = try Self.g5()
        let a = GavelJobType(model: "A", scaleFactor: 1), b = GavelJobType(model: "B", scaleFactor: 1)
        table.setIsolated(10, job: a, on: "v100")
        table.setIsolated(10, job: b, on: "v100")
        table.setPacked(a, b, (4, 5), on: "v100")  // 0.9 < 1.0: not worth it
        var good = GandivaPacking(seed: 3), bad = GandivaPacking(seed: 3)
        _ = good.allocate([Self.member(0, Self.resnet), Self.member(1, Self.lm)], workers: [("v100", 1)], throughputs: table)
        _ = bad.allocate([Self.member(0, a), Self.member(1, b)], workers: [("v100", 1)], throughputs: table)
        #expect(good.pairs.count == 1 && bad.pairs.count == 1)  // formed unchecked, as Gavel does
        let goodAfter = good.allocate([Self.member(0, Self.resnet), Self.member(1, Self.lm)], workers: [("v100", 2)], throughputs: table)
        _ = bad.allocate([Self.member(0, a), Self.member(1, b)], workers: [("v100", 2)], throughputs: table)
        #expect(good.pairs.count == 1 && bad.pairs.isEmpty)
        #expect(goodAfter.map(\.jobs) == [[0], [1]])  // requests fit: run alone, the pair kept for later
        _ = good.allocate([Self.member(1, Self.lm), Self.member(2, Self.resnet)], workers: [("v100", 2)], throughputs: table)
        #expect(good.pairs.isEmpty)
    }

    /// A pair the table says cannot run packed (0 steps/s, e.g. out of memory) or knows
    /// nothing of is never formed: both run alone, half the time each.
    @Test func jobsThatCannotBePackedStayAlone() throws {
        var table = try Self.g5()
        let a = GavelJobType(model: "A", scaleFactor: 1), b = GavelJobType(model: "B", scaleFactor: 1)
        table.setIsolated(10, job: a, on: "v100")
        table.setIsolated(10, job: b, on: "v100")
        table.setPacked(a, b, (0, 9), on: "v100")
        for jobs in [[Self.member(0, a), Self.member(1, b)], [Self.member(0, a), Self.member(1, Self.lm)], [Self.member(0, nil), Self.member(1, Self.lm)]] {
            var packing = GandivaPacking(seed: 5)
            let combos = packing.allocate(jobs, workers: [("v100", 1)], throughputs: table)
            #expect(combos == [GandivaPacking.Combination(jobs: [0], shares: [0.5]), GandivaPacking.Combination(jobs: [1], shares: [0.5])])
            #expect(packing.pairs.isEmpty)
        }
    }

    /// Many jobs of scale factors 1 and 2 over one GPU type, every pair packable: pairs form
    /// only between equal scale factors, persist, and are the same for the same seed.
    @Test func pairsFormOnlyAmongEqualScaleFactorsAndFollowTheSeed() {
        var table = ColocationThroughputs()
        let types = (0..<4).flatMap { m in [1, 2].map { GavelJobType(model: "M\(m)", scaleFactor: $0) } }
        for t in types { table.setIsolated(10, job: t, on: "v100") }
        for x in types { for y in types { table.setPacked(x, y, (8, 8), on: "v100") } }
        let jobs = (0..<24).map { i in Self.member(Int32(i), types[i % types.count], scale: types[i % types.count].scaleFactor) }
        func run(_ seed: UInt64) -> ([[JobIndex]], [[JobIndex]]) {
            var packing = GandivaPacking(seed: seed)
            let first = packing.allocate(jobs, workers: [("v100", 8)], throughputs: table).map(\.jobs)
            let second = packing.allocate(jobs, workers: [("v100", 8)], throughputs: table).map(\.jobs)
            return (first, second)
        }
        let (first, second) = run(42)
        let pairs = first.filter { $0.count == 2 }
        #expect(pairs.count >= 6, "\(first)")
        #expect(pairs.allSatisfy { jobs[Int($0[0])].scaleFactor == jobs[Int($0[1])].scaleFactor })
        #expect(Set(second.filter { $0.count == 2 }) .isSuperset(of: Set(pairs)))  // pairs persist
        #expect(first.flatMap { $0 }.sorted() == (0..<24).map { JobIndex($0) })  // every job once
        // Each combination: 8 GPUs / m, over its scale factor, capped at 1.
        var check = GandivaPacking(seed: 42)
        let combos = check.allocate(jobs, workers: [("v100", 8)], throughputs: table)
        for c in combos {
            #expect(abs(c.shares[0] - min(1, 8.0 / Double(combos.count) / Double(jobs[Int(c.jobs[0])].scaleFactor))) < 1e-12)
        }
        #expect(run(42) == (first, second))
        #expect(Set((1...5).map { run($0).0 }).count > 1)  // the seed decides the pairs
    }

    // MARK: Packed jobs sharing accelerators (`gavel-gandiva`, `SchedulingDecision.colocate`)

    /// G5's jobs on one V100 (FleetTwin's `v100-32gb`, the table's `v100`): work is steps /
    /// isolated steps/s, in seconds on a V100 (scaled by its relative speed).
    static func g5Run(_ policy: String, seed: UInt64 = 1) async throws -> SimulationResult {
        let v100 = AcceleratorProfile.builtIn.first { $0.name == "v100-32gb" }!
        func job(_ name: String, _ model: String, steps: Double, throughput: Double) -> JobSpec {
            var spec = JobSpec(name: name, submit: .zero, tier: .standard, worldSize: 1, acceleratorType: "v100-32gb",
                               work: .seconds(steps / throughput * v100.relativeSpeed))
            spec.application = model
            return spec
        }
        let fleet = FleetSpec(regions: [RegionSpec(name: "r", clusters: [
            ClusterSpec(name: "c0", nodes: 1, acceleratorsPerNode: 1, acceleratorType: "v100-32gb"),
        ])], profiles: AcceleratorProfile.builtIn)
        var options = PolicyOptions()
        options.colocation = try g5()
        options.runSeed = seed
        let made = PolicyRegistry.named(policy)!.make(options: options, placement: .any, mechanisms: MechanismSettings.defaults.free)
        return try await PolicyLayerTests.run([job("resnet", resnet.model, steps: 43_365, throughput: 24.0917),
                                               job("lm", lm.model, steps: 116_535, throughput: 64.74)], on: fleet, policy: made)
    }

    /// G5 (research/policies.md §5b, GOLDEN from Gavel's code), nothing charged for a change
    /// (Gavel's simulator charges nothing): Gandiva packs the only pair, ResNet-18 keeps its
    /// throughput and ends at 1,800.0 s, LM runs at 45.64 / 64.74 until then and alone after,
    /// 2,330.9 s (Gavel's integer steps; 2,331.1 here); FIFO 1,799.9 / 3,599.9; Gavel's LAS
    /// 3,239.9 / 3,599.9. Every invariant is checked after each event (`PolicyLayerTests.run`).
    @Test(arguments: [("gavel-gandiva", [1800.0, 2330.9]), ("fifo", [1799.9, 3599.9]), ("gavel-las", [3239.9, 3599.9])])
    func g5(policy: String, expected: [Double]) async throws {
        let r = try await Self.g5Run(policy)
        let done = (0..<2).map { PolicyLayerTests.times(r, .completed, job: Int32($0)).first ?? -1 }
        #expect(zip(done, expected).allSatisfy { abs($0 - $1) <= 0.5 }, "\(policy): \(done)")
        let shared = r.log.records.filter { $0.kind == .started && $0.accelerators == 0 }
        let tookOver = r.log.records.filter { $0.kind == .tookOver }
        if policy == "gavel-gandiva" {
            // LM started on ResNet-18's V100 at 0 (holding none) and held it once ResNet-18 left.
            #expect(shared.map(\.job) == [1] && shared.map(\.time) == [.zero], "\(shared)")
            #expect(tookOver.map(\.job) == [1] && abs(tookOver[0].time.seconds - done[0]) < 1e-6, "\(tookOver)")
            let m = RunMetrics.fold(r)
            #expect(m.jobsCompleted == 2 && m.utilization <= 1 + 1e-9, "\(m.utilization)")
        } else {
            #expect(shared.isEmpty && tookOver.isEmpty)
        }
    }

    /// The same seed writes the same event log; packing without a table does nothing.
    @Test func aPackedRunIsDeterministicForItsSeed() async throws {
        let a = try await Self.g5Run("gavel-gandiva", seed: 9), b = try await Self.g5Run("gavel-gandiva", seed: 9)
        #expect(a.log.hash == b.log.hash)
    }

    /// A scenario names the table (`throughputs`, relative to the scenario); its text says
    /// which file; a bad table is refused with the table's own file, line and key.
    @Test func aScenarioReadsTheTableAndRefusesABadOne() throws {
        let folder = URL(fileURLWithPath: fixture("gavel-packing/g5.json")).deletingLastPathComponent()
        func scenario(_ table: String) -> String {
            """
            name: packing
            fleet:
              regions:
                - name: r
                  clusters:
                    - { name: c, nodes: 1, accelerators_per_node: 4, type: v100-32gb }
            workload:
              generator:
                jobs: 4
                arrivals: { poisson: { per_hour: 12 } }
                world_size: { choices: [1] }
                duration: { uniform: { min: 10m, max: 1h } }
            policy: { name: gavel-gandiva, throughputs: \(table) }
            """
        }
        let s = try Scenario.parse(scenario("g5.json"), file: folder.appendingPathComponent("packing.yaml").path)
        #expect(s.policy.options.colocation == (try Self.g5()))
        #expect(s.policy.text.contains("throughputs: g5.json"), "\(s.policy.text)")
        #expect(!s.policy.renamed("gavel-las").text.contains("throughputs"))
        let bad = FileManager.default.temporaryDirectory.appendingPathComponent("ftb-gpack-\(ProcessInfo.processInfo.processIdentifier).json")
        try Data("{\"v100\": {\"('A', 1)\": {\"null\": -2}}}".utf8).write(to: bad)
        defer { try? FileManager.default.removeItem(at: bad) }
        do {
            _ = try Scenario.parse(scenario(bad.path), file: folder.appendingPathComponent("packing.yaml").path)
            Issue.record("a bad table was accepted")
        } catch {
            #expect(error.file == bad.path && error.message.contains("v100 > ('A', 1) > null (steps/s alone) must be at least 0"), "\(error)")
        }
    }

    /// Many packable jobs of 1 and 2 accelerators on 2 nodes x 4, with FleetTwin's costed
    /// mechanisms (a stopped job's dump keeps its accelerators a while, so one of a pair often
    /// leaves while the other is stopping) and node failures: every invariant holds after every
    /// event (partners on the same accelerators, none held twice, the log against the jobs),
    /// jobs are packed, every job completes, and utilization stays within the fleet.
    @Test(arguments: [UInt64(1), 2, 3])
    func packingUnderCostsAndFailuresKeepsEveryInvariant(seed: UInt64) async throws {
        let models = ["A", "B", "C"]
        var table = ColocationThroughputs()
        for m in models { for s in [1, 2] { table.setIsolated(10, job: GavelJobType(model: m, scaleFactor: s), on: "v100") } }
        for x in models { for y in models { for s in [1, 2] {
            table.setPacked(GavelJobType(model: x, scaleFactor: s), GavelJobType(model: y, scaleFactor: s), (7, 6), on: "v100")
        } } }
        var generator = SeededGenerator(seed: seed, stream: "packing-test")
        let jobs = (0..<24).map { i in
            var spec = JobSpec(name: "j\(i)", submit: .seconds(Double(generator.next() % 3_600)), tier: .standard,
                               worldSize: 1 + Int(generator.next() % 2), acceleratorType: "v100-32gb",
                               work: .seconds(Double(600 + generator.next() % 3_000)))
            spec.application = models[i % models.count]
            return spec
        }.sorted { ($0.submit, $0.name) < ($1.submit, $1.name) }
        let fleet = FleetSpec(regions: [RegionSpec(name: "r", clusters: [
            ClusterSpec(name: "c0", nodes: 2, acceleratorsPerNode: 4, acceleratorType: "v100-32gb"),
        ])], profiles: AcceleratorProfile.builtIn)
        var options = PolicyOptions()
        options.colocation = table
        options.runSeed = seed
        let policy = PolicyRegistry.named("gavel-gandiva")!.make(options: options, placement: .bestFit)
        let r = try await FleetSimulation(SimulationConfiguration(
            fleet: fleet, jobs: jobs, policy: policy, mechanisms: .defaults,
            failures: FailureSettings(nodeTimeBetweenFailures: .exponential(mean: .seconds(Int64(4 * 3600))), repair: .seconds(Int64(900))),
            seed: seed, checkInvariants: true)).run()
        let m = RunMetrics.fold(r)
        #expect(m.jobsCompleted == jobs.count)
        #expect(r.log.records.contains { $0.kind == .started && $0.accelerators == 0 })
        #expect(r.log.records.contains { $0.kind == .tookOver })
        #expect(m.utilization <= 1 + 1e-9, "\(m.utilization)")
    }
}
