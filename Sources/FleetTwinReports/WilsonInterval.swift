import Foundation

/// The Wilson score interval of a binomial proportion: unlike the normal approximation it
/// stays inside [0, 1] and is sensible for small counts and proportions near 0 or 1, which
/// SLA attainment of a small tier often is.
public struct WilsonInterval: Equatable, Sendable {
    public var low: Double
    public var high: Double

    /// `successes` of `trials` at the confidence given by `z` (1.96: 95%); nil for no trials.
    public init?(successes: Double, trials: Double, z: Double = 1.96) {
        guard trials > 0, successes >= 0, successes <= trials else { return nil }
        let p = successes / trials, z2 = z * z
        let denominator = 1 + z2 / trials
        let centre = (p + z2 / (2 * trials)) / denominator
        let half = z * (p * (1 - p) / trials + z2 / (4 * trials * trials)).squareRoot() / denominator
        low = max(0, centre - half)
        high = min(1, centre + half)
    }
}
