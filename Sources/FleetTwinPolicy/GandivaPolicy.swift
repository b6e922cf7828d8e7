import FleetTwinEngine
import FleetTwinFleet

/// `gandiva`: Gandiva's time-slicing, packing and node-set re-partitioning as the Tiresias
/// simulator implements it (schedule `gandiva`, scheme `gandiva`: `run_sim.py::gandiva_sim_jobs`,
/// `cluster.py::gandiva_placement`, `gandiva_node_set_adjust`, `gandiva_node_set_expand` and
/// `time_slicing_execute`; research/policies.md §5a).
///
/// **Node sets.** Nodes are grouped into node sets, each serving one job-size class (here the
/// world size itself; Tiresias knows 1, 2, 4, 8, 12, 16, 24, 32 and 64): a set of class g holds
/// ⌈g / accelerators per node⌉ whole nodes and runs ⌊its accelerators / g⌋ jobs at once (its
/// *capacity*; Tiresias' `concurrency`, every job's `mem_util` being 1). A new job is placed as
/// `gandiva_placement` does: packed into the least-loaded set of its class when one more job
/// keeps its load strictly below capacity; otherwise in a new set made of free nodes (nodes
/// no set owns, lowest index first; fully idle ones first); otherwise it oversubscribes the
/// least-loaded set of its class; otherwise it waits without a set and is placed again at
/// every pass, in arrival order. A set whose last job ends is dissolved and its nodes are free.
///
/// **Time-slicing.** Inside each set the first `capacity` jobs of its list run; at every
/// multiple of `quantum` (60 s) a set with more jobs than that moves its first `capacity` jobs
/// to the back (round-robin). Only the jobs whose turn starts or ends change: those leaving the
/// front are suspended (preempted, progress kept), those entering it resume on the set's nodes.
///
/// **Re-partitioning (migration to consolidate).** As `gandiva_node_set_adjust` grows a class:
/// in each cluster a class's target is min(⌊its demand / all demand x the cluster's
/// accelerators⌋, its demand), demand being its jobs x g; while a class is below its target,
/// has waiting jobs beyond a set's capacity and free nodes suffice, a new set of free nodes is
/// opened and the waiting jobs are moved into it.
///
/// **Where FleetTwin differs from the original, and why.**
/// - Tiresias oversubscribes a set's GPUs by several jobs at once and advances only the first
///   `concurrency` of them in 10 s steps; here the waiting ones are suspended and resumed by
///   preempt and start (free under `MechanismSettings.free`, as in the original; costed by
///   default). Completions are exact rather than rounded up to the 10 s step, and rotations
///   fall on multiples of the quantum in absolute time (Tiresias tests `cur_time % 60` on its
///   step grid, which an arrival off the 10 s grid shifts so that rotations can be skipped).
/// - The re-spreading of *all* of a growing class's jobs, and the shrinking of a class above its
///   target (`gandiva_node_set_shrink`), are not modelled: only waiting jobs move, since moving
///   a running job would cost FleetTwin a dump and a restore that the original does not charge.
/// - FleetTwin's liveness rule (no idle accelerator while a waiting job fits it; `--check`) is
///   stricter than Gandiva's node sets, which can leave a partly used set's accelerators or a
///   free node idle while jobs of another class time-slice. Any waiting job that fits idle
///   accelerators (under the run's placement rule) therefore runs there as a *guest*, outside
///   its set's turn; a guest keeps running until a set whose nodes it sits on needs them for a
///   job whose turn it is, and is then suspended. While the rest of that job's room comes
///   back, what is already free on the set's nodes is held for it (`reservations`, ending
///   when it starts), so no guest takes it meanwhile.
/// - A node set lives in one cluster; a job's class is its world size, whatever it is.
///
/// Per pass it does O(live node sets + their turns + job shapes) work, plus the jobs whose
/// turn ended at a rotation and, after a set was dissolved, the jobs without a set; the order
/// of every choice is fixed by set and job indices (no `Set` or `Dictionary` iteration).
public struct GandivaPolicy: SchedulingPolicy {
    public let name = "gandiva"
    public let placement: PlacementRule
    /// The round-robin quantum: Tiresias' `time_slicing_execute` rotates every 60 s.
    public let quantum: VirtualTime

