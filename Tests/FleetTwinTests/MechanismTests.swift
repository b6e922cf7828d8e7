import FleetTwinEngine
import FleetTwinFleet
import FleetTwinMetrics
import FleetTwinPolicy
import FleetTwinScenario
import FleetTwinScheduling
import Foundation
import Testing

/// A policy that replays a script, for exercising the shared mechanisms directly.
struct ScriptedPolicy: SchedulingPolicy {
    let name = "scripted"
    let placement = PlacementRule.any
    var script: [(at: VirtualTime, decision: SchedulingDecision)]
    /// Jobs other than job 0 only trigger scheduling passes; they run 1 s on cluster 2.
    var triggers: [JobIndex] = []

    /// While job 0 waits between scripted steps, the script holds every free accelerator
    /// for it (the work-conservation check accepts only reserved idle capacity).
    private(set) var reservations: [Reservation] = []
    var mainWaits = false

    mutating func jobArrived(_ job: PendingJob, at now: VirtualTime) {
        if job.index != 0 { triggers.append(job.index) } else { mainWaits = true }
    }
    mutating func jobCompleted(_ job: JobIndex, at now: VirtualTime) {}
    mutating func jobPreempted(_ job: PendingJob, at now: VirtualTime) { if job.index == 0 { mainWaits = true } }
    mutating func jobStarted(_ job: PendingJob, on run: JobRun, at now: VirtualTime) { if job.index == 0 { mainWaits = false } }

    mutating func nextDecision(at now: VirtualTime, fleet: FleetView) -> SchedulingDecision? {
        if let t = triggers.popLast() { return .start(t, cluster: 2, accelerators: 1) }
        if let next = script.first, next.at <= now {
            script.removeFirst()
            return next.decision
        }
        reservations = mainWaits ? fleet.clusters.indices.map { Reservation(job: 0, cluster: Int32($0), accelerators: fleet.clusters[$0].free.totalFree) } : []
        return nil
    }
}

@Suite struct MechanismTests {
    static let fleet = FleetSpec(
        regions: [
            RegionSpec(name: "r0", clusters: [ClusterSpec(name: "c0", nodes: 1, acceleratorsPerNode: 4, acceleratorType: "h100-80gb")]),
            RegionSpec(name: "r1", clusters: [
                ClusterSpec(name: "c1", nodes: 2, acceleratorsPerNode: 2, acceleratorType: "h100-80gb"),
                ClusterSpec(name: "c2", nodes: 1, acceleratorsPerNode: 4, acceleratorType: "h100-80gb"),
            ]),
        ],
        profiles: AcceleratorProfile.builtIn)

    static func job(_ name: String, at t: Int64, size: Int, work: Int64) -> JobSpec {
        JobSpec(name: name, submit: .seconds(t), tier: .standard, worldSize: size, acceleratorType: "h100-80gb", work: .seconds(work))
    }

    /// Job 0 (100 s of work, world size 4, no state) is preempted, resumed on 2 devices
    /// (time-sliced), grown back to 4, then migrated to another region. With no state to
    /// move, every mechanism costs only its consistent cut: 2 steps of the default 1 s.
    ///
    ///     0   start 4 on c0                        rate 1
    ///     10  preempt; cut at 12 (12 s banked)      released at 12
    ///     20  start 2 on c0                         rate 1 / (2 x 1.03)
    ///     30  grow to 4; cut after 2 sliced steps = 4.12 s: (34.12 - 20) / 2.06 = 6.854369 s banked
    ///     40  migrate to c1; cut at 42 (7.88 s banked); source released at 42
    ///     end 42 + (100 - 12 - 6.854369 - 7.88) = 115.265631 s
    @Test func preemptResizeAndMigrateKeepProgress() async throws {
        let policy = ScriptedPolicy(script: [
            (.zero, .start(0, cluster: 0, accelerators: 4)),
            (.seconds(Int64(10)), .preempt(0)),
            (.seconds(Int64(20)), .start(0, cluster: 0, accelerators: 2)),
            (.seconds(Int64(30)), .resize(0, accelerators: 4)),
            (.seconds(Int64(40)), .migrate(0, toCluster: 1)),
        ])
        let jobs = [Self.job("main", at: 0, size: 4, work: 100)] + (1...4).map { Self.job("t\($0)", at: Int64($0) * 10, size: 1, work: 1) }
        let result = try await FleetSimulation(SimulationConfiguration(
            fleet: Self.fleet, jobs: jobs, policy: policy, checkInvariants: true)).run()

        let main = result.log.records.filter { $0.job == 0 }
        let kinds: [EventKind] = [.submitted, .started, .preempted, .released, .started, .resized, .migrated, .started, .released, .completed]
        #expect(main.map(\.kind) == kinds)
        #expect(main.filter { $0.kind == .started }.map(\.accelerators) == [4, 2, 4])
        #expect(main.filter { $0.kind == .started }.map(\.cluster) == [0, 0, 1])
        #expect(main.filter { $0.kind == .released }.map(\.time) == [seconds(12), seconds(42)])
        #expect(main.first { $0.kind == .preempted }?.progress == 12_000_000)
        let banked = main.map(\.progress).reduce(0, +)
        #expect(banked == 100_000_000, "work is conserved")
        let end = try #require(main.last?.time.microseconds)
        #expect(abs(end - 115_265_631) <= 2)
        let metrics = RunMetrics.fold(result)
        #expect(metrics.jobs[0].starts == 3)
        #expect(metrics.preemptions == 1 && metrics.migrations == 1 && metrics.resizes == 1)
        #expect(metrics.jobsCompleted == 5)
    }

