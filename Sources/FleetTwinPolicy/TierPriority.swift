import FleetTwinEngine

/// `singularity`: tier first (premium, standard, basic). It fills every idle accelerator,
/// starting jobs on fewer devices than their world size (time-sliced replicas) and growing
/// them back as devices free up; when a higher tier needs room it shrinks lower-tier jobs by
/// splicing before preempting them, and migrates a job to another cluster when that opens a
/// gang slot (Singularity, arXiv:2202.07848, §3-4). Three rules make the SLA tiers hold under
/// load (`Settings`; FleetTwin's own, measured in the README's ablation table):
///
/// - **SLA headroom** (cheaper victims first). A job of a tier with an SLA target loses
///   devices only while the GPU fraction delivered to it since its first start (full-speed
///   progress over elapsed time, the quantity its SLA is judged on) would still meet the
///   target after `slaHeadroom` more time without progress. Until then it is shielded like
///   a job inside its quantum, so victims come from the best-effort tier and from jobs far
///   ahead of their target.
/// - **Urgent restarts.** A stopped job of a tier with an SLA target waits ahead of its
///   tier's jobs that never started, earliest SLA deadline first (the instant its delivered
///   fraction would fall to the target), and may take devices from running jobs of its own
///   tier (those with headroom): its SLA clock runs while it waits, theirs would not.
/// - **Best-effort sharing.** Jobs of a tier without an SLA target (target 0, `basic` by
///   default) are ordered by least attained service in Tiresias' discretised queues
///   (`LeastAttainedService`, arrival order inside a queue): an arrival takes devices from
///   best-effort jobs that have had more service, so none of them waits behind long ones.
///
/// A job is never preempted or shrunk for a lower tier, nor for its own tier except as the
/// last two rules say.
public struct TierPriority: PriorityRule {
    public let name = "singularity"

    /// The rules above, each of which can be switched off (ablations).
    public struct Settings: Sendable, Equatable {
        /// Time without progress a job must be able to absorb, still meeting its SLA target,
        /// before it may lose devices; zero switches the shield off.
        public var slaHeadroom: VirtualTime
        public var urgentRestarts: Bool
        /// Queue boundaries (accelerator-seconds) of the best-effort tiers' least attained
        /// service; nil orders them by arrival and never preempts one for another.
        public var bestEffortThresholds: [Double]?

        public init(slaHeadroom: VirtualTime = Self.defaultHeadroom, urgentRestarts: Bool = true,
                    bestEffortThresholds: [Double]? = [3_250, 7_200]) {
            self.slaHeadroom = slaHeadroom
            self.urgentRestarts = urgentRestarts
            self.bestEffortThresholds = bestEffortThresholds
        }

        /// 30 minutes: on Scenarios/singularity-tiers.yaml it kept standard SLA at 98%
        /// while leaving enough victims for premium jobs to wait about 20 minutes (README).
        public static let defaultHeadroom = VirtualTime.seconds(Int64(1_800))
        /// Every rule off: tier first, then arrival, as before 2026-11-30.
        public static let none = Settings(slaHeadroom: .zero, urgentRestarts: false, bestEffortThresholds: nil)
    }

    public let settings: Settings
    /// Each tier's SLA target (GPU fraction, by `SLATier.rank`) and the splicing overhead:
    /// what a job's delivered fraction is measured against and how fast it grows.
    let targets: [Double]
    let splicingOverhead: Double
    let bestEffort: LeastAttainedService?

    public init(settings: Settings = Settings(), mechanisms: MechanismSettings = .defaults) {
        self.settings = settings
        targets = mechanisms.slaTargets
        splicingOverhead = mechanisms.splicingOverhead
        bestEffort = settings.bestEffortThresholds.map { LeastAttainedService(thresholdSeconds: $0, order: .arrival) }
    }

    private func target(_ job: TrackedJob) -> Double { targets[job.info.tier.rank] }

    /// Keys: the tier in the high bits, then (urgent restarts first) the rank inside it.
    private func tierBase(_ job: TrackedJob) -> Int64 { Int64(job.info.tier.rank) << 20 }

    /// Its LAS queue when its tier is best effort and shared by attained service; 0 otherwise.
    private func queue(_ job: TrackedJob, service: Int64) -> Int64 {
        guard let las = bestEffort, target(job) <= 0 else { return 0 }
        return las.queue(service)
    }

    /// When a waiting job that has run must restart to keep its SLA: its first start plus its
    /// delivered full-speed time over the target. Nil for jobs that never ran, jobs of a tier
    /// without a target, and with urgent restarts off.
    public func slaDeadline(_ job: TrackedJob) -> Int64? {
        guard settings.urgentRestarts, job.state == .waiting, let first = job.firstStart, target(job) > 0 else { return nil }
        let deadline = Double(first.microseconds) + Double(job.delivered) / target(job)
        return Int64(min(deadline, Double(VirtualTime.limit.microseconds)))
    }

    public func waitingKey(_ job: TrackedJob) -> PriorityKey {
        if let deadline = slaDeadline(job) { return PriorityKey(tierBase(job), deadline, job: job.info.index) }
        return PriorityKey(tierBase(job) + 1 + queue(job, service: job.info.attainedService), job.info.submit.microseconds, job: job.info.index)
    }

    public func runningKey(_ job: TrackedJob, at now: VirtualTime) -> PriorityKey {
        PriorityKey(tierBase(job) + 1 + queue(job, service: job.attainedService(at: now)), job.info.submit.microseconds, job: job.info.index)
    }

    /// A higher tier; in its own tier, an urgent restart, or a best-effort job in a lower
    /// LAS queue. (Headroom is a protection, `protectedUntil`, not part of the order.)
    public func outranks(_ candidate: TrackedJob, _ victim: TrackedJob, at now: VirtualTime) -> Bool {
        if candidate.info.tier != victim.info.tier { return candidate.info.tier < victim.info.tier }
        if slaDeadline(candidate) != nil { return true }
        guard bestEffort != nil, target(candidate) <= 0 else { return false }
        return queue(candidate, service: candidate.info.attainedService) < queue(victim, service: victim.attainedService(at: now))
    }

    public func nextRankChange(_ job: TrackedJob, at now: VirtualTime) -> VirtualTime? {
        guard let las = bestEffort, target(job) <= 0 else { return nil }
        return las.nextRankChange(job, at: now)
    }

    /// The SLA headroom shield: nil when the running `job` may lose devices now as far as its
    /// SLA goes; otherwise when its headroom reaches `slaHeadroom` if it keeps running as it
    /// does (its delivered fraction grows at its rate over the target, less one, per second
    /// of progress, and falls by one per second of restore), or `VirtualTime.limit` when it
    /// never will on these devices.
    public func protectedUntil(_ job: TrackedJob, at now: VirtualTime) -> VirtualTime? {
        guard settings.slaHeadroom > .zero, let first = job.firstStart, target(job) > 0 else { return nil }
        let t = target(job), need = Double(settings.slaHeadroom.microseconds)
        let room = job.deliveredFullSpeed(at: now, splicingOverhead: splicingOverhead) / t - Double((now - first).microseconds)
        guard room < need else { return nil }
        let growth = job.info.fraction(on: job.devices, splicingOverhead: splicingOverhead) / t - 1
        guard growth > 1e-9 else { return .limit }
        let base = max(now, job.progressFrom)
        let roomAtBase = room - Double((base - now).microseconds)
        let wait = ((need - roomAtBase) / growth).rounded(.up)
        guard wait < Double(VirtualTime.limit.microseconds - base.microseconds) else { return .limit }
        return base + VirtualTime(microseconds: max(1, Int64(wait)))
    }
}
