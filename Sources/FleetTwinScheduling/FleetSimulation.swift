import FleetTwinEngine
import FleetTwinFleet

/// Everything one simulation run needs, already validated.
public struct SimulationConfiguration: Sendable {
    public var fleet: FleetSpec
    /// Jobs in any order; the simulation orders them by (submit time, position).
    public var jobs: [JobSpec]
    public var policy: any SchedulingPolicy
    /// Nothing after this instant is simulated; unfinished jobs are reported as such.
    public var horizon: VirtualTime?
    /// Costs and settings of preemption, migration, resize, checkpoints and SLA targets.
    public var mechanisms: MechanismSettings
    /// Injected faults.
    public var failures: FailureSettings
    /// Seeds the fault streams (one per node).
    public var seed: UInt64
    /// Check the fleet's invariants after every event (tests, `--check`); slow.
    public var checkInvariants: Bool
    /// Real kernels for the jobs that are real workloads (nil: every job is simulated only).
    public var computations: (any JobComputationFactory)?
    /// Jobs already running when the simulation starts (a fork of an observed state, as the
    /// live twin makes): at its submission, each is started on exactly these accelerators,
    /// without a policy decision, its work being what is left of it. Keys are positions in
    /// `jobs`. Only policies that say `adoptsRunningJobs` accept them.
    public var adopted: [Int: AdoptedRun] = [:]

    public init(
        fleet: FleetSpec, jobs: [JobSpec], policy: any SchedulingPolicy, horizon: VirtualTime? = nil,
        mechanisms: MechanismSettings = .defaults, failures: FailureSettings = .none, seed: UInt64 = 1,
        checkInvariants: Bool = false, computations: (any JobComputationFactory)? = nil
    ) {
        self.computations = computations
        self.failures = failures
        self.seed = seed
        self.fleet = fleet
        self.jobs = jobs
        self.policy = policy
        self.horizon = horizon
        self.mechanisms = mechanisms
        self.checkInvariants = checkInvariants
    }
}

/// Where an adopted job runs: a cluster (global index) and its node shares.
public struct AdoptedRun: Sendable, Equatable {
    public var cluster: Int32
    public var shares: [NodeShare]

    public init(cluster: Int32, shares: [NodeShare]) {
        self.cluster = cluster
        self.shares = shares
    }
}

/// Where a run stands, reported to an observer every so many events. It carries virtual
/// quantities only; an observer that wants rates reads its own clock, outside the model.
public struct SimulationProgress: Sendable {
    public var now: VirtualTime
    public var processedEvents: Int
    public var jobsSubmitted: Int
    public var jobsCompleted: Int
    public var jobsTotal: Int
}

/// A cluster as the metrics need it: its size and its accelerators' power draw.
public struct ClusterInfo: Sendable, Equatable {
    public var name: String
    public var acceleratorType: String
    public var capacity: Int
    public var idleWatts: Double
    public var busyWatts: Double
    /// Relative speed of its accelerators for jobs given as durations.
    public var relativeSpeed: Double
}

/// What a run produced: the event log (every metric is a fold over it) and its fingerprint.
public struct SimulationResult: Sendable {
    /// Jobs in index order (sorted by submit time).
    public var jobs: [JobSpec]
    public var log: EventLog
    /// Events taken off the queue (arrivals and completions, stale ones included).
    public var processedEvents: Int
    /// The last instant simulated.
    public var endTime: VirtualTime
    public var horizonReached: Bool
    public var capacity: Int
    public var policy: String
    /// The fleet's clusters, in global index order (the `cluster` of event records).
    public var clusters: [ClusterInfo]
    public var mechanisms: MechanismSettings
    /// Real workloads' results, each checked against an uninterrupted reference run, in
    /// completion order.
    public var computations: [ComputationOutcome] = []
    /// Accelerator-seconds that sat idle while some waiting job's gang fit them under the
    /// placement rule (reservations included): the cost of head-of-line blocking and of
    /// capacity held for jobs whose room is being made. Measured by the scheduler at every
    /// pass; not in the event log.
    public var idleWhileWaitingAcceleratorSeconds: Double = 0
    /// Random node and accelerator failures (each takes a node out of service), nodes taken
    /// down by outages (not counting nodes already down), and node-seconds out of service.
    public var nodeFailures = 0
    public var outageNodeFailures = 0
    public var nodeDowntimeSeconds: Double = 0

