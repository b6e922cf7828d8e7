import CClp
import Foundation

/// A linear program, built a variable and a constraint at a time, solved by COIN-OR Clp
/// (https://github.com/coin-or/Clp) through its C interface:
///
///     optimise  c·x   subject to   rowLower ≤ A x ≤ rowUpper,   lower ≤ x ≤ upper.
///
/// The optimisation-based scheduling policies (Gavel's max-min fairness, finish-time fairness
/// and minimum makespan) state their problems with it. Clp is deterministic for a given
/// build: the same program gives the same vertex on every run. Where a program has several
/// optima, which one comes back depends on the solver (research/policies.md §7), so callers
/// and tests should rely on `objective`, not on the values of `x`, unless the optimum is
/// unique.
public struct LinearProgram: Sendable {
    public enum Sense: Sendable { case minimize, maximize }

    /// A term of a constraint: `coefficient` times variable `variable`.
    public typealias Term = (variable: Int, coefficient: Double)

    public var sense: Sense
    public private(set) var objective: [Double] = []
    public private(set) var lower: [Double] = []
    public private(set) var upper: [Double] = []
    private var rows: [(terms: [Term], lower: Double, upper: Double)] = []

    public init(_ sense: Sense) { self.sense = sense }

    public var variableCount: Int { objective.count }
    public var constraintCount: Int { rows.count }

    /// Adds a variable with bounds (`.infinity` for none) and objective coefficient; returns
    /// its index.
    @discardableResult
    public mutating func addVariable(lower: Double = 0, upper: Double = .infinity, objective coefficient: Double = 0) -> Int {
        precondition(lower <= upper && !lower.isNaN && !upper.isNaN && coefficient.isFinite, "bad variable bounds or cost")
        objective.append(coefficient)
        self.lower.append(lower)
        self.upper.append(upper)
        return objective.count - 1
    }

    /// Adds `lower ≤ Σ coefficient·x[variable] ≤ upper` (either side may be infinite).
    public mutating func addConstraint(_ terms: [Term], lower: Double = -.infinity, upper: Double = .infinity) {
        precondition(terms.allSatisfy { $0.variable >= 0 && $0.variable < variableCount && $0.coefficient.isFinite },
                     "constraint names an unknown variable or a non-finite coefficient")
        precondition(lower <= upper, "constraint bounds cross")
        rows.append((terms, lower, upper))
    }

    /// Changes variable `variable`'s bounds.
    public mutating func setBounds(_ variable: Int, lower: Double, upper: Double) {
        precondition(lower <= upper && !lower.isNaN && !upper.isNaN, "bad variable bounds")
        self.lower[variable] = lower
        self.upper[variable] = upper
    }

    /// The same variables and constraints under another objective (one coefficient per
    /// variable): a second program over the first one's optimal face.
    public func with(objective coefficients: [Double], sense: Sense) -> LinearProgram {
        precondition(coefficients.count == variableCount && coefficients.allSatisfy(\.isFinite))
        var copy = self
        copy.objective = coefficients
        copy.sense = sense
        return copy
    }

    /// Solves the program.
    /// - Returns: the optimum: its objective value and one optimal `x`.
    /// - Throws: `LinearProgramError.infeasible` or `.unbounded` when the solver proves it,
    ///   `.notSolved` for anything else (numerical trouble, an iteration limit).
    public func solve() throws -> LinearProgramSolution {
        let m = coinMatrix()
        // One COIN-OR solve at a time in the process, Clp's too: Cbc drives Clp and keeps
        // global state (`MixedIntegerProgram`), and a Gavel LP solved beside a Sia MILP in
        // another simulation left the MILP spinning in Cbc's preprocessing.
        coinLock.lock()
        defer { coinLock.unlock() }
        guard let model = Clp_newModel() else { throw LinearProgramError.notSolved(status: -1) }
        defer { Clp_deleteModel(model) }
        Clp_setLogLevel(model, 0)
        Clp_loadProblem(model, Int32(variableCount), Int32(rows.count), m.starts, m.indices, m.values,
                        m.colLower, m.colUpper, objective, m.rowLower, m.rowUpper)
        Clp_setOptimizationDirection(model, sense == .maximize ? -1 : 1)
        _ = Clp_initialSolve(model)
        if Clp_isProvenOptimal(model) != 0 {
            let x = Clp_getColSolution(model).map { Array(UnsafeBufferPointer(start: $0, count: variableCount)) } ?? []
            return LinearProgramSolution(objective: Clp_objectiveValue(model), x: x)
        }
        if Clp_isProvenPrimalInfeasible(model) != 0 { throw LinearProgramError.infeasible }
        if Clp_isProvenDualInfeasible(model) != 0 { throw LinearProgramError.unbounded }
        throw LinearProgramError.notSolved(status: Int(Clp_status(model)))
    }

    /// The program as COIN-OR's solvers load it (Clp's and Cbc's `loadProblem`): the matrix
    /// column by column (compressed sparse columns) and the bounds, infinities as DBL_MAX
    /// (COIN_DBL_MAX), COIN's infinity.
    func coinMatrix() -> CoinMatrix {
        var perColumn = Array(repeating: [(row: Int32, value: Double)](), count: variableCount)
        for (r, row) in rows.enumerated() {
            for term in row.terms where term.coefficient != 0 { perColumn[term.variable].append((Int32(r), term.coefficient)) }
        }
        var m = CoinMatrix()
        m.starts = [0]
        for column in perColumn {
            for entry in column {
                m.indices.append(entry.row)
                m.values.append(entry.value)
            }
            m.starts.append(CoinBigIndex(m.indices.count))
        }
        func finite(_ v: Double) -> Double { v == .infinity ? .greatestFiniteMagnitude : v == -.infinity ? -.greatestFiniteMagnitude : v }
        m.colLower = lower.map(finite)
        m.colUpper = upper.map(finite)
        m.rowLower = rows.map { finite($0.lower) }
        m.rowUpper = rows.map { finite($0.upper) }
        return m
    }

    /// The version of the Clp library linked, e.g. "1.17.6": results of programs with several
    /// optima may differ between versions.
    public static var solverVersion: String { String(cString: Clp_Version()) }
}

/// A program in COIN-OR's load format (`LinearProgram.coinMatrix`).
struct CoinMatrix {
    var starts: [CoinBigIndex] = []
    var indices: [Int32] = []
    var values: [Double] = []
    var colLower: [Double] = []
    var colUpper: [Double] = []
    var rowLower: [Double] = []
    var rowUpper: [Double] = []
}

/// An optimum: the objective's value and the variables' values, by index.
public struct LinearProgramSolution: Sendable, Equatable {
    public var objective: Double
    public var x: [Double]
}

/// Why a linear program has no optimum.
public enum LinearProgramError: Error, Equatable, CustomStringConvertible {
    /// No point satisfies the constraints.
    case infeasible
    /// The objective improves without bound.
    case unbounded
    /// The solver stopped without a proof either way (Clp's status code).
    case notSolved(status: Int)

    public var description: String {
        switch self {
        case .infeasible: "the linear program is infeasible"
        case .unbounded: "the linear program is unbounded"
        case let .notSolved(status): "Clp stopped without an optimum (status \(status))"
        }
    }
}

/// Serialises every COIN-OR call of the process (Clp LPs and Cbc MILPs): Cbc's driver keeps
/// global state and is not thread-safe (coin-or/Cbc#332), and it shares Clp.
let coinLock = NSLock()
