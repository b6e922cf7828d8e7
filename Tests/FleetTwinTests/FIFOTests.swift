import FleetTwinEngine
import FleetTwinMetrics
import FleetTwinScenario
import FleetTwinScheduling
import Testing

@Suite struct FIFOTests {
    /// Worked by hand: 2 nodes x 4 accelerators.
    /// A(4, 10s) runs 0-10. B(8) needs both nodes: waits for A, runs 10-15. C(1) and D(2)
    /// could fit beside A, but FIFO holds them behind B: both start at 15. E arrives to an
    /// idle fleet at 20.
    @Test func handComputedStartAndEndTimes() async throws {
        let scenario = try Scenario.load(path: fixture("fifo-hand.yaml"))
        let result = try await runScenario(scenario)
        let metrics = RunMetrics.fold(result)
        let byName = Dictionary(uniqueKeysWithValues: zip(result.jobs.map(\.name), metrics.jobs))
        let expected: [String: (start: Double, end: Double)] = [
            "A": (0, 10), "B": (10, 15), "C": (15, 16), "D": (15, 18), "E": (20, 22),
        ]
        for (name, times) in expected {
            #expect(byName[name]?.firstStart == seconds(times.start), "start of \(name)")
            #expect(byName[name]?.end == seconds(times.end), "end of \(name)")
        }
        #expect(metrics.jobsCompleted == 5)
        #expect(metrics.makespan == 22)
        // (4x10 + 8x5 + 1x1 + 2x3 + 3x2) accelerator-seconds over 8 accelerators x 22 s.
        #expect(abs(metrics.utilization - 93.0 / 176.0) < 1e-12)
        #expect(metrics.queueDelay?.p50 == 9)  // delays 0, 0, 9, 13, 13 (nearest rank)
        #expect(metrics.jct?.mean == 56.0 / 5)  // JCTs 10, 14, 14, 16, 2
    }

    @Test func headOfLineBlocksEvenWhenLaterJobsFit() async throws {
        let scenario = try Scenario.load(path: fixture("fifo-hand.yaml"))
        let result = try await runScenario(scenario)
        let starts = result.log.records.filter { $0.kind == .started }.map { result.jobs[Int($0.job)].name }
        #expect(starts == ["A", "B", "C", "D", "E"])
    }

    @Test func anyPlacementUsesFragmentsConsolidatedWouldNot() async throws {
        // Two nodes x 4. X(3) and Y(3) leave 1 + 1 free; Z(2) fits only under `any`.
        func scenario(_ placement: String) throws -> Scenario {
            try Scenario.parse("""
                fleet: { regions: [ { name: r, clusters: [ { name: c, nodes: 2, accelerators_per_node: 4 } ] } ] }
                workload:
                  jobs:
                    - { name: X, world_size: 3, duration: 10s }
                    - { name: Y, world_size: 3, duration: 10s }
                    - { name: Z, submit: 1s, world_size: 2, duration: 1s }
                policy: { name: fifo, placement: \(placement) }
                """, file: "inline.yaml")
        }
        let consolidated = RunMetrics.fold(try await runScenario(try scenario("consolidated")))
        let any = RunMetrics.fold(try await runScenario(try scenario("any")))
        #expect(consolidated.jobs[2].firstStart == seconds(10))
        #expect(any.jobs[2].firstStart == seconds(1))
    }
}
