import FleetTwinEngine
import FleetTwinFleet
import Foundation

/// Pollux (Qiao et al., OSDI'21) as its simulator implements it: petuum/adaptdl branch
/// osdi21-artifact, `simulator/pollux.py::PolluxPolicy.optimize` and `Problem`, with the
/// goodput of `simulator/goodput.py` (research/policies.md §10). At each division of a
/// cluster:
/// 1. jobs in Pollux's order: (not pinned: every job here is preemptible, attained service
///    in accelerator-seconds, submission);
/// 2. the state is a jobs x nodes matrix of replicas; the base state is the current one
///    (`PolluxRule` keeps each job's node row as it last chose it);
/// 3. fair-share rebasing: fair replicas = ceil(devices / jobs), and each job's speedup on r
///    replicas is goodput(r) / goodput(fair replicas) (`StatisticalEfficiency.goodput`; a job
///    without efficiency inputs: its throughput curve, Pollux's speedup(n, r) = r rule);
/// 4. objective of a state: each job's speedup x its dominant share (1 / devices) x nodes,
///    multiplied for a job whose row changed by the restart factor
///    max(age - restarts x 30, 0) / (age + 30); fitness = power mean p = -1 of (x + 1e-3);
///    cluster utility = sum of speedups over the devices of the nodes in use;
/// 5. a genetic search (`population` states, `generations` rounds) minimising
///    [-fitness, -utility] by non-dominated sorting with crowding distance (NSGA-II, Deb et
///    al. 2002, as pymoo's `NSGA2` with binary tournaments on domination then crowding,
///    duplicates eliminated), single-point crossover over jobs, Pollux's mutation (a row back
///    to base w.p. 0.1; w.p. 0.1 a row's entries zeroed w.p. 0.1 each; random increases on
///    nodes with free devices) and repair (at most one distributed job per node; replicas
///    <= the job's max replicas, its nodes <= 16, over its nodes in random order; node
///    capacity in job order; rows below the job's fewest devices zeroed);
/// 6. of the final front, the state of highest fitness (the first on ties); the front seeds
///    the next division's population (Pollux's `_prev_states`).
/// A job's max replicas follow Pollux's exploration ramp: min(max(2 x the most replicas it
/// has had, 1), its most devices, max batch / min local batch) (`get_pollux_job_info`), so a
/// lone job gets 1, then 2, then 4 devices over successive rounds.
///
/// Where FleetTwin differs, and why:
/// - The decision is device counts. `ElasticPolicy` carries them out and the run's placement
///   rule picks the nodes, so the node rows are this rule's own model of the layout (kept
///   from its last choice, re-laid first-fit when a job's count differs); the
///   one-distributed-job-per-node and 16-node rules bound the counts, not the real placement.
///   Goodput here has no node dimension (the throughput curve is per device count).
/// - Jobs held by `ElasticPolicy` (stopping, or not progressed since their last change) are
///   out of the search; the devices they hold are laid on nodes first and the search divides
///   the rest among the other jobs (fair share and dominant share over those devices).
/// - Pollux decides only every 60 s; `ElasticPolicy` also divides at arrivals and
///   completions, where a new job's restart factor is 0 (age 0), so it mostly waits for the
///   next round unless devices are idle (utility then prefers starting it).
/// - Statistical efficiency steers the decision only: the simulated job progresses at its
///   throughput curve (its work is in full-size-throughput time), not in Pollux's
///   statistical epochs, and its batch size is not re-tuned between rounds.
/// - randomness: one `SeededGenerator` (the run's seed, stream "pollux"), where Pollux uses
///   unseeded `np.random`; the same seed gives the same decisions.
public struct PolluxRule: ElasticRule {
    public let name = "pollux"
    /// Pollux decides at its rounds (and here at arrivals and completions), not at the
    /// releases its own preemptions and shrinks cause.
    public var dividesAtReleases: Bool { false }
    /// NSGA-II's population and generations (Pollux: 100 and 100).
    public let population: Int
    public let generations: Int
    private var random: SeededGenerator

