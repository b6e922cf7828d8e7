import FleetTwinEngine
import FleetTwinFleet

/// The CPU cores a job takes on a node for the GPUs it holds there, and so the GPUs a node's
/// free cores leave it: select/cons_tres with `--cpus-per-gpu` takes at most
/// available CPUs / cpus_per_gres GPUs on a node (gres_sched.c `gres_sched_add`), and a node
/// without the CPUs for one is not available (job_test.c `_eval_nodes`). A job whose cores
/// are known per node (its tasks' CPUs, `perNode`) takes those on each node whatever its GPUs
/// there. Without either a job takes one core per node (Slurm's default, one task of one CPU).
struct CPUDemand: Equatable {
    /// Cores per GPU (the trace's `cpusPerGPU`); 0: see `perNode`.
    var perGPU: Double = 0
    /// Cores on each node it runs on (from the trace's `cpus`); 0: by `perGPU`, else one.
    var perNode = 0
    /// The node's cores, which caps the demand (a job asking more than a node has still runs
    /// on a whole idle node, rather than never).
    var nodeCores: Int = .max

    /// Whole cores for `gpus` GPUs on one node: at least one, at most the node's.
    func cores(for gpus: Int) -> Int {
        if perNode > 0 { return Swift.min(nodeCores, perNode) }
        guard perGPU > 0 else { return 1 }
        // Less a hair, so that a product that is whole but for rounding (0.1 x 30) is not a core more.
        return Swift.max(1, Swift.min(nodeCores, Int((perGPU * Double(gpus) - 1e-9).rounded(.up))))
    }

    /// The most of `gpus` free GPUs the job can take on a node with `free` free cores.
    func gpus(_ gpus: Int, fittingIn free: Int) -> Int {
        guard gpus > 0, free >= cores(for: 1) else { return 0 }
        // Cores by node, not by GPU: the node has them (checked above) for any of its GPUs.
        if perNode > 0 || cores(for: gpus) <= free { return gpus }
        var g = Swift.min(gpus - 1, Int((Double(free) / perGPU).rounded(.down)))
        while g + 1 < gpus && cores(for: g + 1) <= free { g += 1 }
        while g > 0 && cores(for: g) > free { g -= 1 }
        return g
    }
}

/// Free GPUs and CPU cores per node in time, from now on: what Slurm's backfill plans with.
/// Segment k starts at `times[k]` and runs to the next; the last runs forever.
///
/// Stored flat, segment after segment, so that a backfill cycle allocates a few arrays rather
/// than one per segment. Free counts never fall as time goes on (running jobs end, and the
/// jobs backfill starts all start now), so whether a job fits can only turn from no to yes
/// along the segments: `earliest` finds the first segment where it fits by halving. A node
/// offers a job the GPUs its free cores leave (`demand`), in every segment: the select
/// plugin's will-run test fits the job on the nodes' future CPUs as well as their GPUs
/// (job_test.c `_will_run_test` tests it on the node usage with the ending jobs removed).
struct NodePlan {
    private(set) var times: [VirtualTime]
    /// `free[k * nodes + node]`: the node's free GPUs over segment k.
    private var free: [Int]
    /// `cores[k * nodes + node]`: the node's free CPU cores over segment k; empty when the
    /// plan is of GPUs alone.
    private var cores: [Int]
    let nodes: Int
    /// Scratch for one segment's free counts on the open nodes, reused by every test.
    private var masked: [Int]
    /// Scratch for one segment's free cores, reused by every choice.
    private var maskedCores: [Int]
    /// The nodes where a job ends at `times[k]` (its GPUs come back), for the will-run
    /// test's windows: words `k * endingWords ..< (k + 1) * endingWords` of a flat bit set,
    /// so that a cycle does not allocate one per segment.
    private var ending: [UInt64]
    private let endingWords: Int
    /// The CPU cores the job being placed needs on a node for its GPUs there: a node offers
    /// it only the GPUs its free cores allow (see `CPUDemand`).
    var demand = CPUDemand()

    /// The GPUs free at `now`, and those that running jobs give back at `releases` (ends in
    /// ascending order, each after `now`): one segment per distinct end. A plan of GPUs alone.
    init(now: VirtualTime, free current: [Int], releases: [(end: VirtualTime, shares: [NodeShare])]) {
        self.init(now: now, free: current, cores: nil, releases: releases.map { ($0.end, $0.shares, []) })
    }

