import FleetTwinSolver

/// Gavel's allocation problems (Narayanan et al., OSDI'20; stanford-futuredata/gavel
/// `scheduler/policies/` at c4fa400, as research/policies.md §7-9 describes them), stated as
/// linear programs and solved with Clp (`LinearProgram`).
///
/// Shapes: `m` jobs by `n` accelerator types. `X[i][j]` in [0, 1] is the fraction of
/// wall-clock time job i runs on type j; every problem keeps Gavel's base constraints
/// (`policy.py::get_base_constraints`): Σ_j X_ij ≤ 1 per job and Σ_i s_i X_ij ≤ N_j per type.
///
/// Where the program has many optima (Gavel leaves the choice to its solver, §7), a second
/// program keeps the optimum and maximises the total normalised throughput Σ_i Σ_j T_ij X_ij / p_i,
/// so spare capacity is handed out rather than left at whatever vertex the solver found.
public enum GavelAllocation {
    /// What the problems are stated over.
    public struct Problem: Sendable, Equatable {
        /// T[i][j]: job i's throughput on type j (work per second of wall clock; 0: it cannot
        /// run there). The heterogeneity-agnostic policies pass 1 wherever the job may run.
        public var throughputs: [[Double]]
        /// s_i: accelerators per gang (Gavel's scale factor).
        public var scaleFactors: [Int]
        /// w_i: priority weights (Gavel's default 1).
        public var weights: [Double]
        /// N_j: accelerators of each type.
        public var workers: [Int]

        public init(throughputs: [[Double]], scaleFactors: [Int], weights: [Double]? = nil, workers: [Int]) {
            precondition(throughputs.count == scaleFactors.count && throughputs.allSatisfy { $0.count == workers.count })
            self.throughputs = throughputs
            self.scaleFactors = scaleFactors
            self.weights = weights ?? Array(repeating: 1, count: scaleFactors.count)
            self.workers = workers
        }

        var jobs: Int { scaleFactors.count }
        var types: Int { workers.count }

        /// p_i = Σ_j T_ij N_j / N: the job's throughput with time split in proportion to the
        /// types' sizes (`proportional.py::ProportionalPolicy.get_throughputs`).
        var proportionalThroughputs: [Double] {
            let total = Double(workers.reduce(0, +))
            return throughputs.map { row in total == 0 ? 0 : zip(row, workers).reduce(0) { $0 + $1.0 * Double($1.1) } / total }
        }

        /// The equal "isolated" share: x_ij = (N_j / m) / s_i, each row divided by
        /// max(Σ_j x_ij, 1) (`isolated.py`), so 1/m of the cluster each.
        public var isolatedShares: [[Double]] {
            (0..<jobs).map { i in
                let shares = workers.map { Double($0) / Double(jobs) / Double(scaleFactors[i]) }
                let scale = max(shares.reduce(0, +), 1)
                return shares.map { $0 / scale }
            }
        }

        /// The job's throughput on its isolated share.
        public var isolatedThroughputs: [Double] {
            zip(throughputs, isolatedShares).map { row, shares in zip(row, shares).reduce(0) { $0 + $1.0 * $1.1 } }
        }
    }

    /// An optimum: the allocation and the objective's value (its meaning per problem).
    public struct Allocation: Sendable, Equatable {
        public var x: [[Double]]
        public var objective: Double
    }

    /// The base program: one variable per (job, type), bounded by 1 where the job runs and 0
    /// where it cannot, and the base constraints.
    private static func base(_ p: Problem, sense: LinearProgram.Sense) -> (LinearProgram, [[Int]]) {
        var lp = LinearProgram(sense)
        let vars = (0..<p.jobs).map { i in (0..<p.types).map { j in lp.addVariable(lower: 0, upper: p.throughputs[i][j] > 0 ? 1 : 0) } }
        for i in 0..<p.jobs { lp.addConstraint(vars[i].map { ($0, 1.0) }, upper: 1) }
        for j in 0..<p.types {
            lp.addConstraint((0..<p.jobs).map { (vars[$0][j], Double(p.scaleFactors[$0])) }, upper: Double(p.workers[j]))
        }
        return (lp, vars)
    }

    /// The jobs' normalised throughput Σ_j T_ij X_ij / p_i as terms, for the second program.
    private static func spareCapacityTerms(_ p: Problem, _ vars: [[Int]]) -> [LinearProgram.Term] {
        let proportional = p.proportionalThroughputs
        return (0..<p.jobs).flatMap { i in
            (0..<p.types).compactMap { j in
                proportional[i] > 0 && p.throughputs[i][j] > 0 ? (vars[i][j], p.throughputs[i][j] / proportional[i]) : nil
            }
        }
    }

    /// Re-solves `lp` (whose constraints keep the first program's optimum) maximising the
    /// normalised throughput, and reads X.
    private static func spread(_ p: Problem, _ lp: LinearProgram, _ vars: [[Int]]) throws -> [[Double]] {
        var weight = Array(repeating: 0.0, count: lp.variableCount)
        for term in spareCapacityTerms(p, vars) { weight[term.variable] += term.coefficient }
        let x = try lp.with(objective: weight, sense: .maximize).solve().x
        // Rounded to 10^-7, so the solver's tolerance does not decide between equal shares.
        return vars.map { row in row.map { min(1, max(0, (x[$0] * 1e7).rounded() / 1e7)) } }
    }

