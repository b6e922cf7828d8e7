import FleetTwinEngine
import FleetTwinSolver
import Foundation

/// Sia (Jayaram Subramanya et al., SOSP'23) as its authors' simulator implements it:
/// siasosp23/artifacts `sia-simulator/sia.py::SiaPolicy.optimize_mip` and
/// `__solve_mip_rescaled` (research/policies.md §12), with the paper's settings
/// (`run_experiment.sh`: p = −0.5, λ_n = 1.1, 60 s rounds). Per job i and configuration c
/// (a device count, `configurations(devicesPerNode:nodes:)`, within the job's fewest and
/// most devices):
/// 1. goodput G_i,c = the job's throughput on c devices (`ElasticCandidate.throughput`);
/// 2. the row divided by its smallest non-zero entry, floored at 1e-4 (`ZERO_ALLOC_GAIN`);
/// 3. every entry but the job's current configuration multiplied by the re-allocation factor
///    r_i = max(age − restarts·P_i, 0) / (age + P_i), r_i = 1 while age < P_i
///    (`reallocationFactor`), P_i the restart penalty of the job's model (`restartPenalty`);
/// 4. A_i,c = round(G_i,c^p, 2), at most 3,000;
/// 5. the MILP over binary X_i,c: minimise Σ A·X + λ_n·(N − Σ X) (maximise when p > 0)
///    subject to Σ_c X_i,c ≤ 1 per job and Σ c·X_i,c ≤ the cluster's devices, solved by Cbc
///    at a relative gap of 1e-4 (Sia's `sia_solver_thresh`).
///
/// Where FleetTwin differs, and why:
/// - Goodput is throughput. Sia's goodput is Pollux's, throughput × statistical efficiency
///   (gradient noise scale, per-epoch profiles, batch-size tuning); FleetTwin's job model has
///   no statistical efficiency (its jobs carry a throughput curve, not gradient statistics),
///   so none is invented: goodput = throughput, as for Sia's jobs with a fixed batch size.
/// - One cluster, one GPU type. `ElasticPolicy` homes each job on one cluster and divides
///   each cluster among its own jobs, so each MILP has one type; Sia's MILP also chooses
///   between types (one column per type and configuration). Across clusters the home choice
///   is `ElasticPolicy`'s, not Sia's.
/// - Configurations follow the node size: powers of two below a node, then whole nodes up to
///   the cluster (Sia's tables stop at 64 GPUs, 16 four-GPU or 8 eight-GPU nodes). A job none
///   of whose configurations lies within its fewest and most devices gets one column at its
///   most devices, with goodput = that count, as Sia's rigid jobs get.
/// - A job in the middle of a checkpoint-restore keeps its allocation in Sia by a constraint;
///   here `ElasticPolicy` holds such jobs out of the division (FleetTwin's hysteresis
///   invariant) and gives the rule only the devices left.
/// - Between allocations of equal cost the current one stays (its columns are cheaper by
///   `tieBreak`, 1e-6). Sia solves only every 60 s; FleetTwin also re-solves at every arrival,
///   completion and release, and Cbc's choice among equal-cost allocations (every 1-device
///   job's row is [1]) would otherwise move devices at every event: on the bench trace, jobs
///   were preempted and restarted in turn within the same second.
/// - Sia's λ_a (allocation-change penalty) is parsed but never used in its objective; it is
///   not an option here.
public struct SiaRule: ElasticShareRule {
    /// Sia decides at its rounds (60 s), arrivals and completions, not at the releases its
    /// own preemptions and shrinks cause (see `ElasticRule.dividesAtReleases`).
    public var dividesAtReleases: Bool { false }
    public let name = "sia"
    /// The fairness exponent p (power-mean; negative: fairer) and the penalty λ_n per job
    /// left without devices.
    public var p: Double
    public var lambdaN: Double
    /// A restart penalty (seconds) for every job in place of the per-model table; nil: the table.
    public var restartPenaltyOverride: Double?
    /// Cbc's relative gap (Sia: 1e-4).
    public var relativeGap: Double

    /// Sia's floor for a normalised goodput (`ZERO_ALLOC_GAIN`) and cap on A
    /// (`sia_goodput_clip_val`).
    public static let goodputFloor = 1e-4
    public static let clip = 3_000.0
    /// How much cheaper a job's current configuration is made, to break ties only.
    public static let tieBreak = 1e-6

    public init(p: Double = -0.5, lambdaN: Double = 1.1, restartPenaltyOverride: Double? = nil, relativeGap: Double = 1e-4) {
        self.p = p
        self.lambdaN = lambdaN
        self.restartPenaltyOverride = restartPenaltyOverride
        self.relativeGap = relativeGap
    }

    /// Sia's restart penalty P (seconds) for a job: the first model family of its table whose
    /// name occurs in the job's name or, failing that, its model architecture
    /// (`sia.py::get_restart_penalty`, which matches job names '<model>-<n>'): deepspeech 25,
    /// imagenet 250, cifar 30, bert 120, yolov3 45, anything else 30.
    public static func restartPenalty(name: String, architecture: String) -> Double {
        let table: [(String, Double)] = [("deepspeech", 25), ("imagenet", 250), ("cifar", 30), ("bert", 120), ("yolov3", 45)]
        for text in [name.lowercased(), architecture.lowercased()] {
            if let hit = table.first(where: { text.contains($0.0) }) { return hit.1 }
        }
        return 30
    }