    /// Pollux's restart delay in the restart factor (`Problem._evaluate`, delay = 30 s) and
    /// its most nodes per job (`_repair`, max_nodes = 16).
    public static let restartDelay = 30.0
    public static let maxNodesPerJob = 16
    /// Pollux's cap on any job's replicas (`get_pollux_job_info`: 64).
    public static let replicaCap = 64

    /// Per job: the most replicas it has had (the exploration ramp) and its node row as this
    /// rule last laid it.
    private var mostReplicas: [JobIndex: Int] = [:]
    private var layout: [JobIndex: [Int32]] = [:]
    /// The last front of each cluster's search (jobs and states), for the next division.
    private var fronts: [Front] = []

    struct Front {
        var jobs: [JobIndex]
        var nodes: Int
        var states: [[Int32]]
    }

    public init(population: Int = 100, generations: Int = 100, seed: UInt64 = 0) {
        self.population = max(2, population)
        self.generations = max(0, generations)
        random = SeededGenerator(seed: seed, stream: "pollux")
    }

    public mutating func forget(_ job: JobIndex) {
        mostReplicas[job] = nil
        layout[job] = nil
    }

    /// A job's max replicas now: the exploration ramp, within its most devices and its batch
    /// range, never below its fewest devices (a job held below those could never run).
    public func maxReplicas(_ job: ElasticCandidate) -> Int {
        var most = min(max(2 * (mostReplicas[job.job] ?? 0), 1), job.maxDevices, Self.replicaCap)
        if let e = job.efficiency { most = min(most, max(1, Int((e.maxBatch / e.minLocalBatch).rounded(.down)))) }
        return max(most, job.minDevices)
    }

    /// Each job's speedup on 0...most replicas, rebased to its goodput on `fair` replicas
    /// (Problem.__init__): a table, since the search asks millions of times.
    public static func speedups(_ job: ElasticCandidate, most: Int, fair: Int) -> [Double] {
        func goodput(_ r: Int) -> Double {
            guard r >= 1 else { return 0 }
            guard let e = job.efficiency else { return job.rate(on: r) }
            return e.goodput(replicas: r, rate: { job.rate(on: $0) }).goodput
        }
        let base = goodput(fair)
        return (0...most).map { base > 0 ? goodput($0) / base : 0 }
    }

    /// Pollux's restart factor: max(age - restarts x 30, 0) / (age + 30), seconds.
    public static func restartFactor(age: Double, restarts: Int) -> Double {
        max(age - Double(restarts) * restartDelay, 0) / (age + restartDelay)
    }

