import FleetTwinEngine
import FleetTwinFleet
import FleetTwinMetrics
import FleetTwinPolicy
import FleetTwinScenario
import FleetTwinScheduling
import FleetTwinSolver
import Foundation
import Testing

/// Cbc's mixed-integer programs and the `sia` policy built on them (research/policies.md §12).
@Suite struct SiaTests {
    // MARK: The MILP solver

    /// A 0-1 knapsack: values 10, 13, 7, weights 4, 6, 3, capacity 9. By hand: {a, b} weighs
    /// 10 (too much), {a, c} is worth 17, {b, c} 20 (weight 9), all three too heavy: 20, b and c.
    @Test func knapsackHasItsHandComputedOptimum() throws {
        var p = MixedIntegerProgram(.maximize)
        let items = [(10.0, 4.0), (13.0, 6.0), (7.0, 3.0)].map { (x: p.addBinary(objective: $0.0), weight: $0.1) }
        p.addConstraint(items.map { ($0.x, $0.weight) }, upper: 9)
        let best = try p.solve()
        #expect(best.objective == 20)
        #expect(best.x == [0, 1, 1])
        // The linear relaxation is worth more (a fraction of a): integrality is enforced.
        #expect(try p.relaxation.solve().objective > 20.5)
    }

    /// General integers: max 3x + 2y, x + y ≤ 4.5, x ≤ 2.7: x = 2, y = 2 gives 10 (x = 1, y = 3
    /// gives 9; the relaxation 2.7·3 + 1.8·2 = 11.7).
    @Test func generalIntegersRoundDown() throws {
        var p = MixedIntegerProgram(.maximize)
        let x = p.addVariable(upper: 2.7, objective: 3, integer: true)
        let y = p.addVariable(objective: 2, integer: true)
        p.addConstraint([(x, 1), (y, 1)], upper: 4.5)
        let best = try p.solve(relativeGap: 0)
        #expect(abs(best.objective - 10) < 1e-9)
        #expect(best.x == [2, 2])
    }

    @Test func infeasibleAndUnboundedAreReported() {
        var infeasible = MixedIntegerProgram(.minimize)
        let x = infeasible.addBinary(objective: 1)
        infeasible.addConstraint([(x, 1)], lower: 2)
        #expect(throws: MixedIntegerProgramError.infeasible) { try infeasible.solve() }
        // 0.5 ≤ x ≤ 0.7 has real points but no integer one.
        var fractional = MixedIntegerProgram(.minimize)
        let f = fractional.addVariable(lower: 0, upper: 1, objective: 1, integer: true)
        fractional.addConstraint([(f, 1)], lower: 0.5, upper: 0.7)
        #expect(throws: MixedIntegerProgramError.infeasible) { try fractional.solve() }
        var unbounded = MixedIntegerProgram(.maximize)
        let u = unbounded.addVariable(objective: 1, integer: true)
        let v = unbounded.addVariable(integer: true)
        unbounded.addConstraint([(u, 1), (v, -1)], upper: 3)
        #expect(throws: MixedIntegerProgramError.unbounded) { try unbounded.solve() }
    }

    // MARK: Sia's rule

    /// Test S1's re-allocation factors (Sia's log, P = 30 s): 0.667 at age 60 s, 0.8 at age
    /// 120 s, 0.714 at age 180 s after one restart; 1 while younger than P.
    @Test func reallocationFactorsOfS1() {
        #expect(SiaRule.reallocationFactor(age: 60, restarts: 0, penalty: 30) == 60.0 / 90)
        #expect(SiaRule.reallocationFactor(age: 120, restarts: 0, penalty: 30) == 120.0 / 150)
        #expect(SiaRule.reallocationFactor(age: 180, restarts: 1, penalty: 30) == 150.0 / 210)
        #expect((SiaRule.reallocationFactor(age: 60, restarts: 0, penalty: 30) * 1000).rounded() == 667)
        #expect(SiaRule.reallocationFactor(age: 120, restarts: 0, penalty: 30) == 0.8)
        #expect((SiaRule.reallocationFactor(age: 180, restarts: 1, penalty: 30) * 1000).rounded() == 714)
        #expect(SiaRule.reallocationFactor(age: 29, restarts: 5, penalty: 30) == 1)
        #expect(SiaRule.reallocationFactor(age: 60, restarts: 3, penalty: 30) == 0)
    }

