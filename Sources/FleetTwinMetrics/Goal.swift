import FleetTwinScheduling

/// A target a platform team sets on a run's metrics: `utilization >= 0.80`,
/// `sla.premium >= 0.99`, `queueing_delay.p95 <= 1h`. Scenarios state them in `goals:`
/// (Scenarios/README.md); `GoalVerdict` (FleetTwinReports) judges them over seeds.
public struct Goal: Sendable, Equatable {
    public enum Comparison: String, Sendable, CaseIterable {
        case atLeast = ">=", atMost = "<=", greater = ">", less = "<"

        /// Whether `value` satisfies the comparison with `target`.
        public func holds(_ value: Double, _ target: Double) -> Bool {
            switch self {
            case .atLeast: value >= target
            case .atMost: value <= target
            case .greater: value > target
            case .less: value < target
            }
        }
    }

    public var metric: GoalMetric
    public var comparison: Comparison
    /// In the metric's unit (`GoalMetric.Unit`): a fraction, seconds, kWh, kW or a count.
    public var target: Double

    public init(metric: GoalMetric, comparison: Comparison, target: Double) {
        self.metric = metric
        self.comparison = comparison
        self.target = target
    }
}

/// A statistic of a distribution a goal can name.
public enum GoalStatistic: String, Sendable, CaseIterable {
    case mean, p50, p95, p99, max

    func value(_ d: Distribution) -> Double {
        switch self {
        case .mean: d.mean
        case .p50: d.p50
        case .p95: d.p95
        case .p99: d.p99
        case .max: d.max
        }
    }
}

/// The metrics a goal can name: the run's reported figures, per tier where they have tiers,
/// and per job where a count grows with the workload.
public enum GoalMetric: Sendable, Equatable, Hashable {
    case utilization, goodputUtilization
    /// Share of the tier's completed jobs that met the tier's SLA target.
    case sla(SLATier)
    case queueingDelay(GoalStatistic)
    /// Queueing delay with never-started jobs counted to the end (`queueDelayCensored`).
    case queueingDelayCensored(GoalStatistic)
    case jct(GoalStatistic)
    case makespan
    /// Lost work / the work of every submitted job (both full-size job time).
    case lostWorkShare
    case energyKWh, peakPowerKW
    case preemptionsPerJob, migrationsPerJob, resizesPerJob
    /// Completed jobs / submitted jobs.
    case completedShare
    /// Batch inference's accelerator-seconds per 1,000 requests served
    /// (`InferenceMetrics.acceleratorSecondsPer1kRequests`).
    case inferenceCostPer1kRequests
    /// Jobs with a deadline that completed by it / submitted jobs with a deadline (declined
    /// and unfinished ones missed it; `DeadlineMetrics.met` / `.jobs`).
    case deadlinesMetShare
    /// ElasticFlow's `ddl_satis_ratio`: accepted / (accepted + declined)
    /// (`DeadlineMetrics.satisfactionRatio`; EF `scheduler.py`, research/policies.md section 15).
    case deadlineSatisfactionRatio

    /// How a metric's values are written and shown.
    public enum Unit: Sendable {
        /// 0-1; targets may be written as `0.8` or `80%`.
        case fraction
        /// Seconds; targets are durations (`1h`, `90s`).
        case duration
        case number
    }

    /// Every metric, in the order documentation lists them.
    public static let all: [GoalMetric] = {
        var all: [GoalMetric] = [.utilization, .goodputUtilization]
        all += SLATier.allCases.map { GoalMetric.sla($0) }
        all += GoalStatistic.allCases.map { GoalMetric.queueingDelay($0) }
        all += GoalStatistic.allCases.map { GoalMetric.queueingDelayCensored($0) }
        all += GoalStatistic.allCases.map { GoalMetric.jct($0) }
        all += [.makespan, .lostWorkShare, .energyKWh, .peakPowerKW, .preemptionsPerJob, .migrationsPerJob, .resizesPerJob, .completedShare,
                .inferenceCostPer1kRequests, .deadlinesMetShare, .deadlineSatisfactionRatio]
        return all
    }()

    /// The name a scenario's `goals:` uses: the scenario's own spelling of the metric.
    public var name: String {
        switch self {
        case .utilization: "utilization"
        case .goodputUtilization: "goodput_utilization"
        case .sla(let tier): "sla.\(tier.rawValue)"
        case .queueingDelay(let s): "queueing_delay.\(s.rawValue)"
        case .queueingDelayCensored(let s): "queueing_delay_censored.\(s.rawValue)"
        case .jct(let s): "jct.\(s.rawValue)"
        case .makespan: "makespan"
        case .lostWorkShare: "lost_work_share"
        case .energyKWh: "energy_kwh"
        case .peakPowerKW: "peak_power_kw"
        case .preemptionsPerJob: "preemptions_per_job"
        case .migrationsPerJob: "migrations_per_job"
        case .resizesPerJob: "resizes_per_job"
        case .completedShare: "completed_share"
        case .inferenceCostPer1kRequests: "inference.accelerator_seconds_per_1k_requests"
        case .deadlinesMetShare: "deadlines.met_share"
        case .deadlineSatisfactionRatio: "deadlines.satisfaction_ratio"
        }
    }

    public static func named(_ name: String) -> GoalMetric? { all.first { $0.name == name } }

    public var unit: Unit {
        switch self {
        case .utilization, .goodputUtilization, .sla, .lostWorkShare, .completedShare, .deadlinesMetShare, .deadlineSatisfactionRatio: .fraction
        case .queueingDelay, .queueingDelayCensored, .jct, .makespan: .duration
        case .energyKWh, .peakPowerKW, .preemptionsPerJob, .migrationsPerJob, .resizesPerJob, .inferenceCostPer1kRequests: .number
        }
    }

    /// The metric's value in one run; nil when the run has none (no job of the tier
    /// completed, no job completed or started, nothing submitted, no job with a deadline).
    public func value(_ m: RunMetrics) -> Double? {
        func perJob(_ count: Int) -> Double? { m.jobsSubmitted > 0 ? Double(count) / Double(m.jobsSubmitted) : nil }
        switch self {
        case .utilization: return m.utilization
        case .goodputUtilization: return m.goodputUtilization
        case .sla(let tier): return m.slaAttainment[tier]
        case .queueingDelay(let s): return m.queueDelay.map(s.value)
        case .queueingDelayCensored(let s): return m.queueDelayCensored.map(s.value)
        case .jct(let s): return m.jct.map(s.value)
        case .makespan: return m.makespan
        case .lostWorkShare: return m.submittedWorkSeconds > 0 ? m.lostWorkSeconds / m.submittedWorkSeconds : nil
        case .energyKWh: return m.energyKWh
        case .peakPowerKW: return m.peakPowerKW
        case .preemptionsPerJob: return perJob(m.preemptions)
        case .migrationsPerJob: return perJob(m.migrations)
        case .resizesPerJob: return perJob(m.resizes)
        case .completedShare: return perJob(m.jobsCompleted)
        case .inferenceCostPer1kRequests:
            return m.inference.flatMap { $0.requestsServed > 0 ? $0.acceleratorSecondsPer1kRequests : nil }
        case .deadlinesMetShare:
            return m.deadlines.flatMap { $0.jobs > 0 ? Double($0.met) / Double($0.jobs) : nil }
        case .deadlineSatisfactionRatio:
            return m.deadlines.flatMap { $0.accepted + $0.declined > 0 ? $0.satisfactionRatio : nil }
        }
    }
}
