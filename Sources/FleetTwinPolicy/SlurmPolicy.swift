import DequeModule
import FleetTwinEngine
import FleetTwinFleet

/// Slurm's scheduling of one cluster, as a `SlurmConfiguration` sets it up; each rule cites the
/// page of Slurm's documentation it follows (22.05):
///
/// - **Order** (https://slurm.schedmd.com/priority_multifactor.html): jobs are considered by
///   partition `PriorityTier` (higher first), then priority (higher first), then job id (the
///   order of submission; a requeued job keeps its id and so its place). Priority under
///   `priority/multifactor` is the integer part of
///   `w_age·age + w_fairshare·F + w_jobsize·size + w_partition·partition + w_qos·qos`, at
///   least 1, recomputed every `PriorityCalcPeriod` and at submission: age = time eligible /
///   `PriorityMaxAge` (capped at 1); qos = the QOS priority / the highest QOS priority;
///   partition = `PriorityJobFactor` / the highest; size = the job's share of the cluster's
///   nodes or GPUs, whichever is larger (inverted with `PriorityFavorSmall`); fair-share
///   F = 2^(-U/S), the classic formula, with U the user's usage (GPU-time decayed with
///   `PriorityDecayHalfLife`) over everyone's and S = 1 / the number of users (every user
///   holds one share). `priority/basic` orders by submission alone.
/// - **Main scheduler** (https://slurm.schedmd.com/sched_config.html): at every event
///   (submission, completion, release) and every `sched_interval`, it walks the queue in
///   order (at most `default_queue_depth` jobs, except on the periodic pass) and starts each
///   job that fits now. The first eligible job that does not fit stops the walk: "do not
///   schedule more jobs in this partition or on nodes in this partition" (job_scheduler.c),
///   and every modelled partition spans every node. Jobs whose eligible time has not come
///   (a requeued job waits `cred_expire` + 1 s) are passed over.
/// - **Backfill** (https://slurm.schedmd.com/sched_config.html#backfill, `sched/backfill`;
///   as 22.05's backfill.c `_attempt_backfill` and select/cons_tres's will-run test do it):
///   every `bf_interval`, it walks the queue in order (at most `bf_max_job_test` jobs). For
///   each job, the nodes that no reservation holds over [now, now + its time limit]; on them,
///   the earliest time it fits when the running jobs end at their **time limits** (start +
///   limit: never their true durations, which Slurm does not know). If that is now, it starts
///   on the nodes the select plugin would take. Otherwise those nodes are reserved, whole,
///   from that start to start + limit, both rounded down to `bf_resolution` (at least one
///   slot), against every job behind it; a reservation that would overlap an earlier one is
///   retried from its start ("TRY_LATER"). Nodes are chosen as the select plugin chooses them
///   without a topology: whole nodes from the shortest run of consecutive available nodes
///   that holds them, a partial node by best fit.
/// - **Preemption** (https://slurm.schedmd.com/preempt.html): with `preempt/qos`, a job whose
///   QOS lists another's QOS in `Preempt` may stop it; with `preempt/partition_prio`, a job of
///   a higher-tier partition may stop one of a lower tier. Only `PreemptMode=REQUEUE` is
///   modelled: the victim is killed (`SchedulingDecision.requeue`: a batch job without
///   checkpoints starts over), and is eligible again `cred_expire` + 1 s later, after its
///   QOS's `GraceTime`. When the preemptor does not fit, the victims are the preemptable jobs
///   of the node(s) where stopping them makes it fit with the fewest GPUs stopped on other
///   nodes, then the fewest jobs, then the first node: what `PreemptParameters=reorder_count=1`
///   aims at ("minimize the count of jobs preempted") without killing multi-node jobs when a
///   single-node choice exists.
///
/// A job without a time limit takes its partition's `DefaultTime` (else `MaxTime`), else it
/// is planned as running to the end of the backfill window. A job without a partition or QOS
/// takes the default partition and the `normal` QOS. Not modelled: jobs killed at their time
/// limit (replayed durations are the recorded ones), partitions over some of the nodes,
/// suspension, reservations, dependencies, QOS limits, and node weights. Every start names
/// its nodes as Slurm's select plugin picks them (`NodePlan.Preference.consecutive`); the
/// run's `PlacementRule` only says whether a gang sits on as few nodes as its size allows
/// (`first-fit`, `best-fit`) or may spread (`spread`, `any`). It schedules
/// the fleet's first cluster that can hold the job (`replay` and `run` refuse fleets of more
/// than one cluster for this policy).
///
/// Capacity left idle while jobs wait (the main scheduler stopped at a job that does not fit,
/// jobs not yet eligible, the time until the next backfill cycle) is reported as a
/// reservation of every free GPU for the highest-ordered waiting job, which is what Slurm
/// does with it. Per pass the main scheduler walks the queue from the top (bounded by
/// `default_queue_depth`), as Slurm does; the backfill plan is rebuilt every `bf_interval`.
public struct SlurmPolicy: SchedulingPolicy {
    public let name = "slurm"
    /// A forked state's running jobs are taken over: they end at the limit they were given.
    public let adoptsRunningJobs = true
    public let placement: PlacementRule
    public let configuration: SlurmConfiguration