    /// `get_restart_penalty`'s table, by job name, then by model architecture.
    @Test func restartPenaltiesFollowSiasTable() {
        let cases: [(String, String, Double)] = [
            ("deepspeech2-3", "", 25), ("imagenet-0", "", 250), ("cifar10-1", "", 30), ("bert-7", "", 120),
            ("yolov3-2", "", 45), ("ncf-4", "", 30), ("finetune", "bert", 120), ("pretrain", "llama", 30),
        ]
        for (name, arch, penalty) in cases {
            #expect(SiaRule.restartPenalty(name: name, architecture: arch) == penalty, "\(name) \(arch)")
        }
    }

    @Test func configurationsFollowTheNodeSize() {
        #expect(SiaRule.configurations(devicesPerNode: 4, nodes: 3) == [1, 2, 4, 8, 12])
        #expect(SiaRule.configurations(devicesPerNode: 8, nodes: 2) == [1, 2, 4, 8, 16])
        #expect(SiaRule.configurations(devicesPerNode: 1, nodes: 3) == [1, 2, 3])
    }

    static func job(_ k: JobIndex, throughput: [Double], devices: Int = 0, age: Double = 0, restarts: Int = 0) -> ElasticCandidate {
        ElasticCandidate(job: k, submit: .zero, devices: devices, minDevices: 1, maxDevices: throughput.count, throughput: throughput,
                         remaining: 1000, age: .seconds(age), restarts: restarts, name: "job-\(k)")
    }

    /// One 4-device node, configurations 1, 2, 4. A scales linearly (normalised goodput 1, 2,
    /// 4 -> A = 1, 0.71, 0.5), B saturates at 2 (1, 2 -> 1, 0.71). With λ_n = 1.1 per job
    /// left out: A 4 alone costs 0.5 + 1.1 = 1.6, A 2 + B 2 costs 1.42, A 2 + B 1 1.71,
    /// A 1 + B 2 1.71: the optimum is 1.42, two each.
    @Test func milpOptimumMatchesTheHandComputedObjective() throws {
        let node = ElasticCluster(capacity: 4, devicesPerNode: 4, nodes: 1)
        let a = Self.job(0, throughput: [0.25, 0.5, 0.75, 1]), b = Self.job(1, throughput: [0.5, 1])
        let row = SiaRule().row(a, configurations: [1, 2, 4])
        #expect(row.devices == [1, 2, 4] && row.cost == [1, 0.71, 0.5], "\(row)")
        let fresh = try SiaRule().solve([a, b], in: node)
        #expect(abs(fresh.objective - 1.42) < 1e-9, "\(fresh)")
        #expect(fresh.devices == [2, 2])

        // A has run on all 4 for 60 s (P = 30 s): r = 60/90 scales its other entries to 2/3
        // and 4/3 -> A = 1.22, 0.87. A 2 + B 2 = 0.87 + 0.71 = 1.58 still beats keeping 4 (1.6).
        let settled = try SiaRule().solve([Self.job(0, throughput: a.throughput, devices: 4, age: 60), b], in: node)
        #expect(abs(settled.objective - 1.58) < 1e-9, "\(settled)")
        #expect(settled.devices == [2, 2])
        // After one restart r = 30/90: A = 1.73, 1.22 off its 4; A 2 + B 2 = 1.93 > 1.6: A keeps 4.
        let restarted = try SiaRule().solve([Self.job(0, throughput: a.throughput, devices: 4, age: 60, restarts: 1), b], in: node)
        #expect(abs(restarted.objective - 1.6) < 1e-9, "\(restarted)")
        #expect(restarted.devices == [4, 0])
        // The override replaces the table: P = 100 s > age, so r = 1 and the split comes back.
        let patient = try SiaRule(restartPenaltyOverride: 100).solve([Self.job(0, throughput: a.throughput, devices: 4, age: 60, restarts: 1), b], in: node)
        #expect(abs(patient.objective - 1.42) < 1e-9 && patient.devices == [2, 2], "\(patient)")
    }

    /// Fewer devices than jobs, and optima that tie: on 2 devices, three jobs that double on
    /// 2 (A = 1 on one, 0.71 on two). One job on both costs 0.71 + 2 x 1.1 = 2.91, two on one
    /// each 1 + 1 + 1.1 = 3.1: one job takes both, whichever of the three it is.
    @Test func tiesAreJudgedByTheObjective() throws {
        let jobs = (0..<3).map { Self.job(JobIndex($0), throughput: [0.5, 1]) }
        let s = try SiaRule().solve(jobs, in: ElasticCluster(capacity: 2, devicesPerNode: 2, nodes: 1))
        #expect(abs(s.objective - 2.91) < 1e-9, "\(s)")
        #expect(s.devices.sorted() == [0, 0, 2])
    }

