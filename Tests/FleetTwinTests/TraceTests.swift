import FleetTwinMetrics
import FleetTwinReports
import FleetTwinScenario
import FleetTwinScheduling
import FleetTwinTraces
import Foundation
import Testing

@Suite struct TraceFormatTests {
    /// The fixture has CRLF endings, a blank line, unsorted jobs and no final newline.
    @Test func readsTheNativeFormat() throws {
        let (header, jobs) = try TraceReader(path: fixture("traces/small.jsonl")).readAll()
        #expect(header.name == "small")
        #expect(jobs.map(\.id) == ["late", "early", "huge", "last"])
        #expect(jobs[1].workSeconds == 50 && jobs[1].user == "u1")
        #expect(jobs[3].recorded == RecordedOutcome(start: 41, end: 43, status: "Pass", attempts: 1))
    }

    @Test func writeThenReadIsIdentityAndBytesAreStable() throws {
        let (header, jobs) = try TraceReader(path: fixture("traces/small.jsonl")).readAll()
        let dir = try temporaryDirectory()
        func write(_ name: String) throws -> String {
            let path = dir.appendingPathComponent(name).path
            var writer = try TraceWriter(path: path, header: header)
            for job in jobs { writer.write(job) }
            try writer.close()
            return path
        }
        let a = try write("a.jsonl"), b = try write("b.jsonl")
        #expect(try TraceReader(path: a).readAll().1 == jobs)
        #expect(try Data(contentsOf: URL(fileURLWithPath: a)) == Data(contentsOf: URL(fileURLWithPath: b)))
    }

    @Test(arguments: [
        ("{\"id\":\"a\",\"submit\":0,\"worldSize\":1}", "2: error: the work must be 'duration'"),
        ("{\"id\":\"a\",\"submit\":-1,\"worldSize\":1,\"duration\":1}", "2: error: 'submit' must be a number of seconds from 0 to 3.2e9"),
        ("{\"id\":\"a\",\"submit\":0,\"worldSize\":true,\"duration\":1}", "2: error: 'worldSize' must be a number"),
        ("{\"id\":\"a\",\"submit\":0,\"worldSize\":1,\"duration\":1,\"gpus\":2}", "2: error: unknown field 'gpus'"),
        ("{\"id\":\"a\",\"submit\":0,\"worldSize\":1,\"duration\":1,\"tier\":\"gold\"}", "2: error: 'tier' must be premium, standard or basic"),
        ("not json", "2: error: not a JSON object"),
    ])
    func malformedJobsAreLocated(line: String, expected: String) throws {
        let path = try temporaryDirectory().appendingPathComponent("t.jsonl").path
        try ("{\"format\":\"fleettwin-trace\",\"version\":1}\n" + line + "\n").write(toFile: path, atomically: true, encoding: .utf8)
        do {
            _ = try TraceReader(path: path).readAll()
            Issue.record("accepted \(line)")
        } catch let error as TraceError {
            #expect(error.description.hasPrefix("\(path):\(expected)"), "\(error)")
        }
    }

    @Test func headerAndDuplicatesAreChecked() throws {
        let dir = try temporaryDirectory()
        let noHeader = dir.appendingPathComponent("h.jsonl").path
        try "{\"id\":\"a\",\"submit\":0,\"worldSize\":1,\"duration\":1}\n".write(toFile: noHeader, atomically: true, encoding: .utf8)
        #expect(throws: TraceError.self) { try TraceReader(path: noHeader).readAll() }
        let twice = dir.appendingPathComponent("d.jsonl").path
        try "{\"format\":\"fleettwin-trace\",\"version\":1}\n{\"id\":\"a\",\"submit\":0,\"worldSize\":1,\"duration\":1}\n{\"id\":\"a\",\"submit\":1,\"worldSize\":1,\"duration\":1}\n"
            .write(toFile: twice, atomically: true, encoding: .utf8)
        do { _ = try TraceReader(path: twice).readAll() } catch let error as TraceError {
            #expect(error.line == 3 && error.message == "job id 'a' appears twice")
        }
    }

    @Test func ksDistanceOnKnownSamples() {
        #expect(Fidelity.ks([1, 2, 3], [1, 2, 3]) == 0)
        #expect(Fidelity.ks([1, 2], [3, 4]) == 1)
        #expect(abs(Fidelity.ks([1, 2, 3, 4], [3, 4, 5, 6]) - 0.5) < 1e-12)
    }
}

@Suite struct TraceWorkloadTests {
    static func scenario(_ trace: String) throws(ScenarioError) -> Scenario {
        try Scenario.parse("""
            fleet: { regions: [ { name: r, clusters: [ { name: c, nodes: 2, accelerators_per_node: 4 } ] } ] }
            workload:
              trace: \(trace)
            """, file: URL(fileURLWithPath: fixture("traces/small.jsonl")).deletingLastPathComponent().appendingPathComponent("scenario.yaml").path)
    }

