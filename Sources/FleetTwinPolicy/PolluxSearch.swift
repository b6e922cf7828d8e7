import FleetTwinEngine
import Foundation

/// One nonzero entry of a Pollux search state: `count` replicas (> 0) of job `job` (its index
/// in the search's job order) on node `node`. A state is its cells sorted by (job, node), so
/// two states are equal exactly when their jobs x nodes matrices are.
///
/// Sparse because the matrix is: after repair a state holds at most one cell per device (128
/// on the bench fleet) while the dense matrix of a backlog of 1,000 jobs on 32 nodes has 32,000
/// entries, and every step of the search (evaluation, repair, crossover, duplicate
/// elimination) costs its cells, not jobs x nodes.
struct PolluxCell: Hashable, Sendable {
    var job: Int32
    var node: Int32
    var count: Int32

    /// The search's order of cells: by job, then node.
    static func precedes(_ a: PolluxCell, _ b: PolluxCell) -> Bool { a.job != b.job ? a.job < b.job : a.node < b.node }
}

/// One division's search problem (pollux.py `Problem`) over sparse states (`PolluxCell`s).
struct PolluxProblem {
    let jobs: Int
    let nodes: Int
    let capacity: [Int32]
    /// The base state (the current allocation) and where each job's cells start in it
    /// (`baseStart[j]..<baseStart[j + 1]`).
    let base: [PolluxCell]
    let baseStart: [Int]
    let maxReplicas: [Int32]
    let minReplicas: [Int32]
    let speedups: [[Double]]
    let restartFactor: [Double]
    /// Devices the search divides (its dominant share is 1 / devices).
    let devices: Int

    init(jobs: Int, nodes: Int, capacity: [Int32], base: [PolluxCell], maxReplicas: [Int32], minReplicas: [Int32],
         speedups: [[Double]], restartFactor: [Double], devices: Int) {
        self.jobs = jobs
        self.nodes = nodes
        self.capacity = capacity
        self.base = base
        var start = Array(repeating: base.count, count: jobs + 1)
        for k in base.indices.reversed() { start[Int(base[k].job)] = k }
        for j in stride(from: jobs - 1, through: 0, by: -1) where start[j] > start[j + 1] { start[j] = start[j + 1] }
        baseStart = start
        self.maxReplicas = maxReplicas
        self.minReplicas = minReplicas
        self.speedups = speedups
        self.restartFactor = restartFactor
        self.devices = devices
    }

    struct Member {
        var state: [PolluxCell]
        var fitness: Double
        var utility: Double
        var rank = 0
        var crowding = 0.0
    }

    /// Per-node work arrays the operators reuse, so that evaluating, mutating and repairing a
    /// state allocates nothing beyond the state itself.
    struct Scratch {
        var perNode: [Int32]
        var perNode2: [Int32]
        var nodeStart: [Int]
        var byNode: [Int]
        var shuffle: [Int]
        var position: [Int]
        var row: [Int]
        var cells: [PolluxCell]
        var added: [PolluxCell]

        init(nodes: Int) {
            perNode = Array(repeating: 0, count: nodes)
            perNode2 = Array(repeating: 0, count: nodes)
            nodeStart = Array(repeating: 0, count: nodes + 1)
            byNode = []
            shuffle = Array(0..<nodes)
            position = Array(repeating: 0, count: nodes)
            row = []
            cells = []
            added = []
        }
    }

    /// The end of job `cells[from].job`'s cells in `cells`.
    @inline(__always) static func rowEnd(_ cells: [PolluxCell], from: Int) -> Int {
        var k = from
        let job = cells[from].job
        while k < cells.count && cells[k].job == job { k += 1 }
        return k
    }

    /// Whether job `j`'s cells `s[from..<to]` differ from its base row.
    @inline(__always) func changed(_ j: Int, _ s: [PolluxCell], _ from: Int, _ to: Int) -> Bool {
        let b = baseStart[j], e = baseStart[j + 1]
        guard to - from == e - b else { return true }
        for k in 0..<(to - from) where s[from + k] != base[b + k] { return true }
        return false
    }

