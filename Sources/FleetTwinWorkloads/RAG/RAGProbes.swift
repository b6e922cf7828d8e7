import FleetTwinEngine
import FleetTwinTensor
import Foundation

/// Where a restoration copies the clean run's state into the corrupted run.
public enum RAGSite: Equatable, Sendable {
    /// The residual stream after block `layer` (0 = the embedding output, 1...layers = blocks).
    case hidden(layer: Int)
    /// Block `layer`'s MLP output (1...layers).
    case mlp(layer: Int)
    /// Block `layer`'s attention output (1...layers), before the residual add.
    case attention(layer: Int)
}

extension RAGWorkload {
    /// Probe `index`'s prompt: a memorised fact (s, r) asked closed-book, or after a context
    /// whose answer segment states the memorised object. Regenerated from the seed.
    public func probePrompt(_ index: Int, withContext: Bool) -> RAGPrompt {
        var g = spec.generator("probes", index: UInt64(index))
        let s = RAGFacts.uniform(facts.subjects, &g)
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

    /// Every position of every subject mention: each context segment's subject tokens and the
    /// query's (the query's alone without context). The "every mention" knockout blocks these.
    public func subjectMentionPositions(_ prompt: RAGPrompt) -> [Int] {
        facts.contextSubjectPositions(prompt) + prompt.subjectPositions
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
            case .attention(let l): hooks.restoreAttention = (l, positions, clean.attention[l - 1])
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
                for (block, site) in RAGProbeSample.siteOrder.enumerated() {
                    let positions: [Int]
                    switch site.position {
                    case .subjectLast: positions = [prompt.subjectLastPosition]
                    case .subjectFirst: positions = [prompt.subjectFirstPosition]
                    case .last: positions = [prompt.lastPosition]
                    }
                    var hooks = corrupt
                    switch site.state {
                    case .hidden: hooks.restoreHidden = (l, positions, clean.output.hidden[l])
                    case .mlp: hooks.restoreMLP = (l, positions, clean.output.mlp[l - 1])
                    case .attention: hooks.restoreAttention = (l, positions, clean.output.attention[l - 1])
                    }
                    sample.effects[block][l - 1] = run(prompt, hooks, flops: &flops, bytes: &bytes).probability - corrupted
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
            sample.knockoutSubjectAll = withContext ? drop(subjectMentionPositions(prompt)) : sample.knockoutSubject
            sums.add(sample, variant: variant)
        }
        sums.count += 1
        return StepProfile(flops: flops, activationBytes: bytes)
    }
}

/// One prompt's probe numbers.
struct RAGProbeSample {
    /// Where a tracing site restores: which state, at which position.
    enum State { case hidden, mlp, attention }
    enum Position { case subjectLast, subjectFirst, last }
    /// The traced sites in their fixed order with their metric names ("aie.<name>.*"). The
    /// first four are the sites before issue 20 (its "subject" being the one subject token,
    /// now the subject's last token, where the paper reports the effect); the rest follow.
    static let siteOrder: [(name: String, state: State, position: Position)] = [
        ("subject", .hidden, .subjectLast), ("last", .hidden, .last),
        ("subject_mlp", .mlp, .subjectLast), ("last_mlp", .mlp, .last),
        ("subject_first", .hidden, .subjectFirst), ("subject_first_mlp", .mlp, .subjectFirst),
        ("subject_attn", .attention, .subjectLast), ("subject_first_attn", .attention, .subjectFirst),
        ("last_attn", .attention, .last),
    ]
    /// Traced sites per layer.
    static var sites: Int { siteOrder.count }
    /// Sites laid out before the four scalars in `flat` (the pre-issue-20 layout).
    static let leadingSites = 4

    var correct = 0.0, clean = 0.0, corrupted = 0.0
    /// effects[site][l - 1]: the indirect effect of restoring `siteOrder[site]` after block l.
    var effects: [[Double]]
    var knockoutSubject = 0.0, knockoutAnswer = 0.0
    /// Knockout of every subject mention: the query's and, with context, each segment's.
    var knockoutSubjectAll = 0.0
    /// Effect of restoring the query subject's embeddings (layer 0, every subject token) alone.
    var embeddingSubject = 0.0
    init(layers: Int) {
        effects = Array(repeating: Array(repeating: 0, count: layers), count: Self.sites)
    }
    var flat: [Double] {
        [correct, clean, corrupted] + effects[..<Self.leadingSites].flatMap { $0 }
            + [knockoutSubject, knockoutAnswer, embeddingSubject, knockoutSubjectAll]
            + effects[Self.leadingSites...].flatMap { $0 }
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
        totals = Array(repeating: Array(repeating: 0, count: 7 + RAGProbeSample.sites * layers), count: 2)
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
        func series(_ v: Int, _ block: Int) -> [Double] {
            let start = 3 + block * L + (block < RAGProbeSample.leadingSites ? 0 : 4)
            return (0..<L).map { mean(v, start + $0) }
        }
        let scalars = 3 + RAGProbeSample.leadingSites * L
        let variants = ["no_context", "with_context"]
        var m: [(name: String, value: Double)] = [("train.loss", Double(trainingLoss)), ("probes", Double(count))]
        m.append(("accuracy.closed_book", mean(0, 0)))
        m.append(("accuracy.with_context", mean(1, 0)))
        for (v, name) in variants.enumerated() { m.append(("p.clean.\(name)", mean(v, 1))) }
        for (v, name) in variants.enumerated() { m.append(("p.corrupted.\(name)", mean(v, 2))) }
        let blocks = RAGProbeSample.siteOrder.map(\.name)
        let leading = Array(blocks.enumerated().prefix(RAGProbeSample.leadingSites))
        let trailing = Array(blocks.enumerated().dropFirst(RAGProbeSample.leadingSites))
        func headlines(_ sites: [(offset: Int, element: String)]) {
            for (b, block) in sites {
                for (v, name) in variants.enumerated() { m.append(("aie.\(block).\(name)", Self.peak(series(v, b)))) }
            }
        }
        func perLayer(_ sites: [(offset: Int, element: String)]) {
            for (b, block) in sites {
                for (v, name) in variants.enumerated() {
                    for (l, x) in series(v, b).enumerated() { m.append(("aie.\(block).\(name).layer\(l + 1)", x)) }
                }
            }
        }
        headlines(leading)
        m.append(("knockout.subject.no_context", mean(0, scalars)))
        m.append(("knockout.subject.with_context", mean(1, scalars)))
        m.append(("knockout.answer.with_context", mean(1, scalars + 1)))
        for (v, name) in variants.enumerated() { m.append(("aie.subject_embedding.\(name)", mean(v, scalars + 2))) }
        perLayer(leading)
        m.append(("knockout.subject_all.with_context", mean(1, scalars + 3)))
        // Issue 20: the subject's first token and the attention outputs, after the older metrics.
        headlines(trailing)
        perLayer(trailing)
        return m
    }
}