    private enum State: UInt8 { case pending, running, done }

    private struct Entry {
        var job: PendingJob
        var state: State = .pending
        var eligibleAt: VirtualTime
        var accrueFrom: VirtualTime
        var priority: Int64 = 1
        var tier: Int = 0
        var partitionIndex: Int = -1
        var qosIndex: Int = -1
        var shares: [NodeShare] = []
        var cluster: Int32 = -1
        var startedAt: VirtualTime = .zero
        /// When a QOS grace time ends and the job is to be requeued (`.limit`: not doomed).
        var requeueAt: VirtualTime = .limit
    }

    private var entries: [Entry] = []
    /// Submitted since the last pass.
    private var arrivals: [JobIndex] = []
    /// Pending jobs in scheduling order.
    private var order: [JobIndex] = []
    private var running: [JobIndex] = []
    private var nextCalc: VirtualTime = .zero
    private var nextSchedPass: VirtualTime = .zero
    private var nextBackfill: VirtualTime = .zero
    // Fair-share usage by tenant (GPU-µs, decayed), with the GPUs each tenant holds.
    private var usage: [Double] = []
    private var usageAt: [VirtualTime] = []
    private var held: [Int] = []

    // The pass in progress.
    private var passTime: VirtualTime = .limit
    private var inPass = false
    private var queued: Deque<SchedulingDecision> = []
    private var mainQueue: [JobIndex] = []
    private var cursor = 0
    private var depth = 0
    private var mainDone = false
    private var backfillDone = false
    public private(set) var reservations: [Reservation] = []

    /// When the backfill cycles run: at `backfillPhase` + k x `bf_interval`. A replay cannot
    /// know the real cluster's phase (when its slurmctld started); a forecast draws it.
    public let backfillPhase: VirtualTime

    public init(configuration: SlurmConfiguration, placement: PlacementRule = .bestFit, backfillPhase: VirtualTime = .zero) {
        self.configuration = configuration
        self.placement = placement
        self.backfillPhase = backfillPhase
        self.nextBackfill = backfillPhase
    }

    /// The first backfill cycle after `now`.
    private func nextBackfillCycle(after now: VirtualTime) -> VirtualTime {
        backfillPhase + Self.nextMultiple(of: configuration.bfInterval, after: now - backfillPhase)
    }

    // MARK: Events

    /// A submission; it joins the queue at the next pass, where the fleet view names its
    /// partition and QOS.
    public mutating func jobArrived(_ job: PendingJob, at now: VirtualTime) {
        precondition(Int(job.index) == entries.count, "jobs arrive in index order")
        entries.append(Entry(job: job, eligibleAt: now, accrueFrom: now))
        arrivals.append(job.index)
    }

    private mutating func admit(_ job: JobIndex, fleet: FleetView, at now: VirtualTime) {
        let i = Int(job)
        let pending = entries[i].job
        entries[i].partitionIndex = pending.partition >= 0
            ? configuration.partitionIndex(named: fleet.partitionNames[Int(pending.partition)]) ?? configuration.defaultPartition ?? -1
            : configuration.defaultPartition ?? -1
        entries[i].qosIndex = pending.qos >= 0
            ? configuration.qosIndex(named: fleet.qosNames[Int(pending.qos)]) ?? configuration.qosIndex(named: "normal") ?? -1
            : configuration.qosIndex(named: "normal") ?? -1
        entries[i].tier = entries[i].partitionIndex >= 0 ? configuration.partitions[entries[i].partitionIndex].priorityTier : 0
        entries[i].priority = priority(job, at: now)
        // A job adopted running (a forked state) has its partition and QOS, not a place in line.
        if entries[i].state == .pending { insert(job) }
    }

