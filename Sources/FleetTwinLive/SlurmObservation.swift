/// FleetTwinLive owns the live twin's mirror of a Slurm cluster: what one poll of
/// `squeue --json` and `sinfo --json` says (`SlurmObservation`, parsed by `SlurmReplies`),
/// with `sacct --json`'s records of the runs since the last poll (`AccountedRun`), the diff
/// of consecutive observations into FleetTwin's own lifecycle events (`SlurmMirror`,
/// `TwinEvent`), where polls come from (`SlurmPolls`: the live commands, or a captured
/// directory) and how they are captured (`PollCapture`), and the observation log as a native
/// trace (`TwinTraceExport`). In mirror mode the twin applies what it observed and decides
/// nothing; forecasts, what-ifs and scoring are not built yet. Nothing here iterates a
/// `Dictionary` or `Set` to decide anything: jobs are kept and diffed in job-id order, nodes
/// in name order.
import FleetTwinEngine
import Foundation

/// One node as `sinfo --json` reports it (Slurm 22.05, `openapi/v0.0.38`; the sinfo and
/// gres.conf documentation pages, https://slurm.schedmd.com/sinfo.html and
/// https://slurm.schedmd.com/gres.conf.html).
public struct ObservedNode: Codable, Equatable, Sendable {
    /// The node's name (`name`).
    public var name: String
    /// Its base state, lower case (`state`: idle, allocated, mixed, down, drained, ...).
    public var state: String
    /// Its state flags, upper case and sorted (`state_flags`: DRAIN, NOT_RESPONDING, ...).
    public var flags: [String]
    /// The node's GPUs (from `gres`, such as `gpu:8` or `gpu:h100:8(S:0-1)`); 0 without any.
    public var gpus: Int
    /// The GPU type gres.conf gives (`h100` in `gpu:h100:8`); empty when untyped.
    public var gpuType: String
    /// The `gres` string as reported (the fleet export reads it).
    public var gres: String
    /// The partitions the node is in, sorted.
    public var partitions: [String]
    /// Why an administrator or Slurm took it out of service (`reason`), empty when none.
    public var reason: String
    /// Its CPUs (`cpus`), which `twin export` writes as the fleet's `cpus_per_node` (the
    /// `slurm` policy fits jobs by cores); nil when sinfo gives none (and in logs written
    /// before it was kept).
    public var cpus: Int?

    public init(name: String, state: String, flags: [String] = [], gpus: Int, gpuType: String = "", gres: String,
                partitions: [String] = [], reason: String = "", cpus: Int? = nil) {
        self.name = name
        self.state = state
        self.flags = flags
        self.gpus = gpus
        self.gpuType = gpuType
        self.gres = gres
        self.partitions = partitions
        self.reason = reason
        self.cpus = cpus
    }

    /// Base states in which a node runs no new job: DOWN, FUTURE, UNKNOWN (not registered yet),
    /// ERROR, and DRAINED (all of them as sinfo prints them, lower case).
    static let unavailableStates: Set<String> = ["down", "drained", "future", "unknown", "error", "fail"]
    /// Flags that take a node out of service whatever its base state (DRAIN includes DRAINING).
    static let unavailableFlags: Set<String> = ["DRAIN", "FAIL", "NOT_RESPONDING", "INVALID_REG", "POWERED_DOWN"]

    /// Whether Slurm can start jobs on the node: neither its base state nor a flag says it is
    /// down, drained, failing, not responding, invalid or powered down.
    public var isAvailable: Bool {
        !Self.unavailableStates.contains(state) && !flags.contains { Self.unavailableFlags.contains($0) }
    }
}

/// One job as `squeue --json` reports it (Slurm 22.05, `openapi/v0.0.38`; the squeue
/// documentation, https://slurm.schedmd.com/squeue.html, and job state codes,
/// https://slurm.schedmd.com/job_state_codes.html). Times are Unix seconds, nil where Slurm
/// reports 0 (not set).
public struct ObservedJob: Codable, Equatable, Sendable {
    /// `job_id`.
    public var id: Int
    /// `job_state` in upper case: PENDING, RUNNING, COMPLETED, FAILED, CANCELLED, TIMEOUT, ...
    public var state: String
    /// `state_reason`: why a pending job waits (Priority, Resources, BeginTime, ...), or None.
    public var reason: String
    /// `partition` as reported (a comma-separated list for a pending job submitted to several).
    public var partition: String
    /// `qos`; empty without slurmdbd.
    public var qos: String
    /// `user_name`.
    public var user: String
    /// The job's GPUs in all: `gres/gpu` of `tres_alloc_str` (the allocation), else the sum of
    /// `gres_detail`, else `tres_per_job`, else `tres_per_node` x `node_count`, else `gres/gpu`
    /// of `tres_req_str`; 0 for a CPU-only job.
    public var gpus: Int
    /// `node_count`: nodes allocated, or asked for while pending.
    public var nodeCount: Int
    /// `nodes`: the allocated node list (`n[1-2]`), empty while pending.
    public var nodes: String
    /// `submit_time` (a requeue resets it to the requeue time).
    public var submit: Int64?
    /// `eligible_time`.
    public var eligible: Int64?
    /// `start_time`: the real start of a running or finished job, Slurm's estimate for a pending one.
    public var start: Int64?
    /// `end_time`: the real end of a finished job, the limit's end for a running one.
    public var end: Int64?
    /// `time_limit` (minutes) in seconds; nil when unlimited (null, or Slurm's INFINITE).
    public var timeLimit: Int64?
    /// `restart_cnt`: how often the job was requeued.
    public var restarts: Int
    /// `priority`.
    public var priority: Int64?
    /// `exit_code`: the raw wait status (3 << 8 for `exit 3`).
    public var exitCode: Int?

