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
