import FleetTwinEngine
import FleetTwinFleet
import FleetTwinMetrics
import FleetTwinPolicy
import FleetTwinScheduling
import Foundation
import Testing

/// Sia's one MILP across GPU types (research/policies.md §12: configurations on every type,
/// each type's devices a constraint), with FleetTwin's clusters as the types.
@Suite struct SiaCrossTypeTests {
    /// Two 1-node, 2-device clusters (configurations 1 and 2 on each).
    static let twoTypes = [ElasticCluster(capacity: 2, devicesPerNode: 2, nodes: 1), ElasticCluster(capacity: 2, devicesPerNode: 2, nodes: 1)]

    /// A job that doubles on 2 devices, with its speed on each of the two clusters' types.
    static func job(_ k: JobIndex, speeds: [Double], devices: [Int] = [0, 0], age: Double = 0, restarts: Int = 0) -> ElasticFleetCandidate {
        ElasticFleetCandidate(job: k, clusters: speeds.indices.map { c in
            var candidate = ElasticCandidate(job: k, submit: .zero, devices: devices[c], minDevices: 1, maxDevices: 2, throughput: [0.5, 1],
                                             remaining: 1000, age: .seconds(age), restarts: restarts, name: "job-\(k)")
            candidate.speed = speeds[c]
            return candidate
        })
    }

    /// Job 0 is 3x as fast on type X as on Y, job 1 the reverse. Job 0's goodput on X1, X2,
    /// Y1, Y2 (throughput x speed relative to its slowest type) is 1.5, 3, 0.5, 1; divided by
    /// the row's smallest (0.5, on Y: the minimum over both types) 3, 6, 1, 2, so A = 0.58,
    /// 0.41, 1, 0.71 (job 1 mirrored). Each on 2 of its fast type: 0.41 + 0.41 = 0.82; both on
    /// X, one each: 0.58 + 1 = 1.58; one job alone: at best 0.41 + 1.1 = 1.51. The optimum is
    /// 0.82, each job on its faster type.
    @Test func eachJobGoesToItsFasterType() throws {
        let a = Self.job(0, speeds: [3, 1]), b = Self.job(1, speeds: [1, 3])
        let row = SiaRule().fleetRow(a, configurations: [[1, 2], [1, 2]])
        #expect(row.cluster == [0, 0, 1, 1] && row.devices == [1, 2, 1, 2] && row.cost == [0.58, 0.41, 1, 0.71], "\(row)")
        let s = try SiaRule().solveFleet([a, b], clusters: Self.twoTypes)
        #expect(abs(s.objective - 0.82) < 1e-9, "\(s)")
        #expect(s.cluster == [0, 1] && s.devices == [2, 2], "\(s)")
    }

    /// Each type's devices bind: a third job as fast on both (A = 1, 0.71 on either) fits only
    /// by splitting a type. Job 2 left out: 0.82 + 1.1 = 1.92; job 0 and job 2 one each on X,
    /// job 1 two on Y: 0.58 + 1 + 0.41 = 1.99 (and mirrored); the optimum is 1.92.
    @Test func eachTypesDevicesAreAConstraint() throws {
        let jobs = [Self.job(0, speeds: [3, 1]), Self.job(1, speeds: [1, 3]), Self.job(2, speeds: [1, 1])]
        let s = try SiaRule().solveFleet(jobs, clusters: Self.twoTypes)
        #expect(abs(s.objective - 1.92) < 1e-9, "\(s)")
        #expect(s.cluster == [0, 1, -1] && s.devices == [2, 2, 0], "\(s)")
        // Without type Y, job 1 is worth 1, 0.71 on X alone (normalised to its own smallest).
        let one = try SiaRule().solveFleet(jobs.map { ElasticFleetCandidate(job: $0.job, clusters: [$0.clusters[0]]) }, clusters: [Self.twoTypes[0]])
        #expect(one.devices.reduce(0, +) <= 2)
    }

    /// A job running on 2 devices of its slow type Y: every other column, those on type X
    /// included, is scaled by the re-allocation factor. Age 600 s, P = 30 s: r = 600 / 630,
    /// so X1, X2, Y1 are worth 3 r, 6 r, r (A = 0.59, 0.42, 1.02) and Y2, kept, 2 (0.71): X2
    /// beats it and it moves. After 19 restarts r = 30 /
    /// 630, X2 worth 0.29, A = 1.87 > 0.71: it stays on Y.
    @Test func changingTypeIsARestart() throws {
        let settled = Self.job(0, speeds: [3, 1], devices: [0, 2], age: 600)
        let row = SiaRule().fleetRow(settled, configurations: [[1, 2], [1, 2]])
        #expect(row.cost == [0.59, 0.42, 1.02, 0.71], "\(row)")
        let moves = try SiaRule().solveFleet([settled], clusters: Self.twoTypes)
        #expect(moves.cluster == [0] && moves.devices == [2] && abs(moves.objective - 0.42) < 1e-9, "\(moves)")
        let restarted = Self.job(0, speeds: [3, 1], devices: [0, 2], age: 600, restarts: 19)
        #expect(SiaRule().fleetRow(restarted, configurations: [[1, 2], [1, 2]]).cost == [2.65, 1.87, 4.58, 0.71])
        let stays = try SiaRule().solveFleet([restarted], clusters: Self.twoTypes)
        #expect(stays.cluster == [1] && stays.devices == [2] && abs(stays.objective - 0.71) < 1e-9, "\(stays)")
    }