    private var jobs: [GandivaJob] = []
    private var sets: [GandivaNodeSet] = []
    /// The sets not dissolved, by index.
    private var live: [Int] = []
    /// Per cluster, per node: the set that owns it, or -1 for a free node.
    private var owner: [[Int32]] = []
    /// Jobs not yet placed in a set, in arrival order.
    private var arrivals: [JobIndex] = []
    /// Jobs without a node set, in arrival order (Tiresias' `pending_jobs`), placed again only
    /// after a set was dissolved (Tiresias retries them when a node set was released).
    private var homeless: [JobIndex] = []
    private var setDissolved = false
    /// Running guests (see the type's documentation), in start order.
    private var guests: [JobIndex] = []
    /// Jobs being suspended (their devices on the way back).
    private var stopping: [JobIndex] = []
    /// Jobs whose turn ended at a rotation while they ran in their set, to suspend.
    private var turnEnded: [JobIndex] = []
    /// Waiting jobs by shape (world size and types), for the work-conserving fill.
    private var shapes: [WaitingShape] = []
    private var shapeOfJob: [Int32] = []
    private var planned: [SchedulingDecision] = []
    private var rotatedAt: VirtualTime?
    /// The earliest end of a protection that kept a job from being suspended.
    private var protectionEnds: VirtualTime?
    /// Free accelerators of a set's nodes held for its turn job while the rest of its room is
    /// on the way back (`turns`); recomputed at every pass.
    public private(set) var reservations: [Reservation] = []

    public init(placement: PlacementRule = .bestFit, quantum: VirtualTime = .seconds(Int64(60))) {
        self.placement = placement
        self.quantum = quantum
    }

    // MARK: Events

    public mutating func jobArrived(_ job: PendingJob, at now: VirtualTime) {
        precondition(Int(job.index) == jobs.count)
        jobs.append(GandivaJob(info: job))
        let shape: Int
        if let known = shapes.firstIndex(where: { $0.size == job.worldSize && $0.types == job.acceleratorTypes && $0.group == job.tensorGroup }) {
            shape = known
        } else {
            shape = shapes.count
            shapes.append(WaitingShape(size: job.worldSize, types: job.acceleratorTypes, group: job.tensorGroup))
        }
        shapeOfJob.append(Int32(shape))
        shapes[shape].jobs.insert(Self.key(job.index))
        arrivals.append(job.index)
    }

    public mutating func jobStarted(_ job: PendingJob, on run: JobRun, at now: VirtualTime) {
        let i = Int(job.index)
        jobs[i].info = job
        jobs[i].cluster = run.cluster
        jobs[i].shares = run.shares
        jobs[i].runningSince = now
        jobs[i].progressFrom = run.progressFrom
        if !jobs[i].inSet && !guests.contains(job.index) { guests.append(job.index) }
    }

    public mutating func jobCompleted(_ job: JobIndex, at now: VirtualTime) {
        let i = Int(job)
        transition(i, to: .done)
        jobs[i].shares = []
        let s = Int(jobs[i].set)
        guard s >= 0 else {
            homeless.removeAll { $0 == job }
            return
        }
        sets[s].members.removeAll { $0 == job }
        // Tiresias frees an empty node set's nodes (`time_slicing_execute`).
        if sets[s].members.isEmpty { dissolve(s) }
    }

    public mutating func jobPreempted(_ job: PendingJob, at now: VirtualTime) {
        let i = Int(job.index)
        jobs[i].info = job
        transition(i, to: .waiting)
        jobs[i].shares = []
    }

    /// Moves a job to `state`, keeping the guest, stopping and waiting lists.
    private mutating func transition(_ i: Int, to state: GandivaJob.State) {
        let old = jobs[i].state, index = JobIndex(i)
        guard old != state else { return }
        switch old {
        case .waiting: shapes[Int(shapeOfJob[i])].jobs.remove(Self.key(index))
        case .running: if !jobs[i].inSet { guests.removeAll { $0 == index } }
        case .stopping: stopping.removeAll { $0 == index }
        case .done: break
        }
        jobs[i].state = state
        switch state {
        case .waiting:
            shapes[Int(shapeOfJob[i])].jobs.insert(Self.key(index))
            jobs[i].inSet = false
        case .stopping: stopping.append(index)
        case .running, .done: break
        }
    }

    private static func key(_ job: JobIndex) -> PriorityKey { PriorityKey(Int64(job), 0, job: job) }

    private mutating func dissolve(_ s: Int) {
        sets[s].alive = false
        for node in sets[s].nodes { owner[Int(sets[s].cluster)][Int(node)] = -1 }
        live.removeAll { $0 == s }
        setDissolved = true
    }

    /// A repaired node may let a job without a set open one.
    public mutating func capacityChanged(at now: VirtualTime) { setDissolved = true }

    // MARK: Decisions

