import FleetTwinEngine
import FleetTwinTensor
import Foundation

/// RAG mechanistic probes (after arXiv 2406.12824), small and real: a 2-4 layer decoder is
/// trained on memorised facts "s r -> o" (s: a subject name of `subjectTokens` tokens) and on
/// copy-from-context prompts (some with a counterfactual object in the context); then causal
/// tracing (Gaussian noise of `noiseScale` x the token-embedding std on the subject's tokens, or
/// on the context and the subject; restoring one layer's clean hidden state, MLP output or
/// attention output at the subject's last token, its first token or the last position) and
/// attention knockout (last token blocked from every token of the subject, or from the answer
/// token in the context) run one probe prompt per step, with and without context. The probe
/// sums are part of the checkpoint, so probing can be preempted.
public final class RAGWorkload: Workload {
    public static let kind = "rag"
    public static let optionHelp: [(key: String, help: String)] = [
        ("layers", "transformer blocks, 2-4 (default 2)"),
        ("width", "model width d (default 48)"),
        ("heads", "attention heads, dividing width (default 4)"),
        ("subjects", "subjects (entities) (default 32)"),
        ("subjectTokens", "tokens per subject name, 1-4; 1 = the old one-token subjects (default 2)"),
        ("subjectVocabulary", "subject-token vocabulary the names are drawn from (default 8; with subjectTokens 1 it must equal subjects, its default then)"),
        ("relations", "relation tokens; facts = subjects x relations (default 4)"),
        ("objects", "object tokens (default 16)"),
        ("fillers", "filler tokens used inside context segments (default 8)"),
        ("segments", "context segments per prompt, all about the question's subject, one holding the answer (default 5)"),
        ("segmentFillers", "filler tokens after each segment's 's r o' (default 2)"),
        ("contextFraction", "share of training prompts with a context, 0-1 (default 0.5)"),
        ("counterfactual", "share of context prompts whose context object differs from the memorised one, 0-1 (default 0.5)"),
        ("batch", "global batch (prompts per step), divisible by worldSize (default 32)"),
        ("steps", "training steps (default 1500)"),
        ("learningRate", "Adam learning rate (default 0.003)"),
        ("probes", "probe prompts, one per probe step after training (default 64)"),
        ("noiseScale", "corruption noise std in units of the token-embedding std (default 3)"),
    ]

    public let spec: WorkloadSpec
    let model: RAGModel
    let facts: RAGFacts
    let trainingSteps: Int, probeCount: Int, batch: Int
    let contextFraction: Double, counterfactual: Double, noiseScale: Float

    var parameters: [Tensor]
    var adam: Adam
    public private(set) var stepsCompleted = 0
    var dataGenerator: SeededGenerator
    /// Mean cross-entropy of the last training step (over all replicas).
    var lastLoss: Float = 0
    var sums: RAGProbeSums

    public var totalSteps: Int { trainingSteps + probeCount }

    public init(spec: WorkloadSpec) throws {
        self.spec = spec
        var o = RAGOptions(spec.options)
        let layers = try o.int("layers", 2, in: 2...4)
        let width = try o.int("width", 48, in: 4...1024)
        let heads = try o.int("heads", 4, in: 1...width)
        guard width % heads == 0 else {
            throw WorkloadError("rag option 'heads' must divide width \(width), got '\(heads)'")
        }
        let segments = try o.int("segments", 5, in: 1...16)
        let subjects = try o.int("subjects", 32, in: max(2, segments)...10_000)
        // Multi-token subjects (issue 20), as the paper's entity names are: 2 tokens drawn from
        // 8 subject tokens by default (64 names for 32 subjects, so each token is shared by
        // about four subjects at each place), fixed before any run.
        let subjectLength = try o.int("subjectTokens", 2, in: 1...4)
        let subjectVocabulary = try o.int("subjectVocabulary", subjectLength == 1 ? subjects : 8, in: 1...10_000)
        var nameGenerator = spec.generator("subjects")
        let names = try RAGFacts.names(subjects: subjects, length: subjectLength, tokens: subjectVocabulary, &nameGenerator)
        let vocabulary = RAGVocabulary(subjectTokens: subjectVocabulary, relations: try o.int("relations", 4, in: 1...100),
                                       objects: try o.int("objects", 16, in: 2...10_000),
                                       fillers: try o.int("fillers", 8, in: 1...10_000))
        let segmentFillers = try o.int("segmentFillers", 2, in: 0...32)
        contextFraction = try o.double("contextFraction", 0.5, in: 0...1)
        counterfactual = try o.double("counterfactual", 0.5, in: 0...1)
        batch = try o.int("batch", 32, in: 1...100_000)
        guard batch % spec.worldSize == 0 else {
            throw WorkloadError("rag option 'batch' must be divisible by worldSize \(spec.worldSize), got '\(batch)'")
        }
        trainingSteps = try o.int("steps", 1500, in: 0...10_000_000)
        let learningRate = try o.double("learningRate", 0.003, in: 1e-7...1)
        probeCount = try o.int("probes", 64, in: 0...1_000_000)
        noiseScale = Float(try o.double("noiseScale", 3, in: 0...1000))

        var factGenerator = spec.generator("facts")
        facts = RAGFacts(vocabulary: vocabulary, names: names, segments: segments, segmentFillers: segmentFillers, generator: &factGenerator)
        model = RAGModel(layers: layers, width: width, heads: heads, vocabulary: vocabulary.size,
                         maxLength: facts.contextLength)
        var initGenerator = spec.generator("init")
        parameters = model.initialParameters(&initGenerator)
        adam = Adam(learningRate: Float(learningRate))
        dataGenerator = spec.generator("data")
        sums = RAGProbeSums(layers: layers)
    }

