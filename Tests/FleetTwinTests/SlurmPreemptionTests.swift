import FleetTwinEngine
import FleetTwinMetrics
@testable import FleetTwinPolicy
import FleetTwinScheduling
import Foundation
import Testing

/// The `slurm` policy's preemption as Slurm 22.05 does it, on cases worked by hand: the victims
/// select/cons_common's `_run_now` chooses, the preemptor starting only at the pass after its
/// victims' requeue, and the backfill scheduler preempting for a job the main scheduler does
/// not reach. The replays are SlurmPolicyTests' (2 or 3 nodes x 4 GPUs, its slurm.conf and
/// QOS table: `high` preempts `normal` by requeue).
@Suite struct SlurmPreemptionTests {
    let hand = SlurmPolicyTests()
    let half = VirtualTime(microseconds: 500_000)

    func requeued(_ result: SimulationResult) -> [String] {
        result.log.records.filter { $0.kind == .requeued }.map { result.jobs[Int($0.job)].name }
    }

    func startTimes(_ result: SimulationResult, _ job: String) -> [Double] {
        result.log.records.filter { $0.kind == .started && result.jobs[Int($0.job)].name == job }.map(\.time.seconds)
    }

    /// 3 nodes: M holds nodes 1-2 (8 GPUs), S1 and S2 two GPUs each on node 3; H (high, 8 GPUs)
    /// needs two whole nodes. The candidates in the preempt plugin's order are S1, S2 (one node
    /// each) then M (two). Removing S1 and S2 frees node 3 only; removing M too makes H fit, on
    /// nodes 1-2 (the first two of the consecutive run 1-3). Reordered, M comes first and alone
    /// makes H fit: M is the only victim. (Choosing by node, the cheapest node for each of H's
    /// two nodes, requeued all three.)
    @Test func theVictimsAreThoseTheSelectPluginsRemovalTakes() async throws {
        let (result, metrics) = try await hand.replay([
            #"{"id":"M","submit":0,"worldSize":8,"duration":100,"timeLimit":200,"qos":"normal","nodes":2}"#,
            #"{"id":"S1","submit":1,"worldSize":2,"duration":100,"timeLimit":200,"qos":"normal"}"#,
            #"{"id":"S2","submit":2,"worldSize":2,"duration":100,"timeLimit":200,"qos":"normal"}"#,
            #"{"id":"H","submit":10,"worldSize":8,"duration":10,"timeLimit":60,"qos":"high","nodes":2}"#,
        ], nodes: 3)
        #expect(requeued(result) == ["M"])
        #expect(startTimes(result, "H") == [10])
        #expect(metrics.preemptions == 1)
    }