    public mutating func divide(_ jobs: [ElasticCandidate], held: [ElasticCandidate], in cluster: ElasticCluster, at now: VirtualTime) throws -> ElasticDivision {
        for j in jobs + held where j.devices > (mostReplicas[j.job] ?? 0) { mostReplicas[j.job] = j.devices }
        guard !jobs.isEmpty else { return ElasticDivision(shares: []) }
        let nodes = max(1, cluster.nodes), perNode = max(1, cluster.devicesPerNode)
        // Held jobs first, on their rows where those still fit, then the rest.
        var capacity = Array(repeating: Int32(perNode), count: nodes)
        for h in held.sorted(by: { $0.job < $1.job }) where h.devices > 0 {
            let row = lay(h, capacity: capacity)
            for n in 0..<nodes { capacity[n] -= row[n] }
            layout[h.job] = row
        }
        // Pollux's job order: attained service, then submission (then index, for ties).
        let order = jobs.sorted { ($0.attainedService, $0.submit, $0.job) < ($1.attainedService, $1.submit, $1.job) }
        var free = capacity
        var base: [Int32] = []
        for j in order {
            let row = j.devices > 0 ? lay(j, capacity: free) : Array(repeating: 0, count: nodes)
            for n in 0..<nodes { free[n] -= row[n] }
            base += row
        }
        let total = capacity.reduce(0) { $0 + Int($1) }
        let fair = max(1, (total + order.count - 1) / order.count)
        let problem = PolluxProblem(
            jobs: order.count, nodes: nodes, capacity: capacity, base: base,
            maxReplicas: order.map { Int32(maxReplicas($0)) },
            minReplicas: order.map { Int32($0.minDevices) },
            speedups: order.map { Self.speedups($0, most: maxReplicas($0), fair: fair) },
            restartFactor: order.map { Self.restartFactor(age: $0.age.seconds, restarts: $0.restarts) },
            devices: total)
        // The previous front, adapted to these jobs (new jobs' rows 0), else the base state.
        var initial: [[Int32]] = [base]
        let ids = order.map(\.job)
        if let k = fronts.firstIndex(where: { $0.nodes == nodes && $0.jobs.contains(where: ids.contains) }) {
            let previous = fronts[k]
            var at: [JobIndex: Int] = [:]
            for (i, j) in previous.jobs.enumerated() { at[j] = i }
            initial = previous.states.map { state in
                var s = [Int32](repeating: 0, count: order.count * nodes)
                for (i, j) in ids.enumerated() {
                    guard let p = at[j] else { continue }
                    for n in 0..<nodes { s[i * nodes + n] = state[p * nodes + n] }
                }
                return s
            }
            fronts.remove(at: k)
        }
        let front = problem.search(initial: initial, population: population, generations: generations, random: &random)
        fronts.append(Front(jobs: ids, nodes: nodes, states: front.map(\.state)))
        // The highest fitness on the front; the first on ties (np.argmin).
        var best = 0
        for k in front.indices where front[k].fitness > front[best].fitness { best = k }
        let chosen = front[best].state
        var shares = Array(repeating: 0, count: jobs.count)
        var position: [JobIndex: Int] = [:]
        for (k, j) in jobs.enumerated() { position[j.job] = k }
        for (i, j) in order.enumerated() {
            let row = Array(chosen[(i * nodes)..<((i + 1) * nodes)])
            let count = row.reduce(0) { $0 + Int($1) }
            shares[position[j.job]!] = count
            layout[j.job] = count > 0 ? row : nil
        }
        return ElasticDivision(shares: shares)
    }

    /// A job's node row: its last row if it still holds that many devices and the row fits
    /// `capacity`, else its devices laid on the nodes with the most free devices first.
    private func lay(_ job: ElasticCandidate, capacity: [Int32]) -> [Int32] {
        if let row = layout[job.job], row.count == capacity.count, row.reduce(0, { $0 + Int($1) }) == job.devices,
           zip(row, capacity).allSatisfy({ $0 <= $1 }) {
            return row
        }
        var row = Array(repeating: Int32(0), count: capacity.count)
        var left = Int32(job.devices)
        let byFree = capacity.indices.sorted { (capacity[$0], -$0) > (capacity[$1], -$1) }
        for n in byFree where left > 0 && capacity[n] > 0 {
            let take = min(left, capacity[n])
            row[n] = take
            left -= take
        }
        return row
    }
}

/// One division's search problem (pollux.py `Problem`): flat jobs x nodes states.
struct PolluxProblem {
    let jobs: Int
    let nodes: Int
    let capacity: [Int32]
    let base: [Int32]
    let maxReplicas: [Int32]
    let minReplicas: [Int32]
    let speedups: [[Double]]
    let restartFactor: [Double]
    /// Devices the search divides (its dominant share is 1 / devices).
    let devices: Int

    struct Member {
        var state: [Int32]
        var fitness: Double
        var utility: Double
        var rank = 0
        var crowding = 0.0
    }

