import Foundation

/// One event of the observation log, in FleetTwin's terms (not Slurm's): a job's lifecycle, a
/// node's availability, or something wrong with a poll that the twin logged and survived.
/// `time` is Unix microseconds: Slurm's own time where its reply gives one (a job's
/// `submit_time`, `start_time`, `end_time`), else the observation's. The log's order is the
/// order of observation (`seq` in the database), not `time`.
public struct TwinEvent: Equatable, Sendable {
    /// What happened. Raw values are what the database stores.
    public enum Kind: String, CaseIterable, Sendable {
        /// A job first seen (any state): its submission.
        case submitted
        /// A job began a run (RUNNING, or already finished when first seen running).
        case started
        /// A job went back to the queue: `restart_cnt` went up, or it was RUNNING and is
        /// PENDING again (Slurm's preemption by REQUEUE, a node failure, `scontrol requeue`).
        case requeued
        /// A job ended PREEMPTED (preemption by CANCEL; a requeued job is `requeued`).
        case preempted
        case completed
        /// Ended FAILED, NODE_FAIL, BOOT_FAIL, OUT_OF_MEMORY or SPECIAL_EXIT (details say which).
        case failed
        case cancelled
        /// Ended TIMEOUT (its time limit) or DEADLINE.
        case timeout
        /// A node became unavailable (down, drained, failing, not responding) or left sinfo.
        case nodeDown
        /// A node became available again.
        case nodeUp
        /// A reply that could not be read (details: which and why); the poll was skipped, or,
        /// for sacct's, taken without it.
        case malformedReply
        /// `squeue` or `sinfo` could not run or exited with an error, and the poll was skipped;
        /// or `sacct` could not (no slurmdbd), and the poll was taken without it.
        case commandFailed
        /// squeue listed no job at all while the mirror held jobs not finished: skipped once,
        /// taken when the next poll says the same.
        case emptyReply
        /// The observation's time is not after the previous one's; the poll was skipped.
        case clockWentBack
        /// Job ids went back (a new job below the highest seen): slurmctld restarted without
        /// its state. The mirror starts a new epoch; jobs still open are listed and dropped.
        case controllerRestart
    }

    /// Unix microseconds (Slurm's time where its reply gives one, else the observation's).
    public var time: Int64
    public var kind: Kind
    /// Starts at 0, one more after each `controllerRestart` (job ids are reused across epochs).
    public var epoch: Int
    /// The job (`job_id`) of a job event; nil for node and poll events.
    public var job: Int?
    /// The node of a node event.
    public var node: String?
    /// What else the event says.
    public var details: Details

    public init(time: Int64, kind: Kind, epoch: Int = 0, job: Int? = nil, node: String? = nil, details: Details = Details()) {
        self.time = time
        self.kind = kind
        self.epoch = epoch
        self.job = job
        self.node = node
        self.details = details
    }

    /// What an event says besides its kind, stored as JSON with sorted keys (absent fields are
    /// left out). Times are Unix seconds; `timeLimit` is seconds.
    public struct Details: Codable, Equatable, Sendable {
        /// GPUs: asked for (submitted) or allocated (started).
        public var gpus: Int?
        /// `node_count`.
        public var nodeCount: Int?
        /// The allocated node list (started).
        public var nodes: String?
        /// As squeue reports them when the job is first seen (submitted).
        public var partition: String?
        public var qos: String?
        public var user: String?
        /// Seconds; nil when unlimited.
        public var timeLimit: Int64?
        /// `eligible_time`, Unix seconds.
        public var eligible: Int64?
        public var priority: Int64?
        /// `restart_cnt` after the event (requeued, ends; submitted when above 0).
        public var restarts: Int?
        /// Slurm's job state (ends) or node state (node events).
        public var state: String?
        /// Slurm's reason (`state_reason` of a requeued job, a node's `reason`).
        public var reason: String?
        /// `exit_code`: the raw wait status.
        public var exitCode: Int?
        /// How the mirror inferred the event when the reply did not say it outright.
        public var note: String?

        public init(gpus: Int? = nil, nodeCount: Int? = nil, nodes: String? = nil, partition: String? = nil, qos: String? = nil,
                    user: String? = nil, timeLimit: Int64? = nil, eligible: Int64? = nil, priority: Int64? = nil,
                    restarts: Int? = nil, state: String? = nil, reason: String? = nil, exitCode: Int? = nil, note: String? = nil) {
            self.gpus = gpus
            self.nodeCount = nodeCount
            self.nodes = nodes
            self.partition = partition
            self.qos = qos
            self.user = user
            self.timeLimit = timeLimit
            self.eligible = eligible
            self.priority = priority
            self.restarts = restarts
            self.state = state
            self.reason = reason
            self.exitCode = exitCode
            self.note = note
        }

        /// The JSON the database stores: sorted keys, absent fields left out.
        public var json: String {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
            return String(decoding: try! encoder.encode(self), as: UTF8.self)
        }

        /// Reads `json` back; a stored text that is not such an object is an error.
        public init(json: String) throws {
            self = try JSONDecoder().decode(Details.self, from: Data(json.utf8))
        }
    }

    /// The job's identity across the session: its id in epoch 0, `EPOCH.ID` after a controller
    /// restart (Slurm reuses ids; `TwinTraceExport` names jobs so too); nil for other events.
    public var jobKey: String? { job.map { Self.jobKey(epoch: epoch, id: $0) } }

    /// `ID` in epoch 0, `EPOCH.ID` later: how the twin names job `id` of `epoch` wherever it
    /// joins jobs across observations (forecasts, scores, the exported trace).
    public static func jobKey(epoch: Int, id: Int) -> String { epoch == 0 ? String(id) : "\(epoch).\(id)" }

    /// One line for logs and `twin slurm`'s standard error: `TIME KIND job N: details`.
    public var line: String {
        let seconds = Double(time) / 1_000_000
        var subject = job.map { " job \($0)" } ?? node.map { " node \($0)" } ?? ""
        if epoch > 0, job != nil { subject += " (epoch \(epoch))" }
        return String(format: "%.3f", seconds) + " \(kind.rawValue)\(subject): \(details.json)"
    }

    /// Whether the event reports trouble with a poll rather than a change in the cluster.
    public var isFault: Bool {
        switch kind {
        case .malformedReply, .commandFailed, .emptyReply, .clockWentBack, .controllerRestart: return true
        default: return false
        }
    }
}