    @Test func decisionsAgainstTheRulesAreRefused() async throws {
        let policy = ScriptedPolicy(script: [(.zero, .start(0, cluster: 0, accelerators: 8))])
        let simulation = try FleetSimulation(SimulationConfiguration(
            fleet: Self.fleet, jobs: [Self.job("main", at: 0, size: 8, work: 10)], policy: policy))
        await #expect(throws: SimulationError.self) { try await simulation.run() }
    }

    @Test func startingARunningJobIsRefused() async throws {
        let policy = ScriptedPolicy(script: [
            (.zero, .start(0, cluster: 0, accelerators: 4)),
            (.seconds(Int64(10)), .start(0, cluster: 2, accelerators: 4)),
        ])
        let simulation = try FleetSimulation(SimulationConfiguration(
            fleet: Self.fleet, jobs: [Self.job("main", at: 0, size: 4, work: 100), Self.job("t", at: 10, size: 1, work: 1)],
            policy: policy))
        await #expect(throws: SimulationError.invalidDecision("job 0 is not waiting to start")) { try await simulation.run() }
    }

    @Test func anAcceleratorRefusesASecondHolder() async throws {
        let accelerator = Accelerator(id: 7, profile: .h100, executor: SimulationExecutor())
        try await accelerator.assign(to: 1)
        await #expect(throws: AllocationError.doubleAllocation(accelerator: 7, holder: 1, requester: 2)) {
            try await accelerator.assign(to: 2)
        }
        await #expect(throws: AllocationError.notHeld(accelerator: 7, holder: 1, releaser: 3)) {
            try await accelerator.release(from: 3)
        }
    }
}

@Suite struct InvariantTests {
    /// Every shipped scenario runs clean with the invariant checker after every event.
    @Test func quickstartHoldsEveryInvariant() async throws {
        let scenario = try Scenario.load(path: repositoryRoot.appendingPathComponent("Scenarios/quickstart.yaml").path)
        let result = try await runScenario(scenario, check: true)
        let metrics = RunMetrics.fold(result)
        #expect(metrics.jobsCompleted == metrics.jobsSubmitted)
        #expect(metrics.utilization > 0 && metrics.utilization <= 1)
        #expect(metrics.utilizationSeries.allSatisfy { $0.utilization >= 0 && $0.utilization <= 1 + 1e-9 })
    }

    /// A job started and preempted over and over is a thrash: `--check` fails the run at the
    /// 11th stop within a minute (ten pass), whichever policy does it.
    @Test func aJobStoppedOverAndOverIsAThrash() async throws {
        func run(cycles: Int) async throws -> SimulationResult {
            var script: [(at: VirtualTime, decision: SchedulingDecision)] = []
            for k in 0..<cycles {
                script.append((.seconds(Int64(5 * k)), .start(0, cluster: 0, accelerators: 4)))
                script.append((.seconds(Int64(5 * k + 2)), .preempt(0)))
            }
            script.append((.seconds(Int64(5 * cycles)), .start(0, cluster: 0, accelerators: 4)))
            let triggers = script.map(\.at).filter { $0 > .zero }.enumerated().map { MechanismTests.job("t\($0.offset)", at: $0.element.microseconds / 1_000_000, size: 1, work: 1) }
            return try await FleetSimulation(SimulationConfiguration(
                fleet: MechanismTests.fleet, jobs: [MechanismTests.job("main", at: 0, size: 4, work: 100)] + triggers,
                policy: ScriptedPolicy(script: script), mechanisms: MechanismSettings.defaults.free, checkInvariants: true)).run()
        }
        let ten = try await run(cycles: 10)
        #expect(ten.log.records.filter { $0.job == 0 && $0.kind == .preempted }.count == 10)
        await #expect(throws: SimulationError.self) { _ = try await run(cycles: 11) }
        do {
            _ = try await run(cycles: 11)
        } catch {
            #expect("\(error)".contains("policy scripted stopped job 0 11 times within 1m") && "\(error)".contains("a thrash"), "\(error)")
        }
    }

