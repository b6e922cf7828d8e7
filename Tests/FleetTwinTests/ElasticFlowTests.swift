import FleetTwinEngine
import FleetTwinFleet
import FleetTwinMetrics
import FleetTwinPolicy
import FleetTwinScenario
import FleetTwinScheduling
import FleetTwinTraces
import Foundation
import Testing

/// ElasticFlow's deadline-aware admission (`elasticflow`), deadlines in traces and scenarios,
/// and declined jobs as a run's outcome.
///
/// Golden cases E1 and E2 (research/policies.md section 15): 1 node x 4 GPUs, resnet50 at
/// batch 64 running 6.84 / 11.84 / 18.30 iterations/s on 1 / 2 / 4 GPUs, slot 60 s. Work is
/// time at full size (4 GPUs), so a job of I iterations carries I / 18.30 s. EF's own
/// simulator (pkusys/ElasticFlow 04a0109, run in a scratch copy) ends E1's jobs at 722 / 904 /
/// 4086 s and E2's at 672 / 3854 s; with its per-event overhead (`utils.estimate_overhead`)
/// set to 0 it ends them at 720 / 900 / 4080 and 670 / 3850: it completes a job at its plan's
/// slot-aligned end (`end_time`), the job keeping its GPUs to the end of the slot. FleetTwin
/// completes a job when its work is done and hands its devices on at once (and charges its
/// own mechanism costs, none here), so its ends are earlier; the decisions are EF's: all
/// three admitted in E1 with J2 on 2 GPUs, J2 declined in E2, the same shares at every step.
@Suite struct ElasticFlowTests {
    static let speedup = [6.84, 11.84, 15.0, 18.30]  // 3 GPUs is no EF level: unused
    static func work(_ iterations: Double) -> Double { iterations / 18.30 }

    static func job(_ name: String, at submit: Double, iterations: Double, deadline: Double?) -> JobSpec {
        var j = JobSpec(name: name, submit: .seconds(submit), tier: .standard, worldSize: 4, acceleratorType: "h100-80gb",
                        work: .seconds(work(iterations)))
        j.elasticSpeedup = speedup
        j.deadline = deadline.map { .seconds($0) }
        return j
    }

    static let fleet = FleetSpec(regions: [RegionSpec(name: "r", clusters: [
        ClusterSpec(name: "c", nodes: 1, acceleratorsPerNode: 4, acceleratorType: "h100-80gb"),
    ])], profiles: AcceleratorProfile.builtIn)

    /// Under EF's accounting: every mechanism free; every check on.
    static func run(_ jobs: [JobSpec], options: PolicyOptions = PolicyOptions()) async throws -> SimulationResult {
        let policy = PolicyRegistry.named("elasticflow")!.make(options: options)
        return try await FleetSimulation(SimulationConfiguration(
            fleet: fleet, jobs: jobs, policy: policy, mechanisms: MechanismSettings.defaults.free, checkInvariants: true)).run()
    }

    static func devices(_ r: SimulationResult, job: Int32, at t: Double) -> [Int32] {
        r.log.records.filter { $0.job == job && abs($0.time.seconds - t) < 1e-6 && ($0.kind == .started || $0.kind == .resized) }.map(\.accelerators)
    }

    static let e1 = [job("j0", at: 0, iterations: 65_876, deadline: 4_320), job("j1", at: 60, iterations: 6_843, deadline: 1_560),
                     job("j2", at: 120, iterations: 6_843, deadline: 700)]
    static let e2 = [e1[0], e1[1], job("j2", at: 130, iterations: 6_843, deadline: 400)]

