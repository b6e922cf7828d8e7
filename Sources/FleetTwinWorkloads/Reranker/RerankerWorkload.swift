import FleetTwinEngine
import FleetTwinTensor
import Foundation

/// Reranker scaling laws (arXiv 2603.04816, small version): a cross-encoder MLP student of one
/// of six geometrically spaced sizes learns to rank K candidates per query from a hidden
/// teacher's graded labels with a pointwise (BCE), pairwise (RankNet) or listwise (ListNet)
/// loss; nDCG@10, MAP, MRR and contrastive entropy on held-out queries at every checkpoint.
/// Each (size, loss) is one job; `analyse` fits y = a + b x^c over sizes and steps.
///
/// Student: [q, d, q*d] (48 numbers) -> GELU(width) -> GELU(width) -> score, width = 4 * 2^size.
public final class RerankerWorkload: Workload {
    public static let kind = "reranker"
    public static let losses = ["bce", "ranknet", "listnet"]
    public static let sizeCount = 6

    public static var optionHelp: [(key: String, help: String)] {
        [
            ("size", "student size 0-5: hidden width 4*2^size, two hidden layers (default 2)"),
            ("loss", "bce | ranknet | listnet (default ranknet)"),
            ("steps", "training steps (default 400)"),
            ("evalEvery", "evaluate held-out metrics every this many steps and at the end (default 40)"),
            ("lr", "Adam learning rate (default 0.003)"),
            ("candidates", "K candidates per query, 4-1024 (default 32)"),
            ("batch", "queries per step, a multiple of worldSize (default 8)"),
            ("evalQueries", "held-out evaluation queries (default 256)"),
        ]
    }

    /// Hidden width of a size.
    public static func width(size: Int) -> Int { 4 << size }

    /// Parameter count of a size.
    public static func parameterCount(size: Int) -> Int {
        let n = RerankerTeacher.inputWidth, w = width(size: size)
        return n * w + w + w * w + w + w + 1
    }

    public let spec: WorkloadSpec
    public let size: Int
    public let loss: String
    public let totalSteps: Int
    public let evalEvery: Int
    public let learningRate: Float
    public let candidates: Int
    public let batch: Int
    public let evalQueryCount: Int

    let teacher: RerankerTeacher
    let evalLists: [RerankerList]

    public private(set) var stepsCompleted = 0
    var parameters: [Tensor]
    var adam: Adam
    var dataGenerator: SeededGenerator
    /// One entry per checkpoint evaluated so far.
    public private(set) var curve: [RerankerCheckpointMetrics] = []

    public init(spec: WorkloadSpec) throws {
        func option<T>(_ key: String, default value: T, expected: String, parse: (String) -> T?) throws -> T {
            guard let text = spec.options[key] else { return value }
            guard let parsed = parse(text.trimmingCharacters(in: .whitespaces)) else {
                throw WorkloadError("reranker option '\(key)' = '\(text)' is invalid; expected \(expected)")
            }
            return parsed
        }
        func integer(_ range: ClosedRange<Int>) -> (String) -> Int? { { Int($0).flatMap { range.contains($0) ? $0 : nil } } }
        self.spec = spec
        size = try option("size", default: 2, expected: "an integer 0-5", parse: integer(0...5))
        loss = try option("loss", default: "ranknet", expected: "one of bce, ranknet, listnet") { Self.losses.contains($0) ? $0 : nil }
        totalSteps = try option("steps", default: 400, expected: "an integer 1-10000000", parse: integer(1...10_000_000))
        evalEvery = try option("evalEvery", default: 40, expected: "an integer >= 1", parse: integer(1...Int.max))
        learningRate = try option("lr", default: 0.003, expected: "a positive number below 1") {
            Float($0).flatMap { $0 > 0 && $0 < 1 && $0.isFinite ? $0 : nil }
        }
        candidates = try option("candidates", default: 32, expected: "an integer 4-1024", parse: integer(4...1024))
        batch = try option("batch", default: 8, expected: "an integer 1-100000", parse: integer(1...100_000))
        evalQueryCount = try option("evalQueries", default: 256, expected: "an integer 1-100000", parse: integer(1...100_000))
        guard spec.worldSize >= 1 else { throw WorkloadError("reranker worldSize must be at least 1, got \(spec.worldSize)") }
        guard batch % spec.worldSize == 0 else {
            throw WorkloadError("reranker option 'batch' = '\(batch)' is invalid; expected a multiple of worldSize \(spec.worldSize) (each replica takes batch/worldSize queries)")
        }

        teacher = RerankerTeacher(generator: spec.generator("teacher"))
        var evalGenerator = spec.generator("eval")
        var lists: [RerankerList] = []
        for _ in 0..<evalQueryCount { lists.append(teacher.makeList(candidates: candidates, using: &evalGenerator)) }
        evalLists = lists

        // He initialisation for the GELU layers, 1/sqrt(width) for the score layer, zero biases.
        var initGenerator = spec.generator("init", index: UInt64(size))
        let n = RerankerTeacher.inputWidth, w = Self.width(size: size)
        parameters = [
            Tensor.randomNormal(shape: [n, w], std: (2 / Float(n)).squareRoot(), using: &initGenerator),
            Tensor(zeros: [w]),
            Tensor.randomNormal(shape: [w, w], std: (2 / Float(w)).squareRoot(), using: &initGenerator),
            Tensor(zeros: [w]),
            Tensor.randomNormal(shape: [w, 1], std: 1 / Float(w).squareRoot(), using: &initGenerator),
            Tensor(zeros: [1]),
        ]
        adam = Adam(learningRate: learningRate)
        dataGenerator = spec.generator("train")
    }