    @Test func aTraceWorkloadSortsSkipsAndCounts() throws {
        let s = try Self.scenario("small.jsonl")
        let (jobs, skipped) = s.workloadJobs(seed: 1)
        #expect(jobs.map(\.name) == ["early", "late", "last"])
        #expect(jobs.map(\.submit) == [seconds(5), seconds(30), seconds(40)])
        #expect(jobs.map(\.tier) == [.standard, .premium, .standard])
        #expect(skipped.map(\.id) == ["huge"])
        #expect(skipped.first?.reason == "world size 64 exceeds the largest cluster (8)")
    }

    @Test func windowLimitScaleAndTiers() throws {
        let s = try Self.scenario("{ path: small.jsonl, window: { from: 10s, to: 50s }, limit: 2, time_scale: 0.5, tiers: { basic: 1 } }")
        let jobs = s.jobs(seed: 1)
        // In [10, 50): huge (skipped: too large), late, last; the first two by submit are
        // huge and late, so only late survives; submit (30 - 10) x 0.5.
        #expect(jobs.map(\.name) == ["late"])
        #expect(jobs[0].submit == seconds(10) && jobs[0].tier == .premium)
    }

    /// A job whose trace names no accelerator type runs on any type, as recorded.
    @Test func untypedJobsRunOnAnyTypeAtTheirRecordedDuration() async throws {
        let s = try Scenario.parse("""
            fleet:
              regions:
                - { name: r, clusters: [ { name: new, nodes: 1, accelerators_per_node: 4 }, { name: old, nodes: 1, accelerators_per_node: 4, type: v100-32gb } ] }
            workload: { trace: small.jsonl }
            """, file: URL(fileURLWithPath: fixture("traces/small.jsonl")).deletingLastPathComponent().appendingPathComponent("typed.yaml").path)
        let result = try await runScenario(s)
        let metrics = RunMetrics.fold(result)
        // "early" (50 s) runs on the H100s from 5 s; "late" (10 s, 2 GPUs) from 30 s; "last" (1 s) from 40 s.
        #expect(metrics.jobs.map(\.completionTime) == [seconds(50), seconds(10), seconds(1)])
    }

    @Test func aMissingOrBrokenTraceIsALocatedScenarioError() {
        do {
            _ = try Self.scenario("nowhere.jsonl")
            Issue.record("accepted a missing trace")
        } catch {
            #expect(error.description.contains("scenario.yaml:3:10: error: trace nowhere.jsonl:"))
        }
    }
}

@Suite struct RecordReplayTests {
    /// A run exported as a trace and replayed on the same fleet and policy reproduces the
    /// event log exactly; its recorded outcomes match (Kolmogorov-Smirnov distance 0).
    @Test func recordThenReplayGivesTheSameHash() throws {
        let dir = try temporaryDirectory()
        let db = dir.appendingPathComponent("r.sqlite").path, trace = dir.appendingPathComponent("run.jsonl").path
        let quickstart = repositoryRoot.appendingPathComponent("Scenarios/quickstart.yaml").path
        let json = jsonObject
        let original = try json(try runFleettwin(["run", quickstart, "--policy", "las", "--json", "--db", db]))
        #expect(try runFleettwin(["export", "1", "--out", trace, "--db", db]).status == 0)
        let replayed = try json(try runFleettwin(["replay", trace, "--fleet", quickstart, "--policy", "las", "--compare-recorded",
                                                  "--json", "--db", db]))
        #expect(replayed["eventLogHash"] as? String == original["eventLogHash"] as? String)
        let fidelity = try #require(replayed["fidelity"] as? [String: Any])
        #expect((fidelity["jct"] as? [String: Any])?["ksDistance"] as? Double == 0)
        let free = try json(try runFleettwin(["replay", trace, "--fleet", quickstart, "--policy", "las", "--no-overheads", "--json", "--db", db]))
        let overhead = try #require(free["overheadSeconds"] as? [String: Double])
        #expect(overhead.values.allSatisfy { $0 == 0 })
        #expect((free["preemptions"] as? Int ?? 0) > 0)
    }

    @Test func replaySaysWhatItSkipped() throws {
        let dir = try temporaryDirectory()
        let out = try runFleettwin(["replay", fixture("traces/small.jsonl"), "--fleet", fixture("fifo-hand.yaml"),
                                    "--db", dir.appendingPathComponent("s.sqlite").path])
        #expect(out.status == 0, "\(out.stderr)")
        #expect(out.stderr.contains("skipped 1 trace jobs that this fleet can never run:"))
        #expect(out.stdout.contains("jobs submitted       3"))
    }
}
