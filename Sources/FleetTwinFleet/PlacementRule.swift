/// How a gang of accelerators is laid out inside one cluster: the placement extension point.
///
/// Every rule is all-or-nothing inside one cluster (a gang never spans clusters). The rules
/// differ in which nodes they take and, for the node-local rules, in what fits:
///
/// | rule | fits when | takes |
/// |---|---|---|
/// | `first-fit` | a gang of at most one node's size finds one node with that many free; a larger one finds count/n wholly free nodes plus one node with the remainder | the first such nodes in node order (Tiresias' `yarn` scheme, `switch.py::ms_yarn_alloc_res`) |
/// | `best-fit` | as first-fit | the node with the fewest free accelerators that still suffice (keeps whole nodes free for large gangs); written `consolidated` in older scenarios |
/// | `spread` | enough free accelerators anywhere in the cluster | one accelerator at a time from the node with the most free, which levels free capacity across nodes and spreads a gang over several |
/// | `any` | enough free accelerators anywhere in the cluster | the nodes with the most free first (fewest nodes); what Tiresias' `count` scheme models, which only counts free GPUs |
///
/// A gang in groups of g (a tensor-parallel job's tensor groups, `group` in `fits` and
/// `ClusterCapacity.reserve`; g divides the node size and the gang) takes a multiple of g on
/// every node under every rule, so that no group straddles two nodes (Megatron-LM keeps a
/// tensor group inside a node, Narayanan et al., SC'21: tensor parallelism up to the GPUs of a server). The node-local rules
/// already do when g divides the node size and the gang (whole nodes and one remainder, a
/// multiple of g); `any` and `spread` count and take only whole groups of each node's free
/// accelerators.
public enum PlacementRule: String, Sendable, CaseIterable {
    case firstFit = "first-fit"
    case bestFit = "best-fit"
    case spread
    case any

    /// Reads a rule by name; `consolidated`, the name older scenarios use, is `best-fit`.
    public init?(name: String) {
        if name == "consolidated" { self = .bestFit } else if let rule = PlacementRule(rawValue: name) { self = rule } else { return nil }
    }

    /// Whether the rule needs a gang's accelerators to sit on as few nodes as its size allows.
    public var isNodeLocal: Bool { self == .firstFit || self == .bestFit }
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
    /// `nodesWithFree[f]`: up nodes with exactly f free accelerators, f = 0...acceleratorsPerNode
    /// (empty when not known: then only groups of 1 fit under `any` and `spread`).
    public var nodesWithFree: [Int]

    public init(acceleratorsPerNode: Int, totalFree: Int, fullyFreeNodes: Int, maxNodeFree: Int, maxPartialNodeFree: Int,
                nodesWithFree: [Int] = []) {
        self.acceleratorsPerNode = acceleratorsPerNode
        self.totalFree = totalFree
        self.fullyFreeNodes = fullyFreeNodes
        self.maxNodeFree = maxNodeFree
        self.maxPartialNodeFree = maxPartialNodeFree
        self.nodesWithFree = nodesWithFree
    }

    /// Free accelerators in whole groups of `group` on each node: the sum over nodes of
    /// free - free mod group (`totalFree` for groups of 1). O(accelerators per node).
    public func freeInGroups(of group: Int) -> Int {
        guard group > 1 else { return totalFree }
        var total = 0
        for (f, nodes) in nodesWithFree.enumerated() where nodes > 0 { total += nodes * (f - f % group) }
        return total
    }

    /// Whether `count` accelerators can be placed under `rule` right now, in whole groups of
    /// `group` on every node (see `PlacementRule`; `count` a multiple of `group`, which
    /// divides the node size, or nothing fits).
    public func fits(_ count: Int, rule: PlacementRule, group: Int = 1) -> Bool {
        if group > 1 && (count % group != 0 || acceleratorsPerNode % group != 0) { return false }
        switch rule {
        case .any, .spread:
            return freeInGroups(of: group) >= count
        case .firstFit, .bestFit:
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