    public convenience init(spec: WorkloadSpec, restoring reader: inout ByteReader) throws {
        try self.init(spec: spec)
        let step = try reader.readInt()
        guard step >= 0, step <= totalSteps else { throw ByteDecodingError(offset: reader.offset, reason: "step \(step) outside 0...\(totalSteps)") }
        let restored = try reader.readTensors()
        guard restored.map(\.shape) == parameters.map(\.shape) else {
            throw ByteDecodingError(offset: reader.offset, reason: "parameter shapes \(restored.map(\.shape)) do not match size \(size)")
        }
        let restoredAdam = try Adam(from: &reader)
        guard restoredAdam.firstMoments.isEmpty || restoredAdam.firstMoments.map(\.shape) == parameters.map(\.shape),
              restoredAdam.secondMoments.map(\.shape) == restoredAdam.firstMoments.map(\.shape) else {
            throw ByteDecodingError(offset: reader.offset, reason: "Adam moments do not match the parameters")
        }
        let words = try reader.readUInt64s()
        guard words.count == 4 else { throw ByteDecodingError(offset: reader.offset, reason: "generator state of \(words.count) words, expected 4") }
        let count = try reader.readInt()
        guard count >= 0, count <= step else { throw ByteDecodingError(offset: reader.offset, reason: "\(count) checkpoints after \(step) steps") }
        var restoredCurve: [RerankerCheckpointMetrics] = []
        for _ in 0..<count { restoredCurve.append(try RerankerCheckpointMetrics(from: &reader)) }
        stepsCompleted = step
        parameters = restored
        adam = restoredAdam
        dataGenerator = SeededGenerator(stateWords: words)
        curve = restoredCurve
    }

    public func encodeState(to writer: inout ByteWriter) {
        writer.write(stepsCompleted)
        writer.write(parameters)
        adam.encode(to: &writer)
        writer.write(dataGenerator.stateWords)
        writer.write(curve.count)
        for point in curve { point.encode(to: &writer) }
    }

    public var parameterCount: Int { parameters.reduce(0) { $0 + $1.count } }

    /// Matrix-product FLOPs of one forward pass over `rows` pairs.
    func forwardFlops(rows: Int) -> Int {
        let n = RerankerTeacher.inputWidth, w = Self.width(size: size)
        return 2 * rows * (n * w + w * w + w)
    }

    public var estimatedFlopsPerStep: Int {
        let training = 3 * forwardFlops(rows: batch * candidates)
        let evaluations = (totalSteps / evalEvery) + (totalSteps % evalEvery == 0 ? 0 : 1)
        return training + evaluations * forwardFlops(rows: evalQueryCount * candidates) / totalSteps
    }

    /// The student's scores on the tape: [rows x 1].
    func score(_ tape: Tape, _ x: Variable, _ p: [Variable]) -> Variable {
        let h1 = tape.gelu(tape.linear(x, p[0], p[1]))
        let h2 = tape.gelu(tape.linear(h1, p[2], p[3]))
        return tape.linear(h2, p[4], p[5])
    }

    static func stack(_ lists: ArraySlice<RerankerList>) -> (features: Tensor, labels: [Float]) {
        var scalars: [Float] = [], labels: [Float] = []
        for list in lists { scalars.append(contentsOf: list.features.scalars); labels.append(contentsOf: list.labels) }
        return (Tensor(shape: [labels.count, RerankerTeacher.inputWidth], scalars: scalars), labels)
    }

