import FleetTwinEngine
import FleetTwinFleet
import FleetTwinMetrics
@testable import FleetTwinPolicy
import FleetTwinScenario
import FleetTwinScheduling
import FleetTwinTraces
import Foundation
import Testing

/// The `pollux` baseline (research/policies.md §10): its goodput model, restart factor,
/// genetic search's repair rules, and P1's structure (the exploration ramp, sharing).
@Suite struct PolluxTests {
    // MARK: Goodput

    /// B0 = 100, noise scale 100 (var / sqr = 1): efficiency(B) = (2B / (100 + B)) / (B / 100)
    /// = 200 / (100 + B): 1 at 100, 2/3 at 200, 0.4 at 400.
    @Test func efficiencyByHand() {
        let e = StatisticalEfficiency(initialBatch: 100, maxBatch: 400, noiseScale: 100)
        #expect(e.gradientVariance == 1 && e.gradientSquare == 1)
        #expect(abs(e.efficiency(batch: 100) - 1) < 1e-12)
        #expect(abs(e.efficiency(batch: 200) - 2.0 / 3) < 1e-12)
        #expect(abs(e.efficiency(batch: 400) - 0.4) < 1e-12)
    }

    /// Goodput on the curve [1, 1.5]: one replica at B0 runs 100 samples per step of 1 (its
    /// goodput 100; a larger batch on one replica accumulates at the same throughput and
    /// loses efficiency). Two replicas: T(2) = 2 / 1.5, network 1/3; at B = 100 (local 50) a
    /// step takes 0.5 + 1/3, goodput 120; goodput(B) = 200B / ((100 + B)(B / 200 + 1/3)) falls
    /// on [100, 400] (its peak is at sqrt(6667) = 82), so Pollux keeps B = 100.
    @Test func goodputPicksTheBatchByHand() {
        let e = StatisticalEfficiency(initialBatch: 100, maxBatch: 400, noiseScale: 100)
        let curve = [1.0, 1.5]
        let rate: (Int) -> Double = { curve[min($0, 2) - 1] }
        let one = e.goodput(replicas: 1, rate: rate)
        #expect(abs(one.goodput - 100) < 1e-9 && one.localBatch == 100 && one.accumulation == 0, "\(one)")
        let two = e.goodput(replicas: 2, rate: rate)
        #expect(abs(two.goodput - 120) < 1e-9 && two.localBatch == 50 && two.accumulation == 0 && two.batch == 100, "\(two)")
        // A local batch limit of 40 forces B = 100 on two replicas into 2 accumulations of 25.
        let small = StatisticalEfficiency(initialBatch: 100, maxBatch: 400, maxLocalBatch: 40, noiseScale: 100)
        let split = small.goodput(replicas: 2, rate: rate)
        #expect(split.accumulation == 1 && split.localBatch == 25, "\(split)")
        // 2 x 25 x 2 = 100 samples in 2 x 0.25 + 1/3.
        #expect(abs(split.goodput - 100 / (0.5 + 1.0 / 3)) < 1e-9, "\(split)")
        // No feasible batch: min local 300 on two replicas exceeds the max batch.
        #expect(StatisticalEfficiency(initialBatch: 100, maxBatch: 400, minLocalBatch: 300, noiseScale: 100).goodput(replicas: 2, rate: rate).goodput == 0)
    }

    /// Speedups are rebased to the fair share: a linear curve on 4 devices, fair share 2.
    @Test func speedupsAreRebasedToTheFairShare() {
        let job = candidate(0, throughput: [0.25, 0.5, 0.75, 1])
        #expect(PolluxRule.speedups(job, most: 4, fair: 2) == [0, 0.5, 1, 1.5, 2])
    }

    @Test func restartFactorByHand() {
        #expect(PolluxRule.restartFactor(age: 60, restarts: 0) == 60.0 / 90)
        #expect(PolluxRule.restartFactor(age: 120, restarts: 1) == 0.6)
        #expect(PolluxRule.restartFactor(age: 20, restarts: 1) == 0)
        #expect(PolluxRule.restartFactor(age: 0, restarts: 0) == 0)
    }

    // MARK: The rule

    func candidate(_ k: JobIndex, throughput: [Double], devices: Int = 0, age: Double = 0, restarts: Int = 0) -> ElasticCandidate {
        ElasticCandidate(job: k, submit: .zero, devices: devices, minDevices: 1, maxDevices: throughput.count, throughput: throughput,
                         remaining: 1000, age: .seconds(age), restarts: restarts)
    }

