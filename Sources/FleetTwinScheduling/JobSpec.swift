import FleetTwinCostModel
import FleetTwinEngine
import FleetTwinFleet

/// A job as submitted: what it asks for and how much work it carries.
public struct JobSpec: Sendable, Equatable {
    /// The name users know it by (from the scenario or trace); unique within a run.
    public var name: String
    public var submit: VirtualTime
    public var tier: SLATier
    /// Data-parallel replicas (accelerators wanted at full size).
    public var worldSize: Int
    /// The type asked for; for a model-shaped job that may run on several types, "any".
    public var acceleratorType: String
    /// Time to finish uninterrupted at full size on an accelerator of relative speed 1.0.
    public var work: VirtualTime
    /// For a model-shaped job: the types it may run on, each with its speed relative to the
    /// H100 for this very shape (from the cost model). nil: `acceleratorType` at that type's
    /// relative speed.
    public var speeds: [TypeSpeed]? {
        get { rare?.value.speeds }
        set { setRare { $0.speeds = newValue } }
    }
    /// The model shape the cost model priced, when the job was given as one.
    public var model: ModelShape? {
        get { rare?.value.model }
        set { setRare { $0.model = newValue } }
    }
    /// Mini-batches, when the work was given as steps x step time.
    public var steps: Int64?
    public var stateBytes: Int64
    public var memoryPerReplicaBytes: Int64
    /// Who the job belongs to (a virtual cluster, else a user, as the trace names it), for
    /// tenant-aware policies; nil when unknown.
    public var tenant: String? {
        get { rare?.value.tenant }
        set { setRare { $0.tenant = newValue } }
    }
    /// What a batch scheduler was told (for the `slurm` policy; nil where the trace gives
    /// none): the time limit the scheduler plans with (`--time`; never the true duration),
    /// the partition and the QOS.
    public var timeLimit: VirtualTime? {
        get { rare?.value.timeLimit }
        set { setRare { $0.timeLimit = newValue } }
    }
    public var partition: String? {
        get { rare?.value.partition }
        set { setRare { $0.partition = newValue } }
    }
    public var qos: String? {
        get { rare?.value.qos }
        set { setRare { $0.qos = newValue } }
    }
    /// The CPU cores the batch scheduler allocated it in all (a trace's `cpus`: Slurm's
    /// `AllocCPUS`); nil: not given.
    public var cpus: Int? {
        get { rare?.value.cpus }
        set { setRare { $0.cpus = newValue } }
    }
    /// Batch inference (nil: training). Its replicas split the requests rather than form a
    /// fixed world, so it runs on any number of devices up to `worldSize` at a rate
    /// proportional to them; `stateBytes` is then the size of all its outputs (a dump writes
    /// the cursor and the last step's outputs), and every start loads the weights.
    public var inference: BatchInference? {
        get { rare?.value.inference }
        set { setRare { $0.inference = newValue } }
    }
    /// Replicas follow devices (the elastic jobs of Optimus, AFS and Pollux; nil: a fixed
    /// world, which runs on fewer devices only by replica splicing): on n devices it runs n
    /// replicas at `elasticSpeedup[n - 1]` / `elasticSpeedup[worldSize - 1]` of its full-size
    /// rate, communication included. Its length is `worldSize`, every entry > 0.
    public var elasticSpeedup: [Double]? {
        get { rare?.value.elasticSpeedup }
        set { setRare { $0.elasticSpeedup = newValue } }
    }
    /// Statistical-efficiency inputs (batch sizes, gradient noise) of a job whose replicas
    /// follow devices, for goodput policies (`pollux`; research/policies.md §10). They steer
    /// the policy's choice only: the job still progresses at `elasticSpeedup`. nil: none.
    public var statisticalEfficiency: StatisticalEfficiency? {
        get { rare?.value.statisticalEfficiency }
        set { setRare { $0.statisticalEfficiency = newValue } }
    }
    /// Tensor and pipeline parallelism (nil: data parallelism only, one replica per device).
    /// `worldSize` is then devices, a multiple of tensor x pipeline; one model replica spans
    /// tensor x pipeline of them (tensor groups inside nodes), `work` is steps x the ideal
    /// step (one replica's step on one H100 / (tensor x pipeline)), `memoryPerReplicaBytes`
    /// is one device's share, and the job runs only on multiples of tensor x pipeline devices
    /// (issue 18; `CommunicationCosts` prices its step with `HybridParallelStep`).
    public var parallelism: Parallelism? {
        get { rare?.value.parallelism }
        set { setRare { $0.parallelism = newValue } }
    }

    /// Devices one model replica occupies: tensor x pipeline (1 without `parallelism`); the
    /// job's device counts are multiples of it.
    public var replicaDevices: Int { parallelism?.modelParallel ?? 1 }

