/// FleetTwinTraces owns traces: the native trace format (JSON Lines, versioned; see
/// Traces/README.md), a streaming reader that locates every error by file and line, a
/// deterministic writer, and the import report every importer fills (rows read, jobs
/// written, rows skipped with their line and reason: nothing is dropped silently).
///
/// A trace knows nothing of fleets or policies: Scenario turns trace jobs into jobs.
public enum FleetTwinTraces {
    public static let format = "fleettwin-trace"
    public static let version = 1
}

/// What a trace recorded about how a job actually ran, when it did.
public struct RecordedOutcome: Sendable, Equatable {
    /// Seconds from the trace's origin.
    public var start: Double?
    public var end: Double?
    /// As the source says it (Pass, Killed, Failed, Running, ...).
    public var status: String?
    public var attempts: Int?
    /// The scheduler's priority of the job, as its accounting reports it (Slurm's multifactor
    /// priority, an integer); kept to explain a replay's order, never read by a policy.
    public var priority: Int64?

    public init(start: Double? = nil, end: Double? = nil, status: String? = nil, attempts: Int? = nil, priority: Int64? = nil) {
        self.start = start
        self.end = end
        self.status = status
        self.attempts = attempts
        self.priority = priority
    }
}

/// One job of a trace. Times are seconds from the trace's origin (its first submission,
/// unless the importer says otherwise); work is either `duration` (at full size on an H100,
/// relative speed 1) or `steps` x `stepTime`.
public struct TraceJob: Sendable, Equatable {
    public var id: String
    public var submit: Double
    public var worldSize: Int
    public var duration: Double?
    public var steps: Int?
    public var stepTime: Double?
    /// premium, standard or basic; nil lets the scenario's tier rules decide.
    public var tier: String?
    public var acceleratorType: String?
    public var stateBytes: Int64?
    public var memoryPerReplicaBytes: Int64?
    /// A workload or template this job replays (e.g. "reranker-bce-12x768").
    public var workload: String?
    public var user: String?
    public var virtualCluster: String?
    /// What a batch scheduler was told (Slurm's sbatch options): the time limit in seconds
    /// (`--time`; nil: none), the partition (`-p`), the QOS (`--qos`), the node count (`-N`;
    /// nil: as few as the size needs) and the earliest start (`--begin`, seconds from the
    /// origin; nil: at submission).
    public var timeLimit: Double?
    public var partition: String?
    public var qos: String?
    public var nodes: Int?
    public var eligible: Double?
    /// The CPU cores the batch scheduler allocated the job in all, over its nodes (Slurm's
    /// `AllocCPUS`, `cpu=` in its TRES: tasks x `--cpus-per-task`); nil: not given (the
    /// `slurm` policy then counts one core per node, a task of one CPU).
    public var cpus: Int?
    public var recorded: RecordedOutcome?
    /// Batch inference: the requests the job serves (its replicas split them; nil: a
    /// training job) and the bytes of the weights each start loads. `stateBytes` is then
    /// the size of all its outputs.
    public var requests: Int64?
    public var weightBytes: Int64?
    /// Replicas follow devices: throughput on 1...worldSize devices relative to one (nil: a
    /// fixed world).
    public var speedup: [Double]?
    /// Pollux's statistical-efficiency inputs of a job with a `speedup` (`"statisticalEfficiency":
    /// {"initialBatch", "maxBatch", "minLocalBatch", "maxLocalBatch", "gradientVariance",
    /// "gradientSquare" | "noiseScale"}`, samples); nil: none given.
    public var statisticalEfficiency: TraceStatisticalEfficiency?
    /// Tensor and pipeline parallelism (`"parallelism": {"tensor": T, "pipeline": P,
    /// "microBatches": m}`; nil: data parallelism only): one model replica spans T x P of the
    /// job's devices, which T x P divides, with tensor groups inside nodes (issue 18).
    public var parallelism: TraceParallelism?

