import FleetTwinEngine
import FleetTwinFleet

/// The extension points a priority policy implements (one small file each): the order of
/// jobs (queue sort), which running jobs a waiting one may take accelerators from
/// (post-filter: preemption), when a running job's rank changes by itself, and which clusters
/// a job may use (filter, for admission rules such as tenant quotas). `PriorityPolicy` does
/// the rest, the same way for every rule: backfill, room-making with reservations,
/// hysteresis, migration and elastic resizes.
public protocol PriorityRule: Sendable {
    var name: String { get }
    /// The order of waiting jobs, most important first.
    func waitingKey(_ job: TrackedJob) -> PriorityKey
    /// The order of running jobs, most important first; victims are taken from the end.
    /// Must agree with `outranks`: if a waiting job outranks a running one, it outranks every
    /// running job ordered after it.
    func runningKey(_ job: TrackedJob, at now: VirtualTime) -> PriorityKey
    /// Whether waiting `candidate` may take accelerators from running `victim` at `now`.
    func outranks(_ candidate: TrackedJob, _ victim: TrackedJob, at now: VirtualTime) -> Bool
    /// When a running job's rank next changes (a LAS demotion), if ever.
    func nextRankChange(_ job: TrackedJob, at now: VirtualTime) -> VirtualTime?
    /// When a job that just went back to waiting is *promoted*, if ever: Tiresias' starvation
    /// guard (PROMOTEKNOB; research/policies.md §2 step 4). At that time the policy restarts
    /// the job's service count (`serviceBase` := its attained service, `pendingAfterRun` := 0)
    /// and ranks it again by `waitingKey`, as having joined its new queue waiting then. A
    /// time not after the job's stop promotes it at the next pass after that instant, as
    /// Tiresias does at its next event.
    func promotion(_ job: TrackedJob) -> VirtualTime?
    /// Until when the running `job` may not lose devices for the rule's own reasons (an SLA's
    /// headroom), beyond the policy's quantum; nil: no such shield now. `VirtualTime.limit`:
    /// not until something about the job changes.
    func protectedUntil(_ job: TrackedJob, at now: VirtualTime) -> VirtualTime?
    /// Whether `outranks` holds for a suffix of the running order (true: the victim search
    /// stops at the first running job the candidate does not outrank; false: it looks at all).
    var outranksFollowRunningOrder: Bool { get }
    /// Jobs of one world size and type set that `outranks` treats alike share a group; the
    /// policy looks only at the best-ranked waiting job of each (0 for all by default: right
    /// whenever a better-ranked waiting job outranks at least what a worse-ranked one does).
    func group(_ job: PendingJob) -> Int64
    /// Called once, before the first decision, with the fleet (its size, tenants and types).
    mutating func prepare(_ fleet: FleetView)
    /// Told of every start and stop, for rules that keep per-tenant or per-class tallies.
    mutating func jobStarted(_ job: TrackedJob, at now: VirtualTime)
    mutating func jobStopped(_ job: TrackedJob, at now: VirtualTime)
}

extension PriorityRule {
    public func nextRankChange(_ job: TrackedJob, at now: VirtualTime) -> VirtualTime? { nil }
    public func promotion(_ job: TrackedJob) -> VirtualTime? { nil }
    public func protectedUntil(_ job: TrackedJob, at now: VirtualTime) -> VirtualTime? { nil }
    public var outranksFollowRunningOrder: Bool { true }
    public func group(_ job: PendingJob) -> Int64 { 0 }
    public mutating func prepare(_ fleet: FleetView) {}
    public mutating func jobStarted(_ job: TrackedJob, at now: VirtualTime) {}
    public mutating func jobStopped(_ job: TrackedJob, at now: VirtualTime) {}
}

/// A job as a priority policy tracks it.
public struct TrackedJob: Sendable {
    public enum State: Sendable { case waiting, running, stopping, done }

