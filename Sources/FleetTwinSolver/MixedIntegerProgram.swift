import CCbc
import Foundation

/// A mixed-integer linear program, built a variable and a constraint at a time, solved by
/// COIN-OR Cbc (https://github.com/coin-or/Cbc, branch and cut over Clp) through its C
/// interface:
///
///     optimise  c·x   subject to   rowLower ≤ A x ≤ rowUpper,   lower ≤ x ≤ upper,
///                                  x[j] integer for the integer variables j.
///
/// Sia's allocation (research/policies.md §12) states its MILP with it; Sia's own code hands
/// the same problem to Cbc through cvxpy. Cbc runs on one thread and is deterministic for a
/// given build. Where a program has several optima, which one comes back depends on the
/// solver, so callers and tests should rely on `objective` unless the optimum is unique.
public struct MixedIntegerProgram: Sendable {
    /// The program without its integrality (its linear relaxation): variables, bounds,
    /// objective and constraints.
    public private(set) var relaxation: LinearProgram
    /// Whether each variable, by index, must take an integer value.
    public private(set) var isInteger: [Bool] = []

    public init(_ sense: LinearProgram.Sense) { relaxation = LinearProgram(sense) }

    public var variableCount: Int { relaxation.variableCount }
    public var constraintCount: Int { relaxation.constraintCount }

    /// Adds a variable with bounds (`.infinity` for none), objective coefficient and
    /// integrality; returns its index.
    @discardableResult
    public mutating func addVariable(lower: Double = 0, upper: Double = .infinity, objective: Double = 0, integer: Bool) -> Int {
        isInteger.append(integer)
        return relaxation.addVariable(lower: lower, upper: upper, objective: objective)
    }

    /// Adds a 0-1 variable with objective coefficient `objective`; returns its index.
    @discardableResult
    public mutating func addBinary(objective: Double = 0) -> Int {
        addVariable(lower: 0, upper: 1, objective: objective, integer: true)
    }

    /// Adds `lower ≤ Σ coefficient·x[variable] ≤ upper` (either side may be infinite).
    public mutating func addConstraint(_ terms: [LinearProgram.Term], lower: Double = -.infinity, upper: Double = .infinity) {
        relaxation.addConstraint(terms, lower: lower, upper: upper)
    }

    /// Changes variable `variable`'s bounds (fixing it when they are equal).
    public mutating func setBounds(_ variable: Int, lower: Double, upper: Double) {
        relaxation.setBounds(variable, lower: lower, upper: upper)
    }

    /// Solves the program with Cbc, its log silenced.
    /// - Parameter relativeGap: Cbc stops once its incumbent is within this fraction of the
    ///   best bound (`allowableFractionGap`; Sia: 1e-4, its `sia_solver_thresh`); 0 asks for
    ///   a proven optimum.
    /// - Returns: the optimum (within the gap): its objective value and one optimal `x`, the
    ///   integer variables' values rounded to the integers they lie within 1e-6 of.
    /// - Throws: `.infeasible` or `.unbounded` when Cbc proves it, `.notSolved` for
    ///   anything else (numerical trouble, a limit).
    public func solve(relativeGap: Double = 1e-4) throws(MixedIntegerProgramError) -> LinearProgramSolution {
        precondition(relativeGap >= 0 && relativeGap.isFinite, "relative gap must be finite and at least 0")
        let n = variableCount
        let m = relaxation.coinMatrix()
        // Cbc's CbcMain, behind Cbc_solve, keeps global state and is not thread-safe
        // (coin-or/Cbc#332): one solve at a time in the process.
        coinLock.lock()
        defer { coinLock.unlock() }
        do {
            guard let model = Cbc_newModel() else { throw MixedIntegerProgramError.notSolved(status: -1, secondary: -1) }
            defer { Cbc_deleteModel(model) }
            Cbc_setLogLevel(model, 0)
            Cbc_loadProblem(model, Int32(n), Int32(constraintCount), m.starts, m.indices, m.values,
                            m.colLower, m.colUpper, relaxation.objective, m.rowLower, m.rowUpper)
            for (j, integer) in isInteger.enumerated() where integer { Cbc_setInteger(model, Int32(j)) }
            Cbc_setObjSense(model, relaxation.sense == .maximize ? -1 : 1)
            Cbc_setAllowableFractionGap(model, relativeGap)
            _ = Cbc_solve(model)
            if Cbc_isProvenInfeasible(model) != 0 { throw MixedIntegerProgramError.infeasible }
            if Cbc_isContinuousUnbounded(model) != 0 { throw MixedIntegerProgramError.unbounded }
            // Stopping on the gap (secondary status 2) is the optimum asked for.
            let stoppedOnGap = Cbc_status(model) == 0 && Cbc_secondaryStatus(model) == 2
            guard Cbc_isProvenOptimal(model) != 0 || stoppedOnGap, let solution = Cbc_getColSolution(model) else {
                throw MixedIntegerProgramError.notSolved(status: Int(Cbc_status(model)), secondary: Int(Cbc_secondaryStatus(model)))
            }
            var x = Array(UnsafeBufferPointer(start: solution, count: n))
            for j in x.indices where isInteger[j] && abs(x[j] - x[j].rounded()) < 1e-6 { x[j] = x[j].rounded() }
            return LinearProgramSolution(objective: Cbc_getObjValue(model), x: x)
        }
    }

    /// The version of the Cbc library linked, e.g. "2.10.8".
    public static var solverVersion: String { String(cString: Cbc_getVersion()) }
}

/// Why a mixed-integer program has no optimum.
public enum MixedIntegerProgramError: Error, Equatable, CustomStringConvertible {
    /// No integer point satisfies the constraints.
    case infeasible
    /// The linear relaxation's objective improves without bound.
    case unbounded
    /// Cbc stopped without a proof either way (its status and secondary status: numerical
    /// trouble, a node, time or iteration limit).
    case notSolved(status: Int, secondary: Int)

    public var description: String {
        switch self {
        case .infeasible: "the mixed-integer program is infeasible"
        case .unbounded: "the mixed-integer program is unbounded"
        case let .notSolved(status, secondary): "Cbc stopped without an optimum (status \(status), secondary status \(secondary))"
        }
    }
}
