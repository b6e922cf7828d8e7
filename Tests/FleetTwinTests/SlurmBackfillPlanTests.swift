import FleetTwinEngine
import FleetTwinFleet
@testable import FleetTwinPolicy
import Testing

/// The `slurm` policy's backfill plans against the straightforward reading they replace:
/// `NodePlan.earliest` (which halves the segments) against trying every segment in turn, and
/// `NodeSpace` (bit sets) against per-node counts of reservations. Both on random plans, so
/// that a change to either structure that would change a backfill decision fails here.
@Suite struct SlurmBackfillPlanTests {
    /// A small deterministic generator (SplitMix64), so that a failure reproduces.
    struct Random {
        var state: UInt64
        mutating func next(_ bound: Int) -> Int {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return Int((z ^ (z >> 31)) % UInt64(bound))
        }
    }

    func t(_ s: Int) -> VirtualTime { .seconds(Int64(s)) }

    /// A plan as a backfill cycle builds it: each node's GPUs free now or held by running jobs
    /// that end at random times, and some jobs started now for random durations.
    func randomPlan(_ random: inout Random, nodes: Int, perNode: Int) -> NodePlan {
        var free: [Int] = [], releases: [(end: VirtualTime, shares: [NodeShare])] = []
        for node in 0..<nodes {
            let f = random.next(perNode + 1)
            free.append(f)
            var held = perNode - f
            while held > 0 {
                let count = 1 + random.next(held)
                releases.append((t(1 + random.next(20) * 10), [NodeShare(node: Int32(node), count: Int32(count))]))
                held -= count
            }
        }
        releases.sort { $0.end < $1.end }
        var plan = NodePlan(now: .zero, free: free, releases: releases)
        for _ in 0..<random.next(3) {
            let node = random.next(nodes)
            let count = plan.freeNow(node)
            if count > 0 { plan.take([NodeShare(node: Int32(node), count: Int32(1 + random.next(count)))], from: .zero, to: t(5 + random.next(30) * 10)) }
        }
        return plan
    }

    /// The will-run windows on a case the local Slurm logged (slurmctld, DebugFlags=Backfill,
    /// SelectType, 2026-11-30 10:28:59; times here in seconds after 10:28:00, a multiple of
    /// 30 s of the Unix clock): 4 nodes x 8 GPUs, 1, 0, 4 and 8 free now; jobs end at 103 (4
    /// GPUs on n1), 109 (2, n1), 113 (2, n3), 165 (8, n2), 177 (1, n1) and 179 (2, n3). A
    /// 16-GPU job needs two whole nodes. The first group ends the jobs up to the barrier (103
    /// rounded up to 120) + 30 s: 103, 109, 113; not enough. The window doubles to 60 s and
    /// the next group takes 165, 177 and 179: it fits after 179, on n1 and n2, which is
    /// what Slurm said ("JobId=6 to start at 10:30:59 ... on nodes n[1-2]"). The exact earliest
    /// start is 165 on n2 and n4; with the clock 15 s later the barrier is 105, the second
    /// group holds 165 alone, and the start is 165 too.
    /// Whole nodes as job_test.c `_eval_nodes` takes them from runs of consecutive available
    /// nodes (runs 0-2, 4-5, 7): the first of the shortest runs that hold them; when none
    /// does, the longest run whole, then again for the rest: 4 nodes are 0-2 and then 7 (the
    /// shortest run that holds the one left), not 4. One node, by CPU cores: the run with the
    /// fewest free cores in all (node 7 alone, 10, against 4-5's 9 + 9), not the node with the
    /// fewest (4 or 5).
    @Test func consecutiveRunsAreTakenAsEvalNodesTakesThem() {
        let available = [0, 1, 2, 4, 5, 7]
        #expect(NodePlan.consecutive(2, of: available) == [4, 5])
        #expect(NodePlan.consecutive(3, of: available) == [0, 1, 2])
        #expect(NodePlan.consecutive(4, of: available) == [0, 1, 2, 7])
        #expect(NodePlan.consecutive(6, of: available) == available)
        #expect(NodePlan.consecutive(7, of: available) == nil)
        let free = [0, 0, 0, 0, 2, 2, 0, 2], cpus = [16, 16, 16, 16, 9, 9, 16, 10]
        #expect(NodePlan.choose(1, perNode: 4, free: free, rule: .bestFit, preferring: .consecutive(free, cpus: cpus)) == [NodeShare(node: 7, count: 1)])
        #expect(NodePlan.choose(1, perNode: 4, free: free, rule: .bestFit, preferring: .consecutive(free)) == [NodeShare(node: 4, count: 1)])
    }

