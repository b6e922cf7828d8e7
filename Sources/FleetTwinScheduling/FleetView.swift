import FleetTwinFleet

/// The scheduler's exact, synchronous picture of free capacity: one `CapacitySummary` per
/// cluster, refreshed from every placement and release. Policies filter and score clusters
/// against it without a round trip through the hierarchy.
public struct FleetView: Sendable {
    public struct ClusterEntry: Sendable {
        public var name: String
        public var region: Int32
        public var acceleratorType: Int32
        public var capacity: Int
        public var free: CapacitySummary
    }

    public private(set) var clusters: [ClusterEntry]
    public let typeNames: [String]
    /// Device memory of each type, for checking whether time-sliced replicas fit.
    public let typeMemory: [Int64]
    /// Clusters of each accelerator type, in declaration order.
    private let clustersOfType: [[Int32]]

    public init(clusters: [ClusterEntry], typeNames: [String], typeMemory: [Int64]) {
        self.clusters = clusters
        self.typeNames = typeNames
        self.typeMemory = typeMemory
        var byType = Array(repeating: [Int32](), count: typeNames.count)
        for (i, c) in clusters.enumerated() { byType[Int(c.acceleratorType)].append(Int32(i)) }
        clustersOfType = byType
    }

    public func clusters(ofType type: Int32) -> [Int32] { clustersOfType[Int(type)] }

    /// The first cluster, in declaration order, of one of `types` where `count` accelerators
    /// fit under `rule` now.
    public func firstFit(_ count: Int, types: TypeSet, rule: PlacementRule, excluding excluded: Int32 = -1) -> Int32? {
        if let type = types.single {
            for c in clustersOfType[Int(type)] where c != excluded && clusters[Int(c)].free.fits(count, rule: rule) { return c }
            return nil
        }
        for (i, c) in clusters.enumerated() where Int32(i) != excluded && types.contains(c.acceleratorType) && c.free.fits(count, rule: rule) {
            return Int32(i)
        }
        return nil
    }

    /// Per region, how many partitions currently cut it off from the other regions.
    public private(set) var isolation: [Int] = []

    /// Whether a job may migrate between the two clusters: not across a network partition.
    public func canMigrate(from source: Int32, to destination: Int32) -> Bool {
        let a = Int(clusters[Int(source)].region), b = Int(clusters[Int(destination)].region)
        return a == b || isolation.isEmpty || (isolation[a] == 0 && isolation[b] == 0)
    }

    mutating func isolate(_ region: Int32, by change: Int, regions: Int) {
        if isolation.isEmpty { isolation = Array(repeating: 0, count: regions) }
        isolation[Int(region)] += change
    }

    /// Whether `job`'s replicas fit on `devices` accelerators of `cluster` when time-sliced:
    /// parameters and optimizer state once per device, gradients and activations per replica.
    public func fitsSliced(_ job: PendingJob, devices: Int, cluster: Int32) -> Bool {
        guard devices >= 1, job.memoryPerReplicaBytes > 0 else { return devices >= 1 }
        let perDevice = (job.worldSize + devices - 1) / devices
        let needed = job.memoryPerReplicaBytes + Int64(perDevice - 1) * max(0, job.memoryPerReplicaBytes - job.stateBytes)
        return needed <= typeMemory[Int(clusters[Int(cluster)].acceleratorType)]
    }

    mutating func update(cluster: Int32, free: CapacitySummary) {
        clusters[Int(cluster)].free = free
    }
}
