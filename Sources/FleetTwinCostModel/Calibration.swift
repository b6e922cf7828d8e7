import Foundation

/// One run of measure_gpu.py on one accelerator, as shipped in Resources/calibration.
public struct Calibration: Sendable, Decodable {
    public struct Environment: Sendable, Decodable {
        public var gpu: String
        public var memoryBytes: Int64
    }

    public struct Matmul: Sendable, Decodable {
        public var dtype: String
        public var n: Int
        public var tflops: Double
    }

    public struct Copy: Sendable, Decodable {
        public var d2hPinnedBytesPerS: Double
        public var h2dPinnedBytesPerS: Double
    }

    /// One checkpoint round trip of `gib` GiB: device -> host -> disk -> host -> device.
    public struct Checkpoint: Sendable, Decodable {
        public var gib: Double
        public var d2hS: Double
        public var saveS: Double
        public var loadS: Double
        public var h2dS: Double
    }

    public struct TrainStep: Sendable, Decodable {
        public var layers: Int
        public var hidden: Int
        public var params: Int
        public var seq: Int
        public var batch: Int
        public var stepS: Double
        public var peakMemBytes: Int64
        public var checkpointStateBytes: Int64
    }

    public struct InferStep: Sendable, Decodable {
        public var layers: Int
        public var hidden: Int
        public var seq: Int
        public var batch: Int
        public var params: Int
        public var stepS: Double
    }

    public struct ForwardPass: Sendable, Decodable {
        public var layers: Int
        public var hidden: Int
        public var seq: Int
        public var batch: Int
        public var params: Int
        public var forwardS: Double
    }

    public struct Power: Sendable, Decodable {
        public var idle: String
        public var busySamples: [String]
    }

    public var env: Environment
    public var matmul: [Matmul]
    public var copy: Copy
    public var checkpoint: [Checkpoint]
    public var rerankerTrain: [TrainStep]
    public var encoderInfer: [InferStep]
    public var causalLm: [ForwardPass]
    public var power: Power
    public var source: String

    public enum LoadError: Error, CustomStringConvertible {
        case missing(String)
        public var description: String {
            switch self { case .missing(let name): "calibration \(name) is not embedded in this build" }
        }
    }

    public static func decode(_ data: Data) throws -> Calibration {
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        return try decoder.decode(Calibration.self, from: data)
    }

    /// One of the measurement files of Resources/calibration, embedded in the binary at build
    /// time (the EmbedCalibration plugin), so a copied binary needs no resource folder.
    static func load(_ resource: String) throws -> Calibration {
        guard let text = EmbeddedCalibration.files["\(resource).json"] else { throw LoadError.missing("\(resource).json") }
        return try decode(Data(text.utf8))
    }

    /// The two runs on an NVIDIA H100 80GB HBM3 (second machine of the same kind, ten minutes
    /// later). The files are embedded at build time: failing to read them is a packaging bug.
    public static let h100Runs: [Calibration] = {
        do { return [try load("h100-80gb-hbm3"), try load("h100-80gb-hbm3-run2")] } catch {
            preconditionFailure("\(error)")
        }
    }()

    // MARK: Derived views

    /// Watts in an nvidia-smi sample line "power, utilization, temperature".
    static func watts(_ sample: String) -> Double {
        Double(sample.split(separator: ",").first.map { $0.trimmingCharacters(in: .whitespaces) } ?? "") ?? 0
    }

    public var idleWatts: Double { Self.watts(power.idle) }
    /// The median of the busy samples.
    public var busyWatts: Double {
        let w = power.busySamples.map(Self.watts).sorted()
        return w.isEmpty ? 0 : w[w.count / 2]
    }

    /// The fastest matrix product measured for `dtype`: the accelerator's practical peak.
    public func peakFLOPS(_ precision: Precision) -> Double {
        matmul.filter { $0.dtype == precision.calibrationKey }.map(\.tflops).max().map { $0 * 1e12 } ?? 0
    }
}

extension Precision {
    var calibrationKey: String { self == .bf16 ? "bf16" : "fp32_tf32" }
}

/// A measured step of a known shape, with its time in every calibration run.
public struct MeasuredStep: Sendable {
    public var shape: ModelShape
    public var seconds: [Double]
    public var parameters: Int
    public var peakMemoryBytes: Int64?
    public var checkpointBytes: Int64?

    public var label: String {
        "\(shape.architecture.rawValue) \(shape.mode.rawValue) \(shape.layers)x\(shape.hidden) seq \(shape.sequence) batch \(shape.batch)"
    }

    /// Every measured step of `runs` (which must list the same shapes), in file order.
    public static func all(_ runs: [Calibration]) -> [MeasuredStep] {
        guard let first = runs.first else { return [] }
        var steps: [MeasuredStep] = []
        for (i, r) in first.rerankerTrain.enumerated() {
            steps.append(MeasuredStep(
                shape: ModelShape(architecture: .bert, layers: r.layers, hidden: r.hidden, sequence: r.seq, batch: r.batch, mode: .train),
                seconds: runs.map { $0.rerankerTrain[i].stepS }, parameters: r.params,
                peakMemoryBytes: r.peakMemBytes, checkpointBytes: r.checkpointStateBytes))
        }
        for (i, r) in first.encoderInfer.enumerated() {
            steps.append(MeasuredStep(
                shape: ModelShape(architecture: .bert, layers: r.layers, hidden: r.hidden, sequence: r.seq, batch: r.batch, mode: .infer),
                seconds: runs.map { $0.encoderInfer[i].stepS }, parameters: r.params))
        }
        for (i, r) in first.causalLm.enumerated() {
            steps.append(MeasuredStep(
                shape: ModelShape(architecture: .llama, layers: r.layers, hidden: r.hidden, sequence: r.seq, batch: r.batch, mode: .infer),
                seconds: runs.map { $0.causalLm[i].forwardS }, parameters: r.params))
        }
        return steps
    }
}