    @Test func willRunWindowsGroupJobEndsAsSlurmDoes() {
        func share(_ node: Int32, _ count: Int32) -> [NodeShare] { [NodeShare(node: node, count: count)] }
        func plan() -> NodePlan {
            NodePlan(now: t(59), free: [1, 0, 4, 8], releases: [(t(103), share(0, 4)), (t(109), share(0, 2)), (t(113), share(2, 2)),
                                                                (t(165), share(1, 8)), (t(177), share(0, 1)), (t(179), share(2, 2))])
        }
        var all = NodeSet(nodes: 4)
        for node in 0..<4 { all.insert(node) }
        var p = plan()
        let windows = p.earliestInWindows(16, perNode: 8, rule: .bestFit, from: t(59), before: t(100_000), on: all, window: t(30), clock: 0)
        #expect(windows?.0 == t(179) && windows?.1 == share(0, 8) + share(1, 8))
        var q = plan()
        let exact = q.earliest(16, perNode: 8, rule: .bestFit, from: t(59), before: t(100_000), on: all)
        #expect(exact?.0 == t(165) && exact?.1 == share(1, 8) + share(3, 8))
        var r = plan()
        let shifted = r.earliestInWindows(16, perNode: 8, rule: .bestFit, from: t(59), before: t(100_000), on: all, window: t(30),
                                          clock: 15_000_000)
        #expect(shifted?.0 == t(165))
        // A job that fits now starts now; jobs ending on nodes closed to it are passed over
        // (n1 alone open: its jobs end at 103, 109 and 177; 8 GPUs fit there after 177).
        var u = plan()
        #expect(u.earliestInWindows(1, perNode: 8, rule: .bestFit, from: t(59), before: t(100_000), on: all, window: t(30), clock: 0)?.0 == t(59))
        var onlyFirst = NodeSet(nodes: 4)
        onlyFirst.insert(0)
        var v = plan()
        #expect(v.earliestInWindows(8, perNode: 8, rule: .bestFit, from: t(59), before: t(100_000), on: onlyFirst, window: t(30), clock: 0)?.0 == t(177))
    }

    /// A plan that tracks cores offers a job, in every segment, only the GPUs the node's free
    /// cores allow (gres_sched.c `gres_sched_add`): 3 GPUs come free at 10 with 2 cores (3
    /// free then), 13 more cores at 20; a 3-GPU job at 2 cores per GPU fits from 20,
    /// one at 1 core per GPU from 10 (it would have been 10 for both on GPUs alone).
    @Test func laterStartsAreFittedByCoresToo() {
        let node = [NodeShare(node: 0, count: 3)], last = [NodeShare(node: 0, count: 1)]
        var all = NodeSet(nodes: 1)
        all.insert(0)
        for (perGPU, expected) in [(2.0, t(20)), (1.0, t(10))] {
            var plan = NodePlan(now: .zero, free: [0], cores: [1], releases: [(t(10), node, [2]), (t(20), last, [13])])
            plan.demand = CPUDemand(perGPU: perGPU, nodeCores: 16)
            #expect(plan.earliest(3, perNode: 4, rule: .bestFit, from: .zero, before: t(1000), on: all)?.0 == expected)
        }
        #expect(CPUDemand(perGPU: 2, nodeCores: 16).gpus(4, fittingIn: 5) == 2 && CPUDemand(perGPU: 0.5, nodeCores: 16).gpus(4, fittingIn: 1) == 2)
        #expect(CPUDemand(perGPU: 10, nodeCores: 16).gpus(4, fittingIn: 16) == 4 && CPUDemand().gpus(4, fittingIn: 0) == 0)
        // A product whole but for rounding is that many cores: 10 CPUs over 30 GPUs, 3 GPUs.
        #expect(CPUDemand(perGPU: 10.0 / 30.0 * 3.0 / 3.0, nodeCores: 16).cores(for: 3) == 1)
        #expect(CPUDemand(perGPU: 0.1, nodeCores: 16).cores(for: 30) == 3)
        // Cores by node (a trace's `cpus`): the same on a node whatever its GPUs, none without them.
        #expect(CPUDemand(perNode: 3, nodeCores: 16).cores(for: 1) == 3 && CPUDemand(perNode: 3, nodeCores: 16).cores(for: 8) == 3)
        #expect(CPUDemand(perNode: 3, nodeCores: 16).gpus(8, fittingIn: 3) == 8 && CPUDemand(perNode: 3, nodeCores: 16).gpus(8, fittingIn: 2) == 0)
        #expect(CPUDemand(perNode: 3, nodeCores: 2).cores(for: 1) == 2)
    }

