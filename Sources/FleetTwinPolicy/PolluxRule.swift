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
///    the next division's population (Pollux's warm start: `PolluxPolicy.optimize` keeps
///    `_prev_states` and `_adapt_prev_states` maps them onto the current jobs and nodes).
/// The search runs once per round (60 s), as Pollux's does (`simulator.py::Cluster.step`
/// calls `optimize` once per `--interval`; AdaptDL's `allocator.py::_optimize_all_loop`
/// every 60 s), over all active jobs and nodes (Pollux bounds neither). Its states are
/// sparse (`PolluxCell`: only the nodes a job uses), so a search costs the states' cells,
/// at most about one per device, not jobs x nodes; the operators keep Pollux's
/// distributions (`PolluxProblem`).
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
/// - Between rounds a waiting job whose whole world fits idle devices starts at once
///   (`ElasticPolicy`'s work conservation; AdaptDL's `PolluxPolicy.allocate_job` likewise
///   starts an arriving job on free devices without a search, on its fewest replicas). The
///   previous front then lacks the current allocation, which Pollux's always holds (the state
///   it chose), so the base state is added to the warm-started population.
/// - Statistical efficiency steers the decision only: the simulated job progresses at its
///   throughput curve (its work is in full-size-throughput time), not in Pollux's
///   statistical epochs, and its batch size is not re-tuned between rounds.
/// - randomness: one `SeededGenerator` (the run's seed, stream "pollux"), where Pollux uses
///   unseeded `np.random`; the same seed gives the same decisions.
public struct PolluxRule: ElasticRule {
    public let name = "pollux"
    /// Pollux decides at its rounds only: not at arrivals and completions, nor at the
    /// releases its own preemptions and shrinks cause.
    public var dividesAtReleases: Bool { false }
    public var dividesAtArrivalsAndCompletions: Bool { false }
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
    /// Per job: its goodput on 0, 1, 2... replicas, for the curve and inputs it was computed from.
    private var goodputs: [JobIndex: GoodputTable] = [:]
    struct GoodputTable {
        var throughput: [Double]
        var efficiency: StatisticalEfficiency?
        var values: [Double]
    }
    /// The last front of each cluster's search (jobs and states), for the next division.
    private var fronts: [Front] = []

    struct Front {
        var jobs: [JobIndex]
        var nodes: Int
        var states: [[PolluxCell]]
    }

    public init(population: Int = 100, generations: Int = 100, seed: UInt64 = 0) {
        self.population = max(2, population)
        self.generations = max(0, generations)
        random = SeededGenerator(seed: seed, stream: "pollux")
    }

    public mutating func forget(_ job: JobIndex) {
        mostReplicas[job] = nil
        layout[job] = nil
        goodputs[job] = nil
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
        let base = goodput(job, replicas: fair)
        return (0...most).map { base > 0 ? goodput(job, replicas: $0) / base : 0 }
    }

    /// A job's goodput on `replicas` (`StatisticalEfficiency.goodput`), or without efficiency
    /// inputs its throughput; 0 on none.
    static func goodput(_ job: ElasticCandidate, replicas r: Int) -> Double {
        guard r >= 1 else { return 0 }
        guard let e = job.efficiency else { return job.rate(on: r) }
        return e.goodput(replicas: r, rate: { job.rate(on: $0) }).goodput
    }

    /// `speedups` from the job's cached goodput table: goodput depends only on the job (its
    /// throughput curve and efficiency inputs) and the replica count, so each count's goodput
    /// (50 batch sizes each) is computed once per job, not at every division.
    mutating func cachedSpeedups(_ job: ElasticCandidate, most: Int, fair: Int) -> [Double] {
        var table = goodputs[job.job] ?? GoodputTable(throughput: job.throughput, efficiency: job.efficiency, values: [])
        if table.throughput != job.throughput || table.efficiency != job.efficiency {
            table = GoodputTable(throughput: job.throughput, efficiency: job.efficiency, values: [])
        }
        let needed = max(most, fair)
        while table.values.count <= needed { table.values.append(Self.goodput(job, replicas: table.values.count)) }
        goodputs[job.job] = table
        let base = table.values[fair]
        return (0...most).map { base > 0 ? table.values[$0] / base : 0 }
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
        var base: [PolluxCell] = []
        for (i, j) in order.enumerated() where j.devices > 0 {
            let row = lay(j, capacity: free)
            for n in 0..<nodes where row[n] > 0 {
                free[n] -= row[n]
                base.append(PolluxCell(job: Int32(i), node: Int32(n), count: row[n]))
            }
        }
        let total = capacity.reduce(0) { $0 + Int($1) }
        let fair = max(1, (total + order.count - 1) / order.count)
        var speedups: [[Double]] = []
        speedups.reserveCapacity(order.count)
        for j in order { speedups.append(cachedSpeedups(j, most: maxReplicas(j), fair: fair)) }
        let problem = PolluxProblem(
            jobs: order.count, nodes: nodes, capacity: capacity, base: base,
            maxReplicas: order.map { Int32(maxReplicas($0)) },
            minReplicas: order.map { Int32($0.minDevices) },
            speedups: speedups,
            restartFactor: order.map { Self.restartFactor(age: $0.age.seconds, restarts: $0.restarts) },
            devices: total)
        // The previous front, adapted to these jobs (new jobs' rows 0), else the base state.
        var initial: [[PolluxCell]] = [base]
        let ids = order.map(\.job)
        var at: [JobIndex: Int32] = [:]
        for (i, j) in ids.enumerated() { at[j] = Int32(i) }
        if let k = fronts.firstIndex(where: { $0.nodes == nodes && $0.jobs.contains { at[$0] != nil } }) {
            let previous = fronts[k]
            let now = previous.jobs.map { at[$0] ?? -1 }
            initial = previous.states.map { state in
                var s: [PolluxCell] = []
                s.reserveCapacity(state.count)
                for c in state where now[Int(c.job)] >= 0 { s.append(PolluxCell(job: now[Int(c.job)], node: c.node, count: c.count)) }
                s.sort(by: PolluxCell.precedes)
                return s
            }
            fronts.remove(at: k)
            // The current allocation joins them: in Pollux the state it chose is on its
            // previous front, but here a job may have started since (work conservation), and
            // a population that never held it let the search undo the start at once.
            initial.append(base)
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
        for j in order { layout[j.job] = nil }
        var k = 0
        while k < chosen.count {
            let end = PolluxProblem.rowEnd(chosen, from: k)
            let job = order[Int(chosen[k].job)].job
            var row = Array(repeating: Int32(0), count: nodes)
            for c in chosen[k..<end] { row[Int(c.node)] = c.count }
            shares[position[job]!] = row.reduce(0) { $0 + Int($1) }
            layout[job] = row
            k = end
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
