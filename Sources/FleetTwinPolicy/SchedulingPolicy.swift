import FleetTwinEngine
import FleetTwinFleet

/// What a policy knows about a job waiting to run (or, in `jobStarted`, just placed).
public struct PendingJob: Sendable, Equatable {
    public var index: JobIndex
    public var submit: VirtualTime
    public var tier: SLATier
    public var worldSize: Int
    /// The accelerator types it may run on (indices into `FleetView.typeNames`).
    public var acceleratorTypes: TypeSet
    /// Full-size work, and what is left of it as of its last stop (µs). Only policies that
    /// declare themselves oracles (`srtf`) may read these; the registry says which do.
    public var work: Int64
    public var remainingWork: Int64
    /// Accelerator-µs it has held while running, as of its last stop (attained service).
    public var attainedService: Int64
    /// Memory of one replica and the part of it (parameters, optimizer state) that
    /// time-sliced replicas on one device share; 0 when unknown.
    public var memoryPerReplicaBytes: Int64
    public var stateBytes: Int64
    /// The job's tenant (a user or virtual cluster, as the trace names it) as a dense index in
    /// order of first appearance (`FleetView.tenantNames`); -1 when the job names none.
    public var tenant: Int32
    /// Its speed on each accelerator type (by type index), relative to its work's reference,
    /// when the job was priced per type (a model-shaped job); empty when every type runs it
    /// at that type's own relative speed (`FleetView.typeSpeeds`). For heterogeneity-aware
    /// policies.
    public var typeSpeeds: [Double]
    /// What a batch scheduler was told, for policies that model one (`slurm`): the time limit
    /// (µs; 0: none), and the partition and QOS as dense indices into
    /// `FleetView.partitionNames` and `FleetView.qosNames` (-1: none given).
    public var timeLimit: Int64 {
        get { rare?.value.timeLimit ?? 0 }
        set { setRare { $0.timeLimit = newValue } }
    }
    public var partition: Int32 {
        get { rare?.value.partition ?? -1 }
        set { setRare { $0.partition = newValue } }
    }
    public var qos: Int32 {
        get { rare?.value.qos ?? -1 }
        set { setRare { $0.qos = newValue } }
    }
    /// The CPU cores the batch scheduler allocated it in all (`JobSpec.cpus`); 0: not given.
    public var cpus: Int {
        get { rare?.value.cpus ?? 0 }
        set { setRare { $0.cpus = newValue } }
    }
    /// Batch inference: its replicas split a fixed set of requests, so on fewer devices than
    /// its world size it runs at devices / world size of its full rate, one replica per device,
    /// with no splicing overhead (`fraction(on:splicingOverhead:)`).
    public var splitsRequests = false
    /// Replicas follow devices (`JobSpec.elasticSpeedup`): throughput on n devices relative
    /// to one, n = 1...worldSize; empty for a fixed world.
    public var speedup: [Double] {
        get { rare?.value.speedup ?? [] }
        set { setRare { $0.speedup = newValue } }
    }
    /// Statistical-efficiency inputs of a job whose replicas follow devices (initial and
    /// max batch, local batch range, gradient noise; `JobSpec.statisticalEfficiency`), for
    /// goodput policies (`pollux`); nil: none given (goodput = throughput).
    public var statisticalEfficiency: StatisticalEfficiency? {
        get { rare?.value.statisticalEfficiency }
        set { setRare { $0.statisticalEfficiency = newValue } }
    }
    /// A model-parallel job (`JobSpec.parallelism`): its tensor group, which must sit inside
    /// one node (pass it as `group` to `CapacitySummary.fits` and `ClusterCapacity.reserve`),
    /// and the devices of one model replica (tensor x pipeline): it starts, shrinks and grows
    /// only in multiples of those (`usableDevices`). Both 1 for a data-parallel job.
    public var tensorGroup = 1
    /// Devices of one model replica (tensor x pipeline); 1 for a data-parallel job.
    public var replicaDevices = 1
    /// The job's name and its model's architecture ("bert", "llama"; empty when it was not
    /// given as a model), for policies that key costs on the model (Sia's restart penalty).
    public var name: String {
        get { rare?.value.name ?? "" }
        set { setRare { $0.name = newValue } }
    }
    public var architecture: String {
        get { rare?.value.architecture ?? "" }
        set { setRare { $0.architecture = newValue } }
    }
    /// The application (model and data set) as the job's trace names it (`JobSpec.application`,
    /// a trace's `workload`: `resnet50`, `imagenet`); empty when none is given. Sia reads it for
    /// its restart penalty; `gavel-gandiva` reads it as the job's Gavel job type.
    public var application: String {
        get { rare?.value.application ?? "" }
        set { setRare { $0.application = newValue } }
    }
    /// When it must complete (absolute; `JobSpec.deadline`); nil: best effort.
    public var deadline: VirtualTime? {
        get { rare?.value.deadline }
        set { setRare { $0.deadline = newValue } }
    }
    /// Host CPU and memory per accelerator and the speedup they bring (`JobSpec.resources`);
    /// nil: the fair share at speedup 1.
    public var resources: ResourceProfile? {
        get { rare?.value.resources }
        set { setRare { $0.resources = newValue } }
    }