    public init(id: Int, state: String, reason: String = "None", partition: String = "", qos: String = "", user: String = "",
                gpus: Int = 0, nodeCount: Int = 1, nodes: String = "", submit: Int64? = nil, eligible: Int64? = nil,
                start: Int64? = nil, end: Int64? = nil, timeLimit: Int64? = nil, restarts: Int = 0, priority: Int64? = nil,
                exitCode: Int? = nil) {
        self.id = id
        self.state = state
        self.reason = reason
        self.partition = partition
        self.qos = qos
        self.user = user
        self.gpus = gpus
        self.nodeCount = nodeCount
        self.nodes = nodes
        self.submit = submit
        self.eligible = eligible
        self.start = start
        self.end = end
        self.timeLimit = timeLimit
        self.restarts = restarts
        self.priority = priority
        self.exitCode = exitCode
    }

    /// What a job state means to the mirror.
    public enum Phase: Equatable, Sendable {
        /// Waiting: PENDING, REQUEUED, REQUEUE_HOLD, REQUEUE_FED, RESV_DEL_HOLD.
        case pending
        /// Holding nodes: RUNNING, CONFIGURING, COMPLETING, SUSPENDED, RESIZING, SIGNALING,
        /// STAGE_OUT, STOPPED.
        case running
        /// Ended, with the lifecycle event it ends in.
        case finished(TwinEvent.Kind)
    }

    /// The phase of `state`. Unknown states count as running when the job has nodes and as
    /// pending otherwise, so a new state name never ends a job.
    public var phase: Phase {
        switch state {
        case "PENDING", "REQUEUED", "REQUEUE_HOLD", "REQUEUE_FED", "RESV_DEL_HOLD": return .pending
        case "RUNNING", "CONFIGURING", "COMPLETING", "SUSPENDED", "RESIZING", "SIGNALING", "STAGE_OUT", "STOPPED": return .running
        case "COMPLETED": return .finished(.completed)
        case "CANCELLED": return .finished(.cancelled)
        case "TIMEOUT", "DEADLINE": return .finished(.timeout)
        case "PREEMPTED": return .finished(.preempted)
        case "FAILED", "NODE_FAIL", "BOOT_FAIL", "OUT_OF_MEMORY", "SPECIAL_EXIT": return .finished(.failed)
        default: return nodes.isEmpty ? .pending : .running
        }
    }
}

/// What one poll saw: the nodes (sorted by name) and the jobs (sorted by id) at `time`.
/// The canonical snapshot is the JSON of nodes and jobs with sorted keys (the time is not part
/// of it, so an unchanged cluster has an unchanged hash); `hash` is its FNV-1a 64 hash
/// (`StableHasher`), 16 hex digits.
public struct SlurmObservation: Equatable, Sendable {
    /// When the observation was made: Unix microseconds.
    public var time: Int64
    /// sinfo's nodes, by name.
    public var nodes: [ObservedNode]
    /// squeue's jobs, finished ones included, by id.
    public var jobs: [ObservedJob]

    public init(time: Int64, nodes: [ObservedNode], jobs: [ObservedJob]) {
        self.time = time
        self.nodes = nodes.sorted { $0.name < $1.name }
        self.jobs = jobs.sorted { $0.id < $1.id }
    }

    /// The canonical snapshot's shape.
    public struct Snapshot: Codable, Equatable, Sendable {
        /// By name.
        public var nodes: [ObservedNode]
        /// By id.
        public var jobs: [ObservedJob]
    }

    /// The canonical snapshot: `{"jobs": [...], "nodes": [...]}`, keys sorted, no time.
    public var canonicalJSON: String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        // Encoding plain strings, integers and arrays cannot fail.
        let data = try! encoder.encode(Snapshot(nodes: nodes, jobs: jobs))
        return String(decoding: data, as: UTF8.self)
    }

    /// The canonical snapshot's hash: 16 hex digits.
    public var hash: String {
        var hasher = StableHasher()
        hasher.combine(canonicalJSON)
        return hasher.hex
    }

    /// Jobs still in the system: pending or running.
    public var openJobs: [ObservedJob] {
        jobs.filter { if case .finished = $0.phase { return false } else { return true } }
    }
}