    /// (fitness, utility) of a state (`_evaluate`, `get_cluster_utilities`), in O(cells). A job
    /// with no replicas adds (0 + 1e-3)^-1 to the power mean whether or not its row changed,
    /// so the jobs without cells are counted, not visited (the dense sum adds the same terms
    /// in job order: the two differ in rounding only).
    func evaluate(_ s: [PolluxCell], scratch: inout Scratch) -> (fitness: Double, utility: Double) {
        let scale = Double(nodes) / Double(max(devices, 1))
        var inverseSum = 0.0, speedupSum = 0.0
        var placed = 0
        for n in 0..<nodes { scratch.perNode[n] = 0 }
        var k = 0
        while k < s.count {
            let j = Int(s[k].job)
            let end = Self.rowEnd(s, from: k)
            var replicas = 0
            for c in k..<end {
                replicas += Int(s[c].count)
                scratch.perNode[Int(s[c].node)] = 1
            }
            let table = speedups[j]
            let speedup = replicas < table.count ? table[replicas] : table[table.count - 1]
            speedupSum += speedup
            var x = speedup * scale
            if changed(j, s, k, end) { x *= restartFactor[j] }
            inverseSum += 1 / (x + 1e-3)
            placed += 1
            k = end
        }
        inverseSum += Double(jobs - placed) / 1e-3
        var used = 0
        for n in 0..<nodes where scratch.perNode[n] > 0 { used += Int(capacity[n]) }
        return (Double(jobs) / inverseSum, used > 0 ? speedupSum / Double(used) : 0)
    }

    func member(_ s: [PolluxCell], scratch: inout Scratch) -> Member {
        let (f, u) = evaluate(s, scratch: &scratch)
        return Member(state: s, fitness: f, utility: u)
    }

    /// Whether a dominates b on (maximise fitness, maximise utility).
    static func dominates(_ a: Member, _ b: Member) -> Bool {
        a.fitness >= b.fitness && a.utility >= b.utility && (a.fitness > b.fitness || a.utility > b.utility)
    }

    /// `_repair`, in place, in O(cells) (plus O(nodes) per job over its limits).
    func repair(_ s: inout [PolluxCell], random: inout SeededGenerator, scratch: inout Scratch) {
        // At most one distributed job per node: once a node has seen a second distributed
        // job in job order, that job's and every later job's replicas there are dropped
        // (pollux.py's cumulative mask, kept as it is).
        for n in 0..<nodes { scratch.perNode[n] = 0 }
        var k = 0
        while k < s.count {
            let end = Self.rowEnd(s, from: k)
            let distributed = end - k > 1
            for c in k..<end {
                let n = Int(s[c].node)
                if distributed { scratch.perNode[n] += 1 }
                if scratch.perNode[n] > 1 { s[c].count = 0 }
            }
            k = end
        }
        // Max replicas and at most 16 nodes, over the job's nodes in a random order.
        for n in 0..<nodes { scratch.shuffle[n] = n }
        k = 0
        while k < s.count {
            let j = Int(s[k].job)
            let end = Self.rowEnd(s, from: k)
            // A row within both limits is unchanged by them, whatever the order: not shuffled.
            var sum: Int32 = 0, used = 0
            for c in k..<end where s[c].count > 0 {
                sum += s[c].count
                used += 1
            }
            if sum > maxReplicas[j] || used > PolluxRule.maxNodesPerJob {
                scratch.shuffle.shuffle(using: &random)
                for (p, n) in scratch.shuffle.enumerated() { scratch.position[n] = p }
                scratch.row.removeAll(keepingCapacity: true)
                // The row's cells in shuffled node order (position << 32 | cell, sorted).
                for c in k..<end where s[c].count > 0 { scratch.row.append(scratch.position[Int(s[c].node)] << 32 | c) }
                scratch.row.sort()
                sum = 0
                used = 0
                for key in scratch.row {
                    let c = key & 0xFFFF_FFFF
                    let v = min(s[c].count, max(0, maxReplicas[j] - sum))
                    if v > 0 && used >= PolluxRule.maxNodesPerJob {
                        s[c].count = 0
                        continue
                    }
                    s[c].count = v
                    sum += v
                    if v > 0 { used += 1 }
                }
            }
            k = end
        }
        // Node capacity in job order.
        for n in 0..<nodes { scratch.perNode[n] = capacity[n] }
        for c in s.indices {
            let n = Int(s[c].node)
            s[c].count = min(s[c].count, max(0, scratch.perNode[n]))
            scratch.perNode[n] -= s[c].count
        }
        // Rows below the job's fewest devices.
        k = 0
        while k < s.count {
            let end = Self.rowEnd(s, from: k)
            var sum: Int32 = 0
            for c in k..<end { sum += s[c].count }
            if sum < minReplicas[Int(s[k].job)] { for c in k..<end { s[c].count = 0 } }
            k = end
        }
        s.removeAll { $0.count == 0 }
    }

