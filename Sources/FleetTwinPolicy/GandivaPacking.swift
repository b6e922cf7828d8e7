import FleetTwinEngine
import FleetTwinFleet

/// A job type as Gavel's throughput tables key it: a model at a batch size and its scale
/// factor (accelerators per gang), written `('ResNet-18 (batch size 64)', 1)` in
/// `simulation_throughputs.json` (stanford-futuredata/gavel `scheduler/`, c4fa400).
public struct GavelJobType: Sendable, Hashable, CustomStringConvertible {
    /// The model and batch size, e.g. `ResNet-18 (batch size 64)`.
    public var model: String
    /// Accelerators per gang (Gavel's scale factor), at least 1.
    public var scaleFactor: Int

    /// A job type; `scaleFactor` at least 1 (the file reader checks it).
    public init(model: String, scaleFactor: Int) {
        self.model = model
        self.scaleFactor = scaleFactor
    }

    /// Gavel's key text: `('model', scaleFactor)`.
    public var description: String { "('\(model)', \(scaleFactor))" }
}

/// Isolated and co-located (packed) throughputs per worker (accelerator) type, in steps per
/// second, as Gavel's `simulation_throughputs.json` has them: `[worker][job]["null"]` is the
/// job's throughput alone, `[worker][jobA][jobB] = [tA, tB]` what each keeps when A and B
/// are packed on the same accelerators (research/policies.md §5b). 0 means "cannot run"
/// (alone) or "cannot be packed" (a pair, e.g. out of memory). Read from a file by
/// FleetTwinScenario's `GavelThroughputFile`.
public struct ColocationThroughputs: Sendable, Equatable {
    private struct Key: Hashable { var worker: String; var job: GavelJobType }
    private struct PairKey: Hashable { var worker: String; var first: GavelJobType; var second: GavelJobType }
    private struct Packed: Equatable { var first: Double; var second: Double }

    /// Worker types with at least one entry, in the order first given.
    public private(set) var workerTypes: [String] = []
    private var isolatedTable: [Key: Double] = [:]  // looked up, never iterated
    private var packedTable: [PairKey: Packed] = [:]  // looked up, never iterated

    /// An empty table: no job type is known, so nothing is packed.
    public init() {}

    /// Sets `job`'s throughput alone on `worker` (steps/s, ≥ 0).
    public mutating func setIsolated(_ throughput: Double, job: GavelJobType, on worker: String) {
        if !workerTypes.contains(worker) { workerTypes.append(worker) }
        isolatedTable[Key(worker: worker, job: job)] = throughput
    }

    /// Sets what `a` and `b` keep when packed on `worker` (steps/s each, ≥ 0), in both orders.
    public mutating func setPacked(_ a: GavelJobType, _ b: GavelJobType, _ throughputs: (Double, Double), on worker: String) {
        if !workerTypes.contains(worker) { workerTypes.append(worker) }
        packedTable[PairKey(worker: worker, first: a, second: b)] = Packed(first: throughputs.0, second: throughputs.1)
        packedTable[PairKey(worker: worker, first: b, second: a)] = Packed(first: throughputs.1, second: throughputs.0)
    }

    /// `job`'s throughput alone on `worker`; nil when the table has none.
    public func isolated(_ job: GavelJobType, on worker: String) -> Double? {
        isolatedTable[Key(worker: worker, job: job)]
    }

    /// What `a` and `b` keep packed on `worker`, in that order; nil when the table has none.
    public func packed(_ a: GavelJobType, _ b: GavelJobType, on worker: String) -> (Double, Double)? {
        packedTable[PairKey(worker: worker, first: a, second: b)].map { ($0.first, $0.second) }
    }

    /// Gavel's normalised packed throughput of a pair over the cluster's worker types,
    /// Σ_workers Σ_{both jobs} packed / isolated (`gandiva.py::_get_normalized_throughput`; a
    /// sum over types, so a loose threshold on more than one type). 0 when any packed
    /// throughput is 0 or missing, or an isolated one is (Gavel's table always has both; a
    /// missing one here means FleetTwin cannot tell what packing would do).
    public func normalizedPackedThroughput(_ a: GavelJobType, _ b: GavelJobType, workers: [String]) -> Double {
        var sum = 0.0
        for worker in workers {
            guard let (ta, tb) = packed(a, b, on: worker), ta > 0, tb > 0,
                  let ia = isolated(a, on: worker), let ib = isolated(b, on: worker), ia > 0, ib > 0 else { return 0 }
            sum += ta / ia + tb / ib
        }
        return sum
    }

    /// Equal when they hold the same worker types (in order) and the same entries.
    public static func == (x: ColocationThroughputs, y: ColocationThroughputs) -> Bool {
        x.workerTypes == y.workerTypes && x.isolatedTable == y.isolatedTable && x.packedTable == y.packedTable
    }
}

