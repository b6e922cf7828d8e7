import FleetTwinEngine
import FleetTwinFleet
import FleetTwinMetrics
import FleetTwinScenario
import FleetTwinScheduling
import FleetTwinSolver
import Foundation
import Testing

/// Gavel's allocation problems and round mechanism against the golden cases of
/// research/policies.md §6-9 (run on Gavel's own code with ECOS). Where an LP has several
/// optima, the tests check the optimum's value, as that note asks, not the allocation.
@Suite struct GavelTests {
    typealias Problem = GavelAllocation.Problem

    @Test func clpSolvesASmallProgramAndReportsInfeasibility() throws {
        // max 3x + 2y  s.t. x + y ≤ 4, x + 3y ≤ 6, x ≤ 3  →  x = 3, y = 1, 11.
        var lp = LinearProgram(.maximize)
        let x = lp.addVariable(upper: 3, objective: 3), y = lp.addVariable(objective: 2)
        lp.addConstraint([(x, 1), (y, 1)], upper: 4)
        lp.addConstraint([(x, 1), (y, 3)], upper: 6)
        let s = try lp.solve()
        #expect(abs(s.objective - 11) < 1e-9 && abs(s.x[x] - 3) < 1e-9 && abs(s.x[y] - 1) < 1e-9)
        lp.addConstraint([(x, 1), (y, 1)], lower: 5)
        #expect(throws: LinearProgramError.infeasible) { try lp.solve() }
        var open = LinearProgram(.maximize)
        _ = open.addVariable(objective: 1)
        #expect(throws: LinearProgramError.unbounded) { try open.solve() }
        #expect(!LinearProgram.solverVersion.isEmpty)
    }

    /// L1: 2 V100, three 1-GPU jobs, weights (2, 1, 1) → X = (1, 0.5, 0.5), unique.
    @Test func maxMinFairnessL1() throws {
        let a = try GavelAllocation.maxMinFairness(Problem(throughputs: [[1], [1], [1]], scaleFactors: [1, 1, 1], weights: [2, 1, 1], workers: [2]))
        #expect(zip(a.x.map { $0[0] }, [1, 0.5, 0.5]).allSatisfy { abs($0 - $1) < 1e-6 }, "\(a.x)")
    }

    /// L2: 2 V100, scale factors (2, 1) → X = (0.5, 1), unique (equal GPU-time).
    @Test func maxMinFairnessL2() throws {
        let a = try GavelAllocation.maxMinFairness(Problem(throughputs: [[1], [1]], scaleFactors: [2, 1], workers: [2]))
        #expect(abs(a.x[0][0] - 0.5) < 1e-6 && abs(a.x[1][0] - 1) < 1e-6, "\(a.x)")
    }

    /// L3: 1 V100 + 1 K80; A runs 4 and 1, B 1 and 2 → optimum 4/3, B all on the K80, A at
    /// least 0.833 of the V100 (the allocation itself is not unique).
    @Test func maxMinFairnessPerfL3() throws {
        let a = try GavelAllocation.maxMinFairness(Problem(throughputs: [[4, 1], [1, 2]], scaleFactors: [1, 1], workers: [1, 1]))
        #expect(abs(a.objective - 4.0 / 3) < 1e-6)
        #expect(abs(a.x[1][1] - 1) < 1e-6 && a.x[1][0] < 1e-6 && a.x[0][0] >= 0.833 - 1e-6, "\(a.x)")
    }

    /// M1: 1 V100, two 1-GPU jobs at 1 step/s with 1,000 and 3,000 steps left: the bisection
    /// stops within 5% of the true makespan 4,000 s, with an allocation that meets it.
    @Test func minTotalDurationM1() throws {
        let a = try GavelAllocation.minTotalDuration(Problem(throughputs: [[1], [1]], scaleFactors: [1, 1], workers: [1]), remaining: [1000, 3000])
        #expect(a.objective >= 4000 && a.objective <= 4200, "\(a.objective)")
        #expect(a.x[0][0] >= 1000 / a.objective - 1e-6 && a.x[1][0] >= 3000 / a.objective - 1e-6 && a.x[0][0] + a.x[1][0] <= 1 + 1e-6)
    }

    /// F1: 1 V100, two jobs of 1,000 steps, one 500 s old: x₀ = (−3 + √17)/2 and
    /// ρ* = 0.5 / (1 − x₀) = 1.14039 (the note's 1.1405 is ECOS's answer to its tolerance).
    @Test func finishTimeFairnessF1() throws {
        let a = try GavelAllocation.finishTimeFairness(Problem(throughputs: [[1], [1]], scaleFactors: [1, 1], workers: [1]),
                                                       remaining: [1000, 1000], age: [500, 0], isolatedTimeSoFar: [0, 0])
        #expect(abs(a.x[0][0] - (-3 + 17.0.squareRoot()) / 2) < 1e-4 && abs(a.x[1][0] - 0.4384) < 1e-4, "\(a.x)")
        #expect(abs(a.objective - 0.5 / (1 - (-3 + 17.0.squareRoot()) / 2)) < 1e-5, "\(a.objective)")
    }

