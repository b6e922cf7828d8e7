import FleetTwinEngine
import FleetTwinFleet
import FleetTwinMetrics
import FleetTwinPolicy
import FleetTwinReports
import FleetTwinScenario
import FleetTwinScheduling
import FleetTwinTraces
import Foundation
import Testing

/// The `slurm` policy on cases worked by hand, its configuration reader's errors, and a
/// replay of a real Slurm's captured run (../shared/slurm/capture-seed8, where present).
@Suite struct SlurmPolicyTests {
    /// slurm.conf for the hand cases: multifactor priority by QOS, backfill every 10 s at 1 s
    /// resolution, QOS preemption by requeue, a requeued job eligible 6 s later.
    static let conf = """
        SchedulerType=sched/backfill
        SchedulerParameters=batch_sched_delay=0,bf_interval=10,sched_interval=60,bf_resolution=1  # comment
        PriorityType=priority/multifactor
        PriorityWeightQOS=10000
        PriorityWeightAge=100
        PreemptType=preempt/qos
        PreemptMode=REQUEUE
        AuthInfo=socket=/tmp/x,cred_expire=5
        NodeName=n[1-2] CPUs=16 Gres=gpu:4
        PartitionName=gpu Nodes=ALL Default=YES PriorityTier=1
        PartitionName=high Nodes=ALL PriorityTier=10
        """
    static let qos = """
        Name|Priority|Preempt|PreemptMode|GraceTime
        normal|0||cluster|00:00:00
        high|100|normal|requeue|00:00:00
        """

