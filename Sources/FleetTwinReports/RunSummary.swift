/// FleetTwinReports owns how results are shown: the `--json` object of a run and the
/// human-readable summary table. It reads metrics; it never runs a simulation.
import FleetTwinMetrics
import Foundation

/// A trace job a run could not include: its id and why the fleet could never run it.
public struct SkippedJob: Codable, Sendable, Equatable {
    /// The job's id in the trace.
    public var id: String
    /// Why the fleet can never run it (see `JobFeasibility` in FleetTwinScenario).
    public var reason: String

    public init(id: String, reason: String) {
        self.id = id
        self.reason = reason
    }
}

/// The machine-readable summary of one run: the `--json` output of `fleettwin run`.
public struct RunSummary: Codable, Sendable, Equatable {
    public var scenario: String
    public var seed: UInt64
    public var policy: String
    public var runId: Int64?
    public var jobs: Int
    public var completed: Int
    public var utilization: Double
    /// Absent statistics (no job completed, none started) encode as JSON null, never 0.
    @NullEncoded public var jct: Distribution?
    @NullEncoded public var queueDelay: Distribution?
    /// Every submitted job's queueing delay, those never started counted to the end of the
    /// run (`RunMetrics.queueDelayCensored`).
    @NullEncoded public var queueDelayCensored: Distribution?
    /// Submitted jobs not completed when the run ended, waiting and running.
    public var stillWaiting: Int
    public var stillRunning: Int
    public var makespan: Double
    public var acceleratorSeconds: Double
    public var energyKWh: Double
    public var peakPowerKW: Double
    public var goodputUtilization: Double
    public var preemptions: Int
    public var migrations: Int
    public var resizes: Int
    public var checkpoints: Int
    public var failures: Int
    public var lostWorkSeconds: Double
    /// Accelerator-seconds idle while a waiting job's gang fit them (reservations included).
    public var idleWhileWaitingAcceleratorSeconds: Double
    /// Random node (and accelerator) failures, nodes taken down by outages, node-seconds down.
    public var nodeFailures: Int
    public var outageNodeFailures: Int
    public var nodeDowntimeSeconds: Double
    public var overheadSeconds: MechanismOverhead
    public var slaAttainment: TierValues
    public var queueDelayByTier: TierValues
    public var capacity: Int
    public var processedEvents: Int
    public var eventLogHash: String
    public var horizonReached: Bool
    /// Trace jobs the fleet could never run (`skipped` lists them).
    public var skippedJobs: Int
    /// The skipped trace jobs, in trace order, with the reason (the rule a scenario's `jobs:`
    /// list is refused by); absent when none was skipped.
    public var skipped: [SkippedJob]?
    /// Batch-inference jobs only: requests served, requests per second, accelerator-seconds
    /// per 1,000 requests (`InferenceMetrics`); absent when the run has none.
    public var inference: InferenceMetrics?
    /// Jobs with deadlines and jobs the policy declined: accepted, declined, the satisfaction
    /// ratio accepted / (accepted + declined), deadlines met by completed jobs
    /// (`DeadlineMetrics`); absent when no job has a deadline and none was declined.
    public var deadlines: DeadlineMetrics?
    /// The scenario's goals judged on this run (empty when it states none).
    public var goals: [GoalVerdict] = []
    /// Real workloads only: how many results were checked, how many were identical.
    public var resultsVerified: ResultsVerified?
    /// Real workloads only: per-job results and each kind's analysis.
    public var workloads: WorkloadResults? {
        didSet { resultsVerified = workloads?.verified }
    }