    public func wakeup(after now: VirtualTime) -> VirtualTime? {
        var next: VirtualTime?
        if quantum > .zero && live.contains(where: { sets[$0].members.count > sets[$0].capacity }) {
            next = VirtualTime(microseconds: (now.microseconds / quantum.microseconds + 1) * quantum.microseconds)
        }
        if let p = protectionEnds, p > now { next = min(next ?? p, p) }
        return next
    }

    public mutating func nextDecision(at now: VirtualTime, fleet: FleetView) -> SchedulingDecision? {
        if planned.isEmpty { plan(at: now, fleet: fleet) }
        return planned.isEmpty ? nil : planned.removeFirst()
    }

    private mutating func plan(at now: VirtualTime, fleet: FleetView) {
        if owner.count < fleet.clusters.count {
            for c in owner.count..<fleet.clusters.count {
                owner.append(Array(repeating: -1, count: fleet.clusters[c].nodes.nodeCount))
            }
        }
        if let ends = protectionEnds, ends <= now { protectionEnds = nil }
        reservations = []
        rotate(at: now)
        place(fleet)
        expand(fleet)
        var local = fleet.clusters.map(\.nodes)
        turns(at: now, fleet: fleet, local: &local)
        fillIdle(fleet, local: &local)
    }

    /// Round-robin: at a multiple of the quantum, each oversubscribed set moves its first
    /// `capacity` jobs to the back (`time_slicing_execute`, `switch_job`); those of them that
    /// ran in the set and lost their turn are to be suspended.
    private mutating func rotate(at now: VirtualTime) {
        guard quantum > .zero, now.microseconds % quantum.microseconds == 0, rotatedAt != now else { return }
        rotatedAt = now
        for s in live where sets[s].members.count > sets[s].capacity {
            let k = sets[s].capacity
            let before = sets[s].members.prefix(k)
            sets[s].members = Array(sets[s].members[k...] + sets[s].members[..<k])
            let after = sets[s].members.prefix(k)
            for j in before where !after.contains(j) && jobs[Int(j)].state == .running && jobs[Int(j)].inSet { turnEnded.append(j) }
        }
    }

    /// `gandiva_placement` for new jobs, and for jobs without a set once a set was dissolved,
    /// in arrival order (a failure does not stop the others; a job of a size and types that
    /// failed in this pass is not tried again in it).
    private mutating func place(_ fleet: FleetView) {
        var failed: [(size: Int, types: TypeSet)] = []
        if setDissolved && !homeless.isEmpty {
            var still: [JobIndex] = []
            for j in homeless where jobs[Int(j)].state != .done {
                if !attempt(j, failed: &failed, fleet: fleet) { still.append(j) }
            }
            homeless = still
        }
        setDissolved = false
        guard !arrivals.isEmpty else { return }
        for j in arrivals where jobs[Int(j)].state != .done {
            if !attempt(j, failed: &failed, fleet: fleet) { homeless.append(j) }
        }
        arrivals.removeAll()
    }

    /// Places a waiting job in a set; false when it is not waiting or no set takes it.
    private mutating func attempt(_ j: JobIndex, failed: inout [(size: Int, types: TypeSet)], fleet: FleetView) -> Bool {
        let info = jobs[Int(j)].info
        guard jobs[Int(j)].state == .waiting,
              !failed.contains(where: { $0.size == info.worldSize && $0.types == info.acceleratorTypes }) else { return false }
        guard let s = nodeSet(for: info, fleet: fleet) else {
            failed.append((info.worldSize, info.acceleratorTypes))
            return false
        }
        jobs[Int(j)].set = Int32(s)
        sets[s].members.append(j)
        return true
    }

    /// The set a new job joins: pack, else a new set of free nodes, else oversubscribe.
    private mutating func nodeSet(for job: PendingJob, fleet: FleetView) -> Int? {
        var least: Int?
        for s in live where sets[s].size == job.worldSize
            && job.acceleratorTypes.contains(fleet.clusters[Int(sets[s].cluster)].acceleratorType) {
            if least.map({ sets[s].members.count < sets[$0].members.count }) ?? true { least = s }
        }
        if let s = least, sets[s].members.count + 1 < sets[s].capacity { return s }
        for c in fleet.clusters(of: job.acceleratorTypes) {
            if let s = openSet(size: job.worldSize, cluster: c, fleet: fleet) { return s }
        }
        return least
    }

