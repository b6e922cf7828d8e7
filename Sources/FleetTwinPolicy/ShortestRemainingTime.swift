import FleetTwinEngine

/// `srtf`: shortest remaining time first, preemptive, with oracle knowledge of each job's
/// work (Tiresias' `shortest`, `run_sim.py::shortest_first_sim_jobs`: jobs sorted by
/// remaining time, not GPU-time). A waiting job preempts running jobs with more work left
/// than its own (estimated at full speed since they started).
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
