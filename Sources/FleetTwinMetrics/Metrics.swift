/// FleetTwinMetrics owns what a run measured. Every metric is a fold over the event log
/// (`RunMetrics.fold`), so a stored or replayed log gives identical metrics and a new
/// metric needs no change to the simulation.
import FleetTwinEngine
import FleetTwinScheduling

/// Mean and nearest-rank percentiles of a sample, in seconds. An empty sample has no
/// distribution (`init?(seconds:)` is nil): a statistic of nothing is absent, never 0.
public struct Distribution: Sendable, Equatable, Codable {
    public var mean: Double
    public var p50: Double
    public var p95: Double
    public var p99: Double
    /// The largest value.
    public var max: Double

    /// Percentiles by nearest rank on the sorted sample: always a value that occurred. Nil for
    /// an empty sample.
    public init?(seconds values: [Double]) {
        guard !values.isEmpty else { return nil }
        let sorted = values.sorted()
        func rank(_ p: Double) -> Double { Self.nearestRank(sorted, p)! }
        self.init(mean: sorted.reduce(0, +) / Double(sorted.count), p50: rank(0.50), p95: rank(0.95), p99: rank(0.99),
                  max: sorted[sorted.count - 1])
    }

    /// The `p` quantile (0-1) of an ascending sample by nearest rank, a value that occurred;
    /// nil for an empty sample.
    public static func nearestRank(_ sorted: [Double], _ p: Double) -> Double? {
        guard !sorted.isEmpty else { return nil }
        return sorted[Swift.max(0, Swift.min(sorted.count - 1, Int((p * Double(sorted.count)).rounded(.up)) - 1))]
    }

    public init(mean: Double, p50: Double, p95: Double, p99: Double, max: Double) {
        self.mean = mean
        self.p50 = p50
        self.p95 = p95
        self.p99 = p99
        self.max = max
    }
}

/// One job's life, measured from the log. Times are absolute virtual times.
public struct JobOutcome: Sendable, Equatable {
    public var index: Int32
    public var submit: VirtualTime
    public var firstStart: VirtualTime?
    public var end: VirtualTime?
    /// Microseconds x accelerators held, over every run of the job.
    public var acceleratorMicroseconds: Int64
    public var starts: Int
    /// Energy its accelerators drew while it held them (busy power of their type).
    public var energyKWh: Double
    /// Ideal time (uninterrupted at full size on the type it first ran on) / actual time
    /// from first start to end; nil until it completes.
    public var achievedFraction: Double?

    public var queueDelay: VirtualTime? { firstStart.map { $0 - submit } }
    public var completionTime: VirtualTime? { end.map { $0 - submit } }
    public var acceleratorSeconds: Double { Double(acceleratorMicroseconds) / 1e6 }
}

/// One bucket of the fleet's time series: the fraction allocated and the mean power drawn
/// (busy accelerators at busy power, the rest at idle power).
public struct UtilizationPoint: Sendable, Equatable, Codable {
    public var start: Double
    public var utilization: Double
    public var powerKW: Double
}

/// One value per SLA tier; nil where the run had no such job.
public struct TierValues: Sendable, Equatable, Codable {
    public var premium: Double?
    public var standard: Double?
    public var basic: Double?

    public init(premium: Double? = nil, standard: Double? = nil, basic: Double? = nil) {
        self.premium = premium
        self.standard = standard
        self.basic = basic
    }

    public subscript(tier: SLATier) -> Double? {
        get { [premium, standard, basic][tier.rank] }
        set {
            switch tier {
            case .premium: premium = newValue
            case .standard: standard = newValue
            case .basic: basic = newValue
            }
        }
    }
}

/// Seconds of job time spent in each mechanism instead of progressing.
public struct MechanismOverhead: Sendable, Equatable, Codable {
    /// Dumps of preempted jobs.
    public var preemption: Double = 0
    /// Restores when a preempted or failed job resumes, and batch inference's weight loads.
    public var restore: Double = 0
    /// Dump, upload, download and restore of migrations.
    public var migration: Double = 0
    /// Copying state onto devices a job grew onto; with `RestartCost.elasticFlowEvents`, the
    /// per-event pauses too (ElasticFlow's scaling overhead).
    public var resize: Double = 0
    /// Pauses for periodic checkpoints.
    public var checkpoint: Double = 0
    /// Time-slicing cost beyond the ideal of replicas sharing a device.
    public var splicing: Double = 0

    public var total: Double { preemption + restore + migration + resize + checkpoint + splicing }
}

