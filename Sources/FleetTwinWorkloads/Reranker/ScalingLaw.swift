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
