import FleetTwinEngine
import FleetTwinTensor
import Foundation

/// The small learned cross-encoder: an MLP over one (query, document) pair.
///
/// Input: four lexical features (BM25 normalised by the query's best possible score, the
/// share of distinct query terms the document contains, the idf-weighted share, and the log
/// length ratio |d| / avgdl) next to the elementwise product of the mean query and mean
/// document embeddings (a learned soft match). Hidden layer of `hidden` ReLUs, one logit;
/// the score is sigmoid(logit), trained with binary cross-entropy on labelled pairs.
enum CrossEncoder {
    static let featureCount = 4

    /// [embedding V x e, W1 (4 + e) x h, b1 h, W2 h x 1, b2 1]
    static func initialParameters(vocabulary: Int, embedding: Int, hidden: Int,
                                  generator: inout SeededGenerator) -> [Tensor] {
        let inputs = featureCount + embedding
        return [
            Tensor.randomNormal(shape: [vocabulary, embedding], std: 1, using: &generator),
            Tensor.randomNormal(shape: [inputs, hidden], std: Float(2 / Double(inputs)).squareRoot(), using: &generator),
            Tensor(zeros: [hidden]),
            Tensor.randomNormal(shape: [hidden, 1], std: Float(1 / Double(hidden)).squareRoot(), using: &generator),
            Tensor(zeros: [1]),
        ]
    }

    static func features(query: [Int], document: [Int], bm25: BM25) -> [Float] {
        let terms = BM25.queryTerms(query)
        let tf = BM25.termFrequencies(document)
        var matched = 0
        var idfMatched = 0.0, idfTotal = 0.0
        for t in terms {
            let w = bm25.idf(t)
            idfTotal += w
            if tf.contains(where: { $0.term == t }) { matched += 1; idfMatched += w }
        }
        let best = idfTotal * (bm25.k1 + 1)
        let score = bm25.score(query: query, document: document)
        return [
            Float(best > 0 ? score / best : 0),
            Float(terms.isEmpty ? 0 : Double(matched) / Double(terms.count)),
            Float(idfTotal > 0 ? idfMatched / idfTotal : 0),
            Float(Foundation.log(Double(max(document.count, 1)) / bm25.averageLength)),
        ]
    }

    /// Logits [pairs x 1] for pairs (queries[i], documents[i]) with their `features` rows.
    static func logits(_ tape: Tape, _ p: [Variable], queries: [[Int]], documents: [[Int]], features: [Float]) -> Variable {
        let q = tape.bagMeans(p[0], bags: queries)
        let d = tape.bagMeans(p[0], bags: documents)
        let f = tape.leaf(Tensor(shape: [queries.count, featureCount], scalars: features))
        let x = tape.concatenateColumns([f, tape.multiply(q, d)])
        return tape.linear(tape.relu(tape.linear(x, p[1], p[2])), p[3], p[4])
    }

    /// Probabilities sigmoid(logit) for pairs, computed in one batch without gradients.
    static func probabilities(_ parameters: [Tensor], queries: [[Int]], documents: [[Int]], bm25: BM25) -> [Double] {
        guard !queries.isEmpty else { return [] }
        var features: [Float] = []
        features.reserveCapacity(queries.count * featureCount)
        for (q, d) in zip(queries, documents) { features += Self.features(query: q, document: d, bm25: bm25) }
        let tape = Tape()
        let p = parameters.map(tape.leaf)
        let z = tape.value(logits(tape, p, queries: queries, documents: documents, features: features))
        return z.scalars.map { 1 / (1 + Foundation.exp(-Double($0))) }
    }

    /// Matrix-product FLOPs of one training pass over `pairs` pairs (forward 2mkn, backward 4mkn).
    static func flops(pairs: Int, embedding: Int, hidden: Int) -> Int {
        6 * pairs * (featureCount + embedding) * hidden + 6 * pairs * hidden
    }
}

/// The student dense retriever: one shared encoder for queries and documents,
/// enc(x) = tanh(mean token embedding · W + b), relevance = enc(q) · enc(d) / temperature.
enum StudentRetriever {
    static let temperature: Float = 0.25

    /// [embedding V x d, W d x d, b d]
    static func initialParameters(vocabulary: Int, dimension: Int, generator: inout SeededGenerator) -> [Tensor] {
        [
            Tensor.randomNormal(shape: [vocabulary, dimension], std: 1, using: &generator),
            Tensor.randomNormal(shape: [dimension, dimension], std: Float(1 / Double(dimension)).squareRoot(), using: &generator),
            Tensor(zeros: [dimension]),
        ]
    }

    static func encode(_ tape: Tape, _ p: [Variable], _ bags: [[Int]]) -> Variable {
        tape.tanh(tape.linear(tape.bagMeans(p[0], bags: bags), p[1], p[2]))
    }

    /// InfoNCE over a batch: row i scores query i against every positive and every negative of
    /// the batch (its own negatives and everyone else's, plus the other positives: in-batch
    /// negatives); the target is its own positive's column.
    static func infoNCE(_ tape: Tape, _ p: [Variable], queries: [[Int]], positives: [[Int]], negatives: [[Int]]) -> Variable {
        let q = encode(tape, p, queries)
        let c = encode(tape, p, positives + negatives)
        let s = tape.scale(tape.matmul(q, c, transposingB: true), 1 / temperature)
        return tape.crossEntropy(s, targets: Array(0..<queries.count))
    }

    /// Encodings of `bags` without gradients ([bags x d]).
    static func encodings(_ parameters: [Tensor], _ bags: [[Int]]) -> Tensor {
        let tape = Tape()
        return tape.value(encode(tape, parameters.map(tape.leaf), bags))
    }

    static func flops(queries: Int, negativesPerQuery k: Int, dimension d: Int) -> Int {
        let encoded = queries * (2 + k)
        return 6 * encoded * d * d + 6 * queries * d * (queries * (1 + k))
    }
}
