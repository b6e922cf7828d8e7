import FleetTwinEngine
import FleetTwinFleet
import FleetTwinSolver

/// Synergy's round-based, resource-sensitive scheduling (Mohan et al., OSDI'22; msr-fiddle/synergy
/// `simulator/` at 1bb2bed, research/policies.md §14): an ordering policy ranks the jobs, and an
/// allocation mechanism gives each selected job GPUs and host CPU cores and memory.
///
/// Each round (`round`, 300 s, Synergy's `ScheduleEvent`), as `schedulers/*_synergy_new.py`
/// and `resources/cluster.py` do:
/// 1. every lease ends: all CPU and memory allocations are dropped (`JobLeaseEndEvent`);
/// 2. jobs are sorted by the ordering: `las` (attained GPU-seconds, the default), `srtf`
///    (remaining work; an oracle) or `fifo` (arrival), after `priority`: a job that has not
///    run for more than 1,000 h is bumped ahead for good (Synergy's starvation rule);
/// 3. jobs are pre-selected greedily in that order while their GPU count fits the GPUs left
///    (`jobs_this_round`);
/// 4. each selected job in order gets an allocation (`Mechanism.tune`, Synergy-TUNE,
///    `cluster.py::allocate_synergy_tune` and `_tune`):
///    a. its ideal demand (`ResourceProfile.demand`), placed on the single server with the
///       fewest free GPUs that fits the whole vector (a multi-GPU job), else GPU by GPU from the
///       servers with the fewest free GPUs where the per-GPU share fits
///       (`allocate_synergy_placement`, `_top_synergy_gpus_placement`);
///    b. failing that, the fair share (node size / GPUs per node, per GPU; speedup 1) if its
///       demand exceeds it (`_make_fair_share`), and again;
///    c. failing that, peer adjustment (`_get_underutilized_servers`, `_reallocate_peer`): on
///       the servers with the free GPUs it needs, the resident jobs sorted by (servers spanned,
///       -CPU per GPU, -memory per GPU) go back to the fair share, as many as cover what it
///       lacks; their speed drops to 1 from now (Synergy rolls back their round's credit); and
///       once more.
///    Where Synergy then calls `sys.exit(1)`, FleetTwin skips the job this round
///    (`skippedAllocations` counts these) and a running job so skipped is preempted.
///    `Mechanism.fair` (Synergy's `X+fair`) gives every job the fair share at speedup 1.
///    `Mechanism.opt` (Synergy-OPT, `X+opt`) allocates the selected jobs together in two
///    stages instead (`optimise`; see `Mechanism.opt`).
///
/// A running job's speed is its rate x its Synergy speedup, told to the scheduler by
/// `SchedulingDecision.setResourceSpeedup` (a `rerated` event when it changes). Synergy also
/// divides a job's speed by a per-model placement penalty when it spans servers; FleetTwin
/// charges what its own communication model says a placement's all-reduce costs (model-shaped
/// jobs; `CommunicationCosts`), and nothing more.
///
/// Where FleetTwin differs, and why:
/// - a running job that is selected again keeps its GPUs (TUNE decides only its CPU and
///   memory there, with the same ideal, fair and peer steps on its own servers): Synergy
///   deallocates and reallocates it for free, so under `restart_cost: compat` (no cost) that
///   is the same run, and under FleetTwin's costs it is not stopped and restarted. A job that
///   (re)started in this instant or has not made progress yet keeps its GPUs too (at the
///   fair share if nothing else fits);
/// - a selected waiting job is planned onto GPUs free now or held by jobs this round stops,
///   and starts (`startOnNodes`) as soon as they are released; until then the free GPUs of
///   its plan are its reservation;
/// - GPUs a round leaves idle (skipped jobs, completions, arrivals between rounds) go to the
///   next waiting jobs in the round's order, with the same TUNE allocation, because a
///   FleetTwin run never idles capacity a waiting job fits; Synergy waits for the next round;
/// - progress is continuous and jobs complete when their work is done (Synergy credits a
///   round's iterations up front and sees completions only at lease ends, so its JCTs are
///   quantised to 300 s);
/// - several clusters: a job tries the clusters of its types in declaration order at each
///   TUNE step; pre-selection counts the GPUs of the whole fleet, as Synergy's one cluster.
///
/// Cost: each round sorts the active jobs and places the selected ones, O(jobs log jobs +
/// selected x nodes log nodes); passes between rounds walk the round's order of waiting jobs.
public struct SynergyPolicy: SchedulingPolicy {
    /// How jobs are ranked each round.
    public enum Ordering: String, Sendable, CaseIterable {
        /// Synergy's `las_synergy_new.py`: least attained GPU-time first.
        case las
        /// `srtf_synergy_new.py`: least remaining work first (an oracle).
        case srtf
        /// `fifo_synergy_new.py`: arrival order.
        case fifo
    }

