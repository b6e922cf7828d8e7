import FleetTwinMetrics
import Foundation

/// Mean and 95% confidence interval of a metric over seeds: Student's t, since a
/// comparison has a handful of seeds, not hundreds.
public struct MeanInterval: Codable, Sendable, Equatable {
    public var mean: Double
    /// Half-width of the 95% interval; nil with fewer than two values.
    public var halfWidth: Double?

    public init(_ values: [Double]) {
        let n = Double(values.count)
        mean = values.isEmpty ? 0 : values.reduce(0, +) / n
        guard values.count >= 2 else { halfWidth = nil; return }
        let variance = values.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / (n - 1)
        halfWidth = Self.t975(degreesOfFreedom: values.count - 1) * (variance / n).squareRoot()
    }

    /// The 0.975 quantile of Student's t (two-sided 95%).
    public static func t975(degreesOfFreedom df: Int) -> Double {
        let table: [Double] = [12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228,
                               2.201, 2.179, 2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086,
                               2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042]
        return df >= 1 && df <= table.count ? table[df - 1] : 1.960
    }
}

/// The metrics a comparison aggregates, in display order, and which way is better.
public enum ComparedMetric: String, CaseIterable, Sendable {
    case utilization, goodputUtilization, jctMean, jctP50, jctP95, queueDelayMean, makespan, energyKWh
    case slaPremium, slaStandard, slaBasic, preemptions, migrations, resizes, overheadSeconds
    /// Batch inference (`InferenceMetrics`): shown only when a run has inference jobs.
    case inferenceRequestsPerSecond, inferenceAcceleratorSecondsPer1k

    /// true: higher is better; false: lower is better; nil: neither (a count of events).
    public var higherIsBetter: Bool? {
        switch self {
        case .utilization, .goodputUtilization, .slaPremium, .slaStandard, .slaBasic, .inferenceRequestsPerSecond: true
        case .jctMean, .jctP50, .jctP95, .queueDelayMean, .makespan, .energyKWh, .overheadSeconds, .inferenceAcceleratorSecondsPer1k: false
        case .preemptions, .migrations, .resizes: nil
        }
    }

    public var label: String {
        switch self {
        case .utilization: "utilization (%)"
        case .goodputUtilization: "goodput (%)"
        case .jctMean: "JCT mean (s)"
        case .jctP50: "JCT p50 (s)"
        case .jctP95: "JCT p95 (s)"
        case .queueDelayMean: "queueing delay mean (s)"
        case .makespan: "makespan (s)"
        case .energyKWh: "energy (kWh)"
        case .slaPremium: "SLA premium (%)"
        case .slaStandard: "SLA standard (%)"
        case .slaBasic: "SLA basic (%)"
        case .preemptions: "preemptions"
        case .migrations: "migrations"
        case .resizes: "resizes"
        case .overheadSeconds: "mechanism overhead (s)"
        case .inferenceRequestsPerSecond: "inference requests/s"
        case .inferenceAcceleratorSecondsPer1k: "inference accel-s / 1k req"
        }
    }

    var isInference: Bool { self == .inferenceRequestsPerSecond || self == .inferenceAcceleratorSecondsPer1k }

    var isPercent: Bool { [.utilization, .goodputUtilization, .slaPremium, .slaStandard, .slaBasic].contains(self) }

    /// The metric's value in one run; nil when it does not apply (no job of that tier, no job
    /// completed or started).
    public func value(_ m: RunMetrics) -> Double? {
        switch self {
        case .utilization: m.utilization
        case .goodputUtilization: m.goodputUtilization
        case .jctMean: m.jct?.mean
        case .jctP50: m.jct?.p50
        case .jctP95: m.jct?.p95
        case .queueDelayMean: m.queueDelay?.mean
        case .makespan: m.makespan
        case .energyKWh: m.energyKWh
        case .slaPremium: m.slaAttainment.premium
        case .slaStandard: m.slaAttainment.standard
        case .slaBasic: m.slaAttainment.basic
        case .preemptions: Double(m.preemptions)
        case .migrations: Double(m.migrations)
        case .resizes: Double(m.resizes)
        case .overheadSeconds: m.overheadSeconds.total
        case .inferenceRequestsPerSecond: m.inference.flatMap { $0.completed > 0 ? $0.requestsPerSecond : nil }
        case .inferenceAcceleratorSecondsPer1k: m.inference.flatMap { $0.completed > 0 ? $0.acceleratorSecondsPer1kRequests : nil }
        }
    }
}

/// Policies x seeds of one scenario: per policy, every run and each metric's mean and 95%
/// confidence interval.
public struct PolicyComparison: Sendable {
    public struct Entry: Sendable {
        public var policy: String
        public var runs: [RunSummary]
        public var metrics: [ComparedMetric: MeanInterval]  // looked up, never iterated
        /// The scenario's goals judged over this policy's seeds.
        public var goals: [GoalVerdict] = []

        public var goalsMet: Int { goals.filter { $0.verdict == .met }.count }
        public var goalsMissed: Int { goals.filter { $0.verdict == .missed }.count }
    }

    public var comparisonId: Int64?
    public var scenario: String
    public var seeds: [UInt64]
    public var entries: [Entry]