    @discardableResult
    public func step(devices: Int) -> StepProfile {
        precondition(!isFinished, "reranker job already ran its \(totalSteps) steps")
        // The whole batch in query order from the data stream, then contiguous shards.
        var lists: [RerankerList] = []
        for _ in 0..<batch { lists.append(teacher.makeList(candidates: candidates, using: &dataGenerator)) }
        let perReplica = batch / spec.worldSize
        var flops = 0, activationBytes = 0
        let gradients = DataParallel.averagedGradients(worldSize: spec.worldSize, devices: devices) { r in
            let shard = Self.stack(lists[(r * perReplica)..<((r + 1) * perReplica)])
            let tape = Tape()
            let p = parameters.map(tape.leaf)
            let scores = score(tape, tape.leaf(shard.features), p)
            let objective: Variable
            switch loss {
            case "bce": objective = tape.binaryCrossEntropy(logits: scores, targets: shard.labels.map { $0 / 3 })
            case "ranknet": objective = tape.rankNet(scores: scores, labels: shard.labels, listLength: candidates)
            default: objective = tape.listNet(scores: scores, labels: shard.labels, listLength: candidates)
            }
            tape.backward(from: objective)
            flops += tape.matmulFlops
            activationBytes = max(activationBytes, tape.retainedBytes)
            return p.map(tape.gradient)
        }
        adam.update(&parameters, gradients: gradients)
        stepsCompleted += 1
        if stepsCompleted % evalEvery == 0 || stepsCompleted == totalSteps {
            flops += evaluate()
        }
        return StepProfile(flops: flops, activationBytes: activationBytes)
    }

    /// Scores of the held-out lists, [queries][K].
    func evaluationScores() -> (scores: [Float], flops: Int) {
        let all = Self.stack(evalLists[...])
        let tape = Tape()
        let s = tape.value(score(tape, tape.leaf(all.features), parameters.map(tape.leaf))).scalars
        return (s, tape.matmulFlops)
    }

    /// Held-out metrics at this step, appended to the curve; returns the forward FLOPs.
    func evaluate() -> Int {
        let (scores, flops) = evaluationScores()
        curve.append(Self.metrics(step: stepsCompleted, scores: scores, lists: evalLists, candidates: candidates))
        return flops
    }

    /// Means over queries, in query order; contrastive entropy pooled over all relevant candidates.
    static func metrics(step: Int, scores: [Float], lists: [RerankerList], candidates k: Int) -> RerankerCheckpointMetrics {
        var ndcg = 0.0, map = 0.0, mrr = 0.0, entropy = 0.0, positives = 0
        for (q, list) in lists.enumerated() {
            let s = Array(scores[(q * k)..<((q + 1) * k)])
            ndcg += RankingMetrics.ndcg(scores: s, labels: list.labels, k: 10)
            map += RankingMetrics.averagePrecision(scores: s, labels: list.labels)
            mrr += RankingMetrics.reciprocalRank(scores: s, labels: list.labels)
            let ce = RankingMetrics.contrastiveEntropy(scores: s, labels: list.labels)
            entropy += ce.sum; positives += ce.count
        }
        let n = Double(lists.count)
        return RerankerCheckpointMetrics(step: step, ndcg10: ndcg / n, map: map / n, mrr: mrr / n,
                                         contrastiveEntropy: positives > 0 ? entropy / Double(positives) : 0)
    }

    public var result: WorkloadResult? {
        guard isFinished, let last = curve.last else { return nil }
        var metrics: [(name: String, value: Double)] = [
            ("size", Double(size)), ("parameters", Double(parameterCount)),
            ("ndcg@10", last.ndcg10), ("map", last.map), ("mrr", last.mrr), ("contrastive_entropy", last.contrastiveEntropy),
        ]
        for point in curve {
            for (name, value) in point.named { metrics.append(("\(name)@step=\(point.step)", value)) }
        }
        return WorkloadResult(metrics: metrics, hash: stateHash())
    }
}

/// Held-out metrics at one checkpoint.
public struct RerankerCheckpointMetrics: Equatable, Sendable {
    public var step: Int
    public var ndcg10: Double
    public var map: Double
    public var mrr: Double
    public var contrastiveEntropy: Double

    public static let metricNames = ["ndcg@10", "map", "mrr", "contrastive_entropy"]

    public var named: [(String, Double)] {
        [("ndcg@10", ndcg10), ("map", map), ("mrr", mrr), ("contrastive_entropy", contrastiveEntropy)]
    }

    func encode(to writer: inout ByteWriter) {
        writer.write(step); writer.write(ndcg10); writer.write(map); writer.write(mrr); writer.write(contrastiveEntropy)
    }

    init(step: Int, ndcg10: Double, map: Double, mrr: Double, contrastiveEntropy: Double) {
        self.step = step; self.ndcg10 = ndcg10; self.map = map; self.mrr = mrr; self.contrastiveEntropy = contrastiveEntropy
    }

    init(from reader: inout ByteReader) throws {
        step = try reader.readInt(); ndcg10 = try reader.readDouble(); map = try reader.readDouble()
        mrr = try reader.readDouble(); contrastiveEntropy = try reader.readDouble()
    }
}
