import FleetTwinEngine
import FleetTwinFleet
import FleetTwinScenario
import FleetTwinScheduling
import Foundation
import Testing

/// `singularity`'s three SLA rules (`TierPriority`): the headroom shield, urgent restarts and
/// best-effort sharing by least attained service, each against hand-computed times, and each
/// switched off by its option.
@Suite struct SingularityRulesTests {
    static let standard = 0.70
    static func t(_ seconds: Double) -> VirtualTime { VirtualTime.seconds(seconds) }

    static func pending(_ index: Int32, tier: SLATier, submit: Double = 0, gpus: Int = 1) -> PendingJob {
        PendingJob(index: index, submit: Self.t(submit), tier: tier, worldSize: gpus, acceleratorTypes: TypeSet([0]))
    }

    static func rule(_ configure: (inout TierPriority.Settings) -> Void = { _ in }) -> TierPriority {
        var settings = TierPriority.Settings()
        configure(&settings)
        return TierPriority(settings: settings, mechanisms: .defaults)
    }

    /// A job running at full size since `since`, first started at `first`, with `delivered`
    /// full-speed seconds from earlier runs.
    static func running(_ info: PendingJob, since: Double, first: Double, delivered: Double = 0, devices: Int? = nil) -> TrackedJob {
        var job = TrackedJob(info: info, key: PriorityKey(0, 0, job: info.index))
        job.state = .running
        job.devices = devices ?? info.worldSize
        job.runningSince = Self.t(since)
        job.progressFrom = Self.t(since)
        job.firstStart = Self.t(first)
        job.delivered = Int64(delivered * 1e6)
        return job
    }

    static func waiting(_ info: PendingJob, first: Double? = nil, delivered: Double = 0) -> TrackedJob {
        var job = TrackedJob(info: info, key: PriorityKey(0, 0, job: info.index))
        job.firstStart = first.map { Self.t($0) }
        job.delivered = Int64(delivered * 1e6)
        return job
    }

    /// Headroom: a standard job at full speed since 0 has, at t, t/0.7 - t of room; 30 minutes
    /// of it is reached at 1,800 x 0.7 / 0.3 = 4,200 s. A job spliced below its target never
    /// gains room; best-effort jobs and a switched-off shield are never shielded.
    @Test func theHeadroomShieldEndsWhenThirtyMinutesOfRoomAreEarned() {
        let rule = Self.rule()
        let job = Self.running(Self.pending(0, tier: .standard), since: 0, first: 0)
        let ends = try! #require(rule.protectedUntil(job, at: Self.t(1000)))
        #expect(abs(ends.seconds - 4200) < 1e-3)
        #expect(rule.protectedUntil(job, at: Self.t(4201)) == nil)
        // Restarted at 5,000 after 1,000 s delivered in a first run from 0: room at 6,000 is
        // 2,000/0.7 - 6,000 < 0, and it grows 3/7 of a second per second from there.
        let restarted = Self.running(Self.pending(1, tier: .standard), since: 5000, first: 0, delivered: 1000)
        let later = try! #require(rule.protectedUntil(restarted, at: Self.t(6000)))
        let room: Double = 2000 / Self.standard - 6000
        let growth: Double = 1 / Self.standard - 1
        let expected: Double = 6000 + (1800 - room) / growth
        #expect(abs(later.seconds - expected) < 1e-3)
        // An 8-replica job on 4 devices runs at 1/(2 x 1.03) < 0.7 of full speed: never.
        let spliced = Self.running(Self.pending(2, tier: .standard, gpus: 8), since: 0, first: 0, devices: 4)
        #expect(rule.protectedUntil(spliced, at: Self.t(10)) == .limit)
        #expect(rule.protectedUntil(Self.running(Self.pending(3, tier: .basic), since: 0, first: 0), at: Self.t(10)) == nil)
        #expect(Self.rule { $0.slaHeadroom = .zero }.protectedUntil(job, at: Self.t(1000)) == nil)
    }

    /// Urgent restarts: a stopped standard job (deadline 100 + 700/0.7 = 1,100 s) waits ahead
    /// of a standard job submitted before it that never started, and outranks running jobs
    /// of its own tier; the never-started one does not. Off, both rank by arrival.
    @Test func aStoppedSLAJobRestartsFirstAndMayTakeFromItsTier() {
        let rule = Self.rule()
        let stopped = Self.waiting(Self.pending(0, tier: .standard, submit: 50), first: 100, delivered: 700)
        let fresh = Self.waiting(Self.pending(1, tier: .standard, submit: 10))
        #expect(rule.slaDeadline(stopped) == 1_100_000_000)
        #expect(rule.waitingKey(stopped) < rule.waitingKey(fresh))
        let other = Self.running(Self.pending(2, tier: .standard), since: 0, first: 0)
        #expect(rule.outranks(stopped, other, at: Self.t(2000)))
        #expect(!rule.outranks(fresh, other, at: Self.t(2000)))
        // Never across tiers upward: a stopped standard job does not outrank a premium one.
        let premium = Self.running(Self.pending(3, tier: .premium), since: 0, first: 0)
        #expect(!rule.outranks(stopped, premium, at: Self.t(2000)))
        let off = Self.rule { $0.urgentRestarts = false }
        #expect(off.waitingKey(fresh) < off.waitingKey(stopped))
        #expect(!off.outranks(stopped, other, at: Self.t(2000)))
    }

