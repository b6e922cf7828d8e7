import Foundation

/// Tensor-core efficiency by matrix-product size, read off the measured matmul table:
/// throughput / peak, interpolated log-log between measured sizes and held flat beyond them
/// (small products are launch-bound, large ones saturate).
public struct EfficiencyCurve: Sendable, Codable, Equatable {
    /// (size, efficiency) in increasing size.
    public var points: [Point]

    public struct Point: Sendable, Codable, Equatable {
        public var size: Double
        public var efficiency: Double
    }

    public init(calibration: Calibration, precision: Precision) {
        let peak = calibration.peakFLOPS(precision)
        points = calibration.matmul.filter { $0.dtype == precision.calibrationKey }
            .sorted { $0.n < $1.n }
            .map { Point(size: Double($0.n), efficiency: $0.tflops * 1e12 / peak) }
    }

    public func efficiency(atSize n: Double) -> Double {
        guard let first = points.first, let last = points.last else { return 1 }
        if n <= first.size { return first.efficiency }
        if n >= last.size { return last.efficiency }
        for (a, b) in zip(points, points.dropFirst()) where n <= b.size {
            let f = (log(n) - log(a.size)) / (log(b.size) - log(a.size))
            return exp(log(a.efficiency) + f * (log(b.efficiency) - log(a.efficiency)))
        }
        return last.efficiency
    }
}