    /// The GPUs and (when `cores` is given) CPU cores free at `now`, and those that running
    /// jobs give back at `releases` (`cores`: each share's cores, in order).
    init(now: VirtualTime, free current: [Int], cores currentCores: [Int]?,
         releases: [(end: VirtualTime, shares: [NodeShare], cores: [Int])]) {
        nodes = current.count
        times = [now]
        free = current
        cores = currentCores ?? []
        precondition(cores.isEmpty || cores.count == nodes, "one core count per node")
        masked = Array(repeating: 0, count: nodes)
        maskedCores = Array(repeating: 0, count: nodes)
        endingWords = (nodes + 63) / 64
        ending = Array(repeating: 0, count: endingWords)
        times.reserveCapacity(releases.count + 1)
        free.reserveCapacity(nodes * (releases.count + 1))
        if !cores.isEmpty { cores.reserveCapacity(nodes * (releases.count + 1)) }
        for release in releases {
            precondition(release.end >= times[times.count - 1], "releases in ascending order of end")
            if release.end != times[times.count - 1] {
                times.append(release.end)
                free.append(contentsOf: free[(free.count - nodes)...])
                if !cores.isEmpty { cores.append(contentsOf: cores[(cores.count - nodes)...]) }
                ending.append(contentsOf: repeatElement(0, count: endingWords))
            }
            let base = free.count - nodes
            for (i, share) in release.shares.enumerated() {
                free[base + Int(share.node)] += Int(share.count)
                if !cores.isEmpty { cores[base + Int(share.node)] += release.cores[i] }
                markEnding(Int(share.node), segment: times.count - 1)
            }
        }
    }

    /// The segment starting at `t`, split off the one containing it.
    private mutating func boundary(_ t: VirtualTime) -> Int {
        var k = times.count - 1
        while k > 0 && times[k] > t { k -= 1 }
        if times[k] == t { return k }
        times.insert(t, at: k + 1)
        let row = Array(free[(k * nodes)..<((k + 1) * nodes)])
        free.insert(contentsOf: row, at: (k + 1) * nodes)
        if !cores.isEmpty {
            let coreRow = Array(cores[(k * nodes)..<((k + 1) * nodes)])
            cores.insert(contentsOf: coreRow, at: (k + 1) * nodes)
        }
        ending.insert(contentsOf: repeatElement(0, count: endingWords), at: (k + 1) * endingWords)
        return k + 1
    }

    private mutating func markEnding(_ node: Int, segment k: Int) {
        ending[k * endingWords + (node >> 6)] |= 1 << UInt64(node & 63)
    }

    /// Whether a job ends at `times[k]` on one of the `open` nodes.
    private func endsOn(_ open: NodeSet, segment k: Int) -> Bool {
        for w in 0..<endingWords where ending[k * endingWords + w] & open.words[w] != 0 { return true }
        return false
    }

    /// Segment k's free GPUs per node.
    func free(segment k: Int) -> [Int] { Array(free[(k * nodes)..<((k + 1) * nodes)]) }

    /// The node's free GPUs in the first segment (now).
    func freeNow(_ node: Int) -> Int { free[node] }

    /// Each node's free CPU cores in the first segment (now); nil for a plan of GPUs alone.
    var coresNow: [Int]? { cores.isEmpty ? nil : Array(cores[0..<nodes]) }

    /// Takes `shares` (and `cores`, each share's CPU cores, in a plan that tracks them) from
    /// `start` to `end`.
    mutating func take(_ shares: [NodeShare], cores taken: [Int] = [], from start: VirtualTime, to end: VirtualTime) {
        precondition(cores.isEmpty || taken.count == shares.count, "the cores of every share")
        let a = boundary(start), b = boundary(end)
        for i in a..<b { for s in shares { free[i * nodes + Int(s.node)] -= Int(s.count) } }
        if !cores.isEmpty {
            for i in a..<b { for (j, s) in shares.enumerated() { cores[i * nodes + Int(s.node)] -= taken[j] } }
        }
        for s in shares { markEnding(Int(s.node), segment: b) }
    }