    /// `runs[p][s]` are the metrics of policy `policies[p]` under seed `seeds[s]`.
    public init(comparisonId: Int64?, scenario: String, seeds: [UInt64], policies: [String],
                runs: [[(summary: RunSummary, metrics: RunMetrics)]], goals: [Goal] = []) {
        self.comparisonId = comparisonId
        self.scenario = scenario
        self.seeds = seeds
        entries = zip(policies, runs).map { policy, runs in
            var metrics: [ComparedMetric: MeanInterval] = [:]
            for metric in ComparedMetric.allCases {
                let values = runs.compactMap { metric.value($0.metrics) }
                if !values.isEmpty { metrics[metric] = MeanInterval(values) }
            }
            return Entry(policy: policy, runs: runs.map(\.summary), metrics: metrics,
                         goals: GoalVerdict.judge(goals, runs: runs.map(\.metrics)))
        }
    }

    /// The policy that meets the most goals (then misses the fewest; then the first listed);
    /// nil when the scenario states no goals.
    public var bestForGoals: Entry? {
        guard !(entries.first?.goals.isEmpty ?? true) else { return nil }
        return entries.enumerated().max { a, b in
            (a.element.goalsMet, -a.element.goalsMissed, -a.offset) < (b.element.goalsMet, -b.element.goalsMissed, -b.offset)
        }?.element
    }

    /// One row per goal, one column per policy: the verdict over the seeds.
    func goalTable() -> String {
        guard let best = bestForGoals else { return "" }
        let rows = [["goal"] + entries.map(\.policy)] + entries[0].goals.indices.map { g in
            [entries[0].goals[g].goal] + entries.map { $0.goals[g].verdict.rawValue }
        } + [["goals met"] + entries.map { "\($0.goalsMet) of \($0.goals.count)" }]
        let widths = rows[0].indices.map { c in rows.map { $0[c].count }.max() ?? 0 }
        let lines = rows.map { row in
            row.enumerated().map { c, cell in cell.padding(toLength: widths[c], withPad: " ", startingAt: 0) }
                .joined(separator: "   ").trimmingCharacters(in: .whitespaces)
        }
        return "goals over the seeds (met: the whole 95% interval meets the target; uncertain: it straddles it)\n\n"
            + lines.joined(separator: "\n") + "\n\nbest for the goals: "
            + (best.goalsMet > 0 ? "\(best.policy) (\(best.goalsMet) of \(best.goals.count) met)"
               : "no policy meets any goal; \(best.policy) misses the fewest (\(best.goalsMissed) of \(best.goals.count))")
    }

    /// The policies with the best mean for `metric` (all of them on a tie), when the metric
    /// has a direction and the policies differ.
    public func best(_ metric: ComparedMetric) -> [String] {
        guard let higher = metric.higherIsBetter else { return [] }
        let means = entries.compactMap { e in e.metrics[metric].map { (e.policy, $0.mean) } }
        let values = means.map(\.1)
        guard means.count > 1, let top = higher ? values.max() : values.min(), values.contains(where: { $0 != top }) else { return [] }
        return means.filter { $0.1 == top }.map(\.0)
    }

    /// One row per metric, one column per policy: "mean ± half-width", the best marked *.
    public func table() -> String {
        let header = ["metric"] + entries.map(\.policy)
        var rows: [[String]] = [header]
        for metric in ComparedMetric.allCases {
            // The inference rows only where a run has inference jobs; the others always.
            if metric.isInference && entries.allSatisfy({ $0.metrics[metric] == nil }) { continue }
            let best = best(metric)
            rows.append([metric.label] + entries.map { e in
                guard let v = e.metrics[metric] else { return "-" }
                let scale = metric.isPercent ? 100.0 : 1.0
                var text = String(format: "%.1f", v.mean * scale)
                if let h = v.halfWidth { text += String(format: " ± %.1f", h * scale) }
                return text + (best.contains(e.policy) ? " *" : "")
            })
        }
        let widths = header.indices.map { c in rows.map { $0[c].count }.max() ?? 0 }
        var lines = rows.map { row in
            row.enumerated().map { c, cell in c == 0 ? cell.padding(toLength: widths[c], withPad: " ", startingAt: 0)
                : String(repeating: " ", count: widths[c] - cell.count) + cell }.joined(separator: "   ")
        }
        lines.insert("", at: 1)
        let seedText = seeds.count == 1 ? "seed \(seeds[0])" : "seeds \(seeds.map(String.init).joined(separator: ","))"
        let goals = goalTable()
        return "\(scenario): \(entries.count) policies x \(seedText); mean ± 95% confidence half-width (Student's t), * best\n\n"
            + lines.joined(separator: "\n") + (goals.isEmpty ? "" : "\n\n" + goals)
    }

    /// `{"comparisonId", "scenario", "seeds", "policies": {NAME: {"runs": [...], "mean": {...}, "ci95": {...},
    /// "goals": [...]}}, "bestForGoals"}`.
    public func json() throws -> String {
        struct PolicyJSON: Encodable {
            var runs: [RunSummary]
            var mean: [String: Double]
            var ci95: [String: Double?]
            var goals: [GoalVerdict]
        }
        struct Root: Encodable {
            var comparisonId: Int64?
            var scenario: String
            var seeds: [UInt64]
            var policies: [String: PolicyJSON]
            /// The policy meeting the most goals; absent without goals.
            var bestForGoals: String?
        }
        var policies: [String: PolicyJSON] = [:]
        for e in entries {
            var mean: [String: Double] = [:], ci: [String: Double?] = [:]
            for metric in ComparedMetric.allCases {
                guard let v = e.metrics[metric] else { continue }
                mean[metric.rawValue] = v.mean
                ci[metric.rawValue] = v.halfWidth
            }
            policies[e.policy] = PolicyJSON(runs: e.runs, mean: mean, ci95: ci, goals: e.goals)
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(Root(comparisonId: comparisonId, scenario: scenario, seeds: seeds, policies: policies,
                                                                      bestForGoals: bestForGoals?.policy)), as: UTF8.self)
    }
}
