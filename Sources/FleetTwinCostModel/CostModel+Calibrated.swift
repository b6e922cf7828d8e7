import Foundation

/// The cost model fitted to the shipped H100 calibration, and what it predicts for a shape.
public struct CostModel: Sendable {
    public var train: StepTimeModel
    public var infer: StepTimeModel
    public var memory: MemoryModel

    /// Fitted once per process from both H100 runs.
    public static let calibrated: CostModel = {
        let steps = MeasuredStep.all(Calibration.h100Runs)
        let h100 = AcceleratorCatalog.h100
        return CostModel(
            train: StepTimeModel.fit(steps.filter { $0.shape.mode == .train }, mode: .train, on: h100),
            infer: StepTimeModel.fit(steps.filter { $0.shape.mode == .infer }, mode: .infer, on: h100),
            memory: MemoryModel.fit(steps))
    }()

    public func stepModel(_ mode: Mode) -> StepTimeModel { mode == .train ? train : infer }

    /// Everything FleetTwin predicts for one replica of `shape` on `accelerator`.
    public struct Estimate: Sendable, Equatable, Codable {
        public var accelerator: String
        public var estimatedAccelerator: Bool
        public var params: Int
        public var flopsPerStep: Double
        public var stepSeconds: Double
        public var launchBound: Bool
        public var memoryBytes: Int64
        public var fitsInMemory: Bool
        public var checkpointBytes: Int64
        public var checkpointSeconds: Double
        public var restoreSeconds: Double
    }

    public func estimate(_ shape: ModelShape, on accelerator: AcceleratorSpec) -> Estimate {
        let model = stepModel(shape.mode)
        let memory = memory.bytes(shape)
        let bytes = shape.checkpointBytes
        return Estimate(
            accelerator: accelerator.name, estimatedAccelerator: accelerator.provenance.isEstimate,
            params: shape.parameters, flopsPerStep: shape.stepFLOPs,
            stepSeconds: model.seconds(shape, on: accelerator),
            launchBound: model.launchSeconds(shape) >= model.computeSeconds(shape, on: accelerator),
            memoryBytes: memory, fitsInMemory: memory <= accelerator.memoryBytes,
            checkpointBytes: bytes,
            checkpointSeconds: accelerator.checkpoint.checkpointSeconds(bytes),
            restoreSeconds: accelerator.checkpoint.restoreSeconds(bytes))
    }

    /// The shape relative speeds are measured on: the largest calibrated training step
    /// (BERT-large, 24 x 1024, sequence 256, batch 32).
    public static let referenceShape = ModelShape(architecture: .bert, layers: 24, hidden: 1024, sequence: 256, batch: 32, mode: .train)

    /// How fast `accelerator` runs the reference shape compared with the H100 (1.0): the
    /// speed that scales jobs given as durations.
    public func relativeSpeed(of accelerator: AcceleratorSpec) -> Double {
        let model = stepModel(Self.referenceShape.mode)
        return model.seconds(Self.referenceShape, on: AcceleratorCatalog.h100) / model.seconds(Self.referenceShape, on: accelerator)
    }
}

extension CostModel {
    /// The step time of a small real workload known only by its matrix-product FLOPs per
    /// step: the `mode`'s roofline for a 2-layer model whose products are cubes of side
    /// cbrt(FLOPs / 6) when training (forward plus backward is 6 n^3) or cbrt(FLOPs / 2) for
    /// inference (forward only). Small workloads are launch-bound on an H100, so this is
    /// close to the fitted launch line of a shallow model.
    public func smallWorkloadStepSeconds(flops: Double, on accelerator: AcceleratorSpec, mode: Mode = .train) -> Double {
        let model = stepModel(mode)
        let launch = model.fixedSeconds + model.secondsPerLayer * 2
        let size = max(1, Foundation.cbrt(max(flops, 0) / (mode == .train ? 6 : 2)))
        let efficiency = accelerator.efficiency(.tf32).efficiency(atSize: size)
        let compute = flops / (accelerator.peakFLOPS(.tf32) * efficiency * model.computeFraction)
        return max(launch, compute)
    }
}
