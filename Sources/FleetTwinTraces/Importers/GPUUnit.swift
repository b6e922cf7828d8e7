/// How a trace counts the GPUs a job asks for, and the one rounding rule every importer
/// applies: FleetTwin allocates whole accelerators, so a fraction of a GPU (0.5, 50 percent,
/// 500 milli) rounds up to whole devices, and each rounded row is a counted note.
public enum GPUUnit: String, CaseIterable, Sendable {
    /// Whole GPUs (a fraction, e.g. 0.5, rounds up).
    case whole
    /// Percent of one GPU (Alibaba's plan_gpu: 50 is half a GPU, 400 four GPUs).
    case percent
    /// Thousandths of one GPU (Kubernetes-style gpu_milli: 500 is half a GPU).
    case milli

    /// How many of this unit make one GPU.
    public var perGPU: Double {
        switch self {
        case .whole: 1
        case .percent: 100
        case .milli: 1000
        }
    }

    /// The note an importer writes for rounded rows (through `ImportedJobs.note`).
    public static let roundingNote = "asked for a fraction of a GPU: rounded up to whole GPUs, as FleetTwin allocates whole accelerators"

    /// Whole devices for `value` in this unit, and whether a fraction was rounded up; 0 for 0.
    /// A negative or non-finite value is a `BadRow` naming `column`. Noise below a millionth
    /// of a GPU (0.30000000000000004 x 10) is not a fraction.
    public func devices(_ value: Double, column: String) throws(BadRow) -> (devices: Int, rounded: Bool) {
        guard value.isFinite, value >= 0 else { throw BadRow("\(column) '\(value)' is not a GPU count (\(rawValue))") }
        let gpus = value / perGPU
        guard gpus < 1e9 else { throw BadRow("\(column) asks for more than 1e9 GPUs") }
        let whole = (gpus - 1e-6).rounded(.up)
        return (Int(max(whole, 0)), abs(gpus - gpus.rounded()) > 1e-6)
    }
}
