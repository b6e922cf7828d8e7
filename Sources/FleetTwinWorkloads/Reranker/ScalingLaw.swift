import Foundation

/// The saturating power law y = a + b * x^c, fitted by least squares.
///
/// For a fixed exponent c the law is linear in (a, b), so a and b come from ordinary least
/// squares on u = x^c. The exponent minimises the residual sum of squares: a grid over
/// c in [-2, -0.01] in steps of 0.01, then a golden-section search (60 iterations) over the
/// two grid cells around the best grid point, clamped to that range. c < 0 is the law's own
/// shape (metrics rise to a ceiling a, entropy falls to a floor a); near c = 0 the law is
/// a + b + b*c*ln x, a straight line in log x, which is what convex points get.
public struct ScalingLaw: Equatable, Sendable {
    public var a: Double
    public var b: Double
    public var c: Double
    /// Residual sum of squares on the fitted points.
    public var residual: Double

    public static let exponentRange: ClosedRange<Double> = -2 ... -0.01

    public func predict(_ x: Double) -> Double { a + b * Foundation.pow(x, c) }

    /// (a, b, residual) for one exponent; nil when the points do not determine b.
    static func linearFit(_ xs: [Double], _ ys: [Double], exponent c: Double) -> (a: Double, b: Double, residual: Double)? {
        let us = xs.map { Foundation.pow($0, c) }
        let n = Double(xs.count)
        var uMean = 0.0, yMean = 0.0
        for (u, y) in zip(us, ys) { uMean += u; yMean += y }
        uMean /= n; yMean /= n
        var suu = 0.0, suy = 0.0
        for (u, y) in zip(us, ys) { suu += (u - uMean) * (u - uMean); suy += (u - uMean) * (y - yMean) }
        guard suu > 1e-300, suu.isFinite, suy.isFinite else { return nil }
        let b = suy / suu, a = yMean - b * uMean
        var residual = 0.0
        for (u, y) in zip(us, ys) { let r = y - (a + b * u); residual += r * r }
        return residual.isFinite ? (a, b, residual) : nil
    }

    /// The least-squares law through (x, y) points, x > 0; nil with fewer than 3 points or
    /// fewer than 2 distinct x.
    public static func fit(x xs: [Double], y ys: [Double]) -> ScalingLaw? {
        guard xs.count == ys.count, xs.count >= 3, xs.allSatisfy({ $0 > 0 && $0.isFinite }),
              ys.allSatisfy(\.isFinite), Set(xs).count >= 2 else { return nil }
        var best: (c: Double, residual: Double)?
        for i in -200 ... -1 {
            let c = Double(i) / 100
            if let f = linearFit(xs, ys, exponent: c), best == nil || f.residual < best!.residual {
                best = (c, f.residual)
            }
        }
        guard let grid = best else { return nil }
        // Golden-section refinement in [c - 0.01, c + 0.01], inside the range.
        var lo = max(grid.c - 0.01, exponentRange.lowerBound), hi = min(grid.c + 0.01, exponentRange.upperBound)
        let ratio = (5.0.squareRoot() - 1) / 2
        func cost(_ c: Double) -> Double { linearFit(xs, ys, exponent: c)?.residual ?? .infinity }
        var c1 = hi - ratio * (hi - lo), c2 = lo + ratio * (hi - lo)
        var f1 = cost(c1), f2 = cost(c2)
        for _ in 0..<60 {
            if f1 <= f2 { hi = c2; c2 = c1; f2 = f1; c1 = hi - ratio * (hi - lo); f1 = cost(c1) }
            else { lo = c1; c1 = c2; f1 = f2; c2 = lo + ratio * (hi - lo); f2 = cost(c2) }
        }
        var c = (lo + hi) / 2
        if cost(c) > grid.residual { c = grid.c }
        guard let f = linearFit(xs, ys, exponent: c) else { return nil }
        return ScalingLaw(a: f.a, b: f.b, c: c, residual: f.residual)
    }
}

/// How well a law describes points: R² of y, and the root-mean-square error in log space,
/// sqrt(mean (ln ŷ - ln y)²) (the relative error the paper's log-log plots show; nil when a
/// value or a prediction is not positive).
public struct FitQuality: Equatable, Sendable {
    /// 1 - (residual sum of squares) / (total sum of squares about the mean); nil when y is constant.
    public var rSquared: Double?
    /// sqrt(mean (ln ŷ - ln y)²); nil when a value or a prediction is not positive.
    public var logRMSE: Double?

    /// The quality of `predicted` against `actual`, point by point (same, non-zero count).
    public init(actual ys: [Double], predicted: [Double]) {
        precondition(ys.count == predicted.count && !ys.isEmpty, "fit quality needs matching, non-empty points")
        let mean = ys.reduce(0, +) / Double(ys.count)
        var total = 0.0, residual = 0.0, logSquares = 0.0
        var logDefined = true
        for (y, p) in zip(ys, predicted) {
            total += (y - mean) * (y - mean)
            residual += (y - p) * (y - p)
            if y > 0 && p > 0 { let d = Foundation.log(p) - Foundation.log(y); logSquares += d * d } else { logDefined = false }
        }
        rSquared = total > 0 ? 1 - residual / total : nil
        logRMSE = logDefined ? (logSquares / Double(ys.count)).squareRoot() : nil
    }
}

