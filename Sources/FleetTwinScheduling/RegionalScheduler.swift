import FleetTwinEngine
import FleetTwinFleet

/// The scheduler of one region: routes placements and releases to its cluster schedulers.
/// Region-level policy (balancing load across its clusters) belongs here as it arrives.
public actor RegionalScheduler {
    public nonisolated let index: Int32
    public nonisolated let name: String
    /// This region's clusters, and the global index of the first of them.
    public nonisolated let clusters: [ClusterScheduler]
    public nonisolated let firstCluster: Int32
    private nonisolated let executor: SimulationExecutor
    public nonisolated var unownedExecutor: UnownedSerialExecutor { executor.asUnownedSerialExecutor() }

    public init(index: Int32, name: String, clusters: [ClusterScheduler], firstCluster: Int32, executor: SimulationExecutor) {
        self.index = index
        self.name = name
        self.clusters = clusters
        self.firstCluster = firstCluster
        self.executor = executor
    }

    private func local(_ cluster: Int32) -> ClusterScheduler { clusters[Int(cluster - firstCluster)] }

    /// `ClusterScheduler.place(_:count:rule:group:)` on `cluster`.
    public func place(_ job: JobIndex, cluster: Int32, count: Int, rule: PlacementRule, group: Int = 1) async throws -> (Placement, CapacitySummary) {
        try await local(cluster).place(job, count: count, rule: rule, group: group)
    }

    public func place(_ job: JobIndex, cluster: Int32, shares: [NodeShare]) async throws -> (Placement, CapacitySummary) {
        try await local(cluster).place(job, shares: shares)
    }

    public func release(_ job: JobIndex, from placement: Placement) async throws -> CapacitySummary {
        try await local(placement.cluster).release(job, from: placement)
    }
}
