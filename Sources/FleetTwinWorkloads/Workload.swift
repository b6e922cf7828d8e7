/// FleetTwinWorkloads owns the real small-scale jobs that FleetTwin can run instead of only
/// simulating: ECI hard-negative scoring, reranker scaling-law training, RAG mechanistic
/// probes (training jobs) and the cross-cultural hateful-meme evaluation (`vlm-meme`, batch
/// inference). It defines their contract (`Workload`), their checkpoints (`WorkloadCheckpoint`:
/// versioned, stable bytes), data-parallel gradient reduction in a fixed replica order, and
/// the analyses that span several jobs (scaling-law fits, ECI correlations).
import FleetTwinEngine
import FleetTwinTensor

/// What a workload job is: its kind, seed, data-parallel world size and kind-specific options.
public struct WorkloadSpec: Equatable, Sendable {
    public var kind: String
    public var seed: UInt64
    /// Data-parallel replicas. The result depends on this, never on how many devices run them.
    public var worldSize: Int
    /// Kind-specific options (sizes, losses, step counts), as strings; each kind parses its own.
    public var options: [String: String]

    public init(kind: String, seed: UInt64, worldSize: Int = 1, options: [String: String] = [:]) {
        self.kind = kind
        self.seed = seed
        self.worldSize = worldSize
        self.options = options
    }

    /// The spec's stable encoding (options in key order: dictionaries are never iterated raw).
    public func encode(to writer: inout ByteWriter) {
        writer.write(kind)
        writer.write(seed)
        writer.write(worldSize)
        let keys = options.keys.sorted()
        writer.write(keys.count)
        for key in keys { writer.write(key); writer.write(options[key]!) }
    }

    public init(from reader: inout ByteReader) throws {
        kind = try reader.readString()
        seed = try reader.readUInt64()
        worldSize = try reader.readInt()
        let count = try reader.readInt()
        guard count >= 0, count < 1_000 else { throw ByteDecodingError(offset: reader.offset, reason: "\(count) options") }
        var options: [String: String] = [:]
        for _ in 0..<count { let key = try reader.readString(); options[key] = try reader.readString() }
        self.options = options
    }

    /// A generator for `purpose` in this job, independent of every other purpose.
    public func generator(_ purpose: String, index: UInt64 = 0) -> SeededGenerator {
        SeededGenerator(seed: seed, stream: "workload.\(kind).\(purpose)", index: index)
    }
}

/// A workload option that is missing or malformed, or an unknown kind.
public struct WorkloadError: Error, CustomStringConvertible, Equatable {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// What one step of a workload costs, as measured while it ran (see `fleettwin record`).
public struct StepProfile: Equatable, Sendable {
    /// Floating-point operations of the step's matrix products, forward and backward.
    public var flops: Int
    /// Bytes the step's tape kept alive (activations and their inputs): its working memory.
    public var activationBytes: Int

    public init(flops: Int, activationBytes: Int) {
        self.flops = flops
        self.activationBytes = activationBytes
    }
}

/// The outputs of a finished workload: named numbers in a fixed order, and a hash of the
/// finished state that proves two runs ended identically.
public struct WorkloadResult: Equatable, Sendable {
    public var metrics: [(name: String, value: Double)]
    public var hash: UInt64

    public init(metrics: [(name: String, value: Double)], hash: UInt64) {
        self.metrics = metrics
        self.hash = hash
    }

    public subscript(metric: String) -> Double? {
        metrics.first { $0.name == metric }?.value
    }

    public var hashHex: String {
        let digits = String(hash, radix: 16)
        return String(repeating: "0", count: 16 - digits.count) + digits
    }

