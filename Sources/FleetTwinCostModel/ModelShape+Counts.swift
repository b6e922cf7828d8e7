import Foundation

/// Parameter counts, FLOPs and byte sizes, derived from the shape alone. The formulas match
/// the Hugging Face BERT and Llama implementations the calibration used, parameter for
/// parameter (tested against every measured row).
extension ModelShape {
    /// Trainable parameters.
    public var parameters: Int {
        let h = hidden, l = layers, v = vocabulary
        switch architecture {
        case .bert:
            // Embeddings (word, 512 positions, 2 token types, LayerNorm), 12H^2 + 13H per
            // layer, the pooler, and in training the one-logit classifier.
            let embeddings = v * h + 512 * h + 2 * h + 2 * h
            let perLayer = 12 * h * h + 13 * h
            let pooler = h * h + h
            let classifier = mode == .train ? h + 1 : 0
            return embeddings + l * perLayer + pooler + classifier
        case .llama:
            // Embedding and untied head, attention 4H^2, gated MLP 3HI, two RMSNorms per
            // layer, one final RMSNorm.
            let perLayer = 4 * h * h + 3 * h * intermediate + 2 * h
            return 2 * v * h + l * perLayer + h
        }
    }

    /// Parameter tensors, each of which carries one optimizer step counter in AdamW.
    public var parameterTensors: Int {
        switch architecture {
        case .bert: 5 + 16 * layers + 2 + (mode == .train ? 2 : 0)
        case .llama: 1 + 9 * layers + 1 + 1
        }
    }

    /// FLOPs of one forward pass: 2 per multiply-add in every matrix product, plus the
    /// attention score and value products (4 x sequence x hidden per token and layer).
    /// Llama adds its language-model head over every position.
    public var forwardFLOPs: Double {
        let t = Double(tokens), h = Double(hidden), s = Double(sequence), l = Double(layers)
        switch architecture {
        case .bert:
            return l * (24 * h * h * t + 4 * s * h * t)
        case .llama:
            let i = Double(intermediate)
            return l * (2 * (4 * h * h + 3 * h * i) * t + 4 * s * h * t) + 2 * h * Double(vocabulary) * t
        }
    }

    /// FLOPs of one step: a training step is a forward and a backward pass (twice the
    /// forward's work).
    public var stepFLOPs: Double { mode == .train ? 3 * forwardFLOPs : forwardFLOPs }

    /// The size of a typical matrix product in the step, as the side of the cube of equal
    /// work: (tokens x hidden x hidden)^(1/3). Tensor-core efficiency depends on it.
    public var gemmSize: Double { cbrt(Double(tokens) * Double(hidden) * Double(hidden)) }

    /// Bytes of a checkpoint: training keeps fp32 weights, AdamW's two fp32 moments and one
    /// 4-byte step counter per tensor; inference keeps the weights as loaded (fp32 for the
    /// BERT encoder under autocast, bf16 for Llama).
    public var checkpointBytes: Int64 {
        let p = Int64(parameters)
        switch mode {
        case .train: return 12 * p + 4 * Int64(parameterTensors)
        case .infer: return weightBytes
        }
    }

    /// What batch inference keeps per request: the final hidden state of one position (the
    /// pooled embedding for BERT), at the weights' element size.
    public var outputBytesPerRequest: Int64 {
        Int64(hidden) * (architecture == .bert ? 4 : 2)
    }

    var weightBytes: Int64 {
        Int64(parameters) * (mode == .train || architecture == .bert ? 4 : 2)
    }
}
