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
    /// Clusters of each accelerator type, in declaration order.
    private let clustersOfType: [[Int32]]

    public init(clusters: [ClusterEntry], typeNames: [String]) {
        self.clusters = clusters
        self.typeNames = typeNames
        var byType = Array(repeating: [Int32](), count: typeNames.count)
        for (i, c) in clusters.enumerated() { byType[Int(c.acceleratorType)].append(Int32(i)) }
        clustersOfType = byType
    }

    public func clusters(ofType type: Int32) -> [Int32] { clustersOfType[Int(type)] }

    /// The first cluster, in declaration order, of one of `types` where `count` accelerators
    /// fit under `rule` now.
    public func firstFit(_ count: Int, types: TypeSet, rule: PlacementRule) -> Int32? {
        if let type = types.single {
            for c in clustersOfType[Int(type)] where clusters[Int(c)].free.fits(count, rule: rule) { return c }
            return nil
        }
        for (i, c) in clusters.enumerated() where types.contains(c.acceleratorType) && c.free.fits(count, rule: rule) {
            return Int32(i)
        }
        return nil
    }

    mutating func update(cluster: Int32, free: CapacitySummary) {
        clusters[Int(cluster)].free = free
    }
}
