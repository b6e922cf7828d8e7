import FleetTwinEngine

/// `las`: Tiresias' discretised two-dimensional least attained service (`dlas-gpu`,
/// `run_sim.py::dlas_sim_jobs`). Attained service is accelerator-time; jobs fall into queues
/// split at `thresholds` (accelerator-seconds); a waiting job
/// preempts jobs in lower queues, never one of its own queue.
///
/// Order inside a queue (`QueueOrder`): `tiresias`, the default, reproduces the Tiresias
/// simulator, which after every pass moves each queue's running jobs ahead of its waiting
/// ones, keeping each group's order. In effect, running jobs rank by when they last became
/// running in the queue (a start, or a demotion while running), so the latest to start is
/// the first preempted; waiting jobs that were stopped while running in the queue rank by
/// when they stopped, latest first, ahead of jobs that joined it waiting (new jobs, and jobs
/// stopped in the instant of their demotion), which rank in order of joining. `arrival` is the
/// paper's description: first come, first served by submission inside each queue.
///
/// Starvation promotion (`promoteKnob`, the paper's PROMOTEKNOB; Tiresias' `solve_starvation`,
/// schedules `dlas-gpu-<knob>` such as `dlas-gpu-05`; research/policies.md §2 step 4 and 8): a
/// waiting job outside Q0 that has run since its last promotion is promoted once the time it
/// has waited since then (`last_pending_time`, which keeps growing over several waits and is
/// reset only by a promotion) reaches knob x its run time since then (`executed_time`, here
/// its accelerator-time since then over its world size): its service count restarts at 0 and
/// it joins Q0 at the back. 0, the default, never promotes (Tiresias' `dlas-gpu`). The
/// promotion is event-driven: the policy wakes at `stop + knob x executed_time −
/// last_pending_time`, as Tiresias' `next_job_jump`, and keeps pending promotions in time
/// order. Queues count service since the last promotion throughout.
public struct LeastAttainedService: PriorityRule {
    public let name = "las"
    /// Queue boundaries in accelerator-microseconds, increasing.
    public let thresholds: [Int64]
    public let order: QueueOrder
    /// Tiresias' PROMOTEKNOB (`solve_starvation`); 0: no promotion.
    public let promoteKnob: Double

    /// How jobs are ordered inside one queue.
    public enum QueueOrder: String, Sendable, CaseIterable {
        case tiresias, arrival
    }

    /// The Tiresias simulator's defaults: three queues split at 3,250 and 7,200
    /// accelerator-seconds.
    public init(thresholdSeconds: [Double] = [3_250, 7_200], order: QueueOrder = .tiresias, promoteKnob: Double = 0) {
        thresholds = thresholdSeconds.map { Int64(($0 * 1e6).rounded()) }
        self.order = order
        self.promoteKnob = promoteKnob
    }

    public func queue(_ attained: Int64) -> Int64 {
        Int64(thresholds.firstIndex { attained < $0 } ?? thresholds.count)
    }

    public func waitingKey(_ job: TrackedJob) -> PriorityKey {
        let q = queue(job.info.attainedService - job.serviceBase)
        switch order {
        case .arrival: return PriorityKey(q, job.info.submit.microseconds, job: job.info.index)
        case .tiresias:
            // Stopped while running in this queue: the front, latest stopped first. Joined the
            // queue waiting (a new job, or one stopped in the instant of its demotion, which
            // Tiresias appends behind the waiting jobs): the back, in order of joining.
            // Joined the queue waiting: on arrival (`rankChangedAt` is its submission) or by a
            // promotion (`rankChangedAt` is the promotion).
            if !job.hasRunInRank { return PriorityKey(2 * q + 1, job.rankChangedAt.microseconds, job: job.info.index) }
            if job.rankChangedAt == job.stoppedAt { return PriorityKey(2 * q + 1, job.stoppedAt.microseconds, job: job.info.index) }
            return PriorityKey(2 * q, -job.stoppedAt.microseconds, job: job.info.index)
        }
    }

    public func runningKey(_ job: TrackedJob, at now: VirtualTime) -> PriorityKey {
        let q = queue(job.serviceSincePromotion(at: now))
        switch order {
        case .arrival: return PriorityKey(q, job.info.submit.microseconds, job: job.info.index)
        case .tiresias: return PriorityKey(2 * q, job.rankChangedAt.microseconds, job: job.info.index)
        }
    }

    /// A job of a higher queue; with `tiresias` order also, in the instant of its demotion,
    /// a job just demoted into the candidate's queue: Tiresias appends it behind the queue's
    /// waiting jobs before it allocates, so they are served first.
    public func outranks(_ candidate: TrackedJob, _ victim: TrackedJob, at now: VirtualTime) -> Bool {
        let mine = queue(candidate.info.attainedService - candidate.serviceBase), theirs = queue(victim.serviceSincePromotion(at: now))
        return mine < theirs || (order == .tiresias && mine == theirs && victim.hasRunInRank && victim.rankChangedAt == now
                                 && victim.runningSince < now)
    }

    public func nextRankChange(_ job: TrackedJob, at now: VirtualTime) -> VirtualTime? {
        let attained = job.serviceSincePromotion(at: now)
        guard job.devices > 0, let next = thresholds.first(where: { $0 > attained }) else { return nil }
        let wait = (next - attained + Int64(job.devices) - 1) / Int64(job.devices)
        return now + VirtualTime(microseconds: wait)
    }

    /// Tiresias' starvation guard: when the waiting `job` (just stopped) is promoted, if ever.
    /// As `run_sim.py::dlas_sim_jobs` checks `last_pending_time >= int(executed_time x knob)`
    /// only for a job outside Q0 with `executed_time` above 0.
    public func promotion(_ job: TrackedJob) -> VirtualTime? {
        guard promoteKnob > 0 else { return nil }
        let executed = job.info.attainedService - job.serviceBase
        guard executed > 0, queue(executed) > 0 else { return nil }
        let runTime = Double(executed / Int64(max(1, job.info.worldSize)))
        let limit = (runTime * promoteKnob).rounded(.down)
        guard limit < 4e18 else { return nil }
        return job.stoppedAt + VirtualTime(microseconds: Int64(limit)) - job.pendingAfterRun
    }
}