    /// The planner alone, as EF plans at t = 60 of E1: J1 (deadline 1,560) first needs only 1
    /// GPU to 1,080 (1,000.4 s, rounded up to a slot); J0 then needs level 4, which the 3
    /// free GPUs before 1,080 cap at 2, then 4 to its end.
    @Test func minimumShareWalksBackFromTheDeadline() {
        let s = 1_000_000.0, now: Int64 = 60_000_000
        let rates = [6.84, 11.84, 18.30].map { $0 / 18.30 }
        let j1 = ElasticFlowJob(levels: [1, 2, 4], rates: rates, remaining: Self.work(6_843) * s, deadline: 1_560_000_000)
        let j0 = ElasticFlowJob(levels: [1, 2, 4], rates: rates, remaining: (Self.work(65_876) - 60) * s, deadline: 4_320_000_000)
        var line = FreeTimeline(now: now, total: 4)
        let p1 = ElasticFlowPlanner.plan(j1, on: &line, now: now, slot: 60_000_000, total: 4)
        #expect(p1.steps == [.init(at: now, devices: 1)] && p1.end == 1_080_000_000 && p1.meets)
        #expect(abs(Double(p1.realEnd) / s - (60 + 6_843 / 6.84)) < 1e-5)
        #expect(line.times == [now, 1_080_000_000] && line.free == [3, 4])
        let p0 = ElasticFlowPlanner.plan(j0, on: &line, now: now, slot: 60_000_000, total: 4)
        #expect(p0.steps == [.init(at: now, devices: 2), .init(at: 1_080_000_000, devices: 4)] && p0.meets)
        // 1,020 s on 2 GPUs, the rest on 4; the end rounded up to a slot from 1,080.
        let rest = (65_876 - 60 * 18.30 - 1_020 * 11.84) / 18.30
        #expect(abs(Double(p0.realEnd) / s - (1_080 + rest)) < 1e-5)
        #expect(p0.end == 1_080_000_000 + Int64((rest / 60).rounded(.up)) * 60_000_000)
        // A deadline no level meets: the largest level free throughout, and a miss.
        var fresh = FreeTimeline(now: 0, total: 4)
        let late = ElasticFlowPlanner.plan(ElasticFlowJob(levels: [1, 2, 4], rates: rates, remaining: 400 * s, deadline: 300_000_000),
                                           on: &fresh, now: 0, slot: 60_000_000, total: 4)
        #expect(!late.meets && late.steps == [.init(at: 0, devices: 4)] && late.realEnd == 400_000_000 && late.end == 420_000_000)
    }

    /// E1: all three admitted; J2 (deadline 700) takes 2 GPUs at 120, J1 and J0 shrink to 1
    /// each; J1 gets the spare GPU at 60 and again when J2 ends. Satisfaction ratio 1.
    @Test func goldenE1() async throws {
        let r = try await Self.run(Self.e1)
        let m = RunMetrics.fold(r)
        #expect(r.log.records.allSatisfy { $0.kind != .declined })
        #expect(Self.devices(r, job: 0, at: 0) == [4] && Self.devices(r, job: 1, at: 60) == [2] && Self.devices(r, job: 0, at: 60) == [2])
        #expect(Self.devices(r, job: 2, at: 120) == [2] && Self.devices(r, job: 1, at: 120) == [1] && Self.devices(r, job: 0, at: 120) == [1])
        let f1 = 6.84 / 18.30, f2 = 11.84 / 18.30
        let w0 = Self.work(65_876), w1 = Self.work(6_843), w2 = Self.work(6_843)
        let end2 = 120 + w2 / f2                                    // 697.96 (EF: 722; 720 without its overhead)
        let end1 = end2 + (w1 - 60 * f2 - (end2 - 120) * f1) / f2   // 882.03 (EF: 904; 900)
        let end0 = end1 + (w0 - 60 - 60 * f2 - (end2 - 120) * f1 - (end1 - end2) * f2)  // 4,047.87 (EF: 4,086; 4,080)
        for (k, expected) in [end0, end1, end2].enumerated() {
            #expect(abs(m.jobs[k].end!.seconds - expected) < 1e-3, "job \(k): \(m.jobs[k].end!.seconds) s, expected \(expected) s")
        }
        #expect(m.deadlines == DeadlineMetrics(jobs: 3, declined: 0, accepted: 3, satisfactionRatio: 1, completed: 3, met: 3))
    }

    /// E2: J2 (deadline 400, arriving at 130) needs 374 s even on 4 GPUs and is declined: it
    /// never runs, the run ends with it finished by that decision. Ratio 2 / 3.
    @Test func goldenE2() async throws {
        let r = try await Self.run(Self.e2)
        let m = RunMetrics.fold(r)
        let declined = r.log.records.filter { $0.kind == .declined }
        #expect(declined.map(\.job) == [2] && declined[0].time == .seconds(Int64(130)))
        #expect(r.log.records.allSatisfy { $0.job != 2 || $0.kind == .submitted || $0.kind == .declined })
        let f2 = 11.84 / 18.30
        let end1 = 60 + Self.work(6_843) / f2                        // 637.96 (EF: 672; 670)
        let end0 = end1 + Self.work(65_876) - 60 - (end1 - 60) * f2  // 3,803.80 (EF: 3,854; 3,850)
        #expect(abs(m.jobs[1].end!.seconds - end1) < 1e-3 && abs(m.jobs[0].end!.seconds - end0) < 1e-3)
        #expect(m.jobs[2].end == nil && m.stillWaiting == 0 && m.stillRunning == 0 && m.jobsCompleted == 2)
        let d = try #require(m.deadlines)
        #expect(d.accepted == 2 && d.declined == 1 && d.met == 2 && abs(d.satisfactionRatio - 2.0 / 3) < 1e-12)
    }

