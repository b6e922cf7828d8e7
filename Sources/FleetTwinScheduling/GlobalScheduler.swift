import FleetTwinEngine
import FleetTwinFleet

/// Something that reaches the global scheduler at an instant.
public enum StepEvent: Sendable {
    /// A job arrives; `speeds` (by type index) when its speed depends on the type.
    case arrival(Job, PendingJob, speeds: [Double]?)
    /// A job that arrives already running on `AdoptedRun`'s accelerators (a forked state).
    case adoption(Job, PendingJob, speeds: [Double]?, AdoptedRun)
    case completion(JobIndex, generation: UInt32)
    /// A dump finished: `placement` is free. `endsStop` when the job itself stopped (a
    /// preemption), false when only a migration's source or a shrink's devices are freed.
    case release(JobIndex, Placement, endsStop: Bool)
    case checkpoint(JobIndex, generation: UInt32)
    /// The policy asked to be woken.
    case wakeup
    /// A node (global cluster index, local node index) fails, or comes back repaired.
    case nodeFailure(cluster: Int32, node: Int32)
    case nodeRepair(cluster: Int32, node: Int32)
    /// A cluster's accelerators now run at `factor` of their speed (1: recovered).
    case speedChange(cluster: Int32, factor: Double)
    /// A region is cut off from the others (`change` 1) or reconnected (-1).
    case partition(region: Int32, change: Int)
}

/// What a step did, in order, for the simulation to log and to schedule events from.
public enum SchedulingOutcome: Sendable, Equatable {
    case submitted(JobIndex)
    case completed(JobIndex, Placement, banked: Int64)
    /// A run begins on `placement` after `delay` (restore or transfer).
    case started(JobIndex, Placement, Segment, delay: VirtualTime)
    /// A preemption or migration cut the job on `placement`; its dump takes `dump`, after
    /// which `placement` is released.
    case stopped(JobIndex, Placement, reason: EventKind, banked: Int64, dump: VirtualTime, releaseAt: VirtualTime)
    /// The job now runs on `placement`; `freed` (if any) is released at `releaseAt`.
    case resized(JobIndex, Placement, Segment, banked: Int64, delay: VirtualTime, freed: Placement?, releaseAt: VirtualTime)
    case released(JobIndex, Placement)
    case checkpointed(JobIndex, Placement, Segment, banked: Int64, pause: VirtualTime)
    /// A per-event overhead paused the running job for `pause` (`RestartCost.elasticFlowEvents`).
    case paused(JobIndex, Placement, Segment, banked: Int64, pause: VirtualTime)
    /// The job's accelerators failed: it released `accelerators` devices, lost `lost` µs of
    /// work since its last checkpoint, of which `unbanked` had been banked by cuts.
    case failed(JobIndex, cluster: Int32, accelerators: Int, lost: Int64, unbanked: Int64)
    /// The policy requeued the job: the same accounting as `failed`.
    case requeued(JobIndex, cluster: Int32, accelerators: Int, lost: Int64, unbanked: Int64)
    /// The job's accelerators changed speed: it banked its progress and goes on at a new rate.
    case rerated(JobIndex, Placement, Segment, banked: Int64)
    /// The policy declined the waiting job: it never runs (`SchedulingDecision.decline`).
    case declined(JobIndex)
    /// The job ran on `placement`'s accelerators beside the job that held them, which left:
    /// it holds them now (`SchedulingDecision.colocate`).
    case tookOver(JobIndex, Placement)
}

