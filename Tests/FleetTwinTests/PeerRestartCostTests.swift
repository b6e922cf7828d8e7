import FleetTwinEngine
import FleetTwinFleet
import FleetTwinMetrics
import FleetTwinPolicy
@testable import FleetTwinScenario
import FleetTwinScheduling
import FleetTwinTraces
import Testing

/// A policy that starts jobs 0 and 1 (2 devices each, cluster 0) as they arrive and counts
/// one scheduling event per pass at every multiple of `every` up to `last`, the hook a
/// per-event cost (`RestartCost.elasticFlowEvents`) charges by.
private struct EventCountingPolicy: SchedulingPolicy {
    let name = "event-counting"
    let placement = PlacementRule.any
    var every: VirtualTime
    var last: VirtualTime
    var waiting: [JobIndex] = []
    var counted: VirtualTime?
    private(set) var schedulingEvents: [Int] = [0]

    mutating func jobArrived(_ job: PendingJob, at now: VirtualTime) { waiting.append(job.index) }
    mutating func jobCompleted(_ job: JobIndex, at now: VirtualTime) {}
    mutating func jobPreempted(_ job: PendingJob, at now: VirtualTime) {}

    mutating func nextDecision(at now: VirtualTime, fleet: FleetView) -> SchedulingDecision? {
        if counted != now, now <= last, now.microseconds % every.microseconds == 0 {
            counted = now
            schedulingEvents[0] += 1
        }
        if !waiting.isEmpty { return .start(waiting.removeFirst(), cluster: 0, accelerators: 2) }
        return nil
    }

    func wakeup(after now: VirtualTime) -> VirtualTime? {
        let next = VirtualTime(microseconds: (now.microseconds / every.microseconds + 1) * every.microseconds)
        return next <= last ? next : nil
    }
}

/// `restart_cost: compat` for `sia` and `elasticflow`: what their original simulators charge
/// (research/policies.md sections 12 and 15).
@Suite struct PeerRestartCostTests {
    @Test func compatResolvesToSiasAndElasticFlowsCharges() {
        var settings = MechanismSettings.defaults
        settings.restartCost = .compat
        #expect(settings.resolved(for: "sia").restartCost == .sia)
        #expect(settings.resolved(for: "elasticflow").restartCost == .elasticFlowEvents)
        #expect(settings.resolved(for: "sia").chargesCosts && settings.resolved(for: "elasticflow").chargesCosts)
    }

    /// Sia's simulator's `rescale_time` by application (`applications.py`), not its policy's
    /// penalties (yolov3 80 s, not 45; cifar10 50 s, not 30); a ResNet-50 is its imagenet (250
    /// s, as the policy assumes); anything else 30 s.
    @Test func siaChargesByApplication() {
        let expected: [(String?, Int64)] = [("cifar10", 50), ("deepspeech2", 25), ("bert", 120), ("yolov3", 80), ("imagenet", 250),
                                            ("ncf", 15), ("resnet50", 250), ("resnet-50", 250), ("gpt_pmp", 30), (nil, 30)]
        for (application, seconds) in expected {
            #expect(RestartCost.sia.pause(worldSize: 4, application: application) == .seconds(seconds), "\(application ?? "nil")")
        }
        var settings = MechanismSettings.defaults
        settings.restartCost = .sia
        let costs = MechanismCosts(fleet: MechanismTests.fleet, settings: settings)
        var job = MechanismTests.job("yolo", at: 0, size: 4, work: 100)
        job.application = "yolov3"
        job.stateBytes = 10 << 30
        #expect(costs.startTime(job, dumpsSoFar: 0, cluster: 0) == .seconds(Int64(80)))
        #expect(costs.resizeTime(job, grow: false) == .seconds(Int64(80)))
        #expect(costs.dumpTime(bytes: 10 << 30, cluster: 0) == .zero)
    }

    /// Job 0 trains `bert` (120 s under Sia's simulator), 100 s of work on 4 devices:
    ///
    ///     0    start on 4      progress from 120
    ///     150  preempt         30 s banked; the suspension is free: released at 150
    ///     160  start on 4      progress from 280
    ///     300  shrink to 2     20 s banked (50 in all), progress from 420 at 1 / (2 x 1.03)
    ///     end  420 + 50 x 2.06 = 523 s
    @Test func siaPausesAtEveryStartAndResize() async throws {
        var mechanisms = MechanismSettings.defaults
        mechanisms.cutSteps = 0
        mechanisms.restartCost = .sia
        var main = MechanismTests.job("main", at: 0, size: 4, work: 100)
        main.application = "bert"
        let jobs = [main] + [150, 160, 300].map { MechanismTests.job("t\($0)", at: $0, size: 1, work: 1) }
        let policy = ScriptedPolicy(script: [
            (.zero, .start(0, cluster: 0, accelerators: 4)),
            (.seconds(Int64(150)), .preempt(0)),
            (.seconds(Int64(160)), .start(0, cluster: 0, accelerators: 4)),
            (.seconds(Int64(300)), .resize(0, accelerators: 2)),
        ])
        let result = try await FleetSimulation(SimulationConfiguration(
            fleet: MechanismTests.fleet, jobs: jobs, policy: policy, mechanisms: mechanisms, checkInvariants: true)).run()
        let m = RunMetrics.fold(result)
        #expect(abs(m.jobs[0].end!.seconds - 523) < 1e-3, "\(m.jobs[0].end!.seconds)")
        #expect(result.log.records.first { $0.job == 0 && $0.kind == .released }?.time == .seconds(Int64(150)))
        // The trigger jobs name no application: 30 s each.
        #expect(abs(m.jobs[1].end!.seconds - 181) < 1e-3, "\(m.jobs[1].end!.seconds)")
    }