    /// A longer slot rounds deadlines and ends further: E2's J2 is still declined, and
    /// nothing else changes the admission.
    @Test func slotIsAnOption() async throws {
        var options = PolicyOptions()
        options.slotSeconds = 240
        let r = try await Self.run(Self.e2, options: options)
        #expect(r.log.records.filter { $0.kind == .declined }.map(\.job) == [2])
        #expect(RunMetrics.fold(r).jobsCompleted == 2)
    }

    /// A job without a deadline is best effort: admitted even when deadline jobs fill the
    /// cluster, it runs on what they leave and completes.
    @Test func bestEffortIsNeverDeclined() async throws {
        let jobs = [Self.job("tight", at: 0, iterations: 65_876, deadline: 3_700), Self.job("be", at: 10, iterations: 6_843, deadline: nil)]
        let r = try await Self.run(jobs)
        let m = RunMetrics.fold(r)
        #expect(m.jobsCompleted == 2 && r.log.records.allSatisfy { $0.kind != .declined })
        #expect(m.jobs[1].end! > m.jobs[0].end!)  // it waited for the deadline job
        #expect(m.deadlines == DeadlineMetrics(jobs: 1, declined: 0, accepted: 1, satisfactionRatio: 1, completed: 1, met: 1))
    }

    /// Random jobs with random deadlines on random fleets, with every check on (work
    /// conservation, hysteresis, invariants): every job completes or is declined, and the
    /// same input gives the same event log twice.
    @Test func randomDeadlinesAreLiveAndDeterministic() async throws {
        var declines = 0, completions = 0
        for trial in 0..<4 {
            var g = SeededGenerator(seed: 7, stream: "elasticflow-property", index: UInt64(trial))
            let fleet = FleetSpec(regions: [RegionSpec(name: "r", clusters: (0..<Int.random(in: 1...2, using: &g)).map {
                ClusterSpec(name: "c\($0)", nodes: Int.random(in: 1...2, using: &g), acceleratorsPerNode: [2, 4, 8][Int.random(in: 0..<3, using: &g)],
                            acceleratorType: "h100-80gb")
            })], profiles: AcceleratorProfile.builtIn)
            var t = 0.0
            let jobs = (0..<Int.random(in: 8...20, using: &g)).map { k -> JobSpec in
                t += Double(Int.random(in: 0...300, using: &g))
                let w = [1, 2, 4][Int.random(in: 0..<3, using: &g)]
                var j = JobSpec(name: "j\(k)", submit: .seconds(t), tier: .standard, worldSize: w, acceleratorType: "h100-80gb",
                                work: .seconds(Double(Int.random(in: 60...5_000, using: &g))), stateBytes: Int64(Int.random(in: 0...2, using: &g)) << 30)
                if Bool.random(using: &g) { j.elasticSpeedup = (1...w).map { pow(Double($0), 0.8) } }
                if Int.random(in: 0..<4, using: &g) > 0 { j.deadline = j.submit + .seconds(j.work.seconds * Double.random(in: 0.5...4, using: &g)) }
                return j
            }
            func once() async throws -> SimulationResult {
                try await FleetSimulation(SimulationConfiguration(fleet: fleet, jobs: jobs, policy: PolicyRegistry.named("elasticflow")!.make(),
                                                                  checkInvariants: true)).run()
            }
            let a = try await once(), b = try await once()
            #expect(a.log.hash == b.log.hash, "trial \(trial)")
            let ended = a.log.records.filter { $0.kind == .completed || $0.kind == .declined }.map(\.job)
            #expect(ended.sorted() == (0..<Int32(jobs.count)).map { $0 }, "trial \(trial)")
            #expect(a.log.records.filter { $0.kind == .declined }.allSatisfy { jobs[Int($0.job)].deadline != nil })
            declines += a.log.records.filter { $0.kind == .declined }.count
            completions += a.log.records.filter { $0.kind == .completed }.count
        }
        #expect(declines > 0 && completions > declines, "\(declines) declined, \(completions) completed")
    }

