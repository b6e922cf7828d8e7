import FleetTwinEngine
import Foundation

/// The ECI workload's synthetic retrieval collection, generated from the seed alone.
///
/// Vocabulary: `generalWords` background words (Zipf over the whole language) and `topics`
/// pools of topic words (Zipf within each pool). A base document has a topic and three
/// distinctive "key" words from the rarer part of its topic's pool; its text mixes its key
/// words (1-3 times each), topic words and background words. A share `twinRate` of base
/// documents get a near-duplicate "twin" (same topic and key words, fresh filler text):
/// relevant to the same queries, but unlabelled in training, so a miner that takes it as a
/// negative has taken a false negative. A query is 2-3 of a base document's key words plus
/// one topic word; its relevant documents are the source and its twin (if any).
public struct ECICorpus: Sendable {
    public struct Document: Sendable, Equatable {
        public var tokens: [Int]
        public var topic: Int
        public var keys: [Int]
    }

    public struct Query: Sendable, Equatable {
        public var tokens: [Int]
        /// The document the query was written from: the labelled positive.
        public var source: Int
        /// Every relevant document, in increasing order (the source and its twin, if any).
        public var relevant: [Int]
    }

    public let vocabulary: Int
    public let generalWords: Int
    public let topics: Int
    public let topicPool: Int
    public private(set) var documents: [Document] = []
    /// twinOf[d]: the other member of d's twin pair, or -1.
    public private(set) var twinOf: [Int] = []
    public private(set) var ceQueries: [Query] = []
    public private(set) var trainQueries: [Query] = []
    public private(set) var evalQueries: [Query] = []

    /// Words of topic `t`, most frequent first.
    public func topicWord(_ t: Int, rank: Int) -> Int { generalWords + t * topicPool + rank }

    static let keyCount = 3
    /// Key words are drawn from topic ranks keyRankStart..<topicPool: distinctive, not filler.
    static let keyRankStart = 8

    public init(baseDocuments: Int, topics: Int, vocabulary: Int, twinRate: Double,
                ceQueries: Int, trainQueries: Int, evalQueries: Int,
                generator: SeededGenerator) {
        precondition(ceQueries + trainQueries + evalQueries <= baseDocuments)
        self.vocabulary = vocabulary
        self.generalWords = max(vocabulary / 10, 10)
        self.topics = topics
        self.topicPool = (vocabulary - generalWords) / topics
        var g = generator
        let general = ZipfSampler(count: generalWords, exponent: 1.0)
        let topical = ZipfSampler(count: topicPool, exponent: 1.0)

        func filler(topic: Int, count: Int, into tokens: inout [Int]) {
            for _ in 0..<count {
                if g.nextUnitDouble() < 0.6 {
                    tokens.append(topicWord(topic, rank: topical.sample(&g)))
                } else {
                    tokens.append(general.sample(&g))
                }
            }
        }
        func text(topic: Int, keys: [Int]) -> [Int] {
            var tokens: [Int] = []
            for key in keys { for _ in 0..<(1 + g.below(3)) { tokens.append(key) } }
            filler(topic: topic, count: 16 + g.below(17), into: &tokens)
            g.shuffle(&tokens)
            return tokens
        }

        for _ in 0..<baseDocuments {
            let topic = g.below(topics)
            var keys: [Int] = []
            while keys.count < Self.keyCount {
                let word = topicWord(topic, rank: Self.keyRankStart + g.below(topicPool - Self.keyRankStart))
                if !keys.contains(word) { keys.append(word) }
            }
            documents.append(Document(tokens: text(topic: topic, keys: keys), topic: topic, keys: keys))
        }
        twinOf = [Int](repeating: -1, count: baseDocuments)
        for d in 0..<baseDocuments where g.nextUnitDouble() < twinRate {
            let base = documents[d]
            let twin = documents.count
            documents.append(Document(tokens: text(topic: base.topic, keys: base.keys), topic: base.topic, keys: base.keys))
            twinOf[d] = twin
            twinOf.append(d)
        }

        // Query sources: a shuffled order of base documents, split three ways.
        var order = Array(0..<baseDocuments)
        g.shuffle(&order)
        func query(from d: Int) -> Query {
            let doc = documents[d]
            var tokens: [Int] = []
            for key in doc.keys where g.nextUnitDouble() < 0.85 { tokens.append(key) }
            while tokens.count < 2 {
                let key = doc.keys[g.below(Self.keyCount)]
                if !tokens.contains(key) { tokens.append(key) }
            }
            tokens.append(topicWord(doc.topic, rank: topical.sample(&g)))
            g.shuffle(&tokens)
            let relevant = twinOf[d] >= 0 ? [d, twinOf[d]].sorted() : [d]
            return Query(tokens: tokens, source: d, relevant: relevant)
        }
        let queries = order.prefix(ceQueries + trainQueries + evalQueries).map(query)
        self.ceQueries = Array(queries[0..<ceQueries])
        self.trainQueries = Array(queries[ceQueries..<(ceQueries + trainQueries)])
        self.evalQueries = Array(queries[(ceQueries + trainQueries)...])
    }

    public func isRelevant(_ document: Int, to query: Query) -> Bool {
        query.relevant.contains(document)
    }
}

/// Zipf(s) over ranks 0..<count by inverse-CDF lookup (binary search over cumulative weights).
struct ZipfSampler: Sendable {
    let cumulative: [Double]

    init(count: Int, exponent: Double) {
        var total = 0.0
        var c: [Double] = []
        c.reserveCapacity(count)
        for r in 0..<count { total += 1 / Foundation.pow(Double(r + 1), exponent); c.append(total) }
        cumulative = c.map { $0 / total }
    }

    func sample(_ g: inout SeededGenerator) -> Int {
        let u = g.nextUnitDouble()
        var lo = 0, hi = cumulative.count - 1
        while lo < hi {
            let mid = (lo + hi) / 2
            if cumulative[mid] > u { hi = mid } else { lo = mid + 1 }
        }
        return lo
    }
}

extension SeededGenerator {
    /// Uniform in 0..<n from 53 random bits (multiply-shift; n is small here).
    mutating func below(_ n: Int) -> Int {
        precondition(n > 0)
        return min(Int(nextUnitDouble() * Double(n)), n - 1)
    }

    /// Fisher-Yates with `below`, so the order depends only on the stream.
    mutating func shuffle<T>(_ a: inout [T]) {
        guard a.count > 1 else { return }
        for i in stride(from: a.count - 1, to: 0, by: -1) {
            let j = below(i + 1)
            if i != j { a.swapAt(i, j) }
        }
    }
}
