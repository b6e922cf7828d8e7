import FleetTwinEngine
import FleetTwinFleet

/// What a priority rule decides: the order of jobs, and when a waiting job may preempt a
/// running one. The machinery that acts on it (`PreemptivePolicy`) is shared.
public protocol PriorityRule: Sendable {
    var name: String { get }
    /// The order of waiting jobs, most important first.
    func waitingKey(_ job: TrackedJob) -> PriorityKey
    /// The order of running jobs, most important first; victims are taken from the end.
    func runningKey(_ job: TrackedJob, at now: VirtualTime) -> PriorityKey
    /// Whether waiting `candidate` may take accelerators from running `victim` at `now`.
    func outranks(_ candidate: TrackedJob, _ victim: TrackedJob, at now: VirtualTime) -> Bool
    /// When a running job's rank next changes (a LAS demotion), if ever.
    func nextRankChange(_ job: TrackedJob, at now: VirtualTime) -> VirtualTime?
}

extension PriorityRule {
    public func nextRankChange(_ job: TrackedJob, at now: VirtualTime) -> VirtualTime? { nil }
}

/// A job as a preemptive policy tracks it.
public struct TrackedJob: Sendable {
    public enum State: Sendable { case waiting, running, stopping, done }

    public var info: PendingJob
    public var state: State = .waiting
    public var cluster: Int32 = -1
    public var devices = 0
    public var runningSince = VirtualTime.zero
    /// The key it is ranked under now (in the waiting or its cluster's running order).
    public var key: PriorityKey
    /// Its entry in the rank-change order, while it has one.
    public var rankChange: PriorityKey?

