import FleetTwinEngine
@testable import FleetTwinExternalPolicy
import FleetTwinFleet
import FleetTwinMetrics
import FleetTwinPolicy
import FleetTwinScheduling
import Foundation
import Testing

/// Protocol version 2's `decline` decision: an external policy refuses a waiting job as
/// `elasticflow`'s admission control does (a `declined` event; the job counts as done).
@Suite struct ExternalDeclineTests {
    /// A shell policy that gives `answers` to requests 1, 2, ... in turn, then empty answers.
    static func answeringInTurn(_ answers: [String]) -> ExternalPolicy {
        let turns = answers.map { "read -r line; printf '%s\\n' '\($0)'; " }.joined()
        return ExternalPolicyTests.external(turns + #"while read -r line; do printf '%s\n' '{"decisions": []}'; done"#)
    }

    /// Requests 1 (t = 0) and 2 (t = 10 s) decline jobs 0 and 1: both are finished by it, the
    /// run ends (the stall check counts them done) with no start, and the metrics count them.
    @Test func aDeclineIsDecodedAndCarriedOut() async throws {
        let policy = Self.answeringInTurn([#"{"decisions": [{"action": "decline", "job": 0}]}"#,
                                           #"{"decisions": [{"action": "decline", "job": 1}]}"#])
        let r = try await ExternalPolicyTests.run(policy)
        #expect(PolicyLayerTests.times(r, .declined, job: 0) == [0])
        #expect(PolicyLayerTests.times(r, .declined, job: 1) == [10])
        #expect(!r.log.records.contains { $0.kind == .started })
        #expect(RunMetrics.fold(r).deadlines?.declined == 2)
    }

    @Test func decliningARunningOrUnknownJobFailsNamingTheJobAndRequest() async {
        let running = await ExternalPolicyTests.failure(Self.answeringInTurn([#"{"decisions": [{"action": "start", "job": 0, "cluster": "c0"}]}"#,
                                                                              #"{"decisions": [{"action": "decline", "job": 0}]}"#]))
        #expect(running.contains("its answer to request 2 does not follow protocol version 2: decisions[0]: cannot decline job 0: it is running; "
                                 + "only a waiting job that never started can be declined"), "\(running)")
        let unknown = await ExternalPolicyTests.failure(ExternalPolicyTests.answering(#"{"decisions": [{"action": "decline", "job": 7}]}"#))
        #expect(unknown.contains("its answer to request 1 does not follow protocol version 2: decisions[0].job: expected the index of a job that has arrived (0 to 0), found 7"),
                "\(unknown)")
        let extra = await ExternalPolicyTests.failure(ExternalPolicyTests.answering(#"{"decisions": [{"action": "decline", "job": 0, "cluster": "c0"}]}"#))
        #expect(extra.contains(#"decisions[0]: unknown member "cluster"; expected action, job"#), "\(extra)")
        // Started and declined in one answer: the scheduler refuses the decline, citing it.
        let both = await ExternalPolicyTests.failure(ExternalPolicyTests.answering(
            #"{"decisions": [{"action": "start", "job": 0, "cluster": "c0"}, {"action": "decline", "job": 0}]}"#))
        #expect(both.contains("declined job 0, which is not a waiting job that never started") && both.contains("decisions[1] of its answer to request 1"), "\(both)")
    }

    /// A Python admission controller (oracle): a waiting job whose deadline cannot be met even
    /// if it started now on its whole world is declined, the others run first in, first out.
    /// It checks that each request lists deadlines and never lists a declined job again.
    ///
    ///     0    a (4 GPUs, 100 s) starts
    ///     10   b (4 GPUs, 50 s, deadline 60 s) arrives: 10 + 50 <= 60, it waits
    ///     20   c (4 GPUs, 50 s, deadline 200 s) arrives: b can no longer make it (20 + 50 > 60):
    ///          declined
    ///     100  a completes, c starts; 150 c completes, by its deadline
    @Test func aPythonPolicyDeclinesWhatCannotMeetItsDeadline() async throws {
        guard let python = ExternalPolicyTests.python() else { return }
        let script = """
            import json, sys
            declined = set()
            for line in sys.stdin:
                r = json.loads(line)
                assert r["version"] == 2, r["version"]
                for e in r["events"]:
                    if e["event"] == "declined": assert e["job"] in declined, e
                assert not declined & {j["job"] for j in r["waiting"]}, "a declined job is waiting"
                free = {c["name"]: c["free"] for c in r["clusters"]}
                decisions = []
                for j in sorted(r["waiting"], key=lambda j: (j["submit"], j["job"])):
                    if "deadline" in j and r["now"] + j["remainingWork"] > j["deadline"]:
                        decisions.append({"action": "decline", "job": j["job"]})
                        declined.add(j["job"])
                    elif free["c0"] >= j["worldSize"]:
                        decisions.append({"action": "start", "job": j["job"], "cluster": "c0"})
                        free["c0"] -= j["worldSize"]
                print(json.dumps({"decisions": decisions}), flush=True)
            """
        let dir = try temporaryDirectory()
        let path = dir.appendingPathComponent("admit.py").path
        try script.write(toFile: path, atomically: true, encoding: .utf8)
        var b = PolicyLayerTests.job("b", at: 10, gpus: 4, seconds: 50), c = PolicyLayerTests.job("c", at: 20, gpus: 4, seconds: 50)
        b.deadline = .seconds(Int64(60))
        c.deadline = .seconds(Int64(200))
        let policy = ExternalPolicy(settings: ExternalPolicySettings(command: "\(python) \(path)", oracle: true), placement: .bestFit)
        let r = try await ExternalPolicyTests.run(policy, jobs: [PolicyLayerTests.job("a", at: 0, gpus: 4, seconds: 100), b, c])
        #expect(PolicyLayerTests.times(r, .declined, job: 1) == [20])
        #expect(PolicyLayerTests.times(r, .started, job: 2) == [100])
        #expect(RunMetrics.fold(r).deadlines == DeadlineMetrics(jobs: 2, declined: 1, accepted: 1, satisfactionRatio: 0.5, completed: 1, met: 1))
    }
}