    /// `_mutation`, in place.
    func mutate(_ s: inout [PolluxCell], random: inout SeededGenerator, scratch: inout Scratch) {
        // Each job's row back to base w.p. 0.1: the rows hit are geometric skips apart (one
        // draw per hit, not per job; the same distribution as a draw per job).
        scratch.cells.removeAll(keepingCapacity: true)
        var k = 0
        var hit = skip(0.1, random: &random)
        while true {
            while k < s.count && Int(s[k].job) < hit {
                scratch.cells.append(s[k])
                k += 1
            }
            guard hit < jobs else { break }
            while k < s.count && Int(s[k].job) == hit { k += 1 }
            scratch.cells += base[baseStart[hit]..<baseStart[hit + 1]]
            hit += 1 + skip(0.1, random: &random)
        }
        swap(&s, &scratch.cells)
        // W.p. 0.1 a row's entries zeroed w.p. 0.1 each: only rows and entries that hold
        // replicas draw (zeroing a zero changes nothing).
        k = 0
        var zeroed = false
        while k < s.count {
            let end = Self.rowEnd(s, from: k)
            if random.nextUnitDouble() < 0.1 {
                for c in k..<end where random.nextUnitDouble() < 0.1 {
                    s[c].count = 0
                    zeroed = true
                }
            }
            k = end
        }
        if zeroed { s.removeAll { $0.count == 0 } }
        // Increases: on a node with a free device, each job w.p. p1 + p2 - p1 p2, p1 = 1 / jobs,
        // p2 = 1 / (jobs on the node) for a job already there; to a uniform count from its
        // current one to the node's devices. The cells by node, in job order:
        for n in 0...nodes { scratch.nodeStart[n] = 0 }
        for c in s { scratch.nodeStart[Int(c.node) + 1] += 1 }
        for n in 0..<nodes { scratch.nodeStart[n + 1] += scratch.nodeStart[n] }
        scratch.byNode.removeAll(keepingCapacity: true)
        scratch.byNode.append(contentsOf: repeatElement(0, count: s.count))
        for n in 0..<nodes { scratch.perNode[n] = 0; scratch.perNode2[n] = Int32(scratch.nodeStart[n]) }
        for c in s.indices {
            let n = Int(s[c].node)
            scratch.perNode[n] += s[c].count
            scratch.byNode[Int(scratch.perNode2[n])] = c
            scratch.perNode2[n] += 1
        }
        scratch.added.removeAll(keepingCapacity: true)
        let p1 = 1 / Double(jobs)
        for n in 0..<nodes {
            guard capacity[n] - scratch.perNode[n] >= 1 else { continue }
            let first = scratch.nodeStart[n], last = scratch.nodeStart[n + 1]
            let p = p1 + 1 / Double(last - first) - p1 / Double(last - first)
            // Jobs not on the node are hit w.p. p1 each: the next hit is a geometric skip away
            // (one draw per hit, not per job: the same distribution for thousands of jobs).
            var j = skip(p1, random: &random)
            var present = first
            while true {
                // Jobs already on the node before `j` draw for themselves.
                while present < last && Int(s[scratch.byNode[present]].job) < min(j, jobs) {
                    let c = scratch.byNode[present]
                    if random.nextUnitDouble() < p { s[c].count = increase(s[c].count, n, random: &random) }
                    present += 1
                }
                guard j < jobs else { break }
                if present < last && Int(s[scratch.byNode[present]].job) == j {
                    // A present job's own draw decides it (its p1 + p2 - p1 p2 includes p1).
                    let c = scratch.byNode[present]
                    if random.nextUnitDouble() < p { s[c].count = increase(s[c].count, n, random: &random) }
                    present += 1
                } else {
                    let v = increase(0, n, random: &random)
                    if v > 0 { scratch.added.append(PolluxCell(job: Int32(j), node: Int32(n), count: v)) }
                }
                j += 1 + skip(p1, random: &random)
            }
        }
        if !scratch.added.isEmpty {
            s += scratch.added
            s.sort(by: PolluxCell.precedes)
        }
    }