    /// A young job (age 40 s, one restart: factor 10 / 70) keeps its 2 devices though 4 would
    /// double it (0.5 vs 1 x 0.14); at age 6,000 s (factor 0.985) it takes all 4.
    @Test func theRestartPenaltyKeepsAYoungJobsAllocation() throws {
        let node = ElasticCluster(capacity: 4, devicesPerNode: 4, nodes: 1)
        let linear = [0.25, 0.5, 0.75, 1.0]
        var young = PolluxRule(seed: 1)
        #expect(try young.divide([candidate(0, throughput: linear, devices: 2, age: 40, restarts: 1)], held: [], in: node, at: .zero).shares == [2])
        var old = PolluxRule(seed: 1)
        #expect(try old.divide([candidate(0, throughput: linear, devices: 2, age: 6000, restarts: 1)], held: [], in: node, at: .zero).shares == [4])
    }

    /// The warm start holds the current allocation. Job 0 runs alone on 2 of 4 devices; before
    /// the next round job 1 arrives and starts on the other 2 (work conservation, between
    /// rounds). The previous front never held job 1, so a search seeded only with it (as
    /// Pollux seeds its own, whose previous front always holds the state it chose) started
    /// from states that stop job 1: with no generations to repair that, job 1 was given 0.
    /// With the base state in the population, both keep 2; the full search agrees.
    @Test func theWarmStartHoldsJobsStartedBetweenRounds() throws {
        let node = ElasticCluster(capacity: 4, devicesPerNode: 4, nodes: 1)
        let curve = [0.5, 1.0]
        for generations in [0, 100] {
            var rule = PolluxRule(population: 4, generations: generations, seed: 5)
            #expect(try rule.divide([candidate(0, throughput: curve, devices: 2, age: 600, restarts: 0)], held: [], in: node, at: .zero).shares == [2])
            let next = try rule.divide([candidate(0, throughput: curve, devices: 2, age: 660, restarts: 0),
                                        candidate(1, throughput: curve, devices: 2, age: 30, restarts: 0)],
                                       held: [], in: node, at: .seconds(Int64(60)))
            #expect(next.shares == [2, 2], "generations \(generations): \(next.shares)")
        }
    }

    /// The exploration ramp bounds a job by twice the most replicas it has had: 1, then 2, then 4.
    @Test func maxReplicasRamp() throws {
        var rule = PolluxRule(seed: 3)
        let node = ElasticCluster(capacity: 8, devicesPerNode: 8, nodes: 1)
        let curve = (1...8).map { Double($0) / 8 }
        #expect(rule.maxReplicas(candidate(0, throughput: curve)) == 1)
        var shares: [Int] = []
        var devices = 0
        for round in 0..<4 {
            devices = try rule.divide([candidate(0, throughput: curve, devices: devices, age: 600 + 60 * Double(round), restarts: round)],
                                      held: [], in: node, at: .zero).shares[0]
            shares.append(devices)
        }
        #expect(shares == [1, 2, 4, 8], "\(shares)")
    }

