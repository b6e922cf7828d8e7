import FleetTwinEngine

/// One machine: a fixed set of accelerators of one type. The node chooses which of its
/// accelerators a job gets and binds each of them; it is the authority on what it runs.
public actor Node {
    public nonisolated let id: Int32
    public nonisolated let accelerators: [Accelerator]
    private nonisolated let executor: SimulationExecutor
    /// The job bound to each local accelerator slot (-1 when free).
    private var holders: [JobIndex]

    public nonisolated var unownedExecutor: UnownedSerialExecutor { executor.asUnownedSerialExecutor() }

    public init(id: Int32, firstAccelerator: Int32, count: Int, profile: AcceleratorProfile, executor: SimulationExecutor) {
        self.id = id
        self.executor = executor
        self.holders = Array(repeating: -1, count: count)
        self.accelerators = (0..<Int32(count)).map {
            Accelerator(id: firstAccelerator + $0, profile: profile, executor: executor)
        }
    }

    public var freeCount: Int { holders.reduce(0) { $1 < 0 ? $0 + 1 : $0 } }

    /// Binds `count` free accelerators (lowest slots first) to `job`.
    public func bind(_ job: JobIndex, count: Int) async throws(AllocationError) {
        var bound = 0
        for slot in holders.indices where holders[slot] < 0 {
            try await accelerators[slot].assign(to: job)
            holders[slot] = job
            bound += 1
            if bound == count { return }
        }
        throw AllocationError.insufficient(node: id, wanted: count, bound: bound)
    }

    /// Frees `count` of the accelerators bound to `job`, highest slots first.
    public func release(_ job: JobIndex, count: Int) async throws(AllocationError) {
        var freed = 0
        for slot in holders.indices.reversed() where holders[slot] == job && freed < count {
            try await accelerators[slot].release(from: job)
            holders[slot] = -1
            freed += 1
        }
        guard freed == count else { throw AllocationError.insufficient(node: id, wanted: count, bound: freed) }
    }

    /// Hands `count` of the accelerators bound to `job` to `successor`, which already ran on
    /// them beside it (co-location): the same slots, never free in between.
    public func transfer(_ job: JobIndex, to successor: JobIndex, count: Int) async throws(AllocationError) {
        var moved = 0
        for slot in holders.indices where holders[slot] == job && moved < count {
            try await accelerators[slot].release(from: job)
            try await accelerators[slot].assign(to: successor)
            holders[slot] = successor
            moved += 1
        }
        guard moved == count else { throw AllocationError.insufficient(node: id, wanted: count, bound: moved) }
    }

    /// The node's view of its slots, for invariant checks.
    public var bindings: [JobIndex] { holders }
}

/// One accelerator. It refuses to be bound twice: the last line of defence against a
/// placement bug silently oversubscribing the fleet.
public actor Accelerator {
    public nonisolated let id: Int32
    public nonisolated let profile: AcceleratorProfile
    private nonisolated let executor: SimulationExecutor
    public private(set) var holder: JobIndex = -1
    public nonisolated var unownedExecutor: UnownedSerialExecutor { executor.asUnownedSerialExecutor() }

    public init(id: Int32, profile: AcceleratorProfile, executor: SimulationExecutor) {
        self.id = id
        self.profile = profile
        self.executor = executor
    }

    public func assign(to job: JobIndex) throws(AllocationError) {
        guard holder < 0 else { throw .doubleAllocation(accelerator: id, holder: holder, requester: job) }
        holder = job
    }

    public func release(from job: JobIndex) throws(AllocationError) {
        guard holder == job else { throw .notHeld(accelerator: id, holder: holder, releaser: job) }
        holder = -1
    }
}

public enum AllocationError: Error, Equatable, CustomStringConvertible {
    case doubleAllocation(accelerator: Int32, holder: JobIndex, requester: JobIndex)
    case notHeld(accelerator: Int32, holder: JobIndex, releaser: JobIndex)
    case insufficient(node: Int32, wanted: Int, bound: Int)

    public var description: String {
        switch self {
        case let .doubleAllocation(a, h, r): "accelerator \(a) is held by job \(h); job \(r) asked for it too"
        case let .notHeld(a, h, r): "job \(r) released accelerator \(a), which job \(h) holds"
        case let .insufficient(n, w, b): "node \(n) had \(b) free accelerators, \(w) were placed on it"
        }
    }
}