    public mutating func jobCompleted(_ job: JobIndex, at now: VirtualTime) {
        stopRunning(job, at: now)
        entries[Int(job)].state = .done
    }

    public mutating func jobStarted(_ job: PendingJob, on run: JobRun, at now: VirtualTime) {
        let i = Int(job.index)
        if entries[i].state != .running {
            entries[i].state = .running
            entries[i].startedAt = now
            running.append(job.index)
            if let position = order.firstIndex(of: job.index) { order.remove(at: position) }
            track(tenant: job.tenant, change: run.devices, at: now)
        }
        entries[i].shares = run.shares
        entries[i].cluster = run.cluster
    }

    /// A requeue (or a failure) put the job back: eligible again after `cred_expire` + 1 s,
    /// its age counted from then (the requeue resets its submit time).
    public mutating func jobPreempted(_ job: PendingJob, at now: VirtualTime) {
        stopRunning(job.index, at: now)
        let i = Int(job.index)
        entries[i].job = job
        entries[i].state = .pending
        entries[i].requeueAt = .limit
        entries[i].eligibleAt = now + configuration.requeueDelay
        entries[i].accrueFrom = entries[i].eligibleAt
        entries[i].priority = priority(job.index, at: now)
        insert(job.index)
    }

    public mutating func jobFailed(_ job: PendingJob, at now: VirtualTime) { jobPreempted(job, at: now) }

    private mutating func stopRunning(_ job: JobIndex, at now: VirtualTime) {
        let i = Int(job)
        guard entries[i].state == .running else { return }
        if let position = running.firstIndex(of: job) { running.remove(at: position) }
        track(tenant: entries[i].job.tenant, change: -entries[i].shares.reduce(0) { $0 + Int($1.count) }, at: now)
        entries[i].shares = []
    }

    // MARK: Decisions

    public mutating func nextDecision(at now: VirtualTime, fleet: FleetView) -> SchedulingDecision? {
        if !inPass || passTime != now { beginPass(at: now, fleet: fleet) }
        while true {
            if let next = queued.popFirst() { return next }
            if !mainDone {
                if let decision = mainStep(at: now, fleet: fleet) { return decision }
                continue
            }
            if !backfillDone {
                backfillDone = true
                if configuration.backfill && now >= nextBackfill {
                    nextBackfill = nextBackfillCycle(after: now)
                    for (job, shares) in backfill(at: now, fleet: fleet) {
                        queued.append(.startOnNodes(job, cluster: entries[Int(job)].cluster, shares: shares))
                    }
                }
                continue
            }
            endPass(fleet: fleet)
            return nil
        }
    }

    public func wakeup(after now: VirtualTime) -> VirtualTime? {
        guard !order.isEmpty || !arrivals.isEmpty || running.contains(where: { entries[Int($0)].requeueAt != .limit }) else { return nil }
        var next = Self.nextMultiple(of: configuration.schedInterval, after: now)
        if configuration.backfill { next = min(next, nextBackfillCycle(after: now)) }
        for job in running where entries[Int(job)].requeueAt > now { next = min(next, entries[Int(job)].requeueAt) }
        return next
    }

    private mutating func beginPass(at now: VirtualTime, fleet: FleetView) {
        inPass = true
        passTime = now
        queued.removeAll()
        if totalNodes == nil, let c = fleet.clusters.first {
            totalNodes = (c.nodes.nodeCount, c.nodes.acceleratorsPerNode, c.capacity)
        }
        for job in arrivals { admit(job, fleet: fleet, at: now) }
        arrivals.removeAll(keepingCapacity: true)
        if now >= nextCalc {
            for job in order { entries[Int(job)].priority = priority(job, at: now) }
            var sorted = order
            sorted.sort { before($0, $1) }
            order = sorted
            nextCalc = Self.nextMultiple(of: configuration.calcPeriod, after: now)
        }
        // Grace times that ended: their victims go now.
        for job in running where entries[Int(job)].requeueAt <= now { queued.append(.requeue(job)) }
        let periodic = now >= nextSchedPass
        if periodic { nextSchedPass = Self.nextMultiple(of: configuration.schedInterval, after: now) }
        depth = periodic ? Int.max : configuration.defaultQueueDepth
        mainQueue = order
        cursor = 0
        mainDone = false
        backfillDone = false
    }