/// The paper's joint law over model size N and training steps S (arXiv 2603.04816 writes it
/// y = a + b*N^c + d*D^e with D the data seen; here every step sees `batch` fresh queries, so
/// D is proportional to S and the law is the same with S):
///
///     y = a + b * N^alpha + d * S^beta
///
/// For fixed exponents the law is linear in (a, b, d), so those come from ordinary least
/// squares; (alpha, beta) minimise the residual sum of squares over a grid on
/// [-2, -0.01]^2 in steps of 0.05 (from -0.01), then a grid of step 0.0025 over the
/// surrounding ±0.05 square, both clamped to the range. Additive, as the paper's: size and
/// steps each lower the error by their own power law, with no interaction term.
public struct JointScalingLaw: Equatable, Sendable {
    /// The limit with unbounded size and steps (a ceiling for rising metrics, a floor for entropy).
    public var a: Double
    /// The size term's coefficient and exponent: b * N^alpha.
    public var b: Double
    public var alpha: Double
    /// The steps term's coefficient and exponent: d * S^beta.
    public var d: Double
    public var beta: Double
    /// Residual sum of squares on the fitted points.
    public var residual: Double

    /// The law's value at N parameters after S steps.
    public func predict(parameters n: Double, steps s: Double) -> Double {
        a + b * Foundation.pow(n, alpha) + d * Foundation.pow(s, beta)
    }

    /// (a, b, d, residual) for fixed exponents; nil when the points do not determine b and d.
    static func linearFit(_ ns: [Double], _ ss: [Double], _ ys: [Double], alpha: Double, beta: Double)
        -> (a: Double, b: Double, d: Double, residual: Double)? {
        let us = ns.map { Foundation.pow($0, alpha) }, vs = ss.map { Foundation.pow($0, beta) }
        let count = Double(ys.count)
        let um = us.reduce(0, +) / count, vm = vs.reduce(0, +) / count, ym = ys.reduce(0, +) / count
        var suu = 0.0, svv = 0.0, suv = 0.0, suy = 0.0, svy = 0.0
        for i in ys.indices {
            let u = us[i] - um, v = vs[i] - vm, y = ys[i] - ym
            suu += u * u; svv += v * v; suv += u * v; suy += u * y; svy += v * y
        }
        let det = suu * svv - suv * suv
        guard det.isFinite, det > 1e-12 * max(suu * svv, 1e-300) else { return nil }
        let b = (suy * svv - svy * suv) / det, d = (svy * suu - suy * suv) / det
        let a = ym - b * um - d * vm
        var residual = 0.0
        for i in ys.indices { let r = ys[i] - (a + b * us[i] + d * vs[i]); residual += r * r }
        return residual.isFinite ? (a, b, d, residual) : nil
    }

    /// The least-squares joint law through (N, S, y) points, N > 0 and S > 0; nil with fewer
    /// than 5 points or fewer than 2 distinct values of N or of S.
    public static func fit(parameters ns: [Double], steps ss: [Double], y ys: [Double]) -> JointScalingLaw? {
        guard ns.count == ys.count, ss.count == ys.count, ys.count >= 5,
              ns.allSatisfy({ $0 > 0 && $0.isFinite }), ss.allSatisfy({ $0 > 0 && $0.isFinite }), ys.allSatisfy(\.isFinite),
              Set(ns).count >= 2, Set(ss).count >= 2 else { return nil }
        let range = ScalingLaw.exponentRange
        var best: (alpha: Double, beta: Double, residual: Double)?
        func consider(_ alpha: Double, _ beta: Double) {
            guard let f = linearFit(ns, ss, ys, alpha: alpha, beta: beta) else { return }
            if best == nil || f.residual < best!.residual { best = (alpha, beta, f.residual) }
        }
        let coarse = (0...39).map { range.upperBound - 0.05 * Double($0) }.filter { range.contains($0) }
        for alpha in coarse { for beta in coarse { consider(alpha, beta) } }
        guard let grid = best else { return nil }
        for i in -20...20 {
            for j in -20...20 {
                let alpha = grid.alpha + 0.0025 * Double(i), beta = grid.beta + 0.0025 * Double(j)
                if range.contains(alpha) && range.contains(beta) { consider(alpha, beta) }
            }
        }
        guard let found = best, let f = linearFit(ns, ss, ys, alpha: found.alpha, beta: found.beta) else { return nil }
        return JointScalingLaw(a: f.a, b: f.b, alpha: found.alpha, d: f.d, beta: found.beta, residual: f.residual)
    }
}