    /// How CPU and memory are given.
    public enum Mechanism: String, Sendable, CaseIterable {
        /// Synergy-TUNE (`X+tune`): ideal demand, else fair share, else peer adjustment.
        case tune
        /// The GPU-proportional baseline (`X+fair`): the fair share, speedup 1.
        case fair
        /// Synergy-OPT (`X+opt`; `opt_algo/synergy_opt.py`, called by
        /// `schedulers/*_synergy_new.py` when `opt` is set), per cluster each round:
        /// 1. `SolveFirstLP`: each selected job's CPU and memory per GPU, to maximise the sum
        ///    of the jobs' normalised throughputs (speedups) subject to the cluster's total
        ///    CPUs and memory, no job below its fair-share throughput. Synergy picks one point
        ///    of a measured (CPU, memory) grid per job (a 0-1 MILP, GLPK); FleetTwin's profile
        ///    is a line from the fair share (speedup 1) to the ideal (`ResourceProfile.demand`),
        ///    so a job's point on it is a variable in [0, 1] and the stage is an LP (Clp). The
        ///    objective sums speedups unweighted by GPU count, as Synergy's sums its jobs'
        ///    normalised throughputs. Synergy's schedulers build the `Solver` with the
        ///    servers' GPU count as their cores and memory (`per_server_size[0]` for all
        ///    three); FleetTwin uses the servers' real cores and memory;
        /// 2. `SolveSecondLP`: the jobs onto servers within each server's GPUs, CPUs and
        ///    memory. Synergy's is a feasibility LP whose GPU split may be fractional, and its
        ///    simulator never uses the split (it credits stage 1's throughput; its rounding,
        ///    `RoundRobin`, is commented out); FleetTwin needs whole GPUs, so it is a MILP
        ///    (Cbc) over GPUs per server, tensor group by tensor group.
        /// Where the placement is infeasible Synergy's scheduler fails (cvxpy leaves no
        /// solution); FleetTwin places as many jobs as fit, earlier-ranked first on ties,
        /// and counts the rest in `skippedAllocations`. Those, and jobs waiting between
        /// rounds, get TUNE's steps on GPUs left free (ideal, fair share, peer adjustment),
        /// since a FleetTwin run never idles GPUs a waiting job fits.
        case opt
    }

    public let name: String
    public let placement: PlacementRule
    public let ordering: Ordering
    public let mechanism: Mechanism
    /// Round length (Synergy's `round_duration`, 300 s).
    public let round: VirtualTime
    /// Time without running after which a job is ranked first (Synergy's 1,000 h).
    public static let starvationLimit = VirtualTime.seconds(Int64(1000 * 3600))

    /// CPU and memory a job holds (running) or will hold (planned), on `shares` of `cluster`.
    private struct Grant {
        var cluster: Int32
        var shares: [NodeShare]
        var cpusPerGPU: Double
        var memoryPerGPU: Double
        var speedup: Double
    }

    private struct JobState {
        var job: PendingJob
        var arrival: Int
        var running = false
        var stopping = false
        var startedAt = VirtualTime.zero
        var progressFrom = VirtualTime.zero
        /// When it last stopped running, or arrived.
        var lastRan: VirtualTime
        var starved = false
        /// Where it runs (or holds devices while stopping).
        var runCluster: Int32 = -1
        var runShares: [NodeShare] = []
        var grant: Grant?
        /// `grant` is a plan for a waiting job, not yet started.
        var planned = false
        /// The resource speedup the scheduler has for it.
        var applied = 1.0
    }

    private var states: [JobIndex: JobState] = [:]  // looked up, never iterated
    /// Active jobs in arrival order.
    private var active: [JobIndex] = []
    private var arrivals = 0
    /// The round's order (then jobs that arrived since).
    private var order: [JobIndex] = []
    private var cpuUsed: [[Double]] = []
    private var memoryUsed: [[Double]] = []
    private var roundEnd: VirtualTime?
    private var queued: [SchedulingDecision] = []
    private var queuedNext = 0
    public private(set) var reservations: [Reservation] = []
    /// Allocations that failed every TUNE step (Synergy's `sys.exit(1)`), or (`opt`) jobs
    /// the placement MILP could not place or no cluster had GPUs for, so far.
    public private(set) var skippedAllocations = 0
    /// `opt`: the last round's stage-1 optimum, the sum of the selected jobs' speedups
    /// summed over clusters (Synergy's `Solver.tput`); nil before the first such round.
    public private(set) var plannedThroughput: Double?

    public init(name: String = "synergy", ordering: Ordering = .las, mechanism: Mechanism = .tune,
                placement: PlacementRule = .bestFit, round: VirtualTime = .seconds(Int64(300))) {
        self.name = name
        self.ordering = ordering
        self.mechanism = mechanism
        self.placement = placement
        self.round = round
    }

    // MARK: What happened

    public mutating func jobArrived(_ job: PendingJob, at now: VirtualTime) {
        states[job.index] = JobState(job: job, arrival: arrivals, lastRan: now)
        arrivals += 1
        active.append(job.index)
        if roundEnd != nil { order.append(job.index) }
    }