    @Test func earliestIsTheFirstSegmentWhereTheJobFits() {
        var random = Random(state: 15)
        for _ in 0..<3000 {
            let nodes = 1 + random.next(70), perNode = [1, 2, 4, 8][random.next(4)]
            var plan = randomPlan(&random, nodes: nodes, perNode: perNode)
            var open = NodeSet(nodes: nodes)
            for node in 0..<nodes where random.next(5) > 0 { open.insert(node) }
            let size = 1 + random.next(perNode * 3)
            let rule = [PlacementRule.bestFit, .firstFit, .spread, .any][random.next(4)]
            let start = t(random.next(150)), horizon = t(random.next(250))
            // Every segment from the one containing `start`, in turn, as the plan was read before.
            var expected: (VirtualTime, [NodeShare])?
            for k in plan.times.indices where k + 1 == plan.times.count || plan.times[k + 1] > start {
                let at = max(plan.times[k], start)
                if at > horizon { break }
                let masked = plan.free(segment: k).enumerated().map { open.contains($0.offset) ? $0.element : 0 }
                if let shares = NodePlan.choose(size, perNode: perNode, free: masked, rule: rule, preferring: .consecutive(masked)) {
                    expected = (at, shares)
                    break
                }
            }
            let found = plan.earliest(size, perNode: perNode, rule: rule, from: start, before: horizon, on: open)
            #expect(found?.0 == expected?.0 && found?.1 == expected?.1, "size \(size) of \(nodes)x\(perNode), \(rule)")
        }
    }

    @Test func nodeSpaceAgreesWithCountsOfReservations() {
        var random = Random(state: 22)
        for _ in 0..<500 {
            let nodes = 1 + random.next(130)
            let down = (0..<nodes).map { _ in random.next(10) == 0 }
            var space = NodeSpace(start: t(0), down: down)
            // The reference: per node, the reservations holding it.
            var held: [[(VirtualTime, VirtualTime)]] = Array(repeating: [], count: nodes)
            func isOpen(_ node: Int, _ a: VirtualTime, _ b: VirtualTime) -> Bool {
                !down[node] && !held[node].contains { $0.0 < b && $0.1 > a }
            }
            for _ in 0..<40 {
                let a = t(random.next(100)), b = a + t(1 + random.next(50))
                let shares = (0..<(1 + random.next(3))).map { _ in NodeShare(node: Int32(random.next(nodes)), count: 1) }
                let fits = shares.allSatisfy { isOpen(Int($0.node), a, b) }
                #expect(space.fits(shares, from: a, to: b) == fits)
                if fits {
                    space.take(shares, from: a, to: b)
                    for s in shares { held[Int(s.node)].append((a, b)) }
                }
                let x = t(random.next(160)), y = x + t(1 + random.next(60))
                let open = space.open(from: x, to: y)
                #expect((0..<nodes).allSatisfy { open.contains($0) == isOpen($0, x, y) })
                let bounds = Set(held.flatMap { $0.flatMap { [$0.0, $0.1] } } + [t(0)])
                #expect(space.firstTime(after: x) == bounds.filter { $0 > x }.min())
            }
        }
    }
}