    private mutating func endPass(fleet: FleetView) {
        inPass = false
        reservations.removeAll(keepingCapacity: true)
        // Capacity left idle while jobs wait is held for the first of them (see the type's doc).
        if let top = order.first, let cluster = cluster(for: entries[Int(top)].job, fleet: fleet),
           fleet.clusters[Int(cluster)].free.totalFree > 0 {
            reservations.append(Reservation(job: top, cluster: cluster, accelerators: fleet.clusters[Int(cluster)].free.totalFree))
        }
    }

    /// One step of the main scheduler's walk: a start, a requeue (then the preemptor's start),
    /// or nil when the walk is over.
    private mutating func mainStep(at now: VirtualTime, fleet: FleetView) -> SchedulingDecision? {
        while cursor < mainQueue.count && depth > 0 {
            let job = mainQueue[cursor]
            cursor += 1
            let entry = entries[Int(job)]
            guard entry.state == .pending, entry.eligibleAt <= now else { continue }
            depth -= 1
            guard let cluster = cluster(for: entry.job, fleet: fleet) else { continue }
            entries[Int(job)].cluster = cluster
            if let shares = nodes(for: entry.job.worldSize, free: fleet.clusters[Int(cluster)].nodes) {
                return .startOnNodes(job, cluster: cluster, shares: shares)
            }
            // A preemptor whose victims are still in their grace time waits for them.
            if running.contains(where: { entries[Int($0)].requeueAt != .limit }) { break }
            if let victims = victims(for: job, cluster: cluster, fleet: fleet) {
                var graceEnds = now
                for victim in victims {
                    let grace = victimQOS(victim)?.graceTime ?? .zero
                    if grace > .zero {
                        entries[Int(victim)].requeueAt = now + grace
                        graceEnds = max(graceEnds, now + grace)
                    } else {
                        queued.append(.requeue(victim))
                    }
                }
                if graceEnds == now {
                    var freed = fleet.clusters[Int(cluster)].nodes
                    for victim in victims { freed.release(entries[Int(victim)].shares) }
                    if let shares = nodes(for: entry.job.worldSize, free: freed) {
                        queued.append(.startOnNodes(job, cluster: cluster, shares: shares))
                    }
                }
                mainDone = true
                return queued.popFirst()
            }
            break  // the walk stops at the first job that does not fit
        }
        mainDone = true
        return nil
    }

    /// Where Slurm's select plugin puts `size` GPUs on the free capacity now (see
    /// `NodePlan.Preference.consecutive`), or nil when they do not fit.
    private func nodes(for size: Int, free capacity: ClusterCapacity) -> [NodeShare]? {
        let free = capacity.freeOnNode
        return NodePlan.choose(size, perNode: capacity.acceleratorsPerNode, free: free, rule: placement, preferring: .consecutive(free))
    }

    // MARK: Backfill