    public mutating func jobStarted(_ job: PendingJob, on run: JobRun, at now: VirtualTime) {
        guard var s = states[job.index] else { return }
        s.job = job
        s.running = true
        s.startedAt = now
        s.progressFrom = run.progressFrom
        s.runCluster = run.cluster
        s.runShares = run.shares
        s.planned = false
        states[job.index] = s
    }

    public mutating func jobCompleted(_ job: JobIndex, at now: VirtualTime) {
        guard let s = states.removeValue(forKey: job) else { return }
        if let g = s.grant { hold(g, sign: -1) }
        active.removeAll { $0 == job }
        order.removeAll { $0 == job }
    }

    public mutating func jobPreempted(_ job: PendingJob, at now: VirtualTime) {
        guard var s = states[job.index] else { return }
        if let g = s.grant { hold(g, sign: -1) }
        s.grant = nil
        s.planned = false
        s.job = job
        s.running = false
        s.stopping = false
        s.runCluster = -1
        s.runShares = []
        s.lastRan = now
        states[job.index] = s
    }

    /// A node failed or came back: plans on nodes that are down now are dropped (re-planned).
    public mutating func capacityChanged(at now: VirtualTime) { dropPlans = true }
    private var dropPlans = false

    /// The next round, while a job waits or a round may change a running job's CPU and
    /// memory; a round where no job waits and every job holds the fair share would hand out
    /// the same again, so it is left to the next arrival or completion.
    public func wakeup(after now: VirtualTime) -> VirtualTime? {
        guard let end = roundEnd, end > now, !active.isEmpty, roundMatters else { return nil }
        return end
    }
    private var roundMatters = true

    /// What the job holds now (running) or is planned to get: CPU cores and GiB of host
    /// memory in all, and its speedup; nil when it has neither.
    public func allocation(of job: JobIndex) -> (cpus: Double, memoryGiB: Double, speedup: Double)? {
        guard let g = states[job]?.grant else { return nil }
        let gpus = Double(g.shares.reduce(0) { $0 + Int($1.count) })
        return (g.cpusPerGPU * gpus, g.memoryPerGPU * gpus, g.speedup)
    }

    // MARK: Deciding

    public mutating func nextDecision(at now: VirtualTime, fleet: FleetView) -> SchedulingDecision? {
        if cpuUsed.count != fleet.clusters.count {
            cpuUsed = fleet.clusters.map { Array(repeating: 0, count: $0.nodes.nodeCount) }
            memoryUsed = cpuUsed
        }
        if dropPlans { dropPlansOnDownNodes(fleet) }
        if active.isEmpty {
            roundEnd = nil
            order.removeAll()
        } else if roundEnd.map({ now >= $0 }) ?? true {
            beginRound(at: now, fleet: fleet)
        }
        if queuedNext < queued.count {
            queuedNext += 1
            return queued[queuedNext - 1]
        }
        queued.removeAll(keepingCapacity: true)
        queuedNext = 0
        if let decision = fill(at: now, fleet: fleet) { return decision }
        reserve(fleet)
        return nil
    }

    private mutating func dropPlansOnDownNodes(_ fleet: FleetView) {
        dropPlans = false
        for j in order {
            guard let s = states[j], s.planned, let g = s.grant else { continue }
            let nodes = fleet.clusters[Int(g.cluster)].nodes
            guard g.shares.contains(where: { nodes.isDown[Int($0.node)] }) else { continue }
            hold(g, sign: -1)
            states[j]!.grant = nil
            states[j]!.planned = false
        }
    }

    // MARK: A round

    private mutating func beginRound(at now: VirtualTime, fleet: FleetView) {
        roundEnd = VirtualTime(microseconds: (now.microseconds / round.microseconds + 1) * round.microseconds)
        // Lease end: every allocation is dropped.
        for c in cpuUsed.indices {
            for n in cpuUsed[c].indices { cpuUsed[c][n] = 0; memoryUsed[c][n] = 0 }
        }
        for j in active {
            states[j]!.grant = nil
            states[j]!.planned = false
            if !states[j]!.running, !states[j]!.stopping, now - states[j]!.lastRan > Self.starvationLimit { states[j]!.starved = true }
        }
        // Stopping jobs keep their place: they wait once their dump lands.
        order = active
        let keys = order.map { key(states[$0]!, at: now) }
        order = zip(order, keys).sorted { $0.1 < $1.1 }.map { $0.0 }

        // Pre-selection by GPU count over the fleet's working GPUs not held by stopping jobs.
        var free = fleet.clusters.reduce(0) { sum, c in
            sum + c.capacity - c.nodes.isDown.reduce(0) { $0 + ($1 ? c.nodes.acceleratorsPerNode : 0) }
        }
        for j in active where states[j]!.stopping { free -= states[j]!.runShares.reduce(0) { $0 + Int($1.count) } }
        var selected: [JobIndex: Void] = [:]  // looked up, never iterated
        for j in order where pinned(states[j]!, at: now) {
            selected[j] = ()
            free -= states[j]!.job.worldSize
        }
        for j in order where selected[j] == nil && !states[j]!.stopping && states[j]!.job.worldSize <= free {
            selected[j] = ()
            free -= states[j]!.job.worldSize
        }
        queued.removeAll(keepingCapacity: true)
        queuedNext = 0
        for j in order where states[j]!.running && !states[j]!.stopping && selected[j] == nil { stop(j) }
        // Allocations in order: kept jobs on their own GPUs, waiting jobs planned.
        var available = availableGPUs(fleet, includingStopping: true)
        if mechanism == .opt {
            optimise(order.filter { selected[$0] != nil }, available: available, fleet: fleet)
            for j in order where states[j]!.running && !states[j]!.stopping { rerate(j) }
            return
        }
        for j in order where selected[j] != nil {
            if states[j]!.running {
                if let g = tune(j, fleet: fleet, available: nil) {
                    grant(j, g)
                } else if pinned(states[j]!, at: now) {
                    skippedAllocations += 1
                    let s = states[j]!
                    let c = fleet.clusters[Int(s.runCluster)]
                    grant(j, Grant(cluster: s.runCluster, shares: s.runShares, cpusPerGPU: fairCPU(c), memoryPerGPU: fairMemory(c), speedup: 1))
                } else {
                    skippedAllocations += 1
                    stop(j)
                }
            } else {
                if let g = tune(j, fleet: fleet, available: available) {
                    grant(j, g)
                    states[j]!.planned = true
                    for share in g.shares { available[Int(g.cluster)][Int(share.node)] -= Int(share.count) }
                } else {
                    skippedAllocations += 1
                }
            }
        }
        for j in order where states[j]!.running && !states[j]!.stopping { rerate(j) }
    }

