import FleetTwinEngine
import FleetTwinFleet

/// What happened to a job. Raw values are part of the stored event-log format.
public enum EventKind: UInt8, Sendable, CaseIterable {
    case submitted = 0
    case started = 1
    case completed = 2
    case preempted = 3
    case migrated = 4
    case resized = 5

    public var name: String { String(describing: self) }
}

/// One line of the event log: compact, fixed-size, and the input of every metric.
public struct EventRecord: Sendable, Equatable {
    public var time: VirtualTime
    public var job: JobIndex
    /// Global cluster index, or -1 when the event has none (submission).
    public var cluster: Int32
    /// Accelerators the job holds after a start, or held before a stop or completion.
    public var accelerators: Int32
    public var kind: EventKind

    public init(time: VirtualTime, kind: EventKind, job: JobIndex, cluster: Int32 = -1, accelerators: Int32 = 0) {
        self.time = time
        self.kind = kind
        self.job = job
        self.cluster = cluster
        self.accelerators = accelerators
    }
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
    }

    /// FNV-1a over every record's fields in order: equal hashes mean equal logs.
    public var hash: String { hasher.hex }
}