    /// The jobs backfill starts now, in order, each checked against a plan of free GPUs per
    /// node in time that protects the reservation of every job tested before it.
    private mutating func backfill(at now: VirtualTime, fleet: FleetView) -> [(JobIndex, [NodeShare])] {
        guard let first = order.first, let cluster = cluster(for: entries[Int(first)].job, fleet: fleet) else { return [] }
        let capacity = fleet.clusters[Int(cluster)].nodes
        let perNode = capacity.acceleratorsPerNode
        // GPUs: what runs now, each running job ending at start + limit (Slurm's will-run test).
        var usage = NodePlan(now: now, free: capacity.freeOnNode)
        for job in running where entries[Int(job)].cluster == cluster {
            let end = max(entries[Int(job)].startedAt + limit(job), now + VirtualTime(microseconds: 1))
            for share in entries[Int(job)].shares { usage.add(Int(share.count), node: Int(share.node), from: end) }
        }
        // Nodes: the node-space map, 1 where a node is free of reservations (down nodes: 0),
        // starting at now rounded down to bf_resolution.
        var space = NodePlan(now: roundDown(now), free: capacity.isDown.map { $0 ? 0 : 1 })
        let windowEnd = roundDown(now + configuration.bfWindow)
        var starts: [(JobIndex, [NodeShare])] = []
        var tested = 0
        for job in order where tested < configuration.bfMaxJobTest {
            let entry = entries[Int(job)]
            guard entry.state == .pending, entry.eligibleAt <= now,
                  self.cluster(for: entry.job, fleet: fleet) == cluster else { continue }
            tested += 1
            let size = entry.job.worldSize, timeLimit = limit(job)
            var startFrom = now
            // Slurm's TRY_LATER loop: each retry starts later, at most once per map boundary.
            for _ in 0...space.times.count {
                // Nodes free of reservations over the whole window [start, start + limit].
                let open = space.minimum(from: startFrom, to: startFrom + timeLimit + VirtualTime(microseconds: 1))
                guard let (start, shares) = usage.earliest(size, perNode: perNode, rule: placement, from: startFrom, before: windowEnd,
                                                           on: open) else {
                    // No start on these nodes; try from the next point where the map changes.
                    guard let later = space.times.first(where: { $0 > startFrom }) else { break }
                    startFrom = later
                    continue
                }
                if start <= now {
                    usage.take(shares, from: now, to: now + timeLimit)
                    entries[Int(job)].cluster = cluster
                    starts.append((job, shares))
                    break
                }
                // A reservation, rounded down to bf_resolution at both ends (at least one slot),
                // holds its nodes whole against every job behind it.
                let from = roundDown(start), to = max(roundDown(start + timeLimit), from + configuration.bfResolution)
                if !space.fits(shares.map { NodeShare(node: $0.node, count: 1) }, from: from, to: to) {
                    startFrom = start
                    continue
                }
                space.take(shares.map { NodeShare(node: $0.node, count: 1) }, from: from, to: to)
                break
            }
        }
        return starts
    }

    private func roundDown(_ t: VirtualTime) -> VirtualTime {
        let r = configuration.bfResolution.microseconds
        return VirtualTime(microseconds: t.microseconds / r * r)
    }

    /// The job's time limit: its own, else its partition's default, else the backfill window.
    private func limit(_ job: JobIndex) -> VirtualTime {
        let entry = entries[Int(job)]
        if entry.job.timeLimit > 0 { return VirtualTime(microseconds: entry.job.timeLimit) }
        if entry.partitionIndex >= 0, let t = configuration.partitions[entry.partitionIndex].defaultTime { return t }
        return configuration.bfWindow
    }

    // MARK: Preemption

    private func victimQOS(_ job: JobIndex) -> SlurmConfiguration.QOS? {
        let q = entries[Int(job)].qosIndex
        return q >= 0 ? configuration.qos[q] : nil
    }

    /// Whether `preemptor` may requeue the running job `victim` under the configuration.
    private func mayPreempt(_ preemptor: JobIndex, _ victim: JobIndex) -> Bool {
        let p = entries[Int(preemptor)], v = entries[Int(victim)]
        guard v.requeueAt == .limit else { return false }
        let victimMode = victimQOS(victim).map { $0.preemptMode == "cluster" ? configuration.preemptMode : $0.preemptMode }
            ?? configuration.preemptMode
        guard victimMode == "requeue" else { return false }
        switch configuration.preemptType {
        case .none: return false
        case .qos:
            guard p.qosIndex >= 0, v.qosIndex >= 0 else { return false }
            return configuration.qos[p.qosIndex].preempts.contains(configuration.qos[v.qosIndex].name)
        case .partitionPriority:
            return p.tier > v.tier
        }
    }

