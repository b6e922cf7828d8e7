import FleetTwinEngine
import FleetTwinFleet

/// Something that reaches the global scheduler at an instant.
public enum StepEvent: Sendable {
    /// A job arrives; `speeds` (by type index) when its speed depends on the type.
    case arrival(Job, PendingJob, speeds: [Double]?)
    case completion(JobIndex, generation: UInt32)
}

/// What a step did, in order, for the simulation to log and to schedule completions from.
public enum SchedulingOutcome: Sendable, Equatable {
    case submitted(JobIndex)
    case completed(JobIndex, Placement)
    case started(JobIndex, Placement, end: VirtualTime, generation: UInt32)
    case stopped(JobIndex, Placement, reason: EventKind)
}

/// The top of the hierarchy: owns the policy and the fleet view, asks the policy for
/// decisions and carries each one out through the regional and cluster schedulers.
public actor GlobalScheduler {
    private nonisolated let executor: SimulationExecutor
    public nonisolated var unownedExecutor: UnownedSerialExecutor { executor.asUnownedSerialExecutor() }
    public nonisolated let regions: [RegionalScheduler]
    private var policy: any SchedulingPolicy
    public private(set) var view: FleetView
    /// Job actors by index; a job is appended when it arrives.
    private var jobs: [Job] = []
    private var pending: [PendingJob] = []
    /// Per-type speeds of model-shaped jobs (by type index); nil uses the cluster's speed.
    private var jobSpeeds: [[Double]?] = []
    private let clusterSpeed: [Double]
    private let splicingOverhead: Double
    private let checksInvariants: Bool

    public init(
        regions: [RegionalScheduler], view: FleetView, clusterSpeed: [Double],
        policy: any SchedulingPolicy, splicingOverhead: Double, checkInvariants: Bool = false, executor: SimulationExecutor
    ) {
        self.checksInvariants = checkInvariants
        self.regions = regions
        self.view = view
        self.clusterSpeed = clusterSpeed
        self.policy = policy
        self.splicingOverhead = splicingOverhead
        self.executor = executor
    }

    public var policyName: String { policy.name }

    /// Reused between steps so that a step allocates nothing in the common case.
    private var outcomes: [SchedulingOutcome] = []

    /// One simulation step: takes in everything due at `now`, in queue order, then runs one
    /// scheduling pass. One call per instant keeps actor hops per event low.
    public func step(at now: VirtualTime, events: [StepEvent]) async throws -> [SchedulingOutcome] {
        outcomes.removeAll(keepingCapacity: true)
        for event in events {
            switch event {
            case let .arrival(job, pendingJob, speeds):
                precondition(Int(job.index) == jobs.count, "jobs must arrive in index order")
                jobs.append(job)
                pending.append(pendingJob)
                jobSpeeds.append(speeds)
                outcomes.append(.submitted(job.index))
                policy.jobArrived(pendingJob, at: now)
            case let .completion(index, generation):
                // A stale event (the job was stopped since) completes nothing.
                guard let placement = await jobs[Int(index)].complete(at: now, generation: generation) else { continue }
                try await release(index, placement)
                outcomes.append(.completed(index, placement))
                policy.jobCompleted(index, at: now)
            }
            if checksInvariants { try await checkInvariants() }
        }
        try await schedulingPass(at: now)
        return outcomes
    }

    /// Asks the policy for decisions until it has none, carrying out each one.
    private func schedulingPass(at now: VirtualTime) async throws {
        while let decision = policy.nextDecision(at: now, fleet: view) {
            switch decision {
            case let .start(index, cluster, accelerators):
                try await validate(index, devices: accelerators, cluster: cluster)
                outcomes.append(try await start(index, cluster: cluster, devices: accelerators, at: now))
            case let .preempt(index):
                let placement = try await stop(index, at: now)
                outcomes.append(.stopped(index, placement, reason: .preempted))
                policy.jobPreempted(pending[Int(index)], at: now)
            case let .migrate(index, cluster):
                let placement = try await stop(index, at: now)
                outcomes.append(.stopped(index, placement, reason: .migrated))
                try await validate(index, devices: placement.acceleratorCount, cluster: cluster)
                outcomes.append(try await start(index, cluster: cluster, devices: placement.acceleratorCount, at: now))
            case let .resize(index, accelerators):
                let placement = try await stop(index, at: now)
                outcomes.append(.stopped(index, placement, reason: .resized))
                try await validate(index, devices: accelerators, cluster: placement.cluster)
                outcomes.append(try await start(index, cluster: placement.cluster, devices: accelerators, at: now))
            }
            if checksInvariants { try await checkInvariants() }
        }
    }

    private func validate(_ index: JobIndex, devices: Int, cluster: Int32) async throws {
        guard index >= 0, Int(index) < jobs.count else {
            throw SimulationError.invalidDecision("job \(index) has not arrived")
        }
        guard await jobs[Int(index)].status == .queued else {
            throw SimulationError.invalidDecision("job \(index) is not waiting to start")
        }
        let job = pending[Int(index)]
        guard devices >= 1, devices <= job.worldSize else {
            throw SimulationError.invalidDecision("job \(index) of world size \(job.worldSize) on \(devices) accelerators")
        }
        guard cluster >= 0, Int(cluster) < view.clusters.count,
              job.acceleratorTypes.contains(view.clusters[Int(cluster)].acceleratorType)
        else { throw SimulationError.invalidDecision("job \(index) sent to cluster \(cluster) of another accelerator type") }
        guard view.clusters[Int(cluster)].free.fits(devices, rule: policy.placement) else {
            throw SimulationError.invalidDecision("job \(index) needs \(devices) accelerators that cluster \(cluster) does not have free")
        }
    }

    private func start(_ index: JobIndex, cluster: Int32, devices: Int, at now: VirtualTime) async throws -> SchedulingOutcome {
        let region = regions[Int(view.clusters[Int(cluster)].region)]
        let (placement, free) = try await region.place(index, cluster: cluster, count: devices, rule: policy.placement)
        view.update(cluster: cluster, free: free)
        let type = Int(view.clusters[Int(cluster)].acceleratorType)
        let speed = jobSpeeds[Int(index)].map { $0[type] } ?? clusterSpeed[Int(cluster)]
        let rate = Job.rate(worldSize: pending[Int(index)].worldSize, devices: devices,
                            speed: speed, splicingOverhead: splicingOverhead)
        let (end, generation) = await jobs[Int(index)].start(at: now, on: placement, rate: rate)
        return .started(index, placement, end: end, generation: generation)
    }

    private func stop(_ index: JobIndex, at now: VirtualTime) async throws -> Placement {
        guard index >= 0, Int(index) < jobs.count, await jobs[Int(index)].status == .running else {
            throw SimulationError.invalidDecision("job \(index) is not running")
        }
        let placement = await jobs[Int(index)].stop(at: now)
        try await release(index, placement)
        return placement
    }

    private func release(_ index: JobIndex, _ placement: Placement) async throws {
        let free = try await regions[Int(placement.region)].release(index, from: placement)
        view.update(cluster: placement.cluster, free: free)
    }

    /// The job actors that have arrived, for invariant checks.
    public var arrivedJobs: [Job] { jobs }

    /// No accelerator is held by two jobs; every cluster's index agrees with its nodes and
    /// accelerators and with this scheduler's view; a job holds accelerators exactly when it
    /// is running, as many as its placement says; allocated <= capacity.
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
            let placed = await job.placement?.acceleratorCount
            guard (status == .running) == (placed != nil), heldBy[Int(job.index)] == placed ?? 0 else {
                throw SimulationError.invariantViolated(
                    "job \(job.index) is \(status), placed on \(placed ?? 0) accelerators, holding \(heldBy[Int(job.index)])")
            }
            allocated += placed ?? 0
        }
        guard allocated <= capacity else {
            throw SimulationError.invariantViolated("\(allocated) accelerators allocated of \(capacity)")
        }
    }
}