/// The headline figures of a run.
public struct RunMetrics: Sendable, Equatable {
    public var jobsSubmitted: Int
    public var jobsCompleted: Int
    /// Allocated accelerator-seconds / (capacity x span from first arrival to last completion).
    public var utilization: Double
    /// Completion times of the jobs that completed; nil when none did.
    public var jct: Distribution?
    /// Queueing delay (submit to first start) of the jobs that started; nil when none did.
    public var queueDelay: Distribution?
    /// Queueing delay of every submitted job, a job that never started counted at its wait
    /// until the end of the run: a right-censored lower bound, which a horizon that cuts
    /// the queue short would otherwise hide. Equal to `queueDelay` when every job started.
    public var queueDelayCensored: Distribution?
    /// Jobs submitted but not completed at the end of the run: waiting (never started, or
    /// preempted or failed and not yet restarted) and running (holding a placement, or
    /// migrating between two).
    public var stillWaiting: Int
    public var stillRunning: Int
    /// First arrival to last completion, seconds.
    public var makespan: Double
    public var acceleratorSeconds: Double
    public var capacity: Int
    public var utilizationInterval: Double
    public var utilizationSeries: [UtilizationPoint]
    /// Fleet energy over the span (first arrival to last completion), kWh.
    public var energyKWh: Double
    /// The highest bucket-averaged fleet power, kW.
    public var peakPowerKW: Double
    /// Accelerator-seconds that made progress (at the ideal rate of the hardware they ran
    /// on) / (capacity x span): utilization without mechanism overheads.
    public var goodputUtilization: Double
    public var preemptions: Int
    public var migrations: Int
    public var resizes: Int
    public var checkpoints: Int
    /// Jobs hit by a failure (each restart from a checkpoint counts once).
    public var failures: Int
    /// Full-size work lost to failures: progress since each failed job's last checkpoint.
    public var lostWorkSeconds: Double
    /// Full-size work of every submitted job, seconds: the denominator of lost-work shares.
    public var submittedWorkSeconds: Double = 0
    /// Accelerator-seconds idle while some waiting job's gang fit them under the placement
    /// rule (`SimulationResult.idleWhileWaitingAcceleratorSeconds`; not folded from the log).
    public var idleWhileWaitingAcceleratorSeconds: Double = 0
    /// Random node (and accelerator) failures, nodes taken down by outages, and node-seconds
    /// out of service (a node still down at the end counted to the end), folded from the
    /// log's node events.
    public var nodeFailures = 0
    public var outageNodeFailures = 0
    public var nodeDowntimeSeconds: Double = 0
    public var overheadSeconds: MechanismOverhead
    /// Share of completed jobs per tier whose achieved fraction met the tier's target.
    public var slaAttainment: TierValues
    /// Completed jobs per tier, and how many met their target.
    public var slaJobs: TierValues
    public var slaMet: TierValues
    /// Mean queueing delay per tier, seconds.
    public var queueDelayByTier: TierValues
    public var jobs: [JobOutcome]
    /// The batch-inference jobs' figures; nil when the run has none.
    public var inference: InferenceMetrics? = nil
    /// Deadline figures (admission and deadlines met); nil when no job has a deadline and
    /// the policy declined none.
    public var deadlines: DeadlineMetrics? = nil
}

/// What happened to jobs with deadlines (`JobSpec.deadline`) and to jobs a policy declined.
///
/// `satisfactionRatio` is ElasticFlow's `ddl_satis_ratio` = accepted / (accepted + declined)
/// (EF `scheduler.py`, research/policies.md section 15). ElasticFlow judges a deadline met on
/// its planned end without runtime overheads; `met` here is judged on the run's real
/// completion time, mechanism costs included (with `--no-overheads` the two agree).
public struct DeadlineMetrics: Sendable, Equatable, Codable {
    /// Submitted jobs with a deadline.
    public var jobs: Int
    /// Jobs the policy declined (any job; ElasticFlow declines only jobs with a deadline).
    public var declined: Int
    /// Jobs with a deadline that were not declined.
    public var accepted: Int
    /// accepted / (accepted + declined); 0 when both are 0.
    public var satisfactionRatio: Double
    /// Jobs with a deadline that completed, and how many of them by their deadline.
    public var completed: Int
    public var met: Int

    public init(jobs: Int, declined: Int, accepted: Int, satisfactionRatio: Double, completed: Int, met: Int) {
        self.jobs = jobs
        self.declined = declined
        self.accepted = accepted
        self.satisfactionRatio = satisfactionRatio
        self.completed = completed
        self.met = met
    }
}

/// What batch-inference jobs (`BatchInference`) served and what it cost.
public struct InferenceMetrics: Sendable, Equatable, Codable {
    /// Submitted inference jobs, and how many completed.
    public var jobs: Int
    public var completed: Int
    /// Requests of the completed inference jobs.
    public var requestsServed: Int64
    /// `requestsServed` / the sum over those jobs of (end - first start), per second: how
    /// fast a batch is served once it has started, waits for preemption included.
    public var requestsPerSecond: Double
    /// Accelerator-seconds those jobs held (weight loads and dumps included) per 1,000
    /// requests served.
    public var acceleratorSecondsPer1kRequests: Double
}