    /// A job that (re)started in this instant or has not made progress keeps its devices.
    private func pinned(_ s: JobState, at now: VirtualTime) -> Bool {
        s.running && !s.stopping && (s.startedAt == now || s.progressFrom >= now)
    }

    private mutating func stop(_ j: JobIndex) {
        if let g = states[j]!.grant { hold(g, sign: -1) }
        states[j]!.grant = nil
        states[j]!.stopping = true
        queued.append(.preempt(j))
    }

    /// Tells the scheduler a running job's speedup when its grant changed it.
    private mutating func rerate(_ j: JobIndex) {
        guard let g = states[j]!.grant, g.speedup != states[j]!.applied else { return }
        states[j]!.applied = g.speedup
        queued.append(.setResourceSpeedup(j, g.speedup))
    }

    private func key(_ s: JobState, at now: VirtualTime) -> (Int64, Int64, Int64) {
        let first: Int64 = s.starved ? 0 : 1
        switch ordering {
        case .fifo: return (first, Int64(s.arrival), 0)
        case .las:
            var attained = s.job.attainedService
            if s.running { attained = attained.saturatingAdding(Int64(s.runShares.reduce(0) { $0 + Int($1.count) }) * max(0, (now - s.startedAt).microseconds)) }
            return (first, attained, Int64(s.arrival))
        case .srtf:
            var left = s.job.remainingWork
            if s.running, now > s.progressFrom { left = max(0, left - Int64(Double((now - s.progressFrom).microseconds) * s.applied)) }
            return (first, left, Int64(s.arrival))
        }
    }

    // MARK: Between rounds

    /// Starts planned jobs whose GPUs are free; then gives GPUs nobody planned for to the
    /// next waiting jobs in the round's order. Decisions go through `queued` (a start may
    /// follow a speedup, and peer adjustment may re-rate running jobs first).
    private mutating func fill(at now: VirtualTime, fleet: FleetView) -> SchedulingDecision? {
        for j in order {
            guard let s = states[j], s.planned, let g = s.grant else { continue }
            let nodes = fleet.clusters[Int(g.cluster)].nodes
            guard g.shares.allSatisfy({ !nodes.isDown[Int($0.node)] && nodes.freeOnNode[Int($0.node)] >= Int($0.count) }) else { continue }
            return launch(j, g)
        }
        let available = availableGPUs(fleet, includingStopping: false)
        let total = available.map { $0.reduce(0, +) }
        for j in order {
            guard let s = states[j], !s.running, !s.stopping else { continue }
            guard fleet.clusters(of: s.job.acceleratorTypes).contains(where: { total[Int($0)] >= s.job.worldSize }) else { continue }
            // A job planned onto GPUs still on their way back starts now on free GPUs nobody
            // planned for, when TUNE finds it a place there: a run never idles capacity a
            // waiting job fits (its old plan's GPUs go to the next waiting job once they land).
            if s.planned, let old = s.grant {
                hold(old, sign: -1)
                if let g = tune(j, fleet: fleet, available: available) {
                    states[j]!.planned = false
                    grant(j, g)
                    return launch(j, g)
                }
                hold(old, sign: 1)
                continue
            }
            guard let g = tune(j, fleet: fleet, available: available) else { continue }
            grant(j, g)
            return launch(j, g)
        }
        return nil
    }

