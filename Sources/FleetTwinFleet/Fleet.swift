import FleetTwinCostModel

/// FleetTwinFleet owns the physical fleet: regions > clusters > nodes > accelerators, the
/// accelerator profiles (the H100 one measured, see `AcceleratorProfile+Calibration`),
/// the network bandwidths between levels, and the per-cluster free-capacity index that
/// placement runs against (`ClusterCapacity`). Nodes and accelerators are actors that
/// hold the authoritative assignment of accelerators to jobs.
public enum FleetTwinFleet {}

/// A job's identity inside one simulation: a dense index, so per-job state lives in arrays.
public typealias JobIndex = Int32

/// Bandwidths in bytes per second between the levels of the fleet, plus blob storage, and
/// how data-parallel jobs synchronise their gradients over the fleet's links.
public struct NetworkSpec: Sendable, Equatable {
    public var intraNode: Double
    public var intraCluster: Double
    public var crossCluster: Double
    public var crossRegion: Double
    public var blobStore: Double
    /// Per-step gradient all-reduce of multi-accelerator model-shaped jobs over the links
    /// of each accelerator type's `Interconnect`; nil: replicas scale perfectly (the
    /// scenario's `communication: false`, or `--no-communication`).
    public var communication: CommunicationModel? = .standard

    public init(intraNode: Double, intraCluster: Double, crossCluster: Double, crossRegion: Double, blobStore: Double,
                communication: CommunicationModel? = .standard) {
        self.intraNode = intraNode
        self.intraCluster = intraCluster
        self.crossCluster = crossCluster
        self.crossRegion = crossRegion
        self.blobStore = blobStore
        self.communication = communication
    }

    /// NVLink-class inside a node, 400 Gb/s InfiniBand inside a cluster, 100 Gb/s between
    /// clusters, 25 Gb/s between regions, 10 GB/s to blob storage.
    public static let defaults = NetworkSpec(
        intraNode: 450e9, intraCluster: 50e9, crossCluster: 12.5e9, crossRegion: 3.125e9, blobStore: 10e9)
}

public struct ClusterSpec: Sendable, Equatable {
    public var name: String
    public var nodes: Int
    public var acceleratorsPerNode: Int
    public var acceleratorType: String

    public init(name: String, nodes: Int, acceleratorsPerNode: Int, acceleratorType: String) {
        self.name = name
        self.nodes = nodes
        self.acceleratorsPerNode = acceleratorsPerNode
        self.acceleratorType = acceleratorType
    }

    public var accelerators: Int { nodes * acceleratorsPerNode }
}

public struct RegionSpec: Sendable, Equatable {
    public var name: String
    public var clusters: [ClusterSpec]

    public init(name: String, clusters: [ClusterSpec]) {
        self.name = name
        self.clusters = clusters
    }
}

/// The whole fleet as declared: the shape the simulation instantiates actors from.
public struct FleetSpec: Sendable, Equatable {
    public var regions: [RegionSpec]
    public var network: NetworkSpec
    /// Every accelerator type a cluster may name, in declaration order.
    public var profiles: [AcceleratorProfile]

    public init(regions: [RegionSpec], network: NetworkSpec = .defaults, profiles: [AcceleratorProfile]) {
        self.regions = regions
        self.network = network
        self.profiles = profiles
    }

    public var clusters: [ClusterSpec] { regions.flatMap(\.clusters) }
    public var totalAccelerators: Int { clusters.reduce(0) { $0 + $1.accelerators } }

    public func profile(named name: String) -> AcceleratorProfile? {
        profiles.first { $0.name == name }
    }

    /// Accelerators of `type` in the largest single cluster: the biggest gang that can ever run.
    public func largestCluster(ofType type: String) -> Int {
        clusters.filter { $0.acceleratorType == type }.map(\.accelerators).max() ?? 0
    }
}