    @Test func horizonStopsTheRunAndCountsUnfinishedJobs() async throws {
        var scenario = try Scenario.load(path: repositoryRoot.appendingPathComponent("Scenarios/quickstart.yaml").path)
        scenario.horizon = .seconds(Int64(3 * 3600))
        let result = try await runScenario(scenario, check: true)
        #expect(result.horizonReached)
        #expect(result.endTime == .seconds(Int64(3 * 3600)))
        let metrics = RunMetrics.fold(result)
        #expect(metrics.jobsCompleted < metrics.jobsSubmitted)
    }
}

/// `restart_cost`: peer simulators' flat restart pause in place of FleetTwin's costs.
@Suite struct RestartCostCompatTests {
    /// 10 GiB of state would cost seconds to dump and restore; with a flat 30 s restart,
    /// dumps are free and every start and resize pauses exactly 30 s.
    ///
    ///     0    start on 4      progress from 30
    ///     50   preempt         20 s banked, released at once
    ///     60   start on 4      progress from 90
    ///     120  shrink to 2     30 s banked (50 in all), progress from 150 at 1 / (2 x 1.03)
    ///     end  150 + 50 x 2.06 = 253 s
    @Test func aFlatPauseReplacesTheCheckpointPath() async throws {
        var mechanisms = MechanismSettings.defaults
        mechanisms.cutSteps = 0
        mechanisms.restartCost = .flat(.seconds(Int64(30)))
        var main = MechanismTests.job("main", at: 0, size: 4, work: 100)
        main.stateBytes = 10 << 30
        let jobs = [main] + [50, 60, 120].map { MechanismTests.job("t\($0)", at: $0, size: 1, work: 1) }
        let policy = ScriptedPolicy(script: [
            (.zero, .start(0, cluster: 0, accelerators: 4)),
            (.seconds(Int64(50)), .preempt(0)),
            (.seconds(Int64(60)), .start(0, cluster: 0, accelerators: 4)),
            (.seconds(Int64(120)), .resize(0, accelerators: 2)),
        ])
        let result = try await FleetSimulation(SimulationConfiguration(
            fleet: MechanismTests.fleet, jobs: jobs, policy: policy, mechanisms: mechanisms, checkInvariants: true)).run()
        let m = RunMetrics.fold(result)
        #expect(abs(m.jobs[0].end!.seconds - 253) < 1e-3, "\(m.jobs[0].end!.seconds)")
        let released = result.log.records.filter { $0.job == 0 && $0.kind == .released }.map(\.time)
        #expect(released.first == .seconds(Int64(50)), "the dump took no time")
    }

    @Test func replayTakesARestartCost() throws {
        let dir = try temporaryDirectory()
        let db = dir.appendingPathComponent("r.sqlite").path
        let bad = try runFleettwin(["replay", fixture("traces/small.jsonl"), "--fleet", fixture("fifo-hand.yaml"), "--restart-cost", "soon", "--db", db])
        #expect(bad.status != 0 && bad.stderr.contains("--restart-cost must be a duration such as 30s or 1m, or compat; found 'soon'"), "\(bad.stderr)")
        let ok = try runFleettwin(["replay", fixture("traces/small.jsonl"), "--fleet", fixture("fifo-hand.yaml"), "--restart-cost", "30s",
                                   "--json", "--db", db])
        #expect(ok.status == 0, "\(ok.stderr)")
        let plain = try runFleettwin(["replay", fixture("traces/small.jsonl"), "--fleet", fixture("fifo-hand.yaml"), "--json", "--db", db])
        let a = try jsonObject(ok), b = try jsonObject(plain)
        // Every start now pauses 30 s: the makespan grows.
        #expect((a["makespan"] as? Double ?? 0) > (b["makespan"] as? Double ?? 0))
    }

