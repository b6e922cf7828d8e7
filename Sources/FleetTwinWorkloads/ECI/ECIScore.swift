import Foundation

/// Effective Contrastive Information of a negative set, scored before any training.
///
/// Inputs, per training query q: the scorer's probability p(q) for the labelled positive and
/// n(q, i) for each of its K(q) negatives (this workload's scorer is the learned
/// cross-encoder, a probability in (0, 1)). With margin m (default 0.1):
///
///     Capacity   C  = ln(1 + K̄)                       K̄ = mean negatives per query
///     Hardness   H  = mean over (q, i) of min(1, n(q, i) / p(q))
///     Safety     S  = share of (q, i) with n(q, i) < p(q) - m
///     Efficiency DE = 2 H S / (H + S)                  (0 when H + S = 0)
///     ECI           = C * DE
///
/// Why normalise against the positive: an absolute cut (the third-party script's
/// "S = share below 0.8", "H = mean score") calls a 0.7 negative safe even when its query's
/// positive scores 0.6 (the scorer ranks it above the answer: a likely false negative), and
/// calls a 0.85 negative unsafe for a positive at 0.99. The ratio n/p reads "how close to
/// the answer", 1 at or above it; the margin rule is the paper's max-margin safety: a negative
/// within m of its positive, or above it, is presumed unlabelled-relevant.
public struct ECIScore: Equatable, Sendable {
    public var capacity: Double
    public var hardness: Double
    public var safety: Double
    public var efficiency: Double
    public var eci: Double
    /// The other defensible readings of the paper's definitions, scored from the same inputs
    /// (see `ECIScoreVariants`): reported beside `eci`, never chosen by their result.
    public var variants: ECIScoreVariants

    public static let defaultMargin = 0.1

    /// `positives[q]` and `negatives[q]` (that query's negative scores), one entry per query.
    public init(positives: [Double], negatives: [[Double]], margin: Double = defaultMargin) {
        precondition(positives.count == negatives.count, "\(positives.count) positives for \(negatives.count) negative lists")
        var pairs = 0, safe = 0
        var hardnessTotal = 0.0
        for (p, list) in zip(positives, negatives) {
            for n in list {
                pairs += 1
                hardnessTotal += p > 0 ? min(1, n / p) : 1
                if n < p - margin { safe += 1 }
            }
        }
        let meanK = positives.isEmpty ? 0 : Double(pairs) / Double(positives.count)
        capacity = Foundation.log1p(meanK)
        hardness = pairs == 0 ? 0 : hardnessTotal / Double(pairs)
        safety = pairs == 0 ? 0 : Double(safe) / Double(pairs)
        efficiency = hardness + safety > 0 ? 2 * hardness * safety / (hardness + safety) : 0
        eci = capacity * efficiency
        variants = ECIScoreVariants(positives: positives, negatives: negatives, margin: margin, capacity: capacity, safety: safety)
    }
}

/// Three other readings of ECI v1's definitions, fixed before any run (the paper's exact
/// equations could not be obtained). Each keeps C = ln(1 + K̄) and ECI = C * DE:
///
/// - **safe-hardness**: hardness only over the safe negatives (n < p - m); safety as in `eci`.
///   Reason: the paper calls hardness the useful signal and safety the penalty for likely false
///   negatives; a negative that is presumed an unlabelled positive carries no useful signal, so
///   it should not count as hard. DE = 2 H_safe S / (H_safe + S).
/// - **F-beta, beta = 2**: DE = (1 + β²) H S / (β² H + S), weighting safety β = 2 times as
///   much as hardness (the conventional "recall matters more" choice, the only β tried).
///   Reason: the paper presents safety as a constraint (max-margin), not a symmetric partner.
/// - **absolute**: the third-party script's rules: H = mean negative score, S = share of
///   negatives scoring below 0.8 (an absolute threshold, no positive), DE harmonic.
public struct ECIScoreVariants: Equatable, Sendable {
    /// Hardness over the safe negatives only (0 when none is safe).
    public var safeHardness: Double
    /// C * harmonic(safe hardness, S).
    public var eciSafeHardness: Double
    /// F-beta (beta = 2) efficiency.
    public var efficiencyFBeta2: Double
    /// C * the F-beta 2 efficiency.
    public var eciFBeta2: Double
    /// The absolute reading's hardness: the mean negative score.
    public var hardnessAbsolute: Double
    /// The absolute reading's safety: the share of negatives scoring below 0.8.
    public var safetyAbsolute: Double
    /// C * harmonic(absolute hardness, absolute safety).
    public var eciAbsolute: Double

    /// The beta of the F-beta reading, fixed a priori.
    public static let beta = 2.0
    /// The absolute reading's safety threshold (the third-party script's 0.8).
    public static let absoluteThreshold = 0.8

    /// The variants' result-metric names, in order (after `ECIWorkload.metricNames`).
    public static let names = ["eci.safe_hardness", "hardness.safe_hardness", "eci.fbeta2", "efficiency.fbeta2",
                               "eci.absolute", "hardness.absolute", "safety.absolute"]