    /// When the job must complete: seconds from the trace's origin, like `submit` (an instant,
    /// not a span), after `submit`; nil: best effort. For deadline-aware policies
    /// (`elasticflow`).
    public var deadline: Double?
    /// Synergy's host-resource profile (`"resources": {"cpusPerGPU", "memoryGiBPerGPU",
    /// "speedup"}`): what the `synergy` policy divides servers' CPUs and memory by; nil: the
    /// job wants the fair share and runs at speedup 1.
    public var resources: TraceResources?

    public init(id: String, submit: Double, worldSize: Int, duration: Double? = nil, steps: Int? = nil, stepTime: Double? = nil,
                tier: String? = nil, acceleratorType: String? = nil, stateBytes: Int64? = nil, memoryPerReplicaBytes: Int64? = nil,
                workload: String? = nil, user: String? = nil, virtualCluster: String? = nil,
                timeLimit: Double? = nil, partition: String? = nil, qos: String? = nil, nodes: Int? = nil, eligible: Double? = nil,
                recorded: RecordedOutcome? = nil) {
        self.timeLimit = timeLimit
        self.partition = partition
        self.qos = qos
        self.nodes = nodes
        self.eligible = eligible
        self.id = id
        self.submit = submit
        self.worldSize = worldSize
        self.duration = duration
        self.steps = steps
        self.stepTime = stepTime
        self.tier = tier
        self.acceleratorType = acceleratorType
        self.stateBytes = stateBytes
        self.memoryPerReplicaBytes = memoryPerReplicaBytes
        self.workload = workload
        self.user = user
        self.virtualCluster = virtualCluster
        self.recorded = recorded
    }

    /// Seconds of work at full size.
    public var workSeconds: Double { duration ?? Double(steps ?? 0) * (stepTime ?? 0) }
}

/// The first line of a trace file.
public struct TraceHeader: Sendable, Equatable {
    public var name: String
    /// Where the jobs came from (importer and input), free text.
    public var source: String
    /// Free-text notes an importer wants readers to see (assumptions, roundings).
    public var notes: [String]
    /// The Unix time (seconds) of the trace's time zero, when the importer knows it
    /// (`slurm-sacct`): the `slurm` policy aligns its will-run windows on that clock.
    public var origin: Double?

    public init(name: String, source: String, notes: [String] = [], origin: Double? = nil) {
        self.name = name
        self.source = source
        self.notes = notes
        self.origin = origin
    }
}

/// What an importer did with its input: every row is either written or skipped with a
/// reason, so `rowsRead == jobsWritten + skipped.count`.
public struct ImportReport: Sendable, Equatable {
    public struct Skip: Sendable, Equatable {
        public var line: Int
        public var reason: String

        public init(line: Int, reason: String) {
            self.line = line
            self.reason = reason
        }
    }

    public var rowsRead = 0
    public var jobsWritten = 0
    public var skipped: [Skip] = []
    /// What one counted row is, plural ("rows": an input line or object); an importer that
    /// groups several input lines into one job counts jobs instead and says so.
    public var unit = "rows"
    /// How `jobsWritten` is named in the summary: "jobs written" for a trace; a fleet
    /// importer's rows become the fleet's nodes and clusters, so it says "rows used".
    public var writtenName = "jobs written"
    /// How the input's own lines relate to the counted rows, when they differ (for example
    /// "a job per job_name, its task lines grouped; 7 task lines").
    public var unitDetail: String?

    public init() {}

    public mutating func skip(line: Int, _ reason: String) {
        rowsRead += 1
        skipped.append(Skip(line: line, reason: reason))
    }

    public mutating func wrote() {
        rowsRead += 1
        jobsWritten += 1
    }

