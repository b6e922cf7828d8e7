import FleetTwinEngine
import FleetTwinFleet

/// The scheduler's exact, synchronous picture of free capacity: one node-level
/// `ClusterCapacity` per cluster, mirrored from every placement, release, failure and repair
/// the hierarchy carries out. Policies filter and score clusters against it, and ask what a
/// cluster would offer once some placements were released, without a round trip through the
/// hierarchy. Only the scheduler changes it (`package` mutators).
public struct FleetView: Sendable {
    public struct ClusterEntry: Sendable {
        public var name: String
        public var region: Int32
        public var acceleratorType: Int32
        public var capacity: Int
        /// The free capacity now (the summary of `nodes`).
        public var free: CapacitySummary
        /// Free accelerators per node.
        public fileprivate(set) var nodes: ClusterCapacity
        /// CPU cores and host memory (GiB) of each node (`ClusterSpec`), for resource-sensitive
        /// policies (`synergy`); 0 when the view was built without them.
        public var cpusPerNode: Double
        public var memoryGiBPerNode: Double

        public init(name: String, region: Int32, acceleratorType: Int32, nodes: ClusterCapacity,
                    cpusPerNode: Double = 0, memoryGiBPerNode: Double = 0) {
            self.cpusPerNode = cpusPerNode
            self.memoryGiBPerNode = memoryGiBPerNode
            self.name = name
            self.region = region
            self.acceleratorType = acceleratorType
            self.capacity = nodes.capacity
            self.nodes = nodes
            self.free = nodes.summary
        }
    }

    public private(set) var clusters: [ClusterEntry]
    public let typeNames: [String]
    /// Device memory of each type, for checking whether time-sliced replicas fit.
    public let typeMemory: [Int64]
    /// Relative speed of each accelerator type (the fleet profile's), by type index.
    public let typeSpeeds: [Double]
    /// Tenants (users or virtual clusters) by the dense index `PendingJob.tenant` carries.
    public let tenantNames: [String]
    /// Partitions and QOS by the dense indices `PendingJob.partition` and `.qos` carry, in
    /// order of first appearance among the run's jobs.
    public let partitionNames: [String]
    public let qosNames: [String]
    /// Clusters of each accelerator type, in declaration order.
    private let clustersOfType: [[Int32]]

    public init(clusters: [ClusterEntry], typeNames: [String], typeMemory: [Int64], typeSpeeds: [Double] = [],
                tenantNames: [String] = [], partitionNames: [String] = [], qosNames: [String] = []) {
        self.partitionNames = partitionNames
        self.qosNames = qosNames
        self.typeSpeeds = typeSpeeds
        self.clusters = clusters
        self.typeNames = typeNames
        self.typeMemory = typeMemory
        self.tenantNames = tenantNames
        var byType = Array(repeating: [Int32](), count: typeNames.count)
        for (i, c) in clusters.enumerated() { byType[Int(c.acceleratorType)].append(Int32(i)) }
        clustersOfType = byType
    }

    public func clusters(ofType type: Int32) -> [Int32] { clustersOfType[Int(type)] }

    /// The clusters of any of `types`, in declaration order.
    public func clusters(of types: TypeSet) -> [Int32] {
        if let type = types.single { return clustersOfType[Int(type)] }
        return clusters.indices.filter { types.contains(clusters[$0].acceleratorType) }.map(Int32.init)
    }

    /// The first cluster, in declaration order, of one of `types` where `count` accelerators
    /// fit under `rule` now, in whole groups of `group` per node.
    public func firstFit(_ count: Int, types: TypeSet, rule: PlacementRule, group: Int = 1, excluding excluded: Int32 = -1) -> Int32? {
        if let type = types.single {
            for c in clustersOfType[Int(type)] where c != excluded && clusters[Int(c)].free.fits(count, rule: rule, group: group) { return c }
            return nil
        }
        for (i, c) in clusters.enumerated() where Int32(i) != excluded && types.contains(c.acceleratorType)
            && c.free.fits(count, rule: rule, group: group) {
            return Int32(i)
        }
        return nil
    }

    /// A scratch copy of `cluster`'s free capacity to add releases to (what-ifs in a loop).
    public func whatIf(_ cluster: Int32) -> CapacityWhatIf { clusters[Int(cluster)].nodes.whatIf() }

    /// Per region, how many partitions currently cut it off from the other regions.
    public private(set) var isolation: [Int] = []

    /// Whether a job may migrate between the two clusters: not across a network partition.
    public func canMigrate(from source: Int32, to destination: Int32) -> Bool {
        let a = Int(clusters[Int(source)].region), b = Int(clusters[Int(destination)].region)
        return a == b || isolation.isEmpty || (isolation[a] == 0 && isolation[b] == 0)
    }

    /// Whether `job`'s replicas fit on `devices` accelerators of `cluster` when time-sliced:
    /// parameters and optimizer state once per device, gradients and activations per replica.
    public func fitsSliced(_ job: PendingJob, devices: Int, cluster: Int32) -> Bool {
        // Batch inference and elastic jobs keep one replica per device whatever the count.
        guard devices >= 1, job.memoryPerReplicaBytes > 0, !job.splitsRequests, job.speedup.isEmpty else { return devices >= 1 }
        let perDevice = (job.worldSize + devices - 1) / devices
        // Saturating: many replicas of a huge one exceed 64 bits, and then surely the memory.
        let needed = job.memoryPerReplicaBytes.saturatingAdding(
            Int64(perDevice - 1).saturatingMultiplied(by: max(0, job.memoryPerReplicaBytes - job.stateBytes)))
        return needed <= typeMemory[Int(clusters[Int(cluster)].acceleratorType)]
    }

    // MARK: Kept current by the scheduler

    package mutating func isolate(_ region: Int32, by change: Int, regions: Int) {
        if isolation.isEmpty { isolation = Array(repeating: 0, count: regions) }
        isolation[Int(region)] += change
    }

    /// The hierarchy placed these accelerators in `cluster`.
    package mutating func take(_ shares: [NodeShare], in cluster: Int32) {
        clusters[Int(cluster)].nodes.take(shares)
        clusters[Int(cluster)].free = clusters[Int(cluster)].nodes.summary
    }

    /// The hierarchy released these accelerators of `cluster`.
    package mutating func release(_ shares: [NodeShare], in cluster: Int32) {
        clusters[Int(cluster)].nodes.release(shares)
        clusters[Int(cluster)].free = clusters[Int(cluster)].nodes.summary
    }

    package mutating func markDown(node: Int, in cluster: Int32) {
        clusters[Int(cluster)].nodes.markDown(node)
        clusters[Int(cluster)].free = clusters[Int(cluster)].nodes.summary
    }

    package mutating func markUp(node: Int, in cluster: Int32) {
        clusters[Int(cluster)].nodes.markUp(node)
        clusters[Int(cluster)].free = clusters[Int(cluster)].nodes.summary
    }
}