    /// A uniform count from `count` to node `n`'s devices (`count` when it is above them).
    private func increase(_ count: Int32, _ n: Int, random: inout SeededGenerator) -> Int32 {
        let low = Int(count), high = Int(capacity[n])
        return high >= low ? Int32(low + Int(random.next() % UInt64(high - low + 1))) : count
    }

    /// Failures before the first success of trials with success probability `p` (geometric).
    private func skip(_ p: Double, random: inout SeededGenerator) -> Int {
        guard p < 1 else { return 0 }
        let u = random.nextOpenUnitDouble()
        let k = (log(u) / log(1 - p)).rounded(.down)
        return k < 1e9 ? Int(k) : 1_000_000_000
    }

    /// Non-dominated fronts of `members` (indices, best front first).
    static func fronts(_ members: [Member]) -> [[Int]] {
        let count = members.count
        var dominatedBy = Array(repeating: 0, count: count)
        var dominates = Array(repeating: [Int](), count: count)
        for a in 0..<count {
            for b in (a + 1)..<max(a + 1, count) {
                if Self.dominates(members[a], members[b]) { dominates[a].append(b); dominatedBy[b] += 1 }
                else if Self.dominates(members[b], members[a]) { dominates[b].append(a); dominatedBy[a] += 1 }
            }
        }
        var result: [[Int]] = []
        var current = (0..<count).filter { dominatedBy[$0] == 0 }
        while !current.isEmpty {
            result.append(current)
            var next: [Int] = []
            for a in current {
                for b in dominates[a] {
                    dominatedBy[b] -= 1
                    if dominatedBy[b] == 0 { next.append(b) }
                }
            }
            current = next.sorted()
        }
        return result
    }

    /// Crowding distance of one front (Deb et al.): boundary members infinite, others the
    /// normalised span of their neighbours, summed over both objectives.
    static func crowding(_ front: [Int], _ members: [Member]) -> [Double] {
        var distance = Array(repeating: 0.0, count: front.count)
        guard front.count > 2 else { return Array(repeating: .infinity, count: front.count) }
        for objective in [\Member.fitness, \Member.utility] {
            let sorted = front.indices.sorted { (members[front[$0]][keyPath: objective], $0) < (members[front[$1]][keyPath: objective], $1) }
            let low = members[front[sorted[0]]][keyPath: objective], high = members[front[sorted[sorted.count - 1]]][keyPath: objective]
            distance[sorted[0]] = .infinity
            distance[sorted[sorted.count - 1]] = .infinity
            guard high > low else { continue }
            for k in 1..<(sorted.count - 1) {
                let span = members[front[sorted[k + 1]]][keyPath: objective] - members[front[sorted[k - 1]]][keyPath: objective]
                distance[sorted[k]] += span / (high - low)
            }
        }
        return distance
    }

