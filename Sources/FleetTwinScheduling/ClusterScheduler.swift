import FleetTwinEngine
import FleetTwinFleet

/// The scheduler of one cluster: owns its nodes and its free-capacity index, chooses nodes
/// for a gang (reserve) and binds the accelerators on them (bind).
public actor ClusterScheduler {
    public nonisolated let index: Int32
    public nonisolated let region: Int32
    public nonisolated let spec: ClusterSpec
    public nonisolated let nodes: [Node]
    public nonisolated let firstAccelerator: Int32
    private nonisolated let executor: SimulationExecutor
    public nonisolated var unownedExecutor: UnownedSerialExecutor { executor.asUnownedSerialExecutor() }
    private var capacity: ClusterCapacity

    public init(
        index: Int32, region: Int32, spec: ClusterSpec, profile: AcceleratorProfile,
        firstNode: Int32, firstAccelerator: Int32, executor: SimulationExecutor
    ) {
        self.index = index
        self.region = region
        self.spec = spec
        self.firstAccelerator = firstAccelerator
        self.executor = executor
        self.capacity = ClusterCapacity(nodes: spec.nodes, acceleratorsPerNode: spec.acceleratorsPerNode)
        self.nodes = (0..<spec.nodes).map { n in
            Node(id: firstNode + Int32(n),
                 firstAccelerator: firstAccelerator + Int32(n * spec.acceleratorsPerNode),
                 count: spec.acceleratorsPerNode, profile: profile, executor: executor)
        }
    }

    public var summary: CapacitySummary { capacity.summary }

    /// Reserves nodes for `count` accelerators, in whole groups of `group` on each node (a
    /// tensor-parallel job's tensor groups), and binds them to `job`.
    public func place(_ job: JobIndex, count: Int, rule: PlacementRule, group: Int = 1) async throws -> (Placement, CapacitySummary) {
        guard let shares = capacity.reserve(count, rule: rule, group: group) else {
            throw SimulationError.placementFailed(job: job, cluster: spec.name, accelerators: count)
        }
        for share in shares {
            try await nodes[Int(share.node)].bind(job, count: Int(share.count))
        }
        let placement = Placement(region: region, cluster: index, shares: shares)
        return (placement, capacity.summary)
    }

    /// Binds `job` to exactly `shares` (a policy that chooses nodes itself), or throws when a
    /// node lacks that many free accelerators.
    public func place(_ job: JobIndex, shares: [NodeShare]) async throws -> (Placement, CapacitySummary) {
        var wanted: [Int] = Array(repeating: 0, count: capacity.nodeCount)
        for share in shares {
            guard share.node >= 0, Int(share.node) < capacity.nodeCount, share.count > 0 else {
                throw SimulationError.invalidDecision("job \(job): node \(share.node) x \(share.count) is not a node share of cluster \(spec.name)")
            }
            wanted[Int(share.node)] += Int(share.count)
        }
        for (node, count) in wanted.enumerated() where count > capacity.freeOnNode[node] || (count > 0 && capacity.isDown[node]) {
            throw SimulationError.invalidDecision("job \(job) asks for \(count) accelerators of node \(node) of cluster \(spec.name), which has \(capacity.freeOnNode[node]) free")
        }
        capacity.take(shares)
        for share in shares {
            try await nodes[Int(share.node)].bind(job, count: Int(share.count))
        }
        return (Placement(region: region, cluster: index, shares: shares), capacity.summary)
    }

    /// Unbinds `job` from the accelerators of `placement` (all of them, or a part a
    /// shrink gave back) and returns the capacity.
    public func release(_ job: JobIndex, from placement: Placement) async throws -> CapacitySummary {
        for share in placement.shares {
            try await nodes[Int(share.node)].release(job, count: Int(share.count))
        }
        capacity.release(placement.shares)
        return capacity.summary
    }

    /// Hands the accelerators of `placement` from `job` to `successor`, which shared them
    /// (`SchedulingDecision.colocate`); the capacity index does not change.
    public func transfer(_ job: JobIndex, to successor: JobIndex, on placement: Placement) async throws {
        for share in placement.shares {
            try await nodes[Int(share.node)].transfer(job, to: successor, count: Int(share.count))
        }
    }

    /// Spreads `job` over `devices` accelerators instead of `current.acceleratorCount`,
    /// moving only what changes: a shrink gives back devices from the last nodes of the
    /// placement (returned as `freed`, still bound until released); a grow adds free devices
    /// anywhere in the cluster, in whole groups of `group` per node. (A model-parallel job's
    /// counts are multiples of its tensor group and so is every share, so the shrink's
    /// last-nodes-first cut keeps whole groups too.)
    public func resize(_ job: JobIndex, from current: Placement, to devices: Int, group: Int = 1) async throws
        -> (placement: Placement, freed: Placement?, free: CapacitySummary)
    {
        var shares = current.shares
        if devices > current.acceleratorCount {
            guard let added = capacity.reserve(devices - current.acceleratorCount, rule: .any, group: group) else {
                throw SimulationError.placementFailed(job: job, cluster: spec.name, accelerators: devices - current.acceleratorCount)
            }
            for share in added {
                try await nodes[Int(share.node)].bind(job, count: Int(share.count))
                if let i = shares.firstIndex(where: { $0.node == share.node }) { shares[i].count += share.count } else { shares.append(share) }
            }
            return (Placement(region: region, cluster: index, shares: shares), nil, capacity.summary)
        }
        var toFree = current.acceleratorCount - devices
        var freed: [NodeShare] = []
        for i in shares.indices.reversed() where toFree > 0 {
            let take = min(Int(shares[i].count), toFree)
            freed.append(NodeShare(node: shares[i].node, count: Int32(take)))
            shares[i].count -= Int32(take)
            toFree -= take
        }
        shares.removeAll { $0.count == 0 }
        return (Placement(region: region, cluster: index, shares: shares),
                Placement(region: region, cluster: index, shares: freed), capacity.summary)
    }

    /// Takes node `node` (local index) out of service; returns the jobs bound on it, in
    /// ascending order.
    public func failNode(_ node: Int) async -> (jobs: [JobIndex], free: CapacitySummary) {
        capacity.markDown(node)
        var jobs = Array(Set(await nodes[node].bindings.filter { $0 >= 0 }))  // sorted below
        jobs.sort()
        return (jobs, capacity.summary)
    }

    public func repairNode(_ node: Int) -> CapacitySummary {
        capacity.markUp(node)
        return capacity.summary
    }

    public var nodeCount: Int { spec.nodes }

    /// Every job bound on the cluster, ascending.
    public func boundJobs() async -> [JobIndex] {
        var found = Set<JobIndex>()  // sorted below
        for node in nodes { for job in await node.bindings where job >= 0 { found.insert(job) } }
        return found.sorted()
    }

    /// Checks that the capacity index agrees with what the nodes say they have bound.
    public func checkConsistency() async throws -> [(accelerator: Int32, holder: JobIndex)] {
        var held: [(Int32, JobIndex)] = []
        for (n, node) in nodes.enumerated() {
            let bindings = await node.bindings
            let free = bindings.reduce(0) { $1 < 0 ? $0 + 1 : $0 }
            // A node out of service offers nothing, whatever is unbound on it.
            guard capacity.isDown[n] ? capacity.freeOnNode[n] == 0 : free == capacity.freeOnNode[n] else {
                throw SimulationError.invariantViolated(
                    "cluster \(spec.name) node \(n): index says \(capacity.freeOnNode[n]) free, node says \(free)")
            }
            for (slot, holder) in bindings.enumerated() where holder >= 0 {
                let accelerator = node.accelerators[slot]
                let actual = await accelerator.holder
                guard actual == holder else {
                    throw SimulationError.invariantViolated(
                        "accelerator \(accelerator.id): node says job \(holder), accelerator says job \(actual)")
                }
                held.append((accelerator.id, holder))
            }
        }
        guard capacity.totalFree >= 0, capacity.totalFree <= capacity.capacity else {
            throw SimulationError.invariantViolated("cluster \(spec.name): \(capacity.totalFree) free of \(capacity.capacity)")
        }
        return held
    }
}