    /// Lucid's Tiresias port: 40 s for a gang of up to 8 GPUs, 60 s above; the pause replaces
    /// every restore and resize, and dumps cost nothing.
    @Test func aPauseByGangSize() {
        var settings = MechanismSettings.defaults
        settings.restartCost = .byGang(gangLimits: [8], pauses: [.seconds(Int64(40)), .seconds(Int64(60))])
        let costs = MechanismCosts(fleet: MechanismTests.fleet, settings: settings)
        var small = MechanismTests.job("small", at: 0, size: 8, work: 100), large = MechanismTests.job("large", at: 0, size: 9, work: 100)
        small.stateBytes = 10 << 30
        large.stateBytes = 10 << 30
        #expect(costs.startTime(small, dumpsSoFar: 0, cluster: 0) == .seconds(Int64(40)))
        #expect(costs.startTime(large, dumpsSoFar: 3, cluster: 0) == .seconds(Int64(60)))
        #expect(costs.resizeTime(large, grow: true) == .seconds(Int64(60)))
        #expect(costs.resizeTime(small, grow: false) == .seconds(Int64(40)))
        #expect(costs.dumpTime(bytes: 10 << 30, cluster: 0) == .zero)
        // Three tiers: the first limit that holds the gang decides.
        let tiers = RestartCost.byGang(gangLimits: [1, 4], pauses: [.seconds(Int64(1)), .seconds(Int64(2)), .seconds(Int64(3))])
        #expect([1, 2, 4, 5, 64].map { tiers.pause(worldSize: $0) } == [1, 2, 2, 3, 3].map { VirtualTime.seconds(Int64($0)) })
        #expect(RestartCost.compat.pause(worldSize: 4) == nil)
    }

    /// `compat` charges what each policy's original simulator charges (research/policies.md):
    /// nothing at all for Tiresias' and Gavel's, 30 s for Pollux's Optimus, FleetTwin's own
    /// mechanisms where there is no other original.
    @Test func compatResolvesPerPolicy() {
        var settings = MechanismSettings.defaults
        settings.restartCost = .compat
        for free in ["fifo", "las", "srtf", "dlas-gpu-gittins", "gandiva", "afs", "gavel-las", "gavel-ftf"] {
            let r = settings.resolved(for: free)
            #expect(!r.chargesCosts && r.restartCost == nil && r.splicingOverhead == 0 && r.cutSteps == 0, "\(free)")
        }
        #expect(settings.resolved(for: "optimus").restartCost == .flat(.seconds(Int64(30))))
        #expect(settings.resolved(for: "optimus").chargesCosts)
        for own in ["singularity", "slurm", "fair-share", "external"] {
            #expect(settings.resolved(for: own) == MechanismSettings.defaults, "\(own)")
        }
        // Anything but compat is kept as given.
        var flat = MechanismSettings.defaults
        flat.restartCost = .flat(.seconds(Int64(20)))
        #expect(flat.resolved(for: "las") == flat)
    }

    /// A JSON value as text with a dictionary's keys sorted, for comparing.
    static func canonical(_ value: Any?) -> String {
        guard let dictionary = value as? [String: Any] else { return "\(value ?? "-")" }
        return dictionary.keys.sorted().map { "\($0)=\(canonical(dictionary[$0]))" }.joined(separator: ",")
    }

    /// On a replay, `--restart-cost compat` gives exactly what the original's charge gives:
    /// `--no-overheads` under `las`, a flat 30 s under `optimus`; the scenario text says so.
    @Test func replayCompatEqualsTheOriginalsCharge() throws {
        let dir = try temporaryDirectory()
        let db = dir.appendingPathComponent("r.sqlite").path
        func replay(_ policy: String, _ extra: [String]) throws -> [String: Any] {
            let out = try runFleettwin(["replay", fixture("traces/small.jsonl"), "--fleet", fixture("fifo-hand.yaml"),
                                        "--policy", policy, "--json", "--db", db] + extra)
            #expect(out.status == 0, "\(out.stderr)")
            return try jsonObject(out)
        }
        for (policy, original) in [("las", ["--no-overheads"]), ("optimus", ["--restart-cost", "30s"])] {
            let compat = try replay(policy, ["--restart-cost", "compat"]), same = try replay(policy, original), own = try replay(policy, [])
            for key in ["eventLogHash", "makespan", "jct", "utilization"] {
                #expect(compat[key] != nil, "\(key)")
                #expect(Self.canonical(compat[key]) == Self.canonical(same[key]), "\(policy) \(key)")
            }
            // These stateless jobs cost FleetTwin nothing to start; Pollux's 30 s is felt.
            if policy == "optimus" { #expect("\(compat["makespan"] ?? "-")" != "\(own["makespan"] ?? "-")") }
        }
    }
}