    /// The running jobs to requeue so that `job` fits, or nil when no choice makes it fit.
    private func victims(for job: JobIndex, cluster: Int32, fleet: FleetView) -> [JobIndex]? {
        let candidates = running.filter { entries[Int($0)].cluster == cluster && mayPreempt(job, $0) }
        guard !candidates.isEmpty else { return nil }
        let capacity = fleet.clusters[Int(cluster)].nodes
        let perNode = capacity.acceleratorsPerNode
        let size = entries[Int(job)].job.worldSize
        // Per node: the victims that would free enough of it, cheapest first.
        var choices: [(cost: (Int, Int, Int), node: Int, victims: [JobIndex])] = []
        for node in 0..<capacity.nodeCount where !capacity.isDown[node] {
            let need = min(size, perNode) - capacity.freeOnNode[node]
            let onNode = candidates.filter { j in entries[Int(j)].shares.contains { Int($0.node) == node } }
                .sorted { (entries[Int($0)].priority, entries[Int($1)].startedAt, $1) < (entries[Int($1)].priority, entries[Int($0)].startedAt, $0) }
            var freed = 0, chosen: [JobIndex] = [], elsewhere = 0
            for victim in onNode where freed < need {
                for share in entries[Int(victim)].shares {
                    if Int(share.node) == node { freed += Int(share.count) } else { elsewhere += Int(share.count) }
                }
                chosen.append(victim)
            }
            guard freed >= need else { continue }
            choices.append(((elsewhere, chosen.count, node), node, chosen))
        }
        choices.sort { $0.cost < $1.cost }
        let nodesNeeded = (size + perNode - 1) / perNode
        guard choices.count >= nodesNeeded else { return nil }
        var victims: [JobIndex] = []
        for choice in choices.prefix(nodesNeeded) {
            for v in choice.victims where !victims.contains(v) { victims.append(v) }
        }
        var whatIf = fleet.whatIf(cluster)
        for v in victims { whatIf.release(entries[Int(v)].shares) }
        return whatIf.fits(size, rule: placement) ? victims : nil
    }

    // MARK: Order and priority

    private func before(_ a: JobIndex, _ b: JobIndex) -> Bool {
        let x = entries[Int(a)], y = entries[Int(b)]
        if x.tier != y.tier { return x.tier > y.tier }
        if x.priority != y.priority { return x.priority > y.priority }
        return a < b
    }

    private mutating func insert(_ job: JobIndex) {
        var low = 0, high = order.count
        while low < high {
            let mid = (low + high) / 2
            if before(order[mid], job) { low = mid + 1 } else { high = mid }
        }
        order.insert(job, at: low)
    }

    private func cluster(for job: PendingJob, fleet: FleetView) -> Int32? {
        fleet.clusters(of: job.acceleratorTypes).first
    }

    /// Multifactor priority at `now` (see the type's documentation); 1 under priority/basic.
    private func priority(_ job: JobIndex, at now: VirtualTime) -> Int64 {
        let c = configuration
        guard c.multifactor else { return 1 }
        let entry = entries[Int(job)]
        let age = min(1, max(0, Double((now - entry.accrueFrom).microseconds)) / Double(max(1, c.maxAge.microseconds)))
        let maxQOS = c.qos.map(\.priority).max() ?? 0
        let qos = entry.qosIndex >= 0 && maxQOS > 0 ? Double(c.qos[entry.qosIndex].priority) / Double(maxQOS) : 0
        let maxFactor = c.partitions.map(\.priorityJobFactor).max() ?? 0
        let partition = entry.partitionIndex >= 0 && maxFactor > 0
            ? Double(c.partitions[entry.partitionIndex].priorityJobFactor) / Double(maxFactor) : 0
        var size = 0.0
        if c.weightJobSize > 0, let nodes = totalNodes, nodes.count > 0 {
            let gpus = Double(entry.job.worldSize) / Double(nodes.gpus)
            let wantedNodes = Double((entry.job.worldSize + nodes.perNode - 1) / nodes.perNode) / Double(nodes.count)
            size = min(1, max(gpus, wantedNodes))
            if c.favorSmall { size = 1 - size }
        }
        var fairshare = 0.0
        if c.weightFairshare > 0 {
            let tenant = Int(entry.job.tenant)
            let users = max(1, usage.count)
            let total = (0..<usage.count).reduce(0.0) { $0 + decayed($1, at: now) }
            let mine = tenant >= 0 && tenant < usage.count ? decayed(tenant, at: now) : 0
            let share = 1 / Double(users)
            fairshare = total > 0 ? Double.pow2(-(mine / total) / share) : 1
        }
        let value = c.weightAge * age + c.weightFairshare * fairshare + c.weightJobSize * size
            + c.weightPartition * partition + c.weightQOS * qos
        return max(1, Int64(min(value, 4e9)))
    }