    /// `max_min_fairness_perf` (§7): maximise min_i s_i Σ_j T_ij X_ij / (w_i p_i). With every
    /// T_ij = 1 where the job may run, this is `max_min_fairness`, Gavel's LAS: equal
    /// accelerator-time in the fluid limit. Jobs that can run nowhere get nothing and do not
    /// count in the minimum. `objective` is the optimal minimum.
    public static func maxMinFairness(_ p: Problem) throws -> Allocation {
        guard p.jobs > 0 else { return Allocation(x: [], objective: 0) }
        var (lp, vars) = base(p, sense: .maximize)
        let z = lp.addVariable(lower: -.infinity, upper: .infinity, objective: 1)
        let proportional = p.proportionalThroughputs
        for i in 0..<p.jobs where proportional[i] > 0 {
            let scale = Double(p.scaleFactors[i]) / (p.weights[i] * proportional[i])
            lp.addConstraint([(z, 1.0)] + (0..<p.types).map { (vars[i][$0], -scale * p.throughputs[i][$0]) }, upper: 0)
        }
        let optimum = try lp.solve().objective
        // Keep the minimum (to a relative 1e-9, for the solver's tolerance) and spread the rest.
        lp.setBounds(z, lower: optimum - 1e-9 * max(1, abs(optimum)), upper: .infinity)
        return Allocation(x: try spread(p, lp, vars), objective: optimum)
    }

    /// `min_total_duration_perf` (§8): the smallest makespan T for which every job can finish
    /// its remaining work, Σ_j T_ij X_ij ≥ R_i / T, found as Gavel does by bisection on T in
    /// [100 s, 10^6 s] until the bounds are within 5%, shifting the window tenfold while no T
    /// in it is feasible. `remaining`: R_i, in the throughputs' work units. `objective`: the
    /// makespan T of the allocation returned (seconds).
    public static func minTotalDuration(_ p: Problem, remaining: [Double]) throws -> Allocation {
        guard p.jobs > 0 else { return Allocation(x: [], objective: 0) }
        func feasible(_ t: Double) -> (LinearProgram, [[Int]])? {
            var (lp, vars) = base(p, sense: .maximize)
            for i in 0..<p.jobs where remaining[i] > 0 {
                lp.addConstraint((0..<p.types).map { (vars[i][$0], p.throughputs[i][$0]) }, lower: remaining[i] / t)
            }
            return (try? lp.solve()) == nil ? nil : (lp, vars)
        }
        var lower = 100.0, upper = 1e6
        var best: (LinearProgram, [[Int]], Double)?
        for _ in 0..<12 {  // windows up to 10^17 s; beyond that no allocation is meaningful
            while 1.05 * lower < upper {
                let t = (lower + upper) / 2
                if let found = feasible(t) { best = (found.0, found.1, t); upper = t } else { lower = t }
            }
            if best != nil { break }
            lower = upper
            upper *= 10
        }
        guard let (lp, vars, t) = best else { throw LinearProgramError.infeasible }
        return Allocation(x: try spread(p, lp, vars), objective: t)
    }

    /// `finish_time_fairness_perf` (§9a, "Themis-FTF" as Gavel implements Themis): minimise
    /// max_i ρ_i with ρ_i = (t_i + R_i / Σ_j T_ij X_ij) / (c_i + R_i / iso_i). The problem is
    /// quasi-convex; for a fixed ρ each ρ_i ≤ ρ is the linear Σ_j T_ij X_ij ≥ R_i / (ρ D_i − t_i),
    /// so ρ* is found by bisection on feasibility (to a relative 10^-6) and X read at ρ*.
    /// - Parameters:
    ///   - remaining: R_i, in the throughputs' work units;
    ///   - age: t_i, seconds since the job arrived;
    ///   - isolatedTimeSoFar: c_i, the time the progress so far would have taken on the
    ///     isolated share (Gavel's `cum_isolated_time`, kept by the caller).
    /// - Returns: X and ρ* as `objective`.
    public static func finishTimeFairness(_ p: Problem, remaining: [Double], age: [Double], isolatedTimeSoFar: [Double]) throws -> Allocation {
        guard p.jobs > 0 else { return Allocation(x: [], objective: 0) }
        let iso = p.isolatedThroughputs
        let counted = (0..<p.jobs).filter { iso[$0] > 0 && remaining[$0] > 0 }
        let denominator = (0..<p.jobs).map { iso[$0] > 0 ? isolatedTimeSoFar[$0] + remaining[$0] / iso[$0] : 0 }
        func program(_ rho: Double) -> (LinearProgram, [[Int]])? {
            var (lp, vars) = base(p, sense: .maximize)
            for i in counted {
                let slack = rho * denominator[i] - age[i]
                guard slack > 0 else { return nil }
                lp.addConstraint((0..<p.types).map { (vars[i][$0], p.throughputs[i][$0]) }, lower: remaining[i] / slack)
            }
            return (try? lp.solve()) == nil ? nil : (lp, vars)
        }
        guard !counted.isEmpty else {
            let (lp, vars) = base(p, sense: .maximize)
            return Allocation(x: try spread(p, lp, vars), objective: 0)
        }
        // ρ must exceed t_i / D_i for every job; find a feasible upper bound by doubling.
        var lower = counted.map { age[$0] / denominator[$0] }.max() ?? 0
        var upper = max(1, 2 * lower)
        var found = program(upper)
        var doublings = 0
        while found == nil {
            lower = upper
            upper *= 2
            doublings += 1
            guard doublings < 200 else { throw LinearProgramError.infeasible }
            found = program(upper)
        }
        while upper - lower > 1e-6 * upper {
            let mid = (lower + upper) / 2
            if let f = program(mid) { found = f; upper = mid } else { lower = mid }
        }
        let (lp, vars) = found!
        return Allocation(x: try spread(p, lp, vars), objective: upper)
    }
}