/// The top of the hierarchy: owns the policy and the fleet view, asks the policy for
/// decisions and carries each one out through the regional and cluster schedulers, with
/// the mechanisms' costs (`MechanismCosts`).
public actor GlobalScheduler {
    private nonisolated let executor: SimulationExecutor
    public nonisolated var unownedExecutor: UnownedSerialExecutor { executor.asUnownedSerialExecutor() }
    public nonisolated let regions: [RegionalScheduler]
    private var policy: any SchedulingPolicy
    /// The policy's placement rule, read once: reading a property of the existential copies
    /// the whole policy value each time, and the pass reads it per shape and cluster.
    private let placement: PlacementRule
    public private(set) var view: FleetView
    /// Job actors by index; a job is appended when it arrives.
    private var jobs: [Job] = []
    private var pending: [PendingJob] = []
    /// Per-type speeds of model-shaped jobs (by type index); nil uses the cluster's speed.
    private var jobSpeeds: [[Double]?] = []
    /// Each job's speedup from its host resources (`SchedulingDecision.setResourceSpeedup`; 1
    /// unless a resource-sensitive policy set it).
    private var resourceSpeedup: [Double] = []
    /// Jobs sharing accelerators (`SchedulingDecision.colocate`): each one's partner and
    /// whether it holds them (the host) or runs on its partner's (the guest); looked up only.
    private var sharing: [JobIndex: (partner: JobIndex, holds: Bool)] = [:]
    /// Each job's factor on its rate while it shares accelerators (1 alone).
    private var interference: [Double] = []
    /// Devices each job's current run started on and when, for attained service.
    private var runStart: [(at: VirtualTime, devices: Int)] = []
    /// Placements a job still holds besides its current one (a migration's source, a
    /// shrink's freed devices) until their release event; looked up, never iterated.
    private var releasing: [JobIndex: [Placement]] = [:]
    /// Outcomes of real workloads, in completion order.
    public private(set) var computations: [ComputationOutcome] = []
    private let clusterSpeed: [Double]
    /// Degradation of each cluster's accelerators (1: nominal).
    private var speedFactor: [Double]
    private let costs: MechanismCosts
    /// Gradient all-reduce per step, by placement (model-shaped multi-accelerator jobs).
    private let communication: CommunicationCosts
    private let checksInvariants: Bool
    /// When each job last started, resumed, or was resized or moved (for the hysteresis check).
    private var lastStart: [VirtualTime] = []
    /// Each job's stops (preemptions, requeues, migrations) in the current window of the thrash
    /// check: when the window began, and how many so far.
    private var stopWindow: [(since: VirtualTime, count: Int)] = []
    /// The thrash check: more stops than this of one job within `thrashWindow` of virtual time.
    static let thrashLimit = 10
    static let thrashWindow = VirtualTime.seconds(Int64(60))
    /// Jobs waiting to start, by shape (world size and types), for the work-conservation check
    /// and the idle-while-waiting measure: O(shapes) per pass, never O(queue).
    private var waitingShapes: [(worldSize: Int, types: TypeSet, group: Int, count: Int)] = []
    private var shapeOfJob: [Int32] = []
    private var shapeLookup: [TypeSetAndSize: Int32] = [:]  // looked up only
    private struct TypeSetAndSize: Hashable { var size: Int; var types: TypeSet; var group: Int }
    /// Accelerators idle while a waiting job fit them (under the placement rule) since the
    /// last pass, and the accelerator-µs of that so far.
    private var idleFitting = 0
    private var lastPass = VirtualTime.zero
    public private(set) var idleWhileWaitingAcceleratorMicroseconds: Double = 0

    public init(
        regions: [RegionalScheduler], view: FleetView, clusterSpeed: [Double],
        policy: any SchedulingPolicy, costs: MechanismCosts, communication: CommunicationCosts = .none,
        checkInvariants: Bool = false, executor: SimulationExecutor
    ) {
        self.communication = communication
        self.checksInvariants = checkInvariants
        self.regions = regions
        self.view = view
        self.clusterSpeed = clusterSpeed
        self.speedFactor = Array(repeating: 1, count: clusterSpeed.count)
        self.policy = policy
        self.placement = policy.placement
        self.costs = costs
        self.executor = executor
    }

    public var policyName: String { policy.name }

    /// When the policy next wants a pass.
    public func wakeup(after now: VirtualTime) -> VirtualTime? { policy.wakeup(after: now) }

    /// Reused between steps so that a step allocates nothing in the common case.
    private var outcomes: [SchedulingOutcome] = []

    /// One simulation step: takes in everything due at `now`, in queue order, then runs one
    /// scheduling pass. One call per instant keeps actor hops per event low.
    public func step(at now: VirtualTime, events: [StepEvent]) async throws -> [SchedulingOutcome] {
        outcomes.removeAll(keepingCapacity: true)
        idleWhileWaitingAcceleratorMicroseconds += Double(idleFitting) * Double((now - lastPass).microseconds)
        lastPass = now
        for event in events {
            switch event {
            case let .arrival(job, pendingJob, speeds), let .adoption(job, pendingJob, speeds, _):
                precondition(Int(job.index) == jobs.count, "jobs must arrive in index order")
                jobs.append(job)
                pending.append(pendingJob)
                jobSpeeds.append(speeds)
                resourceSpeedup.append(1)
                interference.append(1)
                runStart.append((now, 0))
                lastStart.append(now)
                stopWindow.append((now, 0))
                let shape = TypeSetAndSize(size: pendingJob.worldSize, types: pendingJob.acceleratorTypes, group: pendingJob.tensorGroup)
                if let s = shapeLookup[shape] { shapeOfJob.append(s) } else {
                    shapeLookup[shape] = Int32(waitingShapes.count)
                    shapeOfJob.append(Int32(waitingShapes.count))
                    waitingShapes.append((pendingJob.worldSize, pendingJob.acceleratorTypes, pendingJob.tensorGroup, 0))
                }
                waiting(job.index, by: 1)
                outcomes.append(.submitted(job.index))
                policy.jobArrived(pendingJob, at: now)
                if case let .adoption(_, _, _, run) = event {
                    try await validateStart(job.index, devices: run.shares.reduce(0) { $0 + Int($1.count) }, cluster: run.cluster, rule: .any)
                    try await start(job.index, cluster: run.cluster, devices: run.shares.reduce(0) { $0 + Int($1.count) },
                                    shares: run.shares, at: now)
                    waiting(job.index, by: -1)
                }
            case let .completion(index, generation):
                // A stale event (the job was cut since) completes nothing.
                guard let (placement, banked, computed) = await jobs[Int(index)].complete(at: now, generation: generation) else { continue }
                if let computed { computations.append(computed) }
                let shown = shown(index, placement)
                try await release(index, placement, at: now)
                runStart[Int(index)].devices = 0  // holds nothing now (per-event overheads skip it)
                outcomes.append(.completed(index, shown, banked: banked))
                policy.jobCompleted(index, at: now)
            case let .release(index, placement, endsStop):
                // A failure since the cut released everything already.
                if endsStop ? await jobs[Int(index)].status != .stopping : releasing[index]?.contains(placement) != true { continue }
                if endsStop {
                    _ = await jobs[Int(index)].released()
                    let remaining = await jobs[Int(index)].remainingWork
                    pending[Int(index)].remainingWork = remaining
                } else {
                    releasing[index]?.removeAll { $0 == placement }
                    if releasing[index]?.isEmpty == true { releasing[index] = nil }
                }
                let shown = shown(index, placement)
                try await release(index, placement, at: now)
                outcomes.append(.released(index, shown))
                if endsStop {
                    waiting(index, by: 1)
                    policy.jobPreempted(pending[Int(index)], at: now)
                } else {
                    policy.devicesReleased(index, cluster: placement.cluster, count: placement.acceleratorCount, at: now)
                }
            case let .checkpoint(index, generation):
                try await checkpoint(index, generation: generation, at: now)
            case .wakeup:
                break
            case let .nodeFailure(cluster, node):
                try await failNode(cluster: cluster, node: node, at: now)
            case let .partition(region, change):
                view.isolate(region, by: change, regions: regions.count)
            case let .speedChange(cluster, factor):
                try await changeSpeed(cluster: cluster, factor: factor, at: now)
            case let .nodeRepair(cluster, node):
                _ = await clusterActor(cluster).repairNode(Int(node))
                view.markUp(node: Int(node), in: cluster)
                policy.capacityChanged(at: now)
            }
            if checksInvariants { try await checkInvariants() }
        }
        try await schedulingPass(at: now)
        return outcomes
    }

    /// Asks the policy for decisions until it has none, carrying out each one; then
    /// measures (and, with checks, verifies) what the pass left idle.
    private func schedulingPass(at now: VirtualTime) async throws {
        while let decision = policy.nextDecision(at: now, fleet: view) {
            do {
                try await carryOut(decision, at: now)
            } catch let error as SimulationError {
                // A relayed decision (the external policy's) is refused with the answer it came from.
                guard let origin = policy.decisionOrigin else { throw error }
                throw error.citing(origin)
            }
            if checksInvariants { try await checkInvariants() }
        }
        if let failure = policy.failure { throw SimulationError.policyFailed(policy: policy.name, at: now, message: failure) }
        if costs.settings.chargesCosts && costs.settings.restartCost == .elasticFlowEvents { await chargeEventOverheads(at: now) }
        try measureIdle(at: now)
    }

    /// Scheduling events charged so far per cluster, and per cluster the placements seen since
    /// the last cache reset (ElasticFlow's rank-set cache; looked up, never iterated).
    private var chargedEvents: [Int] = []
    private var rankSets: [Set<RankSet>] = []
    /// A job's accelerators as (node << 32 | slot), sorted.
    private struct RankSet: Hashable { var accelerators: [Int64] }

    /// ElasticFlow's per-event overhead (`RestartCost.elasticFlowEvents`;
    /// `scheduler.py::ef_sim_jobs_access_control` after each event's allocation): in each
    /// cluster where the policy counted a scheduling event this pass, every running job, in
    /// index order, pauses for `RestartCost.elasticFlowOverhead`. A job's accelerators (EF's
    /// rank set) are cached once seen, whichever job held them; the cache is read for every
    /// job before a restart event (`elasticFlowRestarts`) empties it, as EF's log fills it
    /// before the overhead is charged.
    private func chargeEventOverheads(at now: VirtualTime) async {
        let counts = policy.schedulingEvents
        for c in counts.indices where c < view.clusters.count {
            if chargedEvents.count <= c {
                chargedEvents += Array(repeating: 0, count: c + 1 - chargedEvents.count)
                rankSets += Array(repeating: [], count: c + 1 - rankSets.count)
            }
            guard counts[c] > chargedEvents[c] else { continue }
            chargedEvents[c] = counts[c]
            let restart = RestartCost.elasticFlowRestarts(atEvent: counts[c] - 1)
            for (i, job) in jobs.enumerated() where runStart[i].devices > 0 {
                guard await job.status == .running, let placement = await job.placement, placement.cluster == Int32(c) else { continue }
                var ranks: [Int64] = []
                for share in placement.shares {
                    for (slot, holder) in await clusterActor(Int32(c)).nodes[Int(share.node)].bindings.enumerated() where holder == job.index {
                        ranks.append(Int64(share.node) << 32 | Int64(slot))
                    }
                }
                ranks.sort()
                let cached = !rankSets[c].insert(RankSet(accelerators: ranks)).inserted
                let pause = RestartCost.elasticFlowOverhead(devices: placement.acceleratorCount, clusterDevices: view.clusters[c].capacity,
                                                            restart: restart, cached: cached)
                guard let (banked, segment) = await job.pause(at: now, for: pause) else { continue }
                outcomes.append(.paused(job.index, placement, segment, banked: banked, pause: pause))
                policy.jobPaused(job.index, until: segment.progressFrom, at: now)
            }
            if restart { rankSets[c].removeAll() }
        }
    }

    /// Carries out one decision of the policy's, or throws why the fleet cannot.
    private func carryOut(_ decision: SchedulingDecision, at now: VirtualTime) async throws {
        switch decision {
        case let .start(index, cluster, accelerators):
            try await validateStart(index, devices: accelerators, cluster: cluster)
            try await start(index, cluster: cluster, devices: accelerators, at: now)
            waiting(index, by: -1)
        case let .startOnNodes(index, cluster, shares):
            let devices = shares.reduce(0) { $0 + Int($1.count) }
            try await validateStart(index, devices: devices, cluster: cluster, rule: .any)
            let group = pending[Int(index)].tensorGroup
            if let split = shares.first(where: { Int($0.count) % group != 0 }) {
                throw SimulationError.invalidDecision("job \(index) has tensor groups of \(group), which must sit inside nodes; node \(split.node) was given \(split.count) of its accelerators")
            }
            try await start(index, cluster: cluster, devices: devices, shares: shares, at: now)
            waiting(index, by: -1)
        case let .preempt(index):
            try checkHysteresis(index, "preempted", at: now)
            try await preempt(index, at: now)
        case let .colocate(guest, host, keeps, hostKeeps):
            try await colocate(guest, with: host, keeps: keeps, hostKeeps: hostKeeps, at: now)
            waiting(guest, by: -1)
        case let .migrate(index, cluster):
            try refuseShared(index, "migrated")
            try checkHysteresis(index, "migrated", at: now)
            try await migrate(index, to: cluster, at: now)
        case let .requeue(index):
            try checkHysteresis(index, "requeued", at: now)
            _ = try await running(index)
            if let (cluster, released, lost, unbanked) = try await dropRun(index, at: now) {
                outcomes.append(.requeued(index, cluster: cluster, accelerators: released, lost: lost, unbanked: unbanked))
                waiting(index, by: 1)
                policy.jobPreempted(pending[Int(index)], at: now)
            }
        case let .decline(index):
            guard index >= 0, Int(index) < jobs.count, await jobs[Int(index)].decline() else {
                throw SimulationError.invalidDecision("policy \(policy.name) declined job \(index), which is not a waiting job that never started")
            }
            waiting(index, by: -1)
            outcomes.append(.declined(index))
        case let .resize(index, accelerators):
            try refuseShared(index, "resized")
            if accelerators < runStart[Int(index)].devices { try checkHysteresis(index, "shrunk", at: now) }
            try await resize(index, to: accelerators, at: now)
        case let .setResourceSpeedup(index, factor):
            try await setResourceSpeedup(index, factor, at: now)
        }
    }

    /// What the pass left idle while waiting jobs fit (and, with checks, that it left none
    /// outside reservations).
    private func measureIdle(at now: VirtualTime) throws {
        idleFitting = 0
        var reserved: [Int] = []
        if checksInvariants {
            reserved = Array(repeating: 0, count: view.clusters.count)
            for r in policy.reservations { reserved[Int(r.cluster)] += r.accelerators }
        }
        var usable = Array(repeating: 0, count: view.clusters.count)
        for shape in waitingShapes where shape.count > 0 {
            for c in view.clusters(of: shape.types) where view.clusters[Int(c)].free.fits(shape.worldSize, rule: placement, group: shape.group) {
                usable[Int(c)] += shape.count * shape.worldSize
                // Work conservation: a waiting gang that fits on idle accelerators no
                // reservation holds must have been started.
                if checksInvariants && view.clusters[Int(c)].free.freeInGroups(of: shape.group) - reserved[Int(c)] >= shape.worldSize {
                    throw SimulationError.invariantViolated(
                        "policy \(policy.name) left \(view.clusters[Int(c)].free.totalFree) accelerators of cluster \(view.clusters[Int(c)].name) idle "
                        + "(\(reserved[Int(c)]) reserved) while \(shape.count) job(s) of \(shape.worldSize) accelerator(s) that fit there wait, at \(now)")
                }
            }
        }
        for (c, u) in usable.enumerated() where u > 0 { idleFitting += min(u, view.clusters[c].free.totalFree) }
    }

    private func waiting(_ index: JobIndex, by change: Int) {
        waitingShapes[Int(shapeOfJob[Int(index)])].count += change
    }

    /// Nodes out of service now.
    public var downNodes: Int {
        view.clusters.reduce(0) { $0 + $1.nodes.isDown.reduce(0) { $0 + ($1 ? 1 : 0) } }
    }

    /// Jobs waiting to start now (never started, or stopped and released).
    public var waitingJobs: [JobIndex] {
        get async {
            var found: [JobIndex] = []
            for job in jobs where await job.status == .queued { found.append(job.index) }
            return found
        }
    }

    /// No job loses its devices in the instant it (re)started, nor before it made progress;
    /// and no job is stopped more than `thrashLimit` times within `thrashWindow` (a policy that
    /// gives devices and takes them back over and over is thrashing, whatever its reason:
    /// Gandiva's guests once were, every few milliseconds). Checks only (`--check`).
    private func checkHysteresis(_ index: JobIndex, _ what: String, at now: VirtualTime) throws {
        guard checksInvariants, Int(index) < lastStart.count else { return }
        if lastStart[Int(index)] == now, runStart[Int(index)].devices > 0 {
            throw SimulationError.invariantViolated("policy \(policy.name) \(what) job \(index) in the instant it started or resumed (\(now))")
        }
        guard what != "shrunk" else { return }
        let i = Int(index)
        if now - stopWindow[i].since >= Self.thrashWindow { stopWindow[i] = (now, 0) }
        stopWindow[i].count += 1
        if stopWindow[i].count > Self.thrashLimit {
            throw SimulationError.invariantViolated(
                "policy \(policy.name) stopped job \(index) \(stopWindow[i].count) times within \(Self.thrashWindow) (since \(stopWindow[i].since)), the last \(what) at \(now): a thrash")
        }
    }

    // MARK: Mechanisms

    private func start(_ index: JobIndex, cluster: Int32, devices: Int, shares: [NodeShare]? = nil, at now: VirtualTime) async throws {
        let job = jobs[Int(index)]
        let (placement, rate) = try await place(index, cluster: cluster, devices: devices, shares: shares)
        let delay = costs.startTime(job.spec, dumpsSoFar: await job.dumps, cluster: cluster)
        let segment = await job.start(at: now, on: placement, rate: rate, delay: delay)
        began(index, on: placement, progressFrom: segment.progressFrom, at: now)
        outcomes.append(.started(index, placement, segment, delay: delay))
    }

    /// Preemption: a consistent cut within `cutSteps` mini-batches (progress kept), then a
    /// dump; the accelerators are free when the dump is done.
    private func preempt(_ index: JobIndex, at now: VirtualTime) async throws {
        let job = try await running(index)
        let (banked, cutAt) = try await cut(job, at: now)
        try checkProgress(index, banked: banked, "preempted")
        let dump = costs.dumpTime(bytes: await dumpBytes(job), cluster: await job.placement!.cluster)
        await job.beginStopping()
        let placement = await job.placement!
        ended(index, at: cutAt)
        outcomes.append(.stopped(index, placement, reason: .preempted, banked: banked, dump: dump, releaseAt: cutAt + dump))
    }

    /// Migration: cut and dump at the source, upload and download, restore at the
    /// destination. The destination is held from now; the source until its dump is done.
    private func migrate(_ index: JobIndex, to destination: Int32, at now: VirtualTime) async throws {
        let job = try await running(index)
        let source = await job.placement!
        try validateCluster(index, cluster: destination, devices: source.acceleratorCount)
        guard view.canMigrate(from: source.cluster, to: destination) else {
            throw SimulationError.invalidDecision("job \(index) cannot migrate across a network partition")
        }
        let (banked, cutAt) = try await cut(job, at: now)
        try checkProgress(index, banked: banked, "migrated")
        let bytes = await dumpBytes(job)
        let dump = costs.dumpTime(bytes: bytes, cluster: source.cluster)
        let transfer = costs.transferTime(bytes: bytes, from: source.cluster, to: destination)
        let restore = costs.restoreTime(job.spec, cluster: destination)
        let (placement, rate) = try await place(index, cluster: destination, devices: source.acceleratorCount)
        let segment = await job.reconfigure(on: placement, rate: rate, progressFrom: cutAt + dump + transfer + restore, dumped: true)
        releasing[index, default: []].append(source)
        ended(index, at: cutAt)
        began(index, on: placement, progressFrom: segment.progressFrom, at: cutAt)
        outcomes.append(.stopped(index, source, reason: .migrated, banked: banked, dump: dump, releaseAt: cutAt + dump))
        outcomes.append(.started(index, placement, segment, delay: segment.progressFrom - now))
    }

    /// Elastic resize by replica splicing: the world size stays; the replicas are spread
    /// over more or fewer devices of the same cluster. Only the replicas that change device
    /// move: a shrink frees devices after the cut; a grow copies the shared parameters and
    /// optimizer state to the new devices first.
    private func resize(_ index: JobIndex, to devices: Int, at now: VirtualTime) async throws {
        let job = try await running(index)
        let current = await job.placement!
        let info = pending[Int(index)]
        guard devices >= 1, devices <= info.worldSize, devices != current.acceleratorCount else {
            throw SimulationError.invalidDecision("job \(index) of world size \(info.worldSize) cannot resize from \(current.acceleratorCount) to \(devices) accelerators")
        }
        guard devices % info.replicaDevices == 0 else {
            throw SimulationError.invalidDecision("job \(index) runs whole model replicas of \(info.replicaDevices) accelerators (tensor x pipeline); it cannot resize to \(devices)")
        }
        guard view.fitsSliced(info, devices: devices, cluster: current.cluster) else {
            throw SimulationError.invalidDecision("job \(index): \(info.worldSize) replicas do not fit in memory on \(devices) accelerators")
        }
        let cluster = regions[Int(current.region)].clusters[Int(current.cluster - regions[Int(current.region)].firstCluster)]
        let grow = devices > current.acceleratorCount
        if grow && !view.clusters[Int(current.cluster)].free.fits(devices - current.acceleratorCount, rule: .any, group: info.tensorGroup) {
            throw SimulationError.invalidDecision("job \(index) cannot grow to \(devices): cluster \(current.cluster) lacks free accelerators")
        }
        let (banked, cutAt) = try await cut(job, at: now)
        let (placement, freed, _) = try await cluster.resize(index, from: current, to: devices, group: info.tensorGroup)
        if grow { view.take(Self.added(from: current, to: placement), in: current.cluster) }
        let delay = costs.resizeTime(job.spec, grow: grow)
        let segment = await job.reconfigure(on: placement, rate: rate(index, on: placement),
                                            progressFrom: cutAt + delay, dumped: false)
        if let freed { releasing[index, default: []].append(freed) }
        ended(index, at: cutAt)
        began(index, on: placement, progressFrom: segment.progressFrom, at: cutAt)
        outcomes.append(.resized(index, placement, segment, banked: banked, delay: delay, freed: freed, releaseAt: cutAt))
    }

    /// Periodic checkpoint: the job pauses while its state is dumped.
    private func checkpoint(_ index: JobIndex, generation: UInt32, at now: VirtualTime) async throws {
        let job = jobs[Int(index)]
        guard await job.status == .running, let placement = await job.placement else { return }
        let dumpsSoFar = await job.dumps
        // Bytes as if the work up to now were banked: a checkpoint always has new work.
        let bytes = costs.dumpBytes(job.spec, dumpsSoFar: dumpsSoFar, workSinceDump: 1)
        let pause = costs.dumpTime(bytes: bytes, cluster: placement.cluster)
        guard let (banked, segment) = await job.checkpoint(at: now, pause: pause, generation: generation) else { return }
        outcomes.append(.checkpointed(index, placement, segment, banked: banked, pause: pause))
    }

    private func dumpBytes(_ job: Job) async -> Int64 {
        costs.dumpBytes(job.spec, dumpsSoFar: await job.dumps, workSinceDump: await job.workSinceDump)
    }

    private func cut(_ job: Job, at now: VirtualTime) async throws -> (banked: Int64, at: VirtualTime) {
        let cutTime = await job.stepsTime(costs.settings.cutSteps, defaultStep: costs.settings.defaultStepTime)
        return await job.cut(at: now, after: cutTime)
    }

    /// A node fails: every job bound on it loses the work since its last checkpoint,
    /// gives back all its accelerators (anywhere) and waits to resume.
    private func failNode(cluster: Int32, node: Int32, at now: VirtualTime) async throws {
        let c = clusterActor(cluster)
        var (victims, _) = await c.failNode(Int(node))
        view.markDown(node: Int(node), in: cluster)
        // Jobs running on a victim's accelerators fail too, first (they hold nothing).
        let guests = victims.compactMap { sharing[$0].map(\.partner) }.filter { !victims.contains($0) }.sorted()
        victims = guests + victims
        for index in victims {
            guard let (cluster, released, lost, unbanked) = try await dropRun(index, at: now) else { continue }
            outcomes.append(.failed(index, cluster: cluster, accelerators: released, lost: lost, unbanked: unbanked))
            waiting(index, by: 1)
            policy.jobFailed(pending[Int(index)], at: now)
        }
        policy.capacityChanged(at: now)
    }

    /// Ends a job's run without a dump (a failure or a requeue): it rolls back to its last
    /// checkpoint and gives back every accelerator it holds, in-flight releases included.
    /// Returns its cluster, the devices released and the work lost and taken back.
    private func dropRun(_ index: JobIndex, at now: VirtualTime) async throws
        -> (cluster: Int32, released: Int, lost: Int64, unbanked: Int64)? {
        let job = jobs[Int(index)]
        guard let (placement, lost, unbanked) = await job.fail(at: now) else { return nil }
        var released = shown(index, placement).acceleratorCount
        try await release(index, placement, at: now)
        // A migration's source or a shrink's remainder goes back now too; the policy hears
        // of each release, by this path as by a finished dump.
        for other in releasing[index] ?? [] {
            released += other.acceleratorCount
            try await release(index, other, at: now)
            policy.devicesReleased(index, cluster: other.cluster, count: other.acceleratorCount, at: now)
        }
        releasing[index] = nil
        ended(index, at: now)
        pending[Int(index)].remainingWork = await job.remainingWork
        return (placement.cluster, released, lost, unbanked)
    }

    /// Degraded (or recovered) hardware: every job running on the cluster banks its progress
    /// and continues at the new speed; later starts there get it too.
    private func changeSpeed(cluster: Int32, factor: Double, at now: VirtualTime) async throws {
        speedFactor[Int(cluster)] = factor
        var affected = await clusterActor(cluster).boundJobs()
        affected += affected.compactMap { sharing[$0]?.partner }.filter { !affected.contains($0) }
        for index in affected.sorted() {
            let job = jobs[Int(index)]
            guard await job.status == .running, let placement = await job.placement, placement.cluster == cluster else { continue }
            let (banked, at) = await job.cut(at: now, after: .zero)
            let segment = await job.reconfigure(on: placement, rate: rate(index, on: placement),
                                                progressFrom: at, dumped: false)
            outcomes.append(.rerated(index, placement, segment, banked: banked))
        }
    }

    /// A resource-sensitive policy changed a job's host resources: a running job banks its
    /// progress and goes on at the new rate, with no pause (as `changeSpeed`); a waiting one
    /// gets it when it starts.
    private func setResourceSpeedup(_ index: JobIndex, _ factor: Double, at now: VirtualTime) async throws {
        guard index >= 0, Int(index) < jobs.count else { throw SimulationError.invalidDecision("job \(index) does not exist") }
        guard factor > 0, factor.isFinite else {
            throw SimulationError.invalidDecision("policy \(policy.name) gave job \(index) a resource speedup of \(factor); expected a finite number above 0")
        }
        guard resourceSpeedup[Int(index)] != factor else { return }
        resourceSpeedup[Int(index)] = factor
        await rerate(index, at: now)
    }

    /// A running job banks its progress and goes on at its rate now, with no pause (a
    /// `rerated` event); a job still restoring keeps its restore and progresses from then.
    private func rerate(_ index: JobIndex, at now: VirtualTime) async {
        let job = jobs[Int(index)]
        guard await job.status == .running, let placement = await job.placement else { return }
        let resumes = await job.resumesAt
        let (banked, at) = await job.cut(at: now, after: .zero)
        let segment = await job.reconfigure(on: placement, rate: rate(index, on: placement), progressFrom: max(at, resumes), dumped: false)
        outcomes.append(.rerated(index, placement, segment, banked: banked))
    }

    /// Co-location (`SchedulingDecision.colocate`): the waiting `guest` starts on the running
    /// `host`'s accelerators without holding them; both run at their factors from now.
    private func colocate(_ guest: JobIndex, with host: JobIndex, keeps: Double, hostKeeps: Double, at now: VirtualTime) async throws {
        guard guest >= 0, Int(guest) < jobs.count, await jobs[Int(guest)].status == .queued else {
            throw SimulationError.invalidDecision("policy \(policy.name) co-located job \(guest), which is not a waiting job")
        }
        let hostJob = try await running(host)
        guard guest != host, sharing[guest] == nil, sharing[host] == nil, releasing[host] == nil else {
            throw SimulationError.invalidDecision("policy \(policy.name) co-located job \(guest) with job \(host); one of them shares accelerators already or has some in release")
        }
        guard keeps > 0, keeps <= 1, hostKeeps > 0, hostKeeps <= 1 else {
            throw SimulationError.invalidDecision("policy \(policy.name) co-located job \(guest) with job \(host) at factors \(keeps) and \(hostKeeps); expected each above 0 and at most 1")
        }
        let placement = await hostJob.placement!
        let info = pending[Int(guest)]
        let cluster = view.clusters[Int(placement.cluster)]
        guard info.worldSize == placement.acceleratorCount, info.acceleratorTypes.contains(cluster.acceleratorType) else {
            throw SimulationError.invalidDecision("job \(guest) wants \(info.worldSize) accelerators of its types; job \(host), which it was to share with, holds \(placement.acceleratorCount) of cluster \(cluster.name)")
        }
        sharing[guest] = (host, false)
        sharing[host] = (guest, true)
        interference[Int(guest)] = keeps
        if interference[Int(host)] != hostKeeps {
            interference[Int(host)] = hostKeeps
            await rerate(host, at: now)
        }
        let job = jobs[Int(guest)]
        let delay = costs.startTime(job.spec, dumpsSoFar: await job.dumps, cluster: placement.cluster)
        let segment = await job.start(at: now, on: placement, rate: rate(guest, on: placement), delay: delay)
        began(guest, on: placement, progressFrom: segment.progressFrom, at: now)
        outcomes.append(.started(guest, shown(guest, placement), segment, delay: delay))
    }

    /// The placement `index`'s records show: none while it runs on another job's accelerators.
    private func shown(_ index: JobIndex, _ placement: Placement) -> Placement {
        sharing[index]?.holds == false ? Placement(region: placement.region, cluster: placement.cluster, shares: []) : placement
    }

    private func refuseShared(_ index: JobIndex, _ what: String) throws {
        guard let partner = sharing[index]?.partner else { return }
        throw SimulationError.invalidDecision("policy \(policy.name) \(what) job \(index), which shares its accelerators with job \(partner)")
    }

    private func clusterActor(_ cluster: Int32) -> ClusterScheduler {
        let region = regions[Int(view.clusters[Int(cluster)].region)]
        return region.clusters[Int(cluster - region.firstCluster)]
    }

    // MARK: Bookkeeping

    private func running(_ index: JobIndex) async throws -> Job {
        guard index >= 0, Int(index) < jobs.count, await jobs[Int(index)].status == .running else {
            throw SimulationError.invalidDecision("job \(index) is not running")
        }
        return jobs[Int(index)]
    }

    private func began(_ index: JobIndex, on placement: Placement, progressFrom: VirtualTime, at now: VirtualTime) {
        runStart[Int(index)] = (now, placement.acceleratorCount)
        lastStart[Int(index)] = now
        policy.jobStarted(pending[Int(index)], on: JobRun(cluster: placement.cluster, shares: placement.shares,
                                                          devices: placement.acceleratorCount, progressFrom: progressFrom), at: now)
    }

    /// A policy must not stop a job that made no progress since it (re)started (ping-pong).
    private func checkProgress(_ index: JobIndex, banked: Int64, _ what: String) throws {
        guard checksInvariants, banked <= 0, pending[Int(index)].remainingWork > 0 else { return }
        throw SimulationError.invariantViolated("policy \(policy.name) \(what) job \(index), which made no progress since it (re)started")
    }

    /// The shares `new` holds beyond `old` (a grow's added devices).
    private static func added(from old: Placement, to new: Placement) -> [NodeShare] {
        new.shares.compactMap { share in
            let before = old.shares.first { $0.node == share.node }?.count ?? 0
            return share.count > before ? NodeShare(node: share.node, count: share.count - before) : nil
        }
    }

    private func ended(_ index: JobIndex, at now: VirtualTime) {
        let run = runStart[Int(index)]
        pending[Int(index)].attainedService = pending[Int(index)].attainedService
            .saturatingAdding(Int64(run.devices).saturatingMultiplied(by: max(0, (now - run.at).microseconds)))
        runStart[Int(index)] = (now, 0)
    }

    /// The job's rate on `placement`: its speed on the cluster's type (degraded or not),
    /// slowed by time-slicing, and by the all-reduce the placement's links cost per step.
    private func rate(_ index: JobIndex, on placement: Placement) -> Double {
        let cluster = Int(placement.cluster)
        let type = Int(view.clusters[cluster].acceleratorType)
        let speed = (jobSpeeds[Int(index)].map { $0[type] } ?? clusterSpeed[cluster]) * speedFactor[cluster] * resourceSpeedup[Int(index)]
            * interference[Int(index)]
        let computeRate = pending[Int(index)].rate(speed: speed, on: placement.acceleratorCount, splicingOverhead: costs.settings.splicingOverhead)
        return communication.rate(jobs[Int(index)].spec, computeRate: computeRate, speed: speed, placement: placement)
    }

    private func place(_ index: JobIndex, cluster: Int32, devices: Int, shares: [NodeShare]? = nil) async throws -> (Placement, Double) {
        let region = regions[Int(view.clusters[Int(cluster)].region)]
        let placement: Placement
        if let shares {
            (placement, _) = try await region.place(index, cluster: cluster, shares: shares)
        } else {
            (placement, _) = try await region.place(index, cluster: cluster, count: devices, rule: self.placement,
                                                    group: pending[Int(index)].tensorGroup)
        }
        view.take(placement.shares, in: cluster)
        return (placement, rate(index, on: placement))
    }

    private func validateStart(_ index: JobIndex, devices: Int, cluster: Int32, rule: PlacementRule? = nil) async throws {
        guard index >= 0, Int(index) < jobs.count else {
            throw SimulationError.invalidDecision("job \(index) has not arrived")
        }
        guard await jobs[Int(index)].status == .queued else {
            throw SimulationError.invalidDecision("job \(index) is not waiting to start")
        }
        try validateCluster(index, cluster: cluster, devices: devices, rule: rule)
    }

    private func validateCluster(_ index: JobIndex, cluster: Int32, devices: Int, rule: PlacementRule? = nil) throws {
        let job = pending[Int(index)]
        guard devices >= 1, devices <= job.worldSize else {
            throw SimulationError.invalidDecision("job \(index) of world size \(job.worldSize) on \(devices) accelerators")
        }
        guard devices % job.replicaDevices == 0 else {
            throw SimulationError.invalidDecision("job \(index) runs whole model replicas of \(job.replicaDevices) accelerators (tensor x pipeline), not \(devices)")
        }
        guard cluster >= 0, Int(cluster) < view.clusters.count,
              job.acceleratorTypes.contains(view.clusters[Int(cluster)].acceleratorType)
        else { throw SimulationError.invalidDecision("job \(index) sent to cluster \(cluster) of another accelerator type") }
        guard view.clusters[Int(cluster)].free.fits(devices, rule: rule ?? placement, group: job.tensorGroup) else {
            throw SimulationError.invalidDecision("job \(index) needs \(devices) accelerators that cluster \(cluster) does not have free")
        }
        guard devices == job.worldSize || view.fitsSliced(job, devices: devices, cluster: cluster) else {
            throw SimulationError.invalidDecision("job \(index): \(job.worldSize) replicas do not fit in memory on \(devices) accelerators")
        }
    }

    /// Gives `placement` back; a job that shared it ends the sharing: its partner goes on alone
    /// at its full rate, holding the accelerators if this job held them.
    private func release(_ index: JobIndex, _ placement: Placement, at now: VirtualTime) async throws {
        if let (partner, holds) = sharing.removeValue(forKey: index) {
            sharing[partner] = nil
            interference[Int(index)] = 1
            interference[Int(partner)] = 1
            if holds {
                try await clusterActor(placement.cluster).transfer(index, to: partner, on: placement)
                outcomes.append(.tookOver(partner, placement))
            }
            await rerate(partner, at: now)
            return
        }
        _ = try await regions[Int(placement.region)].release(index, from: placement)
        view.release(placement.shares, in: placement.cluster)
    }

    /// The job actors that have arrived, for invariant checks.
    public var arrivedJobs: [Job] { jobs }

    /// No accelerator is held by two jobs; every cluster's index agrees with its nodes and
    /// accelerators and with this scheduler's view; a job holds accelerators exactly when it
    /// is running or stopping, as many as its placement and its pending releases say;
    /// allocated <= capacity.
    public func checkInvariants() async throws {
        var holders: [Int32: JobIndex] = [:]  // looked up only, never iterated
        var heldBy = Array(repeating: 0, count: jobs.count)
        var capacity = 0
        for region in regions {
            for cluster in region.clusters {
                for (accelerator, holder) in try await cluster.checkConsistency() {
                    guard holders.updateValue(holder, forKey: accelerator) == nil else {
                        throw SimulationError.invariantViolated("accelerator \(accelerator) held twice")
                    }
                    guard holder >= 0, Int(holder) < jobs.count else {
                        throw SimulationError.invariantViolated("accelerator \(accelerator) held by unknown job \(holder)")
                    }
                    heldBy[Int(holder)] += 1
                }
                let actual = await cluster.summary
                guard actual == view.clusters[Int(cluster.index)].free else {
                    throw SimulationError.invariantViolated("the view of cluster \(cluster.spec.name) is stale")
                }
                capacity += cluster.spec.accelerators
            }
        }
        var allocated = 0
        for job in jobs {
            let status = await job.status
            let placement = await job.placement
            let current = placement?.acceleratorCount
            // A model-parallel job holds whole model replicas, each tensor group inside a node.
            let info = pending[Int(job.index)]
            if let placement, info.replicaDevices > 1,
               placement.acceleratorCount % info.replicaDevices != 0 || placement.shares.contains(where: { Int($0.count) % info.tensorGroup != 0 }) {
                throw SimulationError.invariantViolated("job \(job.index) (tensor \(info.tensorGroup), \(info.replicaDevices) accelerators a model replica) "
                                                        + "is placed as \(placement.shares.map { "\($0.node)x\($0.count)" }.joined(separator: " "))")
            }
            if let (partner, _) = sharing[job.index] {
                guard sharing[partner]?.partner == job.index, await jobs[Int(partner)].placement == placement else {
                    throw SimulationError.invariantViolated("job \(job.index) shares accelerators with job \(partner), which is not on the same ones")
                }
            }
            let placed = (sharing[job.index]?.holds == false ? 0 : current ?? 0) + (releasing[job.index]?.reduce(0) { $0 + $1.acceleratorCount } ?? 0)
            guard (status == .running || status == .stopping) == (current != nil), heldBy[Int(job.index)] == placed else {
                throw SimulationError.invariantViolated(
                    "job \(job.index) is \(status), placed on \(placed) accelerators, holding \(heldBy[Int(job.index)])")
            }
            allocated += placed
        }
        guard allocated <= capacity else {
            throw SimulationError.invariantViolated("\(allocated) accelerators allocated of \(capacity)")
        }
    }
}