    /// The variants in a fixed order with their result-metric names.
    public var named: [(name: String, value: Double)] {
        let values = [eciSafeHardness, safeHardness, eciFBeta2, efficiencyFBeta2, eciAbsolute, hardnessAbsolute, safetyAbsolute]
        return Array(zip(Self.names, values)).map { (name: $0.0, value: $0.1) }
    }

    /// Restores the variants from `named`'s values, in its order.
    public init(values v: [Double]) {
        precondition(v.count == 7, "7 ECI variant values, got \(v.count)")
        eciSafeHardness = v[0]; safeHardness = v[1]; eciFBeta2 = v[2]; efficiencyFBeta2 = v[3]
        eciAbsolute = v[4]; hardnessAbsolute = v[5]; safetyAbsolute = v[6]
    }

    /// The harmonic-mean efficiency (0 when both parts are 0).
    static func harmonic(_ h: Double, _ s: Double) -> Double { h + s > 0 ? 2 * h * s / (h + s) : 0 }

    init(positives: [Double], negatives: [[Double]], margin: Double, capacity: Double, safety: Double) {
        var pairs = 0, safe = 0, belowThreshold = 0
        var safeTotal = 0.0, scoreTotal = 0.0, hardnessTotal = 0.0
        for (p, list) in zip(positives, negatives) {
            for n in list {
                pairs += 1
                hardnessTotal += p > 0 ? min(1, n / p) : 1
                scoreTotal += n
                if n < p - margin { safe += 1; safeTotal += p > 0 ? min(1, n / p) : 1 }
                if n < Self.absoluteThreshold { belowThreshold += 1 }
            }
        }
        safeHardness = safe == 0 ? 0 : safeTotal / Double(safe)
        eciSafeHardness = capacity * Self.harmonic(safeHardness, safety)
        let hardness = pairs == 0 ? 0 : hardnessTotal / Double(pairs)
        let b2 = Self.beta * Self.beta
        efficiencyFBeta2 = b2 * hardness + safety > 0 ? (1 + b2) * hardness * safety / (b2 * hardness + safety) : 0
        eciFBeta2 = capacity * efficiencyFBeta2
        hardnessAbsolute = pairs == 0 ? 0 : scoreTotal / Double(pairs)
        safetyAbsolute = pairs == 0 ? 0 : Double(belowThreshold) / Double(pairs)
        eciAbsolute = capacity * Self.harmonic(hardnessAbsolute, safetyAbsolute)
    }
}

/// Retrieval metrics over a ranking of document ids with binary relevance (cut at 10 by
/// default), and Spearman correlation. The reranker has graded-label metrics over scores.
public enum RetrievalMetrics {
    /// nDCG@k: DCG = sum over ranks i = 1...k of rel_i / log2(i + 1), over the ideal DCG of
    /// min(k, |relevant|) relevant documents at the top.
    public static func ndcg(ranking: [Int], relevant: [Int], cutoff: Int = 10) -> Double {
        guard !relevant.isEmpty else { return 0 }
        var dcg = 0.0
        for (i, d) in ranking.prefix(cutoff).enumerated() where relevant.contains(d) {
            dcg += 1 / Foundation.log2(Double(i + 2))
        }
        var ideal = 0.0
        for i in 0..<min(cutoff, relevant.count) { ideal += 1 / Foundation.log2(Double(i + 2)) }
        return dcg / ideal
    }

    /// MRR@k: 1 / rank of the first relevant document within the top k, else 0.
    public static func reciprocalRank(ranking: [Int], relevant: [Int], cutoff: Int = 10) -> Double {
        for (i, d) in ranking.prefix(cutoff).enumerated() where relevant.contains(d) { return 1 / Double(i + 1) }
        return 0
    }

    /// Ranks 1...n with ties given their average rank.
    public static func averageRanks(_ values: [Double]) -> [Double] {
        let order = Array(values.indices).sorted { values[$0] != values[$1] ? values[$0] < values[$1] : $0 < $1 }
        var ranks = [Double](repeating: 0, count: values.count)
        var i = 0
        while i < order.count {
            var j = i
            while j + 1 < order.count && values[order[j + 1]] == values[order[i]] { j += 1 }
            let average = Double(i + j) / 2 + 1
            for t in i...j { ranks[order[t]] = average }
            i = j + 1
        }
        return ranks
    }

    /// Spearman's rank correlation: Pearson correlation of the average ranks (ties handled).
    /// nil with fewer than two points or when either side is constant.
    public static func spearman(_ x: [Double], _ y: [Double]) -> Double? {
        precondition(x.count == y.count)
        guard x.count >= 2 else { return nil }
        return pearson(averageRanks(x), averageRanks(y))
    }

    public static func pearson(_ x: [Double], _ y: [Double]) -> Double? {
        let n = Double(x.count)
        let mx = x.reduce(0, +) / n, my = y.reduce(0, +) / n
        var sxy = 0.0, sxx = 0.0, syy = 0.0
        for (a, b) in zip(x, y) { sxy += (a - mx) * (b - my); sxx += (a - mx) * (a - mx); syy += (b - my) * (b - my) }
        guard sxx > 0, syy > 0 else { return nil }
        return sxy / (sxx * syy).squareRoot()
    }
}
