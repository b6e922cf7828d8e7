/// The free-capacity index of one cluster: free accelerators per node, and the nodes
/// grouped into buckets by how many they have free.
///
/// Every operation is O(accelerators per node) or better, whatever the cluster size, so a
/// placement attempt never scans the cluster. Bucket order depends only on the sequence of
/// operations, never on hashing, so choices are deterministic.
public struct ClusterCapacity: Sendable {
    public let acceleratorsPerNode: Int
    public private(set) var freeOnNode: [Int]
    /// buckets[f] holds the nodes with exactly f free accelerators.
    private var buckets: [[Int32]]
    private var positionInBucket: [Int]
    public private(set) var totalFree: Int
    /// Nodes out of service (failed, not yet repaired): they offer nothing, and devices
    /// released on them do not come back until the repair.
    public private(set) var isDown: [Bool]
    /// Accelerators bound on each node, so a repair knows what it gives back.
    private var heldOnNode: [Int]

    public init(nodes: Int, acceleratorsPerNode: Int) {
        self.acceleratorsPerNode = acceleratorsPerNode
        freeOnNode = Array(repeating: acceleratorsPerNode, count: nodes)
        buckets = Array(repeating: [], count: acceleratorsPerNode + 1)
        // Reversed so that `last` - the node taken next - is node 0 on an empty cluster.
        buckets[acceleratorsPerNode] = (0..<Int32(nodes)).reversed()
        positionInBucket = (0..<nodes).map { nodes - 1 - $0 }
        totalFree = nodes * acceleratorsPerNode
        isDown = Array(repeating: false, count: nodes)
        heldOnNode = Array(repeating: 0, count: nodes)
    }

    /// Takes a node out of service: its free accelerators are no longer offered.
    public mutating func markDown(_ node: Int) {
        guard !isDown[node] else { return }
        totalFree -= freeOnNode[node]
        move(node, from: freeOnNode[node], to: 0)
        isDown[node] = true
    }

    /// Puts a repaired node back: every accelerator not bound is offered again.
    public mutating func markUp(_ node: Int) {
        guard isDown[node] else { return }
        isDown[node] = false
        let free = acceleratorsPerNode - heldOnNode[node]
        move(node, from: 0, to: free)
        totalFree += free
    }

    public var nodeCount: Int { freeOnNode.count }
    public var capacity: Int { nodeCount * acceleratorsPerNode }

    public var summary: CapacitySummary {
        let n = acceleratorsPerNode
        var maxPartial = 0
        for f in stride(from: n - 1, through: 1, by: -1) where !buckets[f].isEmpty {
            maxPartial = f
            break
        }
        let fully = buckets[n].count
        return CapacitySummary(
            acceleratorsPerNode: n, totalFree: totalFree, fullyFreeNodes: fully,
            maxNodeFree: fully > 0 ? n : maxPartial, maxPartialNodeFree: maxPartial,
            nodesWithFree: buckets.map(\.count))
    }

    /// Chooses nodes for `count` accelerators under `rule` and takes them, or returns nil and
    /// changes nothing (the table in `PlacementRule` says which nodes each rule takes); with
    /// `group` > 1, a multiple of `group` on every node (tensor groups never straddle nodes).
    ///
    /// O(accelerators per node) per node taken, except `first-fit`, which walks the nodes in
    /// order as Tiresias' `yarn` scheme does: O(nodes).
    public mutating func reserve(_ count: Int, rule: PlacementRule, group: Int = 1) -> [NodeShare]? {
        guard count > 0, summary.fits(count, rule: rule, group: group) else { return nil }
        let g = max(group, 1)
        let n = acceleratorsPerNode
        var shares: [NodeShare] = []
        switch rule {
        case .bestFit:
            if count <= n {
                guard let node = bestFit(count, below: n + 1) else { return nil }
                shares.append(take(node, count))
            } else {
                for _ in 0..<(count / n) { shares.append(take(buckets[n].last!, n)) }
                let remainder = count % n
                if remainder > 0 {
                    guard let node = bestFit(remainder, below: n + 1) else { return nil }
                    shares.append(take(node, remainder))
                }
            }
        case .firstFit:
            // Whole nodes first (lowest index), then the first other node with the remainder.
            let whole = count > n ? count / n : 0
            let remainder = count > n ? count % n : count
            var chosen: [Int32] = []
            var remainderNode: Int32?
            for node in 0..<freeOnNode.count where !isDown[node] {
                if chosen.count < whole && freeOnNode[node] == n {
                    chosen.append(Int32(node))
                } else if remainder > 0 && remainderNode == nil && freeOnNode[node] >= remainder {
                    remainderNode = Int32(node)
                }
                if chosen.count == whole && (remainder == 0 || remainderNode != nil) { break }
            }
            guard chosen.count == whole, remainder == 0 || remainderNode != nil else { return nil }
            for node in chosen { shares.append(take(node, n)) }
            if let node = remainderNode { shares.append(take(node, remainder)) }
        case .any:
            var needed = count
            var f = n
            while needed > 0 && f >= g {
                if let node = buckets[f].last {
                    let amount = min(f - f % g, needed)
                    shares.append(take(node, amount))
                    needed -= amount
                } else {
                    f -= 1
                }
            }
        case .spread:
            // One accelerator (one group) at a time from the node with the most free.
            var perNode: [Int32: Int32] = [:]  // looked up only; shares are built in taking order
            var order: [Int32] = []
            var f = n
            for _ in 0..<(count / g) {
                while buckets[f].isEmpty { f -= 1 }
                let node = buckets[f].last!
                _ = take(node, g)
                if perNode[node] == nil { order.append(node) }
                perNode[node, default: 0] += Int32(g)
            }
            shares = order.map { NodeShare(node: $0, count: perNode[$0]!) }
        }
        return shares
    }

