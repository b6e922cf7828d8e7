import FleetTwinEngine
import FleetTwinTensor
import Foundation

/// Where a restoration copies the clean run's state into the corrupted run.
public enum RAGSite: Equatable, Sendable {
    /// The residual stream after block `layer` (0 = the embedding output, 1...layers = blocks).
    case hidden(layer: Int)
    /// Block `layer`'s MLP output (1...layers).
    case mlp(layer: Int)
}

extension RAGWorkload {
    /// Probe `index`'s prompt: a memorised fact (s, r) asked closed-book, or after a context
    /// whose answer segment states the memorised object. Regenerated from the seed.
    public func probePrompt(_ index: Int, withContext: Bool) -> RAGPrompt {
        var g = spec.generator("probes", index: UInt64(index))
        let s = RAGFacts.uniform(facts.vocabulary.subjects, &g)
        let r = RAGFacts.uniform(facts.vocabulary.relations, &g)
        if !withContext { return facts.closedBook(subject: s, relation: r) }
        return facts.withContext(subject: s, relation: r, contextObject: facts.memorised(s, r), &g)
    }

    /// The standard deviation of the token-embedding table's entries (population, in Double).
    public var embeddingStd: Double {
        let e = parameters[0].scalars
        var mean = 0.0
        for x in e { mean += Double(x) }
        mean /= Double(e.count)
        var variance = 0.0
        for x in e { let d = Double(x) - mean; variance += d * d }
        return (variance / Double(e.count)).squareRoot()
    }

    /// The corruption noise of probe `index`: [T x d], std `noiseScale` x the embedding std.
    func noise(probe index: Int, withContext: Bool, length: Int) -> Tensor {
        var g = spec.generator(withContext ? "noise.context" : "noise.closed", index: UInt64(index))
        return Tensor.randomNormal(shape: [length, model.width], std: noiseScale * Float(embeddingStd), using: &g)
    }

    struct Run { var probability: Double; var top: Int; var output: RAGModel.Output }

    func run(_ prompt: RAGPrompt, _ hooks: RAGModel.Hooks, flops: inout Int, bytes: inout Int) -> Run {
        let tape = Tape()
        let out = model.forward(tape, parameters.map(tape.leaf), [prompt.tokens], hooks: hooks)
        flops += tape.matmulFlops
        bytes = max(bytes, tape.retainedBytes)
        let logits = tape.value(out.logits)
        return Run(probability: softmaxProbability(logits, row: 0, token: prompt.answer),
                   top: argmax(logits, row: 0), output: out)
    }

    static func knockout(_ prompt: RAGPrompt, from positions: [Int]) -> Set<AttentionEdge> {
        Set(positions.map { AttentionEdge(query: prompt.lastPosition, key: $0) })
    }

    /// P(answer) of probe `index` for one intervention: clean or corrupted, optionally
    /// restoring `site` at `positions` from the clean run, and with the last token blocked
    /// from attending to `blocked` in every head of every layer.
    public func answerProbability(probe index: Int, withContext: Bool, corrupted: Bool = false,
                                  restoring site: RAGSite? = nil, at positions: [Int] = [],
                                  blockingLastFrom blocked: [Int] = []) -> Double {
        let prompt = probePrompt(index, withContext: withContext)
        var flops = 0, bytes = 0
        var hooks = RAGModel.Hooks()
        hooks.knockout = Self.knockout(prompt, from: blocked)
        if corrupted {
            hooks.noise = noise(probe: index, withContext: withContext, length: prompt.tokens.count)
            hooks.noisePositions = prompt.corruptedPositions
        }
        if let site {
            let clean = run(prompt, RAGModel.Hooks(record: true), flops: &flops, bytes: &bytes).output
            switch site {
            case .hidden(let l): hooks.restoreHidden = (l, positions, clean.hidden[l])
            case .mlp(let l): hooks.restoreMLP = (l, positions, clean.mlp[l - 1])
            }
        }
        return run(prompt, hooks, flops: &flops, bytes: &bytes).probability
    }

    /// Probe step `index`: both prompts (without, then with context) through every probe.
    func probeStep(_ index: Int) -> StepProfile {
        var flops = 0, bytes = 0
        for variant in 0..<2 {
            let withContext = variant == 1
            let prompt = probePrompt(index, withContext: withContext)
            let clean = run(prompt, RAGModel.Hooks(record: true), flops: &flops, bytes: &bytes)
            var corrupt = RAGModel.Hooks()
            corrupt.noise = noise(probe: index, withContext: withContext, length: prompt.tokens.count)
            corrupt.noisePositions = prompt.corruptedPositions
            let corrupted = run(prompt, corrupt, flops: &flops, bytes: &bytes).probability
            var sample = RAGProbeSample(layers: model.layers)
            sample.correct = clean.top == prompt.answer ? 1 : 0
            sample.clean = clean.probability
            sample.corrupted = corrupted
            var embedding = corrupt
            embedding.restoreHidden = (0, prompt.subjectPositions, clean.output.hidden[0])
            sample.embeddingSubject = run(prompt, embedding, flops: &flops, bytes: &bytes).probability - corrupted
            for l in 1...model.layers {
                for (k, positions) in [prompt.subjectPositions, [prompt.lastPosition]].enumerated() {
                    var hidden = corrupt
                    hidden.restoreHidden = (l, positions, clean.output.hidden[l])
                    var mlp = corrupt
                    mlp.restoreMLP = (l, positions, clean.output.mlp[l - 1])
                    let h = run(prompt, hidden, flops: &flops, bytes: &bytes).probability - corrupted
                    let m = run(prompt, mlp, flops: &flops, bytes: &bytes).probability - corrupted
                    if k == 0 { sample.hiddenSubject[l - 1] = h; sample.mlpSubject[l - 1] = m } else { sample.hiddenLast[l - 1] = h; sample.mlpLast[l - 1] = m }
                }
            }
            func drop(_ positions: [Int]) -> Double {
                var hooks = RAGModel.Hooks()
                hooks.knockout = Self.knockout(prompt, from: positions)
                let p = run(prompt, hooks, flops: &flops, bytes: &bytes).probability
                return clean.probability > 0 ? (clean.probability - p) / clean.probability : 0
            }
            sample.knockoutSubject = drop(prompt.subjectPositions)
            if let answer = prompt.contextAnswerPosition { sample.knockoutAnswer = drop([answer]) }
            sample.knockoutSubjectAll = withContext
                ? drop(facts.contextSubjectPositions(prompt) + prompt.subjectPositions) : sample.knockoutSubject
            sums.add(sample, variant: variant)
        }
        sums.count += 1
        return StepProfile(flops: flops, activationBytes: bytes)
    }
}