    public init(index: JobIndex, submit: VirtualTime, tier: SLATier, worldSize: Int, acceleratorTypes: TypeSet,
                work: Int64 = 0, memoryPerReplicaBytes: Int64 = 0, stateBytes: Int64 = 0, tenant: Int32 = -1,
                typeSpeeds: [Double] = []) {
        self.typeSpeeds = typeSpeeds
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
        self.tenant = tenant
    }
    /// The fields above that most jobs leave at their defaults (from `timeLimit` on, but the
    /// model-parallel shape), behind one shared, immutable reference (`SharedValue`) that is nil while they
    /// all are: a policy keeps one of these per job (`TrackedJob`), and inline they made a
    /// million-job run's arrays of them most of its peak memory (as `JobSpec.rare`).
    private var rare: SharedValue<RareFieldValues>?

    /// The values behind `rare`.
    struct RareFieldValues: Sendable, Equatable {
        var timeLimit: Int64 = 0
        var partition: Int32 = -1
        var qos: Int32 = -1
        var cpus = 0
        var speedup: [Double] = []
        var statisticalEfficiency: StatisticalEfficiency?
        var name: String = ""
        var architecture: String = ""
        var application: String = ""
        var deadline: VirtualTime?
        var resources: ResourceProfile?
    }


    private mutating func setRare(_ change: (inout RareFieldValues) -> Void) {
        rare = SharedValue.updating(rare, empty: RareFieldValues(), change)
    }
}

/// A set of accelerator types as a bit mask over their dense indices (at most 64 types).
public struct TypeSet: Sendable, Equatable, Hashable {
    public var bits: UInt64

    public init(bits: UInt64) { self.bits = bits }
    public init(_ types: [Int32]) { bits = types.reduce(0) { $0 | (1 << UInt64($1)) } }
    public static func single(_ type: Int32) -> TypeSet { TypeSet(bits: 1 << UInt64(type)) }

    public func contains(_ type: Int32) -> Bool { bits & (1 << UInt64(type)) != 0 }
    /// The only member, when there is exactly one.
    public var single: Int32? { bits.nonzeroBitCount == 1 ? Int32(bits.trailingZeroBitCount) : nil }
}

/// Where a job runs now, as `jobStarted` reports it.
public struct JobRun: Sendable, Equatable {
    public var cluster: Int32
    /// The accelerators it holds on each node of `cluster`.
    public var shares: [NodeShare]
    public var devices: Int
    /// When it starts making progress (after a restore, transfer or copy); a policy must not
    /// preempt, shrink or migrate it before then, or it would stop a job that made no progress.
    public var progressFrom: VirtualTime

    public init(cluster: Int32, shares: [NodeShare], devices: Int, progressFrom: VirtualTime) {
        self.cluster = cluster
        self.shares = shares
        self.devices = devices
        self.progressFrom = progressFrom
    }
}

/// Free accelerators a policy holds back for one named waiting job: the only idle capacity
/// the liveness check (`--check`) accepts while a waiting job would fit it. A policy reports
/// its reservations in `SchedulingPolicy.reservations`; each must end, when its job starts
/// or when the releases it waits for have landed, and the policy's documentation says when.
public struct Reservation: Sendable, Equatable {
    public var job: JobIndex
    public var cluster: Int32
    /// Free accelerators of `cluster` held for `job` now.
    public var accelerators: Int

    public init(job: JobIndex, cluster: Int32, accelerators: Int) {
        self.job = job
        self.cluster = cluster
        self.accelerators = accelerators
    }
}

