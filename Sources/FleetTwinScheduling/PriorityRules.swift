import FleetTwinEngine

/// `srtf`: shortest remaining time first, preemptive, with oracle knowledge of each job's
/// work. A waiting job preempts running jobs with more work left than its own (estimated
/// at full speed since they started).
public struct ShortestRemainingTime: PriorityRule {
    public let name = "srtf"

    public init() {}

    public func waitingKey(_ job: TrackedJob) -> PriorityKey {
        PriorityKey(job.info.remainingWork, job.info.submit.microseconds, job: job.info.index)
    }

    /// Running jobs rank by when they would finish: the order of their remaining work.
    public func runningKey(_ job: TrackedJob, at now: VirtualTime) -> PriorityKey {
        PriorityKey(job.runningSince.microseconds + job.info.remainingWork, job.info.submit.microseconds, job: job.info.index)
    }

    public func outranks(_ candidate: TrackedJob, _ victim: TrackedJob, at now: VirtualTime) -> Bool {
        candidate.info.remainingWork < victim.remainingWork(at: now)
    }
}

/// `las`: Tiresias' discretised two-dimensional least attained service. Attained service is
/// accelerator-time; jobs fall into queues split at `thresholds` (accelerator-seconds) and
/// run FIFO within a queue; a waiting job preempts jobs in lower queues. A running job is
/// demoted the moment its attained service crosses a threshold (the policy wakes for it).
/// As in the Tiresias simulator's defaults, there is no starvation promotion.
public struct LeastAttainedService: PriorityRule {
    public let name = "las"
    /// Queue boundaries in accelerator-microseconds, increasing.
    public let thresholds: [Int64]

    /// The Tiresias simulator's defaults: three queues split at 3,250 and 7,200
    /// accelerator-seconds.
    public init(thresholdSeconds: [Double] = [3_250, 7_200]) {
        thresholds = thresholdSeconds.map { Int64(($0 * 1e6).rounded()) }
    }

    func queue(_ attained: Int64) -> Int64 {
        Int64(thresholds.firstIndex { attained < $0 } ?? thresholds.count)
    }

    public func waitingKey(_ job: TrackedJob) -> PriorityKey {
        PriorityKey(queue(job.info.attainedService), job.info.submit.microseconds, job: job.info.index)
    }

    public func runningKey(_ job: TrackedJob, at now: VirtualTime) -> PriorityKey {
        PriorityKey(queue(job.attainedService(at: now)), job.info.submit.microseconds, job: job.info.index)
    }

    public func outranks(_ candidate: TrackedJob, _ victim: TrackedJob, at now: VirtualTime) -> Bool {
        queue(candidate.info.attainedService) < queue(victim.attainedService(at: now))
    }

    public func nextRankChange(_ job: TrackedJob, at now: VirtualTime) -> VirtualTime? {
        let attained = job.attainedService(at: now)
        guard job.devices > 0, let next = thresholds.first(where: { $0 > attained }) else { return nil }
        let wait = (next - attained + Int64(job.devices) - 1) / Int64(job.devices)
        return now + VirtualTime(microseconds: wait)
    }
}

/// `singularity`: tier first (premium, standard, basic), then arrival. It fills every idle
/// accelerator, starting jobs on fewer devices than their world size (time-sliced replicas)
/// and growing them back as devices free up; when a higher tier needs room it shrinks
/// lower-tier jobs by splicing before preempting them, and migrates a job to another cluster
/// when that opens a gang slot. A job is never preempted or shrunk for its own or a lower tier.
public struct TierPriority: PriorityRule {
    public let name = "singularity"

    public init() {}

    public func waitingKey(_ job: TrackedJob) -> PriorityKey {
        PriorityKey(Int64(job.info.tier.rank), job.info.submit.microseconds, job: job.info.index)
    }

    public func runningKey(_ job: TrackedJob, at now: VirtualTime) -> PriorityKey { waitingKey(job) }

    public func outranks(_ candidate: TrackedJob, _ victim: TrackedJob, at now: VirtualTime) -> Bool {
        candidate.info.tier < victim.info.tier
    }
}
