import Foundation

/// Okapi BM25 over token-id documents (Lucene's non-negative idf).
///
///     idf(t)      = ln(1 + (N - n(t) + 0.5) / (n(t) + 0.5))
///     score(q, d) = sum over distinct query terms t of
///                   idf(t) * tf(t, d) * (k1 + 1) / (tf(t, d) + k1 * (1 - b + b * |d| / avgdl))
///
/// N documents, n(t) of them containing t, |d| the document's length in tokens, avgdl the
/// mean length. Repeated query terms count once. Defaults k1 = 0.9, b = 0.4 (Anserini's).
public struct BM25: Sendable {
    public let k1: Double
    public let b: Double
    public let documentCount: Int
    public let averageLength: Double
    /// documentFrequency[t]: documents containing term t.
    public let documentFrequency: [Int]
    /// postings[t]: (document, term frequency) in increasing document order.
    let postings: [[(document: Int, tf: Int)]]
    let lengths: [Int]

    public init(documents: [[Int]], vocabulary: Int, k1: Double = 0.9, b: Double = 0.4) {
        self.k1 = k1
        self.b = b
        documentCount = documents.count
        lengths = documents.map(\.count)
        averageLength = documents.isEmpty ? 1 : Double(lengths.reduce(0, +)) / Double(documents.count)
        var postings = [[(document: Int, tf: Int)]](repeating: [], count: vocabulary)
        for (d, tokens) in documents.enumerated() {
            for (t, tf) in Self.termFrequencies(tokens) { postings[t].append((d, tf)) }
        }
        self.postings = postings
        documentFrequency = postings.map(\.count)
    }

    /// Distinct terms of `tokens` with their counts, in increasing term order.
    static func termFrequencies(_ tokens: [Int]) -> [(term: Int, count: Int)] {
        var out: [(term: Int, count: Int)] = []
        for t in tokens.sorted() {
            if let last = out.last, last.term == t { out[out.count - 1].count += 1 } else { out.append((t, 1)) }
        }
        return out
    }

    public func idf(_ term: Int) -> Double {
        let n = Double(term < documentFrequency.count ? documentFrequency[term] : 0)
        return Foundation.log(1 + (Double(documentCount) - n + 0.5) / (n + 0.5))
    }

    func termScore(idf: Double, tf: Int, length: Int) -> Double {
        let f = Double(tf)
        return idf * f * (k1 + 1) / (f + k1 * (1 - b + b * Double(length) / averageLength))
    }

    /// Distinct query terms in increasing order.
    static func queryTerms(_ query: [Int]) -> [Int] { termFrequencies(query).map(\.term) }

    /// BM25 of any token list against this collection's statistics (it need not be indexed).
    public func score(query: [Int], document tokens: [Int]) -> Double {
        let tf = Self.termFrequencies(tokens)
        var total = 0.0
        for t in Self.queryTerms(query) {
            guard let hit = tf.first(where: { $0.term == t }) else { continue }
            total += termScore(idf: idf(t), tf: hit.count, length: tokens.count)
        }
        return total
    }

    /// Scores of every indexed document for `query` (term at a time, terms in increasing order).
    public func scores(query: [Int]) -> [Double] {
        var out = [Double](repeating: 0, count: documentCount)
        for t in Self.queryTerms(query) where t < postings.count {
            let w = idf(t)
            for p in postings[t] { out[p.document] += termScore(idf: w, tf: p.tf, length: lengths[p.document]) }
        }
        return out
    }

    /// The top `count` documents by score, ties broken by lower document id; zero scores excluded.
    public func top(query: [Int], count: Int, excluding: Set<Int> = []) -> [Int] {
        let s = scores(query: query)
        return ranked(s).lazy.filter { s[$0] > 0 && !excluding.contains($0) }.prefix(count).map { $0 }
    }
}

/// Indices of `scores` from highest to lowest, ties by lower index (a total, fixed order).
func ranked(_ scores: [Double]) -> [Int] {
    Array(scores.indices).sorted { scores[$0] != scores[$1] ? scores[$0] > scores[$1] : $0 < $1 }
}

func ranked(_ scores: [Float]) -> [Int] {
    Array(scores.indices).sorted { scores[$0] != scores[$1] ? scores[$0] > scores[$1] : $0 < $1 }
}