    /// Writes `text` to `name` in `dir`; returns its path.
    static func write(_ name: String, _ text: String, in dir: URL) throws -> String {
        let path = dir.appendingPathComponent(name).path
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    /// Replays `jobs` (native trace lines) on 2 nodes x 4 GPUs under `slurm`, with checks;
    /// under the instant model (every event runs the main scheduler at once, exact will-run
    /// starts) unless a `latency` or `windows` is given, so that the hand cases of the other
    /// rules stay in whole seconds. `cpus`: the fleet's `cpus_per_node` (else its default,
    /// 3 cores per GPU).
    func replay(_ jobs: [String], conf: String = conf, nodes: Int = 2, qos: String = qos,
                latency: VirtualTime? = nil, windows: Bool = false, cpus: Int? = nil,
                phase: VirtualTime? = nil) async throws -> (SimulationResult, RunMetrics) {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        func write(_ name: String, _ text: String) throws -> String { try Self.write(name, text, in: dir) }
        let trace = try write("t.jsonl", (["{\"format\":\"fleettwin-trace\",\"version\":1,\"name\":\"t\",\"source\":\"hand\"}"] + jobs).joined(separator: "\n"))
        let cores = cpus.map { ", cpus_per_node: \($0)" } ?? ""
        let fleet = try write("f.yaml", "regions: [ { name: r, clusters: [ { name: c, nodes: \(nodes), accelerators_per_node: 4\(cores) } ] } ]\n")
        var spec = PolicySpec(name: "slurm", placement: .bestFit)
        spec.options.slurm = try SlurmConfiguration.read(conf: try write("slurm.conf", conf), qos: try write("qos.psv", qos))
        spec.options.slurm?.schedulerLatency = latency
        spec.options.slurm?.backfillPhase = phase
        if !windows { spec.options.slurm?.willRunWindow = nil }
        let scenario = try Scenario.replay(trace: trace, fleet: fleet, policy: spec, noOverheads: false, seed: 1)
        let result = try await runScenario(scenario)
        return (result, RunMetrics.fold(result))
    }

    func starts(_ result: SimulationResult, _ metrics: RunMetrics) -> [String: Double] {
        Dictionary(uniqueKeysWithValues: zip(result.jobs.map(\.name), metrics.jobs.map { $0.firstStart?.seconds ?? -1 }))
    }

    /// select/cons_tres fits a one-node job by CPU cores (job_test.c `_eval_nodes`): among the
    /// nodes with the GPUs, the run of consecutive nodes with the fewest free CPUs in all, in it
    /// the node with the fewest. 5 nodes x 4 GPUs, 16 cores each: J1-J5 take a whole node each
    /// (one CPU per job); J3, J4 end at 10; P(3) and Q(3) then take nodes 3 and 4, one GPU
    /// free on each; J1 ends at 20. D(1 GPU, 5 s) at 21 can use node 1 (idle, 16 cores free)
    /// or nodes 3-4 (one run, 15 + 15): Slurm puts it on node 1, the isolated idle node, so
    /// E (4 GPUs) at 22 waits for D's end, 26. Best fit on free GPUs put D on node 3 and E on
    /// node 1 at 22. The same with the fleet's default cores (12 per node: 12 against 11 + 11).
    @Test func aOneNodeJobGoesToTheRunWithTheFewestFreeCPUs() async throws {
        let long = #","duration":1000,"timeLimit":2000}"#
        let jobs = (1...5).map { #"{"id":"J\#($0)","submit":0,"worldSize":4"# + ([3, 4].contains($0) ? #","duration":10,"timeLimit":2000}"# : $0 == 1 ? #","duration":20,"timeLimit":2000}"# : long) }
            + [#"{"id":"P","submit":11,"worldSize":3"# + long, #"{"id":"Q","submit":12,"worldSize":3"# + long,
               #"{"id":"D","submit":21,"worldSize":1,"duration":5,"timeLimit":100}"#,
               #"{"id":"E","submit":22,"worldSize":4,"duration":5,"timeLimit":100}"#]
        for cores in [16, nil] {
            let (result, metrics) = try await replay(jobs, nodes: 5, cpus: cores)
            let s = starts(result, metrics)
            #expect(s["P"] == 11 && s["Q"] == 12 && s["D"] == 21, "\(s)")
            #expect(s["E"] == 26, "cores \(String(describing: cores)): \(s)")
        }
    }

    /// A trace job's `cpus` (sacct's AllocCPUS) holds that many cores on its node: 2 nodes x 4
    /// GPUs x 8 cores; A (1 GPU, cpus 8) takes node 1's every core, so B (1 GPU, one core)
    /// goes to node 2 and C (4 GPUs) finds no node until B ends at 11. Taken as one core, A
    /// left node 1 the fewest free cores: B went there and C started at once, at 2. A 7-GPU
    /// job's `cpus` are spread over the 2 nodes it needs: F's 6, 3 a node, fit beside G (1 GPU,
    /// 5 of its node's 8 cores); H's 8, 4 a node, do not, so H waits for G's end (taken as one
    /// core a node, it started after F, at 6).
    @Test func aJobsAllocatedCPUsAreHeldOnItsNodes() async throws {
        let jobs = [#"{"id":"A","submit":0,"worldSize":1,"duration":100,"timeLimit":200,"cpus":8}"#,
                    #"{"id":"B","submit":1,"worldSize":1,"duration":10,"timeLimit":200}"#,
                    #"{"id":"C","submit":2,"worldSize":4,"duration":5,"timeLimit":200}"#]
        let (r, m) = try await replay(jobs, cpus: 8)
        #expect(starts(r, m) == ["A": 0, "B": 1, "C": 11])
        let split = [#"{"id":"G","submit":0,"worldSize":1,"duration":50,"timeLimit":200,"cpus":5}"#,
                     #"{"id":"F","submit":1,"worldSize":7,"duration":5,"timeLimit":200,"cpus":6}"#,
                     #"{"id":"H","submit":2,"worldSize":7,"duration":5,"timeLimit":200,"cpus":8}"#]
        let (r2, m2) = try await replay(split, cpus: 8)
        // F: 3 cores a node fit beside G's 5; H: 4 a node do not, so it waits for G's end.
        #expect(starts(r2, m2) == ["G": 0, "F": 1, "H": 50])
    }

    /// A job asking more CPUs a node than the fleet's nodes have (Slurm would refuse it at
    /// submission) runs on all its nodes' cores, with a located warning on stderr.
    @Test func aJobAskingMoreCoresThanANodeHasIsWarnedOf() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let trace = try Self.write("t.jsonl", "{\"format\":\"fleettwin-trace\",\"version\":1,\"name\":\"t\",\"source\":\"hand\"}\n"
                                   + #"{"id":"A","submit":0,"worldSize":2,"duration":10,"timeLimit":60,"cpus":4}"# + "\n"
                                   + #"{"id":"B","submit":1,"worldSize":8,"duration":10,"timeLimit":60,"cpus":20}"# + "\n", in: dir)
        let fleet = try Self.write("f.yaml", "regions: [ { name: r, clusters: [ { name: c, nodes: 2, accelerators_per_node: 4, cpus_per_node: 8 } ] } ]\n", in: dir)
        let run = try runFleettwin(["replay", trace, "--fleet", fleet, "--policy", "slurm", "--quiet", "--db", dir.appendingPathComponent("r.sqlite").path])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stderr.contains("warning: \(trace):3: job B asks 20 CPUs, 10 a node on the 2 node(s) its 8 GPUs need, but the fleet's nodes have 8 cores (cluster c): Slurm would refuse it at submission"), "\(run.stderr)")
        #expect(!run.stderr.contains("job A"), "\(run.stderr)")
    }

    /// A trace job's `resources`: `cpus` cores per GPU (the rest Synergy's, unread here).
    static func cores(_ cpus: Double) -> String { ",\"resources\":{\"cpusPerGPU\":\(cpus),\"memoryGiBPerGPU\":1,\"speedup\":1}" }

    /// Every placement takes the job's cores for all its GPUs on a node (cons_tres with
    /// --cpus-per-gpu: gres_sched.c `gres_sched_add`, at most free CPUs / cpus_per_gres GPUs).
    /// One node, 4 GPUs, 16 cores. Main scheduler: A (1 GPU x 10 cores) leaves 3 GPUs and 6
    /// cores; B (3 GPUs x 3 cores = 9) does not fit until A ends at 50 (it was placed at 1 when
    /// only one GPU's cores were checked). Preemption: K (QOS high, 1 GPU x 12 cores) and L
    /// (normal, 2 GPUs, 1 core) run; H (high, 2 GPUs x 3 = 6 cores) would have 3 GPUs but only
    /// 4 cores with L gone, so L is no victim and H waits for K (L was requeued for it).
    @Test func everyPlacementTakesTheCoresOfAllItsGPUs() async throws {
        let (r1, m1) = try await replay([
            #"{"id":"A","submit":0,"worldSize":1,"duration":50,"timeLimit":100"# + Self.cores(10) + "}",
            #"{"id":"B","submit":1,"worldSize":3,"duration":10,"timeLimit":100"# + Self.cores(3) + "}",
        ], nodes: 1, cpus: 16)
        #expect(starts(r1, m1) == ["A": 0, "B": 50])
        let (r2, m2) = try await replay([
            #"{"id":"K","submit":0,"worldSize":1,"duration":40,"timeLimit":100,"qos":"high""# + Self.cores(12) + "}",
            #"{"id":"L","submit":1,"worldSize":2,"duration":100,"timeLimit":200,"qos":"normal"}"#,
            #"{"id":"H","submit":10,"worldSize":2,"duration":10,"timeLimit":100,"qos":"high""# + Self.cores(3) + "}",
        ], nodes: 1, cpus: 16)
        #expect(starts(r2, m2) == ["K": 0, "L": 1, "H": 40] && m2.preemptions == 0, "\(starts(r2, m2)), \(m2.preemptions) preemptions")
    }

    /// Backfill plans later starts on cores as well as GPUs (job_test.c `_will_run_test` tests
    /// the job on the future node usage, CPUs included). 2 nodes x 4 GPUs, 16 cores. X (1 GPU x
    /// 14 cores, long) and Y (3 GPUs, 1 core, ends at 100) on node 1, Z (3 GPUs, ends at 200)
    /// on node 2. T (3 GPUs x 2 = 6 cores) cannot use node 1's GPUs at 100 (2 cores left): it
    /// is reserved node 2 from 200. C (1 GPU, limit 300) would run into that reservation on
    /// node 2, so the cycle at 10 does not start it; it starts on node 1 when Y ends, and T at
    /// 200. Planned on GPUs alone, T was reserved node 1 at 100, C backfilled on node 2 at 10,
    /// and T placed at 100 on node 1's two cores.
    @Test func backfillReservesOnCoresAsWellAsGPUs() async throws {
        let (result, metrics) = try await replay([
            #"{"id":"X","submit":0,"worldSize":1,"duration":1000,"timeLimit":2000"# + Self.cores(14) + "}",
            #"{"id":"Y","submit":0,"worldSize":3,"duration":100,"timeLimit":100}"#,
            #"{"id":"Z","submit":0,"worldSize":3,"duration":200,"timeLimit":200}"#,
            #"{"id":"T","submit":5,"worldSize":3,"duration":50,"timeLimit":100"# + Self.cores(2) + "}",
            #"{"id":"C","submit":6,"worldSize":1,"duration":50,"timeLimit":300}"#,
        ], cpus: 16)
        #expect(starts(result, metrics) == ["X": 0, "Y": 0, "Z": 0, "T": 200, "C": 100])
    }

    /// A(4 GPUs, 20 s, limit 100 s) runs; B(8) needs both nodes and blocks the main scheduler;
    /// C(2, limit 15 s) is backfilled at the first cycle (10 s) because the plan ends A at its
    /// time limit (100 s), where B's reservation begins: C ends well before. With A's true
    /// end (20 s) in the plan, B would be reserved at 20 and C held back. D(2, limit 200 s)
    /// would run into B's reservation, so it waits for B. A ends at 20, B runs 20-30, D at 30.
    @Test func mainSchedulerBlocksAndBackfillPlansWithTimeLimits() async throws {
        let (result, metrics) = try await replay([
            #"{"id":"A","submit":0,"worldSize":4,"duration":20,"timeLimit":100}"#,
            #"{"id":"B","submit":1,"worldSize":8,"duration":10,"timeLimit":100,"nodes":2}"#,
            #"{"id":"C","submit":2,"worldSize":2,"duration":5,"timeLimit":15}"#,
            #"{"id":"D","submit":3,"worldSize":2,"duration":5,"timeLimit":200}"#,
        ])
        #expect(starts(result, metrics) == ["A": 0, "B": 20, "C": 10, "D": 30])
        #expect(metrics.jobsCompleted == 4 && metrics.preemptions == 0)
    }

    /// L1 and L2 (normal QOS) fill both nodes; H (high QOS) arrives at 10 and requeues one of
    /// them (equal cost: the first node's, L1). L1 starts over: eligible at 10 + cred_expire
    /// + 1 = 16, it restarts when H ends at 20 and needs its whole 50 s again (ends 70).
    @Test func highQOSRequeuesANormalJobThatStartsOver() async throws {
        let (result, metrics) = try await replay([
            #"{"id":"L1","submit":0,"worldSize":4,"duration":50,"timeLimit":120,"qos":"normal"}"#,
            #"{"id":"L2","submit":1,"worldSize":4,"duration":50,"timeLimit":120,"qos":"normal"}"#,
            #"{"id":"H","submit":10,"worldSize":4,"duration":10,"timeLimit":60,"qos":"high"}"#,
        ])
        let byName = Dictionary(uniqueKeysWithValues: zip(result.jobs.map(\.name), metrics.jobs))
        #expect(byName["H"]?.firstStart == seconds(10))
        #expect(byName["L1"]?.starts == 2 && byName["L1"]?.end == seconds(70))
        #expect(byName["L2"]?.starts == 1 && byName["L2"]?.end == seconds(51))
        #expect(metrics.preemptions == 1)
        #expect(metrics.lostWorkSeconds == 10)
        let requeues = result.log.records.filter { $0.kind == .requeued }
        #expect(requeues.count == 1 && requeues.first?.time == seconds(10))
    }

    /// With the requeue delay shorter than H's run, L1 still waits for free GPUs; with no
    /// GPUs needed elsewhere it restarts exactly when it is eligible, at the next pass.
    @Test func aRequeuedJobWaitsForItsEligibleTime() async throws {
        let (result, metrics) = try await replay([
            #"{"id":"L1","submit":0,"worldSize":4,"duration":50,"timeLimit":120,"qos":"normal"}"#,
            #"{"id":"L2","submit":1,"worldSize":4,"duration":50,"timeLimit":120,"qos":"normal"}"#,
            #"{"id":"H","submit":10,"worldSize":4,"duration":2,"timeLimit":60,"qos":"high"}"#,
        ])
        // GPUs free from 12 (H's end: a pass, but L1 is not yet eligible); eligible at 16,
        // which is no event: the next pass is the backfill cycle at 20.
        let l1 = result.log.records.filter { $0.kind == .started && result.jobs[Int($0.job)].name == "L1" }.map(\.time)
        #expect(l1 == [seconds(0), seconds(20)])
        #expect(metrics.jobs[Int(result.jobs.firstIndex { $0.name == "L1" }!)].end == seconds(70))
    }

    /// Partition PriorityTier orders before priority: Z (partition high) submitted after Y
    /// starts before it when X's GPUs come free.
    @Test func partitionTierComesFirst() async throws {
        let (result, metrics) = try await replay([
            #"{"id":"X","submit":0,"worldSize":4,"duration":10,"timeLimit":60}"#,
            #"{"id":"Y","submit":1,"worldSize":4,"duration":10,"timeLimit":60,"partition":"gpu"}"#,
            #"{"id":"Z","submit":2,"worldSize":4,"duration":10,"timeLimit":60,"partition":"high"}"#,
        ], nodes: 1)
        #expect(starts(result, metrics) == ["X": 0, "Z": 10, "Y": 20])
    }

    /// The same case under priority/basic without tiers is plain submission order.
    @Test func basicPriorityIsSubmissionOrder() async throws {
        let (result, metrics) = try await replay([
            #"{"id":"X","submit":0,"worldSize":4,"duration":10,"timeLimit":60}"#,
            #"{"id":"Y","submit":1,"worldSize":4,"duration":10,"timeLimit":60}"#,
            #"{"id":"Z","submit":2,"worldSize":4,"duration":10,"timeLimit":60,"qos":"high"}"#,
        ], conf: "PriorityType=priority/basic\nPreemptType=preempt/none\n", nodes: 1)
        #expect(starts(result, metrics) == ["X": 0, "Y": 10, "Z": 20])
    }

    /// Fair-share: user a has been using the node since 0; b has used nothing. With only the
    /// fair-share weight, b's job (submitted after a's second) goes first when the node frees.
    @Test func fairShareFavoursTheUserWhoUsedLess() async throws {
        let jobs = [#"{"id":"A1","submit":0,"worldSize":4,"duration":100,"timeLimit":200,"user":"a"}"#,
                    #"{"id":"A2","submit":10,"worldSize":4,"duration":100,"timeLimit":200,"user":"a"}"#,
                    #"{"id":"B1","submit":20,"worldSize":4,"duration":100,"timeLimit":200,"user":"b"}"#]
        let fair = "PriorityType=priority/multifactor\nPriorityWeightFairshare=1000\nPriorityCalcPeriod=1\n"
        let (r1, m1) = try await replay(jobs, conf: fair, nodes: 1)
        #expect(starts(r1, m1) == ["A1": 0, "B1": 100, "A2": 200])
        let (r2, m2) = try await replay(jobs, conf: "PriorityType=priority/multifactor\n", nodes: 1)
        #expect(starts(r2, m2) == ["A1": 0, "A2": 100, "B1": 200])
    }

    /// 400 jobs on 4 nodes x 4 GPUs with every factor in play (QOS, partitions, users,
    /// limits above the true durations and none at all, gangs of up to three nodes), under
    /// the hand configuration with a grace time. The event log's hash is pinned, so any
    /// change to a decision, however small, fails here: it was the one the policy gave before
    /// its queue and backfill plans were kept incrementally, and changed (2026-11-30) when
    /// preemption victims became select/cons_common's (`SlurmPreemptionTests`); and on
    /// 2026-12-01 when one-node jobs were fitted by free CPU cores as cons_tres's
    /// `_eval_nodes` does (`aOneNodeJobGoesToTheRunWithTheFewestFreeCPUs`; this fleet has the
    /// default 12 cores per node, one per job), when a high-QOS job came to go before the
    /// partition-`high` jobs it may preempt (`aJobThatMayPreemptAnotherGoesBeforeIt`) and a
    /// requeued job behind those submitted before its requeue
    /// (`aRequeuedJobGoesBehindThoseSubmittedBeforeItsRequeue`). The jobs are integer formulas
    /// of their number, reproducible outside the test.
    @Test func aMixedWorkloadsDecisionsArePinned() async throws {
        let jobs = (0..<400).map { i in
            let size = [1, 1, 2, 4, 3, 8, 12][(i * 5) % 7], duration = 20 + (i * 53) % 400
            let limit = i % 11 == 0 ? "" : ",\"timeLimit\":\(duration + (i * 31) % 300)"
            let partition = i % 13 == 0 ? ",\"partition\":\"high\"" : ""
            return "{\"id\":\"j\(i)\",\"submit\":\(i * 9 + (i * 17) % 23),\"worldSize\":\(size),\"duration\":\(duration)"
                + "\(limit),\"qos\":\"\(i % 9 == 0 ? "high" : "normal")\",\"user\":\"u\(i % 5)\"\(partition)}"
        }
        let conf = Self.conf + "\nPriorityWeightFairshare=1000\nPriorityWeightJobSize=10\nPriorityWeightPartition=100\nPriorityCalcPeriod=5\n"
        let (result, metrics) = try await replay(jobs, conf: conf, nodes: 4, qos: Self.qos.replacingOccurrences(of: "normal|0||cluster|00:00:00", with: "normal|0||cluster|00:00:20"))
        #expect(metrics.jobsCompleted == 400 && metrics.preemptions > 0)
        #expect(result.eventLogHash == "8726e855369ea82c")
    }

    // MARK: slurmctld's timing

    /// One node of 4 GPUs, main scheduler only, its periodic pass every 10 s. A (submitted at
    /// 0) starts half a second later, at 0.5, and ends at 10.0, the instant of a periodic
    /// pass: that pass does not see the GPUs A frees, so B (submitted at 1) starts half a
    /// second after A's end, at 10.5, and ends at 15.5. C (submitted at 12) starts half a
    /// second after B's end, at 16.0. The instant model starts each at the event: 0, 9.5, 14.5.
    @Test func theMainSchedulerServesEventsHalfASecondLater() async throws {
        let jobs = [#"{"id":"A","submit":0,"worldSize":4,"duration":9.5,"timeLimit":60}"#,
                    #"{"id":"B","submit":1,"worldSize":4,"duration":5,"timeLimit":60}"#,
                    #"{"id":"C","submit":12,"worldSize":4,"duration":1,"timeLimit":60}"#]
        let conf = "SchedulerType=sched/builtin\nSchedulerParameters=batch_sched_delay=0,sched_interval=10\n"
        let (r1, m1) = try await replay(jobs, conf: conf, nodes: 1, latency: VirtualTime(microseconds: 500_000))
        #expect(starts(r1, m1) == ["A": 0.5, "B": 10.5, "C": 16])
        let (r2, m2) = try await replay(jobs, conf: conf, nodes: 1)
        #expect(starts(r2, m2) == ["A": 0, "B": 9.5, "C": 14.5])
    }

    /// batch_sched_delay=3: the periodic pass at 0 ran (slurmctld's first), so the pass A's
    /// submission asks for waits until 3; A runs 3-13; B, submitted at 1, starts half a
    /// second after A's end, 13.5 (more than 3 s after the pass at 3).
    @Test func batchSchedDelaySpacesTriggeredPasses() async throws {
        let jobs = [#"{"id":"A","submit":0,"worldSize":4,"duration":10,"timeLimit":60}"#,
                    #"{"id":"B","submit":1,"worldSize":4,"duration":5,"timeLimit":60}"#]
        let conf = "SchedulerType=sched/builtin\nSchedulerParameters=batch_sched_delay=3,sched_interval=60\n"
        let (result, metrics) = try await replay(jobs, conf: conf, nodes: 1, latency: VirtualTime(microseconds: 500_000))
        #expect(starts(result, metrics) == ["A": 3, "B": 13.5])
    }

    /// The backfill thread on 2 nodes x 4 GPUs, bf_interval=10, its first cycle at 0.5 (the
    /// default phase). A (4 GPUs, limit 200 s) starts at 0.5; B (both nodes) blocks the main
    /// scheduler; C (2 GPUs, limit 10 s) is backfilled by the cycle at 10.5, ends 15.5. The
    /// cycle at 20.5 sees C's end; by the wake at 30.5 nothing has changed since second 20, so
    /// the thread retries every second: D, submitted at 43, is backfilled at 43.5 (on the
    /// instant model's fixed grid it waits for 50). B starts half a second after A's end at 100.5.
    @Test func backfillCyclesFollowChanges() async throws {
        let jobs = [#"{"id":"A","submit":0,"worldSize":4,"duration":100,"timeLimit":200}"#,
                    #"{"id":"B","submit":1,"worldSize":8,"duration":10,"timeLimit":100,"nodes":2}"#,
                    #"{"id":"C","submit":2,"worldSize":2,"duration":5,"timeLimit":10}"#,
                    #"{"id":"D","submit":43,"worldSize":2,"duration":5,"timeLimit":10}"#]
        let (r1, m1) = try await replay(jobs, latency: VirtualTime(microseconds: 500_000))
        #expect(starts(r1, m1) == ["A": 0.5, "B": 101, "C": 10.5, "D": 43.5])
        let (r2, m2) = try await replay(jobs)
        #expect(starts(r2, m2) == ["A": 0, "B": 100, "C": 10, "D": 50])
    }

    /// The same jobs with the backfill thread's first cycle at 0.75 s instead of 0.5 s: every
    /// cycle comes a quarter second later (C at 10.75, D at 43.75), and B, which waited for
    /// the main pass half a second after A's end (101), now starts at the cycle a quarter
    /// second after it (100.75). A's start, the main pass at its submission, does not move.
    @Test func theBackfillPhaseMovesEveryCycle() async throws {
        let jobs = [#"{"id":"A","submit":0,"worldSize":4,"duration":100,"timeLimit":200}"#,
                    #"{"id":"B","submit":1,"worldSize":8,"duration":10,"timeLimit":100,"nodes":2}"#,
                    #"{"id":"C","submit":2,"worldSize":2,"duration":5,"timeLimit":10}"#,
                    #"{"id":"D","submit":43,"worldSize":2,"duration":5,"timeLimit":10}"#]
        let (r, m) = try await replay(jobs, latency: VirtualTime(microseconds: 500_000), phase: VirtualTime(microseconds: 750_000))
        #expect(starts(r, m) == ["A": 0.5, "B": 100.75, "C": 10.75, "D": 43.75])
    }

    /// `replay --slurm-backfill-phase` sets the phase, and refuses one outside [0, bf_interval)
    /// or with another policy.
    @Test func replayTakesABackfillPhase() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let db = dir.appendingPathComponent("r.sqlite").path
        let conf = dir.appendingPathComponent("slurm.conf").path
        try Self.conf.write(toFile: conf, atomically: true, encoding: .utf8)
        let base = ["replay", fixture("traces/small.jsonl"), "--fleet", fixture("fifo-hand.yaml"), "--db", db]
        for (phase, why) in [("1s", "a whole second: the same as 0s"), ("-1s", "negative"), ("soon", "not a duration")] {
            let bad = try runFleettwin(base + ["--policy", "slurm", "--slurm-conf", conf, "--slurm-backfill-phase=\(phase)"])
            #expect(bad.status != 0 && bad.stderr.contains("--slurm-backfill-phase must be a duration from 0s up to below 1s (the backfill thread wakes every whole second), such as 0.75s; found '\(phase)'"),
                    "\(why): \(bad.stderr)")
        }
        // On the instant model's fixed grid a phase is one modulo bf_interval (10 s here).
        let grid = try runFleettwin(base + ["--policy", "slurm", "--slurm-conf", conf, "--slurm-latency", "none", "--slurm-backfill-phase", "10s"])
        #expect(grid.status != 0 && grid.stderr.contains("--slurm-backfill-phase must be a duration from 0s up to below bf_interval (10s) with --slurm-latency none, such as 0.75s; found '10s'"), "\(grid.stderr)")
        #expect(try runFleettwin(base + ["--policy", "slurm", "--slurm-conf", conf, "--slurm-latency", "none", "--slurm-backfill-phase", "7s", "--quiet"]).status == 0)
        let other = try runFleettwin(base + ["--policy", "fifo", "--slurm-backfill-phase", "0.75s"])
        #expect(other.status != 0 && other.stderr.contains("--slurm-backfill-phase goes with --policy slurm, not fifo"), "\(other.stderr)")
        let ok = try runFleettwin(base + ["--policy", "slurm", "--slurm-conf", conf, "--slurm-backfill-phase", "0.75s", "--quiet"])
        #expect(ok.status == 0, "\(ok.stderr)")
    }

    /// slurm.conf's NodeName lines against the fleet (`Scenario.checkSlurmNodes`): fewer GPUs
    /// or CPUs in the fleet than a line configures is a cluster Slurm would drain, an error at
    /// the line naming both files; other differences Slurm would run with are warnings on
    /// stderr (more GPUs than configured, CPUs= without the fleet's cpus_per_node, the node
    /// count), and the replay runs.
    @Test func nodeNameLinesAreHeldAgainstTheFleet() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        func write(_ name: String, _ text: String) throws -> String { try Self.write(name, text, in: dir) }
        let trace = try write("t.jsonl", "{\"format\":\"fleettwin-trace\",\"version\":1,\"name\":\"t\",\"source\":\"hand\"}\n"
                              + #"{"id":"A","submit":0,"worldSize":4,"duration":10,"timeLimit":60}"#)
        func fleet(cpus: Int?) throws -> String {
            try write("f.yaml", "regions:\n  - name: r\n    clusters:\n      - { name: c, nodes: 2, accelerators_per_node: 4\(cpus.map { ", cpus_per_node: \($0)" } ?? "") }\n")
        }
        func replay(_ nodeLines: String, cpus: Int?) throws -> ProcessOutput {
            let conf = try write("slurm.conf", "SchedulerType=sched/backfill\n" + nodeLines + "PartitionName=p Nodes=ALL Default=YES\n")
            return try runFleettwin(["replay", trace, "--fleet", try fleet(cpus: cpus), "--policy", "slurm", "--slurm-conf", conf,
                                     "--db", dir.appendingPathComponent("r.sqlite").path])
        }
        let conf = dir.appendingPathComponent("slurm.conf").path, fleetFile = dir.appendingPathComponent("f.yaml").path
        let gpus = try replay("NodeName=n[1-2] CPUs=16 Gres=gpu:h100:8\n", cpus: 16)
        #expect(gpus.status != 0 && gpus.stderr.contains("\(conf):2: NodeName=n[1-2] has Gres=gpu:h100:8, 8 GPUs a node, but the fleet's nodes have 4 (\(fleetFile):4, cluster c: accelerators_per_node: 4); Slurm would drain nodes that report fewer GPUs than configured. Expected Gres=gpu:4 here, or accelerators_per_node: 8 in the fleet"), "\(gpus.stderr)")
        let cpus = try replay("NodeName=DEFAULT CPUs=32 Gres=gpu:4\nNodeName=n[1-2]\n", cpus: 16)
        // A value a NodeName=DEFAULT line gives is reported with where it comes from.
        #expect(cpus.status != 0 && cpus.stderr.contains("\(conf):3: NodeName=n[1-2] has CPUs=32 (from NodeName=DEFAULT at line 2), but the fleet's nodes have 16 cores (\(fleetFile):4, cluster c: cpus_per_node: 16); Slurm would drain nodes that report fewer CPUs than configured. Expected CPUs=16 here (or at line 2), or cpus_per_node: 32 in the fleet"), "\(cpus.stderr)")
        // Every contradiction is reported at once: both of one line, and another line's.
        let both = try replay("NodeName=n1 CPUs=32 Gres=gpu:8\nNodeName=n2 CPUs=64 Gres=gpu:4\n", cpus: 16)
        #expect(both.status == 2, "\(both.stderr)")
        #expect(both.stderr.contains("\(conf):2: NodeName=n1 has Gres=gpu:8, 8 GPUs a node, but the fleet's nodes have 4"), "\(both.stderr)")
        #expect(both.stderr.contains("\n  and \(conf):2: NodeName=n1 has CPUs=32, but the fleet's nodes have 16 cores"), "\(both.stderr)")
        #expect(both.stderr.contains("\n  and \(conf):3: NodeName=n2 has CPUs=64, but the fleet's nodes have 16 cores"), "\(both.stderr)")
        // A GPU type gres.conf names that is not the fleet's is warned of; a site's own name is not.
        let typed = try replay("NodeName=n[1-2] CPUs=16 Gres=gpu:a100:4\n", cpus: 16)
        #expect(typed.status == 0, "\(typed.stderr)")
        #expect(typed.stderr.contains("warning: \(conf):2: NodeName=n[1-2] has Gres=gpu:a100:4, A100 GPUs, but the fleet's nodes are h100-80gb (\(fleetFile):4, cluster c): the twin runs jobs at h100-80gb speed; give the cluster type: a100-80gb in the fleet if the cluster has A100s"), "\(typed.stderr)")
        for gres in ["gpu:h100:4", "gpu:tesla:4"] {
            let quiet = try replay("NodeName=n[1-2] CPUs=16 Gres=\(gres)\n", cpus: 16)
            #expect(quiet.status == 0 && !quiet.stderr.contains("warning"), "\(gres): \(quiet.stderr)")
        }
        let warned = try replay("NodeName=n[1-3] CPUs=16 Gres=gpu:2\nNodeName=cpu1 CPUs=64\n", cpus: nil)
        #expect(warned.status == 0, "\(warned.stderr)")
        #expect(warned.stderr.contains("warning: \(conf):2: NodeName=n[1-3] has 2 GPUs a node, the fleet's nodes have 4 (\(fleetFile):4, cluster c): Slurm would schedule 2 of them, the twin schedules 4"), "\(warned.stderr)")
        #expect(warned.stderr.contains("warning: \(conf):2: NodeName=n[1-3] has CPUs=16; the fleet gives no cpus_per_node (\(fleetFile):4, cluster c), so the twin fits jobs on its default 12 cores a node: add cpus_per_node: 16 to the fleet"))
        #expect(warned.stderr.contains("warning: \(conf):2: the NodeName lines declare 3 GPU nodes, the fleet has 2 (\(fleetFile):4, cluster c): Slurm would hold the missing one DOWN; the twin schedules the fleet's 2"))
        let matching = try replay("NodeName=n[1-2] CPUs=16 Gres=gpu:4\n", cpus: 16)
        #expect(matching.status == 0 && !matching.stderr.contains("warning"), "\(matching.stderr)")
    }

    /// The slurm policy's refusals of a fleet and a trace name the file and line at fault and
    /// what was expected: a fleet of two clusters (the second's line), a job naming a QOS the
    /// --slurm-qos table lacks or a partition slurm.conf lacks (the job's line in the trace),
    /// a QOS preempting one the table lacks (its row).
    @Test func slurmRefusalsNameTheFileAndLine() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        func write(_ name: String, _ text: String) throws -> String { try Self.write(name, text, in: dir) }
        let header = "{\"format\":\"fleettwin-trace\",\"version\":1,\"name\":\"t\",\"source\":\"hand\"}\n"
        let a = #"{"id":"A","submit":0,"worldSize":4,"duration":10,"timeLimit":60}"#
        let trace = try write("t.jsonl", header + a + "\n")
        let one = try write("one.yaml", "regions:\n  - name: r\n    clusters:\n      - { name: a, nodes: 2, accelerators_per_node: 4 }\n")
        let two = try write("two.yaml", "regions:\n  - name: r\n    clusters:\n      - { name: a, nodes: 2, accelerators_per_node: 4 }\n      - { name: b, nodes: 2, accelerators_per_node: 8 }\n")
        let conf = try write("slurm.conf", Self.conf), qos = try write("qos.psv", Self.qos)
        func replay(_ trace: String, fleet: String, qos table: String = qos) throws -> ProcessOutput {
            try runFleettwin(["replay", trace, "--fleet", fleet, "--policy", "slurm", "--slurm-conf", conf, "--slurm-qos", table,
                              "--db", dir.appendingPathComponent("r.sqlite").path])
        }
        let clusters = try replay(trace, fleet: two)
        #expect(clusters.status != 0 && clusters.stderr.contains("\(two):5: the slurm policy models one Slurm cluster; the fleet has 2 (a at line 4, b at line 5); expected a fleet of one cluster"), "\(clusters.stderr)")
        let urgent = try write("u.jsonl", header + a + "\n\n" + #"{"id":"B","submit":1,"worldSize":4,"duration":10,"qos":"urgent"}"# + "\n")
        let missingQOS = try replay(urgent, fleet: one)
        #expect(missingQOS.status != 0 && missingQOS.stderr.contains("\(urgent):4: job B asks for QOS 'urgent', which the QOS table \(qos) does not define; expected one of: normal, high"), "\(missingQOS.stderr)")
        // The table was given: no hint to give one.
        #expect(!missingQOS.stderr.contains("--slurm-qos"), "\(missingQOS.stderr)")
        let cpu = try write("p.jsonl", header + #"{"id":"C","submit":1,"worldSize":4,"duration":10,"partition":"cpu"}"# + "\n")
        let missingPartition = try replay(cpu, fleet: one)
        #expect(missingPartition.stderr.contains("\(cpu):2: job C asks for partition 'cpu', which \(conf) does not define; expected one of: gpu, high"), "\(missingPartition.stderr)")
        let badTable = try write("bad.psv", Self.qos + "\nlow|0|none|requeue|00:00:00\n")
        let preempts = try replay(trace, fleet: one, qos: badTable)
        #expect(preempts.stderr.contains("\(badTable):4: QOS low preempts 'none', which the table does not define; expected one of: normal, high, low"), "\(preempts.stderr)")
    }

    @Test func configurationErrorsNameTheFileAndLine() throws {
        func error(_ text: String) -> String? {
            do { _ = try SlurmConfiguration.parse(text, file: "slurm.conf"); return nil } catch { return error.description }
        }
        #expect(error("ClusterName=x\nPreemptMode=SUSPEND,GANG\n")?.hasPrefix("slurm.conf:2: PreemptMode SUSPEND,GANG is not modelled") == true)
        #expect(error("PartitionName=p Nodes=n[1-2]\n")?.contains("slurm.conf:1: partition p has Nodes=n[1-2]; only partitions over every node") == true)
        // Every declared node listed, in another spelling, is every node; some of them is not.
        #expect(error("NodeName=n[1-4] CPUs=16\nPartitionName=p Nodes=n4,n1,n[2-3] Default=YES\n") == nil)
        #expect(error("NodeName=n[1-2]\nNodeName=n[3-4]\nPartitionName=p Nodes=n[1-4]\n") == nil)
        #expect(error("NodeName=n[1-4] CPUs=16\nPartitionName=p Nodes=n[1-3]\n")?.contains("slurm.conf:2: partition p has Nodes=n[1-3]; only partitions over every node") == true)
        #expect(error("SchedulerParameters=bf_interval=soon\n")?.hasPrefix("slurm.conf:1: SchedulerParameters needs a number of seconds") == true)
        #expect(error("just words\n")?.hasPrefix("slurm.conf:1: expected Key=Value") == true)
        #expect(error("ClusterName=x\nPartitionName=p Nodes=ALL GraceTime=1:00\n")?
            .hasPrefix("slurm.conf:2: GraceTime of partition p needs a number of seconds; found '1:00'") == true)
        var c = SlurmConfiguration()
        #expect(throws: SlurmConfigurationError.self) { try c.readQOS("Name|Priority|Preempt\nhigh|100|urgent\n", file: "q.psv") }
        #expect(throws: SlurmConfigurationError.self) { try c.readQOS("Name|Priority|Preempt|PreemptMode\nhigh|100||suspend\n", file: "q.psv") }
        try c.readQOS(Self.qos, file: "q.psv")
        #expect(c.qos.map(\.name) == ["normal", "high"] && c.qos[1].preempts == ["normal"])
        let parsed = try SlurmConfiguration.parse(Self.conf, file: "slurm.conf")
        #expect(parsed.bfInterval == seconds(10) && parsed.schedInterval == seconds(60) && parsed.bfResolution == seconds(1))
        #expect(parsed.requeueDelay == seconds(6) && parsed.preemptType == .qos && parsed.multifactor && parsed.weightQOS == 10_000)
        #expect(parsed.partitions.map(\.name) == ["gpu", "high"] && parsed.defaultPartition == 0)
        #expect(parsed.batchSchedDelay == .zero && SlurmConfiguration().batchSchedDelay == seconds(3))
        #expect(SlurmConfiguration().schedulerLatency == VirtualTime(microseconds: 500_000) && SlurmConfiguration().willRunWindow == seconds(30))
    }

    @Test func slurmHostlists() {
        #expect(SlurmHostlist.expand("n[1-3,7]") == ["n1", "n2", "n3", "n7"])
        #expect(SlurmHostlist.expand("gpu[08-10],login1") == ["gpu08", "gpu09", "gpu10", "login1"])
        #expect(SlurmHostlist.expand("n4") == ["n4"])
        #expect(SlurmHostlist.expand("n[1-") == nil && SlurmHostlist.expand("n[3-1]") == nil && SlurmHostlist.expand("n[a]") == nil)
    }

    @Test func slurmTimeFormats() {
        #expect(SlurmTimeFormat.seconds("5") == 300)
        #expect(SlurmTimeFormat.seconds("01:30") == 90)
        #expect(SlurmTimeFormat.seconds("01:00:00") == 3600)
        #expect(SlurmTimeFormat.seconds("2-00") == 172_800)
        #expect(SlurmTimeFormat.seconds("1-02:03:04") == 93_784)
        #expect(SlurmTimeFormat.seconds("UNLIMITED") == .infinity)
        #expect(SlurmTimeFormat.seconds("soon") == nil && SlurmTimeFormat.seconds("1:2:3:4") == nil)
    }

    /// --compare-recorded counts preempted jobs and preemptions apart, and says which: a
    /// job requeued twice is one preempted job and two preemptions (requeues), as the run
    /// summary's "preemptions" counts them. A ran 3 times recorded, 2 simulated; B once
    /// recorded, twice simulated: preempted jobs 1 / 2 / both 1, preemptions 2 / 2.
    @Test func preemptedJobsAndPreemptionsAreCountedApart() throws {
        let inputs = [ScheduleFidelity.Input(id: "A", submit: 0, priority: 1, recorded: (0, 30, 3), simulated: (0, 30, 2)),
                      ScheduleFidelity.Input(id: "B", submit: 0, priority: 1, recorded: (1, 20, 1), simulated: (1, 20, 2))]
        let fidelity = try #require(ScheduleFidelity(inputs))
        #expect(fidelity.preempted.recorded == 1 && fidelity.preempted.simulated == 2 && fidelity.preempted.both == 1)
        #expect(fidelity.preemptions == ScheduleFidelity.Counts(recorded: 2, simulated: 2))
        let table = fidelity.table()
        #expect(table.contains("preempted jobs        recorded 1, simulated 2, both 1; 50% of jobs agree"), "\(table)")
        #expect(table.contains("preemptions           recorded 2, simulated 2 (requeues: runs after a job's first)"), "\(table)")
    }

    /// A run of a real Slurm 22.05 (48 jobs, 5 requeues; sched_interval 60 s, bf_interval 30
    /// s), replayed under `slurm` with the configuration it ran with. Bounds are loose (the
    /// backfill cycle's phase is unknown to a replay); the README gives the measured figures.
    @Test(.enabled(if: FileManager.default.fileExists(atPath: capture + "/sacct.json"), "needs ../shared/slurm/capture-seed8"))
    func aCapturedSlurmRunIsReproduced() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let trace = dir.appendingPathComponent("t.jsonl").path, fleet = dir.appendingPathComponent("f.yaml").path
        #expect(try runFleettwin(["import", "slurm-sacct", Self.capture + "/sacct.json", "--out", trace]).status == 0)
        #expect(try runFleettwin(["import", "slurm-nodes", Self.capture + "/polls/sinfo-0000.json", "--out", fleet]).status == 0)
        let out = try runFleettwin(["replay", trace, "--fleet", fleet, "--policy", "slurm", "--placement", "best-fit",
                                    "--slurm-conf", Self.capture + "/slurm.conf", "--slurm-qos", Self.capture + "/qos.psv",
                                    "--compare-recorded", "--check", "--json", "--db", dir.appendingPathComponent("r.sqlite").path])
        #expect(out.status == 0, "\(out.stderr)")
        let object = try JSONSerialization.jsonObject(with: Data(out.stdout.utf8)) as! [String: Any]
        let schedule = object["scheduleFidelity"] as! [String: Any]
        #expect(schedule["jobs"] as? Int == 48)
        let error = schedule["absoluteStartError"] as! [String: Any]
        #expect((error["p50"] as! Double) <= 5)
        let makespan = schedule["makespan"] as! [String: Any]
        #expect(abs(makespan["relativeError"] as! Double) <= 0.1)
        let preempted = schedule["preempted"] as! [String: Any]
        #expect((preempted["simulated"] as! Int) >= 1 && (preempted["recorded"] as! Int) == 5)
        // Requeues as events, counted as the run summary counts its preemptions.
        let preemptions = schedule["preemptions"] as! [String: Any]
        #expect(preemptions["simulated"] as? Int == object["preemptions"] as? Int, "\(preemptions), summary \(String(describing: object["preemptions"]))")
    }

    // MARK: Forecasts from a snapshot (the live twin's fork)

    /// One node of 4 GPUs at t = 1e9: A (4 GPUs) started 100 s ago with a 300 s limit; B (4
    /// GPUs) waits behind it.
    static let snapshot = ClusterSnapshot(
        time: 1e9, nodes: [.init(name: "n1", gpus: 4), .init(name: "n2", gpus: 4, up: false)],
        running: [.init(id: "7", gpus: 4, submit: 1e9 - 150, timeLimit: 300, user: "ana", start: 1e9 - 100, shares: [.init(node: "n1", gpus: 4)])],
        pending: [.init(id: "9", gpus: 4, submit: 1e9 - 20, timeLimit: 60, user: "bo", reason: "Resources"),
                  .init(id: "8", gpus: 2, submit: 1e9 - 30, timeLimit: 60, user: "bo", reason: "Priority")])

    /// Without history a job runs to its limit, as Slurm plans: A ends at +200, then 8 (first
    /// by job id) and 9 queue behind each other on the one up node.
    @Test func withoutHistoryRunningJobsEndAtTheirLimits() async throws {
        let f = try await Forecaster.forecast(Self.snapshot, configuration: Self.instant, runtimes: RuntimeModel(), replicas: 3, seed: 1)
        #expect(f.map(\.id) == ["8", "9"])
        #expect(f[0].p10 == 1e9 + 200 && f[0].p50 == 1e9 + 200 && f[0].p90 == 1e9 + 200 && f[0].notStarted == 0)
        #expect(f[1].p50 == 1e9 + 260 && f[1].reason == "Resources")
    }

    /// With history, run times are drawn as shares of the limit, conditioned on what a
    /// running job has already run: A (100 s of 300) can only draw 0.5 of it (0.2 is past).
    @Test func historyShortensTheForecastAndSpreadsIt() async throws {
        let model = RuntimeModel(overall: [0.2, 0.5, 0.5])
        let f = try await Forecaster.forecast(Self.snapshot, configuration: Self.instant, runtimes: model, replicas: 20, seed: 4)
        #expect(f[0].p50 == 1e9 + 50)
        // 8 then runs 12 or 30 s (0.2 or 0.5 of 60): 9 starts at +62 or +80.
        let nine = f[1]
        #expect(nine.p10 == 1e9 + 62 && nine.p90 == 1e9 + 80)
        let again = try await Forecaster.forecast(Self.snapshot, configuration: Self.instant, runtimes: model, replicas: 20, seed: 4)
        #expect(again == f)
    }

    /// Scores by hand: errors 10, 30 and 0 s (median 10, p90 30); two of three actual starts
    /// inside their intervals; a job that never started is not scored.
    @Test func forecastScoresAgainstActualStarts() {
        let made = [ForecastScore.Forecast(at: 0, id: "1", p10: 90, p50: 110, p90: 120),
                    ForecastScore.Forecast(at: 0, id: "2", p10: 100, p50: 130, p90: 150),
                    ForecastScore.Forecast(at: 5, id: "1", p10: 95, p50: 100, p90: 99),
                    ForecastScore.Forecast(at: 5, id: "3", p10: 1, p50: 2, p90: 3)]
        let baseline = [ForecastScore.Forecast(at: 0, id: "1", p10: 200, p50: 200, p90: 200)]
        let score = ForecastScore(forecasts: made, actualStarts: ["1": 100, "2": 160], baseline: ("time limits", baseline))
        #expect(score.forecasts == 3)
        #expect(score.medianAbsStartErrorSeconds == 10 && score.p90AbsStartErrorSeconds == 30)
        #expect(score.coverageP10P90 == 1.0 / 3.0)
        #expect(score.baseline?.forecasts == 1 && score.baseline?.medianAbsStartErrorSeconds == 100 && score.baseline?.coverageP10P90 == 0)
    }

    @Test func onlyPoliciesThatAdoptRunningJobsTakeAFork() async throws {
        let fleet = FleetSpec(regions: [RegionSpec(name: "r", clusters: [ClusterSpec(name: "c", nodes: 1, acceleratorsPerNode: 4, acceleratorType: "h100-80gb")])],
                              profiles: [AcceleratorProfile.h100])
        var config = SimulationConfiguration(fleet: fleet, jobs: [JobSpec(name: "a", submit: .zero, tier: .standard, worldSize: 4,
                                                                          acceleratorType: "h100-80gb", work: .seconds(Int64(10)))],
                                             policy: InertPolicy())
        config.adopted = [0: AdoptedRun(cluster: 0, shares: [NodeShare(node: 0, count: 4)])]
        #expect(throws: SimulationError.self) { _ = try FleetSimulation(config) }
        for policy: any SchedulingPolicy in [SlurmPolicy(configuration: SlurmConfiguration()), FIFOPolicy(),
                                             GavelPolicy(objective: .maxMinFairness)] {
            config.policy = policy
            let result = try await FleetSimulation(config).run()
            #expect(result.log.records.filter { $0.kind == .started }.map(\.time) == [.zero], "\(policy.name)")
            #expect(result.log.records.filter { $0.kind == .completed }.map(\.time) == [.seconds(Int64(10))], "\(policy.name)")
        }
    }

    /// Slurm's defaults under the instant model: the forecast cases count whole seconds.
    static let instant: SlurmConfiguration = {
        var c = SlurmConfiguration()
        c.schedulerLatency = nil
        return c
    }()

    static let capture = repositoryRoot.deletingLastPathComponent().appendingPathComponent("shared/slurm/capture-seed8").path
}