    /// A trace job's `workload` is the application Sia's charge is looked up by.
    @Test func aTraceJobsWorkloadIsItsApplication() {
        var named = TraceJob(id: "a", submit: 0, worldSize: 1, duration: 10, acceleratorType: "h100-80gb", workload: "imagenet")
        named.deadline = nil
        let any = TraceJob(id: "b", submit: 1, worldSize: 1, duration: 10, workload: "ncf")
        let trace = TraceWorkload(path: "t.jsonl", header: TraceHeader(name: "t", source: "test"), jobs: [named, any],
                                  windowFrom: nil, windowTo: nil, limit: nil, timeScale: 1, tiers: nil, defaultType: nil)
        let jobs = trace.select(seed: 1, fleet: MechanismTests.fleet).jobs
        #expect(jobs.map(\.application) == ["imagenet", "ncf"])
    }

    /// EF's `utils.py::estimate_overhead`: 2 s, and for a rank set not cached + 2 (log2 g + 1)
    /// s, + 27 s on a restart event; 7 s and + 47 s in a cluster of 256 GPUs or more.
    @Test func elasticFlowsOverheadFormula() {
        func seconds(_ g: Int, _ cluster: Int, restart: Bool, cached: Bool) -> Double {
            RestartCost.elasticFlowOverhead(devices: g, clusterDevices: cluster, restart: restart, cached: cached).seconds
        }
        #expect(seconds(1, 128, restart: false, cached: false) == 4)
        #expect(seconds(8, 128, restart: true, cached: false) == 37)
        #expect(seconds(8, 128, restart: true, cached: true) == 2)
        #expect(seconds(4, 256, restart: true, cached: false) == 60)
        #expect(seconds(4, 256, restart: false, cached: true) == 7)
        #expect(abs(seconds(3, 128, restart: false, cached: false) - (4 + 2 * 1.584963)) < 1e-5)
        #expect([0, 1, 59, 60, 61, 120].map { RestartCost.elasticFlowRestarts(atEvent: $0) } == [false, false, false, true, false, true])
    }

    /// Events every 10 s from 0 to 610 (event numbers 0 to 61). Job 0 (1,000 s of work on
    /// 2 devices, slots 0-1) starts at 0; job 1 (100 s, slots 2-3) arrives at 600.
    ///
    ///     0     event 0: job 0's ranks are new: 2 + 2 (log2 2 + 1) = 6 s, progress from 6
    ///     10    event 1: cached, 2 s (4 s banked)
    ///     20-590  events 2-59: 2 s each, 8 s banked each (4 + 58 x 8 = 468 by 590)
    ///     600   event 60, a restart: job 0 cached, 2 s (476 banked); job 1 new: 2 + 27 + 4 =
    ///           33 s; the cache is emptied
    ///     610   event 61: both uncached again: 6 s each; job 0 banks 8 (484), job 1 none
    ///           (its restart pause is cut short, as EF drops it), both progress from 616
    ///     ends  job 0: 616 + 516 = 1,132 s; job 1: 616 + 100 = 716 s
    @Test func elasticFlowPausesEveryRunningJobAtEveryEvent() async throws {
        var mechanisms = MechanismSettings.defaults
        mechanisms.restartCost = .elasticFlowEvents
        let jobs = [MechanismTests.job("long", at: 0, size: 2, work: 1000), MechanismTests.job("late", at: 600, size: 2, work: 100)]
        let policy = EventCountingPolicy(every: .seconds(Int64(10)), last: .seconds(Int64(610)))
        let result = try await FleetSimulation(SimulationConfiguration(
            fleet: MechanismTests.fleet, jobs: jobs, policy: policy, mechanisms: mechanisms, checkInvariants: true)).run()
        let m = RunMetrics.fold(result)
        #expect(m.jobs[0].end == .seconds(Int64(1132)), "\(m.jobs[0].end!.seconds)")
        #expect(m.jobs[1].end == .seconds(Int64(716)), "\(m.jobs[1].end!.seconds)")
        let pauses = result.log.records.filter { $0.kind == .paused }
        #expect(pauses.count == 62 + 2)
        let late = pauses.filter { $0.job == 1 }.map { Double($0.overhead) / 1e6 }
        #expect(late == [33, 6])
        let first = pauses.filter { $0.job == 0 }.prefix(2).map { Double($0.overhead) / 1e6 }
        #expect(first == [6, 2])
        // The pauses are the resize overhead in the metrics: 6 + 60 x 2 + 6 + 33 + 6.
        #expect(abs(m.overheadSeconds.resize - 171) < 1e-6, "\(m.overheadSeconds.resize)")
    }
}
