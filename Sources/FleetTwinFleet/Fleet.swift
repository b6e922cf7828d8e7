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

/// One cluster: identical nodes of `acceleratorsPerNode` accelerators of one type, each node
/// with `cpusPerNode` CPU cores and `memoryGiBPerNode` GiB of host memory. Only
/// resource-sensitive policies (`synergy`) read the CPUs and memory; the defaults, 3 cores
/// and 62.5 GiB per accelerator, are the server Synergy's paper (OSDI'22) evaluates with
/// (8 GPUs, 24 cores, 500 GB).
public struct ClusterSpec: Sendable, Equatable {
    public var name: String
    public var nodes: Int
    public var acceleratorsPerNode: Int
    public var acceleratorType: String
    /// CPU cores of one node.
    public var cpusPerNode: Int
    /// Host memory of one node, GiB.
    public var memoryGiBPerNode: Double

    /// Default CPU cores and host memory (GiB) per accelerator when a fleet names none.
    public static let defaultCPUsPerAccelerator = 3
    public static let defaultMemoryGiBPerAccelerator = 62.5

    public init(name: String, nodes: Int, acceleratorsPerNode: Int, acceleratorType: String,
                cpusPerNode: Int? = nil, memoryGiBPerNode: Double? = nil) {
        self.name = name
        self.nodes = nodes
        self.acceleratorsPerNode = acceleratorsPerNode
        self.acceleratorType = acceleratorType
        self.cpusPerNode = cpusPerNode ?? Self.defaultCPUsPerAccelerator * acceleratorsPerNode
        self.memoryGiBPerNode = memoryGiBPerNode ?? Self.defaultMemoryGiBPerAccelerator * Double(acceleratorsPerNode)
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

/// A job's host-resource profile for resource-sensitive scheduling (Synergy, OSDI'22,
/// msr-fiddle/synergy `simulator/resources/workload.py::add_synergy_profile`): the CPU cores
/// and host memory (GiB) it wants per accelerator, and its speedup when it gets them over
/// its speed at the GPU-proportional (fair) share, which is node size / accelerators per node.
/// A job without a profile wants the fair share and runs at speedup 1.
public struct ResourceProfile: Sendable, Equatable {
    public var cpusPerAccelerator: Double
    public var memoryGiBPerAccelerator: Double
    /// Speedup at the ideal demand over the fair share (> 0).
    public var speedup: Double

    public init(cpusPerAccelerator: Double, memoryGiBPerAccelerator: Double, speedup: Double) {
        self.cpusPerAccelerator = cpusPerAccelerator
        self.memoryGiBPerAccelerator = memoryGiBPerAccelerator
        self.speedup = speedup
    }

    /// The job's demand for `gpus` accelerators on servers of `cpusPerNode` cores, `memoryPerNode`
    /// GiB and `gpusPerNode` accelerators, as Synergy's `add_synergy_profile` sets it: each
    /// resource's ideal (gpus x per-accelerator demand) is capped at one server; a capped
    /// demand's speedup is interpolated linearly in CPUs between the fair share (speedup 1) and
    /// the ideal; a job larger than a server wants the fair share, at speedup 1.
    /// Returns (CPUs, GiB, speedup at that demand).
    public func demand(gpus: Int, cpusPerNode: Double, memoryPerNode: Double, gpusPerNode: Int) -> (cpus: Double, memory: Double, speedup: Double) {
        let g = Double(gpus), fairCPU = g * cpusPerNode / Double(gpusPerNode), fairMemory = g * memoryPerNode / Double(gpusPerNode)
        let idealCPU = g * cpusPerAccelerator, idealMemory = g * memoryGiBPerAccelerator
        var cpus = idealCPU, memory = idealMemory, speed = speedup, capped = false
        if idealCPU > cpusPerNode {
            cpus = cpusPerNode
            capped = true
            if gpus > gpusPerNode { cpus = fairCPU; speed = 1; capped = false }
        }
        if idealMemory > memoryPerNode {
            memory = memoryPerNode
            capped = true
            if gpus > gpusPerNode { memory = fairMemory; speed = 1; capped = false }
        }
        // Synergy fits the line on CPUs only; a cap on memory alone leaves the CPU at its
        // ideal, so the line gives the full speedup back (and its code refuses ideal == fair).
        if capped, idealCPU != fairCPU {
            speed = 1 + (speedup - 1) / (idealCPU - fairCPU) * (cpus - fairCPU)
        }
        return (cpus, memory, speed)
    }
}