    public var info: PendingJob
    public var state: State = .waiting
    public var cluster: Int32 = -1
    public var devices = 0
    public var shares: [NodeShare] = []
    public var runningSince = VirtualTime.zero
    /// Its first start (its SLA clock starts there), nil before it.
    public var firstStart: VirtualTime?
    /// Full-speed progress delivered to it (µs) in its runs before the current one: each run
    /// counts from its `progressFrom` at its GPU fraction (`PendingJob.fraction`).
    public var delivered: Int64 = 0
    /// When its current run starts progressing (after a restore).
    public var progressFrom = VirtualTime.zero
    /// The key it is ranked under now (in the waiting or its cluster's running order).
    public var key: PriorityKey
    /// Its entry in the rank-change order, while it has one.
    public var rankChange: PriorityKey?
    /// Its entry in the promotion order, while it waits for one.
    public var promotionEntry: PriorityKey?
    /// When it last became running in its current rank: its latest start, or the rank
    /// change itself when that came while it ran (a LAS demotion); its submission before it
    /// first runs. `hasRunInRank`: whether it has run since its rank last changed.
    public var rankChangedAt: VirtualTime
    public var hasRunInRank = false
    /// The pass in which it last could neither start nor get room (the policy's bookkeeping).
    public var failedInPass: UInt64 = 0
    /// When it last stopped (preempted or failed) and went back to waiting.
    public var stoppedAt = VirtualTime.zero
    /// Room was made for it since it last started (at most once per wait, unless its
    /// reservation ended without it starting).
    public var tookRoom = false
    /// Its attained service (accelerator-µs) at its last promotion (`PriorityRule.promotion`),
    /// 0 before any: service counted from here is Tiresias' `executed_time`, which a
    /// promotion resets to 0.
    public var serviceBase: Int64 = 0
    /// Time it waited after having run since its last promotion, up to its latest start:
    /// Tiresias' `last_pending_time`, which grows while the job waits with `executed_time`
    /// above 0 and is reset only by a promotion, not when the job runs again.
    public var pendingAfterRun = VirtualTime.zero
    /// How many times it was promoted (Tiresias' `promote` counter).
    public var promoted = 0

    public init(info: PendingJob, key: PriorityKey) {
        self.info = info
        self.key = key
        self.rankChangedAt = info.submit
    }

    /// Accelerator-µs it has held, up to `now`.
    public func attainedService(at now: VirtualTime) -> Int64 {
        info.attainedService.saturatingAdding(state == .running ? Int64(devices).saturatingMultiplied(by: max(0, (now - runningSince).microseconds)) : 0)
    }

    /// Accelerator-µs held since its last promotion (all of it when never promoted), up to
    /// `now`: what Tiresias' queues count (`executed_time` x GPUs).
    public func serviceSincePromotion(at now: VirtualTime) -> Int64 {
        attainedService(at: now) - serviceBase
    }

    /// Full-speed progress delivered to it up to `now` (µs): `delivered` plus the current
    /// run's, which counts from the end of its restore. Type speed and communication aside,
    /// this is what its SLA's GPU fraction is judged on.
    public func deliveredFullSpeed(at now: VirtualTime, splicingOverhead: Double) -> Double {
        guard state == .running else { return Double(delivered) }
        let from = max(runningSince, progressFrom)
        return Double(delivered) + info.fraction(on: devices, splicingOverhead: splicingOverhead) * Double(max(0, (now - from).microseconds))
    }

    /// Full-size work left at `now`, assuming it ran at full speed since it started.
    public func remainingWork(at now: VirtualTime) -> Int64 {
        state == .running ? max(0, info.remainingWork - max(0, (now - runningSince).microseconds)) : info.remainingWork
    }
}

/// Which of Singularity's mechanisms a preemptive policy may use (the ablation switches).
public struct MechanismSwitches: Sendable, Equatable {
    public var preemption: Bool
    /// Start jobs on fewer devices than their world size, grow them into spare capacity,
    /// and shrink lower tiers (by splicing) before preempting them.
    public var elastic: Bool
    /// Migrate a running job to another cluster to open a gang slot.
    public var migration: Bool

    public init(preemption: Bool = true, elastic: Bool = false, migration: Bool = false) {
        self.preemption = preemption
        self.elastic = elastic
        self.migration = migration
    }
}
