import FleetTwinEngine
import FleetTwinTensor
import Foundation

/// ECI hard-negative scoring (arXiv 2603.20990 v1), small and real.
///
/// One job is one negative set. Steps 0..<ceSteps train the cross-encoder (binary
/// cross-entropy on labelled pairs). At the end of the last of them the job mines (or
/// generates) `k` negatives per training query with the chosen source and scores the set with
/// ECI under the cross-encoder. Steps ceSteps..<ceSteps+steps fine-tune the student dense
/// retriever with InfoNCE on the set (plus in-batch negatives); the last step evaluates
/// nDCG@10 and MRR@10 on held-out queries over the whole corpus. See docs/workload-eci.md.
public final class ECIWorkload: Workload {
    public static let kind = "eci"

    public static let optionHelp: [(key: String, help: String)] = [
        ("negatives", "negative set: random | bm25 | cross-encoder | llm | hybrid-bm25-ce | hybrid-bm25-llm (default bm25)"),
        ("k", "negatives per training query, 1...64 (default 8)"),
        ("falseNegativeRate", "share of LLM-generated negatives planted as false negatives, 0...1 (default 0.25)"),
        ("docs", "base documents before twins, 20...100000 (default 1000)"),
        ("topics", "topics, 1...200 (default 12)"),
        ("vocabulary", "vocabulary size, 100...200000 (default 2000)"),
        ("twinRate", "share of base documents with a relevant near-duplicate twin, 0...1 (default 0.3)"),
        ("ceQueries", "labelled queries that train the cross-encoder (default 150)"),
        ("queries", "training queries of the student (default 500)"),
        ("evalQueries", "held-out evaluation queries (default 350)"),
        ("candidates", "BM25 depth the cross-encoder reranks when mining, 1...1000 (default 30)"),
        ("ceSteps", "cross-encoder training steps, 1...100000 (default 100)"),
        ("steps", "student InfoNCE steps, 1...100000 (default 400)"),
        ("batch", "queries per replica per step, 1...1024 (default 16)"),
        ("dim", "student embedding width, 2...512 (default 64)"),
        ("learningRate", "student Adam learning rate, > 0 and <= 1 (default 0.01)"),
        ("ceLearningRate", "cross-encoder Adam learning rate, > 0 and <= 1 (default 0.01)"),
        ("margin", "ECI safety margin m (a negative within m of its positive is unsafe), 0...1 (default 0.1)"),
    ]

    /// The parsed configuration.
    public struct Configuration: Equatable, Sendable {
        public var negatives: ECINegativeSource = .bm25
        public var k = 8
        public var falseNegativeRate = 0.25
        public var docs = 1000
        public var topics = 12
        public var vocabulary = 2000
        public var twinRate = 0.3
        public var ceQueries = 150
        public var queries = 500
        public var evalQueries = 350
        public var candidates = 30
        public var ceSteps = 100
        public var steps = 400
        public var batch = 16
        public var dim = 64
        public var learningRate = 0.01
        public var ceLearningRate = 0.01
        public var margin = ECIScore.defaultMargin
        public var ceEmbedding = 16
        public var ceHidden = 32

        public init() {}