    /// Deadlines in a scenario: an instant like submit, after it; a generator's
    /// deadline_factor sets submit + factor x work. Bad values name their line and key.
    @Test func scenarioDeadlines() throws {
        func scenario(_ jobs: String) throws(ScenarioError) -> Scenario {
            try Scenario.parse("""
                fleet:
                  regions:
                    - name: r
                      clusters:
                        - { name: c, nodes: 1, accelerators_per_node: 4, type: h100-80gb }
                policy: { name: elasticflow, slot: 2m }
                workload:
                \(jobs)
                """, file: "d.yaml")
        }
        let listed = try scenario("""
              jobs:
                - { name: a, submit: 1m, world_size: 2, duration: 10m, speedup: [1, 1.8], deadline: 30m }
                - { name: b, world_size: 1, duration: 10m }
            """)
        #expect(listed.jobs(seed: 1).map(\.deadline) == [.seconds(Int64(1800)), nil])
        #expect(listed.policy.options.slotSeconds == 120 && listed.policy.text.contains("slot: 120s"))
        let generated = try scenario("""
              generator: { jobs: 5, arrivals: { poisson: { per_hour: 60 } }, world_size: { choices: [1] }, duration: { fixed: 10m }, deadline_factor: 1.5 }
            """)
        for j in generated.jobs(seed: 3) { #expect(j.deadline == j.submit + .seconds(Int64(900))) }
        let bad: [(String, String)] = [
            ("    - { name: a, submit: 1h, world_size: 1, duration: 10m, deadline: 30m }", "d.yaml:9:"),
            ("    - { name: a, submit: 1h, world_size: 1, duration: 10m, deadline: 1h }", "must come after the job's submit 3600s"),
            ("    - { name: a, world_size: 1, duration: 10m, deadline: -5m }", "deadline must be zero or more"),
        ]
        expectRefusals(bad) { _ = try scenario("  jobs:\n" + $0) }
        expectRefusals([("  generator: { jobs: 5, arrivals: { poisson: { per_hour: 60 } }, world_size: { choices: [1] }, duration: { fixed: 10m }, deadline_factor: 0 }",
                         "deadline_factor")]) { _ = try scenario($0) }
    }

    /// Deadlines in a trace: seconds from the origin like submit, written back as read; one at
    /// or before submit is an error naming the file's line.
    @Test func traceDeadlines() throws {
        let dir = try temporaryDirectory()
        let good = dir.appendingPathComponent("good.jsonl").path, bad = dir.appendingPathComponent("bad.jsonl").path
        try """
            {"format":"fleettwin-trace","version":1,"name":"t","source":"s"}
            {"id":"a","submit":10,"worldSize":2,"duration":50,"deadline":300.5}
            {"id":"b","submit":20,"worldSize":1,"duration":5}
            """.write(toFile: good, atomically: true, encoding: .utf8)
        let jobs = try TraceReader(path: good).readAll().1
        #expect(jobs.map(\.deadline) == [300.5, nil])
        let replay = try Scenario.parse("""
            fleet:
              regions:
                - name: r
                  clusters:
                    - { name: c, nodes: 1, accelerators_per_node: 4, type: h100-80gb }
            workload: { trace: { path: \(good), window: { from: 5s }, time_scale: 2 } }
            """, file: "t.yaml")
        // (300.5 - 5) x 2, as submit: (10 - 5) x 2
        #expect(replay.jobs(seed: 1).map { $0.deadline } == [VirtualTime.seconds(591.0), nil])
        let out = dir.appendingPathComponent("out.jsonl").path
        var writer = try TraceWriter(path: out, header: TraceHeader(name: "t", source: "s"))
        for j in jobs { writer.write(j) }
        try writer.close()
        #expect(try TraceReader(path: out).readAll().1 == jobs)
        expectRefusals([(#"{"id":"a","submit":10,"worldSize":1,"duration":5,"deadline":10}"#, "bad.jsonl:2: error: 'deadline' 10.0 must be seconds from the origin after 'submit' 10.0"),
                        (#"{"id":"a","submit":10,"worldSize":1,"duration":5,"deadline":-3}"#, "bad.jsonl:2: error: 'deadline' -3.0 must be")]) { line in
            try ("{\"format\":\"fleettwin-trace\",\"version\":1,\"name\":\"t\",\"source\":\"s\"}\n" + line).write(toFile: bad, atomically: true, encoding: .utf8)
            _ = try TraceReader(path: bad).readAll()
        }
    }

    /// Other policies are untouched by deadlines: FIFO runs E2 as it would without them, and
    /// still reports the deadlines met (no job declined, ratio 1).
    @Test func otherPoliciesOnlyReportDeadlines() async throws {
        var plain = Self.e2
        for k in plain.indices { plain[k].deadline = nil }
        func run(_ jobs: [JobSpec]) async throws -> SimulationResult {
            try await FleetSimulation(SimulationConfiguration(fleet: Self.fleet, jobs: jobs, policy: PolicyRegistry.named("fifo")!.make(),
                                                              mechanisms: MechanismSettings.defaults.free, checkInvariants: true)).run()
        }
        let with = try await run(Self.e2), without = try await run(plain)
        #expect(with.log.hash == without.log.hash)
        #expect(RunMetrics.fold(without).deadlines == nil)
        let d = try #require(RunMetrics.fold(with).deadlines)
        #expect(d.declined == 0 && d.accepted == 3 && d.satisfactionRatio == 1 && d.completed == 3 && d.met == 1)
    }
}