    /// The cluster's shape for the job-size factor, learnt on the first pass.
    private var totalNodes: (count: Int, perNode: Int, gpus: Int)?

    // MARK: Fair-share usage

    private mutating func track(tenant: Int32, change: Int, at now: VirtualTime) {
        guard configuration.weightFairshare > 0, tenant >= 0 else { return }
        let t = Int(tenant)
        while usage.count <= t {
            usage.append(0)
            usageAt.append(now)
            held.append(0)
        }
        usage[t] = decayed(t, at: now)
        usageAt[t] = now
        held[t] += change
    }

    /// Tenant `t`'s usage at `now`: the decayed usage so far plus what its held GPUs added,
    /// integrated under the decay (∫ h·2^(-(now-s)/H) ds).
    private func decayed(_ t: Int, at now: VirtualTime) -> Double {
        let dt = Double((now - usageAt[t]).microseconds)
        let h = Double(configuration.decayHalfLife.microseconds)
        let factor = Double.pow2(-dt / h)
        return usage[t] * factor + Double(held[t]) * h / 0.693_147_180_559_945_3 * (1 - factor)
    }

    static func nextMultiple(of step: VirtualTime, after now: VirtualTime) -> VirtualTime {
        let s = max(1, step.microseconds)
        return VirtualTime(microseconds: (now.microseconds / s + 1) * s)
    }
}

extension Double {
    /// 2^x without Foundation (the policy module imports only the standard library).
    fileprivate static func pow2(_ x: Double) -> Double {
        guard x.isFinite else { return x > 0 ? .infinity : 0 }
        let whole = x.rounded(.down)
        var result = 1.0
        // 2^frac by its series around ln 2; 2^whole exactly by scaling.
        let y = (x - whole) * 0.693_147_180_559_945_3
        var term = 1.0
        for k in 1...20 {
            term *= y / Double(k)
            result += term
        }
        return Double(sign: .plus, exponent: Int(max(-1074, min(1023, whole))), significand: result)
    }
}

/// Free GPUs per node in time, from now on: what Slurm's backfill plans with. Segments start
/// at `times[k]` and run to the next; the last runs forever.
struct NodePlan {
    var times: [VirtualTime]
    var free: [[Int]]

    init(now: VirtualTime, free: [Int]) {
        times = [now]
        self.free = [free]
    }

    /// The segment starting at `t`, split off the one containing it.
    private mutating func boundary(_ t: VirtualTime) -> Int {
        var k = times.count - 1
        while k > 0 && times[k] > t { k -= 1 }
        if times[k] == t { return k }
        times.insert(t, at: k + 1)
        free.insert(free[k], at: k + 1)
        return k + 1
    }

    /// `count` GPUs of `node` come free at `t` (a running job's planned end).
    mutating func add(_ count: Int, node: Int, from t: VirtualTime) {
        let k = boundary(t)
        for i in k..<times.count { free[i][node] += count }
    }

    mutating func take(_ shares: [NodeShare], from start: VirtualTime, to end: VirtualTime) {
        let a = boundary(start), b = boundary(end)
        for i in a..<b { for s in shares { free[i][Int(s.node)] -= Int(s.count) } }
    }

    /// The least free of each node over [start, end).
    func minimum(from start: VirtualTime, to end: VirtualTime) -> [Int] {
        var result: [Int]?
        for k in times.indices where times[k] < end && (k + 1 == times.count || times[k + 1] > start) {
            result = result.map { zip($0, free[k]).map { min($0, $1) } } ?? free[k]
        }
        return result ?? free[free.count - 1]
    }

    /// Whether every share stays within the free count of its node over [start, end).
    func fits(_ shares: [NodeShare], from start: VirtualTime, to end: VirtualTime) -> Bool {
        let least = minimum(from: start, to: end)
        return shares.allSatisfy { least[Int($0.node)] >= Int($0.count) }
    }