        public init(options: [String: String]) throws {
            let o = OptionParser(kind: ECIWorkload.kind, options: options)
            if let raw = options["negatives"] {
                guard let source = ECINegativeSource(rawValue: raw) else {
                    throw WorkloadError("eci option 'negatives' must be one of \(ECINegativeSource.allCases.map(\.rawValue).joined(separator: ", ")), got '\(raw)'")
                }
                negatives = source
            }
            k = try o.int("k", k, 1...64)
            falseNegativeRate = try o.double("falseNegativeRate", falseNegativeRate, 0...1)
            docs = try o.int("docs", docs, 20...100_000)
            topics = try o.int("topics", topics, 1...200)
            vocabulary = try o.int("vocabulary", vocabulary, 100...200_000)
            twinRate = try o.double("twinRate", twinRate, 0...1)
            ceQueries = try o.int("ceQueries", ceQueries, 1...100_000)
            queries = try o.int("queries", queries, 1...100_000)
            evalQueries = try o.int("evalQueries", evalQueries, 1...100_000)
            candidates = try o.int("candidates", candidates, 1...1000)
            ceSteps = try o.int("ceSteps", ceSteps, 1...100_000)
            steps = try o.int("steps", steps, 1...100_000)
            batch = try o.int("batch", batch, 1...1024)
            dim = try o.int("dim", dim, 2...512)
            learningRate = try o.double("learningRate", learningRate, 1e-9...1)
            ceLearningRate = try o.double("ceLearningRate", ceLearningRate, 1e-9...1)
            margin = try o.double("margin", margin, 0...1)
            guard ceQueries + queries + evalQueries <= docs else {
                throw WorkloadError("eci options 'ceQueries' + 'queries' + 'evalQueries' (\(ceQueries) + \(queries) + \(evalQueries)) must not exceed 'docs' (\(docs)): each query is written from its own base document")
            }
            guard (vocabulary - max(vocabulary / 10, 10)) / topics > ECICorpus.keyRankStart + 2 * ECICorpus.keyCount else {
                throw WorkloadError("eci option 'topics' (\(topics)) is too many for 'vocabulary' (\(vocabulary)): each topic needs at least \(ECICorpus.keyRankStart + 2 * ECICorpus.keyCount + 1) words")
            }
        }
    }

    public let spec: WorkloadSpec
    public let configuration: Configuration
    public private(set) var stepsCompleted = 0
    public var totalSteps: Int { configuration.ceSteps + configuration.steps }

    // Derived from the seed alone (regenerated on restore).
    let corpus: ECICorpus
    let bm25: BM25
    /// ceHardPools[i]: BM25's top non-relevant documents for cross-encoder query i.
    let ceHardPools: [[Int]]

    // The state.
    var ceParameters: [Tensor]
    var ceAdam: Adam
    var studentParameters: [Tensor]
    var studentAdam: Adam
    /// The mined set, one list per training query (nil until the cross-encoder is trained).
    public private(set) var negativeSet: [[ECINegative]]?
    public private(set) var score: ECIScore?
    /// The true share of false negatives in the set (known from the corpus and the generator).
    public private(set) var falseNegativeShare: Double?
    /// Held-out evaluation, once finished: student nDCG@10, MRR@10, then BM25's.
    var evaluation: [Double]?

    private var orderCache: [String: [Int]] = [:]   // looked up by key only, never iterated

    public convenience init(spec: WorkloadSpec) throws {
        try self.init(spec: spec, configuration: Configuration(options: spec.options))
    }

    init(spec: WorkloadSpec, configuration c: Configuration) throws {
        guard spec.worldSize >= 1 else { throw WorkloadError("worldSize must be at least 1, got \(spec.worldSize)") }
        self.spec = spec
        self.configuration = c
        corpus = ECICorpus(baseDocuments: c.docs, topics: c.topics, vocabulary: c.vocabulary, twinRate: c.twinRate,
                           ceQueries: c.ceQueries, trainQueries: c.queries, evalQueries: c.evalQueries,
                           generator: spec.generator("corpus"))
        bm25 = BM25(documents: corpus.documents.map(\.tokens), vocabulary: c.vocabulary)
        let bm25 = self.bm25
        ceHardPools = corpus.ceQueries.map { q in bm25.top(query: q.tokens, count: 10, excluding: Set(q.relevant)) }
        var g = spec.generator("ce.init")
        ceParameters = CrossEncoder.initialParameters(vocabulary: c.vocabulary, embedding: c.ceEmbedding, hidden: c.ceHidden, generator: &g)
        ceAdam = Adam(learningRate: Float(c.ceLearningRate))
        var h = spec.generator("student.init")
        studentParameters = StudentRetriever.initialParameters(vocabulary: c.vocabulary, dimension: c.dim, generator: &h)
        studentAdam = Adam(learningRate: Float(c.learningRate))
    }

    public var estimatedFlopsPerStep: Int {
        let c = configuration
        let ce = c.ceSteps * spec.worldSize * CrossEncoder.flops(pairs: 3 * c.batch, embedding: c.ceEmbedding, hidden: c.ceHidden)
        let student = c.steps * spec.worldSize * StudentRetriever.flops(queries: c.batch, negativesPerQuery: c.k, dimension: c.dim)
        return (ce + student) / totalSteps
    }

