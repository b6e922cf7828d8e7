import FleetTwinMetrics

extension ScenarioParser {
    /// `goals:` maps a metric name (`GoalMetric.name`: `utilization`, `sla.premium`,
    /// `queueing_delay.p95`, ...) to a condition: a comparison (`>=`, `<=`, `>`, `<`) and a
    /// target in the metric's unit: a fraction (`0.8` or `80%`), a duration (`1h`) or a number.
    /// Goals keep the order they are written in.
    func parseGoals(_ node: YAMLNode) throws(ScenarioError) -> [Goal] {
        let names = GoalMetric.all.map(\.name)
        let o = try reader.object(node, "goals", allowed: names)
        var goals: [Goal] = []
        for field in o.fields {
            let metric = GoalMetric.named(field.key)!
            guard let condition = field.value.scalar?.string.trimmingWhitespace else {
                throw reader.error(at: field.value, "the goal on \(field.key) must be a condition such as \(Self.example(metric.unit)); found \(reader.describe(field.value))")
            }
            guard let comparison = Goal.Comparison.allCases.sorted(by: { $0.rawValue.count > $1.rawValue.count })
                .first(where: { condition.hasPrefix($0.rawValue) }) else {
                throw reader.error(at: field.value, "the goal on \(field.key) must start with >=, <=, > or <, as in \(Self.example(metric.unit)); found '\(condition)'")
            }
            let text = String(condition.dropFirst(comparison.rawValue.count)).trimmingWhitespace
            guard let target = Self.target(text, metric.unit) else {
                throw reader.error(at: field.value, "the target of \(field.key) must be \(Self.expected(metric.unit)); found '\(text)'")
            }
            goals.append(Goal(metric: metric, comparison: comparison, target: target))
        }
        return goals
    }

    static func target(_ text: String, _ unit: GoalMetric.Unit) -> Double? {
        switch unit {
        case .fraction:
            let value = text.hasSuffix("%") ? Double(String(text.dropLast()).trimmingWhitespace).map { $0 / 100 } : Double(text)
            return value.flatMap { $0.isFinite && $0 >= 0 && $0 <= 1 ? $0 : nil }
        case .duration:
            return Units.duration(text)?.seconds
        case .number:
            return Double(text).flatMap { $0.isFinite && $0 >= 0 ? $0 : nil }
        }
    }

    static func expected(_ unit: GoalMetric.Unit) -> String {
        switch unit {
        case .fraction: "a fraction from 0 to 1 or a percentage (0.8 or 80%)"
        case .duration: Units.durationExpected
        case .number: "a number >= 0"
        }
    }

    static func example(_ unit: GoalMetric.Unit) -> String {
        switch unit {
        case .fraction: "\">= 0.80\""
        case .duration: "\"<= 1h\""
        case .number: "\"<= 1\""
        }
    }
}
