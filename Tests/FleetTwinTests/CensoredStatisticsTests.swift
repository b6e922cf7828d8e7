import FleetTwinMetrics
import FleetTwinReports
import FleetTwinScenario
import Foundation
import Testing

/// A statistic of no jobs is absent, never 0, and jobs a horizon cuts short are counted.
@Suite struct CensoredStatisticsTests {
    /// One 2-accelerator node; every job needs both accelerators for 100 s.
    static func scenario(horizon: String, submits: [Int]) throws -> Scenario {
        let jobs = submits.enumerated().map { "    - { name: j\($0), submit: \($1)s, world_size: 2, duration: 100s }" }
        return try Scenario.parse("""
            name: censored
            horizon: \(horizon)
            fleet:
              regions:
                - name: r
                  clusters:
                    - { name: c, nodes: 1, accelerators_per_node: 2 }
            workload:
              jobs:
            \(jobs.joined(separator: "\n"))
            policy: { name: fifo }
            """, file: "censored.yaml")
    }

    @Test func noJobCompletedMeansNoCompletionTimeNotZero() async throws {
        let result = try await runScenario(try Self.scenario(horizon: "50s", submits: [0, 5]))
        let m = RunMetrics.fold(result)
        #expect(m.jobsCompleted == 0)
        #expect(m.jct == nil)
        #expect(m.queueDelay == Distribution(mean: 0, p50: 0, p95: 0, p99: 0, max: 0))  // j0 started at once
        #expect(m.queueDelayCensored?.p99 == 45)  // j1 waited from 5 s to the 50 s horizon
        #expect(m.stillWaiting == 1 && m.stillRunning == 1)

        let summary = RunSummary(scenario: "censored", seed: 1, policy: "fifo", runId: nil, metrics: m,
                                 processedEvents: result.processedEvents, eventLogHash: result.eventLogHash, horizonReached: true)
        let json = try summary.json()
        #expect(json.contains("\"jct\" : null"))
        #expect(json.contains("\"stillWaiting\" : 1"))
        let decoded = try JSONDecoder().decode(RunSummary.self, from: Data(json.utf8))
        #expect(decoded.jct == nil && decoded.queueDelayCensored == m.queueDelayCensored)
        let table = summary.table()
        #expect(table.contains("job completion time  none"))
        #expect(table.contains("unfinished at end    1 waiting, 1 running"))
        #expect(table.contains("SLA attained         none"))
    }

    @Test func aJobStillQueuedAtTheHorizonIsInTheCensoredFigureOnly() async throws {
        // j0 runs 0-100; j1 waits 95 s and runs from 100; j2 is still queued at 150 (144 s).
        let m = RunMetrics.fold(try await runScenario(try Self.scenario(horizon: "150s", submits: [0, 5, 6])))
        #expect(m.jct?.mean == 100)
        #expect(m.queueDelay?.mean == 47.5)
        #expect(m.queueDelayCensored?.mean == (0 + 95 + 144) / 3.0)
        #expect(m.queueDelayCensored?.p99 == 144)
        #expect(m.stillWaiting == 1 && m.stillRunning == 1)
    }

    @Test func everyJobStartedMeansTheCensoredFigureIsTheSame() async throws {
        let m = RunMetrics.fold(try await runScenario(try Self.scenario(horizon: "1000s", submits: [0, 5, 6])))
        #expect(m.stillWaiting == 0 && m.stillRunning == 0)
        #expect(m.queueDelayCensored == m.queueDelay)
    }

    @Test func storedRunsSayNoneAndNull() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("s.yaml").path
        try """
            name: none-done
            horizon: 50s
            fleet: { regions: [{ name: r, clusters: [{ name: c, nodes: 1, accelerators_per_node: 2 }] }] }
            workload: { jobs: [{ name: a, submit: 0s, world_size: 2, duration: 100s }] }
            policy: { name: fifo }
            """.write(toFile: path, atomically: true, encoding: .utf8)
        let db = dir.appendingPathComponent("r.sqlite").path
        #expect(try runFleettwin(["run", path, "--db", db, "--quiet"]).status == 0)
        let runs = try runFleettwin(["runs", "--db", db])
        #expect(runs.stdout.split(separator: "\n").last?.contains("none     none") == true, "\(runs.stdout)")
        let show = try runFleettwin(["show", "1", "--db", db, "--json"])
        #expect(show.stdout.contains("\"jct_p50_s\" : null"), "\(show.stdout)")
        #expect(show.stdout.contains("\"still_running\" : 1"))
    }
}