/// A policy's decision; the scheduler hierarchy carries it out with the shared, costed
/// mechanisms (`MechanismCosts`): a preemption cuts and dumps, a migration also transfers and
/// restores, a resize splices replicas.
public enum SchedulingDecision: Sendable, Equatable {
    /// Start a queued job on `accelerators` devices of `cluster` (fewer than its world size
    /// time-slices the replicas).
    case start(JobIndex, cluster: Int32, accelerators: Int)
    /// Start a queued job on exactly these accelerators of `cluster`'s nodes, bypassing the
    /// run's placement rule: for a policy that chooses nodes itself, as Slurm's backfill
    /// does around its reservations. The shares must be free now.
    case startOnNodes(JobIndex, cluster: Int32, shares: [NodeShare])
    /// Stop a running job and hand it back to the policy as pending, progress kept.
    case preempt(JobIndex)
    /// Move a running job to another cluster, keeping its device count.
    case migrate(JobIndex, toCluster: Int32)
    /// Change the number of devices of a running job within its cluster.
    case resize(JobIndex, accelerators: Int)
    /// Kill a running job and queue it again from its last checkpoint (from the start when it
    /// took none), its devices free at once: a batch scheduler's requeue (Slurm's
    /// `PreemptMode=REQUEUE`, https://slurm.schedmd.com/preempt.html). The policy hears of
    /// it through `jobPreempted`, in the same pass.
    case requeue(JobIndex)
    /// Refuse a waiting job that never started: it never runs and counts as finished by the
    /// policy's decision (`EventKind.declined`), as ElasticFlow's admission control declines
    /// a job whose deadline it cannot guarantee. The policy drops it itself; no callback follows.
    case decline(JobIndex)
    /// Set the speedup the job's host resources (CPU cores, memory) give it over the fair
    /// share, a factor (> 0, finite) on its rate from now: a running job banks its progress and
    /// goes on at the new rate with no pause (a `rerated` event, only when the factor changes);
    /// a waiting job starts with it. Synergy (OSDI'22) changes CPU and memory allocations so.
    case setResourceSpeedup(JobIndex, Double)
    /// Start a waiting job on the very accelerators of a running one, the two sharing them
    /// (packing, as Gandiva's and Gavel's `Gandiva_Packing` do; Xiao et al., OSDI'18 §3.2):
    /// the guest must want as many accelerators as the host holds, of a type it runs on, and
    /// neither may share already. Each runs at a factor (> 0, ≤ 1) of its rate alone, `keeps`
    /// for the guest and `hostKeeps` for the host (packed / isolated throughput; the host
    /// banks its progress and goes on at it, a `rerated` event). The guest's start is logged
    /// with 0 accelerators: it holds none. When either leaves (completes, is stopped, fails),
    /// the other runs alone at its full rate on the same accelerators (`tookOver` when the
    /// one that held them left). A shared job cannot be migrated or resized.
    case colocate(JobIndex, with: JobIndex, keeps: Double, hostKeeps: Double)
}

/// A scheduling policy: the one thing a policy author writes.
///
/// The shape follows the Kubernetes scheduling framework's extension points and Blox's split
/// into admission, scheduling and placement:
/// - *queue sort*: the policy keeps its own order of waiting and running jobs, told of every
///   change through the `job…` callbacks (it never rescans the queue per event);
/// - *filter and score*: `nextDecision` picks a job and a cluster against `FleetView`, the
///   exact free capacity of every cluster;
/// - *post-filter (preemption)*, *reserve* and *permit*: `.preempt`, `.resize` and `.migrate`
///   decisions, and `reservations` for capacity it holds back;
/// - *placement* (which nodes inside a cluster): the run's `PlacementRule`, shared by all.
///
/// What a policy may touch: its own state, the values it is handed, `FleetView`. What it may
/// not: the job and cluster actors, the event queue, the clock beyond `now`, the store, any
/// `Set` or `Dictionary` iteration order, or a random generator other than one seeded from
/// its options. Decisions are validated by the scheduler; an invalid one ends the run with an
/// error. `PriorityPolicy` (rules ranking jobs) covers most policies in one small file.
public protocol SchedulingPolicy: Sendable {
    /// The registered name (`fleettwin policies`).
    var name: String { get }
    /// How gangs are laid out inside a cluster.
    var placement: PlacementRule { get }

    mutating func jobArrived(_ job: PendingJob, at now: VirtualTime)
    mutating func jobCompleted(_ job: JobIndex, at now: VirtualTime)
    /// A job started (or resumed, or was resized or migrated) on `run`.
    mutating func jobStarted(_ job: PendingJob, on run: JobRun, at now: VirtualTime)
    /// A job this policy preempted has dumped its state, released its accelerators and is
    /// pending again.
    mutating func jobPreempted(_ job: PendingJob, at now: VirtualTime)
    /// A running or stopping job's accelerators failed; it released all of them (its
    /// in-flight releases included, each reported by `devicesReleased` first) and is pending
    /// again, from its last checkpoint.
    mutating func jobFailed(_ job: PendingJob, at now: VirtualTime)
    /// Accelerators were added or removed (failures and repairs).
    mutating func capacityChanged(at now: VirtualTime)
    /// Devices a job no longer holds are free: a migration's source after its dump, or the
    /// devices a shrink gave back, by whatever path (a dump that finished, or a failure).
    mutating func devicesReleased(_ job: JobIndex, cluster: Int32, count: Int, at now: VirtualTime)

