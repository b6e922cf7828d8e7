import Foundation

/// Step time as a roofline: a step is either launch-bound or compute-bound, whichever is
/// slower.
///
///     launch  = fixedSeconds + secondsPerLayer x layers          (host-side kernel launches)
///     compute = FLOPs / (peak x efficiency(gemm size) x computeFraction)
///     step    = max(launch, compute)
///
/// `efficiency` is the measured matmul curve (it grows with problem size and saturates);
/// `computeFraction` is the share of matmul efficiency a whole step keeps once attention,
/// normalisation and the optimizer are included. Three numbers per mode, fitted to the
/// measured steps by least squares on log time.
public struct StepTimeModel: Sendable, Codable, Equatable {
    public var mode: Mode
    public var fixedSeconds: Double
    public var secondsPerLayer: Double
    public var computeFraction: Double

    public func seconds(_ shape: ModelShape, on accelerator: AcceleratorSpec) -> Double {
        max(launchSeconds(shape), computeSeconds(shape, on: accelerator))
    }

    public func launchSeconds(_ shape: ModelShape) -> Double {
        fixedSeconds + secondsPerLayer * Double(shape.layers)
    }

    public func computeSeconds(_ shape: ModelShape, on accelerator: AcceleratorSpec) -> Double {
        let efficiency = accelerator.efficiency(shape.precision).efficiency(atSize: shape.gemmSize)
        return shape.stepFLOPs / (accelerator.peakFLOPS(shape.precision) * efficiency * computeFraction)
    }

    /// Fits the model to `steps` (all of `mode`) measured on `accelerator`.
    ///
    /// For each compute fraction on a grid of 0.01, the points that compute alone cannot
    /// explain are launch-bound; the launch line is fitted to them by relative least squares
    /// (non-negative), and the fraction with the least squared log error over every run of
    /// every point wins. Deterministic and fast enough to refit per leave-one-out fold.
    public static func fit(_ steps: [MeasuredStep], mode: Mode, on accelerator: AcceleratorSpec) -> StepTimeModel {
        var best: (error: Double, model: StepTimeModel)?
        for hundredths in 5...100 {
            var model = StepTimeModel(mode: mode, fixedSeconds: 0, secondsPerLayer: 0, computeFraction: Double(hundredths) / 100)
            let launchBound = steps.filter { model.computeSeconds($0.shape, on: accelerator) < mean($0.seconds) }
            (model.fixedSeconds, model.secondsPerLayer) = fitLaunchLine(launchBound)
            let error = steps.reduce(0.0) { sum, step in
                let predicted = model.seconds(step.shape, on: accelerator)
                return sum + step.seconds.reduce(0.0) { $0 + pow(log(predicted / $1), 2) }
            }
            if best == nil || error < best!.error { best = (error, model) }
        }
        return best!.model
    }

    /// Minimises sum ((a + b L) / t - 1)^2 with a, b >= 0.
    static func fitLaunchLine(_ steps: [MeasuredStep]) -> (Double, Double) {
        let rows = steps.flatMap { step in step.seconds.map { (1 / $0, Double(step.shape.layers) / $0) } }
        guard !rows.isEmpty else { return (0, 0) }
        let (saa, sab, sbb) = rows.reduce((0.0, 0.0, 0.0)) { ($0.0 + $1.0 * $1.0, $0.1 + $1.0 * $1.1, $0.2 + $1.1 * $1.1) }
        let (sa, sb) = rows.reduce((0.0, 0.0)) { ($0.0 + $1.0, $0.1 + $1.1) }
        let det = saa * sbb - sab * sab
        if det > 1e-300 {
            let a = (sa * sbb - sb * sab) / det, b = (saa * sb - sab * sa) / det
            if a >= 0 && b >= 0 { return (a, b) }
        }
        // One coefficient at zero: keep the better of the two one-parameter fits.
        let onlyB = sbb > 0 ? sb / sbb : 0, onlyA = saa > 0 ? sa / saa : 0
        func residual(_ a: Double, _ b: Double) -> Double { rows.reduce(0) { $0 + pow(a * $1.0 + b * $1.1 - 1, 2) } }
        return residual(0, onlyB) <= residual(onlyA, 0) ? (0, onlyB) : (onlyA, 0)
    }

    /// Leave-one-out: refit without each point and predict it; the relative error against
    /// each run's measurement.
    public static func leaveOneOut(_ steps: [MeasuredStep], mode: Mode, on accelerator: AcceleratorSpec) -> [FitCheck] {
        steps.indices.map { i in
            var rest = steps
            let held = rest.remove(at: i)
            let predicted = fit(rest, mode: mode, on: accelerator).seconds(held.shape, on: accelerator)
            return FitCheck(step: held, predicted: predicted)
        }
    }
}

/// A prediction for one measured step, and how far off it was.
public struct FitCheck: Sendable {
    public var step: MeasuredStep
    public var predicted: Double
    /// (predicted - measured) / measured, per calibration run.
    public var errors: [Double] { step.seconds.map { (predicted - $0) / $0 } }
    /// How far apart the runs themselves were: (slowest - fastest) / fastest.
    public var runSpread: Double {
        guard let lo = step.seconds.min(), let hi = step.seconds.max(), lo > 0 else { return 0 }
        return (hi - lo) / lo
    }
}

func mean(_ values: [Double]) -> Double { values.isEmpty ? 0 : values.reduce(0, +) / Double(values.count) }
