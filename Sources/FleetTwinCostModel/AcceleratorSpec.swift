/// What the cost model knows about one kind of accelerator, and where each number came from.
public struct AcceleratorSpec: Sendable, Equatable {
    public enum Provenance: Sendable, Equatable, CustomStringConvertible {
        /// Read off calibration runs of this very accelerator.
        case measured(source: String)
        /// Derived from the measured H100 by public datasheet ratios: not measured.
        case estimate(basis: String)

        public var isEstimate: Bool { if case .estimate = self { true } else { false } }

        public var description: String {
            switch self {
            case .measured(let source): "measured (\(source))"
            case .estimate(let basis): "estimate (\(basis))"
            }
        }
    }

    public var name: String
    public var memoryBytes: Int64
    public var bf16PeakFLOPS: Double
    public var tf32PeakFLOPS: Double
    public var bf16Efficiency: EfficiencyCurve
    public var tf32Efficiency: EfficiencyCurve
    public var checkpoint: CheckpointCostModel
    public var idleWatts: Double
    public var busyWatts: Double
    public var provenance: Provenance
    /// NVLink class and per-node network of the systems this type comes in (defaults in
    /// `Interconnect`, each with its source); scenarios may override both.
    public var interconnect: Interconnect = .hgxH100

    public func peakFLOPS(_ precision: Precision) -> Double {
        precision == .bf16 ? bf16PeakFLOPS : tf32PeakFLOPS
    }

    public func efficiency(_ precision: Precision) -> EfficiencyCurve {
        precision == .bf16 ? bf16Efficiency : tf32Efficiency
    }

    /// This accelerator with compute scaled by `factor` (a scenario's `relative_speed`).
    public func scaled(name: String, computeFactor factor: Double, provenance: Provenance) -> AcceleratorSpec {
        var s = self
        s.name = name
        s.bf16PeakFLOPS *= factor
        s.tf32PeakFLOPS *= factor
        s.provenance = provenance
        return s
    }
}

/// The accelerator types FleetTwin knows without being told.
public enum AcceleratorCatalog {
    /// NVIDIA H100 80GB HBM3, from the first calibration run (the second run measures noise).
    public static let h100: AcceleratorSpec = {
        let runs = Calibration.h100Runs
        let first = runs[0]
        return AcceleratorSpec(
            name: "h100-80gb", memoryBytes: first.env.memoryBytes,
            bf16PeakFLOPS: first.peakFLOPS(.bf16), tf32PeakFLOPS: first.peakFLOPS(.tf32),
            bf16Efficiency: EfficiencyCurve(calibration: first, precision: .bf16),
            tf32Efficiency: EfficiencyCurve(calibration: first, precision: .tf32),
            checkpoint: CheckpointCostModel(fitting: runs),
            idleWatts: first.idleWatts, busyWatts: first.busyWatts,
            provenance: .measured(source: "h100-80gb-hbm3.json, h100-80gb-hbm3-run2.json"))
    }()

    /// Datasheet figures used for the estimates, as ratios to the H100 SXM's: dense tensor
    /// throughput (bf16 or fp16; tf32 or fp32), memory, and board power.
    struct Datasheet {
        var name: String
        var bf16TFLOPS: Double
        var tf32TFLOPS: Double
        var memoryBytes: Int64
        var boardWatts: Double
        var note: String
        var interconnect: Interconnect = .hgxH100
    }

    static let h100Datasheet = Datasheet(name: "h100-80gb", bf16TFLOPS: 989.4, tf32TFLOPS: 494.7,
                                         memoryBytes: 0, boardWatts: 700, note: "")

    static let datasheets = [
        Datasheet(name: "a100-80gb", bf16TFLOPS: 312, tf32TFLOPS: 156, memoryBytes: 85_899_345_920, boardWatts: 400,
                  note: "A100 SXM datasheet: 312 TFLOPS bf16, 156 tf32, 80 GB, 400 W", interconnect: .hgxA100),
        Datasheet(name: "a100-40gb", bf16TFLOPS: 312, tf32TFLOPS: 156, memoryBytes: 42_949_672_960, boardWatts: 400,
                  note: "A100 SXM datasheet: 312 TFLOPS bf16, 156 tf32, 40 GB, 400 W", interconnect: .hgxA100),
        Datasheet(name: "v100-32gb", bf16TFLOPS: 125, tf32TFLOPS: 15.7, memoryBytes: 34_359_738_368, boardWatts: 300,
                  note: "V100 SXM2 datasheet: 125 TFLOPS fp16 (no bf16), 15.7 fp32 (no tf32), 32 GB, 300 W",
                  interconnect: .dgx1V100),
    ]

    /// Estimated types: the H100's measured efficiency curves, launch overheads and
    /// checkpoint path (host and storage bound), with peak throughput, memory and power
    /// scaled by datasheet ratios.
    public static let estimates: [AcceleratorSpec] = datasheets.map { d in
        var s = h100
        s.name = d.name
        s.memoryBytes = d.memoryBytes
        s.bf16PeakFLOPS = h100.bf16PeakFLOPS * d.bf16TFLOPS / h100Datasheet.bf16TFLOPS
        s.tf32PeakFLOPS = h100.tf32PeakFLOPS * d.tf32TFLOPS / h100Datasheet.tf32TFLOPS
        s.idleWatts = h100.idleWatts * d.boardWatts / h100Datasheet.boardWatts
        s.busyWatts = h100.busyWatts * d.boardWatts / h100Datasheet.boardWatts
        s.interconnect = d.interconnect
        s.provenance = .estimate(basis: d.note + "; H100 measurements scaled by these ratios")
        return s
    }

    public static var all: [AcceleratorSpec] { [h100] + estimates }

    public static func named(_ name: String) -> AcceleratorSpec? { all.first { $0.name == name } }
}