    public var eventLogHash: String { log.hash }
}

/// What the event queue holds: small, trivially copyable values, since the heap moves
/// entries on every push and pop. A release's placement waits in a side table.
enum SimulationEvent: Sendable {
    case arrival(JobIndex)
    case completion(JobIndex, generation: UInt32)
    case checkpoint(JobIndex, generation: UInt32)
    case release(slot: Int32)
    case wakeup
    /// The node's random failure process fires (stale unless `generation` is its current one).
    case nodeFailure(cluster: Int32, node: Int32, generation: UInt32)
    /// An outage takes the node down until its own `nodeRepair`.
    case outageStart(cluster: Int32, node: Int32)
    /// One cause of a node's downtime ends (a random failure's repair, or an outage's end).
    case nodeRepair(cluster: Int32, node: Int32)
    case speedChange(cluster: Int32, factor: Double)
    case partition(region: Int32, change: Int8)
    /// Rule `rule` of the random outages strikes `cluster`.
    case randomOutage(cluster: Int32, rule: Int32)

    /// Whether it concerns jobs (or the policy's own wake-up), not a fault.
    var isJobEvent: Bool {
        switch self {
        case .arrival, .completion, .checkpoint, .release, .wakeup: true
        case .nodeFailure, .outageStart, .nodeRepair, .speedChange, .partition, .randomOutage: false
        }
    }
}

