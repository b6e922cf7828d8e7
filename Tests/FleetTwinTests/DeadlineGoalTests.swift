import FleetTwinEngine
import FleetTwinMetrics
import FleetTwinReports
import FleetTwinScenario
import FleetTwinTraces
import Foundation
import Testing

/// Deadlines through `export` and `replay`, and goals on deadlines (issue 17).
@Suite struct DeadlineGoalTests {
    /// ElasticFlow's E2 (research/policies.md section 15): J2 is declined, J0 and J1 meet their
    /// deadlines: 2 of 3 deadline jobs met, satisfaction ratio 2 / 3.
    @Test func deadlineGoalsAreMetOrMissed() async throws {
        let m = RunMetrics.fold(try await ElasticFlowTests.run(ElasticFlowTests.e2))
        #expect(GoalMetric.deadlinesMetShare.value(m) == 2.0 / 3)
        #expect(GoalMetric.deadlineSatisfactionRatio.value(m) == 2.0 / 3)
        func verdict(_ metric: GoalMetric, _ comparison: Goal.Comparison, _ target: Double) -> GoalVerdict.Verdict {
            GoalVerdict(Goal(metric: metric, comparison: comparison, target: target), runs: [m]).verdict
        }
        #expect(verdict(.deadlinesMetShare, .atLeast, 0.6) == .met)
        #expect(verdict(.deadlinesMetShare, .atLeast, 0.7) == .missed)
        #expect(verdict(.deadlineSatisfactionRatio, .greater, 0.5) == .met)
        #expect(verdict(.deadlineSatisfactionRatio, .atLeast, 0.9) == .missed)
        // E1 admits and meets all three.
        let e1 = RunMetrics.fold(try await ElasticFlowTests.run(ElasticFlowTests.e1))
        #expect(GoalMetric.deadlinesMetShare.value(e1) == 1 && GoalMetric.deadlineSatisfactionRatio.value(e1) == 1)
        // A run without deadlines has no value: the verdict is uncertain, never met.
        let none = RunMetrics.fold(try await ElasticFlowTests.run([ElasticFlowTests.job("be", at: 0, iterations: 6_843, deadline: nil)]))
        #expect(GoalMetric.deadlinesMetShare.value(none) == nil)
        #expect(GoalVerdict(Goal(metric: .deadlinesMetShare, comparison: .atLeast, target: 0.5), runs: [none]).verdict == .uncertain)
    }

    @Test func deadlineGoalsParseAndBadTargetsAreLocated() throws {
        let s = try Scenario.parse(GoalTests.scenario(goals: """
              deadlines.met_share: ">= 90%"
              deadlines.satisfaction_ratio: "> 0.5"
            """), file: "g.yaml")
        #expect(s.goals.map(\.metric) == [.deadlinesMetShare, .deadlineSatisfactionRatio])
        #expect(s.goals.map(\.target) == [0.9, 0.5])
        expectRefusals([("  deadlines.met_share: \">= 1.5\"", "g.yaml:10:"),
                        ("  deadlines.met_share: \">= 1.5\"", "the target of deadlines.met_share must be a fraction from 0 to 1 or a percentage (0.8 or 80%); found '1.5'"),
                        ("  deadlines.satisfaction_ratio: \"<= lots\"", "the target of deadlines.satisfaction_ratio must be a fraction"),
                        ("  deadlines.met: \">= 0.5\"", "unknown key 'deadlines.met' in goals")]) {
            _ = try Scenario.parse(GoalTests.scenario(goals: $0), file: "g.yaml")
        }
    }

    /// A run with deadlines, exported and replayed under the same policy, keeps them: the
    /// trace carries each job's deadline, and the replay declines and meets as the run did
    /// (the same event log).
    @Test func deadlinesSurviveExportAndReplay() throws {
        let (original, replayed, exported) = try exportRoundTrip("""
            name: deadlines
            fleet: { regions: [{ name: r, clusters: [{ name: c, nodes: 1, accelerators_per_node: 4 }] }] }
            policy: { name: elasticflow }
            workload:
              jobs:
                - { name: j0, world_size: 4, duration: 60m, speedup: [1, 1.7, 2.2, 2.7], deadline: 72m }
                - { name: j1, submit: 1m, world_size: 4, duration: 6m, speedup: [1, 1.7, 2.2, 2.7], deadline: 26m }
                - { name: j2, submit: 130s, world_size: 4, duration: 6m, speedup: [1, 1.7, 2.2, 2.7], deadline: 400s }
                - { name: be, submit: 3m, world_size: 1, duration: 5m }
            """, policy: "elasticflow")
        #expect(exported.map(\.deadline) == [4320, 1560, 400, nil])
        let deadlines = try #require(original["deadlines"] as? [String: Any])
        #expect(deadlines["declined"] as? Int == 1 && deadlines["jobs"] as? Int == 3, "\(deadlines)")
        #expect(RestartCostCompatTests.canonical(replayed["deadlines"]) == RestartCostCompatTests.canonical(original["deadlines"]))
        #expect(replayed["eventLogHash"] as? String == original["eventLogHash"] as? String)
    }
}
