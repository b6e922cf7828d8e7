import FleetTwinMetrics
import Foundation

/// How closely a replay reproduces a recorded schedule job by job (`replay --compare-recorded`
/// on a trace with recorded starts, such as `import slurm-sacct`): per-job start-time errors,
/// makespan and mean wait, and the share of jobs whose backfill and preemption decisions match.
/// Times are seconds; an error is simulated minus recorded.
///
/// A job was *backfilled* when it started while a job ahead of it in the scheduler's order
/// (higher recorded priority, or equal priority and submitted earlier) had been submitted and
/// was still waiting; it was *preempted* when it ran more than once (a requeue). `preempted`
/// counts jobs (one preempted twice is one); `preemptions` counts the requeues themselves,
/// every run after a job's first, as the run summary's "preemptions" does: the output names
/// which is which.
public struct ScheduleFidelity: Codable, Sendable, Equatable {
    public struct JobStart: Codable, Sendable, Equatable {
        public var id: String
        public var recordedStart: Double
        public var simulatedStart: Double
        public var error: Double
    }

    /// One job's recorded and simulated schedule, times from the trace's origin.
    public struct Input: Sendable {
        public var id: String
        public var submit: Double
        /// Higher first; ties by `submit` then input order.
        public var priority: Int64
        public var recorded: (start: Double, end: Double, runs: Int)
        public var simulated: (start: Double, end: Double, runs: Int)
        /// The submission on the simulated side's clock when it differs from `submit` (a second
        /// recorded run of the workload, `fleettwin repeatability`); nil: the same.
        public var simulatedSubmit: Double?

        public init(id: String, submit: Double, priority: Int64, recorded: (start: Double, end: Double, runs: Int),
                    simulated: (start: Double, end: Double, runs: Int), simulatedSubmit: Double? = nil) {
            self.id = id
            self.submit = submit
            self.priority = priority
            self.recorded = recorded
            self.simulated = simulated
            self.simulatedSubmit = simulatedSubmit
        }
    }

    public var jobs: Int
    /// |error| over the jobs, and its 90th percentile (nearest rank).
    public var absoluteStartError: Distribution
    public var absoluteStartErrorP90: Double
    public var meanWait: Pair
    public var makespan: Pair
    /// Share of job pairs started in the same order in both (a tie counts as agreeing only
    /// with a tie): 1 is the recorded order exactly.
    public var startOrderAgreement: Double
    public var backfilled: Decisions
    /// Jobs preempted at least once.
    public var preempted: Decisions
    /// Preemptions (requeues): every run after a job's first, over the compared jobs.
    public var preemptions: Counts
    public var starts: [JobStart]

    public struct Counts: Codable, Sendable, Equatable {
        public var recorded: Int
        public var simulated: Int

        public init(recorded: Int, simulated: Int) {
            self.recorded = recorded
            self.simulated = simulated
        }
    }

    public struct Pair: Codable, Sendable, Equatable {
        public var recorded: Double
        public var simulated: Double
        /// (simulated - recorded) / recorded; nil when recorded is 0.
        @NullEncoded public var relativeError: Double?
    }

    public struct Decisions: Codable, Sendable, Equatable {
        public var recorded: Int
        public var simulated: Int
        /// Jobs marked in both.
        public var both: Int
        /// Share of all jobs whose mark agrees (marked in both or in neither).
        public var matchedShare: Double
    }