    /// Repair: after it, every node holds at most its devices, at most one job spread over
    /// several nodes sits on any node, no job exceeds its max replicas or 16 nodes, and a job
    /// below its fewest devices has none. Random states on 20 nodes of 4, 6 jobs.
    @Test func repairEnforcesPolluxsRules() {
        let jobs = 6, nodes = 20
        let problem = PolluxProblem(
            jobs: jobs, nodes: nodes, capacity: Array(repeating: 4, count: nodes), base: [],
            maxReplicas: [1, 2, 64, 64, 8, 3], minReplicas: [1, 1, 1, 1, 3, 1],
            speedups: Array(repeating: Array(repeating: 1, count: 65), count: jobs), restartFactor: Array(repeating: 1, count: jobs), devices: 80)
        var random = SeededGenerator(seed: 7)
        var scratch = PolluxProblem.Scratch(nodes: nodes)
        for _ in 0..<300 {
            let dense = (0..<(jobs * nodes)).map { _ in Int32(random.next() % 4) }
            var cells = dense.indices.filter { dense[$0] > 0 }.map { PolluxCell(job: Int32($0 / nodes), node: Int32($0 % nodes), count: dense[$0]) }
            problem.repair(&cells, random: &random, scratch: &scratch)
            #expect(cells.allSatisfy { $0.count > 0 } && zip(cells, cells.dropFirst()).allSatisfy { PolluxCell.precedes($0, $1) })
            var s = Array(repeating: Int32(0), count: jobs * nodes)
            for c in cells { s[Int(c.job) * nodes + Int(c.node)] = c.count }
            for n in 0..<nodes {
                #expect((0..<jobs).reduce(Int32(0)) { $0 + s[$1 * nodes + n] } <= 4)
                let spread = (0..<jobs).filter { j in s[j * nodes + n] > 0 && (0..<nodes).filter { s[j * nodes + $0] > 0 }.count > 1 }
                #expect(spread.count <= 1, "node \(n): \(spread)")
            }
            for j in 0..<jobs {
                let row = s[(j * nodes)..<((j + 1) * nodes)]
                let total = row.reduce(0, +)
                #expect(total <= problem.maxReplicas[j])
                #expect(total == 0 || total >= problem.minReplicas[j])
                #expect(row.filter { $0 > 0 }.count <= PolluxRule.maxNodesPerJob)
            }
        }
    }

    /// A sparse state's fitness and utility by hand: 3 jobs on 2 nodes of 4 (scale 2 / 8), each
    /// with speedups [0, 0.5, 1, 1.5, 2] and restart factor 0.5; base: job 0 has 2 on node 0.
    /// Job 0 kept (x = 1 x 0.25), job 1 given 4 on node 1 (x = 2 x 0.25 x 0.5), job 2 none
    /// (x = 0): fitness = 3 / (2 / 0.251 + 1 / 0.001), utility = (1 + 2) / 8. Moving job 0 to
    /// node 1 changes its row: x = 0.125, and node 0 goes unused.
    @Test func sparseEvaluationByHand() {
        let table = [0, 0.5, 1, 1.5, 2]
        let problem = PolluxProblem(
            jobs: 3, nodes: 2, capacity: [4, 4], base: [PolluxCell(job: 0, node: 0, count: 2)],
            maxReplicas: [4, 4, 4], minReplicas: [1, 1, 1], speedups: [table, table, table], restartFactor: [0.5, 0.5, 0.5], devices: 8)
        var scratch = PolluxProblem.Scratch(nodes: 2)
        let kept = problem.evaluate([PolluxCell(job: 0, node: 0, count: 2), PolluxCell(job: 1, node: 1, count: 4)], scratch: &scratch)
        #expect(abs(kept.fitness - 3 / (2 / 0.251 + 1 / 0.001)) < 1e-15, "\(kept)")
        #expect(kept.utility == 0.375)
        let moved = problem.evaluate([PolluxCell(job: 0, node: 1, count: 2)], scratch: &scratch)
        #expect(abs(moved.fitness - 3 / (1 / 0.126 + 2 / 0.001)) < 1e-15, "\(moved)")
        #expect(moved.utility == 0.25)
        #expect(problem.baseStart == [0, 1, 1, 1])
    }

    /// A backlog of 2,000 waiting jobs and 40 running ones on 32 nodes of 4: one division with
    /// the default search (100 x 100) over the sparse states gives every job 0 or at least its
    /// fewest devices and at most its max replicas, fits the cluster, places more jobs than the
    /// base state, and is the same for the same seed. (The dense search over 2,040 x 32 matrices took minutes per division.)
    @Test func aLargeBacklogIsDividedWithinCapacity() throws {
        let cluster = ElasticCluster(capacity: 128, devicesPerNode: 4, nodes: 32)
        let curve = [0.25, 0.5, 0.75, 1.0]
        var jobs: [ElasticCandidate] = []
        for k in 0..<2040 {
            var c = candidate(JobIndex(k), throughput: curve, devices: k < 40 ? 2 : 0, age: 3600 - Double(k), restarts: k < 40 ? 1 : 0)
            c.attainedService = k < 40 ? 7200 : 0
            jobs.append(c)
        }
        func divide() throws -> [Int] {
            var rule = PolluxRule(seed: 11)
            return try rule.divide(jobs, held: [], in: cluster, at: .zero).shares
        }
        let shares = try divide()
        // At most the cluster; more jobs placed than the base state's 40 (the best fitness is kept).
        #expect(shares.reduce(0, +) <= 128 && shares.filter { $0 > 0 }.count > 40, "\(shares.reduce(0, +)), \(shares.filter { $0 > 0 }.count)")
        // Max replicas: the ramp's 2 x 2 for the running jobs, 1 for the waiting ones.
        for (k, share) in shares.enumerated() {
            #expect(share == 0 || (share >= jobs[k].minDevices && share <= (k < 40 ? 4 : 1)), "job \(k): \(share)")
        }
        #expect(shares[40...].contains(1))
        #expect(try divide() == shares)
    }