    /// (fitness, utility) of a state (`_evaluate`, `get_cluster_utilities`).
    func evaluate(_ s: [Int32]) -> (fitness: Double, utility: Double) {
        let scale = Double(nodes) / Double(max(devices, 1))
        var inverseSum = 0.0, speedupSum = 0.0
        var active = Array(repeating: false, count: nodes)
        for j in 0..<jobs {
            var replicas = 0, changed = false
            for n in 0..<nodes {
                let v = s[j * nodes + n]
                replicas += Int(v)
                if v > 0 { active[n] = true }
                if v != base[j * nodes + n] { changed = true }
            }
            let table = speedups[j]
            let speedup = replicas < table.count ? table[replicas] : table[table.count - 1]
            speedupSum += speedup
            var x = speedup * scale
            if changed { x *= restartFactor[j] }
            inverseSum += 1 / (x + 1e-3)
        }
        var used = 0
        for n in 0..<nodes where active[n] { used += Int(capacity[n]) }
        return (Double(jobs) / inverseSum, used > 0 ? speedupSum / Double(used) : 0)
    }

    func member(_ s: [Int32]) -> Member {
        let (f, u) = evaluate(s)
        return Member(state: s, fitness: f, utility: u)
    }

    /// Whether a dominates b on (maximise fitness, maximise utility).
    static func dominates(_ a: Member, _ b: Member) -> Bool {
        a.fitness >= b.fitness && a.utility >= b.utility && (a.fitness > b.fitness || a.utility > b.utility)
    }

    /// `_repair`, in place.
    func repair(_ s: inout [Int32], random: inout SeededGenerator) {
        // At most one distributed job per node: once a node has seen a second distributed
        // job in job order, that job's and every later job's replicas there are dropped
        // (pollux.py's cumulative mask, kept as it is).
        var distributed = Array(repeating: false, count: jobs)
        for j in 0..<jobs {
            var used = 0
            for n in 0..<nodes where s[j * nodes + n] > 0 { used += 1 }
            distributed[j] = used > 1
        }
        for n in 0..<nodes {
            var seen = 0
            for j in 0..<jobs {
                if distributed[j] && s[j * nodes + n] > 0 { seen += 1 }
                if seen > 1 { s[j * nodes + n] = 0 }
            }
        }
        // Max replicas and at most 16 nodes, over the job's nodes in a random order.
        var shuffle = Array(0..<nodes)
        for j in 0..<jobs {
            // A row within both limits is unchanged by them, whatever the order: not shuffled.
            var sum: Int32 = 0, used = 0
            for n in 0..<nodes where s[j * nodes + n] > 0 {
                sum += s[j * nodes + n]
                used += 1
            }
            if sum <= maxReplicas[j] && used <= PolluxRule.maxNodesPerJob { continue }
            shuffle.shuffle(using: &random)
            sum = 0
            used = 0
            for n in shuffle {
                let i = j * nodes + n
                let v = min(s[i], max(0, maxReplicas[j] - sum))
                if v > 0 && used >= PolluxRule.maxNodesPerJob {
                    s[i] = 0
                    continue
                }
                s[i] = v
                sum += v
                if v > 0 { used += 1 }
            }
        }
        // Node capacity in job order.
        for n in 0..<nodes {
            var left = capacity[n]
            for j in 0..<jobs {
                let i = j * nodes + n
                s[i] = min(s[i], max(0, left))
                left -= s[i]
            }
        }
        // Rows below the job's fewest devices.
        for j in 0..<jobs {
            var sum: Int32 = 0
            for n in 0..<nodes { sum += s[j * nodes + n] }
            if sum < minReplicas[j] { for n in 0..<nodes { s[j * nodes + n] = 0 } }
        }
    }