    /// Queues the job's speedup (when it changes) and its start, and returns the first.
    private mutating func launch(_ j: JobIndex, _ g: Grant) -> SchedulingDecision {
        states[j]!.planned = false
        if states[j]!.applied != g.speedup {
            states[j]!.applied = g.speedup
            queued.append(.setResourceSpeedup(j, g.speedup))
        }
        queued.append(.startOnNodes(j, cluster: g.cluster, shares: g.shares))
        queuedNext = 1
        return queued[0]
    }

    /// Planned jobs hold the free GPUs of their plans until their stops land.
    private mutating func reserve(_ fleet: FleetView) {
        roundMatters = order.contains { states[$0].map { (!$0.running && !$0.stopping) || (mechanism != .fair && $0.job.resources != nil) } ?? false }
        reservations.removeAll(keepingCapacity: true)
        var free = fleet.clusters.map { $0.nodes.freeOnNode }
        for j in order {
            guard let s = states[j], s.planned, let g = s.grant else { continue }
            var held = 0
            for share in g.shares {
                let take = min(Int(share.count), free[Int(g.cluster)][Int(share.node)])
                free[Int(g.cluster)][Int(share.node)] -= take
                held += take
            }
            if held > 0 { reservations.append(Reservation(job: j, cluster: g.cluster, accelerators: held)) }
        }
    }

    /// GPUs per node a new allocation may take: free now (and, at a round, those of stopping
    /// jobs), less what plans not yet started hold.
    private func availableGPUs(_ fleet: FleetView, includingStopping: Bool) -> [[Int]] {
        var free = fleet.clusters.map { c in c.nodes.freeOnNode.indices.map { c.nodes.isDown[$0] ? 0 : c.nodes.freeOnNode[$0] } }
        if includingStopping {
            for j in active {
                let s = states[j]!
                guard s.stopping else { continue }
                for share in s.runShares where !fleet.clusters[Int(s.runCluster)].nodes.isDown[Int(share.node)] {
                    free[Int(s.runCluster)][Int(share.node)] += Int(share.count)
                }
            }
        }
        for j in order {
            guard let s = states[j], s.planned, let g = s.grant else { continue }
            for share in g.shares {
                free[Int(g.cluster)][Int(share.node)] = max(0, free[Int(g.cluster)][Int(share.node)] - Int(share.count))
            }
        }
        return free
    }

    // MARK: Synergy-OPT

    /// `opt`'s allocation of a round's `selected` jobs (in the round's order), cluster by
    /// cluster: running jobs stay on their GPUs (as under `tune`), a waiting job goes to the
    /// first of its clusters (declaration order) with GPUs left for it; then stage 1 gives
    /// every job its CPU and memory and stage 2 places the waiting ones.
    private mutating func optimise(_ selected: [JobIndex], available: [[Int]], fleet: FleetView) {
        var left = available.map { $0.reduce(0, +) }
        var members = Array(repeating: [JobIndex](), count: fleet.clusters.count)
        for j in selected {
            let s = states[j]!
            if s.running {
                members[Int(s.runCluster)].append(j)
            } else if let c = fleet.clusters(of: s.job.acceleratorTypes).first(where: { left[Int($0)] >= s.job.worldSize }) {
                left[Int(c)] -= s.job.worldSize
                members[Int(c)].append(j)
            } else {
                skippedAllocations += 1
            }
        }
        var throughput = 0.0
        for c in members.indices where !members[c].isEmpty {
            let (points, value) = firstStage(members[c], cluster: c, fleet: fleet)
            throughput += value
            var waiting: [(job: JobIndex, point: (cpus: Double, memory: Double, speedup: Double))] = []
            for (j, point) in zip(members[c], points) {
                let s = states[j]!
                if s.running {
                    grant(j, Grant(cluster: Int32(c), shares: s.runShares, cpusPerGPU: point.cpus, memoryPerGPU: point.memory, speedup: point.speedup))
                } else {
                    waiting.append((j, point))
                }
            }
            if !waiting.isEmpty { secondStage(waiting, cluster: c, available: available[c], fleet: fleet) }
        }
        plannedThroughput = throughput
    }

