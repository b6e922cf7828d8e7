import DequeModule
import FleetTwinEngine
import FleetTwinFleet

/// Slurm's scheduling of one cluster, as a `SlurmConfiguration` sets it up; each rule cites the
/// page of Slurm's documentation it follows (22.05):
///
/// - **Order** (https://slurm.schedmd.com/priority_multifactor.html; job_scheduler.c
///   `sort_job_queue2`): with preemption, a job that may preempt another goes before it (under
///   `preempt/qos`, by the QOS ladder: `preemptLevels(of:)`); then partition `PriorityTier`
///   (higher first), then priority (higher first), then submit time, then job id (a requeue
///   resets the submit time: job_mgr.c `batch_requeue_fini`). Priority under
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
///   when it fits when the running jobs end at their **time limits** (start + limit: never
///   their true durations, which Slurm does not know), as the select plugin's will-run test
///   finds it: job ends taken in growing time windows (`SlurmConfiguration.willRunWindow`,
///   select/cons_common job_test.c `_will_run_test`; nil: the exact earliest instant). If that is now, it starts
///   on the nodes the select plugin would take. Otherwise those nodes are reserved, whole,
///   from that start to start + limit, both rounded down to `bf_resolution` (at least one
///   slot), against every job behind it; a reservation that would overlap an earlier one is
///   retried from its start ("TRY_LATER"). Nodes are chosen as the select plugin chooses them
///   without a topology (select/cons_tres job_test.c `_eval_nodes`): whole nodes from the
///   shortest run of consecutive available nodes that holds them; one node by CPU cores: of
///   the nodes with the GPUs and a free core, the run of consecutive ones with the fewest free
///   cores in all, in it the node with the fewest (the fleet's `cpus_per_node`, else 3 per
///   GPU; a job takes the CPUs Slurm allocated it, the trace's `cpus`, over the fewest nodes
///   its GPUs fit on, else its CPUs per GPU from the trace, else one core per node, Slurm's
///   one task of one CPU: `demand(of:cluster:)`). Every placement - the main scheduler's,
///   backfill's now and later (its plan holds each node's free cores in time beside its GPUs,
///   the running jobs' coming back at their time limits: `_will_run_test` tests on the future
///   node usage), the victim search - offers a job on a node only the GPUs the node's free
///   cores cover (`CPUDemand`; gres_sched.c `gres_sched_add`: at most available CPUs /
///   cpus_per_gres GPUs).
/// - **When the schedulers run** (with `SlurmConfiguration.schedulerLatency` set, the
///   default; nil keeps the instant model: the main scheduler at every event, backfill at
///   `backfillPhase` + k x `bf_interval`). As slurmctld 22.05 does it: an event (submission,
///   completion, requeue) only asks for the main scheduler, which runs `schedulerLatency`
///   later (the background thread's next turn, controller.c `_slurmctld_background`), not
///   sooner than `batch_sched_delay` after the previous main pass; the full pass also runs
///   every `sched_interval`. The backfill thread (backfill.c `backfill_agent`) sleeps
///   `bf_interval` after a cycle and runs the next one then if anything changed since the
///   last began (`_more_work`: a job submitted, started, ended or requeued, compared in whole
///   seconds as slurmctld's `last_job_update` is), else it retries every second and runs at
///   the first retry after the next change. A pass does not see the events of its own
///   instant (a completion or submission arriving as the thread turns is served next time):
///   their jobs wait, their GPUs stay taken for that pass. The cycle's phase is
///   `backfillPhase` (half a second by default: unknown to a replay).
/// - **Preemption** (https://slurm.schedmd.com/preempt.html): with `preempt/qos`, a job whose
///   QOS lists another's QOS in `Preempt` may stop it; with `preempt/partition_prio`, a job of
///   a higher-tier partition may stop one of a lower tier. Only `PreemptMode=REQUEUE` is
///   modelled: the victim is killed (`SchedulingDecision.requeue`: a batch job without
///   checkpoints starts over), and is eligible again `cred_expire` + 1 s later, after its
///   grace time (its QOS's `GraceTime`; under `preempt/partition_prio` its partition's). The
///   victims are those select/cons_common's `_run_now` chooses
///   (`victims(for:)`). Under slurmctld's timing the preemptor starts at the next pass, once
///   its victims' nodes are free (node_scheduler.c `select_nodes` answers ESLURM_NODES_BUSY
///   after signalling them), and signals no more victims for `KillWait` + `MessageTimeout`;
///   backfill preempts for a job it reaches that would fit with its preemptable jobs gone
///   (job_test.c `_will_run_test` answers "now", backfill.c `_start_job` preempts and reserves
///   the nodes). The instant model starts the preemptor in the same pass and does not preempt
///   in backfill. A job started in the same pass is no victim.
///
/// A job without a time limit takes its partition's `DefaultTime` (else `MaxTime`), else it
/// is planned as running to the end of the backfill window. A job without a partition or QOS
/// takes the default partition and the `normal` QOS. Not modelled: jobs killed at their time
/// limit (replayed durations are the recorded ones), partitions over some of the nodes,
/// suspension, reservations, dependencies, QOS limits, node weights, and in the CPU fit
/// sockets, threads and memory. Every start names
/// its nodes as Slurm's select plugin picks them (`NodePlan.Preference.consecutive`); the
/// run's `PlacementRule` only says whether a gang sits on as few nodes as its size allows
/// (`first-fit`, `best-fit`) or may spread (`spread`, `any`). It schedules
/// the fleet's first cluster that can hold the job (`replay` and `run` refuse fleets of more
/// than one cluster for this policy).
///
/// Capacity left idle while jobs wait (the main scheduler stopped at a job that does not fit,
/// jobs not yet eligible, the time until the next backfill cycle) is reported as a
/// reservation of every free GPU for the highest-ordered waiting job, which is what Slurm
/// does with it.
///
/// Cost: per pass the main scheduler walks the queue in place from the top (bounded by
/// `default_queue_depth`) and stops at the first job that does not fit, as Slurm does; the
/// order is kept sorted as jobs arrive, start and come back, and sorted again only when
/// `PriorityCalcPeriod` elapses under multifactor priority. Each backfill cycle plans afresh,
/// as Slurm's does, but reads the running jobs' planned ends off a list kept sorted as they
/// start and stop, finds each job's earliest start by halving the plan's segments, keeps the
/// node-space map as bit sets, and stops as soon as no job left among those it tests could
/// start on the GPUs still free now (skipping a cycle where none could): its reservations are
/// forgotten at the end of the cycle, so the decisions are the same as planning every job.
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
        /// Its submit time in whole seconds (slurmctld's `time_t`), which orders equal
        /// priorities; a requeue resets it.
        var submitSecond: Int64
        var priority: Int64 = 1
        var tier: Int = 0
        /// Its QOS's rank in the preemption ladder (`preemptLevels`); 0 without preemption by QOS.
        var preemptLevel: Int = 0
        var partitionIndex: Int = -1
        var qosIndex: Int = -1
        var shares: [NodeShare] = []
        /// The CPU cores it holds on the node of each share, while it runs.
        var cores: [Int] = []
        var cluster: Int32 = -1
        var startedAt: VirtualTime = .zero
        /// When a QOS grace time ends and the job is to be requeued (`.limit`: not doomed).
        var requeueAt: VirtualTime = .limit
        /// When this job last signalled victims (`.limit`: never).
        var preemptedAt: VirtualTime = .limit
        /// While it runs: start + time limit, its key in `runningEnds`.
        var plannedEnd: VirtualTime = .zero
    }

    /// A running job by the end backfill plans for it.
    private struct RunningEnd {
        var end: VirtualTime
        var job: JobIndex
        static func < (a: RunningEnd, b: RunningEnd) -> Bool { (a.end, a.job) < (b.end, b.job) }
    }

    private var entries: [Entry] = []
    /// Submitted since the last pass.
    private var arrivals: [JobIndex] = []
    /// Pending jobs in scheduling order.
    private var order: [JobIndex] = []
    private var running: [JobIndex] = []
    /// The running jobs in order of planned end, kept as they start and stop so that a
    /// backfill cycle reads its plan off in one sweep.
    private var runningEnds: [RunningEnd] = []
    /// Scratch for the jobs a backfill cycle tests, and what those from each on need at least.
    private var tested: [JobIndex] = []
    private var neededSmall: [Int] = [], neededWhole: [Int] = []
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
    /// The main scheduler's place in `order`, kept on the same job as jobs start and requeued
    /// jobs come back (so the walk reads the queue in place rather than a copy per pass).
    private var cursor = 0
    private var depth = 0
    private var mainDone = false
    private var backfillDone = false
    public private(set) var reservations: [Reservation] = []

    /// When the backfill cycles run: the first at `backfillPhase`, then as the type's
    /// documentation says (under the instant model: at `backfillPhase` + k x `bf_interval`). A
    /// replay cannot know the real cluster's phase (when its slurmctld started); a forecast
    /// draws it.
    public let backfillPhase: VirtualTime

    // slurmctld's timing (with `schedulerLatency`).
    /// Submissions not yet in the queue, with their times (`arrivals`, in order).
    private var arrivalTimes: [VirtualTime] = []
    /// The first and last events not yet served by a main pass (`.limit`: none).
    private var triggerFirst: VirtualTime = .limit, triggerLast: VirtualTime = .limit
    private var lastMainPass: VirtualTime = .limit
    /// GPUs released outside a pass, by cluster: those of the pass's own instant are hidden.
    private var released: [(time: VirtualTime, cluster: Int32, shares: [NodeShare], cores: [Int])] = []
    /// The backfill thread: its last cycle, its next wake, and the times of job changes since
    /// the whole second its last cycle began.
    private var bfLast: VirtualTime = .limit
    private var bfWake: VirtualTime
    private var updates: Deque<VirtualTime> = []
    /// Whether this pass runs a backfill cycle (decided at its start).
    private var cycleDue = false

    /// CPU cores held on each node of each cluster (the select plugin's tightest fit is in
    /// CPUs), and each cluster's cores and GPUs per node, learnt on the first pass.
    private var cpusUsed: [[Int]] = []
    private var cpusPerNode: [Int] = []
    private var gpusPerNode: [Int] = []

    /// The highest QOS priority and partition factor, which normalise those factors.
    private let maxQOS: Int, maxFactor: Int
    /// Each QOS's rank in the preemption ladder (`preemptLevels(of:)`), by QOS index.
    private let qosLevels: [Int]

    /// `backfillPhase` nil: the configuration's (`SlurmConfiguration.backfillPhase`), else half a
    /// second under slurmctld's timing, zero under the instant model.
    public init(configuration: SlurmConfiguration, placement: PlacementRule = .bestFit, backfillPhase: VirtualTime? = nil) {
        self.configuration = configuration
        maxQOS = configuration.qos.map(\.priority).max() ?? 0
        maxFactor = configuration.partitions.map(\.priorityJobFactor).max() ?? 0
        qosLevels = configuration.preemptType == .qos ? Self.preemptLevels(of: configuration.qos) : []
        self.placement = placement
        let phase = backfillPhase ?? configuration.backfillPhase
            ?? (configuration.schedulerLatency == nil ? .zero : VirtualTime(microseconds: 500_000))
        self.backfillPhase = phase
        self.nextBackfill = phase
        self.bfWake = phase
    }

    /// Whether the schedulers run on slurmctld's timing rather than at every event.
    private var timed: Bool { configuration.schedulerLatency != nil }

    /// The first backfill cycle after `now`.
    private func nextBackfillCycle(after now: VirtualTime) -> VirtualTime {
        backfillPhase + Self.nextMultiple(of: configuration.bfInterval, after: now - backfillPhase)
    }

    // MARK: Events

    /// A submission; it joins the queue at the next pass, where the fleet view names its
    /// partition and QOS.
    public mutating func jobArrived(_ job: PendingJob, at now: VirtualTime) {
        precondition(Int(job.index) == entries.count, "jobs arrive in index order")
        entries.append(Entry(job: job, eligibleAt: now, accrueFrom: now, submitSecond: Self.wholeSeconds(now)))
        arrivals.append(job.index)
        arrivalTimes.append(now)
        changed(at: now, triggers: true)
    }

    /// A change backfill's `_more_work` sees and, when `triggers`, a request for the main
    /// scheduler (slurmctld's timing only).
    private mutating func changed(at now: VirtualTime, triggers: Bool) {
        guard timed else { return }
        if updates.last != now { updates.append(now) }
        if triggers {
            if triggerFirst == .limit { triggerFirst = now }
            triggerLast = now
        }
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
        entries[i].preemptLevel = entries[i].qosIndex >= 0 && entries[i].qosIndex < qosLevels.count ? qosLevels[entries[i].qosIndex] : 0
        entries[i].priority = priority(job, at: now)
        // A job adopted running (a forked state) has its partition and QOS, not a place in line;
        // its partition may give it the time limit its planned end is counted from.
        if entries[i].state == .pending { insert(job) }
        if entries[i].state == .running {
            untrackEnd(job)
            trackEnd(job)
        }
    }

    public mutating func jobCompleted(_ job: JobIndex, at now: VirtualTime) {
        stopRunning(job, at: now)
        entries[Int(job)].state = .done
        changed(at: now, triggers: true)
    }

    public mutating func jobStarted(_ job: PendingJob, on run: JobRun, at now: VirtualTime) {
        let i = Int(job.index)
        if entries[i].state != .running {
            entries[i].state = .running
            entries[i].startedAt = now
            running.append(job.index)
            trackEnd(job.index)
            let position = position(of: job.index)
            if position < order.count && order[position] == job.index {
                order.remove(at: position)
                if position < cursor { cursor -= 1 }
            }
            track(tenant: job.tenant, change: run.devices, at: now)
            changed(at: now, triggers: false)
        }
        holdCPUs(job.index, sign: -1)
        entries[i].shares = run.shares
        entries[i].cluster = run.cluster
        holdCPUs(job.index, sign: 1)
    }

    /// A job's CPU cores on a node of `cluster` (see `CPUDemand`). With the CPUs Slurm
    /// allocated it (the trace's `cpus`, sacct's AllocCPUS): those over the fewest nodes its
    /// GPUs fit on, on each node, rounded up (its tasks' CPUs: `sbatch -N k` gives one task,
    /// so one CPU, per node; `-c` that many per task; `--cpus-per-gpu` as many per GPU, the
    /// same on whole nodes). Else its CPUs per GPU (the trace's resources) times its GPUs
    /// there. Whole cores, at least one and at most the node's; without either, one
    /// (Slurm's default, one task of one CPU).
    private func demand(of job: JobIndex, cluster: Int32) -> CPUDemand {
        let c = Int(cluster), pending = entries[Int(job)].job
        var demand = CPUDemand(perGPU: max(0, pending.resources?.cpusPerAccelerator ?? 0),
                               nodeCores: c >= 0 && c < cpusPerNode.count ? cpusPerNode[c] : Int.max)
        if pending.cpus > 0 {
            demand.perNode = Self.coresPerNode(cpus: pending.cpus, worldSize: pending.worldSize,
                                               gpusPerNode: c >= 0 && c < gpusPerNode.count ? gpusPerNode[c] : pending.worldSize)
        }
        return demand
    }

    /// The cores a node of a job allocated `cpus` CPUs in all, spread over the fewest nodes of
    /// `gpusPerNode` GPUs its `worldSize` fits on, rounded up (`demand(of:cluster:)`).
    public static func coresPerNode(cpus: Int, worldSize: Int, gpusPerNode: Int) -> Int {
        let perNode = max(1, gpusPerNode), nodes = max(1, (worldSize + perNode - 1) / perNode)
        return (cpus + nodes - 1) / nodes
    }

    /// The cores of each of `shares` for `job` on `cluster`.
    private func cores(of job: JobIndex, shares: [NodeShare], cluster: Int32) -> [Int] {
        let d = demand(of: job, cluster: cluster)
        return shares.map { d.cores(for: Int($0.count)) }
    }

    /// Holds (`sign` 1, counting them into the job's `cores`) or gives back (-1) the job's
    /// CPU cores on the nodes of its shares.
    private mutating func holdCPUs(_ job: JobIndex, sign: Int) {
        let e = entries[Int(job)]
        guard e.cluster >= 0, !e.shares.isEmpty else { return }
        let c = Int(e.cluster)
        let held = sign > 0 ? cores(of: job, shares: e.shares, cluster: e.cluster) : e.cores
        entries[Int(job)].cores = sign > 0 ? held : []
        while cpusUsed.count <= c { cpusUsed.append([]) }
        for (share, n) in zip(e.shares, held) {
            let node = Int(share.node)
            if cpusUsed[c].count <= node { cpusUsed[c].append(contentsOf: repeatElement(0, count: node + 1 - cpusUsed[c].count)) }
            cpusUsed[c][node] += sign * n
        }
    }

    /// Each node's free CPU cores on `cluster` now.
    private func cpusFree(_ cluster: Int32, nodes: Int) -> [Int] {
        let c = Int(cluster), per = c < cpusPerNode.count ? cpusPerNode[c] : 0
        let used = c < cpusUsed.count ? cpusUsed[c] : []
        return (0..<nodes).map { per - ($0 < used.count ? used[$0] : 0) }
    }

    /// A requeue (or a failure) put the job back: eligible again after `cred_expire` + 1 s,
    /// its age counted from then, its submit time now (job_mgr.c `batch_requeue_fini` sets
    /// `begin_time`, `submit_time` and clears `accrue_time`), so that among equal priorities
    /// it goes behind the jobs submitted before its requeue.
    public mutating func jobPreempted(_ job: PendingJob, at now: VirtualTime) {
        stopRunning(job.index, at: now)
        let i = Int(job.index)
        entries[i].job = job
        entries[i].state = .pending
        entries[i].requeueAt = .limit
        entries[i].eligibleAt = now + configuration.requeueDelay
        entries[i].accrueFrom = entries[i].eligibleAt
        entries[i].submitSecond = Self.wholeSeconds(now)
        entries[i].priority = priority(job.index, at: now)
        insert(job.index)
        changed(at: now, triggers: true)
    }

    public mutating func jobFailed(_ job: PendingJob, at now: VirtualTime) { jobPreempted(job, at: now) }

    private mutating func stopRunning(_ job: JobIndex, at now: VirtualTime) {
        let i = Int(job)
        guard entries[i].state == .running else { return }
        if let position = running.firstIndex(of: job) { running.remove(at: position) }
        untrackEnd(job)
        track(tenant: entries[i].job.tenant, change: -entries[i].shares.reduce(0) { $0 + Int($1.count) }, at: now)
        // Hidden from a pass at this same instant: released outside it, or by its own requeues
        // (their nodes are completing; Slurm allocates no completing node).
        if timed && !entries[i].shares.isEmpty {
            released.append((now, entries[i].cluster, entries[i].shares, entries[i].cores))
        }
        holdCPUs(job, sign: -1)
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
                if timed ? cycleDue : configuration.backfill && now >= nextBackfill {
                    if timed {
                        bfLast = now
                        bfWake = now + configuration.bfInterval
                        pruneUpdates()
                    } else {
                        nextBackfill = nextBackfillCycle(after: now)
                    }
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
        guard !order.isEmpty || !arrivals.isEmpty || graceRunning else { return nil }
        var next = Self.nextMultiple(of: configuration.schedInterval, after: now)
        if let latency = configuration.schedulerLatency {
            // The main pass the events not yet served ask for, and the backfill cycle once a
            // change has made one due (until then the next change sets it).
            if triggerFirst != .limit {
                let due = max(triggerFirst + latency, lastMainPass == .limit ? .zero : lastMainPass + configuration.batchSchedDelay)
                next = min(next, max(due, now + VirtualTime(microseconds: 1)))
            }
            if configuration.backfill, let first = updates.first, first < bfWake, bfWake > now { next = min(next, bfWake) }
        } else if configuration.backfill {
            next = min(next, nextBackfillCycle(after: now))
        }
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
        if cpusPerNode.count < fleet.clusters.count { cpusPerNode = fleet.clusters.map { Int($0.cpusPerNode) } }
        if gpusPerNode.count < fleet.clusters.count { gpusPerNode = fleet.clusters.map { $0.nodes.acceleratorsPerNode } }
        if timed {
            // Submissions of this instant wait for the next pass.
            let waiting = arrivalTimes.partitionPoint { $0 < now }
            for job in arrivals[..<waiting] { admit(job, fleet: fleet, at: now) }
            arrivals.removeFirst(waiting)
            arrivalTimes.removeFirst(waiting)
            released.removeAll { $0.time < now }
        } else {
            for job in arrivals { admit(job, fleet: fleet, at: now) }
            arrivals.removeAll(keepingCapacity: true)
        }
        if now >= nextCalc {
            // Under priority/basic every priority is 1 and the order never changes.
            if configuration.multifactor {
                let total = fairShareTotal(at: now)
                for job in order { entries[Int(job)].priority = priority(job, at: now, fairShareTotal: total) }
                var sorted = order  // sorted apart: the comparison reads `entries` through self
                sorted.sort { before($0, $1) }
                order = sorted
            }
            nextCalc = Self.nextMultiple(of: configuration.calcPeriod, after: now)
        }
        // Grace times that ended: their victims go now.
        for job in running where entries[Int(job)].requeueAt <= now { queued.append(.requeue(job)) }
        let periodic = now >= nextSchedPass
        if periodic { nextSchedPass = Self.nextMultiple(of: configuration.schedInterval, after: now) }
        depth = periodic ? Int.max : configuration.defaultQueueDepth
        cursor = 0
        mainDone = false
        backfillDone = false
        if let latency = configuration.schedulerLatency {
            // The main scheduler runs on its period, or for events at least `latency` old.
            var runs = periodic
            if !runs, triggerFirst < now, triggerFirst + latency <= now {
                runs = lastMainPass == .limit || now >= lastMainPass + configuration.batchSchedDelay
            }
            if runs {
                lastMainPass = now
                // Events of this instant are still to be served.
                if triggerLast == now { triggerFirst = now } else { triggerFirst = .limit; triggerLast = .limit }
            }
            mainDone = !runs
            cycleDue = configuration.backfill && backfillCycleDue(at: now)
        }
    }

    /// Moves the backfill thread's clock up to `now` (see the type's documentation) and says
    /// whether a cycle runs now. A cycle that would have run while the queue was empty
    /// (no pass asked for it) is counted as run: it starts nothing.
    private mutating func backfillCycleDue(at now: VirtualTime) -> Bool {
        let second = VirtualTime.seconds(Int64(1))
        while bfWake <= now {
            pruneUpdates()
            guard let first = updates.first else { return false }
            if first < bfWake {
                if bfWake == now { return true }
                bfLast = bfWake
                bfWake = bfLast + configuration.bfInterval
            } else {
                // Nothing changed: retries every second, the first after the change.
                bfWake = bfWake + VirtualTime(microseconds: ((first - bfWake).microseconds / second.microseconds + 1) * second.microseconds)
            }
        }
        return false
    }

    /// Forgets the changes before the whole second the last cycle began: `_more_work`
    /// compares them with `last_backfill_time`, in seconds.
    private mutating func pruneUpdates() {
        guard bfLast != .limit else { return }
        let second = VirtualTime.seconds(Int64(1)).microseconds
        let from = VirtualTime(microseconds: bfLast.microseconds / second * second)
        while let first = updates.first, first < from { updates.removeFirst() }
    }

    /// The cluster's free capacity as this pass sees it: without the GPUs released at its own
    /// instant, outside it.
    private func visible(_ cluster: Int32, fleet: FleetView) -> ClusterCapacity {
        var capacity = fleet.clusters[Int(cluster)].nodes
        for r in released where r.time == passTime && r.cluster == cluster { capacity.take(r.shares) }
        return capacity
    }

    private mutating func endPass(fleet: FleetView) {
        inPass = false
        reservations.removeAll(keepingCapacity: true)
        // Capacity left idle while jobs wait is held for the first of them (see the type's doc).
        if let top = order.first ?? arrivals.first, let cluster = cluster(for: entries[Int(top)].job, fleet: fleet),
           fleet.clusters[Int(cluster)].free.totalFree > 0 {
            reservations.append(Reservation(job: top, cluster: cluster, accelerators: fleet.clusters[Int(cluster)].free.totalFree))
        }
    }

    /// One step of the main scheduler's walk: a start, a requeue (then the preemptor's start),
    /// or nil when the walk is over.
    private mutating func mainStep(at now: VirtualTime, fleet: FleetView) -> SchedulingDecision? {
        while cursor < order.count && depth > 0 {
            let job = order[cursor]
            cursor += 1
            let entry = entries[Int(job)]
            guard entry.state == .pending, entry.eligibleAt <= now else { continue }
            depth -= 1
            guard let cluster = cluster(for: entry.job, fleet: fleet) else { continue }
            entries[Int(job)].cluster = cluster
            let capacity = visible(cluster, fleet: fleet)
            if let shares = nodes(for: entry.job.worldSize, group: entry.job.tensorGroup, free: capacity,
                                  cpus: visibleCPUs(cluster, capacity: capacity), demand: demand(of: job, cluster: cluster)) {
                return .startOnNodes(job, cluster: cluster, shares: shares)
            }
            // A preemptor whose victims are still in their grace time waits for them.
            if graceRunning { break }
            if let (victims, shares) = victims(for: job, cluster: cluster, capacity: capacity, cpus: visibleCPUs(cluster, capacity: capacity)) {
                // Under slurmctld's timing the preemptor does not start in this pass: select_nodes
                // answers ESLURM_NODES_BUSY once it has signalled its victims (node_scheduler.c
                // `_preempt_jobs`), their nodes are completing until they end, and the walk stops
                // there; their requeue asks for the next pass, which starts it.
                if preemptionInProgress(job, at: now) { break }  // it signals no more victims
                entries[Int(job)].preemptedAt = now
                if preempt(victims, at: now) && !timed {
                    queued.append(.startOnNodes(job, cluster: cluster, shares: shares))
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
    /// `NodePlan.Preference.consecutive`), or nil when they do not fit; whole tensor groups of
    /// `group` on each node. `cpus` are each node's free CPU cores, `demand` the job's: a node
    /// offers it only the GPUs its free cores allow (gres_sched.c `gres_sched_add`), none
    /// without the cores for one (job_test.c `_eval_nodes` clears it from the map).
    private func nodes(for size: Int, group: Int, free capacity: ClusterCapacity, cpus: [Int], demand: CPUDemand) -> [NodeShare]? {
        var free = capacity.freeOnNode
        for node in free.indices { free[node] = demand.gpus(free[node], fittingIn: cpus[node]) }
        return NodePlan.choose(size, perNode: capacity.acceleratorsPerNode, free: free, rule: placement, group: group,
                               preferring: .consecutive(free, cpus: cpus))
    }

    /// Free CPU cores per node as this pass sees them: without the cores of the jobs whose
    /// release it does not see (`visible`).
    private func visibleCPUs(_ cluster: Int32, capacity: ClusterCapacity) -> [Int] {
        var free = cpusFree(cluster, nodes: capacity.nodeCount)
        for r in released where r.time == passTime && r.cluster == cluster {
            for (share, n) in zip(r.shares, r.cores) { free[Int(share.node)] -= n }
        }
        return free
    }

    // MARK: Backfill

    private func endPosition(_ key: RunningEnd) -> Int { runningEnds.partitionPoint { $0 < key } }

    private mutating func trackEnd(_ job: JobIndex) {
        let i = Int(job)
        entries[i].plannedEnd = entries[i].startedAt + limit(job)
        let key = RunningEnd(end: entries[i].plannedEnd, job: job)
        runningEnds.insert(key, at: endPosition(key))
    }

    private mutating func untrackEnd(_ job: JobIndex) {
        let key = RunningEnd(end: entries[Int(job)].plannedEnd, job: job)
        let position = endPosition(key)
        if position < runningEnds.count && runningEnds[position].job == job { runningEnds.remove(at: position) }
    }

    /// The jobs backfill starts now, in order, each checked against a plan of free GPUs per
    /// node in time that protects the reservation of every job tested before it.
    ///
    /// The cycle only starts jobs; its reservations are forgotten when it ends. So it stops
    /// after the last tested job that could start now on the GPUs free now (a reservation
    /// only holds nodes against the jobs behind it), and a cycle where none could is skipped
    /// whole: what Slurm's cycle would decide, without planning the jobs that cannot start.
    private mutating func backfill(at now: VirtualTime, fleet: FleetView) -> [(JobIndex, [NodeShare])] {
        guard let first = order.first, let cluster = cluster(for: entries[Int(first)].job, fleet: fleet) else { return [] }
        let capacity = visible(cluster, fleet: fleet)
        let perNode = capacity.acceleratorsPerNode
        // What could start now at best: the free GPUs, the fullest node, the wholly free nodes.
        var totalFree = 0, fullest = 0, wholeNodes = 0
        func measure(_ free: (Int) -> Int) {
            totalFree = 0
            fullest = 0
            wholeNodes = 0
            for node in 0..<capacity.nodeCount {
                let f = free(node)
                totalFree += f
                fullest = max(fullest, f)
                if f == perNode { wholeNodes += 1 }
            }
        }
        measure { capacity.freeOnNode[$0] }
        func couldStartNow(_ size: Int) -> Bool {
            guard placement.isNodeLocal else { return size <= totalFree }
            return size <= perNode ? size <= fullest : size / perNode <= wholeNodes
        }
        tested.removeAll(keepingCapacity: true)
        // A job that may preempt could start now whatever is free (will-run with its
        // preemptable jobs gone); none while a grace time runs (see `mainStep`).
        // Under slurmctld's timing only: the instant model (kept to compare with) never did.
        let preemptors = !timed || graceRunning ? PreemptorLevels.none : preemptorLevels(cluster: cluster)
        var last = -1, lastPreemptor = -1
        for job in order where tested.count < configuration.bfMaxJobTest {
            let entry = entries[Int(job)]
            guard entry.state == .pending, entry.eligibleAt <= now,
                  self.cluster(for: entry.job, fleet: fleet) == cluster else { continue }
            tested.append(job)
            if preemptors.includes(entry) { lastPreemptor = tested.count - 1 }
            if couldStartNow(entry.job.worldSize) || preemptors.includes(entry) { last = tested.count - 1 }
        }
        guard last >= 0 else { return [] }
        // GPUs and CPU cores: what runs now, each running job ending at start + limit (Slurm's
        // will-run test).
        var releases: [(end: VirtualTime, shares: [NodeShare], cores: [Int])] = []
        releases.reserveCapacity(runningEnds.count + 1)
        // Those released at this instant, which the cycle does not see yet: free right after.
        for r in released where r.time == now && r.cluster == cluster { releases.append((now + VirtualTime(microseconds: 1), r.shares, r.cores)) }
        for r in runningEnds where entries[Int(r.job)].cluster == cluster && !entries[Int(r.job)].shares.isEmpty {
            releases.append((max(r.end, now + VirtualTime(microseconds: 1)), entries[Int(r.job)].shares, entries[Int(r.job)].cores))
        }
        var usage = NodePlan(now: now, free: capacity.freeOnNode, cores: visibleCPUs(cluster, capacity: capacity), releases: releases)
        // Nodes: the node-space map, open where a node is free of reservations (down nodes:
        // never), starting at now rounded down to bf_resolution.
        var space = NodeSpace(start: roundDown(now), down: capacity.isDown)
        let windowEnd = roundDown(now + configuration.bfWindow)
        // The least each job from the i-th on needs to start now: GPUs on one node (or in all,
        // for a rule that spreads) and whole nodes. The free GPUs now and the nodes open now
        // only shrink during the cycle; once none of the jobs left could start on them, their
        // reservations could only hold nodes against jobs that cannot start either.
        neededSmall.removeAll(keepingCapacity: true)
        neededWhole.removeAll(keepingCapacity: true)
        neededSmall.append(contentsOf: repeatElement(Int.max, count: last + 2))
        neededWhole.append(contentsOf: repeatElement(Int.max, count: last + 2))
        for i in stride(from: last, through: 0, by: -1) {
            let size = entries[Int(tested[i])].job.worldSize
            neededSmall[i] = neededSmall[i + 1]
            neededWhole[i] = neededWhole[i + 1]
            if !placement.isNodeLocal || size <= perNode { neededSmall[i] = min(neededSmall[i], size) } else { neededWhole[i] = min(neededWhole[i], size / perNode) }
        }
        var starts: [(JobIndex, [NodeShare])] = []
        var open = NodeSet(nodes: capacity.nodeCount)
        var changed = false
        for (i, job) in tested[...last].enumerated() {
            if changed {
                changed = false
                space.open(from: now, to: now + VirtualTime(microseconds: 1), into: &open)
                measure { open.contains($0) ? usage.freeNow($0) : 0 }
                let someCould = placement.isNodeLocal ? neededSmall[i] <= fullest || neededWhole[i] <= wholeNodes : neededSmall[i] <= totalFree
                if !someCould && i > lastPreemptor { break }
            }
            let size = entries[Int(job)].job.worldSize, timeLimit = limit(job)
            if preemptors.includes(entries[Int(job)]),
               let shares = backfillPreemption(job, cluster: cluster, capacity: capacity, starts: starts, usage: usage, space: space, at: now) {
                // Its start (backfill.c `_start_job`) signalled victims and failed with
                // ESLURM_NODES_BUSY: the nodes chosen are reserved for it from now.
                space.take(shares, from: roundDown(now), to: max(roundDown(now + timeLimit), roundDown(now) + configuration.bfResolution))
                changed = true
                continue
            }
            usage.demand = demand(of: job, cluster: cluster)
            var startFrom = now
            // Slurm's TRY_LATER loop: each retry starts later, at most once per map boundary.
            for _ in 0...space.times.count {
                // Nodes free of reservations over the whole window [start, start + limit].
                space.open(from: startFrom, to: startFrom + timeLimit + VirtualTime(microseconds: 1), into: &open)
                let group = entries[Int(job)].job.tensorGroup
                let found = configuration.willRunWindow.map {
                    usage.earliestInWindows(size, perNode: perNode, rule: placement, group: group, from: startFrom, before: windowEnd, on: open,
                                            window: $0, clock: configuration.clockOrigin)
                } ?? usage.earliest(size, perNode: perNode, rule: placement, group: group, from: startFrom, before: windowEnd, on: open)
                guard let (start, shares) = found else {
                    // No start on these nodes; try from the next point where the map changes
                    // (none past the window: every try from there fails).
                    guard let later = space.firstTime(after: startFrom), later <= windowEnd else { break }
                    startFrom = later
                    continue
                }
                if start <= now {
                    usage.take(shares, cores: cores(of: job, shares: shares, cluster: cluster), from: now, to: now + timeLimit)
                    changed = true
                    entries[Int(job)].cluster = cluster
                    starts.append((job, shares))
                    break
                }
                // A reservation, rounded down to bf_resolution at both ends (at least one slot),
                // holds its nodes whole against every job behind it.
                let from = roundDown(start), to = max(roundDown(start + timeLimit), from + configuration.bfResolution)
                if !space.fits(shares, from: from, to: to) {
                    startFrom = start
                    continue
                }
                space.take(shares, from: from, to: to)
                changed = true
                break
            }
        }
        return starts
    }

    /// Backfill's start of a job that may preempt and does not fit now on the nodes no
    /// reservation holds: where select/cons_common's `_will_run_test` finds it fits with its
    /// preemptable jobs gone, it answers "now" so that backfill starts it, and the start
    /// (`_run_now`) signals the victims `victims(for:)` chooses. Returns the nodes chosen, with
    /// the victims queued; nil when it fits without preemption, or not even with it, or when
    /// its last preemption may still be in progress.
    private mutating func backfillPreemption(_ job: JobIndex, cluster: Int32, capacity: ClusterCapacity, starts: [(JobIndex, [NodeShare])],
                                             usage: NodePlan, space: NodeSpace, at now: VirtualTime) -> [NodeShare]? {
        let pending = entries[Int(job)].job
        let open = space.open(from: now, to: now + limit(job) + VirtualTime(microseconds: 1))
        let cpusNow = usage.coresNow ?? visibleCPUs(cluster, capacity: capacity), demand = demand(of: job, cluster: cluster)
        let freeNow = (0..<capacity.nodeCount).map { open.contains($0) ? demand.gpus(usage.freeNow($0), fittingIn: cpusNow[$0]) : 0 }
        if NodePlan.choose(pending.worldSize, perNode: capacity.acceleratorsPerNode, free: freeNow, rule: placement,
                           group: pending.tensorGroup, preferring: .consecutive(freeNow, cpus: cpusNow)) != nil { return nil }
        if preemptionInProgress(job, at: now) { return nil }
        var available = capacity
        for (_, shares) in starts { available.take(shares) }
        for node in 0..<capacity.nodeCount where !open.contains(node) { available.markDown(node) }
        guard let (victims, shares) = victims(for: job, cluster: cluster, capacity: available, cpus: cpusNow) else { return nil }
        entries[Int(job)].preemptedAt = now
        _ = preempt(victims, at: now)
        return shares
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

    /// A victim's grace time as the preempt plugin gives it: its partition's `GraceTime` under
    /// `preempt/partition_prio` (preempt_partition_prio.c `_get_grace_time`), its QOS's
    /// otherwise (preempt_qos.c).
    private func graceTime(of job: JobIndex) -> VirtualTime {
        if configuration.preemptType == .partitionPriority {
            let p = entries[Int(job)].partitionIndex
            return p >= 0 ? configuration.partitions[p].graceTime : .zero
        }
        return victimQOS(job)?.graceTime ?? .zero
    }

    /// How a running job is preempted: its QOS's `PreemptMode`, the global one for `cluster`
    /// or without a QOS.
    private func preemptMode(of job: JobIndex) -> String {
        victimQOS(job).map { $0.preemptMode == "cluster" ? configuration.preemptMode : $0.preemptMode } ?? configuration.preemptMode
    }

    /// Whether a victim's grace time is running: its preemptor waits for it, and nobody
    /// preempts until it ends.
    private var graceRunning: Bool { running.contains { entries[Int($0)].requeueAt != .limit } }

    /// Whether `job` signalled victims within `KillWait` + `MessageTimeout`: its preemption
    /// may still be in progress, so it signals no more (both schedulers).
    private func preemptionInProgress(_ job: JobIndex, at now: VirtualTime) -> Bool {
        let last = entries[Int(job)].preemptedAt
        return last != .limit && now < last + configuration.killWait + configuration.messageTimeout
    }

    private func victimQOS(_ job: JobIndex) -> SlurmConfiguration.QOS? {
        let q = entries[Int(job)].qosIndex
        return q >= 0 ? configuration.qos[q] : nil
    }

    /// Whether `preemptor` may requeue the running job `victim` under the configuration.
    private func mayPreempt(_ preemptor: JobIndex, _ victim: JobIndex) -> Bool {
        let p = entries[Int(preemptor)], v = entries[Int(victim)]
        guard v.requeueAt == .limit else { return false }
        guard preemptMode(of: victim) == "requeue" else { return false }
        switch configuration.preemptType {
        case .none: return false
        case .qos:
            guard p.qosIndex >= 0, v.qosIndex >= 0 else { return false }
            return configuration.qos[p.qosIndex].preempts.contains(configuration.qos[v.qosIndex].name)
        case .partitionPriority:
            return p.tier > v.tier
        }
    }

    /// Which pending jobs have a running job they may preempt on `cluster`, by QOS
    /// (`preempt/qos`) or partition tier (`preempt/partition_prio`): once per backfill cycle
    /// rather than a scan of the running jobs per job tested.
    private struct PreemptorLevels {
        var qos: [Bool] = []
        var aboveTier: Int = .max
        static let none = PreemptorLevels()
        func includes(_ entry: Entry) -> Bool {
            entry.tier > aboveTier || (entry.qosIndex >= 0 && entry.qosIndex < qos.count && qos[entry.qosIndex])
        }
    }

    private func preemptorLevels(cluster: Int32) -> PreemptorLevels {
        var levels = PreemptorLevels()
        guard configuration.preemptType != .none else { return levels }
        var runningQOS = Array(repeating: false, count: configuration.qos.count)
        for job in running where entries[Int(job)].cluster == cluster && entries[Int(job)].requeueAt == .limit {
            let v = entries[Int(job)]
            guard preemptMode(of: job) == "requeue" else { continue }
            if configuration.preemptType == .partitionPriority { levels.aboveTier = min(levels.aboveTier, v.tier) }
            else if v.qosIndex >= 0 { runningQOS[v.qosIndex] = true }
        }
        if configuration.preemptType == .qos {
            levels.qos = configuration.qos.map { q in q.preempts.contains { name in configuration.qos.indices.contains { runningQOS[$0] && configuration.qos[$0].name == name } } }
        }
        return levels
    }

    /// Requeues `victims` now, or at the end of their grace time; whether all go now.
    private mutating func preempt(_ victims: [JobIndex], at now: VirtualTime) -> Bool {
        var allNow = true
        for victim in victims {
            let grace = graceTime(of: victim)
            if grace > .zero {
                entries[Int(victim)].requeueAt = now + grace
                allNow = false
            } else {
                queued.append(.requeue(victim))
            }
        }
        return allNow
    }

    /// The running jobs `job` may preempt, as the preempt plugin lists them: in job-list order
    /// (submission), then sorted by its priority, lowest first (stably: glibc's merge sort) -
    /// the QOS priority (`preempt/qos`) or partition `PriorityTier` (`preempt/partition_prio`),
    /// then the node count, so smaller jobs go first (preempt_qos.c and
    /// preempt_partition_prio.c `_gen_job_prio`); with `preempt_youngest_first`, the latest
    /// started first (preempt.c `slurm_find_preemptable_jobs`).
    ///
    /// A job started in this very pass is no candidate: Slurm could stop it a moment after its
    /// start, but a start and a requeue in one instant is no schedule a replay can score.
    private func preemptionCandidates(for job: JobIndex, cluster: Int32) -> [JobIndex] {
        var candidates = running.filter {
            entries[Int($0)].cluster == cluster && entries[Int($0)].startedAt != passTime && mayPreempt(job, $0)
        }.sorted()
        if configuration.preemptYoungestFirst {
            candidates = candidates.enumerated().sorted {
                (entries[Int($1.element)].startedAt, $0.offset) < (entries[Int($0.element)].startedAt, $1.offset)
            }.map(\.element)
        } else {
            func key(_ j: JobIndex) -> Int {
                let e = entries[Int(j)]
                let level = configuration.preemptType == .partitionPriority ? e.tier : (e.qosIndex >= 0 ? configuration.qos[e.qosIndex].priority : 0)
                return min(level, 0xffff) << 16 + min(e.shares.count, 0xffff)
            }
            candidates = candidates.enumerated().sorted { (key($0.element), $0.offset) < (key($1.element), $1.offset) }.map(\.element)
        }
        return candidates
    }

    /// The running jobs to requeue so that `job` fits on `capacity`, and the nodes it would
    /// take; nil when stopping every candidate would not make it fit. As select/cons_common's
    /// `_run_now` (job_test.c, 22.05) chooses them: the candidates
    /// (`preemptionCandidates`) are removed one by one, in order, until the job fits where the
    /// select plugin would put it; then, `preempt_reorder_count` times (while candidates are
    /// left to reorder), the list is reordered - the candidate whose removal made it fit first,
    /// then those removed before it by how many of the chosen nodes they hold, most first
    /// (with `preempt_strict_order` only the former moves) - and the removal runs again. The
    /// victims are the candidates the last removal took that hold one of its chosen nodes.
    private func victims(for job: JobIndex, cluster: Int32, capacity: ClusterCapacity, cpus: [Int]) -> (victims: [JobIndex], shares: [NodeShare])? {
        var candidates = preemptionCandidates(for: job, cluster: cluster)
        guard !candidates.isEmpty else { return nil }
        let pending = entries[Int(job)].job
        var passes = 0
        while true {
            var freed = capacity, freedCPUs = cpus
            var found: (last: Int, shares: [NodeShare])?
            for (k, candidate) in candidates.enumerated() {
                freed.release(entries[Int(candidate)].shares)
                for (share, n) in zip(entries[Int(candidate)].shares, entries[Int(candidate)].cores) { freedCPUs[Int(share.node)] += n }
                if let shares = nodes(for: pending.worldSize, group: pending.tensorGroup, free: freed, cpus: freedCPUs,
                                      demand: demand(of: job, cluster: cluster)) {
                    found = (k, shares)
                    break
                }
            }
            guard let (last, shares) = found else { return nil }
            func held(_ j: JobIndex) -> Int {
                entries[Int(j)].shares.reduce(0) { n, s in shares.contains { $0.node == s.node } ? n + 1 : n }
            }
            let pass = passes
            passes += 1
            if pass > configuration.preemptReorderCount || candidates.count <= passes {
                return (candidates[...last].filter { held($0) > 0 }, shares)
            }
            if configuration.preemptStrictOrder {
                candidates.insert(candidates.remove(at: last), at: 0)
            } else {
                let keys = candidates.indices.map { $0 == last ? Int.max : $0 < last ? held(candidates[$0]) : 0 }
                candidates = candidates.indices.sorted { (keys[$1], $0) < (keys[$0], $1) }.map { candidates[$0] }
            }
        }
    }

    // MARK: Order and priority

    /// The queue's order (job_scheduler.c `sort_job_queue2`, which the main scheduler and
    /// backfill both sort by): a job that may preempt the other first, then partition
    /// `PriorityTier`, then priority, then submit time (whole seconds; a requeue resets it),
    /// then job id. Under `preempt/partition_prio` the first
    /// test is the tier's; under `preempt/qos` it is the QOS ladder (`preemptLevels(of:)`).
    private func before(_ a: JobIndex, _ b: JobIndex) -> Bool {
        let x = entries[Int(a)], y = entries[Int(b)]
        if x.preemptLevel != y.preemptLevel { return x.preemptLevel > y.preemptLevel }
        if x.tier != y.tier { return x.tier > y.tier }
        if x.priority != y.priority { return x.priority > y.priority }
        if x.submitSecond != y.submitSecond { return x.submitSecond < y.submitSecond }
        return a < b
    }

    /// Whole seconds of `time`, as slurmctld's `time_t` stamps hold it.
    private static func wholeSeconds(_ time: VirtualTime) -> Int64 {
        let second = VirtualTime.seconds(Int64(1)).microseconds
        return time.microseconds >= 0 ? time.microseconds / second : (time.microseconds - second + 1) / second
    }

    /// Each QOS's rank in the preemption ladder: 0 for one that may preempt no other QOS,
    /// otherwise one more than the highest rank among those it may preempt (cycles, which a
    /// QOS table should not have, are cut at the number of QOS). Slurm sorts the queue with
    /// `preempt_g_job_preempt_check` first (job_scheduler.c `sort_job_queue2`; under
    /// preempt/qos, preempt_qos.c: the preemptor's QOS lists the other's), so a job that may
    /// preempt another goes before it whatever their partitions and priorities. Sorting by
    /// rank is that comparison wherever each QOS may preempt every QOS of a lower rank (the
    /// usual ladder, and every recorded configuration of this project's local Slurm); for
    /// a QOS beside the ladder (preempting and preempted by nobody) Slurm's comparison is
    /// not a consistent order, and its place by rank is this model's choice.
    static func preemptLevels(of qos: [SlurmConfiguration.QOS]) -> [Int] {
        let index = Dictionary(qos.enumerated().map { ($1.name, $0) }, uniquingKeysWith: { first, _ in first })
        var levels = [Int](repeating: 0, count: qos.count)
        // Longest chains by relaxation: at most one round per QOS.
        for _ in 0..<qos.count {
            var moved = false
            for (i, q) in qos.enumerated() {
                let level = q.preempts.compactMap { index[$0] }.filter { $0 != i }.map { levels[$0] + 1 }.max() ?? 0
                if level > levels[i] && level <= qos.count { levels[i] = level; moved = true }
            }
            if !moved { break }
        }
        return levels
    }

    /// Where `job` is or would go in `order`, which is sorted by the stored priorities: they
    /// change only at a recalculation, which sorts it again.
    private func position(of job: JobIndex) -> Int { order.partitionPoint { before($0, job) } }

    private mutating func insert(_ job: JobIndex) {
        let low = position(of: job)
        order.insert(job, at: low)
        // A requeued job put back ahead of the main scheduler's place (it is not yet eligible).
        if low < cursor { cursor += 1 }
    }

    private func cluster(for job: PendingJob, fleet: FleetView) -> Int32? {
        fleet.clusters(of: job.acceleratorTypes).first
    }

    /// Everyone's fair-share usage at `now`: once per recalculation, not once per job.
    private func fairShareTotal(at now: VirtualTime) -> Double {
        (0..<usage.count).reduce(0.0) { $0 + decayed($1, at: now) }
    }

    /// Multifactor priority at `now` (see the type's documentation); 1 under priority/basic.
    private func priority(_ job: JobIndex, at now: VirtualTime, fairShareTotal given: Double? = nil) -> Int64 {
        let c = configuration
        guard c.multifactor else { return 1 }
        let entry = entries[Int(job)]
        let age = min(1, max(0, Double((now - entry.accrueFrom).microseconds)) / Double(max(1, c.maxAge.microseconds)))
        let qos = entry.qosIndex >= 0 && maxQOS > 0 ? Double(c.qos[entry.qosIndex].priority) / Double(maxQOS) : 0
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
            let total = given ?? fairShareTotal(at: now)
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

extension NodePlan {
    /// Which of the nodes that would do a choice prefers.
    enum Preference {
        /// The run's placement rule on the free counts given.
        case rule
        /// Slurm's select plugin without a topology (select/cons_tres, `_eval_nodes`): whole
        /// nodes from the shortest run of consecutive available nodes that holds them all
        /// (else the longest runs whole, first, see `consecutive(_:of:)`). A single node as
        /// cons_tres picks it: the available nodes (those with the GPUs and a free CPU core) in
        /// runs of consecutive nodes, the first run with the fewest free CPUs in all (`cpus`,
        /// each node's free CPU cores: the tightest fit), in it the first node with the fewest;
        /// without `cpus`, the node with the fewest free GPUs `now`.
        case consecutive([Int], cpus: [Int]? = nil)
    }

    /// `count` of the `available` nodes (ascending) as Slurm picks them (job_test.c
    /// `_eval_nodes`, whole idle nodes: a run's free CPUs go with its length): the first run
    /// of consecutive nodes among the shortest that hold `count`; without one, all of the
    /// first of the longest runs, and again for the nodes still wanted.
    static func consecutive(_ count: Int, of available: [Int]) -> [Int]? {
        guard available.count >= count else { return nil }
        var runs: [[Int]] = []
        for node in available {
            if let last = runs.last?.last, last + 1 == node { runs[runs.count - 1].append(node) } else { runs.append([node]) }
        }
        var chosen: [Int] = []
        while chosen.count < count {
            let rest = count - chosen.count
            if let best = runs.indices.filter({ runs[$0].count >= rest }).min(by: { (runs[$0].count, $0) < (runs[$1].count, $1) }) {
                chosen += runs[best].prefix(rest)
                break
            }
            // None holds the rest: the first of the longest, whole (its CPUs the most).
            guard let longest = runs.indices.min(by: { (-runs[$0].count, $0) < (-runs[$1].count, $1) }) else { return nil }
            chosen += runs.remove(at: longest)
        }
        return chosen.sorted()
    }

    /// Nodes for a gang under a node-local rule, among those whose `free` suffices; whole
    /// nodes first for a gang larger than one node.
    static func choose(_ size: Int, perNode: Int, free: [Int], rule: PlacementRule, group: Int = 1,
                       preferring preference: Preference = .rule) -> [NodeShare]? {
        var remaining = free, shares: [NodeShare] = []
        func pick(_ candidates: [Int]) -> Int? {
            switch preference {
            case .consecutive(let now, nil): return candidates.min { (now[$0], $0) < (now[$1], $1) }
            case .consecutive(_, let cpus?):
                // Runs of consecutive candidates (ascending) with a free CPU, the first of those
                // with the fewest free CPUs, then its node with the fewest.
                var best: (sum: Int, first: Int, last: Int)?
                var i = 0
                let sorted = candidates.filter { cpus[$0] > 0 }.sorted()
                while i < sorted.count {
                    var j = i, sum = cpus[sorted[i]]
                    while j + 1 < sorted.count && sorted[j + 1] == sorted[j] + 1 { j += 1; sum += cpus[sorted[j]] }
                    if best == nil || sum < best!.sum { best = (sum, i, j) }
                    i = j + 1
                }
                guard let run = best else { return nil }
                return sorted[run.first...run.last].min { (cpus[$0], $0) < (cpus[$1], $1) }
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
        // Whole tensor groups per node (node-local choices above are whole nodes and one
        // remainder, multiples of a group that divides the node size and the gang).
        var left = size
        for node in remaining.indices.sorted(by: { (remaining[$0], $1) > (remaining[$1], $0) }) where left > 0 && remaining[node] >= group {
            let take = min(left, remaining[node] - remaining[node] % group)
            shares.append(NodeShare(node: Int32(node), count: Int32(take)))
            left -= take
        }
        return left == 0 ? shares : nil
    }
}