/// The allocation step of Gavel's Gandiva packing policy (`policies/gandiva.py::GandivaPolicy`,
/// name `Gandiva_Packing`, stanford-futuredata/gavel c4fa400; research/policies.md §5b), run
/// at each of Gavel's allocation recomputations:
/// 1. pairs whose member left, or whose normalised packed throughput
///    (`ColocationThroughputs.normalizedPackedThroughput`) is below 1.0, are dropped;
/// 2. while the jobs' scale factors sum to at most the cluster's accelerators, nothing is
///    packed: every job is its own combination;
/// 3. otherwise the jobs not in a pair are paired at random: up to n draws (n = those jobs at
///    the start) of two of them, a pair formed only when both have the same scale factor;
///    pairs persist across recomputations; the rest stay alone;
/// 4. every combination gets the equal share x_j = (N_j / m) / s over m combinations, each
///    row divided by max(Σ_j x_j, 1) (`_get_allocation`, as Gavel's isolated policy).
///
/// Differs from Gavel's: draws come from a `SeededGenerator` (stream `gavel-gandiva`), not
/// Python's `random.Random(seed)`, so the pairs differ from Gavel's for the same seed but are
/// the same on every run of one seed; a pair is formed only when the table has positive
/// packed and isolated throughputs for it on every worker type of the cluster (Gavel's table
/// has every pair of its job types, and Gavel would form a pair that cannot run packed, then
/// never schedule it; a job FleetTwin has no figures for stays alone, and a draw of it counts
/// as a draw); combinations are listed in the order of their first job in `allocate`'s input.
///
/// What this is not yet: a policy. Running a pair together on the same accelerators at its
/// packed throughputs needs the engine to let two jobs share devices, which it does not
/// (`Accelerator` refuses a second holder); see README's Gavel section.
public struct GandivaPacking: Sendable {
    /// A job as the allocation sees it: its index, scale factor and Gavel job type (nil:
    /// none known; such a job is never packed).
    public struct Member: Sendable, Equatable {
        public var index: JobIndex
        public var scaleFactor: Int
        public var type: GavelJobType?

        /// A job of `scaleFactor` accelerators per gang, of Gavel job `type` (nil: unknown).
        public init(index: JobIndex, scaleFactor: Int, type: GavelJobType?) {
            self.index = index
            self.scaleFactor = scaleFactor
            self.type = type
        }
    }

    /// One combination (a job alone, or a packed pair) and its share x_j of each worker type
    /// (in the order of `allocate`'s `workers`), a fraction of wall-clock time.
    public struct Combination: Sendable, Equatable {
        public var jobs: [JobIndex]
        public var shares: [Double]

        /// A combination of one or two jobs and its shares, per worker type.
        public init(jobs: [JobIndex], shares: [Double]) {
            self.jobs = jobs
            self.shares = shares
        }
    }

    /// The pairs formed so far, in the order they were formed (persisting across calls).
    public private(set) var pairs: [(JobIndex, JobIndex)] = []
    private var generator: SeededGenerator

    /// `seed`: the run's seed (Gavel's `--seed`).
    public init(seed: UInt64) {
        generator = SeededGenerator(seed: seed, stream: "gavel-gandiva")
    }

    /// One recomputation. `jobs`: the active jobs, in arrival order; `workers`: the cluster's
    /// accelerator types by name (as the table names them) and their counts N_j.
    public mutating func allocate(_ jobs: [Member], workers: [(type: String, count: Int)],
                                  throughputs: ColocationThroughputs) -> [Combination] {
        var position: [JobIndex: Int] = [:]  // looked up, never iterated
        for (i, job) in jobs.enumerated() { position[job.index] = i }
        let names = workers.map(\.type)
        func normalized(_ a: Int, _ b: Int) -> Double {
            guard let ta = jobs[a].type, let tb = jobs[b].type else { return 0 }
            return throughputs.normalizedPackedThroughput(ta, tb, workers: names)
        }
        pairs.removeAll { pair in
            guard let a = position[pair.0], let b = position[pair.1] else { return true }
            return normalized(a, b) < 1.0
        }
        var combinations: [[Int]]  // positions in `jobs`
        if jobs.reduce(0, { $0 + $1.scaleFactor }) <= workers.reduce(0, { $0 + $1.count }) {
            combinations = jobs.indices.map { [$0] }
        } else {
            var paired = Array(repeating: false, count: jobs.count)
            for (a, b) in pairs { paired[position[a]!] = true; paired[position[b]!] = true }
            var candidates = jobs.indices.filter { !paired[$0] }
            let draws = candidates.count
            var drawn = 0
            while candidates.count > 1 && drawn < draws {
                drawn += 1
                // Two distinct candidates, uniformly (as `random.sample(candidates, 2)`).
                let first = Int(generator.next() % UInt64(candidates.count))
                var second = Int(generator.next() % UInt64(candidates.count - 1))
                if second >= first { second += 1 }
                let (a, b) = (candidates[first], candidates[second])
                guard jobs[a].scaleFactor == jobs[b].scaleFactor, packable(jobs[a], jobs[b], names, throughputs) else { continue }
                candidates.removeAll { $0 == a || $0 == b }
                pairs.append((jobs[a].index, jobs[b].index))
                paired[a] = true
                paired[b] = true
            }
            var partner = Array(repeating: -1, count: jobs.count)
            for (a, b) in pairs { partner[position[a]!] = position[b]!; partner[position[b]!] = position[a]! }
            combinations = []
            for i in jobs.indices where partner[i] < 0 || partner[i] > i {
                combinations.append(partner[i] < 0 ? [i] : [i, partner[i]])
            }
        }
        let m = Double(combinations.count)
        return combinations.map { members in
            let scale = Double(jobs[members[0]].scaleFactor)
            let shares = workers.map { Double($0.count) / m / scale }
            let sum = max(shares.reduce(0, +), 1)
            return Combination(jobs: members.map { jobs[$0].index }, shares: shares.map { $0 / sum })
        }
    }

    /// Whether the table says both would progress packed, on every worker type.
    private func packable(_ a: Member, _ b: Member, _ workers: [String], _ throughputs: ColocationThroughputs) -> Bool {
        guard let ta = a.type, let tb = b.type else { return false }
        return throughputs.normalizedPackedThroughput(ta, tb, workers: workers) > 0
    }
}