    /// One cluster: the fleet row and MILP are the per-cluster rule's (its tests' numbers).
    @Test func oneTypeIsThePerClusterRule() throws {
        let a = SiaTests.job(0, throughput: [0.25, 0.5, 0.75, 1], devices: 4, age: 60), b = SiaTests.job(1, throughput: [0.5, 1])
        let node = ElasticCluster(capacity: 4, devicesPerNode: 4, nodes: 1)
        let fleet = try SiaRule().solveFleet([a, b].map { ElasticFleetCandidate(job: $0.job, clusters: [$0]) }, clusters: [node])
        #expect(abs(fleet.objective - 1.58) < 1e-9 && fleet.devices == [2, 2] && fleet.cluster == [0, 0], "\(fleet)")
        #expect(SiaRule().row(a, configurations: [1, 2, 4]).cost == [1.22, 0.87, 0.5])
    }

    /// Resnet-50 jobs (the Tiresias traces' `resnet50`) take Sia's `imagenet` penalty.
    @Test func resnet50IsSiasImagenet() {
        #expect(SiaRule.restartPenalty(name: "resnet50", architecture: "") == 250)
        #expect(SiaRule.restartPenalty(name: "job-7", architecture: "ResNet-50") == 250)
        #expect(SiaRule.restartPenalty(name: "resnet18", architecture: "") == 30)
        // A trace's job is named by its id; its workload names the model.
        #expect(SiaRule.restartPenalty(name: "17", architecture: "", application: "resnet50") == 250)
        #expect(SiaRule.restartPenalty(name: "17", architecture: "", application: "bert") == 120)
    }

    /// In a simulation: on a fast (h100, speed 4 and 3) and a slow (v100, speed 1) pair of
    /// devices, the faster job takes the fast type (A 0.35 + 0.71 against 0.41 + 0.71); when it
    /// completes (100 s), the other has run 100 s on the slow type (r = 100 / 130, X2 worth
    /// 4.62, A = 0.47 < 0.71): it is preempted there and started on the fast cluster, a
    /// restart. Every invariant is checked after every event.
    @Test func aJobMovesToTheFasterTypeByRestarting() async throws {
        let fleet = FleetSpec(regions: [RegionSpec(name: "r", clusters: [
            ClusterSpec(name: "fast", nodes: 1, acceleratorsPerNode: 2, acceleratorType: "h100-80gb"),
            ClusterSpec(name: "slow", nodes: 1, acceleratorsPerNode: 2, acceleratorType: "v100-32gb"),
        ])], profiles: AcceleratorProfile.builtIn)
        func job(_ name: String, seconds: Double, fast: Double) -> JobSpec {
            var j = JobSpec(name: name, submit: .zero, tier: .standard, worldSize: 2, acceleratorType: "any", work: .seconds(seconds))
            j.speeds = [TypeSpeed(type: "h100-80gb", speed: fast), TypeSpeed(type: "v100-32gb", speed: 1)]
            j.elasticSpeedup = [1, 2]
            return j
        }
        let sia = PolicyRegistry.named("sia")!.make(placement: .any, mechanisms: MechanismSettings.defaults.free)
        let r = try await PolicyLayerTests.run([job("short", seconds: 400, fast: 4), job("long", seconds: 6000, fast: 3)], on: fleet, policy: sia)
        let starts = r.log.records.filter { $0.kind == .started }
        #expect(starts.filter { $0.job == 0 }.map(\.cluster) == [0])
        #expect(starts.filter { $0.job == 1 }.map(\.cluster) == [1, 0], "\(starts)")
        #expect(PolicyLayerTests.times(r, .completed, job: 0) == [100])
        #expect(PolicyLayerTests.times(r, .preempted, job: 1) == [100])
        #expect(r.log.records.filter { $0.kind == .completed }.count == 2)
        #expect(r.idleWhileWaitingAcceleratorSeconds == 0)
    }

    /// A rigid job (its world, 3, is none of the 1, 2, 4-device configurations) running on
    /// type X, 3x as fast there: its row is one column per type, worth 3 x its relative speed
    /// (9 on X, 3 on Y). Sia spares a rigid job the re-allocation factor until it has held P
    /// GPU-seconds (`_compute_rigid_job_goodput_single`: attained service, where an adaptive
    /// job is spared while younger than P): an imagenet job (P = 250 s) 1,000 s old, restarted
    /// twice, with 100 GPU-seconds keeps Y's A at round(3^-0.5, 2) = 0.58; with 1,000 it is
    /// discounted by r = (1,000 - 500) / 1,250 = 0.4, A = round(1.2^-0.5, 2) = 0.91.
    @Test func aRigidJobIsSparedByAttainedService() {
        let fourWide = [ElasticCluster(capacity: 4, devicesPerNode: 4, nodes: 1), ElasticCluster(capacity: 4, devicesPerNode: 4, nodes: 1)]
        let configurations = fourWide.map { SiaRule.configurations(devicesPerNode: $0.devicesPerNode, nodes: $0.nodes) }
        for (service, yCost) in [(100.0, 0.58), (1_000.0, 0.91)] {
            let job = ElasticFleetCandidate(job: 0, clusters: [3.0, 1.0].indices.map { c in
                var candidate = ElasticCandidate(job: 0, submit: .zero, devices: c == 0 ? 3 : 0, minDevices: 3, maxDevices: 3, throughput: [1, 2, 3],
                                                 remaining: 1000, age: .seconds(Int64(1_000)), restarts: 2, name: "imagenet-0")
                candidate.speed = [3.0, 1.0][c]
                candidate.attainedService = service
                return candidate
            })
            let row = SiaRule().fleetRow(job, configurations: configurations)
            #expect(row.cluster == [0, 1] && row.devices == [3, 3], "\(row)")
            #expect(row.cost == [0.33, yCost], "attained service \(service): \(row.cost)")
        }
    }
}
