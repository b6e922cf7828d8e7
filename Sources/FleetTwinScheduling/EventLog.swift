import FleetTwinEngine
import FleetTwinFleet

/// What happened to a job or a node. Raw values are part of the stored event-log format:
/// append, never renumber.
public enum EventKind: UInt8, Sendable, CaseIterable {
    case submitted = 0
    case started = 1
    case completed = 2
    case preempted = 3
    case migrated = 4
    case resized = 5
    /// A stopped job's (or a migration's source, or a shrink's) accelerators are free again.
    case released = 6
    /// A periodic checkpoint paused the job while its state was dumped.
    case checkpointed = 7
    /// Its accelerators failed: all released, work since the last checkpoint lost
    /// (`overhead`); `progress` takes back what cuts had banked since then.
    case failed = 8
    /// Its accelerators changed speed (degraded or recovered): `progress` banked so far.
    case rerated = 9
    /// Node events carry the node's index within its cluster in `job` (`EventRecord.node`),
    /// the global cluster index in `cluster` and the node's accelerators in `accelerators`.
    /// They are logged only when the node's service state changes: a node already down (an
    /// outage on a failed node, say) logs no second down, and it is repaired once, when the
    /// last cause of its downtime ends.
    /// A random node or accelerator failure took the node out of service.
    case nodeFailed = 10
    /// An outage (scheduled or random) took the node out of service.
    case nodeOutage = 11
    /// The node is back in service.
    case nodeRepaired = 12
    /// A policy killed the job and queued it again (a batch scheduler's requeue): like
    /// `failed`, all its accelerators are released and the work since its last checkpoint is
    /// lost (`overhead`, with `progress` taking back what cuts had banked since then).
    case requeued = 13
    /// The policy declined the waiting job (admission control): it never runs, and it is
    /// finished by that decision (`SchedulingDecision.decline`).
    case declined = 14
    /// A peer simulator's per-event overhead paused the running job on its devices
    /// (`RestartCost.elasticFlowEvents`): `progress` banked so far, `overhead` the pause.
    case paused = 15
    /// The job ran on accelerators another job held (`SchedulingDecision.colocate`), and that
    /// job left: it holds them now (`accelerators`), on the same devices, with no pause.
    case tookOver = 16

    public var name: String { String(describing: self) }

    /// Whether the record is about a node rather than a job.
    public var isNodeEvent: Bool { self == .nodeFailed || self == .nodeOutage || self == .nodeRepaired }
}

/// One line of the event log: compact, fixed-size, and the input of every metric.
///
/// `accelerators`: started - devices taken (0 for a job started on another's, `colocate`);
/// tookOver - devices it now holds; completed, preempted, migrated - devices of the
/// run that ends; resized - the new device count; released - devices freed.
/// `progress`: full-size work (µs) banked by the segment that ends here (completed,
/// preempted, migrated, resized, checkpointed, paused).
/// `overhead`: time (µs) the job spends in a mechanism without progressing: the restore,
/// transfer or copy before a start or resize, the dump of a stop or checkpoint.
/// Node events (`EventKind.isNodeEvent`) name a node instead of a job: see `node`.
public struct EventRecord: Sendable, Equatable {
    public var time: VirtualTime
    public var job: JobIndex
    /// Global cluster index, or -1 when the event has none (submission).
    public var cluster: Int32
    public var accelerators: Int32
    public var kind: EventKind
    public var progress: Int64
    public var overhead: Int64

    public init(time: VirtualTime, kind: EventKind, job: JobIndex, cluster: Int32 = -1, accelerators: Int32 = 0,
                progress: Int64 = 0, overhead: Int64 = 0) {
        self.time = time
        self.kind = kind
        self.job = job
        self.cluster = cluster
        self.accelerators = accelerators
        self.progress = progress
        self.overhead = overhead
    }

    /// A node event: `node` is the node's index within global cluster `cluster`.
    public init(time: VirtualTime, kind: EventKind, node: Int32, cluster: Int32, accelerators: Int32) {
        precondition(kind.isNodeEvent, "a job event needs a job")
        self.init(time: time, kind: kind, job: node, cluster: cluster, accelerators: accelerators)
    }

    /// The node's index within its cluster, for node events.
    public var node: Int32? { kind.isNodeEvent ? job : nil }
}

/// The ordered event log of a run and its running fingerprint.
public struct EventLog: Sendable {
    public private(set) var records: [EventRecord] = []
    private var hasher = StableHasher()

    public init() {}

    public mutating func append(_ record: EventRecord) {
        records.append(record)
        hasher.combine(record.time.microseconds)
        hasher.combine(UInt64(record.kind.rawValue) | UInt64(UInt32(bitPattern: record.job)) << 8)
        hasher.combine(UInt64(UInt32(bitPattern: record.cluster)) | UInt64(UInt32(bitPattern: record.accelerators)) << 32)
        // Most records carry neither; skipping zeros keeps FIFO-only logs cheap to hash
        // without making different logs collide (the kind already tells which may be set).
        if record.progress != 0 || record.overhead != 0 {
            hasher.combine(record.progress)
            hasher.combine(record.overhead)
        }
    }

    /// FNV-1a over every record's fields in order: equal hashes mean equal logs.
    public var hash: String { hasher.hex }
}