    /// A new set of class `size` from `cluster`'s free nodes (fully idle ones first, then by
    /// index), or nil when there are too few.
    private mutating func openSet(size: Int, cluster c: Int32, fleet: FleetView) -> Int? {
        let capacity = fleet.clusters[Int(c)].nodes
        let perNode = capacity.acceleratorsPerNode
        let count = (size + perNode - 1) / perNode
        guard count <= capacity.nodeCount else { return nil }
        var idle: [Int32] = [], busy: [Int32] = []
        for node in 0..<capacity.nodeCount where owner[Int(c)][node] < 0 && !capacity.isDown[node] {
            if capacity.freeOnNode[node] == perNode { idle.append(Int32(node)) } else { busy.append(Int32(node)) }
            if idle.count >= count { break }
        }
        guard idle.count + busy.count >= count else { return nil }
        let nodes = Array((idle + busy).prefix(count))
        let s = sets.count
        sets.append(GandivaNodeSet(cluster: c, size: size, nodes: nodes, capacity: count * perNode / size))
        live.append(s)
        for node in nodes { owner[Int(c)][Int(node)] = Int32(s) }
        return s
    }

    /// `gandiva_node_set_adjust`, growth only, moving waiting jobs only (see the type's
    /// documentation). Per cluster and class: demand (jobs x size), accelerators held, and
    /// whether a set of it is oversubscribed.
    private mutating func expand(_ fleet: FleetView) {
        guard live.contains(where: { sets[$0].members.count > sets[$0].capacity }) else { return }
        var classes: [(cluster: Int, size: Int, demand: Int, occupied: Int, crowded: Bool)] = []
        var total = Array(repeating: 0, count: fleet.clusters.count)
        for s in live {
            let set = sets[s], c = Int(set.cluster)
            var k = classes.count
            if let known = classes.firstIndex(where: { $0.cluster == c && $0.size == set.size }) { k = known } else {
                classes.append((c, set.size, 0, 0, false))
            }
            classes[k].demand += set.members.count * set.size
            classes[k].occupied += set.nodes.count * fleet.clusters[c].nodes.acceleratorsPerNode
            classes[k].crowded = classes[k].crowded || set.members.count > set.capacity
            total[c] += set.members.count * set.size
        }
        for var cls in classes where cls.crowded {
            let c = cls.cluster
            let target = min(cls.demand * fleet.clusters[c].capacity / total[c], cls.demand)
            while cls.occupied < target, freeNodes(in: c, fleet: fleet) * fleet.clusters[c].nodes.acceleratorsPerNode >= cls.size,
                  let from = mostCrowded(size: cls.size, cluster: Int32(c)),
                  let to = openSet(size: cls.size, cluster: Int32(c), fleet: fleet) {
                cls.occupied += sets[to].nodes.count * fleet.clusters[c].nodes.acceleratorsPerNode
                // The waiting jobs beyond the crowded set's turn, from its back.
                var k = sets[from].members.count - 1
                while k >= sets[from].capacity && sets[to].members.count < sets[to].capacity {
                    let j = sets[from].members[k]
                    if jobs[Int(j)].state == .waiting {
                        sets[from].members.remove(at: k)
                        jobs[Int(j)].set = Int32(to)
                        sets[to].members.append(j)
                    }
                    k -= 1
                }
            }
        }
    }

    /// Nodes of cluster `c` that no set owns and that are up.
    private func freeNodes(in c: Int, fleet: FleetView) -> Int {
        var count = 0
        for (node, o) in owner[c].enumerated() where o < 0 && !fleet.clusters[c].nodes.isDown[node] { count += 1 }
        return count
    }

    /// The set of class `size` in `cluster` with the most waiting jobs beyond its capacity.
    private func mostCrowded(size: Int, cluster: Int32) -> Int? {
        var best: Int?, most = 0
        for s in live where sets[s].size == size && sets[s].cluster == cluster && sets[s].members.count > sets[s].capacity {
            let surplus = sets[s].members.dropFirst(sets[s].capacity).reduce(0) { $0 + (jobs[Int($1)].state == .waiting ? 1 : 0) }
            if surplus > most { best = s; most = surplus }
        }
        return best
    }