    /// Equal-cost allocations: two 1-device jobs running for a while on 2 devices and a third
    /// waiting, every row [1]. Any two give 1 + 1 + 1.1 = 3.1; the running two keep theirs
    /// (`SiaRule.tieBreak`), whatever the order.
    @Test func theCurrentAllocationWinsTies() throws {
        let node = ElasticCluster(capacity: 2, devicesPerNode: 2, nodes: 1)
        for waiting in 0..<3 {
            let jobs = (0..<3).map { Self.job(JobIndex($0), throughput: [1], devices: $0 == waiting ? 0 : 1, age: 600) }
            let s = try SiaRule().solve(jobs, in: node)
            #expect(abs(s.objective - 3.1) < 1e-9)
            #expect(s.devices == jobs.map(\.devices), "waiting \(waiting): \(s.devices)")
        }
    }

    /// The same tie at the bench trace's scale: 32 four-device nodes, 128 one-device jobs
    /// running for a while (old, restarted 0-4 times) and 172 waiting, every row [1] (most of
    /// the 3,000-job bench trace's jobs). Sia's relative gap (1e-4 of an objective near −0.1
    /// per allocated job) is far above `tieBreak` summed over the jobs, so this checks that the
    /// tie-break still decides at this size: every running job keeps its device, whichever
    /// jobs run.
    @Test func theCurrentAllocationWinsTiesAtScale() throws {
        let fleet = ElasticCluster(capacity: 128, devicesPerNode: 4, nodes: 32)
        for (order, running) in [(0, Set(0..<128)), (1, Set(172..<300)), (2, Set((0..<300).filter { $0 % 7 < 3 }.prefix(128)))] {
            let jobs = (0..<300).map { k in
                Self.job(JobIndex(k), throughput: [1], devices: running.contains(k) ? 1 : 0, age: 80_000 + Double(k), restarts: k % 5)
            }
            let s = try SiaRule(restartPenaltyOverride: 250).solve(jobs, in: fleet)
            let kept = jobs.indices.filter { running.contains($0) && s.devices[$0] == 1 }
            #expect(kept.count == 128, "order \(order): \(128 - kept.count) running jobs lost their device to an equal waiting one")
            #expect(s.devices.reduce(0, +) == 128, "order \(order): every device allocated")
        }
    }

    // MARK: Simulation

    static let trace = """
        fleet:
          regions:
            - name: r
              clusters:
                - { name: c, nodes: 2, accelerators_per_node: 4, type: h100-80gb }
        policy: { name: sia }
        workload:
          jobs:
            - { name: cifar10-0, world_size: 8, duration: 40m, speedup: [1, 1.9, 2.7, 3.5, 4.2, 4.9, 5.5, 6.0], state_size: 1GiB }
            - { name: bert-1, submit: 2m, world_size: 4, duration: 30m, speedup: [1, 1.8, 2.5, 3.1], state_size: 2GiB }
            - { name: imagenet-2, submit: 5m, world_size: 4, duration: 20m, speedup: [1, 2, 3, 4], state_size: 1GiB }
            - { name: yolov3-3, submit: 6m, world_size: 2, duration: 15m, speedup: [1, 1.5] }
            - { name: rigid-4, submit: 8m, world_size: 2, duration: 10m, state_size: 1GiB }
            - { name: deepspeech2-5, submit: 30m, world_size: 8, duration: 20m, speedup: [1, 1.9, 2.8, 3.6, 4.4, 5.1, 5.8, 6.4] }
        """

    /// Elastic jobs under `sia`: every job completes with the fleet's invariants checked
    /// after every event (no idle capacity a waiting job fits, hysteresis, work
    /// conservation), the MILP resizes them, and two runs give one event log.
    @Test func siaRunsElasticJobsToCompletionDeterministically() async throws {
        let s = try Scenario.parse(Self.trace, file: "sia.yaml")
        let first = try await runScenario(s)
        let m = RunMetrics.fold(first)
        #expect(m.jobsCompleted == 6)
        #expect(m.resizes > 0)
        #expect(first.idleWhileWaitingAcceleratorSeconds == 0)
        let second = try await runScenario(s)
        #expect(first.eventLogHash == second.eventLogHash)
        #expect(first.log.records == second.log.records)
    }