    /// Stage 1 (`SolveFirstLP`) on cluster `c`: job j takes the point t_j in [0, 1] of the
    /// line from its fair share (speedup 1) to its ideal (`ideal`, speedup s_j), per GPU; an
    /// LP (Clp) maximises Σ_j (1 + (s_j - 1) t_j) subject to Σ_j g_j CPU_j(t_j) ≤ the working
    /// servers' CPUs and the same for memory; t_j = 0 where s_j < 1 (no job below its fair
    /// throughput). Running jobs' CPU and memory must also fit the servers they hold, so that
    /// they keep them. t = 0 is feasible (the fair share of the GPUs selected); should Clp
    /// fail anyway every job gets the fair share. Returns each job's CPUs, GiB and speedup per
    /// GPU, in `jobs`' order, and the optimum.
    private func firstStage(_ jobs: [JobIndex], cluster c: Int, fleet: FleetView)
        -> ([(cpus: Double, memory: Double, speedup: Double)], Double) {
        let e = fleet.clusters[c]
        let fairC = fairCPU(e), fairM = fairMemory(e)
        let working = Double(e.nodes.isDown.reduce(0) { $0 + ($1 ? 0 : 1) })
        var lp = LinearProgram(.maximize)
        var cpu: [LinearProgram.Term] = [], memory: [LinearProgram.Term] = []
        var fairCPUs = 0.0, fairMemory = 0.0
        var onNode = Array(repeating: (cpu: [LinearProgram.Term](), memory: [LinearProgram.Term](), gpus: 0), count: e.nodes.nodeCount)
        let ideals = jobs.map { ideal(states[$0]!.job, e) }
        for (j, d) in zip(jobs, ideals) {
            let s = states[j]!, g = Double(s.job.worldSize)
            let v = lp.addVariable(lower: 0, upper: d.speedup < 1 ? 0 : 1, objective: d.speedup - 1)
            cpu.append((v, g * (d.cpus - fairC)))
            memory.append((v, g * (d.memory - fairM)))
            fairCPUs += g * fairC
            fairMemory += g * fairM
            guard s.running else { continue }
            for share in s.runShares {
                let n = Int(share.node), k = Double(share.count)
                onNode[n].cpu.append((v, k * (d.cpus - fairC)))
                onNode[n].memory.append((v, k * (d.memory - fairM)))
                onNode[n].gpus += Int(share.count)
            }
        }
        lp.addConstraint(cpu, upper: working * e.cpusPerNode - fairCPUs)
        lp.addConstraint(memory, upper: working * e.memoryGiBPerNode - fairMemory)
        for node in onNode where node.gpus > 0 {
            lp.addConstraint(node.cpu, upper: e.cpusPerNode - Double(node.gpus) * fairC)
            lp.addConstraint(node.memory, upper: e.memoryGiBPerNode - Double(node.gpus) * fairM)
        }
        let t = (try? lp.solve())?.x.map { min(1, max(0, $0)) } ?? Array(repeating: 0, count: jobs.count)
        let points = zip(ideals, t).map { d, t in
            (fairC + t * (d.cpus - fairC), fairM + t * (d.memory - fairM), 1 + t * (d.speedup - 1))
        }
        return (points, points.reduce(0) { $0 + $1.2 })
    }

    /// Stage 2 (`SolveSecondLP`) on cluster `c`: a MILP (Cbc) places each waiting job's GPUs,
    /// tensor group by tensor group (z_jn groups on server n), on the servers' `available`
    /// GPUs, within each server's CPUs and memory left after the running jobs' stage-1 grants
    /// (CPU_j and memory_j per GPU fixed by stage 1). Synergy's is a feasibility problem that
    /// fails when nothing fits; here a 0-1 p_j says whether job j is placed
    /// (Σ_n group z_jn = g_j p_j) and the objective, Σ_j (1 + ε (m - rank_j)) p_j with
    /// ε = 1 / (m² + 1) over the m waiting jobs, places as many jobs as fit, earlier-ranked
    /// first among equally many. A job left out is counted skipped; the same pass's
    /// `fill` tries it with TUNE's steps.
    private mutating func secondStage(_ jobs: [(job: JobIndex, point: (cpus: Double, memory: Double, speedup: Double))],
                                      cluster c: Int, available: [Int], fleet: FleetView) {
        let e = fleet.clusters[c], m = Double(jobs.count), epsilon = 1 / (m * m + 1)
        var program = MixedIntegerProgram(.maximize)
        var placed: [Int] = []
        var groups: [[(node: Int, variable: Int)]] = []
        var gpuRows = Array(repeating: [LinearProgram.Term](), count: available.count)
        var cpuRows = gpuRows, memoryRows = gpuRows
        for (rank, (j, point)) in jobs.enumerated() {
            let job = states[j]!.job, group = max(1, job.tensorGroup)
            let p = program.addBinary(objective: 1 + epsilon * (m - Double(rank)))
            var terms: [LinearProgram.Term] = [(p, -Double(job.worldSize))]
            var mine: [(node: Int, variable: Int)] = []
            for n in available.indices where available[n] >= group {
                let z = program.addVariable(lower: 0, upper: Double(min(available[n], job.worldSize) / group), integer: true)
                terms.append((z, Double(group)))
                gpuRows[n].append((z, Double(group)))
                cpuRows[n].append((z, Double(group) * point.cpus))
                memoryRows[n].append((z, Double(group) * point.memory))
                mine.append((n, z))
            }
            program.addConstraint(terms, lower: 0, upper: 0)
            placed.append(p)
            groups.append(mine)
        }
        // Within the LP's tolerance of a server's size (grants are sums of quotients).
        let tolerance = 1e-6
        for n in available.indices where !gpuRows[n].isEmpty {
            program.addConstraint(gpuRows[n], upper: Double(available[n]))
            program.addConstraint(cpuRows[n], upper: e.cpusPerNode - cpuUsed[c][n] + tolerance)
            program.addConstraint(memoryRows[n], upper: e.memoryGiBPerNode - memoryUsed[c][n] + tolerance)
        }
        guard let solution = try? program.solve(relativeGap: 0) else {
            skippedAllocations += jobs.count
            return
        }
        for (i, (j, point)) in jobs.enumerated() {
            guard solution.x[placed[i]] > 0.5 else { skippedAllocations += 1; continue }
            let job = states[j]!.job, group = max(1, job.tensorGroup)
            let shares = groups[i].compactMap { g -> NodeShare? in
                let count = Int(solution.x[g.variable].rounded()) * group
                return count > 0 ? NodeShare(node: Int32(g.node), count: Int32(count)) : nil
            }
            grant(j, Grant(cluster: Int32(c), shares: shares, cpusPerGPU: point.cpus, memoryPerGPU: point.memory, speedup: point.speedup))
            states[j]!.planned = true
        }
    }