    /// Each set's turn: suspend the jobs whose turn ended, resume the waiting ones at the front
    /// on the set's nodes, suspending guests there when they are in the way.
    private mutating func turns(at now: VirtualTime, fleet: FleetView, local: inout [ClusterCapacity]) {
        var kept: [JobIndex] = []
        for j in turnEnded {
            let job = jobs[Int(j)]
            guard job.state == .running, job.inSet, job.set >= 0, !sets[Int(job.set)].members.prefix(sets[Int(job.set)].capacity).contains(j) else { continue }
            if mayTake(Int(j), at: now) { suspend(Int(j)) } else { kept.append(j) }
        }
        turnEnded = kept
        for s in live {
            let set = sets[s], c = Int(set.cluster)
            for j in set.members.prefix(set.capacity) where jobs[Int(j)].state == .waiting {
                let need = jobs[Int(j)].info.worldSize, group = jobs[Int(j)].info.tensorGroup
                var shares: [NodeShare] = []
                var left = need
                for node in set.nodes where left > 0 && !local[c].isDown[Int(node)] {
                    // Whole tensor groups per node (a multiple of `group`, which divides `left`).
                    let free = local[c].freeOnNode[Int(node)]
                    let take = min(left, free - free % group)
                    if take > 0 { shares.append(NodeShare(node: node, count: Int32(take))); left -= take }
                }
                if left == 0 {
                    local[c].take(shares)
                    transition(Int(j), to: .running)
                    jobs[Int(j)].inSet = true
                    planned.append(.startOnNodes(j, cluster: set.cluster, shares: shares))
                    continue
                }
                // Room on its way back (jobs of this set or guests stopping here) counts.
                var coming = need - left, reachable = 0
                for k in stopping where Int(jobs[Int(k)].cluster) == c {
                    coming += jobs[Int(k)].shares.reduce(0) { $0 + (set.nodes.contains($1.node) ? Int($1.count) : 0) }
                }
                for g in guests.reversed() {
                    let guest = jobs[Int(g)]
                    guard guest.state == .running, Int(guest.cluster) == c else { continue }
                    let here = guest.shares.reduce(0) { $0 + (set.nodes.contains($1.node) ? Int($1.count) : 0) }
                    guard here > 0 else { continue }
                    if coming < need && mayTake(Int(g), at: now) {
                        suspend(Int(g))
                        coming += here
                    } else {
                        reachable += here
                    }
                }
                // Hold what is free here for the turn job while the rest comes back, so a
                // guest does not take it again in the same instant (a guest started on it
                // would be suspended again once it progressed, over and over: a thrash). Held
                // only when the room can come back (not behind a down node).
                if coming + reachable >= need && !shares.isEmpty {
                    local[c].take(shares)
                    reservations.append(Reservation(job: j, cluster: set.cluster, accelerators: need - left))
                }
            }
        }
    }

    /// Work conservation: every waiting job that fits idle accelerators starts there as a
    /// guest, in arrival order within each shape.
    private mutating func fillIdle(_ fleet: FleetView, local: inout [ClusterCapacity]) {
        for shape in shapes.indices {
            while let first = shapes[shape].jobs.first {
                let info = jobs[Int(first.job)].info
                var started = false
                for c in fleet.clusters(of: info.acceleratorTypes) {
                    guard let shares = local[Int(c)].reserve(info.worldSize, rule: placement, group: info.tensorGroup) else { continue }
                    transition(Int(first.job), to: .running)
                    jobs[Int(first.job)].inSet = false
                    planned.append(.startOnNodes(info.index, cluster: c, shares: shares))
                    started = true
                    break
                }
                if !started { break }
            }
        }
    }

    private mutating func suspend(_ i: Int) {
        transition(i, to: .stopping)
        planned.append(.preempt(jobs[i].info.index))
    }

    /// Whether a running job may be suspended now: it made progress since its (re)start and
    /// did not start in this instant. Otherwise the policy wakes when its restore ends.
    private mutating func mayTake(_ i: Int, at now: VirtualTime) -> Bool {
        let job = jobs[i]
        if job.runningSince < now && now > job.progressFrom { return true }
        if job.progressFrom >= now {
            let ends = job.progressFrom + VirtualTime(microseconds: 1)
            protectionEnds = min(protectionEnds ?? ends, ends)
        }
        return false
    }
}

fileprivate struct GandivaJob {
    enum State { case waiting, running, stopping, done }
    var info: PendingJob
    var state = State.waiting
    /// Its node set, or -1.
    var set: Int32 = -1
    /// Whether its current run is its set's turn (false: a guest).
    var inSet = false
    var cluster: Int32 = -1
    var shares: [NodeShare] = []
    var runningSince = VirtualTime.zero
    var progressFrom = VirtualTime.zero
}

fileprivate struct GandivaNodeSet {
    var cluster: Int32
    /// The job-size class: the world size of its jobs.
    var size: Int
    var nodes: [Int32]
    /// Jobs that run at once (Tiresias' `capacity` with every `mem_util` 1).
    var capacity: Int
    /// Its jobs in round-robin order; the first `capacity` have their turn.
    var members: [JobIndex] = []
    var alive = true
}

fileprivate struct WaitingShape {
    var size: Int
    var types: TypeSet
    /// Its jobs' tensor group (`PendingJob.tensorGroup`), which placement must keep in nodes.
    var group: Int
    /// Its waiting jobs by index (arrival order).
    var jobs = RankedJobs()
}