    public init?(_ inputs: [Input]) {
        guard !inputs.isEmpty else { return nil }
        jobs = inputs.count
        starts = inputs.map { JobStart(id: $0.id, recordedStart: $0.recorded.start, simulatedStart: $0.simulated.start,
                                       error: $0.simulated.start - $0.recorded.start) }
        let absolute = starts.map { abs($0.error) }
        absoluteStartError = Distribution(seconds: absolute)!
        let sorted = absolute.sorted()
        absoluteStartErrorP90 = Distribution.nearestRank(sorted, 0.9)!
        func pair(_ r: Double, _ s: Double) -> Pair { Pair(recorded: r, simulated: s, relativeError: r == 0 ? nil : (s - r) / r) }
        let n = Double(inputs.count)
        meanWait = pair(inputs.reduce(0) { $0 + $1.recorded.start - $1.submit } / n,
                        inputs.reduce(0) { $0 + $1.simulated.start - ($1.simulatedSubmit ?? $1.submit) } / n)
        let origin = inputs.map(\.submit).min()!, simulatedOrigin = inputs.map { $0.simulatedSubmit ?? $0.submit }.min()!
        makespan = pair(inputs.map(\.recorded.end).max()! - origin, inputs.map(\.simulated.end).max()! - simulatedOrigin)
        var pairs = 0, agreeing = 0
        for a in inputs.indices {
            for b in inputs.indices where b > a {
                pairs += 1
                let r = inputs[a].recorded.start - inputs[b].recorded.start, s = inputs[a].simulated.start - inputs[b].simulated.start
                if (r < 0) == (s < 0) && (r > 0) == (s > 0) { agreeing += 1 }
            }
        }
        startOrderAgreement = pairs == 0 ? 1 : Double(agreeing) / Double(pairs)
        // Ahead-of order: priority, then submission, then input order.
        let ahead: [[Int]] = inputs.indices.map { j in
            inputs.indices.filter { k in
                k != j && (inputs[k].priority, -inputs[k].submit, -k) > (inputs[j].priority, -inputs[j].submit, -j)
            }
        }
        func marks(_ times: (Input) -> (start: Double, end: Double, runs: Int)) -> [Bool] {
            inputs.indices.map { j in
                let start = times(inputs[j]).start
                return ahead[j].contains { k in inputs[k].submit <= start && times(inputs[k]).start > start }
            }
        }
        func decisions(_ r: [Bool], _ s: [Bool]) -> Decisions {
            let agree = zip(r, s).filter { $0 == $1 }.count
            return Decisions(recorded: r.filter { $0 }.count, simulated: s.filter { $0 }.count,
                             both: zip(r, s).filter { $0 && $1 }.count, matchedShare: Double(agree) / n)
        }
        backfilled = decisions(marks { $0.recorded }, marks { $0.simulated })
        preempted = decisions(inputs.map { $0.recorded.runs > 1 }, inputs.map { $0.simulated.runs > 1 })
        preemptions = Counts(recorded: inputs.reduce(0) { $0 + max(0, $1.recorded.runs - 1) },
                             simulated: inputs.reduce(0) { $0 + max(0, $1.simulated.runs - 1) })
    }

    /// The figures and the per-job starts as text; `labels` name the two sides (a replay's:
    /// recorded and simulated).
    public func table(labels: (recorded: String, simulated: String) = ("recorded", "simulated")) -> String {
        let (r, s) = labels
        func pct(_ x: Double?) -> String { x.map { String(format: "%+.1f%%", $0 * 100) } ?? "n/a" }
        func row(_ name: String, _ p: Pair) -> String {
            name.padding(toLength: 22, withPad: " ", startingAt: 0) + String(format: "\(r) %.1f s, \(s) %.1f s (%@)", p.recorded, p.simulated, pct(p.relativeError))
        }
        func decisions(_ name: String, _ d: Decisions) -> String {
            name.padding(toLength: 22, withPad: " ", startingAt: 0)
                + String(format: "\(r) %d, \(s) %d, both %d; %.0f%% of jobs agree", d.recorded, d.simulated, d.both, d.matchedShare * 100)
        }
        var lines = [
            "schedule fidelity over \(jobs) jobs (error = \(s) - \(r) start)",
            "start-time |error|".padding(toLength: 22, withPad: " ", startingAt: 0)
                + String(format: "mean %.1f s, p50 %.1f s, p90 %.1f s, max %.1f s", absoluteStartError.mean, absoluteStartError.p50,
                         absoluteStartErrorP90, absoluteStartError.max),
            row("mean wait", meanWait), row("makespan", makespan),
            "start order".padding(toLength: 22, withPad: " ", startingAt: 0)
                + String(format: "%.0f%% of job pairs start in the \(r == "recorded" ? r : "\(r) run's") order", startOrderAgreement * 100),
            decisions("backfilled jobs", backfilled), decisions("preempted jobs", preempted),
            "preemptions".padding(toLength: 22, withPad: " ", startingAt: 0)
                + "\(r) \(preemptions.recorded), \(s) \(preemptions.simulated) (requeues: runs after a job's first)",
            "", "job".padding(toLength: 14, withPad: " ", startingAt: 0)
                + "\(r) start".leftPadded(14) + "  " + "\(s) start".leftPadded(15) + "  error",
        ]
        for job in starts {
            lines.append(job.id.padding(toLength: 14, withPad: " ", startingAt: 0)
                         + String(format: "%14.1f  %15.1f  %+5.1f", job.recordedStart, job.simulatedStart, job.error))
        }
        return lines.joined(separator: "\n")
    }
}

extension String {
    fileprivate func leftPadded(_ width: Int) -> String { count >= width ? self : String(repeating: " ", count: width - count) + self }
}
