import FleetTwinEngine
import FleetTwinMetrics
import FleetTwinPolicy
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

    /// P (partition `high`, normal QOS, both nodes) heads the queue and stops the main
    /// scheduler's walk: it may preempt nobody. H (high QOS, 4 GPUs) behind it is reached only
    /// by backfill, whose will-run test finds it could start now with its preemptable jobs
    /// gone: the cycle at 10.5 requeues L1 and holds node 1 for H, which the next cycle (its
    /// one-second retry after the change, 11.5... up to bf_interval later) starts. Without
    /// backfill preemption H waited behind P until L1 and L2 ended (past 50).
    @Test func backfillPreemptsForAJobTheMainSchedulerDoesNotReach() async throws {
        let jobs = [#"{"id":"L1","submit":0,"worldSize":4,"duration":50,"timeLimit":120,"qos":"normal"}"#,
                    #"{"id":"L2","submit":1,"worldSize":4,"duration":50,"timeLimit":120,"qos":"normal"}"#,
                    #"{"id":"P","submit":2,"worldSize":8,"duration":10,"timeLimit":60,"qos":"normal","partition":"high","nodes":2}"#,
                    #"{"id":"H","submit":8,"worldSize":4,"duration":10,"timeLimit":60,"qos":"high"}"#]
        let (result, metrics) = try await hand.replay(jobs, latency: half)
        #expect(requeued(result) == ["L1"])
        let requeueTime = result.log.records.first { $0.kind == .requeued }?.time.seconds ?? -1
        #expect(requeueTime == 10.5)
        let h = startTimes(result, "H")
        #expect(h.count == 1 && h[0] > requeueTime && h[0] <= requeueTime + 10)
        #expect(metrics.jobsCompleted == 4 && metrics.preemptions == 1)
    }

    /// One node: L ends at 50, when the main pass (instant model) starts P (partition `high`,
    /// first in order) and then reaches H (high QOS), which does not fit. P, started in that
    /// very pass, is no victim (the earlier rule requeued it in the instant of its start,
    /// which the run's checks refuse); the next pass (the cycle at 60) requeues it for H.
    @Test func aJobStartedInThisPassIsNoVictim() async throws {
        let (result, metrics) = try await hand.replay([
            #"{"id":"L","submit":0,"worldSize":4,"duration":50,"timeLimit":120,"qos":"normal"}"#,
            #"{"id":"P","submit":2,"worldSize":4,"duration":30,"timeLimit":60,"qos":"normal","partition":"high"}"#,
            #"{"id":"H","submit":8,"worldSize":4,"duration":10,"timeLimit":60,"qos":"high"}"#,
        ], nodes: 1)
        #expect(metrics.jobsCompleted == 3)
        #expect(startTimes(result, "P").first == 50 && startTimes(result, "H") == [60])
        #expect(result.log.records.filter { $0.kind == .requeued }.map(\.time.seconds) == [60])
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
