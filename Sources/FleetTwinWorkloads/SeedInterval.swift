import Foundation

/// A metric over independent seeds: its mean and the half-width of the two-sided 95%
/// confidence interval of that mean (Student's t with n - 1 degrees of freedom), which the
/// workloads' `analyse` functions use to give each claim a verdict over seeds.
public struct SeedInterval: Equatable, Sendable {
    /// The values, one per seed, in the order given.
    public var values: [Double]
    /// Their mean (0 with no values).
    public var mean: Double
    /// Half-width of the 95% interval; nil with fewer than two values.
    public var halfWidth: Double?

    /// The mean and interval of `values`, one per seed.
    public init(_ values: [Double]) {
        self.values = values
        let n = Double(values.count)
        mean = values.isEmpty ? 0 : values.reduce(0, +) / n
        guard values.count >= 2 else { halfWidth = nil; return }
        var squares = 0.0
        for x in values { squares += (x - mean) * (x - mean) }
        halfWidth = Self.studentQuantile975(degreesOfFreedom: values.count - 1) * (squares / (n - 1) / n).squareRoot()
    }

    /// The interval's lower bound (the mean itself without a half-width).
    public var lower: Double { mean - (halfWidth ?? 0) }
    /// The interval's upper bound (the mean itself without a half-width).
    public var upper: Double { mean + (halfWidth ?? 0) }

    /// True when there are at least two values and the whole interval lies above `bound`.
    public func above(_ bound: Double) -> Bool { halfWidth != nil && lower > bound }
    /// True when there are at least two values and the whole interval lies below `bound`.
    public func below(_ bound: Double) -> Bool { halfWidth != nil && upper < bound }

    /// "0.123 ± 0.045" (or "0.123" with one value).
    public func text(_ digits: Int = 3) -> String {
        let m = String(format: "%.\(digits)f", mean)
        return halfWidth.map { m + " ± " + String(format: "%.\(digits)f", $0) } ?? m
    }

    /// The 0.975 quantile of Student's t with `df` degrees of freedom: exact values for
    /// df 1 and 2 (closed forms), the Cornish-Fisher expansion around the normal quantile
    /// 1.959964 (four terms, within 0.004 of the tables from df 3 on, 0.001 from df 4) otherwise.
    public static func studentQuantile975(degreesOfFreedom df: Int) -> Double {
        precondition(df >= 1, "Student's t needs at least one degree of freedom")
        if df == 1 { return Foundation.tan(Double.pi * 0.475) }
        if df == 2 { let a = 4 * 0.975 * 0.025; return 2 * (0.975 - 0.5) * (2 / a).squareRoot() }
        let z = 1.959963984540054, v = Double(df)
        let z3 = z * z * z, z5 = z3 * z * z, z7 = z5 * z * z, z9 = z7 * z * z
        return z + (z3 + z) / (4 * v) + (5 * z5 + 16 * z3 + 3 * z) / (96 * v * v)
            + (3 * z7 + 19 * z5 + 17 * z3 - 15 * z) / (384 * v * v * v)
            + (79 * z9 + 776 * z7 + 1482 * z5 - 1920 * z3 - 945 * z) / (92160 * v * v * v * v)
    }

    /// The values named `name.mean`, `name.ci95` (half-width, 0 without one) and `name.seeds`.
    public func namedValues(_ name: String) -> [(name: String, value: Double)] {
        [("\(name).mean", mean), ("\(name).ci95", halfWidth ?? 0), ("\(name).seeds", Double(values.count))]
    }
}