    /// `earliest` as the select plugin's will-run test finds it (see
    /// `SlurmConfiguration.willRunWindow`): now if the job fits now, else the last end of the
    /// first group of job ends after which it fits, the groups as job_test.c `_will_run_test`
    /// forms them. `window` is the first window; `clock` the Unix time (µs) of time zero, on
    /// whose multiples of `window` the barrier is aligned. Jobs that end on no open node are
    /// passed over (they have "no usable nodes"). The start is at least `start`.
    mutating func earliestInWindows(_ size: Int, perNode: Int, rule: PlacementRule, group: Int = 1, from start: VirtualTime,
                                    before horizon: VirtualTime, on open: NodeSet, window: VirtualTime,
                                    clock: Int64) -> (VirtualTime, [NodeShare])? {
        guard start <= horizon else { return nil }
        let nodeLocal = rule.isNodeLocal
        func answer(_ k: Int) -> (VirtualTime, [NodeShare])? {
            // Free counts only grow: it fits from `start` on too, on the segment holding it.
            let at = Swift.max(times[k], start)
            let segment = times[1...].partitionPoint { $0 <= at } - 1
            return choose(size, perNode: perNode, rule: rule, group: group, segment: segment, open: open).map { (at, $0) }
        }
        if fits(size, perNode: perNode, nodeLocal: nodeLocal, group: group, segment: 0, open: open) { return answer(0) }
        var span = window.microseconds
        var barrier: Int64?
        var k = 1
        while k < times.count {
            var last: Int?
            while k < times.count {
                guard endsOn(open, segment: k) else { k += 1; continue }
                if barrier == nil {
                    let t = times[k].microseconds
                    barrier = t + (span - (t + clock) % span)
                }
                last = k
                k += 1
                if k >= times.count || times[k].microseconds > barrier! + span { break }
            }
            guard let last else { break }
            repeat { span *= 2 } while k < times.count && times[k].microseconds > barrier! + span
            if times[last] > horizon { return nil }
            if fits(size, perNode: perNode, nodeLocal: nodeLocal, group: group, segment: last, open: open) { return answer(last) }
        }
        return nil
    }

    /// Slurm's will-run test: the first planned instant from `start` (and before `horizon`)
    /// at which `size` GPUs fit on the `open` nodes, as the select plugin would place them
    /// then, and those nodes. The first segment where they fit is found by halving: free
    /// counts only grow along the segments, and so does whether a gang fits (more free GPUs
    /// per node never leave fewer whole nodes, nor fewer nodes with room for the rest).
    mutating func earliest(_ size: Int, perNode: Int, rule: PlacementRule, group: Int = 1, from start: VirtualTime, before horizon: VirtualTime,
                           on open: NodeSet) -> (VirtualTime, [NodeShare])? {
        // The segment containing `start` (the first that ends after it).
        let first = times[1...].partitionPoint { $0 <= start } - 1
        // Every instant tried is at or after `start`.
        guard start <= horizon else { return nil }
        if fits(size, perNode: perNode, nodeLocal: rule.isNodeLocal, group: group, segment: first, open: open) {
            return choose(size, perNode: perNode, rule: rule, group: group, segment: first, open: open).map { (Swift.max(times[first], start), $0) }
        }
        // It fits nowhere in `first`: the first later segment where it does, if any.
        let low = times.indices[(first + 1)...].partitionPoint {
            !fits(size, perNode: perNode, nodeLocal: rule.isNodeLocal, group: group, segment: $0, open: open)
        }
        guard low < times.count, times[low] <= horizon,
              let shares = choose(size, perNode: perNode, rule: rule, group: group, segment: low, open: open) else { return nil }
        return (times[low], shares)
    }

    /// Whether `choose` would find nodes for `size` GPUs on segment `k`'s free counts on the
    /// open nodes, counted without allocating: a node-local gang needs size / perNode wholly
    /// free nodes and one more with room for the rest (a gang of at most one node: one node
    /// with room for it); any other, that many free GPUs in all (in whole groups of `group`
    /// per node).
    private func fits(_ size: Int, perNode: Int, nodeLocal: Bool, group: Int, segment k: Int, open: NodeSet) -> Bool {
        guard size > 0 else { return true }
        let base = k * nodes
        if !nodeLocal {
            var total = 0
            for node in 0..<nodes where open.contains(node) {
                let f = available(node, base: base)
                guard f > 0 else { continue }
                total += f - f % group
                if total >= size { return true }
            }
            return false
        }
        let whole = size > perNode ? size / perNode : 0
        let rest = size > perNode ? size % perNode : size
        var full = 0, roomy = 0
        for node in 0..<nodes where open.contains(node) {
            let f = available(node, base: base)
            if whole > 0 && f == perNode { full += 1 }
            if rest > 0 && f >= rest { roomy += 1 }
        }
        return full >= whole && (rest == 0 || roomy >= whole + 1)
    }