    public convenience init(spec: WorkloadSpec, restoring reader: inout ByteReader) throws {
        try self.init(spec: spec)
        let step = try reader.readInt()
        guard step >= 0, step <= totalSteps else {
            throw ByteDecodingError(offset: reader.offset, reason: "step \(step) outside 0...\(totalSteps)")
        }
        let restored = try reader.readTensors()
        guard restored.map(\.shape) == model.shapes else {
            throw ByteDecodingError(offset: reader.offset, reason: "parameter shapes do not match the spec's model")
        }
        let restoredAdam = try Adam(from: &reader)
        guard restoredAdam.firstMoments.isEmpty || restoredAdam.firstMoments.map(\.shape) == model.shapes,
              restoredAdam.secondMoments.map(\.shape) == restoredAdam.firstMoments.map(\.shape) else {
            throw ByteDecodingError(offset: reader.offset, reason: "Adam moment shapes do not match the model")
        }
        let words = try reader.readUInt64s()
        guard words.count == 4 else {
            throw ByteDecodingError(offset: reader.offset, reason: "a generator state is 4 words, got \(words.count)")
        }
        lastLoss = try reader.readFloat()
        sums = try RAGProbeSums(from: &reader, layers: model.layers)
        stepsCompleted = step
        parameters = restored
        adam = restoredAdam
        dataGenerator = SeededGenerator(stateWords: words)
    }

    public func encodeState(to writer: inout ByteWriter) {
        writer.write(stepsCompleted)
        writer.write(parameters)
        adam.encode(to: &writer)
        writer.write(dataGenerator.stateWords)
        writer.write(lastLoss)
        sums.encode(to: &writer)
    }

    // MARK: Steps

    public var estimatedFlopsPerStep: Int {
        guard totalSteps > 0 else { return 0 }
        let training = Double(trainingSteps) * Double(estimatedTrainingFlopsPerStep)
        let probing = Double(probeCount) * Double(estimatedProbeFlopsPerStep)
        return Int((training + probing) / Double(totalSteps))
    }

    /// Expected matmul FLOPs of one training step: forward + backward (3x forward) over the
    /// global batch, context prompts weighted by `contextFraction`.
    public var estimatedTrainingFlopsPerStep: Int {
        let closed = Double(model.forwardFlops(tokens: facts.closedBookLength)), context = Double(model.forwardFlops(tokens: facts.contextLength))
        return Int(3 * Double(batch) * (contextFraction * context + (1 - contextFraction) * closed))
    }

    /// FLOPs of one probe step: forward-only runs (clean, corrupted, 1 + 9L restorations, and 1
    /// knockout without context or 3 with context) for both prompts.
    public var estimatedProbeFlopsPerStep: Int {
        let runs = 3 + RAGProbeSample.sites * model.layers
        return model.forwardFlops(tokens: facts.closedBookLength) * (runs + 1)
            + model.forwardFlops(tokens: facts.contextLength) * (runs + 3)
    }

    @discardableResult
    public func step(devices: Int) -> StepProfile {
        precondition(!isFinished, "step after the job finished")
        let profile = stepsCompleted < trainingSteps ? trainingStep(devices: devices) : probeStep(stepsCompleted - trainingSteps)
        stepsCompleted += 1
        return profile
    }

    func trainingStep(devices: Int) -> StepProfile {
        let examples = (0..<batch).map { _ in
            facts.trainingExample(contextFraction: contextFraction, counterfactual: counterfactual, &dataGenerator)
        }
        let perReplica = batch / spec.worldSize
        var losses = [Float](repeating: 0, count: spec.worldSize)
        var flops = 0, bytes = 0
        let gradients = DataParallel.averagedGradients(worldSize: spec.worldSize, devices: devices) { r in
            let shard = examples[(r * perReplica)..<((r + 1) * perReplica)]
            let tape = Tape()
            let p = parameters.map(tape.leaf)
            let out = model.forward(tape, p, shard.map(\.tokens))
            let loss = tape.crossEntropy(out.logits, targets: shard.map(\.answer))
            tape.backward(from: loss)
            losses[r] = tape.value(loss).scalar
            flops += tape.matmulFlops
            bytes = max(bytes, tape.retainedBytes)
            return p.map(tape.gradient)
        }
        adam.update(&parameters, gradients: gradients)
        var total: Float = 0
        for l in losses { total += l }
        lastLoss = total / Float(spec.worldSize)
        return StepProfile(flops: flops, activationBytes: bytes)
    }

    public var result: WorkloadResult? {
        guard isFinished else { return nil }
        return WorkloadResult(metrics: sums.metrics(probes: probeCount, trainingLoss: lastLoss), hash: stateHash())
    }

    public static func analyse(_ jobs: [FinishedWorkload]) -> WorkloadReport { RAGAnalysis.report(jobs) }
}

/// Option parsing with messages that name the option, the bad value and what was expected.
struct RAGOptions {
    let options: [String: String]
    init(_ options: [String: String]) { self.options = options }

    mutating func int(_ key: String, _ fallback: Int, in range: ClosedRange<Int>) throws -> Int {
        guard let text = options[key] else { return fallback }
        guard let v = Int(text.trimmingCharacters(in: .whitespaces)), range.contains(v) else {
            throw WorkloadError("rag option '\(key)' must be an integer in \(range.lowerBound)...\(range.upperBound), got '\(text)'")
        }
        return v
    }

    mutating func double(_ key: String, _ fallback: Double, in range: ClosedRange<Double>) throws -> Double {
        guard let text = options[key] else { return fallback }
        guard let v = Double(text.trimmingCharacters(in: .whitespaces)), v.isFinite, range.contains(v) else {
            throw WorkloadError("rag option '\(key)' must be a number in \(range.lowerBound)...\(range.upperBound), got '\(text)'")
        }
        return v
    }
}