    /// Accelerator-µs it has held, up to `now`.
    public func attainedService(at now: VirtualTime) -> Int64 {
        info.attainedService + (state == .running ? Int64(devices) * max(0, (now - runningSince).microseconds) : 0)
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

/// The shared machinery of the preemptive policies (`srtf`, `las`, `singularity`): jobs
/// ranked by a `PriorityRule`, one decision at a time, in this order:
///
/// 1. Start waiting jobs in rank order (looking at most `lookahead` deep) where their gang
///    fits; with elasticity, on as many devices as fit when the whole gang does not.
/// 2. If the best waiting job still cannot start: free room for it in one cluster by taking
///    from the running jobs it outranks, lowest rank first - shrinking them by splicing
///    first when elastic, preempting them otherwise. Nothing more is taken until that room
///    has been released.
/// 3. With migration: if no victim qualifies, move one running job to another cluster
///    where it fits so that the best waiting job's gang fits where it was.
/// 4. With elasticity and nobody waiting: grow shrunken jobs back into free devices.
///
/// Every order is a sorted array updated on each event; nothing rescans the queue.
public struct PreemptivePolicy<Rule: PriorityRule>: SchedulingPolicy {
    public var name: String { rule.name }
    public let placement: PlacementRule
    public let rule: Rule
    public let switches: MechanismSwitches
    public let lookahead: Int
    /// SLA targets and the splicing overhead: a job starts on fewer devices only if the
    /// GPU fraction it would get there still meets its tier's target.
    public let mechanisms: MechanismSettings

    private var jobs: [TrackedJob] = []
    private var waiting = RankedJobs()
    private var running: [RankedJobs] = []
    /// Running jobs on fewer devices than their world size, by rank.
    private var shrunk = RankedJobs()
    /// Next rank change of each running job that has one: (time, 0, job).
    private var rankChanges = RankedJobs()
    private var planned: [SchedulingDecision] = []
    /// Devices per cluster that preemptions, shrinks and migrations will release.
    private var releasing: [Int] = []
    /// The waiting job room was last made for. Until a job completes, no more is taken for
    /// it: if the released room still does not fit its gang (fragmented nodes), taking more
    /// would only let lower-ranked jobs backfill and be preempted again, over and over.
    private var madeRoomFor: JobIndex?
    /// The job room was made for and the cluster it was made in: lower-ranked jobs may not
    /// start there until that job starts, or they would take the room and be preempted at
    /// the next turn, over and over.
    private var reservation: (job: JobIndex, cluster: Int32)?
    /// The waiting job for which no room could be made or found by migration: not searched
    /// again until a job ends, stops or gives back devices (nothing else changes the answer).
    private var searchedInVainFor: JobIndex?

    public init(rule: Rule, placement: PlacementRule = .consolidated, switches: MechanismSwitches = .init(),
                mechanisms: MechanismSettings = .defaults, lookahead: Int = 32) {
        self.rule = rule
        self.mechanisms = mechanisms
        self.placement = placement
        self.switches = switches
        self.lookahead = lookahead
    }

    // MARK: Events

    public mutating func jobArrived(_ job: PendingJob, at now: VirtualTime) {
        precondition(Int(job.index) == jobs.count)
        var tracked = TrackedJob(info: job, key: PriorityKey(0, 0, job: job.index))
        tracked.key = rule.waitingKey(tracked)
        jobs.append(tracked)
        waiting.insert(tracked.key)
    }

    public mutating func jobStarted(_ job: PendingJob, cluster: Int32, devices: Int, at now: VirtualTime) {
        let i = Int(job.index)
        if reservation?.job == job.index { reservation = nil }
        unrank(i)
        jobs[i].info = job
        jobs[i].state = .running
        jobs[i].cluster = cluster
        jobs[i].devices = devices
        jobs[i].runningSince = now
        rankRunning(i, at: now)
    }

    public mutating func jobCompleted(_ job: JobIndex, at now: VirtualTime) {
        unrank(Int(job))
        jobs[Int(job)].state = .done
        madeRoomFor = nil
        searchedInVainFor = nil
    }

    public mutating func jobPreempted(_ job: PendingJob, at now: VirtualTime) {
        backToWaiting(job)
    }

    public mutating func jobFailed(_ job: PendingJob, at now: VirtualTime) {
        backToWaiting(job)
    }

    /// A stopped or failed job waits again, ranked by what it has attained and has left.
    private mutating func backToWaiting(_ job: PendingJob) {
        let i = Int(job.index)
        searchedInVainFor = nil
        // A job stopping for a preemption had its devices counted as coming back; a failure
        // can end that stop early, so both paths settle it here.
        if jobs[i].state == .stopping { releasing[Int(jobs[i].cluster)] -= jobs[i].devices }
        unrank(i)
        jobs[i].info = job
        jobs[i].state = .waiting
        jobs[i].devices = 0
        jobs[i].key = rule.waitingKey(jobs[i])
        waiting.insert(jobs[i].key)
    }

    public mutating func devicesReleased(_ job: JobIndex, cluster: Int32, count: Int, at now: VirtualTime) {
        searchedInVainFor = nil
        releasing[Int(cluster)] -= count
    }

    public func wakeup(after now: VirtualTime) -> VirtualTime? {
        rankChanges.first.map { VirtualTime(microseconds: $0.major) }
    }

    // MARK: Decisions

    public mutating func nextDecision(at now: VirtualTime, fleet: FleetView) -> SchedulingDecision? {
        if !planned.isEmpty { return planned.removeFirst() }
        rerankDue(at: now)
        if running.count < fleet.clusters.count {
            running += Array(repeating: RankedJobs(), count: fleet.clusters.count - running.count)
        }
        if releasing.count < fleet.clusters.count {
            releasing += Array(repeating: 0, count: fleet.clusters.count - releasing.count)
        }
        if let start = startWaiting(fleet) { return start }
        if let head = waiting.first.map({ jobs[Int($0.job)] }), head.info.index != madeRoomFor,
           head.info.index != searchedInVainFor, !roomIsComing(for: head, fleet: fleet) {
            if switches.preemption || switches.elastic, let first = makeRoom(for: head, at: now, fleet: fleet) {
                madeRoomFor = head.info.index
                return first
            }
            if switches.migration, let move = migrateToFit(head, at: now, fleet: fleet) {
                madeRoomFor = head.info.index
                return move
            }
            searchedInVainFor = head.info.index
        }
        if switches.elastic && waiting.isEmpty { return grow(fleet) }
        return nil
    }

    private func startWaiting(_ fleet: FleetView) -> SchedulingDecision? {
        for key in waiting.keys.prefix(lookahead) {
            let job = jobs[Int(key.job)].info
            let excluded = reservation.map { $0.job == job.index ? -1 : $0.cluster } ?? -1
            if let c = fleet.firstFit(job.worldSize, types: job.acceleratorTypes, rule: placement, excluding: excluded) {
                return .start(job.index, cluster: c, accelerators: job.worldSize)
            }
            if switches.elastic, let (c, devices) = largestSlice(job, fleet: fleet, excluding: excluded) {
                return .start(job.index, cluster: c, accelerators: devices)
            }
        }
        return nil
    }

    /// The cluster offering the most devices (below the world size) that the job's
    /// time-sliced replicas fit in, at a GPU fraction its tier's SLA target allows.
    ///
    /// Fitting shrinks as the device count grows while the fraction and the memory check
    /// improve, so per cluster only the largest count that fits needs checking (found by
    /// bisection); a tier whose target no slicing can meet is not sliced at all.
    private func largestSlice(_ job: PendingJob, fleet: FleetView, excluding excluded: Int32) -> (Int32, Int)? {
        let target = mechanisms.slaTarget(for: job.tier)
        func fraction(_ devices: Int) -> Double {
            1 / (Double((job.worldSize + devices - 1) / devices) * (1 + mechanisms.splicingOverhead))
        }
        guard job.worldSize > 1, fraction(job.worldSize - 1) >= target else { return nil }
        var best: (Int32, Int)?
        for (i, c) in fleet.clusters.enumerated()
            where Int32(i) != excluded && job.acceleratorTypes.contains(c.acceleratorType) && c.free.totalFree > 0 {
            var lo = 0, hi = min(job.worldSize - 1, c.free.totalFree)
            while lo < hi {
                let mid = (lo + hi + 1) / 2
                if c.free.fits(mid, rule: placement) { lo = mid } else { hi = mid - 1 }
            }
            guard lo >= 1, lo > (best?.1 ?? 0), fraction(lo) >= target, fleet.fitsSliced(job, devices: lo, cluster: Int32(i)) else { continue }
            best = (Int32(i), lo)
        }
        return best
    }

    /// Whether devices already being released will make room for `head` in some cluster.
    private func roomIsComing(for head: TrackedJob, fleet: FleetView) -> Bool {
        fleet.clusters.indices.contains { c in
            releasing[c] > 0 && head.info.acceleratorTypes.contains(fleet.clusters[c].acceleratorType)
                && fleet.clusters[c].free.totalFree + releasing[c] >= head.info.worldSize
        }
    }

    /// Plans shrinks or preemptions of outranked jobs in one cluster until `head` fits there.
    private mutating func makeRoom(for head: TrackedJob, at now: VirtualTime, fleet: FleetView) -> SchedulingDecision? {
        for (c, entry) in fleet.clusters.enumerated() where head.info.acceleratorTypes.contains(entry.acceleratorType) {
            let free = entry.free.totalFree + releasing[c]
            var room = free
            var victims: [TrackedJob] = []
            for key in running[c].keys.reversed() {
                guard room < head.info.worldSize else { break }
                let victim = jobs[Int(key.job)]
                guard rule.outranks(head, victim, at: now) else { break }
                victims.append(victim)
                room += victim.devices
            }
            guard room >= head.info.worldSize, !victims.isEmpty else { continue }
            // Shrink by splicing first (elastic): halve each victim while its replicas fit.
            var shrinks: [(JobIndex, Int)] = []
            var needed = head.info.worldSize - free
            if switches.elastic {
                for victim in victims where needed > 0 && victim.devices > 1 {
                    let target = max((victim.devices + 1) / 2, victim.devices - needed)
                    guard fleet.fitsSliced(victim.info, devices: target, cluster: Int32(c)) else { continue }
                    shrinks.append((victim.info.index, target))
                    needed -= victim.devices - target
                }
            }
            var decisions: [SchedulingDecision] = []
            if needed <= 0 {
                for (job, target) in shrinks {
                    decisions.append(.resize(job, accelerators: target))
                    releasing[c] += jobs[Int(job)].devices - target
                }
            } else {
                guard switches.preemption else { continue }
                for victim in victims {
                    decisions.append(.preempt(victim.info.index))
                    releasing[c] += victim.devices
                    stop(Int(victim.info.index))
                }
            }
            planned = Array(decisions.dropFirst())
            reservation = (head.info.index, Int32(c))
            return decisions.first
        }
        return nil
    }

    /// Moves one running job out of a cluster where that alone makes `head` fit.
    private mutating func migrateToFit(_ head: TrackedJob, at now: VirtualTime, fleet: FleetView) -> SchedulingDecision? {
        for (c, entry) in fleet.clusters.enumerated() where head.info.acceleratorTypes.contains(entry.acceleratorType) {
            // The lowest-ranked few only: moving a job costs it a dump and a restore.
            for key in running[c].keys.reversed().prefix(lookahead) {
                let mover = jobs[Int(key.job)]
                guard entry.free.totalFree + mover.devices >= head.info.worldSize else { continue }
                for (d, other) in fleet.clusters.enumerated() where d != c
                    && fleet.canMigrate(from: Int32(c), to: Int32(d))
                    && mover.info.acceleratorTypes.contains(other.acceleratorType)
                    && other.free.fits(mover.devices, rule: placement) {
                    releasing[c] += mover.devices
                    return .migrate(mover.info.index, toCluster: Int32(d))
                }
            }
        }
        return nil
    }

    /// Grows the best-ranked shrunken job into free devices of its cluster.
    private mutating func grow(_ fleet: FleetView) -> SchedulingDecision? {
        for key in shrunk.keys {
            let job = jobs[Int(key.job)]
            let free = fleet.clusters[Int(job.cluster)].free.totalFree
            guard free > 0 else { continue }
            return .resize(job.info.index, accelerators: min(job.info.worldSize, job.devices + free))
        }
        return nil
    }

    // MARK: Ranking

    private mutating func rankRunning(_ i: Int, at now: VirtualTime) {
        jobs[i].key = rule.runningKey(jobs[i], at: now)
        let c = Int(jobs[i].cluster)
        if running.count <= c { running += Array(repeating: RankedJobs(), count: c + 1 - running.count) }
        running[c].insert(jobs[i].key)
        if jobs[i].devices < jobs[i].info.worldSize { shrunk.insert(jobs[i].key) }
        if let change = rule.nextRankChange(jobs[i], at: now) {
            let key = PriorityKey(change.microseconds, 0, job: JobIndex(i))
            rankChanges.insert(key)
            jobs[i].rankChange = key
        }
    }

    /// Removes a job from whichever orders hold it.
    private mutating func unrank(_ i: Int) {
        let job = jobs[i]
        switch job.state {
        case .waiting: waiting.remove(job.key)
        case .running:
            running[Int(job.cluster)].remove(job.key)
            if job.devices < job.info.worldSize { shrunk.remove(job.key) }
            if let change = job.rankChange {
                rankChanges.remove(change)
                jobs[i].rankChange = nil
            }
        case .stopping, .done: break
        }
    }

    private mutating func stop(_ i: Int) {
        unrank(i)
        jobs[i].state = .stopping
    }

    /// Re-ranks the running jobs whose rank changed by `now`.
    private mutating func rerankDue(at now: VirtualTime) {
        while let next = rankChanges.first, next.major <= now.microseconds {
            searchedInVainFor = nil
            let i = Int(next.job)
            unrank(i)
            rankRunning(i, at: now)
        }
    }
}