    // MARK: Synergy-TUNE

    private func fairCPU(_ c: FleetView.ClusterEntry) -> Double { c.cpusPerNode / Double(c.nodes.acceleratorsPerNode) }
    private func fairMemory(_ c: FleetView.ClusterEntry) -> Double { c.memoryGiBPerNode / Double(c.nodes.acceleratorsPerNode) }

    /// The job's ideal demand per GPU on a cluster, and its speedup there.
    private func ideal(_ job: PendingJob, _ c: FleetView.ClusterEntry) -> (cpus: Double, memory: Double, speedup: Double) {
        guard mechanism != .fair, let profile = job.resources else { return (fairCPU(c), fairMemory(c), 1) }
        let d = profile.demand(gpus: job.worldSize, cpusPerNode: c.cpusPerNode, memoryPerNode: c.memoryGiBPerNode,
                               gpusPerNode: c.nodes.acceleratorsPerNode)
        let g = Double(job.worldSize)
        return (d.cpus / g, d.memory / g, d.speedup)
    }

    /// Within rounding of a resource's size (allocations are sums of quotients).
    private static let slack = 1e-9

    private func fits(_ c: Int, _ n: Int, cpus: Double, memory: Double, _ e: FleetView.ClusterEntry) -> Bool {
        e.cpusPerNode - cpuUsed[c][n] + Self.slack >= cpus && e.memoryGiBPerNode - memoryUsed[c][n] + Self.slack >= memory
    }

    /// `allocate_synergy_placement`: a multi-GPU job on the single server with the fewest free
    /// GPUs that fits its whole vector; else GPU by GPU (tensor group by group) from the
    /// servers with the fewest free GPUs, a server dropped once the per-GPU share no longer
    /// fits there. Ties go to the lower node.
    private func place(_ job: PendingJob, cluster c: Int, cpus: Double, memory: Double, available: [Int],
                       _ e: FleetView.ClusterEntry) -> [NodeShare]? {
        let size = job.worldSize, group = max(1, job.tensorGroup)
        guard available.reduce(0, +) >= size else { return nil }
        if size > 1 {
            var best: Int?
            for n in available.indices where available[n] >= size && fits(c, n, cpus: cpus * Double(size), memory: memory * Double(size), e) {
                if best.map({ available[n] < available[$0] }) ?? true { best = n }
            }
            if let b = best { return [NodeShare(node: Int32(b), count: Int32(size))] }
        }
        var left = available, taken = Array(repeating: 0, count: available.count), got = 0
        var dropped = Array(repeating: false, count: available.count)
        while got < size {
            var pick: Int?
            for n in left.indices where !dropped[n] && left[n] >= group {
                if pick.map({ left[n] < left[$0] }) ?? true { pick = n }
            }
            guard let n = pick else { return nil }
            let after = Double(taken[n] + group)
            guard fits(c, n, cpus: cpus * after, memory: memory * after, e) else { dropped[n] = true; continue }
            taken[n] += group
            left[n] -= group
            got += group
        }
        return taken.indices.filter { taken[$0] > 0 }.map { NodeShare(node: Int32($0), count: Int32(taken[$0])) }
    }

    /// The per-GPU demand of a TUNE step on a cluster: the ideal, or (`fair`) the fair share
    /// when the ideal exceeds it in CPU or memory (`_make_fair_share`).
    private func demand(_ job: PendingJob, _ e: FleetView.ClusterEntry, fair: Bool) -> (cpus: Double, memory: Double, speedup: Double) {
        let d = ideal(job, e)
        guard fair, d.cpus > fairCPU(e) || d.memory > fairMemory(e) else { return d }
        return (fairCPU(e), fairMemory(e), 1)
    }

    /// One TUNE attempt on cluster `c`: the job's grant if its demand fits.
    private func attempt(_ j: JobIndex, cluster c: Int32, fair: Bool, available: [[Int]]?, fleet: FleetView) -> Grant? {
        let s = states[j]!, e = fleet.clusters[Int(c)]
        let d = demand(s.job, e, fair: fair)
        let shares: [NodeShare]?
        if available == nil {
            shares = s.runShares.allSatisfy { fits(Int(c), Int($0.node), cpus: d.cpus * Double($0.count), memory: d.memory * Double($0.count), e) }
                ? s.runShares : nil
        } else {
            shares = place(s.job, cluster: Int(c), cpus: d.cpus, memory: d.memory, available: available![Int(c)], e)
        }
        return shares.map { Grant(cluster: c, shares: $0, cpusPerGPU: d.cpus, memoryPerGPU: d.memory, speedup: d.speedup) }
    }