/// The driver of one run: owns the event queue, virtual time and the event log, and feeds
/// events to the scheduler hierarchy. All actors it creates share its serial executor, so
/// the whole run is one ordered sequence of steps on one thread.
public actor FleetSimulation {
    private nonisolated let executor: SimulationExecutor
    public nonisolated var unownedExecutor: UnownedSerialExecutor { executor.asUnownedSerialExecutor() }

    private let configuration: SimulationConfiguration
    private let jobs: [JobSpec]
    private let jobTypes: [TypeSet]
    private let jobSpeeds: [[Double]?]
    /// Each job's tenant as a dense index in order of first appearance (-1: none).
    private let jobTenants: [Int32]
    /// By sorted job index: where the job already runs (a forked state), else nil.
    private let adoptions: [AdoptedRun?]
    /// Each job's partition and QOS, dense the same way.
    private let jobPartitions: [Int32]
    private let jobQOS: [Int32]
    public nonisolated let global: GlobalScheduler
    private let capacity: Int
    private let clusterInfo: [ClusterInfo]

    private var queue = EventQueue<SimulationEvent>()
    private var log = EventLog()
    private var now = VirtualTime.zero
    private var status: [JobStatus] = []
    private var processed = 0

    /// Names as dense indices in order of first appearance (-1: none); `names` gets the
    /// names in index order.
    private static func denseIndices(_ values: [String?], names: inout [String]) -> [Int32] {
        var index: [String: Int32] = [:]  // looked up only
        return values.map { value in
            guard let name = value else { return -1 }
            if let i = index[name] { return i }
            index[name] = Int32(names.count)
            names.append(name)
            return Int32(names.count - 1)
        }
    }

    public init(_ configuration: SimulationConfiguration) throws {
        let executor = SimulationExecutor()
        self.executor = executor
        self.configuration = configuration
        let fleet = configuration.fleet
        // Stable order by submit time: ties keep the order in which jobs were given. Jobs
        // already in that order (generated workloads, most traces) share the caller's array
        // rather than being copied: a million-job run holds few such arrays.
        let given = configuration.jobs
        let inOrder = zip(given, given.dropFirst()).allSatisfy { $0.submit <= $1.submit }
        let order = inOrder ? Array(given.indices) : given.indices.sorted { (given[$0].submit, $0) < (given[$1].submit, $1) }
        self.jobs = inOrder ? given : order.map { given[$0] }
        guard configuration.adopted.isEmpty || configuration.policy.adoptsRunningJobs else {
            throw SimulationError.invalidDecision("policy \(configuration.policy.name) cannot take over running jobs (a forked state); the slurm policy can")
        }
        self.adoptions = order.map { configuration.adopted[$0] }
        let typeNames = fleet.profiles.map(\.name)
        guard typeNames.count <= 64 else { throw SimulationError.invalidDecision("more than 64 accelerator types") }
        func typeIndex(_ name: String, of job: JobSpec) throws -> Int {
            guard let t = typeNames.firstIndex(of: name) else {
                throw SimulationError.invalidDecision("job \(job.name) asks for unknown accelerator type \(name)")
            }
            return t
        }
        var types: [TypeSet] = [], jobSpeeds: [[Double]?] = []
        for job in jobs {
            if let typed = job.speeds {
                var bySpeed = Array(repeating: 0.0, count: typeNames.count)
                var members: [Int32] = []
                for entry in typed {
                    let t = try typeIndex(entry.type, of: job)
                    bySpeed[t] = entry.speed
                    members.append(Int32(t))
                }
                types.append(TypeSet(members))
                jobSpeeds.append(bySpeed)
            } else {
                types.append(.single(Int32(try typeIndex(job.acceleratorType, of: job))))
                jobSpeeds.append(nil)
            }
        }
        self.jobTypes = types
        self.jobSpeeds = jobSpeeds
        var tenantNames: [String] = [], partitionNames: [String] = [], qosNames: [String] = []
        self.jobTenants = Self.denseIndices(jobs.map(\.tenant), names: &tenantNames)
        self.jobPartitions = Self.denseIndices(jobs.map(\.partition), names: &partitionNames)
        self.jobQOS = Self.denseIndices(jobs.map(\.qos), names: &qosNames)

        var regions: [RegionalScheduler] = []
        var entries: [FleetView.ClusterEntry] = []
        var speeds: [Double] = []
        var info: [ClusterInfo] = []
        var nextNode: Int32 = 0, nextAccelerator: Int32 = 0
        for (r, region) in fleet.regions.enumerated() {
            let firstCluster = Int32(entries.count)
            var clusters: [ClusterScheduler] = []
            for spec in region.clusters {
                guard let typeIndex = typeNames.firstIndex(of: spec.acceleratorType) else {
                    throw SimulationError.invalidDecision("cluster \(spec.name) has unknown accelerator type \(spec.acceleratorType)")
                }
                let profile = fleet.profiles[typeIndex]
                let cluster = ClusterScheduler(
                    index: Int32(entries.count), region: Int32(r), spec: spec, profile: profile,
                    firstNode: nextNode, firstAccelerator: nextAccelerator, executor: executor)
                nextNode += Int32(spec.nodes)
                nextAccelerator += Int32(spec.accelerators)
                clusters.append(cluster)
                entries.append(.init(
                    name: spec.name, region: Int32(r), acceleratorType: Int32(typeIndex),
                    nodes: ClusterCapacity(nodes: spec.nodes, acceleratorsPerNode: spec.acceleratorsPerNode),
                    cpusPerNode: Double(spec.cpusPerNode), memoryGiBPerNode: spec.memoryGiBPerNode))
                speeds.append(profile.relativeSpeed)
                info.append(ClusterInfo(name: spec.name, acceleratorType: spec.acceleratorType, capacity: spec.accelerators,
                                        idleWatts: profile.idlePowerWatts, busyWatts: profile.busyPowerWatts,
                                        relativeSpeed: profile.relativeSpeed))
            }
            regions.append(RegionalScheduler(index: Int32(r), name: region.name, clusters: clusters,
                                             firstCluster: firstCluster, executor: executor))
        }
        self.capacity = Int(nextAccelerator)
        self.clusterInfo = info

        self.global = GlobalScheduler(
            regions: regions, view: FleetView(clusters: entries, typeNames: typeNames, typeMemory: fleet.profiles.map(\.memoryBytes),
                                              typeSpeeds: fleet.profiles.map(\.relativeSpeed), tenantNames: tenantNames,
                                              partitionNames: partitionNames, qosNames: qosNames),
            clusterSpeed: speeds, policy: configuration.policy,
            costs: MechanismCosts(fleet: fleet, settings: configuration.mechanisms),
            communication: CommunicationCosts(fleet: fleet),
            checkInvariants: configuration.checkInvariants, executor: executor)
    }

    /// Runs to the last event or the horizon (at the latest `VirtualTime.limit`), whichever
    /// comes first. `progress`, if given,
    /// is called every `progressInterval` processed events and once at the end; it cannot
    /// influence the run.
    public func run(
        progressInterval: Int = 65_536, progress: (@Sendable (SimulationProgress) -> Void)? = nil
    ) async throws -> SimulationResult {
        var nextReport = progressInterval
        status.reserveCapacity(jobs.count)
        if let first = jobs.first { enqueue(.arrival(0), at: first.submit) }
        scheduleFaults()
        var horizonReached = false
        var due: [StepEvent] = []
        // Without a horizon the clock still ends at its limit: jobs slowed past it, or failing
        // faster than they can finish, leave the run there instead of overflowing it.
        let horizon = min(configuration.horizon ?? .limit, .limit)
        while let t = queue.nextTime {
            if t > horizon {
                horizonReached = true
                now = horizon
                break
            }
            now = t
            // Everything due at this instant reaches the scheduler in one step, before it decides.
            due.removeAll(keepingCapacity: true)
            while let next = queue.nextTime, next == t, let event = queue.popNext() {
                processed += 1
                if event.payload.isJobEvent { jobEventsQueued -= 1 }
                switch event.payload {
                case .arrival(let index):
                    let i = Int(index)
                    let spec = jobs[i]
                    var pendingJob = PendingJob(index: index, submit: spec.submit, tier: spec.tier,
                                                worldSize: spec.worldSize, acceleratorTypes: jobTypes[i], work: spec.work.microseconds,
                                                memoryPerReplicaBytes: spec.memoryPerReplicaBytes, stateBytes: spec.stateBytes,
                                                tenant: jobTenants[i], typeSpeeds: jobSpeeds[i] ?? [])
                    pendingJob.timeLimit = spec.timeLimit?.microseconds ?? 0
                    pendingJob.partition = jobPartitions[i]
                    pendingJob.qos = jobQOS[i]
                    if let cpus = spec.cpus { pendingJob.cpus = cpus }
                    pendingJob.splitsRequests = spec.inference != nil
                    pendingJob.speedup = spec.elasticSpeedup ?? []
                    pendingJob.statisticalEfficiency = spec.statisticalEfficiency
                    pendingJob.tensorGroup = spec.parallelism?.tensor ?? 1
                    pendingJob.replicaDevices = spec.replicaDevices
                    pendingJob.name = spec.name
                    pendingJob.architecture = spec.model?.architecture.rawValue ?? ""
                    pendingJob.application = spec.application ?? ""
                    pendingJob.deadline = spec.deadline
                    pendingJob.resources = spec.resources
                    let job = Job(index: index, spec: spec, executor: executor, computations: configuration.computations)
                    if let adopted = adoptions[i] {
                        due.append(.adoption(job, pendingJob, speeds: jobSpeeds[i], adopted))
                    } else {
                        due.append(.arrival(job, pendingJob, speeds: jobSpeeds[i]))
                    }
                    status.append(.queued)
                    if i + 1 < jobs.count { enqueue(.arrival(index + 1), at: jobs[i + 1].submit) }
                case .wakeup:
                    // Only the latest requested wake-up counts.
                    guard event.sequence == wakeupSequence else { continue }
                    due.append(.wakeup)
                case let .completion(index, generation):
                    due.append(.completion(index, generation: generation))
                case let .checkpoint(index, generation):
                    due.append(.checkpoint(index, generation: generation))
                case let .nodeFailure(cluster, node, generation):
                    let i = firstNodeOfCluster[Int(cluster)] + Int(node)
                    // Stale: the node went down for another cause since this failure was drawn.
                    guard generation == failureGeneration[i], downCauses[i] == 0 else { continue }
                    randomNodeFailures += 1
                    nodeDown(cluster: cluster, node: node, by: .nodeFailed, into: &due)
                    enqueue(.nodeRepair(cluster: cluster, node: node), at: now + configuration.failures.repair)
                case let .outageStart(cluster, node):
                    if downCauses[firstNodeOfCluster[Int(cluster)] + Int(node)] == 0 { outageNodeFailures += 1 }
                    nodeDown(cluster: cluster, node: node, by: .nodeOutage, into: &due)
                case let .speedChange(cluster, factor):
                    due.append(.speedChange(cluster: cluster, factor: factor))
                case let .partition(region, change):
                    due.append(.partition(region: region, change: Int(change)))
                case let .randomOutage(cluster, rule):
                    let outage = configuration.failures.randomOutages[Int(rule)]
                    for n in 0..<configuration.fleet.clusters[Int(cluster)].nodes {
                        if downCauses[firstNodeOfCluster[Int(cluster)] + n] == 0 { outageNodeFailures += 1 }
                        nodeDown(cluster: cluster, node: Int32(n), by: .nodeOutage, into: &due)
                        enqueue(.nodeRepair(cluster: cluster, node: Int32(n)), at: now + outage.duration)
                    }
                    scheduleRandomOutage(cluster: cluster, rule: rule, after: now + outage.duration)
                case let .nodeRepair(cluster, node):
                    let i = firstNodeOfCluster[Int(cluster)] + Int(node)
                    downCauses[i] -= 1
                    // Back in service only when every cause of its downtime has ended; its
                    // failure process starts again from then.
                    guard downCauses[i] == 0 else { continue }
                    nodeDowntime = nodeDowntime.saturatingAdding((now - downSince[i]).microseconds)
                    log.append(EventRecord(time: now, kind: .nodeRepaired, node: node, cluster: cluster,
                                           accelerators: Int32(configuration.fleet.clusters[Int(cluster)].acceleratorsPerNode)))
                    due.append(.nodeRepair(cluster: cluster, node: node))
                    scheduleNextFailure(cluster: cluster, node: node)
                case .release(let slot):
                    let release = releases[Int(slot)]!
                    releases[Int(slot)] = nil
                    freeReleaseSlots.append(slot)
                    due.append(.release(release.job, release.placement, endsStop: release.endsStop))
                }
            }
            for outcome in try await global.step(at: now, events: due) { record(outcome) }
            if let wake = await global.wakeup(after: now), wake > now, wake != pendingWakeup {
                wakeupSequence = queue.scheduledCount
                pendingWakeup = wake
                enqueue(.wakeup, at: wake)
            }
            if configuration.checkInvariants { try await checkInvariants() }
            // Faults recur forever: once every job is done, the run is over.
            if completedCount + declinedCount == jobs.count { break }
            // Liveness: with every job arrived and no job event left (nothing runs, stops or
            // is due to wake the policy), only faults could still change anything; unless a
            // node is down (its repair will come), the jobs left can never start.
            if status.count == jobs.count, jobEventsQueued == 0, await global.downNodes == 0 {
                throw await stalled()
            }
            if let progress, processed >= nextReport {
                nextReport = processed + progressInterval
                progress(currentProgress)
            }
        }
        if !horizonReached && completedCount + declinedCount < jobs.count { throw await stalled() }
        progress?(currentProgress)
        var result = SimulationResult(
            jobs: jobs, log: log, processedEvents: processed, endTime: now, horizonReached: horizonReached,
            capacity: capacity, policy: configuration.policy.name, clusters: clusterInfo,
            mechanisms: configuration.mechanisms)
        if configuration.computations != nil { result.computations = await global.computations }
        result.idleWhileWaitingAcceleratorSeconds = await global.idleWhileWaitingAcceleratorMicroseconds / 1e6
        result.nodeFailures = randomNodeFailures
        result.outageNodeFailures = outageNodeFailures
        var downtime = nodeDowntime
        for i in downCauses.indices where downCauses[i] > 0 { downtime = downtime.saturatingAdding((now - downSince[i]).microseconds) }
        result.nodeDowntimeSeconds = Double(downtime) / 1e6
        return result
    }

    private func stalled() async -> SimulationError {
        let waiting = await global.waitingJobs
        return .stalled(policy: configuration.policy.name, at: now, waiting: waiting.count,
                        jobs: waiting.prefix(5).map { jobs[Int($0)].name })
    }

    private var completedCount = 0
    /// Jobs the policy declined (admission control): finished by its decision, never run.
    private var declinedCount = 0
    /// Job events (and wake-ups) in the queue; the rest are faults.
    private var jobEventsQueued = 0

    private func enqueue(_ event: SimulationEvent, at time: VirtualTime) {
        if event.isJobEvent { jobEventsQueued += 1 }
        queue.schedule(event, at: time)
    }

    private var currentProgress: SimulationProgress {
        SimulationProgress(now: now, processedEvents: processed, jobsSubmitted: status.count,
                           jobsCompleted: completedCount, jobsTotal: jobs.count)
    }

    // The one outstanding wake-up the policy asked for.
    private var wakeupSequence: UInt64 = .max
    private var pendingWakeup: VirtualTime?

    /// Work each job's log records have banked, for the conservation invariant.
    private var banked: [Int64] = []

    private func record(_ outcome: SchedulingOutcome) {
        defer {
            if configuration.checkInvariants, let last = log.records.last {
                if banked.count < jobs.count { banked = Array(repeating: 0, count: jobs.count) }
                banked[Int(last.job)] += last.progress
            }
        }
        switch outcome {
        case .submitted(let index):
            log.append(EventRecord(time: now, kind: .submitted, job: index))
        case let .completed(index, placement, banked):
            status[Int(index)] = .completed
            completedCount += 1
            log.append(EventRecord(time: now, kind: .completed, job: index, cluster: placement.cluster,
                                   accelerators: Int32(placement.acceleratorCount), progress: banked))
        case let .started(index, placement, segment, delay):
            status[Int(index)] = .running
            log.append(EventRecord(time: now, kind: .started, job: index, cluster: placement.cluster,
                                   accelerators: Int32(placement.acceleratorCount), overhead: delay.microseconds))
            schedule(index, segment)
        case let .stopped(index, placement, reason, banked, dump, releaseAt):
            if reason == .preempted { status[Int(index)] = .stopping }
            log.append(EventRecord(time: now, kind: reason, job: index, cluster: placement.cluster,
                                   accelerators: Int32(placement.acceleratorCount), progress: banked, overhead: dump.microseconds))
            scheduleRelease(index, placement, endsStop: reason == .preempted, at: releaseAt)
        case let .resized(index, placement, segment, banked, delay, freed, releaseAt):
            log.append(EventRecord(time: now, kind: .resized, job: index, cluster: placement.cluster,
                                   accelerators: Int32(placement.acceleratorCount), progress: banked, overhead: delay.microseconds))
            if let freed { scheduleRelease(index, freed, endsStop: false, at: releaseAt) }
            schedule(index, segment)
        case let .released(index, placement):
            if status[Int(index)] == .stopping { status[Int(index)] = .queued }
            log.append(EventRecord(time: now, kind: .released, job: index, cluster: placement.cluster,
                                   accelerators: Int32(placement.acceleratorCount)))
        case let .failed(index, cluster, accelerators, lost, unbanked), let .requeued(index, cluster, accelerators, lost, unbanked):
            status[Int(index)] = .queued
            let kind: EventKind = if case .requeued = outcome { .requeued } else { .failed }
            log.append(EventRecord(time: now, kind: kind, job: index, cluster: cluster, accelerators: Int32(accelerators),
                                   progress: -unbanked, overhead: lost))
        case let .declined(index):
            status[Int(index)] = .declined
            declinedCount += 1
            log.append(EventRecord(time: now, kind: .declined, job: index))
        case let .tookOver(index, placement):
            log.append(EventRecord(time: now, kind: .tookOver, job: index, cluster: placement.cluster,
                                   accelerators: Int32(placement.acceleratorCount)))
        case let .rerated(index, placement, segment, banked):
            log.append(EventRecord(time: now, kind: .rerated, job: index, cluster: placement.cluster,
                                   accelerators: Int32(placement.acceleratorCount), progress: banked))
            schedule(index, segment)
        case let .checkpointed(index, placement, segment, banked, pause):
            log.append(EventRecord(time: now, kind: .checkpointed, job: index, cluster: placement.cluster,
                                   accelerators: Int32(placement.acceleratorCount), progress: banked, overhead: pause.microseconds))
            schedule(index, segment)
        case let .paused(index, placement, segment, banked, pause):
            log.append(EventRecord(time: now, kind: .paused, job: index, cluster: placement.cluster,
                                   accelerators: Int32(placement.acceleratorCount), progress: banked, overhead: pause.microseconds))
            schedule(index, segment)
        }
    }

    /// Schedules the end of a run segment and, if the job's tier checkpoints periodically,
    /// its next checkpoint (if it comes before the end).
    private func schedule(_ index: JobIndex, _ segment: Segment) {
        enqueue(.completion(index, generation: segment.generation), at: segment.end)
        if let interval = configuration.mechanisms.checkpointInterval(for: jobs[Int(index)].tier) {
            let at = segment.progressFrom + interval
            if at < segment.end { enqueue(.checkpoint(index, generation: segment.generation), at: at) }
        }
    }

    // MARK: Faults

    private var failureStreams: [SeededGenerator] = []
    private var firstNodeOfCluster: [Int] = []
    /// Per node (global index): how many causes keep it down now (a random failure, outages),
    /// since when, and the generation of its one pending random failure.
    private var downCauses: [Int] = []
    private var downSince: [VirtualTime] = []
    private var failureGeneration: [UInt32] = []
    private var randomNodeFailures = 0
    private var outageNodeFailures = 0
    /// Node-µs out of service, for nodes back in service (the run's end adds the rest).
    private var nodeDowntime: Int64 = 0

    /// One more cause keeps the node down; the first takes it out of service and cancels its
    /// pending random failure (a node out of service does not fail).
    /// The transition is logged (`cause`: `.nodeFailed` or `.nodeOutage`) before the job
    /// failures it causes.
    private func nodeDown(cluster: Int32, node: Int32, by cause: EventKind, into due: inout [StepEvent]) {
        let i = firstNodeOfCluster[Int(cluster)] + Int(node)
        if downCauses[i] == 0 {
            log.append(EventRecord(time: now, kind: cause, node: node, cluster: cluster,
                                   accelerators: Int32(configuration.fleet.clusters[Int(cluster)].acceleratorsPerNode)))
            due.append(.nodeFailure(cluster: cluster, node: node))
            downSince[i] = now
            failureGeneration[i] &+= 1
        }
        downCauses[i] += 1
    }

    private func scheduleFaults() {
        let failures = configuration.failures
        guard !failures.isEmpty else { return }
        var first = 0
        for region in configuration.fleet.regions {
            for cluster in region.clusters {
                firstNodeOfCluster.append(first)
                first += cluster.nodes
            }
        }
        failureStreams = (0..<first).map { SeededGenerator(seed: configuration.seed, stream: "node-failure", index: UInt64($0)) }
        downCauses = Array(repeating: 0, count: first)
        downSince = Array(repeating: .zero, count: first)
        failureGeneration = Array(repeating: 0, count: first)
        if failures.nodeTimeBetweenFailures != nil || failures.acceleratorTimeBetweenFailures != nil {
            for (c, cluster) in configuration.fleet.clusters.enumerated() {
                for n in 0..<cluster.nodes { scheduleNextFailure(cluster: Int32(c), node: Int32(n)) }
            }
        }
        for (rule, outages) in failures.randomOutages.enumerated() {
            for c in outages.clusters { scheduleRandomOutage(cluster: c, rule: Int32(rule), after: .zero) }
        }
        for cut in failures.partitions {
            for r in cut.regions {
                enqueue(.partition(region: r, change: 1), at: cut.at)
                enqueue(.partition(region: r, change: -1), at: cut.at + cut.duration)
            }
        }
        for slow in failures.degradations {
            for c in slow.clusters {
                enqueue(.speedChange(cluster: c, factor: slow.factor), at: slow.at)
                enqueue(.speedChange(cluster: c, factor: 1), at: slow.at + slow.duration)
            }
        }
        for outage in failures.outages {
            for c in outage.clusters {
                for n in 0..<configuration.fleet.clusters[Int(c)].nodes {
                    enqueue(.outageStart(cluster: c, node: Int32(n)), at: outage.at)
                    enqueue(.nodeRepair(cluster: c, node: Int32(n)), at: outage.at + outage.duration)
                }
            }
        }
    }

    private var outageStreams: [Int64: SeededGenerator] = [:]  // looked up only: (rule, cluster) keys

    private func scheduleRandomOutage(cluster: Int32, rule: Int32, after start: VirtualTime) {
        let key = Int64(rule) << 32 | Int64(cluster)
        var g = outageStreams[key] ?? SeededGenerator(seed: configuration.seed, stream: "outage-\(rule)", index: UInt64(cluster))
        let gap = FailureSettings.TimeBetweenFailures.exponential(mean: configuration.failures.randomOutages[Int(rule)].every).sample(using: &g)
        outageStreams[key] = g
        enqueue(.randomOutage(cluster: cluster, rule: rule), at: start + gap)
    }

    /// The node's next random failure (its only pending one): the first among the node itself
    /// and each of its accelerators, counted from now (its start or return to service).
    private func scheduleNextFailure(cluster: Int32, node: Int32) {
        let failures = configuration.failures
        let i = firstNodeOfCluster[Int(cluster)] + Int(node)
        var next: VirtualTime?
        if let tbf = failures.nodeTimeBetweenFailures { next = tbf.sample(using: &failureStreams[i]) }
        if let tbf = failures.acceleratorTimeBetweenFailures {
            for _ in 0..<configuration.fleet.clusters[Int(cluster)].acceleratorsPerNode {
                let t = tbf.sample(using: &failureStreams[i])
                next = min(next ?? t, t)
            }
        }
        guard let next else { return }
        enqueue(.nodeFailure(cluster: cluster, node: node, generation: failureGeneration[i]), at: now + next)
    }

    // Pending releases by slot; freed slots are reused, so the table stays small.
    private var releases: [(job: JobIndex, placement: Placement, endsStop: Bool)?] = []
    private var freeReleaseSlots: [Int32] = []

    private func scheduleRelease(_ job: JobIndex, _ placement: Placement, endsStop: Bool, at time: VirtualTime) {
        let slot: Int32
        if let free = freeReleaseSlots.popLast() {
            slot = free
            releases[Int(slot)] = (job, placement, endsStop)
        } else {
            slot = Int32(releases.count)
            releases.append((job, placement, endsStop))
        }
        enqueue(.release(slot: slot), at: time)
    }

    /// The scheduler's invariants (checked by the scheduler after every event and decision
    /// when enabled) plus agreement between the event log and every job actor.
    public func checkInvariants() async throws {
        try await global.checkInvariants()
        let arrived = await global.arrivedJobs
        guard arrived.count == status.count else {
            throw SimulationError.invariantViolated("\(arrived.count) jobs known to the scheduler, \(status.count) arrived")
        }
        for job in arrived {
            let actual = await job.status
            guard actual == status[Int(job.index)] else {
                throw SimulationError.invariantViolated("job \(job.index) is \(actual), the event log says \(status[Int(job.index)])")
            }
            // Work conservation: what the log banked plus what is left is the job's work.
            let i = Int(job.index)
            let left = await job.remainingWork
            guard banked[i] + left == jobs[i].work.microseconds else {
                throw SimulationError.invariantViolated(
                    "job \(i): \(banked[i]) µs banked + \(left) µs left != \(jobs[i].work.microseconds) µs of work")
            }
        }
        guard checkedTime <= now else {
            throw SimulationError.invariantViolated("virtual time went back from \(checkedTime) to \(now)")
        }
        checkedTime = now
    }

    private var checkedTime = VirtualTime.zero
}
