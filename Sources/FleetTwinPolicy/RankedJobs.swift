import FleetTwinFleet

/// A priority order over jobs: lexicographic keys, smaller first, ties broken by job index.
public struct PriorityKey: Comparable, Sendable {
    public var major: Int64
    public var minor: Int64
    public var job: JobIndex

    public init(_ major: Int64, _ minor: Int64, job: JobIndex) {
        self.major = major
        self.minor = minor
        self.job = job
    }

    public static func < (a: PriorityKey, b: PriorityKey) -> Bool {
        (a.major, a.minor, a.job) < (b.major, b.minor, b.job)
    }
}

/// Jobs kept sorted by `PriorityKey` in a contiguous array: binary search to insert and
/// remove, so a policy never re-sorts or rescans its queue on an event.
public struct RankedJobs: Sendable {
    public private(set) var keys: [PriorityKey] = []

    public init() {}

    public var count: Int { keys.count }
    public var isEmpty: Bool { keys.isEmpty }
    public var first: PriorityKey? { keys.first }
    public var last: PriorityKey? { keys.last }

    public mutating func insert(_ key: PriorityKey) {
        keys.insert(key, at: position(of: key))
    }

    public mutating func remove(_ key: PriorityKey) {
        let i = position(of: key)
        precondition(i < keys.count && keys[i] == key, "removing job \(key.job), which is not ranked under that key")
        keys.remove(at: i)
    }

    private func position(of key: PriorityKey) -> Int { keys.partitionPoint { $0 < key } }
}