    /// Pollux searches at its rounds only (every 60 s from the first arrival at 0), not at the
    /// arrivals (44 s, 81 s, ... 37 s apart) and completions between them, as its simulator's
    /// `Cluster.step`; the waiting jobs whose world fits idle devices still start at once.
    @Test func theSearchRunsAtRoundsOnly() async throws {
        #expect(!PolluxRule().dividesAtArrivalsAndCompletions && !PolluxRule().dividesAtReleases)
        let times = DivisionTimes()
        let policy = ElasticPolicy(rule: RecordingRule(inner: PolluxRule(population: 20, generations: 10, seed: 2), times: times),
                                   placement: .any, round: .seconds(Int64(60)))
        let jobs = (0..<12).map { k in PolicyLayerTests.job("j\(k)", at: k == 0 ? 0 : Double(7 + 37 * k), gpus: [1, 2, 4][k % 3], seconds: Double(400 + 290 * k)) }
        let r = try await PolicyLayerTests.run(jobs, on: PolicyLayerTests.fleet(nodes: 2, perNode: 4), policy: policy)
        #expect(r.log.records.filter { $0.kind == .completed }.count == 12)
        #expect(r.idleWhileWaitingAcceleratorSeconds == 0)
        let seen = times.all
        #expect(seen.count >= 10)
        #expect(seen.allSatisfy { $0.microseconds % 60_000_000 == 0 }, "\(seen.map(\.seconds))")
        // Arrivals between rounds did start jobs at once (on idle devices).
        #expect(r.log.records.contains { $0.kind == .started && $0.time.microseconds % 60_000_000 != 0 })
    }

    /// The search's front is non-dominated, and the rule's answer fits the cluster.
    @Test func twoJobsSplitANodeWithinCapacity() throws {
        var rule = PolluxRule(seed: 5)
        let node = ElasticCluster(capacity: 4, devicesPerNode: 4, nodes: 1)
        let curve = [0.25, 0.5, 0.75, 1.0]
        _ = try rule.divide([candidate(0, throughput: curve, devices: 2, age: 600, restarts: 1)], held: [], in: node, at: .zero)
        let shares = try rule.divide([candidate(0, throughput: curve, devices: 4, age: 660, restarts: 2),
                                      candidate(1, throughput: curve, devices: 0, age: 60)], held: [], in: node, at: .zero).shares
        #expect(shares.reduce(0, +) <= 4)
        #expect(shares[0] >= 1 && shares[1] >= 1, "\(shares)")
    }

    // MARK: Simulation (P1's structure on a 1 x 4 node)

    static func scenario(_ jobs: String, policy: String = "pollux", seed: Int = 1) throws(ScenarioError) -> Scenario {
        try Scenario.parse("""
            seed: \(seed)
            fleet:
              regions:
                - name: r
                  clusters:
                    - { name: c, nodes: 1, accelerators_per_node: 4, type: h100-80gb }
            policy: { name: \(policy) }
            mechanisms: { restart_cost: compat }
            workload:
              jobs:
            \(jobs)
            """, file: "pollux.yaml")
    }

    static let p1 = """
            - { name: cifar10-0, world_size: 4, duration: 30m, speedup: [1, 1.9, 2.7, 3.4], statistical_efficiency: { initial_batch: 128, max_batch: 4096, max_local_batch: 512, noise_scale: 2000 } }
            - { name: cifar10-1, submit: 600s, world_size: 4, duration: 30m, speedup: [1, 1.9, 2.7, 3.4], statistical_efficiency: { initial_batch: 128, max_batch: 4096, max_local_batch: 512, noise_scale: 2000 } }
        """