    public init(scenario: String, seed: UInt64, policy: String, runId: Int64?, metrics: RunMetrics,
                processedEvents: Int, eventLogHash: String, horizonReached: Bool, skippedJobs: Int = 0) {
        self.skippedJobs = skippedJobs
        self.scenario = scenario
        self.seed = seed
        self.policy = policy
        self.runId = runId
        self.jobs = metrics.jobsSubmitted
        self.completed = metrics.jobsCompleted
        self.utilization = metrics.utilization
        self.jct = metrics.jct
        self.queueDelay = metrics.queueDelay
        self.queueDelayCensored = metrics.queueDelayCensored
        self.stillWaiting = metrics.stillWaiting
        self.stillRunning = metrics.stillRunning
        self.makespan = metrics.makespan
        self.acceleratorSeconds = metrics.acceleratorSeconds
        self.energyKWh = metrics.energyKWh
        self.peakPowerKW = metrics.peakPowerKW
        self.goodputUtilization = metrics.goodputUtilization
        self.preemptions = metrics.preemptions
        self.migrations = metrics.migrations
        self.resizes = metrics.resizes
        self.checkpoints = metrics.checkpoints
        self.failures = metrics.failures
        self.lostWorkSeconds = metrics.lostWorkSeconds
        self.idleWhileWaitingAcceleratorSeconds = metrics.idleWhileWaitingAcceleratorSeconds
        self.nodeFailures = metrics.nodeFailures
        self.outageNodeFailures = metrics.outageNodeFailures
        self.nodeDowntimeSeconds = metrics.nodeDowntimeSeconds
        self.overheadSeconds = metrics.overheadSeconds
        self.slaAttainment = metrics.slaAttainment
        self.queueDelayByTier = metrics.queueDelayByTier
        self.capacity = metrics.capacity
        self.processedEvents = processedEvents
        self.eventLogHash = eventLogHash
        self.horizonReached = horizonReached
        self.inference = metrics.inference
        self.deadlines = metrics.deadlines
    }

