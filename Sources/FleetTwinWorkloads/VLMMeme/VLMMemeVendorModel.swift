import FleetTwinEngine
import FleetTwinTensor
import Foundation

/// The vendor's model: a small vision-language transformer pretrained on a mixture skewed
/// toward the dominant language and its norms, as public VLMs are. The job evaluates it; it
/// does not train it, so its pretraining is outside the fleet: a deterministic function of
/// the seed and the model options, computed in-process when a job is built and memoised.
///
/// Architecture: the decoder of the RAG workload (`RAGModel`: token and learned position
/// embeddings, pre-LayerNorm blocks of causal multi-head attention and a GELU MLP, the answer
/// read at the last position) over one vocabulary that holds the prompt-language tokens, the
/// visual tokens (the image grid, one token per cell) and every language's words.
struct VLMMemeVendorModel: Sendable {
    /// The mixture and optimisation settings that decide the weights.
    struct Settings: Equatable, Sendable {
        var layers: Int, width: Int, heads: Int
        var steps: Int, batch: Int, learningRate: Double
        /// Share of pretraining memes from the dominant culture.
        var dominantShare: Double
        /// Share of non-dominant pretraining memes sourced in their own community: native
        /// prompt, original caption, labels by local norms. The rest come through
        /// English-centric pipelines: English prompt, caption translated half the time,
        /// labels by the dominant culture's norms.
        var nativeSourced: Double
        /// Share of pretraining sequences that carry one labelled example first.
        var oneShotShare: Double

        var key: String {
            "\(layers)/\(width)/\(heads)/\(steps)/\(batch)/\(learningRate.bitPattern)/\(dominantShare.bitPattern)"
                + "/\(nativeSourced.bitPattern)/\(oneShotShare.bitPattern)"
        }
    }

    let model: RAGModel
    let parameters: [Tensor]
    /// Mean cross-entropy of the last pretraining step.
    let finalLoss: Float

    /// One pretraining sequence and its answer token, drawn from the skewed mixture.
    static func pretrainingExample(world: VLMMemeWorld, settings s: Settings, _ g: inout SeededGenerator) -> (tokens: [Int], answer: Int) {
        let others = VLMMemeWorld.languages.count - 1
        let culture = g.nextUnitDouble() < s.dominantShare ? VLMMemeWorld.dominant : 1 + VLMMemeWorld.uniform(others, &g)
        var native = true, translated = false
        if culture != VLMMemeWorld.dominant {
            native = g.nextUnitDouble() < s.nativeSourced
            translated = !native && g.nextUnitDouble() < 0.5
        }
        let norm = native ? culture : VLMMemeWorld.dominant
        let oneShot = g.nextUnitDouble() < s.oneShotShare
        let condition = VLMMemeCondition(oneShot: oneShot, nativePrompt: native, translated: translated)
        let query = VLMMemeWorld.meme(culture: culture, &g)
        let example = oneShot ? VLMMemeWorld.meme(culture: culture, &g) : nil
        let tokens = condition.tokens(query: query, example: example,
                                      exampleHateful: example.map { VLMMemeWorld.isHateful($0, underNormOf: norm) } ?? false,
                                      world: world)
        return (tokens, VLMMemeWorld.isHateful(query, underNormOf: norm) ? VLMMemeWorld.yes : VLMMemeWorld.no)
    }

    /// Pretrains from scratch: Adam on the answer token's cross-entropy, `steps` batches of
    /// `batch` sequences from `spec.generator("pretrain")`, weights from `spec.generator("vendor.init")`.
    init(seed: UInt64, world: VLMMemeWorld, settings s: Settings) {
        let spec = WorkloadSpec(kind: VLMMemeWorkload.kind, seed: seed)
        model = RAGModel(layers: s.layers, width: s.width, heads: s.heads, vocabulary: VLMMemeWorld.vocabulary,
                         maxLength: VLMMemeCondition.maxLength)
        var initGenerator = spec.generator("vendor.init")
        var p = model.initialParameters(&initGenerator)
        var adam = Adam(learningRate: Float(s.learningRate))
        var data = spec.generator("pretrain")
        var loss: Float = 0
        for _ in 0..<s.steps {
            let batch = (0..<s.batch).map { _ in Self.pretrainingExample(world: world, settings: s, &data) }
            let tape = Tape()
            let variables = p.map(tape.leaf)
            let out = model.forward(tape, variables, batch.map(\.tokens))
            let l = tape.crossEntropy(out.logits, targets: batch.map(\.answer))
            tape.backward(from: l)
            loss = tape.value(l).scalar
            adam.update(&p, gradients: variables.map(tape.gradient))
        }
        parameters = p
        finalLoss = loss
    }

    /// yes-logit minus no-logit for each of `sequences` (stacked; rows do not interact).
    func margins(_ sequences: [[Int]]) -> (margins: [Float], flops: Int, bytes: Int) {
        guard !sequences.isEmpty else { return ([], 0, 0) }
        let tape = Tape()
        let logits = tape.value(model.forward(tape, parameters.map(tape.leaf), sequences).logits)
        let margins = (0..<sequences.count).map { logits[$0, VLMMemeWorld.yes] - logits[$0, VLMMemeWorld.no] }
        return (margins, tape.matmulFlops, tape.retainedBytes)
    }

    // MARK: The memo

    /// One pretrained model per (seed, settings), computed once per process: concurrent builds
    /// of the same key wait for the first instead of pretraining again. Entries are only looked
    /// up by key, never iterated.
    final class Memo: @unchecked Sendable {
        final class Entry: @unchecked Sendable {
            let lock = NSLock()
            var model: VLMMemeVendorModel?
        }
        let lock = NSLock()
        var entries: [String: Entry] = [:]

        func model(seed: UInt64, world: VLMMemeWorld, settings: Settings) -> VLMMemeVendorModel {
            let key = "\(seed)|\(settings.key)"
            lock.lock()
            let entry: Entry
            if let found = entries[key] { entry = found } else { entry = Entry(); entries[key] = entry }
            lock.unlock()
            entry.lock.lock()
            defer { entry.lock.unlock() }
            if let model = entry.model { return model }
            let model = VLMMemeVendorModel(seed: seed, world: world, settings: settings)
            entry.model = model
            return model
        }
    }

    static let memo = Memo()
}