    /// F2: L3's cluster and jobs with 1,000 steps each, both new: B gets the whole K80 and
    /// ρ* = 0.75 (A's V100 share anywhere in [0.833, 1]; ECOS gave 0.925).
    @Test func finishTimeFairnessF2() throws {
        let a = try GavelAllocation.finishTimeFairness(Problem(throughputs: [[4, 1], [1, 2]], scaleFactors: [1, 1], workers: [1, 1]),
                                                       remaining: [1000, 1000], age: [0, 0], isolatedTimeSoFar: [0, 0])
        #expect(abs(a.objective - 0.75) < 1e-5, "\(a.objective)")
        #expect(abs(a.x[1][1] - 1) < 1e-6 && a.x[1][0] < 1e-6 && a.x[0][0] >= 0.833 - 1e-6, "\(a.x)")
    }

    // MARK: Rounds (simulation golden cases; Gavel's simulator charges nothing for a change)

    static func completions(_ policy: String, _ jobs: [(submit: Double, seconds: Double)], gpus: Int = 1) async throws -> [Double] {
        let specs = jobs.enumerated().map { i, j in PolicyLayerTests.job("J\(i)", at: j.submit, gpus: 1, seconds: j.seconds) }
        let r = try await PolicyLayerTests.run(specs, on: PolicyLayerTests.fleet(nodes: 1, perNode: gpus),
                                               policy: PolicyRegistry.named(policy)!.make(placement: .any, mechanisms: MechanismSettings.defaults.free))
        return (0..<jobs.count).map { PolicyLayerTests.times(r, .completed, job: Int32($0)).first ?? -1 }
    }

    /// G1: one GPU, two jobs at 0 of 10 and 5 rounds' work. Gavel's JCTs (its integer steps
    /// make them 0.1-0.4 s shorter): LAS alternates rounds, A 5,399.6 and B 3,599.8;
    /// finish-time fairness, A 5,399.6 and B 3,239.8; minimum makespan, A 5,399.6 and B 5,039.7.
    @Test(arguments: [("gavel-las", [5400.0, 3600]), ("gavel-las-perf", [5400, 3600]), ("gavel-ftf", [5400, 3240]),
                      ("gavel-makespan", [5400, 5040])])
    func roundsFollowTheAllocationG1(policy: String, expected: [Double]) async throws {
        let done = try await Self.completions(policy, [(0, 3600), (0, 1800)])
        #expect(zip(done, expected).allSatisfy { abs($0 - $1) <= 1 }, "\(policy): \(done)")
    }

    /// G2 and G3: the allocation is recomputed at most every 1,920 s, except while the last
    /// recomputation was at time zero. A (10 rounds) at 0 and B (2 rounds) at 400: B's JCT is
    /// 1,399.9; A at 10 and B at 410: B waits for the first round 1,920 s after 10 and its JCT
    /// is 2,839.8.
    @Test func theAllocationIsRecomputedAtMostEveryResetIntervalG2G3() async throws {
        let g2 = try await Self.completions("gavel-las", [(0, 3600), (400, 720)])
        #expect(abs(g2[1] - 400 - 1399.9) <= 1, "\(g2)")
        let g3 = try await Self.completions("gavel-las", [(10, 3600), (410, 720)])
        #expect(abs(g3[1] - 410 - 2839.8) <= 1, "\(g3)")
    }

    /// Three accelerator types, jobs that may run on several, node failures: every Gavel
    /// policy keeps the fleet's invariants (no idle capacity a waiting job fits, even when a
    /// job taken on one type finds room only on another) and finishes every job.
    @Test(arguments: GavelPolicy.Objective.allCases.map(\.rawValue))
    func heterogeneousFleetWithFailuresKeepsEveryInvariant(policy: String) async throws {
        var s = try Scenario.load(path: repositoryRoot.appendingPathComponent("Scenarios/heterogeneous.yaml").path)
        s.policy = PolicySpec(name: policy)
        s.failures = FailureSettings(nodeTimeBetweenFailures: .exponential(mean: .seconds(Int64(12 * 3600))), repair: .seconds(Int64(1800)))
        let result = try await runScenario(s, check: true)
        #expect(RunMetrics.fold(result).jobsCompleted == result.jobs.count)
    }

    /// A scenario's Gavel options are in the policy's text (what `validate` prints and a
    /// stored run says ran), and renaming to a policy that does not take them drops them.
    @Test func gavelOptionsAreInThePolicysText() throws {
        let s = try Scenario.load(path: fixture("schema/gavel.yaml"))
        #expect(s.policy.text.contains("round: 360s") && s.policy.text.contains("reset-interval: 1920s"), "\(s.policy.text)")
        #expect(!s.policy.renamed("las").text.contains("round"))
    }
}