    public static func == (a: WorkloadResult, b: WorkloadResult) -> Bool {
        a.hash == b.hash && a.metrics.map(\.name) == b.metrics.map(\.name)
            && a.metrics.map(\.value.bitPattern) == b.metrics.map(\.value.bitPattern)
    }
}

/// A real job: a program with a seed and a configuration that runs one mini-batch per step.
///
/// Contract: `step(devices:)` advances by exactly one step and must give the same state for
/// any `devices` in 1...worldSize; `encodeState` writes the whole state (parameters,
/// optimizer moments, step, data cursor, generator states) so that `init(spec:restoring:)`
/// continues exactly; `result` is available once `isFinished`.
public protocol Workload: AnyObject {
    static var kind: String { get }
    /// The options this kind accepts, with a one-line description each (for validation and help).
    static var optionHelp: [(key: String, help: String)] { get }

    init(spec: WorkloadSpec) throws
    init(spec: WorkloadSpec, restoring reader: inout ByteReader) throws

    var spec: WorkloadSpec { get }
    var stepsCompleted: Int { get }
    var totalSteps: Int { get }
    /// Matrix-product FLOPs of an average step (forward and backward, all replicas), known
    /// before running: the simulator prices the job's steps with it through the cost model.
    var estimatedFlopsPerStep: Int { get }
    /// Runs the next step with the replicas spread over `devices` devices; returns its cost.
    @discardableResult func step(devices: Int) -> StepProfile
    func encodeState(to writer: inout ByteWriter)
    /// The outputs, once every step has run (nil before).
    var result: WorkloadResult? { get }
    /// For batch inference: the independent requests the job serves (its steps are
    /// mini-batches of them, its replicas split them, its checkpoint is the cursor and the
    /// outputs so far). nil (the default) for training, whose replicas form a fixed world.
    var inferenceRequests: Int? { get }
    /// For batch inference: the bytes of the model's weights, which every start loads
    /// (they are not in the checkpoint). 0 (the default) for training.
    var inferenceWeightBytes: Int { get }

    /// What several finished jobs of this kind show together (a table per negative set, a
    /// fitted scaling law and its forecast, probe effects with and without context).
    static func analyse(_ jobs: [FinishedWorkload]) -> WorkloadReport
}

/// One finished job, as the analyses take it.
public struct FinishedWorkload: Sendable {
    public var name: String
    public var spec: WorkloadSpec
    public var result: WorkloadResult
    public init(name: String, spec: WorkloadSpec, result: WorkloadResult) {
        self.name = name
        self.spec = spec
        self.result = result
    }
}

/// A cross-job analysis: text for people, named numbers for machines (JSON, tests).
public struct WorkloadReport: Sendable {
    public var title: String
    /// Plain-text lines (tables, fitted laws), printed as they are.
    public var lines: [String]
    public var values: [(name: String, value: Double)]

    public init(title: String, lines: [String], values: [(name: String, value: Double)]) {
        self.title = title
        self.lines = lines
        self.values = values
    }

    public subscript(value name: String) -> Double? {
        values.first { $0.name == name }?.value
    }
}

extension Workload {
    public var isFinished: Bool { stepsCompleted >= totalSteps }

    public var inferenceRequests: Int? { nil }
    public var inferenceWeightBytes: Int { 0 }

    /// Runs the remaining steps on `devices` devices.
    public func runToCompletion(devices: Int = 1) {
        while !isFinished { step(devices: devices) }
    }

    /// The hash of a finished state: FNV-1a over its checkpoint bytes.
    public func stateHash() -> UInt64 {
        var hasher = StableHasher()
        for word in WorkloadCheckpoint.bytes(of: self).chunkedWords() { hasher.combine(word) }
        return hasher.value
    }
}

extension Array where Element == UInt8 {
    /// The bytes as little-endian words (the last one zero-padded), then the length.
    func chunkedWords() -> [UInt64] {
        var words: [UInt64] = []
        words.reserveCapacity(count / 8 + 2)
        var i = 0
        while i < count {
            var w: UInt64 = 0
            for b in 0..<Swift.min(8, count - i) { w |= UInt64(self[i + b]) << (8 * UInt64(b)) }
            words.append(w)
            i += 8
        }
        words.append(UInt64(count))
        return words
    }
}