    /// `_tune`: the ideal demand, then the fair share, then peer adjustment and once more, on
    /// each of the job's clusters in turn. `available` nil: the job keeps the GPUs it runs on.
    /// Returns its grant, or nil where Synergy exits.
    private mutating func tune(_ j: JobIndex, fleet: FleetView, available: [[Int]]?) -> Grant? {
        let s = states[j]!
        let clusters = available == nil ? [s.runCluster] : fleet.clusters(of: s.job.acceleratorTypes)
        for c in clusters { if let g = attempt(j, cluster: c, fair: false, available: available, fleet: fleet) { return g } }
        guard mechanism != .fair else { return nil }
        for c in clusters { if let g = attempt(j, cluster: c, fair: true, available: available, fleet: fleet) { return g } }
        for c in clusters {
            adjustPeers(of: j, cluster: c, available: available, fleet: fleet)
            if let g = attempt(j, cluster: c, fair: true, available: available, fleet: fleet) { return g }
        }
        return nil
    }

    /// Peer adjustment (`_get_underutilized_servers`, `_reallocate_peer`): on the servers the
    /// job would take GPUs from (a multi-GPU job: the first with enough free GPUs; else the
    /// fewest-free first until it has enough; a running job: its own), jobs holding more than
    /// the fair share go back to it, sorted by (servers spanned, -CPU per GPU, -memory per
    /// GPU), until what the job lacks there is covered.
    private mutating func adjustPeers(of j: JobIndex, cluster c: Int32, available: [[Int]]?, fleet: FleetView) {
        let s = states[j]!, e = fleet.clusters[Int(c)]
        let d = demand(s.job, e, fair: true)
        var servers: [(node: Int, gpus: Int)] = []
        if available == nil {
            servers = s.runShares.map { (Int($0.node), Int($0.count)) }
        } else {
            let free = available![Int(c)]
            var wanted = s.job.worldSize
            if wanted > 1, let n = free.indices.first(where: { free[$0] >= wanted }) {
                servers = [(n, wanted)]
            } else {
                for n in free.indices.filter({ free[$0] > 0 }).sorted(by: { (free[$0], $0) < (free[$1], $1) }) where wanted > 0 {
                    servers.append((n, min(free[n], wanted)))
                    wanted -= min(free[n], wanted)
                }
            }
        }
        let fairC = fairCPU(e), fairM = fairMemory(e)
        for (n, gpus) in servers {
            var needCPU = d.cpus * Double(gpus) - (e.cpusPerNode - cpuUsed[Int(c)][n])
            var needMemory = d.memory * Double(gpus) - (e.memoryGiBPerNode - memoryUsed[Int(c)][n])
            guard needCPU > Self.slack || needMemory > Self.slack else { continue }
            let residents = order.filter { r in
                r != j && states[r].map { $0.grant?.cluster == c && $0.grant!.shares.contains { Int($0.node) == n } } == true
            }
            let sorted = residents.sorted { a, b in
                let ga = states[a]!.grant!, gb = states[b]!.grant!
                return (ga.shares.count, -ga.cpusPerGPU, -ga.memoryPerGPU) < (gb.shares.count, -gb.cpusPerGPU, -gb.memoryPerGPU)
            }
            for r in sorted {
                let g = states[r]!.grant!
                let here = Double(g.shares.first { Int($0.node) == n }!.count)
                let excessCPU = max(0, g.cpusPerGPU - fairC) * here, excessMemory = max(0, g.memoryPerGPU - fairM) * here
                guard (needCPU > Self.slack && excessCPU > 0) || (needMemory > Self.slack && excessMemory > 0) else { continue }
                hold(g, sign: -1)
                let reverted = Grant(cluster: c, shares: g.shares, cpusPerGPU: min(g.cpusPerGPU, fairC), memoryPerGPU: min(g.memoryPerGPU, fairM), speedup: 1)
                hold(reverted, sign: 1)
                states[r]!.grant = reverted
                if states[r]!.running { rerate(r) }
                needCPU -= excessCPU
                needMemory -= excessMemory
                if needCPU <= Self.slack && needMemory <= Self.slack { break }
            }
        }
    }

    /// Records a grant's CPU and memory on its nodes (`sign` -1: gives them back).
    private mutating func hold(_ g: Grant, sign: Double) {
        for share in g.shares {
            cpuUsed[Int(g.cluster)][Int(share.node)] += sign * g.cpusPerGPU * Double(share.count)
            memoryUsed[Int(g.cluster)][Int(share.node)] += sign * g.memoryPerGPU * Double(share.count)
        }
    }

    private mutating func grant(_ j: JobIndex, _ g: Grant) {
        hold(g, sign: 1)
        states[j]!.grant = g
    }
}
