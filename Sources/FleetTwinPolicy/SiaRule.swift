import FleetTwinEngine
import FleetTwinSolver
import Foundation

/// Sia (Jayaram Subramanya et al., SOSP'23) as its authors' simulator implements it:
/// siasosp23/artifacts `sia-simulator/sia.py::SiaPolicy.optimize_mip` and
/// `__solve_mip_rescaled` (research/policies.md §12), with the paper's settings
/// (`run_experiment.sh`: p = −0.5, λ_n = 1.1, 60 s rounds). Per job i and configuration c
/// (a cluster, standing for a GPU type, and a device count there,
/// `configurations(devicesPerNode:nodes:)`, within the job's fewest and most devices):
/// 1. goodput G_i,c = the job's throughput on c's devices (`ElasticCandidate.throughput`)
///    times its speed on c's type relative to its slowest type;
/// 2. the row divided by its smallest non-zero entry, floored at 1e-4 (`ZERO_ALLOC_GAIN`);
/// 3. every entry but the job's current configuration multiplied by the re-allocation factor
///    r_i = max(age − restarts·P_i, 0) / (age + P_i), r_i = 1 while age < P_i
///    (`reallocationFactor`), P_i the restart penalty of the job's model (`restartPenalty`);
///    a rigid job (below) is spared while its attained service is below P_i GPU-seconds
///    instead (`_compute_rigid_job_goodput_single`);
/// 4. A_i,c = round(G_i,c^p, 2), at most 3,000;
/// 5. the MILP over binary X_i,c: minimise Σ A·X + λ_n·(N − Σ X) (maximise when p > 0)
///    subject to Σ_c X_i,c ≤ 1 per job and Σ devices(c)·X_i,c ≤ each cluster's devices, solved by Cbc
///    at a relative gap of 1e-4 (Sia's `sia_solver_thresh`).
///
/// Where FleetTwin differs, and why:
/// - Goodput is throughput. Sia's goodput is Pollux's, throughput × statistical efficiency
///   (gradient noise scale, per-epoch profiles, batch-size tuning); FleetTwin's job model has
///   no statistical efficiency (its jobs carry a throughput curve, not gradient statistics),
///   so none is invented: goodput = throughput, as for Sia's jobs with a fixed batch size.
/// - Clusters stand for Sia's GPU types. In a fleet of several clusters one MILP spans them
///   all (`solveFleet`, through `ElasticFleetRule`): a job's row has columns on every cluster
///   of its types, goodput from its speed on each type (`fleetRow`), and each cluster's
///   devices are a constraint, so the MILP chooses the type as Sia's does; a job moved to
///   another cluster is stopped and started there, a restart (its other columns carry the
///   re-allocation factor). Sia pools a type's nodes in one cluster; FleetTwin's jobs do not
///   span clusters, so two clusters of one type are two sets of columns. A one-cluster fleet
///   solves the same MILP over its one cluster.
/// - Configurations follow the node size: powers of two below a node, then whole nodes up to
///   the cluster (Sia's tables stop at 64 GPUs, 16 four-GPU or 8 eight-GPU nodes). A job none
///   of whose configurations lies within its fewest and most devices gets one column at its
///   most devices, with goodput = that count, as Sia's rigid jobs get. A fixed-world job (no
///   speedup curve) is such a job: Sia does not shrink it (`shrinksFixedWorlds` is false), so
///   its fewest devices are its world. Shrunk and time-sliced, as Optimus' and AFS's divisions
///   may, every 4-device job of the bench trace had a row of 1, 2 and 4 devices worth
///   A = 1, 0.71, 0.5; a waiting one then outbid two or four 1-device jobs, and each freshly
///   restored one was evicted at the first round after its restore (with `compat`'s 250 s
///   restores, 4,198 preemptions on the 3,000-job trace).
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
public struct SiaRule: ElasticShareRule, ElasticFleetRule {
    /// Sia decides at its rounds (60 s), arrivals and completions, not at the releases its
    /// own preemptions and shrinks cause (see `ElasticRule.dividesAtReleases`).
    public var dividesAtReleases: Bool { false }
    /// Sia's rigid jobs keep their GPU count (see the type's comment).
    public var shrinksFixedWorlds: Bool { false }
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
    /// name occurs in the job's name or, failing that, its application (a trace's `workload`)
    /// or its model architecture (`sia.py::get_restart_penalty`, which matches job names
    /// '<model>-<n>', the model being what a FleetTwin trace calls the workload): deepspeech 25,
    /// imagenet 250, cifar 30, bert 120, yolov3 45, anything else 30. A ResNet-50 (`resnet50`,
    /// `resnet-50`, the Tiresias traces' workload) is Sia's `imagenet` model: Sia's simulator
    /// builds on Pollux's artifact, whose `imagenet` job trains `--arch=resnet50` for 90
    /// epochs (petuum/adaptdl `benchmark/models/imagenet/adaptdljob.yaml`; Sia's
    /// `applications.py` gives `imagenet` the same 90 epochs), so it gets 250 s.
    public static func restartPenalty(name: String, architecture: String, application: String = "") -> Double {
        let table: [(String, Double)] = [("deepspeech", 25), ("imagenet", 250), ("resnet50", 250), ("resnet-50", 250),
                                         ("cifar", 30), ("bert", 120), ("yolov3", 45)]
        for text in [name.lowercased(), application.lowercased(), architecture.lowercased()] {
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

    /// A job's row over the cluster's configurations (steps 1-4 above): the fleet row of a
    /// job that may use this one cluster.
    public func row(_ job: ElasticCandidate, configurations: [Int]) -> Row {
        let row = fleetRow(ElasticFleetCandidate(job: job.job, clusters: [job]), configurations: [configurations])
        return Row(devices: row.devices, cost: row.cost)
    }

    /// One job's columns across clusters (Sia's row over every GPU type's configurations):
    /// each column's cluster (index into the division's clusters), device count and A entry.
    public struct FleetRow: Sendable, Equatable {
        public var cluster: [Int]
        public var devices: [Int]
        public var cost: [Double]
    }

    /// A job's row over every cluster it may use (steps 1-4 above, across types as
    /// `optimize_mip` builds them): goodput on n devices of a cluster = the job's throughput
    /// on n × its speed on the cluster's type relative to its slowest type; the whole row is
    /// divided by its smallest non-zero entry, the minimum over all types (Sia takes each
    /// type's smallest valid goodput, then the lowest of them); a cluster where none of the
    /// configurations lies within the job's fewest and most devices gets one column at its
    /// most devices worth that count × the relative speed (Sia's rigid rows: the slowest
    /// type worth its GPU count), not normalised. Every entry but the job's current
    /// (cluster, devices) is multiplied by the re-allocation factor, so moving to another
    /// type is a restart. `configurations` is indexed like `job.clusters`.
    public func fleetRow(_ job: ElasticFleetCandidate, configurations: [[Int]]) -> FleetRow {
        let present = job.clusters.compactMap { $0 }
        guard let any = present.first else { return FleetRow(cluster: [], devices: [], cost: []) }
        // Relative speeds: exactly 1 on a job's only type, so a one-type row is what the
        // per-cluster rule always computed.
        let slowest = present.map(\.speed).filter { $0 > 0 }.min() ?? 1
        var row = FleetRow(cluster: [], devices: [], cost: [])
        var goodput: [Double] = [], rigid: [Bool] = []
        for (c, candidate) in job.clusters.enumerated() {
            guard let candidate else { continue }
            let relative = candidate.speed > 0 ? candidate.speed / slowest : 1
            let devices = configurations[c].filter { $0 >= candidate.minDevices && $0 <= candidate.maxDevices }
            if devices.isEmpty {
                // Sia's rigid job: one column at its size, worth its device count.
                row.cluster.append(c)
                row.devices.append(candidate.maxDevices)
                goodput.append(Double(candidate.maxDevices) * relative)
                rigid.append(true)
            } else {
                row.cluster += Array(repeating: c, count: devices.count)
                row.devices += devices
                goodput += devices.map { candidate.rate(on: $0) * relative }
                rigid += Array(repeating: false, count: devices.count)
            }
        }
        let smallest = zip(goodput, rigid).filter { !$0.1 && $0.0 > 0 }.map(\.0).min() ?? 1
        for k in goodput.indices where !rigid[k] { goodput[k] = max(goodput[k] / smallest, Self.goodputFloor) }
        if let current = job.current {
            let penalty = restartPenaltyOverride ?? Self.restartPenalty(name: any.name, architecture: any.architecture, application: any.application)
            // Sia's rigid jobs are spared until they have held P GPU-seconds (attained
            // service), its adaptive ones until they are P seconds old.
            let r = rigid.allSatisfy { $0 } && any.attainedService < penalty
                ? 1 : Self.reallocationFactor(age: any.age.seconds, restarts: any.restarts, penalty: penalty)
            for k in goodput.indices where row.cluster[k] != current.cluster || row.devices[k] != current.devices { goodput[k] *= r }
        }
        row.cost = goodput.map { g -> Double in
            // numpy's round: to nearest, ties to even.
            let a = (pow(g, p) * 100).rounded(.toNearestOrEven) / 100
            return a.isNaN ? Self.clip : min(a, Self.clip)
        }
        return row
    }

    /// The MILP's optimum: devices per job (in the candidates' order) and its objective.
    public struct Solution: Sendable, Equatable {
        public var devices: [Int]
        public var objective: Double
    }

    /// The cross-type MILP's optimum: per job (in the candidates' order) its cluster (-1:
    /// none) and devices there, and the objective.
    public struct FleetSolution: Sendable, Equatable {
        public var cluster: [Int]
        public var devices: [Int]
        public var objective: Double
    }

    /// Builds and solves the MILP (step 5) over `jobs` in `cluster`: the fleet MILP of one
    /// cluster.
    /// - Throws: `MixedIntegerProgramError` when Cbc finds no optimum (leaving every job
    ///   without devices is always feasible, so this is a solver failure).
    public func solve(_ jobs: [ElasticCandidate], in cluster: ElasticCluster) throws -> Solution {
        let fleet = try solveFleet(jobs.map { ElasticFleetCandidate(job: $0.job, clusters: [$0]) }, clusters: [cluster])
        return Solution(devices: fleet.devices, objective: fleet.objective)
    }

    /// Sia's MILP over every cluster at once (`__solve_mip_rescaled`): binary X per job and
    /// column of its `fleetRow`, at most one per job, each cluster's devices (`capacity`, what
    /// held jobs leave) a constraint; objective as in step 5.
    /// - Throws: `MixedIntegerProgramError` when Cbc finds no optimum (a solver failure: no
    ///   devices for anyone is always feasible).
    public func solveFleet(_ jobs: [ElasticFleetCandidate], clusters: [ElasticCluster]) throws -> FleetSolution {
        let configs = clusters.map { Self.configurations(devicesPerNode: $0.devicesPerNode, nodes: $0.nodes) }
        var program = MixedIntegerProgram(p < 0 ? .minimize : .maximize)
        var columns: [(job: Int, cluster: Int, devices: Int, variable: Int, cost: Double)] = []
        var capacityTerms = Array(repeating: [LinearProgram.Term](), count: clusters.count)
        for (i, job) in jobs.enumerated() {
            let row = fleetRow(job, configurations: configs)
            let current = job.current
            var oneConfig: [LinearProgram.Term] = []
            for k in row.devices.indices where row.devices[k] <= clusters[row.cluster[k]].capacity {
                let c = row.cluster[k], devices = row.devices[k], a = row.cost[k]
                // λ_n·(N − Σ X) = λ_n·N − Σ λ_n·X: the constant is added to the objective below.
                // A job's current configuration is better by `tieBreak`, far below A's 0.01
                // steps even summed over thousands of jobs, so it decides only between
                // allocations of equal cost.
                let keep = current.map { $0.cluster == c && $0.devices == devices } == true ? Self.tieBreak : 0
                let x = program.addBinary(objective: a - lambdaN + (p < 0 ? -keep : keep))
                columns.append((i, c, devices, x, a))
                oneConfig.append((x, 1))
                capacityTerms[c].append((x, Double(devices)))
            }
            if oneConfig.count > 1 { program.addConstraint(oneConfig, upper: 1) }
        }
        let constant = lambdaN * Double(jobs.count)
        var solution = FleetSolution(cluster: Array(repeating: -1, count: jobs.count), devices: Array(repeating: 0, count: jobs.count), objective: constant)
        guard !columns.isEmpty else { return solution }
        for (c, terms) in capacityTerms.enumerated() where !terms.isEmpty {
            program.addConstraint(terms, upper: Double(clusters[c].capacity))
        }
        let optimum = try program.solve(relativeGap: relativeGap)
        for column in columns where optimum.x[column.variable] > 0.5 {
            solution.cluster[column.job] = column.cluster
            solution.devices[column.job] = column.devices
            solution.objective += column.cost - lambdaN
        }
        return solution
    }

    public func divideFleet(_ jobs: [ElasticFleetCandidate], clusters: [ElasticCluster]) throws -> [(cluster: Int, devices: Int)] {
        let solution = try solveFleet(jobs, clusters: clusters)
        return zip(solution.cluster, solution.devices).map { ($0, $1) }
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