    /// P1's structure: the lone job ramps 1 -> 2 -> 4 over rounds; when the second
    /// arrives, the node is shared; both complete; same seed, same log.
    @Test func p1RampsThenShares() async throws {
        let s = try Self.scenario(Self.p1)
        #expect(s.policy.name == "pollux")
        let result = try await runScenario(s)
        let m = RunMetrics.fold(result)
        #expect(m.jobsCompleted == 2)
        // Job 0's device counts over time before job 1 arrives.
        let first = result.log.records.filter { $0.job == 0 && ($0.kind == .started || $0.kind == .resized) && $0.time < .seconds(Int64(600)) }
        #expect(first.map(\.accelerators) == [1, 2, 4], "\(first.map { ($0.time.seconds, $0.accelerators) })")
        // 2 at 60 s (restart factor 60/90 beats keeping 1); 4 only at 180 s: with its statistical
        // efficiency (var/sqr = 2000/128) its goodput on 2 is 232.6 and on 4 370.5 (best of
        // 50 batch sizes), so 2 keeps 0.63 of its speedup against 4's restart factor, 0.6 at 120 s
        // (one restart) and 0.71 at 180 s.
        #expect(first.map(\.time.seconds) == [0, 60, 180], "\(first.map { ($0.time.seconds, $0.accelerators) })")
        // Within two rounds of job 1's arrival both hold devices.
        var held: [JobIndex: Int32] = [0: 0, 1: 0]
        var shared = false
        for r in result.log.records where r.time <= .seconds(Int64(720)) {
            switch r.kind {
            case .started, .resized: held[r.job] = r.accelerators
            case .preempted: held[r.job] = 0
            default: break
            }
            if r.time >= .seconds(Int64(600)), held[0]! > 0, held[1]! > 0 { shared = true }
        }
        #expect(shared)
        let again = try await runScenario(s)
        #expect(again.eventLogHash == result.eventLogHash)
    }

    /// Registry, options and parse errors.
    @Test func optionsAndErrors() throws {
        let d = try #require(PolicyRegistry.named("pollux"))
        #expect(d.takes("population") && d.takes("generations") && d.takes("round"))
        #expect(RestartCost.compat(for: "pollux") == .pause(.flat(.seconds(Int64(30)))))
        let s = try Scenario.parse(Self.scenarioText(policy: "{ name: pollux, population: 20, generations: 5, round: 30s }"), file: "p.yaml")
        #expect(s.policy.options.population == 20 && s.policy.options.generations == 5)
        #expect(s.policy.text.contains("population: 20") && s.policy.text.contains("generations: 5"))
        #expect(!s.policy.renamed("sia").text.contains("population"))
        for (policy, message) in [("{ name: pollux, population: 1 }", "population (Pollux's genetic search) must be between 2 and 1000"),
                                  ("{ name: pollux, generations: 2.5 }", "generations (Pollux's genetic search) must be an integer")] {
            #expect(throws: (any Error).self) { try Scenario.parse(Self.scenarioText(policy: policy), file: "p.yaml") }
            do { _ = try Scenario.parse(Self.scenarioText(policy: policy), file: "p.yaml") } catch {
                #expect(error.description.contains("p.yaml:") && error.description.contains(message), "\(error.description)")
            }
        }
        let noCurve = "    - { name: a, world_size: 2, duration: 1m, statistical_efficiency: { initial_batch: 64, noise_scale: 10 } }"
        let badBatch = "    - { name: a, world_size: 2, duration: 1m, speedup: [1, 2], statistical_efficiency: { initial_batch: 64, max_batch: 32, noise_scale: 10 } }"
        let both = "    - { name: a, world_size: 2, duration: 1m, speedup: [1, 2], statistical_efficiency: { initial_batch: 64, noise_scale: 10, gradient_square: 1 } }"
        for (jobs, message) in [(noCurve, "give 'speedup'"), (badBatch, "must be at least the initial batch"), (both, "not both")] {
            do {
                _ = try Scenario.parse(Self.scenarioText(policy: "{ name: pollux }", jobs: jobs), file: "p.yaml")
                Issue.record("accepted \(jobs)")
            } catch {
                #expect(error.description.contains("p.yaml:") && error.description.contains(message), "\(error.description)")
            }
        }
    }

    static func scenarioText(policy: String, jobs: String = "    - { name: a, world_size: 2, duration: 1m, speedup: [1, 2] }") -> String {
        """
        fleet:
          regions:
            - name: r
              clusters:
                - { name: c, nodes: 1, accelerators_per_node: 4, type: h100-80gb }
        policy: \(policy)
        workload:
          jobs:
        \(jobs)
        """
    }

