import FleetTwinMetrics
import Foundation

/// Whether a policy met a goal, judged over the runs of its seeds.
///
/// With two or more seeds the verdict uses the 95% confidence interval of the mean (Student's
/// t, `MeanInterval`): met when the whole interval satisfies the goal, missed when none of it
/// does, uncertain when it straddles the target; an uncertain result is never rounded to met.
/// With one seed there is no interval: the verdict is that run's value against the target.
/// A seed whose run has no value for the metric (no job completed, say) makes the verdict
/// uncertain, since the value it would have had is unknown.
public struct GoalVerdict: Codable, Sendable, Equatable {
    public enum Verdict: String, Codable, Sendable {
        case met, missed, uncertain
    }

    /// The goal as written: `queueing_delay.p95 <= 1h00m`.
    public var goal: String
    public var metric: String
    public var comparison: String
    /// In the metric's unit: a fraction, seconds, kWh, kW or a count.
    public var target: Double
    public var verdict: Verdict
    /// Mean over the seeds that have a value; nil when none has.
    @NullEncoded public var value: Double?
    /// Half-width of the 95% interval; nil with fewer than two values.
    @NullEncoded public var ci95: Double?
    /// Runs judged, and how many of them had no value.
    public var runs: Int
    public var runsWithoutValue: Int

    /// Judges `goal` over the metrics of one policy's runs (one per seed).
    public init(_ goal: Goal, runs: [RunMetrics]) {
        self.init(goal, values: runs.map { goal.metric.value($0) })
    }

    /// Judges `goal` over one value per run (nil: the run has none).
    public init(_ goal: Goal, values all: [Double?]) {
        self.goal = goal.text
        metric = goal.metric.name
        comparison = goal.comparison.rawValue
        target = goal.target
        runs = all.count
        let values = all.compactMap { $0 }
        runsWithoutValue = all.count - values.count
        guard !values.isEmpty else {
            value = nil
            ci95 = nil
            verdict = .uncertain
            return
        }
        let interval = MeanInterval(values)
        value = interval.mean
        ci95 = interval.halfWidth
        let (low, high) = (interval.mean - (interval.halfWidth ?? 0), interval.mean + (interval.halfWidth ?? 0))
        let holdsLow = goal.comparison.holds(low, goal.target), holdsHigh = goal.comparison.holds(high, goal.target)
        if runsWithoutValue > 0 {
            verdict = .uncertain
        } else if holdsLow && holdsHigh {
            verdict = .met
        } else if !holdsLow && !holdsHigh {
            verdict = .missed
        } else {
            verdict = .uncertain
        }
    }

    /// `met        utilization >= 80%: 83.1% ± 1.2%`.
    public var line: String {
        let unit = GoalMetric.named(metric)?.unit ?? .number
        var text = verdict.rawValue.padding(toLength: 10, withPad: " ", startingAt: 0) + goal + ": "
        text += value.map { unit.format($0) } ?? "no value"
        if let ci95 { text += " ± " + unit.format(ci95) }
        if runsWithoutValue > 0 { text += " (no value in \(runsWithoutValue) of \(runs) runs)" }
        return text
    }

    /// Verdicts for every goal, in the scenario's order.
    public static func judge(_ goals: [Goal], runs: [RunMetrics]) -> [GoalVerdict] {
        goals.map { GoalVerdict($0, runs: runs) }
    }
}

extension GoalMetric.Unit {
    /// A value in this unit for people: `83.1%`, `1h05m`, `0.25`.
    public func format(_ value: Double) -> String {
        switch self {
        case .fraction: fixed(value * 100, 1) + "%"
        case .duration: FleetTwinReports.duration(value)
        case .number: String(format: "%.4g", value)
        }
    }
}

extension Goal {
    /// `queueing_delay.p95 <= 1h00m`.
    public var text: String { "\(metric.name) \(comparison.rawValue) \(metric.unit.format(target))" }
}
