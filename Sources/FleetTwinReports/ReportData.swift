/// What reports show, as plain values: the CLI fills these from the results store, so
/// FleetTwinReports never opens a database and never runs a simulation.
import FleetTwinMetrics

/// A stored run's identity and headline metrics: one row of `fleettwin runs`, the object
/// of `fleettwin show --json`.
public struct RunInfo: Codable, Sendable, Equatable {
    public var id: Int64
    public var scenario: String
    public var scenarioFile: String
    public var scenarioHash: String
    public var policy: String
    public var seed: UInt64
    public var status: String
    public var version: String
    public var eventLogHash: String
    public var capacity: Int
    public var processedEvents: Int
    /// Rows in the events table: 0 when the run was stored with `outputs.event_log: false`.
    public var storedEvents: Int
    /// The last simulated instant, seconds.
    public var endTime: Double
    /// Metrics by name, as stored; printed in sorted order.
    public var metrics: [String: Double]

    public init(id: Int64, scenario: String, scenarioFile: String, scenarioHash: String, policy: String, seed: UInt64,
                status: String, version: String, eventLogHash: String, capacity: Int, processedEvents: Int,
                storedEvents: Int, endTime: Double, metrics: [String: Double]) {
        self.id = id
        self.scenario = scenario
        self.scenarioFile = scenarioFile
        self.scenarioHash = scenarioHash
        self.policy = policy
        self.seed = seed
        self.status = status
        self.version = version
        self.eventLogHash = eventLogHash
        self.capacity = capacity
        self.processedEvents = processedEvents
        self.storedEvents = storedEvents
        self.endTime = endTime
        self.metrics = metrics
    }

    /// Every field as stored; statistics the run could not have (`MetricFormat.statistics`:
    /// JCT with no job completed, queueing delay with none started) appear as null.
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(id, forKey: .id)
        try c.encode(scenario, forKey: .scenario)
        try c.encode(scenarioFile, forKey: .scenarioFile)
        try c.encode(scenarioHash, forKey: .scenarioHash)
        try c.encode(policy, forKey: .policy)
        try c.encode(seed, forKey: .seed)
        try c.encode(status, forKey: .status)
        try c.encode(version, forKey: .version)
        try c.encode(eventLogHash, forKey: .eventLogHash)
        try c.encode(capacity, forKey: .capacity)
        try c.encode(processedEvents, forKey: .processedEvents)
        try c.encode(storedEvents, forKey: .storedEvents)
        try c.encode(endTime, forKey: .endTime)
        var reported: [String: Double?] = metrics.mapValues { $0 }
        for name in MetricFormat.statistics where reported[name] == nil { reported[name] = .some(nil) }
        try c.encode(reported, forKey: .metrics)
    }

    /// How the run is named in legends: `run 2 · fifo · seed 7`.
    public var label: String { "run \(id) · \(policy) · seed \(seed)" }
}

/// A value at a point of virtual time (seconds).
public struct TimePoint: Sendable, Equatable {
    public var time: Double
    public var value: Double

    public init(time: Double, value: Double) {
        self.time = time
        self.value = value
    }
}

/// Everything the HTML report draws for one run.
public struct ReportRun: Sendable, Equatable {
    public var info: RunInfo
    public var scenarioText: String
    /// Utilization buckets: start time and allocated fraction; each lasts until the next.
    public var utilization: [TimePoint]
    /// Where the last utilization bucket ends (first arrival + makespan), seconds.
    public var utilizationEnd: Double
    /// Submit-to-completion time of every completed job, seconds, in job order.
    public var completionTimes: [Double]
    /// Nil when the run was stored without its event log.
    public var queueLength: [QueueLengthPoint]?
    /// The scenario's goals with this run's value of each (nil: none).
    public var goals: [StoredGoal] = []
    /// The run's real workloads, as stored (nil: it had none, or was stored by a version that
    /// did not keep them): the science section draws each kind's jobs and analysis.
    public var workloads: WorkloadResults?

    public init(info: RunInfo, scenarioText: String, utilization: [TimePoint], utilizationEnd: Double,
                completionTimes: [Double], queueLength: [QueueLengthPoint]?, goals: [StoredGoal] = [],
                workloads: WorkloadResults? = nil) {
        self.goals = goals
        self.workloads = workloads
        self.info = info
        self.scenarioText = scenarioText
        self.utilization = utilization
        self.utilizationEnd = utilizationEnd
        self.completionTimes = completionTimes
        self.queueLength = queueLength
    }
}

/// A goal and one run's value of its metric.
public struct StoredGoal: Sendable, Equatable {
    public var goal: Goal
    public var value: Double?

    public init(goal: Goal, value: Double?) {
        self.goal = goal
        self.value = value
    }
}

/// The runs of one report, in the order they were asked for.
public struct ReportData: Sendable, Equatable {
    public var runs: [ReportRun]

    public init(runs: [ReportRun]) {
        self.runs = runs
    }
}