    /// Item `position` of an endless stream of shuffled passes over 0..<count (pass e shuffled
    /// by its own generator), so a step's data follows from the step number alone.
    func streamItem(_ purpose: String, count: Int, position: Int) -> Int {
        let epoch = position / count
        let key = "\(purpose).\(epoch)"
        if orderCache[key] == nil {
            if orderCache.count > 8 { orderCache = [:] }
            var g = spec.generator(purpose, index: UInt64(epoch))
            var order = Array(0..<count)
            g.shuffle(&order)
            orderCache[key] = order
        }
        return orderCache[key]![position % count]
    }

    @discardableResult
    public func step(devices: Int) -> StepProfile {
        precondition(!isFinished, "eci job already ran its \(totalSteps) steps")
        let c = configuration
        let s = stepsCompleted
        let w = spec.worldSize
        var flops = 0, bytes = 0
        if s < c.ceSteps {
            let parameters = ceParameters
            let gradients = DataParallel.averagedGradients(worldSize: w, devices: devices) { r in
                let tape = Tape()
                let p = parameters.map(tape.leaf)
                var qs: [[Int]] = [], ds: [[Int]] = [], features: [Float] = [], labels: [Float] = []
                for j in 0..<c.batch {
                    let position = (s * w + r) * c.batch + j
                    let qi = streamItem("ce.order", count: corpus.ceQueries.count, position: position)
                    let q = corpus.ceQueries[qi]
                    var g = spec.generator("ce.pairs", index: UInt64(position))
                    let relevant = q.relevant[g.below(q.relevant.count)]
                    let pool = ceHardPools[qi]
                    var easy = g.below(corpus.documents.count)
                    while q.relevant.contains(easy) { easy = g.below(corpus.documents.count) }
                    let hard = pool.isEmpty ? easy : pool[g.below(pool.count)]
                    for (d, label) in [(relevant, Float(1)), (hard, 0), (easy, 0)] {
                        let tokens = corpus.documents[d].tokens
                        qs.append(q.tokens); ds.append(tokens); labels.append(label)
                        features += CrossEncoder.features(query: q.tokens, document: tokens, bm25: bm25)
                    }
                }
                let z = CrossEncoder.logits(tape, p, queries: qs, documents: ds, features: features)
                tape.backward(from: tape.binaryCrossEntropy(logits: z, targets: labels))
                flops += tape.matmulFlops
                bytes = max(bytes, tape.retainedBytes)
                return p.map(tape.gradient)
            }
            ceAdam.update(&ceParameters, gradients: gradients)
            stepsCompleted += 1
            if stepsCompleted == c.ceSteps { mineAndScore() }
        } else {
            let negatives = negativeSet!
            let parameters = studentParameters
            let t = s - c.ceSteps
            let gradients = DataParallel.averagedGradients(worldSize: w, devices: devices) { r in
                let tape = Tape()
                let p = parameters.map(tape.leaf)
                var qs: [[Int]] = [], positives: [[Int]] = [], negs: [[Int]] = []
                for j in 0..<c.batch {
                    let qi = streamItem("student.order", count: corpus.trainQueries.count, position: (t * w + r) * c.batch + j)
                    let q = corpus.trainQueries[qi]
                    qs.append(q.tokens)
                    positives.append(corpus.documents[q.source].tokens)
                    for n in negatives[qi] { negs.append(n.tokens(in: corpus)) }
                }
                tape.backward(from: StudentRetriever.infoNCE(tape, p, queries: qs, positives: positives, negatives: negs))
                flops += tape.matmulFlops
                bytes = max(bytes, tape.retainedBytes)
                return p.map(tape.gradient)
            }
            studentAdam.update(&studentParameters, gradients: gradients)
            stepsCompleted += 1
            if isFinished { evaluate() }
        }
        return StepProfile(flops: flops, activationBytes: bytes)
    }

    /// Mines the set with the trained cross-encoder and scores it (ECI and the true FN share).
    func mineAndScore() {
        let c = configuration
        let miner = ECIMiner(corpus: corpus, bm25: bm25, crossEncoder: ceParameters, k: c.k, candidates: c.candidates,
                             falseNegativeRate: c.falseNegativeRate, spec: spec)
        let set = miner.mine(c.negatives)
        negativeSet = set
        let (positives, negatives) = Self.scorerProbabilities(ceParameters, corpus: corpus, bm25: bm25, set: set)
        score = ECIScore(positives: positives, negatives: negatives, margin: c.margin)
        let all = set.flatMap { $0 }
        falseNegativeShare = all.isEmpty ? 0 : Double(all.filter(\.falseNegative).count) / Double(all.count)
    }

