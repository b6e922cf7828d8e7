import FleetTwinEngine

/// `las`: Tiresias' discretised two-dimensional least attained service (`dlas-gpu`,
/// `run_sim.py::dlas_sim_jobs`). Attained service is accelerator-time; jobs fall into queues
/// split at `thresholds` (accelerator-seconds) and run FIFO within a queue; a waiting job
/// preempts jobs in lower queues, never one of its own queue. A running job is demoted the
/// moment its attained service crosses a threshold (the policy wakes for it). As in the
/// Tiresias simulator's defaults, there is no starvation promotion.
/// Demotion fires at the exact crossing, not at the Tiresias simulator's later wake-up for
/// multi-GPU jobs (research/policies.md §2, finding 3): its golden case T1 starts the 1-GPU
/// job at 887 s, this rule at 812.5 s, which is what the paper describes.
public struct LeastAttainedService: PriorityRule {
    public let name = "las"
    /// Queue boundaries in accelerator-microseconds, increasing.
    public let thresholds: [Int64]

    /// The Tiresias simulator's defaults: three queues split at 3,250 and 7,200
    /// accelerator-seconds.
    public init(thresholdSeconds: [Double] = [3_250, 7_200]) {
        thresholds = thresholdSeconds.map { Int64(($0 * 1e6).rounded()) }
    }

    public func queue(_ attained: Int64) -> Int64 {
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
