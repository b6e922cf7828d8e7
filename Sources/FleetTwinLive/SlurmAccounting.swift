import Foundation

/// One run of a job as Slurm's accounting records it: a record of `sacct --json` (Slurm 22.05,
/// `openapi/dbv0.0.38`; ../shared/slurm/README.md "JSON shapes"; the sacct documentation,
/// https://slurm.schedmd.com/sacct.html). sacct keeps one record per run, so a requeued job is
/// several records under one `job_id`, the earlier ones ended PREEMPTED, NODE_FAIL or REQUEUED,
/// each later one submitted at the requeue (Slurm resets `time.submission`). Times are Unix
/// seconds, nil where sacct reports 0 (not set; a running record has no end).
public struct AccountedRun: Codable, Equatable, Sendable {
    /// `job_id`.
    public var id: Int
    /// `state.current` in upper case (COMPLETED, PREEMPTED, RUNNING, PENDING, ...).
    public var state: String
    /// `time.submission`: the job's submission for its first run, the requeue for a later one.
    public var submit: Int64?
    /// `time.eligible`.
    public var eligible: Int64?
    /// `time.start`; nil for a record that never ran.
    public var start: Int64?
    /// `time.end`; nil while the run goes on.
    public var end: Int64?
    /// GPUs: the `gres/gpu` count of `tres.allocated`, else of `tres.requested`; 0 without.
    public var gpus: Int
    /// `allocation_nodes` (at least 1).
    public var nodeCount: Int
    /// `nodes`: the run's node list (`n[1-2]`), empty when it never ran.
    public var nodes: String
    /// `partition`, `qos` and `user` as recorded (empty when not).
    public var partition: String
    public var qos: String
    public var user: String
    /// `time.limit` (minutes) in seconds; nil when unlimited.
    public var timeLimit: Int64?
    /// `priority`.
    public var priority: Int64?

    public init(id: Int, state: String, submit: Int64? = nil, eligible: Int64? = nil, start: Int64? = nil, end: Int64? = nil,
                gpus: Int = 0, nodeCount: Int = 1, nodes: String = "", partition: String = "", qos: String = "", user: String = "",
                timeLimit: Int64? = nil, priority: Int64? = nil) {
        self.id = id
        self.state = state
        self.submit = submit
        self.eligible = eligible
        self.start = start
        self.end = end
        self.gpus = gpus
        self.nodeCount = nodeCount
        self.nodes = nodes
        self.partition = partition
        self.qos = qos
        self.user = user
        self.timeLimit = timeLimit
        self.priority = priority
    }

    /// States of a record whose run is not over (its `end` is an estimate or unset).
    static let openStates: Set<String> = ["PENDING", "RUNNING", "SUSPENDED", "COMPLETING", "CONFIGURING", "RESIZING", "SIGNALING",
                                          "STAGE_OUT", "STOPPED", "REQUEUE_HOLD", "REQUEUE_FED", "RESV_DEL_HOLD"]

    /// Whether the record is a run that began and is over: it has a start and an end and its
    /// state is not one of a run going on (REQUEUED, PREEMPTED, COMPLETED, FAILED, ... are over).
    public var ranAndEnded: Bool { start != nil && end != nil && !Self.openStates.contains(state) }

    /// The lifecycle event the job ends in when this is its last record and it is over
    /// (`ObservedJob.Phase`'s reading of the state); nil when the state does not end a job
    /// (PENDING, RUNNING, REQUEUED, ...).
    public var finalKind: TwinEvent.Kind? {
        guard end != nil, case .finished(let kind) = ObservedJob(id: id, state: state, nodes: nodes).phase else { return nil }
        return kind
    }
}

extension SlurmReplies {
    /// The records of a `sacct --json` reply, sorted by job id, then submission, then start:
    /// `{"jobs": [...], "errors": []}`, each record with at least `job_id` and `state.current`
    /// (22.05: numbers plain and the state a string; later versions' `{"set", "number"}` numbers
    /// and state lists read too). Slurm's error 9003, "Nothing found with query" (22.05 says so
    /// when no record is in the window), is an empty list. Throws `MalformedReply` naming
    /// `source` when the reply is not that; records of array tasks are read under their own
    /// `job_id`, as squeue lists them.
    public static func runs(_ data: Data, source: String) throws(MalformedReply) -> [AccountedRun] {
        let list = try topLevelList(data, key: "jobs", source: source, command: "sacct --json", harmless: [9003])
        var runs: [AccountedRun] = []
        for (index, element) in list.enumerated() {
            let (record, id) = try jobRecord(element, index: index, source: source)
            guard let state = states((record["state"] as? [String: Any])?["current"]).first else {
                throw MalformedReply(source: source, message: "job \(id) (jobs[\(index)]) has no state.current (a string, such as \"COMPLETED\")")
            }
            let time = record["time"] as? [String: Any] ?? [:]
            let tres = record["tres"] as? [String: Any] ?? [:]
            func gpus(_ list: String) -> Int? {
                (tres[list] as? [Any])?.compactMap { $0 as? [String: Any] }
                    .first { string($0["type"]) == "gres" && string($0["name"]) == "gpu" }
                    .flatMap { integer($0["count"]) }.map { Int($0) }
            }
            var run = AccountedRun(id: Int(id), state: state.uppercased(), submit: moment(time["submission"]),
                                   eligible: moment(time["eligible"]), start: moment(time["start"]), end: moment(time["end"]),
                                   gpus: gpus("allocated") ?? gpus("requested") ?? 0,
                                   nodeCount: integer(record["allocation_nodes"]).map { max(1, Int($0)) } ?? 1,
                                   nodes: string(record["nodes"]) ?? "", partition: string(record["partition"]) ?? "",
                                   qos: string(record["qos"]) ?? "", user: string(record["user"]) ?? "")
            // time.limit is in minutes; null, or Slurm's INFINITE / NO_VAL, is no limit.
            if let minutes = integer(time["limit"]), minutes > 0, minutes < 4_294_967_294 { run.timeLimit = minutes * 60 }
            run.priority = integer(record["priority"])
            // A record that never ran lists "None assigned" as its nodes.
            if run.start == nil { run.nodes = "" }
            runs.append(run)
        }
        return runs.sorted { ($0.id, $0.submit ?? 0, $0.start ?? 0) < ($1.id, $1.submit ?? 0, $1.start ?? 0) }
    }
}