    /// Best effort: a new basic job (Q0) outranks a running basic job past 3,250 GPU-s (Q1),
    /// not one below it; `best-effort: arrival` never lets one basic job take from another.
    @Test func bestEffortJobsShareByLeastAttainedService() {
        let rule = Self.rule()
        let arrival = Self.waiting(Self.pending(0, tier: .basic, submit: 5000))
        let long = Self.running(Self.pending(1, tier: .basic), since: 0, first: 0)
        let young = Self.running(Self.pending(2, tier: .basic, submit: 4900), since: 4900, first: 4900)
        #expect(rule.outranks(arrival, long, at: Self.t(5000)))
        #expect(!rule.outranks(arrival, young, at: Self.t(5000)))
        #expect(rule.nextRankChange(young, at: Self.t(4900)) == Self.t(4900 + 3250))
        let off = Self.rule { $0.bestEffortThresholds = nil }
        #expect(!off.outranks(arrival, long, at: Self.t(5000)))
        #expect(off.nextRankChange(young, at: Self.t(4900)) == nil)
    }

    /// Runs `jobs` on one GPU under `singularity` with every mechanism free, no quantum,
    /// neither splicing nor migration, and `policy` options on top.
    static func onOneGPU(_ jobs: [JobSpec], _ yaml: String = "") async throws -> SimulationResult {
        let scenario = try Scenario.parse("""
            name: rules
            fleet: { regions: [{ name: r, clusters: [{ name: c, nodes: 1, accelerators_per_node: 1 }] }] }
            workload: { jobs: [{ name: x, submit: 0s, world_size: 1, duration: 1s }] }
            policy: { name: singularity, quantum: 0s, elastic: false, migration: false\(yaml) }
            """, file: "rules.yaml")
        let policy = scenario.policy.descriptor.make(options: scenario.policy.options, placement: .any, mechanisms: MechanismSettings.defaults.free)
        return try await PolicyLayerTests.run(jobs, on: PolicyLayerTests.fleet(nodes: 1, perNode: 1), policy: policy)
    }

    /// A premium job arriving at 1,000 s waits for the running standard job's headroom (until
    /// 4,200 s) instead of preempting it at once, as it does with `sla-headroom: 0s`.
    @Test func aPremiumJobWaitsForTheStandardJobsHeadroom() async throws {
        let jobs = [PolicyLayerTests.job("S", at: 0, gpus: 1, seconds: 10_000, tier: .standard),
                    PolicyLayerTests.job("P", at: 1000, gpus: 1, seconds: 100, tier: .premium)]
        let shielded = try await Self.onOneGPU(jobs)
        let start = try #require(PolicyLayerTests.times(shielded, .started, job: 1).first)
        #expect(abs(start - 4200) < 1e-3)
        #expect(PolicyLayerTests.times(shielded, .completed, job: 0).first.map { abs($0 - 10_100) < 1e-3 } == true)
        let open = try await Self.onOneGPU(jobs, ", sla-headroom: 0s")
        #expect(PolicyLayerTests.times(open, .started, job: 1) == [1000])
    }

    /// A short basic job arriving at 5,000 s preempts a basic job that has had 5,000 GPU-s
    /// (past the first queue) and is done at 5,100 s; in arrival order it waits until 10,000 s.
    @Test func aShortBasicJobPassesALongOne() async throws {
        let jobs = [PolicyLayerTests.job("B1", at: 0, gpus: 1, seconds: 10_000, tier: .basic),
                    PolicyLayerTests.job("B2", at: 5000, gpus: 1, seconds: 100, tier: .basic)]
        let las = try await Self.onOneGPU(jobs)
        #expect(PolicyLayerTests.times(las, .completed, job: 1) == [5100])
        #expect(PolicyLayerTests.times(las, .completed, job: 0) == [10_100])
        let arrival = try await Self.onOneGPU(jobs, ", best-effort: arrival")
        #expect(PolicyLayerTests.times(arrival, .started, job: 1) == [10_000])
    }

    /// The options parse, appear in the stored text, and bad values are named.
    @Test func theOptionsParseAndBadValuesAreNamed() throws {
        let good = try Scenario.parse("""
            name: o
            fleet: { regions: [{ name: r, clusters: [{ name: c, nodes: 1, accelerators_per_node: 1 }] }] }
            workload: { jobs: [{ name: x, submit: 0s, world_size: 1, duration: 1s }] }
            policy: { name: singularity, sla-headroom: 1h, urgent-restarts: false, best-effort: arrival }
            """, file: "o.yaml")
        #expect(good.policy.text.contains("sla-headroom: 3600s, urgent-restarts: false, best-effort: arrival"))
        #expect(throws: ScenarioError.self) {
            _ = try Scenario.parse("""
                name: o
                fleet: { regions: [{ name: r, clusters: [{ name: c, nodes: 1, accelerators_per_node: 1 }] }] }
                workload: { jobs: [{ name: x, submit: 0s, world_size: 1, duration: 1s }] }
                policy: { name: singularity, best-effort: fifo }
                """, file: "o.yaml")
        }
        do {
            _ = try Scenario.parse("""
                name: o
                fleet: { regions: [{ name: r, clusters: [{ name: c, nodes: 1, accelerators_per_node: 1 }] }] }
                workload: { jobs: [{ name: x, submit: 0s, world_size: 1, duration: 1s }] }
                policy: { name: las, sla-headroom: 1h }
                """, file: "o.yaml")
            Issue.record("las took sla-headroom")
        } catch {
            #expect("\(error)".contains("o.yaml:4"))
            #expect("\(error)".contains("takes no option 'sla-headroom'"))
        }
    }
}