    /// The time by which the job must complete, absolute virtual time (traces and scenarios
    /// give it relative to `submit`; always later than `submit`); nil: best effort.
    /// Deadline-aware policies (`elasticflow`) admit or decline the job by it; the run reports
    /// whether completed jobs met it (ElasticFlow, ASPLOS'23: a job's `ddl`, `best_effort`).
    public var deadline: VirtualTime? {
        get { rare?.value.deadline }
        set { setRare { $0.deadline = newValue } }
    }
    /// The application (model and data set) the job trains, as its trace names it (a trace
    /// job's `workload`, e.g. `resnet50` in the Tiresias traces); nil: unnamed. Read only by
    /// restart costs charged per application (`RestartCost.byApplication`, Sia's simulator)
    /// and by `gavel-gandiva`, as the model of the job's Gavel job type.
    public var application: String? {
        get { rare?.value.application }
        set { setRare { $0.application = newValue } }
    }
    /// Host CPU and memory it wants per accelerator and its speedup when it gets them
    /// (`ResourceProfile`), for resource-sensitive policies (`synergy`); nil: the fair
    /// (GPU-proportional) share at speedup 1.
    public var resources: ResourceProfile? {
        get { rare?.value.resources }
        set { setRare { $0.resources = newValue } }
    }

    public init(
        name: String, submit: VirtualTime, tier: SLATier, worldSize: Int, acceleratorType: String,
        work: VirtualTime, steps: Int64? = nil, stateBytes: Int64 = 0, memoryPerReplicaBytes: Int64 = 0,
        speeds: [TypeSpeed]? = nil, model: ModelShape? = nil, tenant: String? = nil
    ) {
        self.name = name
        self.submit = submit
        self.tier = tier
        self.worldSize = worldSize
        self.acceleratorType = acceleratorType
        self.work = work
        self.steps = steps
        self.stateBytes = stateBytes
        self.memoryPerReplicaBytes = memoryPerReplicaBytes
        self.tenant = tenant
        self.speeds = speeds
        self.model = model
    }
    /// The fields above that most jobs leave nil (every one from `speeds` on but `steps`),
    /// behind one shared, immutable reference (`SharedValue`) that is nil while they all are. A run holds
    /// several arrays of its jobs; inline, these made a job 384 bytes, most of a
    /// million-job run's peak memory (heaptrack on Scenarios/planet-scale.yaml, README's
    /// "Planet scale on one machine").
    private var rare: SharedValue<RareFieldValues>?

    /// The values behind `rare`.
    struct RareFieldValues: Sendable, Equatable {
        var speeds: [TypeSpeed]?
        var model: ModelShape?
        var tenant: String?
        var timeLimit: VirtualTime?
        var partition: String?
        var qos: String?
        var cpus: Int?
        var inference: BatchInference?
        var elasticSpeedup: [Double]?
        var statisticalEfficiency: StatisticalEfficiency?
        var parallelism: Parallelism?
        var deadline: VirtualTime?
        var resources: ResourceProfile?
        var application: String?
    }


    private mutating func setRare(_ change: (inout RareFieldValues) -> Void) {
        rare = SharedValue.updating(rare, empty: RareFieldValues(), change)
    }
}

/// How fast a job runs on one accelerator type, relative to its work's reference (an H100).
public struct TypeSpeed: Sendable, Equatable {
    public var type: String
    public var speed: Double

    public init(type: String, speed: Double) {
        self.type = type
        self.speed = speed
    }
}

/// Where a job runs: one cluster, some accelerators on some of its nodes.
public struct Placement: Sendable, Equatable {
    public var region: Int32
    /// Global cluster index (declaration order across regions).
    public var cluster: Int32
    /// Accelerators taken on each node; the nodes know which slots.
    public var shares: [NodeShare]
    public var acceleratorCount: Int

    public init(region: Int32, cluster: Int32, shares: [NodeShare]) {
        self.region = region
        self.cluster = cluster
        self.shares = shares
        self.acceleratorCount = shares.reduce(0) { $0 + Int($1.count) }
    }
}

/// What makes a job batch inference: a fixed set of independent requests processed in
/// mini-batches, with no optimizer state (issue 20; Singularity schedules such jobs as
/// preemptible, resizable work, arXiv 2202.07848 section 2).
///
/// - On P of its W replicas' devices it runs at P / W of its full-size rate: each device
///   serves its share of the requests, nothing is time-sliced and nothing is communicated.
/// - Every start (the first, a resume, a migration's destination) loads `weightBytes` from
///   storage before serving; a resize that adds devices copies the weights to them.
/// - Outputs are appended to storage as each step finishes, so a dump writes a cursor
///   (`cursorBytes`) and the last step's outputs.
public struct BatchInference: Sendable, Equatable {
    /// The requests the job serves (>= 1).
    public var requests: Int64
    /// The model's weights as loaded (bytes).
    public var weightBytes: Int64

    /// A checkpoint's cursor: the next request's index.
    public static let cursorBytes: Int64 = 8

    public init(requests: Int64, weightBytes: Int64) {
        self.requests = requests
        self.weightBytes = weightBytes
    }
}