/// One prompt's probe numbers.
struct RAGProbeSample {
    var correct = 0.0, clean = 0.0, corrupted = 0.0
    var hiddenSubject: [Double], hiddenLast: [Double], mlpSubject: [Double], mlpLast: [Double]
    var knockoutSubject = 0.0, knockoutAnswer = 0.0
    /// Knockout of every subject mention: the query's and, with context, each segment's.
    var knockoutSubjectAll = 0.0
    /// Effect of restoring the subject's embedding (layer 0) alone.
    var embeddingSubject = 0.0
    init(layers: Int) {
        hiddenSubject = Array(repeating: 0, count: layers)
        hiddenLast = hiddenSubject; mlpSubject = hiddenSubject; mlpLast = hiddenSubject
    }
    var flat: [Double] {
        [correct, clean, corrupted] + hiddenSubject + hiddenLast + mlpSubject + mlpLast + [knockoutSubject, knockoutAnswer, embeddingSubject, knockoutSubjectAll]
    }
}

/// Running sums of the probe samples, without (index 0) and with (index 1) context, added in
/// probe order: part of the checkpoint.
struct RAGProbeSums: Equatable {
    let layers: Int
    var count = 0
    var totals: [[Double]]

    init(layers: Int) {
        self.layers = layers
        totals = Array(repeating: Array(repeating: 0, count: 7 + 4 * layers), count: 2)
    }

    mutating func add(_ sample: RAGProbeSample, variant: Int) {
        let f = sample.flat
        for i in f.indices { totals[variant][i] += f[i] }
    }

    func encode(to writer: inout ByteWriter) {
        writer.write(count)
        for t in totals { writer.write(t.count); for x in t { writer.write(x) } }
    }

    init(from reader: inout ByteReader, layers: Int) throws {
        self.init(layers: layers)
        count = try reader.readInt()
        guard count >= 0 else { throw ByteDecodingError(offset: reader.offset, reason: "negative probe count \(count)") }
        for v in 0..<2 {
            let n = try reader.readInt()
            guard n == totals[v].count else {
                throw ByteDecodingError(offset: reader.offset, reason: "\(n) probe sums, expected \(totals[v].count)")
            }
            for i in 0..<n { totals[v][i] = try reader.readDouble() }
        }
    }

    /// The per-layer value with the largest magnitude, signed (the first such layer on ties).
    static func peak(_ series: [Double]) -> Double {
        var best = 0.0
        for x in series where abs(x) > abs(best) { best = x }
        return best
    }

    /// The result metrics, in a fixed order. Effects are means over probes; the headline
    /// "aie.*" values are the peak over layers 1...L of the per-layer mean effect: the signed
    /// value of largest magnitude (a subject state after the last block cannot act, so its
    /// effect there is exactly 0, and a plain maximum would hide negative effects).
    func metrics(probes: Int, trainingLoss: Float) -> [(name: String, value: Double)] {
        let n = Double(max(count, 1))
        let L = layers
        func mean(_ v: Int, _ i: Int) -> Double { totals[v][i] / n }
        func series(_ v: Int, _ block: Int) -> [Double] { (0..<L).map { mean(v, 3 + block * L + $0) } }
        let variants = ["no_context", "with_context"]
        var m: [(name: String, value: Double)] = [("train.loss", Double(trainingLoss)), ("probes", Double(count))]
        m.append(("accuracy.closed_book", mean(0, 0)))
        m.append(("accuracy.with_context", mean(1, 0)))
        for (v, name) in variants.enumerated() { m.append(("p.clean.\(name)", mean(v, 1))) }
        for (v, name) in variants.enumerated() { m.append(("p.corrupted.\(name)", mean(v, 2))) }
        let blocks = ["subject", "last", "subject_mlp", "last_mlp"]
        for (b, block) in blocks.enumerated() {
            for (v, name) in variants.enumerated() { m.append(("aie.\(block).\(name)", Self.peak(series(v, b)))) }
        }
        m.append(("knockout.subject.no_context", mean(0, 3 + 4 * L)))
        m.append(("knockout.subject.with_context", mean(1, 3 + 4 * L)))
        m.append(("knockout.answer.with_context", mean(1, 4 + 4 * L)))
        for (v, name) in variants.enumerated() { m.append(("aie.subject_embedding.\(name)", mean(v, 5 + 4 * L))) }
        for (b, block) in blocks.enumerated() {
            for (v, name) in variants.enumerated() {
                for (l, x) in series(v, b).enumerated() { m.append(("aie.\(block).\(name).layer\(l + 1)", x)) }
            }
        }
        m.append(("knockout.subject_all.with_context", mean(1, 6 + 4 * L)))
        return m
    }
}
