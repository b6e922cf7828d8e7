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

    public init(acceleratorsPerNode: Int, totalFree: Int, fullyFreeNodes: Int, maxNodeFree: Int, maxPartialNodeFree: Int) {
        self.acceleratorsPerNode = acceleratorsPerNode
        self.totalFree = totalFree
        self.fullyFreeNodes = fullyFreeNodes
        self.maxNodeFree = maxNodeFree
        self.maxPartialNodeFree = maxPartialNodeFree
    }

    /// Whether `count` accelerators can be placed under `rule` right now.
    public func fits(_ count: Int, rule: PlacementRule) -> Bool {
        switch rule {
        case .any, .spread:
            return totalFree >= count
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
