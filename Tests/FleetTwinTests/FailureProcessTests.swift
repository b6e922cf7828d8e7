import FleetTwinEngine
import FleetTwinFleet
import FleetTwinMetrics
import FleetTwinScheduling
import Foundation
import Testing

/// One failure process per node: counted over a long horizon, random node failures match the
/// configured mean time between failures (a renewal process of failure then repair), with and
/// without outages, which used to start an extra failure chain on every node they touched.
@Suite struct FailureProcessTests {
    static let nodes = 40
    static let horizon = VirtualTime.seconds(Int64(2000 * 3600))

    static func run(_ failures: FailureSettings) async throws -> SimulationResult {
        let fleet = FleetSpec(regions: [RegionSpec(name: "r", clusters: [
            ClusterSpec(name: "c", nodes: nodes, acceleratorsPerNode: 1, acceleratorType: "h100-80gb")])],
            profiles: AcceleratorProfile.builtIn)
        // One long job keeps the run going to the horizon.
        let job = JobSpec(name: "long", submit: .zero, tier: .standard, worldSize: 1, acceleratorType: "h100-80gb",
                          work: .seconds(Int64(3000 * 3600)))
        return try await FleetSimulation(SimulationConfiguration(
            fleet: fleet, jobs: [job], policy: FIFOPolicy(placement: .any), horizon: horizon, failures: failures, seed: 7)).run()
    }

    /// Expected failures of a renewal process (up time drawn from the distribution, then a
    /// fixed repair) over `upHours` of calendar time per node.
    static func expected(meanHours: Double, repairHours: Double, hours: Double) -> Double {
        Double(nodes) * hours / (meanHours + repairHours)
    }

    @Test(arguments: [("exponential", 0.06), ("weibull", 0.08)])
    func randomFailuresMatchTheirMean(distribution: String, tolerance: Double) async throws {
        let tbf: FailureSettings.TimeBetweenFailures = distribution == "exponential"
            ? .exponential(mean: .seconds(Int64(10 * 3600)))
            : .weibull(scale: .seconds(10 * 3600 / tgamma(1 + 1 / 0.8)), shape: 0.8)
        var failures = FailureSettings()
        failures.nodeTimeBetweenFailures = tbf
        failures.repair = .seconds(Int64(3600))
        let r = try await Self.run(failures)
        let expected = Self.expected(meanHours: 10, repairHours: 1, hours: 2000)
        #expect(abs(Double(r.nodeFailures) - expected) < tolerance * expected, "\(r.nodeFailures) failures, expected about \(expected)")
        #expect(r.outageNodeFailures == 0)
        // Down about one hour per failure.
        #expect(abs(r.nodeDowntimeSeconds / 3600 - Double(r.nodeFailures)) < 0.05 * Double(r.nodeFailures))
    }

    /// Ten 20-hour outages of the whole cluster: failures keep their rate over the time nodes
    /// are up (before the fix each outage added a failure chain per node: 11x by the end), and
    /// an outage counts only the nodes it took down.
    @Test func outagesNeitherMultiplyFailuresNorMiscountRepairs() async throws {
        var failures = FailureSettings()
        failures.nodeTimeBetweenFailures = .exponential(mean: .seconds(Int64(10 * 3600)))
        failures.repair = .seconds(Int64(3600))
        failures.outages = (0..<10).map { k in
            FailureSettings.Outage(at: .seconds(Int64((100 + 190 * k) * 3600)), clusters: [0], duration: .seconds(Int64(20 * 3600)))
        }
        let r = try await Self.run(failures)
        let expected = Self.expected(meanHours: 10, repairHours: 1, hours: 2000 - 10 * 20)
        #expect(abs(Double(r.nodeFailures) - expected) < 0.08 * expected, "\(r.nodeFailures) failures, expected about \(expected)")
        // Each outage takes down the nodes that are up: about 10/11 of them.
        #expect(r.outageNodeFailures > 300 && r.outageNodeFailures <= 400, "\(r.outageNodeFailures)")
        // At least the outages' own downtime, plus about an hour per random failure.
        let hours = r.nodeDowntimeSeconds / 3600
        #expect(hours >= Double(Self.nodes * 200) && hours < Double(Self.nodes * 200) + 1.1 * Double(r.nodeFailures), "\(hours) node-hours")
        Self.expectNodeEventsAgree(r)
    }

    /// The log's node events are the counts' source: folded from the log they give the
    /// simulator's own counters; each node alternates down and up, and a node's down comes
    /// before the job failures it causes.
    static func expectNodeEventsAgree(_ r: SimulationResult) {
        let m = RunMetrics.fold(r)
        #expect(m.nodeFailures == r.nodeFailures && m.nodeFailures > 0)
        #expect(m.outageNodeFailures == r.outageNodeFailures)
        #expect(abs(m.nodeDowntimeSeconds - r.nodeDowntimeSeconds) < 1e-6)
        var down: [Int64: Bool] = [:]
        var lastDown: (time: VirtualTime, cluster: Int32)?
        for record in r.log.records {
            if let node = record.node {
                let key = Int64(record.cluster) << 32 | Int64(node)
                #expect(down[key, default: false] == (record.kind == .nodeRepaired), "\(record)")
                down[key] = record.kind != .nodeRepaired
                #expect(record.accelerators == 1)
                if record.kind != .nodeRepaired { lastDown = (record.time, record.cluster) }
            } else if record.kind == .failed {
                #expect(lastDown?.time == record.time && lastDown?.cluster == record.cluster, "a job failed with no node down")
            }
        }
    }

    @Test func nodeEventsAreInTheLog() async throws {
        var failures = FailureSettings()
        failures.nodeTimeBetweenFailures = .exponential(mean: .seconds(Int64(10 * 3600)))
        failures.repair = .seconds(Int64(3600))
        failures.outages = [FailureSettings.Outage(at: .seconds(Int64(500 * 3600)), clusters: [0], duration: .seconds(Int64(20 * 3600)))]
        Self.expectNodeEventsAgree(try await Self.run(failures))
    }
}
