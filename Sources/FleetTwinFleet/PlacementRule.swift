/// How a gang of accelerators is laid out inside one cluster.
public enum PlacementRule: String, Sendable, CaseIterable {
    /// A job that fits on one node waits for a single node with enough free accelerators;
    /// a larger job takes whole free nodes plus one node for the remainder.
    case consolidated
    /// Any free accelerators of the right type in one cluster (fewest nodes first).
    case any
}

/// A summary of a cluster's free capacity, exact enough to decide whether a gang fits
/// without asking the cluster. Schedulers above the cluster keep these up to date from the
/// values that placement and release return.
public struct CapacitySummary: Sendable, Equatable {
    public var acceleratorsPerNode: Int
    public var totalFree: Int
    /// Nodes with every accelerator free.
    public var fullyFreeNodes: Int
    /// The most free accelerators on any node.
    public var maxNodeFree: Int
    /// The most free accelerators on a node that is not fully free (0 if none).
    public var maxPartialNodeFree: Int

    /// Whether `count` accelerators can be placed under `rule` right now.
    public func fits(_ count: Int, rule: PlacementRule) -> Bool {
        switch rule {
        case .any:
            return totalFree >= count
        case .consolidated:
            let n = acceleratorsPerNode
            if count <= n { return maxNodeFree >= count }
            let whole = count / n, remainder = count % n
            if remainder == 0 { return fullyFreeNodes >= whole }
            return fullyFreeNodes > whole || (fullyFreeNodes == whole && maxPartialNodeFree >= remainder)
        }
    }
}

/// How many accelerators a placement takes on one node (node index within its cluster).
public struct NodeShare: Sendable, Equatable {
    public var node: Int32
    public var count: Int32

    public init(node: Int32, count: Int32) {
        self.node = node
        self.count = count
    }
}
