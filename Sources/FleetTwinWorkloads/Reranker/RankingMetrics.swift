import Foundation

/// Ranking metrics of one query's candidate list (scores from the model, graded labels 0-3).
///
/// The ranking sorts candidates by score, descending, ties broken by candidate index (lower
/// first), so a metric never depends on sort stability. "Relevant" means label >= 2.
public enum RankingMetrics {
    public static let relevantLabel: Float = 2

    /// Candidate indices in ranked order.
    public static func ranking(_ scores: [Float]) -> [Int] {
        scores.indices.sorted { scores[$0] > scores[$1] || (scores[$0] == scores[$1] && $0 < $1) }
    }

    /// nDCG@k = DCG@k / IDCG@k, DCG@k = sum over ranks i = 1...k of (2^label - 1) / log2(i + 1);
    /// IDCG@k is the DCG of the labels sorted descending. 0 when every label is 0.
    public static func ndcg(scores: [Float], labels: [Float], k: Int = 10) -> Double {
        func dcg(_ ordered: [Float]) -> Double {
            var total = 0.0
            for (i, label) in ordered.prefix(k).enumerated() {
                total += (Foundation.pow(2, Double(label)) - 1) / Foundation.log2(Double(i) + 2)
            }
            return total
        }
        let ideal = dcg(labels.sorted(by: >))
        guard ideal > 0 else { return 0 }
        return dcg(ranking(scores).map { labels[$0] }) / ideal
    }

    /// Average precision: the mean, over the relevant candidates, of precision at their rank.
    /// 0 when no candidate is relevant.
    public static func averagePrecision(scores: [Float], labels: [Float]) -> Double {
        var hits = 0, total = 0.0
        for (i, index) in ranking(scores).enumerated() where labels[index] >= relevantLabel {
            hits += 1
            total += Double(hits) / Double(i + 1)
        }
        return hits == 0 ? 0 : total / Double(hits)
    }

    /// Reciprocal rank of the first relevant candidate (0 when none is relevant).
    public static func reciprocalRank(scores: [Float], labels: [Float]) -> Double {
        for (i, index) in ranking(scores).enumerated() where labels[index] >= relevantLabel {
            return 1 / Double(i + 1)
        }
        return 0
    }

    /// Contrastive entropy over the K candidates: the mean, over the relevant candidates p, of
    /// -log( e^{s_p} / (e^{s_p} + sum over non-relevant j of e^{s_j}) ): the InfoNCE loss of
    /// each positive against all the query's negatives (other positives left out). Lower is
    /// better; log(1 + negatives) for a constant scorer. Returns (sum, count) so callers can pool.
    public static func contrastiveEntropy(scores: [Float], labels: [Float]) -> (sum: Double, count: Int) {
        var negatives: [Double] = []
        for (s, l) in zip(scores, labels) where l < relevantLabel { negatives.append(Double(s)) }
        var sum = 0.0, count = 0
        for (s, l) in zip(scores, labels) where l >= relevantLabel {
            let sp = Double(s)
            let m = max(sp, negatives.max() ?? sp)
            var z = Foundation.exp(sp - m)
            for n in negatives { z += Foundation.exp(n - m) }
            sum += -(sp - m - Foundation.log(z))
            count += 1
        }
        return (sum, count)
    }
}
