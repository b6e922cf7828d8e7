import FleetTwinEngine
import FleetTwinTensor

/// A negative for one training query: a corpus document, or a synthetic text (LLM-style).
public struct ECINegative: Equatable, Sendable {
    /// The corpus document, or -1 for a synthetic text.
    public var document: Int
    /// The synthetic text's tokens (empty for a corpus document: its tokens are the corpus's).
    public var syntheticTokens: [Int]
    /// Whether it is in truth relevant to its query (a false negative): the generator knows.
    public var falseNegative: Bool

    func tokens(in corpus: ECICorpus) -> [Int] {
        document >= 0 ? corpus.documents[document].tokens : syntheticTokens
    }

    func encode(to writer: inout ByteWriter) {
        writer.write(document)
        writer.write(falseNegative)
        if document < 0 { writer.write(syntheticTokens) }
    }

    init(document: Int, syntheticTokens: [Int] = [], falseNegative: Bool) {
        self.document = document
        self.syntheticTokens = syntheticTokens
        self.falseNegative = falseNegative
    }

    init(from reader: inout ByteReader, documents: Int) throws {
        document = try reader.readInt()
        guard document >= -1, document < documents else {
            throw ByteDecodingError(offset: reader.offset, reason: "negative document \(document) outside 0..<\(documents)")
        }
        falseNegative = try reader.readBool()
        syntheticTokens = document < 0 ? try reader.readInts() : []
    }
}

/// Where a set's negatives come from.
public enum ECINegativeSource: String, CaseIterable, Sendable {
    case random
    case bm25
    case crossEncoder = "cross-encoder"
    case llm
    case hybridBM25CrossEncoder = "hybrid-bm25-ce"
    case hybridBM25LLM = "hybrid-bm25-llm"

    /// The two parents of a hybrid (half from each, the first one first), nil otherwise.
    public var parents: (ECINegativeSource, ECINegativeSource)? {
        switch self {
        case .hybridBM25CrossEncoder: (.bm25, .crossEncoder)
        case .hybridBM25LLM: (.bm25, .llm)
        default: nil
        }
    }

    public var usesGenerator: Bool { self == .llm || self == .hybridBM25LLM }
}

/// Mines or generates a negative set for every training query.
struct ECIMiner {
    let corpus: ECICorpus
    let bm25: BM25
    let crossEncoder: [Tensor]
    let k: Int
    let candidates: Int
    let falseNegativeRate: Double
    let spec: WorkloadSpec

    func mine(_ source: ECINegativeSource) -> [[ECINegative]] {
        let queries = corpus.trainQueries
        // Ranked corpus lists only where the set needs them (the cross-encoder reranks BM25's top).
        var bm25Lists: [[Int]] = []
        var ceLists: [[Int]] = []
        let needsBM25 = [.bm25, .crossEncoder, .hybridBM25CrossEncoder, .hybridBM25LLM].contains(source)
        let needsCE = source == .crossEncoder || source == .hybridBM25CrossEncoder
        if needsBM25 {
            let depth = max(candidates, k)
            bm25Lists = queries.map { bm25.top(query: $0.tokens, count: depth, excluding: [$0.source]) }
        }
        if needsCE {
            var qs: [[Int]] = [], ds: [[Int]] = []
            for (q, list) in zip(queries, bm25Lists) {
                for d in list { qs.append(q.tokens); ds.append(corpus.documents[d].tokens) }
            }
            let p = CrossEncoder.probabilities(crossEncoder, queries: qs, documents: ds, bm25: bm25)
            var offset = 0
            for list in bm25Lists {
                let scores = Array(p[offset..<(offset + list.count)])
                ceLists.append(ranked(scores).map { list[$0] })
                offset += list.count
            }
        }
        return queries.indices.map { i -> [ECINegative] in
            let q = queries[i]
            func corpusNegatives(_ list: [Int]) -> [ECINegative] {
                list.map { ECINegative(document: $0, falseNegative: corpus.isRelevant($0, to: q)) }
            }
            var llm: [ECINegative] = []
            if source.usesGenerator { llm = generate(for: q, index: i) }
            let primary: [ECINegative], secondary: [ECINegative]
            switch source {
            case .random: primary = []; secondary = []
            case .bm25: primary = corpusNegatives(bm25Lists[i]); secondary = []
            case .crossEncoder: primary = corpusNegatives(ceLists[i]); secondary = []
            case .llm: primary = llm; secondary = []
            case .hybridBM25CrossEncoder: primary = corpusNegatives(bm25Lists[i]); secondary = corpusNegatives(ceLists[i])
            case .hybridBM25LLM: primary = corpusNegatives(bm25Lists[i]); secondary = llm
            }
            var set: [ECINegative] = []
            func take(_ list: [ECINegative], upTo limit: Int) {
                for n in list where set.count < limit {
                    if n.document >= 0 && set.contains(where: { $0.document == n.document }) { continue }
                    set.append(n)
                }
            }
            if source.parents != nil {
                take(primary, upTo: (k + 1) / 2)
                take(secondary, upTo: k)
            }
            take(primary, upTo: k)
            // Short lists (few lexical matches) are filled with random documents.
            var g = spec.generator("mine.random", index: UInt64(i))
            var attempts = 0
            while set.count < k && attempts < 100 * k {
                attempts += 1
                let d = g.below(corpus.documents.count)
                if d == q.source || set.contains(where: { $0.document == d }) { continue }
                set.append(ECINegative(document: d, falseNegative: corpus.isRelevant(d, to: q)))
            }
            return set
        }
    }

    /// The LLM-style generator: `k` rewrites of the query's positive. With probability
    /// `falseNegativeRate` a rewrite is a paraphrase that keeps every key word (the answer):
    /// relevant, a planted false negative. Otherwise it keeps one key word and swaps the
    /// others for other words of the same topic: on topic, lexically close, not relevant.
    /// Both also resample 30% of the filler words.
    func generate(for query: ECICorpus.Query, index: Int) -> [ECINegative] {
        var g = spec.generator("mine.llm", index: UInt64(index))
        let positive = corpus.documents[query.source]
        let pool = corpus.topicPool
        return (0..<k).map { _ in
            let plantFalse = g.nextUnitDouble() < falseNegativeRate
            var replaced: [Int] = [], replacements: [Int] = []
            if !plantFalse {
                let keep = g.below(positive.keys.count)
                for (j, key) in positive.keys.enumerated() where j != keep {
                    var word: Int
                    repeat {
                        word = corpus.topicWord(positive.topic, rank: ECICorpus.keyRankStart + g.below(pool - ECICorpus.keyRankStart))
                    } while positive.keys.contains(word) || replacements.contains(word)
                    replaced.append(key); replacements.append(word)
                }
            }
            let tokens = positive.tokens.map { t -> Int in
                if let j = replaced.firstIndex(of: t) { return replacements[j] }
                if positive.keys.contains(t) { return t }
                guard g.nextUnitDouble() < 0.3 else { return t }
                let word = g.nextUnitDouble() < 0.6
                    ? corpus.topicWord(positive.topic, rank: g.below(pool))
                    : g.below(corpus.generalWords)
                return positive.keys.contains(word) ? t : word
            }
            return ECINegative(document: -1, syntheticTokens: tokens, falseNegative: plantFalse)
        }
    }
}