    /// The next decision at `now`, or nil when this scheduling pass is over. The fleet view
    /// already reflects every decision returned earlier in the pass.
    mutating func nextDecision(at now: VirtualTime, fleet: FleetView) -> SchedulingDecision?

    /// When the policy wants a pass even if nothing happens (a job crossing a priority
    /// threshold, a protection quantum ending); nil for never.
    func wakeup(after now: VirtualTime) -> VirtualTime?

    /// Capacity held back for named waiting jobs at the end of the last pass.
    var reservations: [Reservation] { get }

    /// Whether it copes with jobs that arrive already running (`jobArrived` then `jobStarted`
    /// in one step, without its decision): a fork of an observed state. Default false.
    var adoptsRunningJobs: Bool { get }

    /// Why the policy cannot decide any more (an external policy's process crashed, timed out
    /// or answered outside its protocol), or nil. The methods above cannot throw, so a policy
    /// that fails returns nil from `nextDecision` and says why here; the scheduler reads it
    /// at the end of every pass and ends the run with `SimulationError.policyFailed`.
    /// Default nil: a built-in policy never fails.
    var failure: String? { get }

    /// Where the decision `nextDecision` last returned came from, for a policy that relays
    /// another program's decisions (the external policy: its command and the answer line);
    /// the scheduler appends it to the error when it refuses that decision. Default nil.
    var decisionOrigin: String? { get }

    /// Scheduling events so far, per global cluster index, as the policy's original simulator
    /// counts them (a shorter array: none in the clusters beyond it). A peer cost charged per
    /// event (`RestartCost.elasticFlowEvents`) pauses every running job of a cluster after
    /// each pass in which its count went up. Default empty: the policy has no such events.
    var schedulingEvents: [Int] { get }

    /// A running job stops progressing until `progressFrom` (a per-event overhead, the
    /// scheduler's doing); it keeps its devices. Default: nothing to update.
    mutating func jobPaused(_ job: JobIndex, until progressFrom: VirtualTime, at now: VirtualTime)
}

extension SchedulingPolicy {
    public mutating func capacityChanged(at now: VirtualTime) {}
    public mutating func jobFailed(_ job: PendingJob, at now: VirtualTime) { jobPreempted(job, at: now) }
    public mutating func devicesReleased(_ job: JobIndex, cluster: Int32, count: Int, at now: VirtualTime) {}
    public mutating func jobStarted(_ job: PendingJob, on run: JobRun, at now: VirtualTime) {}
    public func wakeup(after now: VirtualTime) -> VirtualTime? { nil }
    public var reservations: [Reservation] { [] }
    public var adoptsRunningJobs: Bool { false }
    public var failure: String? { nil }
    public var decisionOrigin: String? { nil }
    public var schedulingEvents: [Int] { [] }
    public mutating func jobPaused(_ job: JobIndex, until progressFrom: VirtualTime, at now: VirtualTime) {}
}

extension PendingJob {
    /// The most devices, at most `devices`, that the job can run on: a multiple of its
    /// `replicaDevices` (whole model replicas; 0 when fewer than one replica's worth).
    public func usableDevices(_ devices: Int) -> Int { devices - devices % max(replicaDevices, 1) }

    /// The share of its full-size rate the job gets on `devices` accelerators (before type
    /// speed and communication): 1 at full size; devices / world size for batch inference;
    /// its speedup on `devices` over its speedup at full size when replicas follow devices;
    /// 1 / (ceil(W / devices) x (1 + overhead)) for time-sliced training replicas (replica
    /// splicing, Singularity, arXiv 2202.07848 section 4).
    public func fraction(on devices: Int, splicingOverhead: Double) -> Double {
        rate(speed: 1, on: devices, splicingOverhead: splicingOverhead)
    }

    /// `fraction(on:splicingOverhead:)` of `speed`, rounded as one expression.
    public func rate(speed: Double, on devices: Int, splicingOverhead: Double) -> Double {
        if devices >= worldSize { return speed }
        if splitsRequests { return speed * Double(devices) / Double(worldSize) }
        if speedup.count == worldSize, devices >= 1 { return speed * speedup[devices - 1] / speedup[worldSize - 1] }
        return speed / (Double((worldSize + devices - 1) / devices) * (1 + splicingOverhead))
    }
}