    /// One JSON object, keys sorted, so equal runs print equal bytes.
    public func json() throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(self), as: UTF8.self)
    }

    /// A summary table for people.
    public func table() -> String {
        var rows: [(String, String)] = [
            ("scenario", scenario), ("policy", policy), ("seed", String(seed)),
            ("jobs submitted", String(jobs)), ("jobs completed", String(completed) + (horizonReached ? " (horizon reached)" : "")),
            ("accelerators", String(capacity)),
            ("utilization", String(format: "%.1f%% (goodput %.1f%%)", utilization * 100, goodputUtilization * 100)),
            ("makespan", duration(makespan)),
            ("energy", String(format: "%.1f kWh (peak %.1f kW)", energyKWh, peakPowerKW)),
            ("SLA attained", [("premium", slaAttainment.premium), ("standard", slaAttainment.standard), ("basic", slaAttainment.basic)]
                .compactMap { tier, value in value.map { String(format: "%@ %.0f%%", tier, $0 * 100) } }.joined(separator: ", ")
                .replacingOccurrences(of: "^$", with: "none (no job completed)", options: .regularExpression)),
            ("mechanisms", "\(preemptions) preemptions, \(migrations) migrations, \(resizes) resizes, \(checkpoints) checkpoints"
                + String(format: " (%@ of overhead)", duration(overheadSeconds.total))),
        ]
        rows.append(("idle while job fit", String(format: "%@ accelerator time (%.2f%% of the time allocated)",
                                                     duration(idleWhileWaitingAcceleratorSeconds),
                                                     acceleratorSeconds > 0 ? idleWhileWaitingAcceleratorSeconds / acceleratorSeconds * 100 : 0)))
        if nodeFailures + outageNodeFailures > 0 {
            rows.append(("node failures", "\(nodeFailures) random, \(outageNodeFailures) by outages, "
                         + duration(nodeDowntimeSeconds) + " of node downtime"))
        }
        if skippedJobs > 0 {
            let shown = (skipped ?? []).prefix(3).map { "\($0.id): \($0.reason)" }
            rows.append(("jobs skipped", "\(skippedJobs), never runnable on this fleet" + (shown.isEmpty ? "" : " (" + shown.joined(separator: "; ")
                + (skippedJobs > shown.count ? "; ..." : "") + ")")))
        }
        if let inference {
            rows.append(("batch inference", String(format: "%lld requests served by %d of %d jobs, %.1f requests/s per job, %.3f accelerator-s per 1k requests",
                                                   inference.requestsServed, inference.completed, inference.jobs,
                                                   inference.requestsPerSecond, inference.acceleratorSecondsPer1kRequests)))
        }
        if let deadlines {
            rows.append(("deadlines", String(format: "%d accepted, %d declined (satisfaction %.3f); %d of %d completed met their deadline",
                                             deadlines.accepted, deadlines.declined, deadlines.satisfactionRatio, deadlines.met, deadlines.completed)))
        }
        if failures > 0 {
            rows.append(("failures", "\(failures) jobs restarted from a checkpoint, " + duration(lostWorkSeconds) + " of work lost"))
        }
        for (k, verdict) in goals.enumerated() {
            rows.append((k == 0 ? "goals" : "", verdict.line))
        }
        if stillWaiting + stillRunning > 0 {
            rows.append(("unfinished at end", "\(stillWaiting) waiting, \(stillRunning) running"))
        }
        rows.append(("", ""))
        let header = ("", "mean        p50         p95         p99")
        func line(_ d: Distribution?) -> String {
            guard let d else { return "none" }
            return [d.mean, d.p50, d.p95, d.p99].map { duration($0).padding(toLength: 12, withPad: " ", startingAt: 0) }
                .joined().trimmingCharacters(in: .whitespaces)
        }
        rows += [header, ("job completion time", line(jct)), ("queueing delay", line(queueDelay))]
        if queueDelayCensored != queueDelay {
            // Some job never started: the delays above are of started jobs only.
            rows.append(("queueing, censored", line(queueDelayCensored) + "  (never-started jobs counted to the end)"))
        }
        rows.append(("", ""))
        rows += [("events processed", String(processedEvents)), ("event log hash", eventLogHash)]
        if let runId { rows.append(("stored as run", String(runId))) }
        let width = rows.map(\.0.count).max() ?? 0
        let table = rows.map { $0.0.isEmpty && $0.1.isEmpty ? "" : $0.0.padding(toLength: width, withPad: " ", startingAt: 0) + "  " + $0.1 }
            .joined(separator: "\n")
        return workloads.map { table + "\n\n" + $0.text() } ?? table
    }
}

/// `3d4h`, `2h05m`, `4m07s`, `12.3s`: compact and unit-bearing.
public func duration(_ seconds: Double) -> String {
    if seconds < 60 { return String(format: "%.1fs", seconds) }
    let s = Int(seconds.rounded())
    if s < 3600 { return String(format: "%dm%02ds", s / 60, s % 60) }
    if s < 86_400 { return String(format: "%dh%02dm", s / 3600, s % 3600 / 60) }
    return String(format: "%dd%02dh", s / 86_400, s % 86_400 / 3600)
}

/// Encodes an absent value as an explicit JSON `null` instead of leaving its key out, so a
/// reader of `--json` sees that a statistic is absent rather than guessing from a missing key.
@propertyWrapper
public struct NullEncoded<Value: Codable & Sendable & Equatable>: Codable, Sendable, Equatable {
    public var wrappedValue: Value?

    public init(wrappedValue: Value?) { self.wrappedValue = wrappedValue }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        wrappedValue = container.decodeNil() ? nil : try container.decode(Value.self)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        if let wrappedValue { try container.encode(wrappedValue) } else { try container.encodeNil() }
    }
}

extension KeyedDecodingContainer {
    /// A missing key reads as absent, as for a plain optional.
    public func decode<Value>(_ type: NullEncoded<Value>.Type, forKey key: Key) throws -> NullEncoded<Value> {
        try decodeIfPresent(type, forKey: key) ?? NullEncoded(wrappedValue: nil)
    }
}