    /// The select plugin's choice on segment `k`'s free counts, on open nodes only.
    private mutating func choose(_ size: Int, perNode: Int, rule: PlacementRule, group: Int, segment k: Int, open: NodeSet) -> [NodeShare]? {
        let base = k * nodes
        for node in 0..<nodes { masked[node] = open.contains(node) ? available(node, base: base) : 0 }
        guard !cores.isEmpty else {
            return Self.choose(size, perNode: perNode, free: masked, rule: rule, group: group, preferring: .consecutive(masked))
        }
        for node in 0..<nodes { maskedCores[node] = cores[base + node] }
        return Self.choose(size, perNode: perNode, free: masked, rule: rule, group: group,
                           preferring: .consecutive(masked, cpus: maskedCores))
    }

    /// The GPUs `node` offers the job being placed over the segment starting at `base`
    /// (k * nodes): its free GPUs, as far as its free cores go (`demand`).
    private func available(_ node: Int, base: Int) -> Int {
        cores.isEmpty ? free[base + node] : demand.gpus(free[base + node], fittingIn: cores[base + node])
    }
}

/// A set of a cluster's nodes as bits, 64 to a word.
struct NodeSet: Equatable {
    fileprivate(set) var words: [UInt64]

    init(nodes: Int) { words = Array(repeating: 0, count: (nodes + 63) / 64) }

    func contains(_ node: Int) -> Bool { words[node >> 6] & (1 << UInt64(node & 63)) != 0 }

    mutating func insert(_ node: Int) { words[node >> 6] |= 1 << UInt64(node & 63) }
}

/// Slurm backfill's node-space map: per segment of time, the nodes no reservation holds
/// (down nodes: none). Segment k starts at `times[k]` and runs to the next; the last runs
/// forever. Each segment is a bit set, so the nodes open over a window are the
/// intersection of its segments, found by halving the sorted times.
struct NodeSpace {
    private(set) var times: [VirtualTime]
    /// `bits[k * words + w]`: word w of segment k's open nodes.
    private var bits: [UInt64]
    private let words: Int
    let nodes: Int

    /// Every up node open from `start` on.
    init(start: VirtualTime, down: [Bool]) {
        nodes = down.count
        var up = NodeSet(nodes: nodes)
        for node in down.indices where !down[node] { up.insert(node) }
        words = up.words.count
        times = [start]
        bits = up.words
    }

    /// The first segment that ends after `t` (the one containing it, or the first).
    private func segment(containing t: VirtualTime) -> Int { times[1...].partitionPoint { $0 <= t } - 1 }

    /// The nodes open over all of [start, end).
    func open(from start: VirtualTime, to end: VirtualTime) -> NodeSet {
        var result = NodeSet(nodes: nodes)
        open(from: start, to: end, into: &result)
        return result
    }

    /// The nodes open over all of [start, end), written into `result` (a set of this map's
    /// size), so that a cycle's many windows reuse one.
    func open(from start: VirtualTime, to end: VirtualTime, into result: inout NodeSet) {
        var k = segment(containing: start)
        guard times[k] < end else {
            // No segment overlaps the window: the last segment's, as the original plan answered.
            let last = (times.count - 1) * words
            for w in 0..<words { result.words[w] = bits[last + w] }
            return
        }
        for w in 0..<words { result.words[w] = bits[k * words + w] }
        k += 1
        while k < times.count && times[k] < end {
            for w in 0..<words { result.words[w] &= bits[k * words + w] }
            k += 1
        }
    }

    /// Whether every node of `shares` is open over all of [start, end).
    func fits(_ shares: [NodeShare], from start: VirtualTime, to end: VirtualTime) -> Bool {
        let open = open(from: start, to: end)
        return shares.allSatisfy { open.contains(Int($0.node)) }
    }

    /// The first boundary after `t`, if any.
    func firstTime(after t: VirtualTime) -> VirtualTime? {
        if times[0] > t { return times[0] }
        let k = segment(containing: t) + 1
        return k < times.count ? times[k] : nil
    }

    /// The segment starting at `t`, split off the one containing it.
    private mutating func boundary(_ t: VirtualTime) -> Int {
        precondition(t >= times[0], "reservations start at or after the map's start")
        let k = segment(containing: t)
        if times[k] == t { return k }
        times.insert(t, at: k + 1)
        let row = Array(bits[(k * words)..<((k + 1) * words)])
        bits.insert(contentsOf: row, at: (k + 1) * words)
        return k + 1
    }

    /// Reserves the nodes of `shares` over [start, end).
    mutating func take(_ shares: [NodeShare], from start: VirtualTime, to end: VirtualTime) {
        let a = boundary(start), b = boundary(end)
        for k in a..<b {
            for s in shares {
                let node = Int(s.node)
                bits[k * words + (node >> 6)] &= ~(1 << UInt64(node & 63))
            }
        }
    }
}
