/// FleetTwinCostModel owns "what would this job cost on this accelerator?": a transformer's
/// shape turned into parameters, FLOPs, memory and checkpoint bytes (`ModelShape`), step
/// times from a roofline fitted to real H100 measurements (`StepTimeModel`), checkpoint,
/// restore and migration times from measured bandwidths (`CheckpointCostModel`), and the
/// accelerator catalogue, measured or estimated (`AcceleratorCatalog`).
///
/// Everything is computed from shapes and measurements shipped in Resources/calibration;
/// nothing is looked up per model.
public enum FleetTwinCostModel {}

/// The transformer families the calibration measured.
public enum Architecture: String, Sendable, CaseIterable, Codable {
    /// BERT-style encoder (training: a cross-encoder with a one-logit classification head;
    /// inference: the bare encoder with its pooler).
    case bert
    /// Llama-style decoder with an untied language-model head.
    case llama
}

public enum Mode: String, Sendable, CaseIterable, Codable {
    case train, infer
}

/// Compute precision: bf16 tensor cores (mixed precision with fp32 master weights when
/// training) or tf32.
public enum Precision: String, Sendable, CaseIterable, Codable {
    case bf16, tf32
}

/// A transformer job's shape: everything its costs are computed from.
public struct ModelShape: Sendable, Equatable, Codable {
    public var architecture: Architecture
    public var layers: Int
    public var hidden: Int
    public var sequence: Int
    public var batch: Int
    public var mode: Mode
    public var precision: Precision

    public init(architecture: Architecture, layers: Int, hidden: Int, sequence: Int, batch: Int,
                mode: Mode, precision: Precision = .bf16) {
        self.architecture = architecture
        self.layers = layers
        self.hidden = hidden
        self.sequence = sequence
        self.batch = batch
        self.mode = mode
        self.precision = precision
    }

    /// The vocabularies of the measured configurations (bert-base-uncased, Llama 2).
    public var vocabulary: Int { architecture == .bert ? 30_522 : 32_000 }
    public var heads: Int { architecture == .bert ? max(2, hidden / 64) : max(1, hidden / 64) }
    /// Feed-forward width: 4H for BERT; 8H/3 rounded down to a multiple of 64 for Llama.
    public var intermediate: Int { architecture == .bert ? 4 * hidden : (hidden * 8 / 3) / 64 * 64 }
    public var tokens: Int { batch * sequence }
}
