import FleetTwinCostModel

/// One kind of accelerator as the fleet sees it: the cost model's specification (compute,
/// memory, checkpoint path, power, and whether it was measured or estimated) plus the
/// relative speed that scales jobs given as durations (1.0 = an H100).
public struct AcceleratorProfile: Sendable, Equatable {
    public var spec: AcceleratorSpec
    public var relativeSpeed: Double

    /// A profile whose relative speed the cost model derives from the spec.
    public init(spec: AcceleratorSpec) {
        self.spec = spec
        self.relativeSpeed = CostModel.calibrated.relativeSpeed(of: spec)
    }

    public init(spec: AcceleratorSpec, relativeSpeed: Double) {
        self.spec = spec
        self.relativeSpeed = relativeSpeed
    }

    public var name: String { spec.name }
    public var memoryBytes: Int64 { spec.memoryBytes }
    public var idlePowerWatts: Double { spec.idleWatts }
    public var busyPowerWatts: Double { spec.busyWatts }
    public var isEstimate: Bool { spec.provenance.isEstimate }

    /// The measured NVIDIA H100 80GB HBM3.
    public static let h100 = AcceleratorProfile(spec: AcceleratorCatalog.h100, relativeSpeed: 1)

    /// Every type a scenario can name without declaring it: the measured H100 and the
    /// estimated A100 80GB, A100 40GB and V100 32GB.
    public static let builtIn: [AcceleratorProfile] = [h100] + AcceleratorCatalog.estimates.map { AcceleratorProfile(spec: $0) }
}
