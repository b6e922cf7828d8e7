import FleetTwinEngine
import FleetTwinFleet

/// What a policy knows about a job waiting to run.
public struct PendingJob: Sendable, Equatable {
    public var index: JobIndex
    public var submit: VirtualTime
    public var tier: SLATier
    public var worldSize: Int
    /// The accelerator types it may run on (indices into `FleetView.typeNames`).
    public var acceleratorTypes: TypeSet
    /// Full-size work, and what is left of it as of its last stop (µs).
    public var work: Int64
    public var remainingWork: Int64
    /// Accelerator-µs it has held while running, as of its last stop (attained service).
    public var attainedService: Int64
    /// Memory of one replica and the part of it (parameters, optimizer state) that
    /// time-sliced replicas on one device share; 0 when unknown.
    public var memoryPerReplicaBytes: Int64
    public var stateBytes: Int64

    public init(index: JobIndex, submit: VirtualTime, tier: SLATier, worldSize: Int, acceleratorTypes: TypeSet,
                work: Int64 = 0, memoryPerReplicaBytes: Int64 = 0, stateBytes: Int64 = 0) {
        self.work = work
        self.remainingWork = work
        self.attainedService = 0
        self.memoryPerReplicaBytes = memoryPerReplicaBytes
        self.stateBytes = stateBytes
        self.index = index
        self.submit = submit
        self.tier = tier
        self.worldSize = worldSize
        self.acceleratorTypes = acceleratorTypes
    }
}

/// A set of accelerator types as a bit mask over their dense indices (at most 64 types).
public struct TypeSet: Sendable, Equatable {
    public var bits: UInt64

    public init(bits: UInt64) { self.bits = bits }
    public init(_ types: [Int32]) { bits = types.reduce(0) { $0 | (1 << UInt64($1)) } }
    public static func single(_ type: Int32) -> TypeSet { TypeSet(bits: 1 << UInt64(type)) }

    public func contains(_ type: Int32) -> Bool { bits & (1 << UInt64(type)) != 0 }
    /// The only member, when there is exactly one.
    public var single: Int32? { bits.nonzeroBitCount == 1 ? Int32(bits.trailingZeroBitCount) : nil }
}

/// A policy's decision; the scheduler hierarchy carries it out.
///
/// Mechanisms are shared by every policy. In this version they move jobs without charging
/// checkpoint, transfer or restore time: preemption keeps all progress made up to the cut,
/// migration is a preemption followed by a start elsewhere, and a resize re-places the job
/// on a different number of accelerators in the same cluster.
public enum SchedulingDecision: Sendable, Equatable {
    /// Start a queued job on `accelerators` devices of `cluster` (fewer than its world size
    /// time-slices the replicas).
    case start(JobIndex, cluster: Int32, accelerators: Int)
    /// Stop a running job and hand it back to the policy as pending, progress kept.
    case preempt(JobIndex)
    /// Move a running job to another cluster, keeping its device count.
    case migrate(JobIndex, toCluster: Int32)
    /// Change the number of devices of a running job within its cluster.
    case resize(JobIndex, accelerators: Int)
}

/// A scheduling policy in the shape of the Kubernetes scheduling framework: it keeps its
/// own queue (queue sort), learns about events as they happen, and is asked for one
/// decision at a time against an always-current `FleetView` (filter and score), until it
/// has nothing more to do at this instant.
///
/// Policies must keep incremental structures: they are told about each change, so they
/// never need to rescan the whole queue per event.
public protocol SchedulingPolicy: Sendable {
    var name: String { get }
    /// How gangs are laid out inside a cluster.
    var placement: PlacementRule { get }

    mutating func jobArrived(_ job: PendingJob, at now: VirtualTime)
    mutating func jobCompleted(_ job: JobIndex, at now: VirtualTime)
    /// A job started (or resumed, or was resized or migrated) on `devices` accelerators of
    /// `cluster`.
    mutating func jobStarted(_ job: PendingJob, cluster: Int32, devices: Int, at now: VirtualTime)
    /// A job this policy preempted has dumped its state and is pending again.
    mutating func jobPreempted(_ job: PendingJob, at now: VirtualTime)
    /// A running job's accelerators failed; it is pending again, from its last checkpoint.
    mutating func jobFailed(_ job: PendingJob, at now: VirtualTime)
    /// Accelerators were added or removed (failures and repairs, later).
    mutating func capacityChanged(at now: VirtualTime)
    /// Devices a running job no longer needs are free: a migration's source after its dump,
    /// or the devices a shrink gave back.
    mutating func devicesReleased(_ job: JobIndex, cluster: Int32, count: Int, at now: VirtualTime)

    /// The next decision at `now`, or nil when this scheduling pass is over. The fleet view
    /// already reflects every decision returned earlier in the pass.
    mutating func nextDecision(at now: VirtualTime, fleet: FleetView) -> SchedulingDecision?

    /// When the policy wants a pass even if nothing happens (a job crossing a priority
    /// threshold, a scheduling round); nil for never.
    func wakeup(after now: VirtualTime) -> VirtualTime?
}

extension SchedulingPolicy {
    public mutating func capacityChanged(at now: VirtualTime) {}
    public mutating func jobFailed(_ job: PendingJob, at now: VirtualTime) { jobPreempted(job, at: now) }
    public mutating func devicesReleased(_ job: JobIndex, cluster: Int32, count: Int, at now: VirtualTime) {}
    public mutating func jobStarted(_ job: PendingJob, cluster: Int32, devices: Int, at now: VirtualTime) {}
    public func wakeup(after now: VirtualTime) -> VirtualTime? { nil }
}