    /// Rank-and-crowding survival of `size` members (NSGA-II).
    static func survive(_ members: [Member], size: Int) -> [Member] {
        var survivors: [Member] = []
        for (rank, front) in fronts(members).enumerated() {
            let distance = crowding(front, members)
            var ranked = front.indices.map { k -> Member in
                var m = members[front[k]]
                m.rank = rank
                m.crowding = distance[k]
                return m
            }
            if survivors.count + ranked.count > size {
                let order = ranked.indices.sorted { (ranked[$0].crowding, -$0) > (ranked[$1].crowding, -$1) }
                ranked = order.prefix(size - survivors.count).map { ranked[$0] }
            }
            survivors += ranked
            if survivors.count >= size { break }
        }
        return survivors
    }

    /// Binary tournament: domination, then crowding distance, then a coin.
    static func tournament(_ a: Member, _ b: Member, random: inout SeededGenerator) -> Bool {
        if dominates(a, b) { return true }
        if dominates(b, a) { return false }
        if a.crowding != b.crowding { return a.crowding > b.crowding }
        return random.next() & 1 == 0
    }

    /// NSGA-II from `initial` (repaired, duplicates dropped): each generation `population`
    /// offspring (tournament, single-point crossover over jobs, mutation, repair, duplicates of
    /// the population and of each other dropped, up to 100 tries as pymoo's mating), then
    /// survival; a generation with no new state ends the search (pymoo's NSGA2 terminates).
    /// Returns the final non-dominated front, in population order.
    func search(initial: [[PolluxCell]], population: Int, generations: Int, random: inout SeededGenerator) -> [Member] {
        var scratch = Scratch(nodes: nodes)
        var seen = Set<[PolluxCell]>()
        var pop: [Member] = []
        for var s in initial {
            repair(&s, random: &random, scratch: &scratch)
            if seen.insert(s).inserted { pop.append(member(s, scratch: &scratch)) }
        }
        pop = Self.survive(pop, size: population)
        var offspring: [Member] = []
        offspring.reserveCapacity(population)
        for _ in 0..<generations {
            offspring.removeAll(keepingCapacity: true)
            var tries = 0
            while offspring.count < population && tries < 100 {
                tries += 1
                for _ in 0..<((population + 1) / 2) {
                    func pick(_ random: inout SeededGenerator) -> Member {
                        let a = pop[Int(random.next() % UInt64(pop.count))], b = pop[Int(random.next() % UInt64(pop.count))]
                        return Self.tournament(a, b, random: &random) ? a : b
                    }
                    let first = pick(&random), second = pick(&random)
                    // Single-point crossover over jobs: rows before the point from one parent.
                    let point = Int32(random.next() % UInt64(jobs))
                    let cut1 = first.state.firstIndex { $0.job >= point } ?? first.state.count
                    let cut2 = second.state.firstIndex { $0.job >= point } ?? second.state.count
                    var c1 = Array(first.state[0..<cut1])
                    c1 += second.state[cut2...]
                    var c2 = Array(second.state[0..<cut2])
                    c2 += first.state[cut1...]
                    mutate(&c1, random: &random, scratch: &scratch)
                    repair(&c1, random: &random, scratch: &scratch)
                    mutate(&c2, random: &random, scratch: &scratch)
                    repair(&c2, random: &random, scratch: &scratch)
                    if offspring.count < population && seen.insert(c1).inserted { offspring.append(member(c1, scratch: &scratch)) }
                    if offspring.count < population && seen.insert(c2).inserted { offspring.append(member(c2, scratch: &scratch)) }
                }
            }
            if offspring.isEmpty { break }
            pop = Self.survive(pop + offspring, size: population)
            // Only the survivors' states count as seen (pymoo compares with the population).
            seen.removeAll(keepingCapacity: true)
            for m in pop { seen.insert(m.state) }
        }
        let first = Self.fronts(pop).first ?? []
        return first.sorted().map { pop[$0] }
    }
}