    /// The cross-encoder's probability for every training query's positive and its negatives.
    static func scorerProbabilities(_ ce: [Tensor], corpus: ECICorpus, bm25: BM25,
                                    set: [[ECINegative]]) -> (positives: [Double], negatives: [[Double]]) {
        var qs: [[Int]] = [], ds: [[Int]] = []
        for (q, list) in zip(corpus.trainQueries, set) {
            qs.append(q.tokens); ds.append(corpus.documents[q.source].tokens)
            for n in list { qs.append(q.tokens); ds.append(n.tokens(in: corpus)) }
        }
        let p = CrossEncoder.probabilities(ce, queries: qs, documents: ds, bm25: bm25)
        var positives: [Double] = [], negatives: [[Double]] = []
        var offset = 0
        for list in set {
            positives.append(p[offset])
            negatives.append(Array(p[(offset + 1)..<(offset + 1 + list.count)]))
            offset += 1 + list.count
        }
        return (positives, negatives)
    }

    /// nDCG@10 and MRR@10 of the student and of BM25 over held-out queries, whole corpus.
    func evaluate() {
        let docs = StudentRetriever.encodings(studentParameters, corpus.documents.map(\.tokens))
        let queries = StudentRetriever.encodings(studentParameters, corpus.evalQueries.map(\.tokens))
        let scores = Matmul.productTransposingB(queries, docs)
        var ndcg = 0.0, mrr = 0.0, bm25NDCG = 0.0, bm25MRR = 0.0
        let n = docs.rows
        for (i, q) in corpus.evalQueries.enumerated() {
            let ranking = ranked(Array(scores.scalars[(i * n)..<((i + 1) * n)]))
            ndcg += RetrievalMetrics.ndcg(ranking: ranking, relevant: q.relevant)
            mrr += RetrievalMetrics.reciprocalRank(ranking: ranking, relevant: q.relevant)
            let lexical = bm25.top(query: q.tokens, count: 10)
            bm25NDCG += RetrievalMetrics.ndcg(ranking: lexical, relevant: q.relevant)
            bm25MRR += RetrievalMetrics.reciprocalRank(ranking: lexical, relevant: q.relevant)
        }
        let count = Double(corpus.evalQueries.count)
        evaluation = [ndcg / count, mrr / count, bm25NDCG / count, bm25MRR / count]
    }

    public static let metricNames = [
        "eci", "capacity", "hardness", "safety", "false_negative_share", "ndcg@10", "mrr@10",
        "efficiency", "bm25.ndcg@10", "bm25.mrr@10",
    ]

    public var result: WorkloadResult? {
        guard isFinished, let score, let falseNegativeShare, let evaluation else { return nil }
        let values = [score.eci, score.capacity, score.hardness, score.safety, falseNegativeShare,
                      evaluation[0], evaluation[1], score.efficiency, evaluation[2], evaluation[3]]
        return WorkloadResult(metrics: Array(zip(Self.metricNames, values)).map { (name: $0.0, value: $0.1) } + score.variants.named,
                              hash: stateHash())
    }

    // MARK: Checkpoints

    public func encodeState(to writer: inout ByteWriter) {
        writer.write(stepsCompleted)
        writer.write(ceParameters)
        ceAdam.encode(to: &writer)
        writer.write(studentParameters)
        studentAdam.encode(to: &writer)
        writer.write(negativeSet != nil)
        if let negativeSet {
            writer.write(negativeSet.count)
            for list in negativeSet {
                writer.write(list.count)
                for n in list { n.encode(to: &writer) }
            }
        }
        writer.write(score != nil)
        if let score, let falseNegativeShare {
            for v in [score.capacity, score.hardness, score.safety, score.efficiency, score.eci, falseNegativeShare] { writer.write(v) }
            for v in score.variants.named { writer.write(v.value) }
        }
        writer.write(evaluation != nil)
        if let evaluation { for v in evaluation { writer.write(v) } }
    }

