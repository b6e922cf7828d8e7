import FleetTwinEngine
import FleetTwinFleet

/// Service-level tiers, highest first. Lower tiers are shrunk or preempted first.
public enum SLATier: String, Sendable, CaseIterable, Comparable {
    case premium, standard, basic

    public var rank: Int {
        switch self {
        case .premium: 0
        case .standard: 1
        case .basic: 2
        }
    }

    public static func < (a: SLATier, b: SLATier) -> Bool { a.rank < b.rank }
}

/// A job as submitted: what it asks for and how much work it carries.
public struct JobSpec: Sendable, Equatable {
    /// The name users know it by (from the scenario or trace); unique within a run.
    public var name: String
    public var submit: VirtualTime
    public var tier: SLATier
    /// Data-parallel replicas (accelerators wanted at full size).
    public var worldSize: Int
    public var acceleratorType: String
    /// Time to finish uninterrupted at full size on an accelerator of relative speed 1.0.
    public var work: VirtualTime
    /// Mini-batches, when the work was given as steps x step time.
    public var steps: Int64?
    public var stateBytes: Int64
    public var memoryPerReplicaBytes: Int64

    public init(
        name: String, submit: VirtualTime, tier: SLATier, worldSize: Int, acceleratorType: String,
        work: VirtualTime, steps: Int64? = nil, stateBytes: Int64 = 0, memoryPerReplicaBytes: Int64 = 0
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
