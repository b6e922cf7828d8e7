import FleetTwinEngine

/// `singularity`: tier first (premium, standard, basic), then arrival. It fills every idle
/// accelerator, starting jobs on fewer devices than their world size (time-sliced replicas)
/// and growing them back as devices free up; when a higher tier needs room it shrinks
/// lower-tier jobs by splicing before preempting them, and migrates a job to another cluster
/// when that opens a gang slot. A job is never preempted or shrunk for its own or a lower
/// tier (Singularity, arXiv:2202.07848, §3-4).
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