    /// Takes exactly these accelerators (a mirror of a placement another index chose).
    public mutating func take(_ shares: [NodeShare]) {
        for share in shares { _ = take(share.node, Int(share.count)) }
    }

    /// The summary this cluster would have once `shares` (placements of running jobs) were
    /// released, without changing anything: what a policy asks before it preempts, so that it
    /// takes only victims whose release makes a gang fit under a node-local rule.
    public func summary(afterReleasing shares: [NodeShare]) -> CapacitySummary {
        var w = whatIf()
        w.release(shares)
        return w.summary
    }

    /// A scratch copy of this index's counts that releases can be added to one by one, each
    /// in O(shares), and asked for its summary in O(accelerators per node).
    public func whatIf() -> CapacityWhatIf {
        CapacityWhatIf(base: self, bucketCounts: buckets.map { $0.count }, totalFree: totalFree)
    }

    /// Returns accelerators to their nodes.
    public mutating func release(_ shares: [NodeShare]) {
        for share in shares {
            let node = Int(share.node)
            precondition(heldOnNode[node] >= Int(share.count), "released more than was taken on node \(node)")
            heldOnNode[node] -= Int(share.count)
            guard !isDown[node] else { continue }
            let old = freeOnNode[node]
            move(node, from: old, to: old + Int(share.count))
            totalFree += Int(share.count)
        }
    }

    private func bestFit(_ count: Int, below limit: Int) -> Int32? {
        for f in count..<limit where !buckets[f].isEmpty { return buckets[f].last }
        return nil
    }

    private mutating func take(_ node: Int32, _ count: Int) -> NodeShare {
        let i = Int(node)
        heldOnNode[i] += count
        let old = freeOnNode[i]
        move(i, from: old, to: old - count)
        totalFree -= count
        return NodeShare(node: node, count: Int32(count))
    }

    private mutating func move(_ node: Int, from old: Int, to new: Int) {
        // Swap-remove from the old bucket, append to the new one.
        let position = positionInBucket[node]
        let moved = buckets[old].removeLast()
        if Int(moved) != node {
            buckets[old][position] = moved
            positionInBucket[Int(moved)] = position
        }
        positionInBucket[node] = buckets[new].count
        buckets[new].append(Int32(node))
        freeOnNode[node] = new
    }
}

/// What a cluster's free capacity would be after some releases (`ClusterCapacity.whatIf`).
public struct CapacityWhatIf: Sendable {
    let base: ClusterCapacity
    /// Nodes with exactly f free accelerators, after the releases so far.
    var bucketCounts: [Int]
    public private(set) var totalFree: Int
    /// Free accelerators after the releases, of the nodes they touched (a short list: a
    /// what-if touches few nodes, and a linear search beats hashing for those).
    private var touched: [(node: Int32, free: Int)] = []

    init(base: ClusterCapacity, bucketCounts: [Int], totalFree: Int) {
        self.base = base
        self.bucketCounts = bucketCounts
        self.totalFree = totalFree
    }

    /// Adds the release of `shares` (a node that is down gains nothing).
    public mutating func release(_ shares: [NodeShare]) {
        for share in shares where !base.isDown[Int(share.node)] {
            let i = touched.firstIndex { $0.node == share.node }
            let old = i.map { touched[$0].free } ?? base.freeOnNode[Int(share.node)]
            let new = old + Int(share.count)
            bucketCounts[old] -= 1
            bucketCounts[new] += 1
            totalFree += Int(share.count)
            if let i { touched[i].free = new } else { touched.append((share.node, new)) }
        }
    }

    public var summary: CapacitySummary {
        let n = base.acceleratorsPerNode
        var maxPartial = 0
        for f in stride(from: n - 1, through: 1, by: -1) where bucketCounts[f] > 0 {
            maxPartial = f
            break
        }
        let fully = bucketCounts[n]
        return CapacitySummary(acceleratorsPerNode: n, totalFree: totalFree, fullyFreeNodes: fully,
                               maxNodeFree: fully > 0 ? n : maxPartial, maxPartialNodeFree: maxPartial, nodesWithFree: bucketCounts)
    }

    /// `CapacitySummary.fits` after the releases so far.
    public func fits(_ count: Int, rule: PlacementRule, group: Int = 1) -> Bool { summary.fits(count, rule: rule, group: group) }
}