    /// A trace's `statisticalEfficiency` is read, written back unchanged, and checked.
    @Test func traceFieldRoundTripsAndIsChecked() throws {
        let dir = try temporaryDirectory()
        let header = #"{"format":"fleettwin-trace","version":1,"name":"p","source":"test"}"#
        let line = #"{"id":"a","submit":0,"worldSize":2,"duration":60,"speedup":[1,1.8],"statisticalEfficiency":{"initialBatch":64,"maxBatch":1024,"noiseScale":500}}"#
        func file(_ name: String, _ text: String) throws -> String {
            let path = dir.appendingPathComponent(name).path
            try (header + "\n" + text + "\n").write(toFile: path, atomically: true, encoding: .utf8)
            return path
        }
        let (h, jobs) = try TraceReader(path: try file("a.jsonl", line)).readAll()
        let e = try #require(jobs.first?.statisticalEfficiency)
        #expect(e == TraceStatisticalEfficiency(initialBatch: 64, maxBatch: 1024, noiseScale: 500))
        let out = dir.appendingPathComponent("b.jsonl").path
        var writer = try TraceWriter(path: out, header: h)
        for job in jobs { writer.write(job) }
        try writer.close()
        #expect(try String(contentsOfFile: out, encoding: .utf8).contains(#""statisticalEfficiency":{"initialBatch":64,"maxBatch":1024,"noiseScale":500}"#))
        for (text, message) in [(line.replacingOccurrences(of: #""speedup":[1,1.8],"#, with: ""), "give 'speedup' too"),
                                (line.replacingOccurrences(of: #""maxBatch":1024"#, with: #""maxBatch":10"#), "must be at least 'initialBatch'"),
                                (line.replacingOccurrences(of: #""noiseScale":500"#, with: #""gradientSquare":1"#), "needs 'noiseScale'")] {
            do {
                _ = try TraceReader(path: try file("bad.jsonl", text)).readAll()
                Issue.record("accepted \(text)")
            } catch {
                #expect("\(error)".contains("bad.jsonl:2") && "\(error)".contains(message), "\(error)")
            }
        }
    }
}

/// `--check`'s thrash guard and liveness on an overloaded 4 x 4 cluster of fixed worlds (a
/// small search, `PolicyLayerTests.quickPollux`: the default one takes ten minutes in a debug
/// build; `fleettwin replay --check` runs the default on the bench trace).
@Suite struct PolluxThrashTests {
    @Test func polluxPassesTheChecksOnAnOverloadedFleet() async throws {
        let pollux = PolicyRegistry.named("pollux")!.make(options: PolicyLayerTests.quickPollux, placement: .any)
        let r = try await FleetSimulation(SimulationConfiguration(
            fleet: PolicyLayerTests.fleet(nodes: 4, perNode: 4), jobs: PolicyLayerTests.overloadedMix, policy: pollux, checkInvariants: true)).run()
        #expect(r.log.records.filter { $0.kind == .completed }.count == 16)
        #expect(r.idleWhileWaitingAcceleratorSeconds == 0)
    }
}

/// The instants at which an elastic rule divided the devices (test only; the simulation runs
/// on one executor, the lock only satisfies `Sendable`).
final class DivisionTimes: @unchecked Sendable {
    private var times: [VirtualTime] = []
    private let lock = NSLock()
    func add(_ t: VirtualTime) { lock.withLock { times.append(t) } }
    var all: [VirtualTime] { lock.withLock { times } }
}

/// A rule that records when `inner` divides, and otherwise is `inner`.
struct RecordingRule<Inner: ElasticRule>: ElasticRule {
    var inner: Inner
    let times: DivisionTimes
    var name: String { inner.name }
    var dividesAtReleases: Bool { inner.dividesAtReleases }
    var dividesAtArrivalsAndCompletions: Bool { inner.dividesAtArrivalsAndCompletions }
    mutating func forget(_ job: JobIndex) { inner.forget(job) }
    mutating func divide(_ jobs: [ElasticCandidate], held: [ElasticCandidate], in cluster: ElasticCluster, at now: VirtualTime) throws -> ElasticDivision {
        times.add(now)
        return try inner.divide(jobs, held: held, in: cluster, at: now)
    }
}