    /// The options reach the rule, are checked, and are in the policy's text.
    @Test func optionsAreParsedAndChecked() throws {
        let s = try Scenario.parse(Self.trace.replacingOccurrences(
            of: "policy: { name: sia }", with: "policy: { name: sia, round: 30s, p: -1, lambda-n: 2, restart-penalty: 45s }"), file: "sia.yaml")
        #expect(s.policy.options.fairnessP == -1 && s.policy.options.lambdaN == 2 && s.policy.options.restartPenaltySeconds == 45)
        #expect(s.policy.text.contains("p: -1") && s.policy.text.contains("restart-penalty: 45s"), "\(s.policy.text)")
        #expect(!s.policy.renamed("afs").text.contains("lambda-n"))
        do {
            _ = try Scenario.parse(Self.trace.replacingOccurrences(of: "policy: { name: sia }", with: "policy: { name: sia, p: 0 }"), file: "sia.yaml")
            Issue.record("accepted p: 0")
        } catch {
            #expect(error.description.contains("sia.yaml:") && error.description.contains("p (Sia's fairness exponent) must not be 0"), "\(error.description)")
        }
    }
}

/// Sia re-solves at its rounds, arrivals and completions, not at the releases its own
/// preemptions cause: re-solving there let two jobs take a device from each other at each of
/// their releases, every second (1,011 preemptions for the bench trace's first 40 jobs; the
/// thrash check failed the run). On an overloaded 4 x 4 cluster, with every check on.
@Suite struct SiaThrashTests {
    @Test func siaDoesNotSwapDevicesAtEveryRelease() async throws {
        let sia = PolicyRegistry.named("sia")!.make(placement: .any)
        let r = try await FleetSimulation(SimulationConfiguration(
            fleet: PolicyLayerTests.fleet(nodes: 4, perNode: 4), jobs: PolicyLayerTests.overloadedMix, policy: sia, checkInvariants: true)).run()
        #expect(r.log.records.filter { $0.kind == .completed }.count == 16)
        let preemptions = r.log.records.filter { $0.kind == .preempted }.count
        #expect(preemptions < 100, "\(preemptions)")
    }

    /// Sia's rigid jobs: a fixed-world job (no speedup curve) runs on its whole world or not
    /// at all, never shrunk and time-sliced. Shrunk, every 4-device job had a row of 1, 2 and
    /// 4 devices (A = 1, 0.71, 0.5), so a waiting one outbid the running 1-device jobs, and
    /// the MILP evicted whichever had just finished its restore (the others were held): with
    /// `compat`'s 250 s restores for a ResNet-50 (Sia's imagenet), 4,198 preemptions on the
    /// 3,000-job bench trace, each 250-280 s after a start. Here 60 ResNet-50 jobs in the bench
    /// trace's proportions (1, 2 and 4 devices), one every 100 s, on 2 x 4 devices, under
    /// FleetTwin's costs and `compat`.
    @Test func fixedWorldJobsAreRigidAndNotEvictedAfterEachRestore() async throws {
        let jobs = (0..<60).map { k -> JobSpec in
            let gpus = k % 7 == 3 ? 4 : (k % 13 == 5 ? 2 : 1)
            var job = PolicyLayerTests.job("resnet50-\(k)", at: Double(100 * k), gpus: gpus, seconds: Double(3_600 + (k * 2_654_435_761) % 7_200))
            job.steps = Int64(job.work.seconds * 10)
            job.application = "resnet50"
            return job
        }
        for compat in [false, true] {
            var mechanisms = MechanismSettings.defaults
            if compat { mechanisms.restartCost = .compat }
            let sia = PolicyRegistry.named("sia")!.make(placement: .any)
            let r = try await FleetSimulation(SimulationConfiguration(
                fleet: PolicyLayerTests.fleet(nodes: 2, perNode: 4), jobs: jobs, policy: sia,
                mechanisms: mechanisms.resolved(for: "sia"), checkInvariants: true)).run()
            #expect(r.log.records.filter { $0.kind == .completed }.count == 60)
            let shrunk = r.log.records.filter {
                ($0.kind == .started || $0.kind == .resized) && Int($0.accelerators) != jobs[Int($0.job)].worldSize
            }
            #expect(shrunk.isEmpty, "compat \(compat): \(shrunk.count) starts or resizes below the world, first \(shrunk.first.map { "\($0)" } ?? "")")
            let preemptions = r.log.records.filter { $0.kind == .preempted }.count
            #expect(preemptions <= 20, "compat \(compat): \(preemptions) preemptions")
        }
    }
}