    public convenience init(spec: WorkloadSpec, restoring reader: inout ByteReader) throws {
        try self.init(spec: spec)
        func fail(_ reason: String) -> ByteDecodingError { ByteDecodingError(offset: reader.offset, reason: "eci: \(reason)") }
        let step = try reader.readInt()
        guard step >= 0, step <= totalSteps else { throw fail("step \(step) outside 0...\(totalSteps)") }
        stepsCompleted = step
        func parameters(like expected: [Tensor], _ name: String) throws -> [Tensor] {
            let p = try reader.readTensors()
            guard p.map(\.shape) == expected.map(\.shape) else { throw fail("\(name) shapes \(p.map(\.shape)), expected \(expected.map(\.shape))") }
            return p
        }
        func adam(for p: [Tensor], _ name: String) throws -> Adam {
            let a = try Adam(from: &reader)
            guard a.firstMoments.isEmpty || (a.firstMoments.map(\.shape) == p.map(\.shape) && a.secondMoments.map(\.shape) == p.map(\.shape)) else {
                throw fail("\(name) Adam moments do not match its parameters")
            }
            return a
        }
        ceParameters = try parameters(like: ceParameters, "cross-encoder")
        ceAdam = try adam(for: ceParameters, "cross-encoder")
        studentParameters = try parameters(like: studentParameters, "student")
        studentAdam = try adam(for: studentParameters, "student")
        if try reader.readBool() {
            let count = try reader.readInt()
            guard count == corpus.trainQueries.count else { throw fail("\(count) negative lists for \(corpus.trainQueries.count) queries") }
            var set: [[ECINegative]] = []
            for _ in 0..<count {
                let k = try reader.readInt()
                guard k >= 0, k <= 64 else { throw fail("\(k) negatives for one query") }
                set.append(try (0..<k).map { _ in try ECINegative(from: &reader, documents: corpus.documents.count) })
            }
            negativeSet = set
        }
        if try reader.readBool() {
            let v = try (0..<6).map { _ in try reader.readDouble() }
            var s = ECIScore(positives: [], negatives: [])
            s.capacity = v[0]; s.hardness = v[1]; s.safety = v[2]; s.efficiency = v[3]; s.eci = v[4]
            s.variants = ECIScoreVariants(values: try (0..<7).map { _ in try reader.readDouble() })
            score = s
            falseNegativeShare = v[5]
        }
        if try reader.readBool() { evaluation = try (0..<4).map { _ in try reader.readDouble() } }
        guard (negativeSet != nil) == (step >= configuration.ceSteps), (score != nil) == (negativeSet != nil),
              (evaluation != nil) == (step == totalSteps) else {
            throw fail("state at step \(step) is inconsistent (negatives, score, evaluation)")
        }
    }

    /// The default negative sets, one job each (the analysis compares them).
    public static func defaultSpecs(seed: UInt64, worldSize: Int = 1, options: [String: String] = [:]) -> [WorkloadSpec] {
        ECINegativeSource.allCases.map { source in
            var o = options
            o["negatives"] = source.rawValue
            return WorkloadSpec(kind: kind, seed: seed, worldSize: worldSize, options: o)
        }
    }
}

/// Parses one kind's string options, naming the option, the value and what was expected.
struct OptionParser {
    let kind: String
    let options: [String: String]

    func int(_ key: String, _ fallback: Int, _ range: ClosedRange<Int>) throws -> Int {
        guard let raw = options[key] else { return fallback }
        guard let v = Int(raw.trimmingCharacters(in: .whitespaces)), range.contains(v) else {
            throw WorkloadError("\(kind) option '\(key)' must be an integer in \(range.lowerBound)...\(range.upperBound), got '\(raw)'")
        }
        return v
    }

    func double(_ key: String, _ fallback: Double, _ range: ClosedRange<Double>) throws -> Double {
        guard let raw = options[key] else { return fallback }
        guard let v = Double(raw.trimmingCharacters(in: .whitespaces)), v.isFinite, range.contains(v) else {
            throw WorkloadError("\(kind) option '\(key)' must be a number in \(range.lowerBound)...\(range.upperBound), got '\(raw)'")
        }
        return v
    }
}