    /// `preempt_youngest_first`: the latest started goes first. L1 (node 1) and L2 (node 2)
    /// hold both nodes; H needs 4 GPUs. By priority (equal) the list order is L1, L2 and L1 is
    /// requeued; youngest first, L2.
    @Test func youngestFirstReversesTheCandidates() async throws {
        let jobs = [#"{"id":"L1","submit":0,"worldSize":4,"duration":50,"timeLimit":120,"qos":"normal"}"#,
                    #"{"id":"L2","submit":1,"worldSize":4,"duration":50,"timeLimit":120,"qos":"normal"}"#,
                    #"{"id":"H","submit":10,"worldSize":4,"duration":10,"timeLimit":60,"qos":"high"}"#]
        let (r1, _) = try await hand.replay(jobs)
        #expect(requeued(r1) == ["L1"])
        let youngest = SlurmPolicyTests.conf.replacingOccurrences(of: "bf_resolution=1", with: "bf_resolution=1,preempt_youngest_first")
        let (r2, _) = try await hand.replay(jobs, conf: youngest)
        #expect(requeued(r2) == ["L2"])
    }

    /// Under slurmctld's timing, H's submission at 10 is served at 10.5: that pass requeues L1
    /// (select_nodes answers ESLURM_NODES_BUSY, L1's node is completing), and H starts at the
    /// pass L1's requeue asks for, half a second later (11). Its own earlier claim on the node
    /// is not repeated: one requeue.
    @Test func thePreemptorStartsAtThePassAfterItsVictimsRequeue() async throws {
        let (result, metrics) = try await hand.replay([
            #"{"id":"L1","submit":0,"worldSize":4,"duration":50,"timeLimit":120,"qos":"normal"}"#,
            #"{"id":"L2","submit":1,"worldSize":4,"duration":50,"timeLimit":120,"qos":"normal"}"#,
            #"{"id":"H","submit":10,"worldSize":4,"duration":10,"timeLimit":60,"qos":"high"}"#,
        ], latency: half)
        #expect(result.log.records.filter { $0.kind == .requeued }.map(\.time.seconds) == [10.5])
        #expect(startTimes(result, "H") == [11])
        #expect(metrics.preemptions == 1)
    }

    /// X (high QOS, both nodes) heads the queue and stops the main scheduler's walk: A (high
    /// QOS too) holds node 1, so stopping L would not make X fit. H (high QOS, 4 GPUs) behind
    /// it is reached only by backfill: X's reservation begins at A's time limit (200), H's
    /// limit ends before, and its will-run test finds it could start now with L gone. The
    /// cycle at 10.5 requeues L and holds node 2 for H, which a later cycle (its one-second
    /// retry after the change, up to bf_interval later) starts. Without backfill preemption
    /// H waited for A or L to end (100).
    @Test func backfillPreemptsForAJobTheMainSchedulerDoesNotReach() async throws {
        let jobs = [#"{"id":"A","submit":0,"worldSize":4,"duration":100,"timeLimit":200,"qos":"high"}"#,
                    #"{"id":"L","submit":1,"worldSize":4,"duration":100,"timeLimit":200,"qos":"normal"}"#,
                    #"{"id":"X","submit":2,"worldSize":8,"duration":10,"timeLimit":60,"qos":"high","nodes":2}"#,
                    #"{"id":"H","submit":8,"worldSize":4,"duration":10,"timeLimit":60,"qos":"high"}"#]
        let (result, metrics) = try await hand.replay(jobs, latency: half)
        #expect(requeued(result) == ["L"])
        let requeueTime = result.log.records.first { $0.kind == .requeued }?.time.seconds ?? -1
        #expect(requeueTime == 10.5)
        let h = startTimes(result, "H")
        #expect(h.count == 1 && h[0] > requeueTime && h[0] <= requeueTime + 10)
        #expect(metrics.jobsCompleted == 4 && metrics.preemptions == 1)
    }

    /// The queue puts a job that may preempt another before it, whatever their partitions
    /// (job_scheduler.c `sort_job_queue2` tests `preempt_g_job_preempt_check` first). One
    /// node: L (normal QOS) runs; P (partition `high`, tier 10, normal QOS) and then H (high
    /// QOS, partition `gpu`, tier 1) arrive. H goes first: at its submission (8, the instant
    /// model) it requeues L and starts; P follows when H ends (18), and L, eligible again
    /// at 14, after P (48). Ordered by tier, P headed the queue, stopped the walk and could
    /// preempt nobody, and H waited for L's end (50) and then P's start.
    @Test func aJobThatMayPreemptAnotherGoesBeforeIt() async throws {
        let (result, metrics) = try await hand.replay([
            #"{"id":"L","submit":0,"worldSize":4,"duration":50,"timeLimit":120,"qos":"normal"}"#,
            #"{"id":"P","submit":2,"worldSize":4,"duration":30,"timeLimit":60,"qos":"normal","partition":"high"}"#,
            #"{"id":"H","submit":8,"worldSize":4,"duration":10,"timeLimit":60,"qos":"high"}"#,
        ], nodes: 1)
        #expect(metrics.jobsCompleted == 3)
        #expect(startTimes(result, "H") == [8] && startTimes(result, "P") == [18] && startTimes(result, "L") == [0, 48])
        #expect(result.log.records.filter { $0.kind == .requeued }.map(\.time.seconds) == [8])
    }

    /// A requeue resets the job's submit time (job_mgr.c `batch_requeue_fini`), which orders
    /// equal priorities: L, requeued at 10 for H, goes behind W (submitted at 5) when H ends
    /// at 20, and starts when W ends (30). Kept in its place by job id, L went first at 20.
    @Test func aRequeuedJobGoesBehindThoseSubmittedBeforeItsRequeue() async throws {
        let (result, metrics) = try await hand.replay([
            #"{"id":"L","submit":0,"worldSize":4,"duration":50,"timeLimit":120,"qos":"normal"}"#,
            #"{"id":"W","submit":5,"worldSize":4,"duration":10,"timeLimit":60,"qos":"normal"}"#,
            #"{"id":"H","submit":10,"worldSize":4,"duration":10,"timeLimit":60,"qos":"high"}"#,
        ], nodes: 1)
        #expect(metrics.jobsCompleted == 3 && requeued(result) == ["L"])
        #expect(startTimes(result, "H") == [10] && startTimes(result, "W") == [20] && startTimes(result, "L") == [0, 30])
    }

    /// Under `preempt/partition_prio` a victim's grace time is its partition's `GraceTime`
    /// (preempt_partition_prio.c `_get_grace_time`), not its QOS's: L (partition `gpu`,
    /// GraceTime=5) runs on for 5 s after H (partition `high`) claims its node at 10, so H
    /// starts at 15. With the QOS's grace time (0), L went at once and H started at 10.
    @Test func partitionPreemptionWaitsThePartitionsGraceTime() async throws {
        let conf = SlurmPolicyTests.conf
            .replacingOccurrences(of: "PreemptType=preempt/qos", with: "PreemptType=preempt/partition_prio")
            .replacingOccurrences(of: "PartitionName=gpu Nodes=ALL Default=YES PriorityTier=1", with: "PartitionName=gpu Nodes=ALL Default=YES PriorityTier=1 GraceTime=5")
        let (result, metrics) = try await hand.replay([
            #"{"id":"L","submit":0,"worldSize":4,"duration":50,"timeLimit":120,"qos":"normal"}"#,
            #"{"id":"H","submit":10,"worldSize":4,"duration":10,"timeLimit":60,"qos":"normal","partition":"high"}"#,
        ], conf: conf, nodes: 1)
        #expect(metrics.jobsCompleted == 2 && requeued(result) == ["L"])
        #expect(result.log.records.filter { $0.kind == .requeued }.map(\.time.seconds) == [15])
        #expect(startTimes(result, "H") == [15])
    }

    /// The QOS ladder the queue is sorted by: one more than the highest rank a QOS may preempt;
    /// a QOS preempting nobody is 0; a cycle stays bounded.
    @Test func theQOSLadderRanksPreemptors() throws {
        func qos(_ name: String, _ preempts: [String]) -> SlurmConfiguration.QOS {
            SlurmConfiguration.QOS(name: name, priority: 0, preempts: preempts, preemptMode: "requeue", graceTime: .zero)
        }
        #expect(SlurmPolicy.preemptLevels(of: [qos("normal", []), qos("urgent", ["high", "normal"]), qos("high", ["normal"]),
                                               qos("scavenger", [])]) == [0, 2, 1, 0])
        let cycle = SlurmPolicy.preemptLevels(of: [qos("a", ["b"]), qos("b", ["a"])])
        #expect(cycle.allSatisfy { $0 <= 2 })
    }

    /// The keys that steer preemption are read, and a preemptor that signalled its victims
    /// within KillWait + MessageTimeout signals no more.
    @Test func preemptionParametersAreRead() throws {
        let c = try SlurmConfiguration.parse("""
            SchedulerParameters=preempt_reorder_count=3,preempt_strict_order,preempt_youngest_first,bf_interval=5
            KillWait=5
            MessageTimeout=12
            """, file: "slurm.conf")
        #expect(c.preemptReorderCount == 3 && c.preemptStrictOrder && c.preemptYoungestFirst && c.bfInterval == .seconds(Int64(5)))
        #expect(c.killWait == .seconds(Int64(5)) && c.messageTimeout == .seconds(Int64(12)))
        let d = SlurmConfiguration()
        #expect(d.preemptReorderCount == 1 && !d.preemptStrictOrder && !d.preemptYoungestFirst && d.killWait == .seconds(Int64(30)))
        #expect(throws: SlurmConfigurationError.self) { try SlurmConfiguration.parse("SchedulerParameters=preempt_reorder_count=-1\n", file: "s") }
    }
}