    /// Slurm's will-run test: the first planned instant from `start` (and before `horizon`)
    /// at which `size` GPUs fit on the nodes where `open` is positive, as the select plugin
    /// would place them then, and those nodes. Free counts only grow after now (running
    /// jobs end), so the state at an instant is what stays.
    func earliest(_ size: Int, perNode: Int, rule: PlacementRule, from start: VirtualTime, before horizon: VirtualTime,
                  on open: [Int]) -> (VirtualTime, [NodeShare])? {
        for k in times.indices where k + 1 == times.count || times[k + 1] > start {
            let t = Swift.max(times[k], start)
            if t > horizon { break }
            let free = zip(self.free[k], open).map { $1 > 0 ? $0 : 0 }
            if let shares = Self.choose(size, perNode: perNode, free: free, rule: rule, preferring: .consecutive(free)) { return (t, shares) }
        }
        return nil
    }

    /// Which of the nodes that would do a choice prefers.
    enum Preference {
        /// The run's placement rule on the free counts given.
        case rule
        /// Slurm's select plugin without a topology (select/cons_tres, `_eval_nodes`): whole
        /// nodes from the shortest run of consecutive available nodes that holds them all
        /// (else from the longest runs first), a partial node by best fit on `now`.
        case consecutive([Int])
    }

    /// `count` of the `available` nodes (ascending) as Slurm picks them: the first run of
    /// consecutive nodes among the shortest that hold `count`; without one, from the longest
    /// runs first.
    static func consecutive(_ count: Int, of available: [Int]) -> [Int]? {
        guard available.count >= count else { return nil }
        var runs: [[Int]] = []
        for node in available {
            if let last = runs.last?.last, last + 1 == node { runs[runs.count - 1].append(node) } else { runs.append([node]) }
        }
        if let best = runs.filter({ $0.count >= count }).min(by: { $0.count < $1.count }) { return Array(best.prefix(count)) }
        var chosen: [Int] = []
        for run in runs.enumerated().sorted(by: { ($0.element.count, -$0.offset) > ($1.element.count, -$1.offset) }).map(\.element) {
            chosen += run.prefix(count - chosen.count)
            if chosen.count == count { break }
        }
        return chosen.sorted()
    }

    /// Nodes for a gang under a node-local rule, among those whose `free` suffices; whole
    /// nodes first for a gang larger than one node.
    static func choose(_ size: Int, perNode: Int, free: [Int], rule: PlacementRule, preferring preference: Preference = .rule) -> [NodeShare]? {
        var remaining = free, shares: [NodeShare] = []
        func pick(_ candidates: [Int]) -> Int? {
            switch preference {
            case .consecutive(let now): return candidates.min { (now[$0], $0) < (now[$1], $1) }
            case .rule: return rule == .bestFit ? candidates.min { (remaining[$0], $0) < (remaining[$1], $1) } : candidates.first
            }
        }
        func single(_ count: Int) -> Int? { pick(remaining.indices.filter { remaining[$0] >= count }) }
        if rule.isNodeLocal {
            if size > perNode {
                if case .consecutive = preference {
                    guard let nodes = consecutive(size / perNode, of: remaining.indices.filter { remaining[$0] == perNode }) else { return nil }
                    for node in nodes {
                        remaining[node] = 0
                        shares.append(NodeShare(node: Int32(node), count: Int32(perNode)))
                    }
                } else {
                    for _ in 0..<(size / perNode) {
                        guard let node = pick(remaining.indices.filter { remaining[$0] == perNode }) else { return nil }
                        remaining[node] = 0
                        shares.append(NodeShare(node: Int32(node), count: Int32(perNode)))
                    }
                }
            }
            let rest = size > perNode ? size % perNode : size
            if rest > 0 {
                guard let node = single(rest) else { return nil }
                shares.append(NodeShare(node: Int32(node), count: Int32(rest)))
            }
            return shares
        }
        var left = size
        for node in remaining.indices.sorted(by: { (remaining[$0], $1) > (remaining[$1], $0) }) where left > 0 && remaining[node] > 0 {
            let take = min(left, remaining[node])
            shares.append(NodeShare(node: Int32(node), count: Int32(take)))
            left -= take
        }
        return left == 0 ? shares : nil
    }
}