    /// The re-allocation factor r = max(age − restarts·P, 0) / (age + P), 1 while age < P
    /// (Pollux's restart factor as Sia uses it, `sia_use_pollux_realloc_factor`). Seconds.
    public static func reallocationFactor(age: Double, restarts: Int, penalty: Double) -> Double {
        if age < penalty { return 1 }
        return max(age - Double(restarts) * penalty, 0) / (age + penalty)
    }

    /// Sia's configurations on nodes of `devicesPerNode` devices, as device counts: the powers
    /// of two below a node, then 1...`nodes` whole nodes (4-GPU nodes: 1, 2, 4, 8, 12, ...;
    /// 8-GPU nodes: 1, 2, 4, 8, 16, ...).
    public static func configurations(devicesPerNode: Int, nodes: Int) -> [Int] {
        guard devicesPerNode >= 1, nodes >= 1 else { return [] }
        var configs: [Int] = []
        var n = 1
        while n < devicesPerNode {
            configs.append(n)
            n *= 2
        }
        return configs + (1...nodes).map { $0 * devicesPerNode }
    }

    /// One job's columns: device counts and their A entries.
    public struct Row: Sendable, Equatable {
        public var devices: [Int]
        public var cost: [Double]
    }

    /// A job's row over the cluster's configurations (steps 1-4 above).
    public func row(_ job: ElasticCandidate, configurations: [Int]) -> Row {
        var devices = configurations.filter { $0 >= job.minDevices && $0 <= job.maxDevices }
        var goodput: [Double]
        if devices.isEmpty {
            // Sia's rigid job: one column at its size, goodput = its device count.
            devices = [job.maxDevices]
            goodput = [Double(job.maxDevices)]
        } else {
            goodput = devices.map { job.rate(on: $0) }
            let smallest = goodput.filter { $0 > 0 }.min() ?? 1
            goodput = goodput.map { max($0 / smallest, Self.goodputFloor) }
        }
        if job.devices > 0 {
            let penalty = restartPenaltyOverride ?? Self.restartPenalty(name: job.name, architecture: job.architecture)
            let r = Self.reallocationFactor(age: job.age.seconds, restarts: job.restarts, penalty: penalty)
            for k in devices.indices where devices[k] != job.devices { goodput[k] *= r }
        }
        let cost = goodput.map { g -> Double in
            // numpy's round: to nearest, ties to even.
            let a = (pow(g, p) * 100).rounded(.toNearestOrEven) / 100
            return a.isNaN ? Self.clip : min(a, Self.clip)
        }
        return Row(devices: devices, cost: cost)
    }

    /// The MILP's optimum: devices per job (in the candidates' order) and its objective.
    public struct Solution: Sendable, Equatable {
        public var devices: [Int]
        public var objective: Double
    }

    /// Builds and solves the MILP (step 5) over `jobs` in `cluster`.
    /// - Throws: `MixedIntegerProgramError` when Cbc finds no optimum (leaving every job
    ///   without devices is always feasible, so this is a solver failure).
    public func solve(_ jobs: [ElasticCandidate], in cluster: ElasticCluster) throws -> Solution {
        let configs = Self.configurations(devicesPerNode: cluster.devicesPerNode, nodes: cluster.nodes)
        var program = MixedIntegerProgram(p < 0 ? .minimize : .maximize)
        var columns: [(job: Int, devices: Int, variable: Int, cost: Double)] = []
        var capacityTerms: [LinearProgram.Term] = []
        for (i, job) in jobs.enumerated() {
            let row = row(job, configurations: configs)
            var oneConfig: [LinearProgram.Term] = []
            for (devices, a) in zip(row.devices, row.cost) where devices <= cluster.capacity {
                // λ_n·(N − Σ X) = λ_n·N − Σ λ_n·X: the constant is added to the objective below.
                // A job's current configuration is better by `tieBreak`, far below A's 0.01
                // steps even summed over thousands of jobs, so it decides only between
                // allocations of equal cost.
                let keep = devices == job.devices ? Self.tieBreak : 0
                let x = program.addBinary(objective: a - lambdaN + (p < 0 ? -keep : keep))
                columns.append((i, devices, x, a))
                oneConfig.append((x, 1))
                capacityTerms.append((x, Double(devices)))
            }
            if oneConfig.count > 1 { program.addConstraint(oneConfig, upper: 1) }
        }
        let constant = lambdaN * Double(jobs.count)
        guard !columns.isEmpty else { return Solution(devices: Array(repeating: 0, count: jobs.count), objective: constant) }
        program.addConstraint(capacityTerms, upper: Double(cluster.capacity))
        let optimum = try program.solve(relativeGap: relativeGap)
        var devices = Array(repeating: 0, count: jobs.count)
        var objective = constant
        for column in columns where optimum.x[column.variable] > 0.5 {
            devices[column.job] = column.devices
            objective += column.cost - lambdaN
        }
        return Solution(devices: devices, objective: objective)
    }

    public func allocate(_ jobs: [ElasticCandidate], in cluster: ElasticCluster) throws -> [Int] {
        try solve(jobs, in: cluster).devices
    }

    /// Without a cluster shape: `capacity` devices taken as one node. `ElasticPolicy` calls
    /// `allocate(_:in:)` with the real shape; this form answers no devices if Cbc fails.
    public func allocate(_ jobs: [ElasticCandidate], capacity: Int) -> [Int] {
        (try? allocate(jobs, in: ElasticCluster(capacity: capacity, devicesPerNode: max(1, capacity), nodes: 1)))
            ?? Array(repeating: 0, count: jobs.count)
    }
}