    /// Skips grouped by reason, most frequent first, with the first few lines of each.
    public var summary: String {
        var lines = ["\(unit) read \(rowsRead)\(unitDetail.map { " (\($0))" } ?? ""), \(writtenName) \(jobsWritten), \(unit) skipped \(skipped.count)"]
        var order: [String] = []
        var byReason: [String: [Int]] = [:]  // looked up; output follows `order`
        for s in skipped {
            if byReason[s.reason] == nil { order.append(s.reason) }
            byReason[s.reason, default: []].append(s.line)
        }
        for reason in order.sorted(by: { (byReason[$0]!.count, $1) > (byReason[$1]!.count, $0) }) {
            let at = byReason[reason]!
            let shown = at.prefix(5).map(String.init).joined(separator: ", ") + (at.count > 5 ? ", ..." : "")
            lines.append("  \(at.count) skipped: \(reason) (line\(at.count == 1 ? "" : "s") \(shown))")
        }
        return lines.joined(separator: "\n")
    }
}

/// A trace job's model parallelism as written (`TraceJob.parallelism`): all >= 1, tensor x
/// pipeline dividing its world size.
public struct TraceParallelism: Sendable, Equatable {
    /// Tensor-parallel ways: one tensor group's devices, all on one node.
    public var tensor: Int
    /// Pipeline stages of consecutive layers.
    public var pipeline: Int
    /// Micro-batches per step (the pipeline bubble is (pipeline - 1) / (microBatches + pipeline - 1)).
    public var microBatches: Int

    public init(tensor: Int, pipeline: Int, microBatches: Int) {
        self.tensor = tensor
        self.pipeline = pipeline
        self.microBatches = microBatches
    }
}

/// A trace job's statistical-efficiency inputs as written (FleetTwinPolicy's
/// `StatisticalEfficiency` once read): batch sizes in samples, and the gradient variance and
/// squared norm or, instead, a gradient noise scale (samples). Checked by `TraceReader`.
public struct TraceStatisticalEfficiency: Sendable, Equatable {
    public var initialBatch: Double
    public var maxBatch: Double?
    public var minLocalBatch: Double?
    public var maxLocalBatch: Double?
    public var gradientVariance: Double?
    public var gradientSquare: Double?
    public var noiseScale: Double?

    public init(initialBatch: Double, maxBatch: Double? = nil, minLocalBatch: Double? = nil, maxLocalBatch: Double? = nil,
                gradientVariance: Double? = nil, gradientSquare: Double? = nil, noiseScale: Double? = nil) {
        self.initialBatch = initialBatch
        self.maxBatch = maxBatch
        self.minLocalBatch = minLocalBatch
        self.maxLocalBatch = maxLocalBatch
        self.gradientVariance = gradientVariance
        self.gradientSquare = gradientSquare
        self.noiseScale = noiseScale
    }

    /// The keys in the order they are written.
    static let keys = ["initialBatch", "maxBatch", "minLocalBatch", "maxLocalBatch", "gradientVariance", "gradientSquare", "noiseScale"]
    var values: [Double?] { [initialBatch, maxBatch, minLocalBatch, maxLocalBatch, gradientVariance, gradientSquare, noiseScale] }
}

/// A trace job's host-resource profile (FleetTwinFleet's `ResourceProfile` once read; Synergy,
/// OSDI'22, msr-fiddle/synergy `simulator/resources/workload.py::add_synergy_profile`): the CPU
/// cores and host memory (GiB) it wants per accelerator, and its speedup when it gets them over
/// its speed at the GPU-proportional share. Checked by `TraceReader`: CPUs in (0, 1e6], memory
/// in [1/1024, 1048576] GiB (1 MiB to 1 PiB, as a scenario's `memory_per_gpu`), speedup in (0, 1e3].
public struct TraceResources: Sendable, Equatable {
    public var cpusPerGPU: Double
    public var memoryGiBPerGPU: Double
    public var speedup: Double

    public init(cpusPerGPU: Double, memoryGiBPerGPU: Double, speedup: Double) {
        self.cpusPerGPU = cpusPerGPU
        self.memoryGiBPerGPU = memoryGiBPerGPU
        self.speedup = speedup
    }

    /// The keys in the order they are written.
    static let keys = ["cpusPerGPU", "memoryGiBPerGPU", "speedup"]
}