    /// `_mutation`, in place.
    func mutate(_ s: inout [Int32], random: inout SeededGenerator) {
        for j in 0..<jobs where random.nextUnitDouble() < 0.1 {
            for n in 0..<nodes { s[j * nodes + n] = base[j * nodes + n] }
        }
        for j in 0..<jobs where random.nextUnitDouble() < 0.1 {
            for n in 0..<nodes where random.nextUnitDouble() < 0.1 { s[j * nodes + n] = 0 }
        }
        // Increases: on a node with a free device, each job w.p. p1 + p2 - p1 p2, p1 = 1 / jobs,
        // p2 = 1 / (jobs on the node) for a job already there; to a uniform count from its
        // current one to the node's devices.
        for n in 0..<nodes {
            var used: Int32 = 0, present = 0
            for j in 0..<jobs {
                used += s[j * nodes + n]
                if s[j * nodes + n] > 0 { present += 1 }
            }
            guard capacity[n] - used >= 1 else { continue }
            let p1 = 1 / Double(jobs)
            // Jobs not on the node are hit w.p. p1 each: the next hit is a geometric skip away
            // (one draw per hit, not per job: the same distribution for thousands of jobs).
            var j = skip(p1, random: &random)
            var checked = 0
            while checked < jobs {
                // Jobs already on the node before `j` draw for themselves.
                while checked < min(j, jobs) {
                    let i = checked * nodes + n
                    if s[i] > 0, random.nextUnitDouble() < p1 + 1 / Double(present) - p1 / Double(present) { increase(&s, i, n, random: &random) }
                    checked += 1
                }
                guard j < jobs else { break }
                let i = j * nodes + n
                if s[i] > 0 {
                    // A present job's own draw decides it (its p1 + p2 - p1 p2 includes p1).
                    if random.nextUnitDouble() < p1 + 1 / Double(present) - p1 / Double(present) { increase(&s, i, n, random: &random) }
                } else {
                    increase(&s, i, n, random: &random)
                }
                checked = j + 1
                j += 1 + skip(p1, random: &random)
            }
        }
    }

    /// A uniform count from entry `i`'s current one to node `n`'s devices.
    private func increase(_ s: inout [Int32], _ i: Int, _ n: Int, random: inout SeededGenerator) {
        let low = Int(s[i]), high = Int(capacity[n])
        if high >= low { s[i] = Int32(low + Int(random.next() % UInt64(high - low + 1))) }
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
    /// survival; a generation with no new state ends the search (pymoo's NSGA2 terminates). Returns the final non-dominated front, in population order.
    func search(initial: [[Int32]], population: Int, generations: Int, random: inout SeededGenerator) -> [Member] {
        var seen = Set<[Int32]>()
        var pop: [Member] = []
        for var s in initial {
            repair(&s, random: &random)
            if seen.insert(s).inserted { pop.append(member(s)) }
        }
        pop = Self.survive(pop, size: population)
        for _ in 0..<generations {
            var offspring: [Member] = []
            var tries = 0
            while offspring.count < population && tries < 100 {
                tries += 1
                for _ in 0..<((population + 1) / 2) {
                    func pick(_ random: inout SeededGenerator) -> Member {
                        let a = pop[Int(random.next() % UInt64(pop.count))], b = pop[Int(random.next() % UInt64(pop.count))]
                        return Self.tournament(a, b, random: &random) ? a : b
                    }
                    let first = pick(&random), second = pick(&random)
                    let point = Int(random.next() % UInt64(jobs)) * nodes
                    var c1 = Array(first.state[0..<point] + second.state[point...])
                    var c2 = Array(second.state[0..<point] + first.state[point...])
                    for k in 0..<2 {
                        var c = k == 0 ? c1 : c2
                        mutate(&c, random: &random)
                        repair(&c, random: &random)
                        if k == 0 { c1 = c } else { c2 = c }
                    }
                    for c in [c1, c2] where offspring.count < population && seen.insert(c).inserted { offspring.append(member(c)) }
                }
            }
            if offspring.isEmpty { break }
            pop = Self.survive(pop + offspring, size: population)
            // Only the survivors' states count as seen (pymoo compares with the population).
            seen = Set(pop.map(\.state))
        }
        let first = Self.fronts(pop).first ?? []
        return first.sorted().map { pop[$0] }
    }
}
