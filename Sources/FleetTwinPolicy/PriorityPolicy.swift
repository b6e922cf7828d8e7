import FleetTwinEngine
import FleetTwinFleet

/// The shared machinery of the priority policies (`srtf`, `las`, `dlas-gpu-gittins`,
/// `fair-share`, `singularity`): jobs ranked by a `PriorityRule`, one decision at a time.
///
/// A pass walks the waiting jobs in rank order, one *shape* (world size, accelerator types and
/// the rule's `group`) at a time: jobs of one shape fit, or fail to fit, alike, so only each shape's
/// best-ranked job is looked at and a pass costs O(shapes), never O(queue). For each:
/// 1. **Start** it where its gang fits now under the placement rule (backfill: a smaller
///    job passes a blocked larger one, as Tiresias' greedy allocation lets it); with
///    elasticity, on as many devices as fit when the whole gang does not.
/// 2. Otherwise **make room** once per wait: in the first cluster where it works, take the
///    running jobs it outranks, lowest rank first, that are past their protection, until a
///    node-exact what-if says the gang fits once they are released; drop those not needed;
///    shrink them by splicing first when elastic, preempt them otherwise. The job then holds
///    a **reservation** there: jobs ranked below it may use only the cluster's free
///    accelerators beyond its gang. The reservation ends when the job starts, or at the end
///    of the first pass after every release it waited for has landed (a higher-ranked job
///    took the room); the job may then make room once more.
/// 3. With migration: if no victim qualifies, move one running job to another cluster where
///    it fits, when that alone makes the gang fit.
/// 4. With elasticity and nobody waiting: grow shrunken jobs back into free devices.
///
/// **Hysteresis.** A job is never preempted, shrunk or migrated before it makes progress
/// (during its restore), in the instant it started, or within `quantum` of its (re)start.
/// A rule may shield a job longer (`PriorityRule.protectedUntil`: singularity's SLA
/// headroom). Protected candidates are skipped and the policy wakes when the first protection ends.
/// Room is made at most once per waiting job until it starts, so lower tiers cannot
/// restart into room made for a higher one and be preempted again.
public struct PriorityPolicy<Rule: PriorityRule>: SchedulingPolicy {
    public var name: String { rule.name }
    /// A job that arrives already running (a fork of an observed state) is told through
    /// `jobStarted` like any start: it leaves the waiting set for the running one.
    public var adoptsRunningJobs: Bool { true }
    public let placement: PlacementRule
    public private(set) var rule: Rule
    public let switches: MechanismSwitches
    /// Minimum run after a (re)start before a job may be preempted, shrunk or migrated.
    public let quantum: VirtualTime
    /// SLA targets and the splicing overhead: a job starts on fewer devices only if the
    /// GPU fraction it would get there still meets its tier's target.
    public let mechanisms: MechanismSettings

    private var jobs: [TrackedJob] = []
    /// Waiting jobs by shape, shapes in order of first appearance.
    private var shapes: [Shape] = []
    private var shapeIndex: [ShapeKey: Int] = [:]  // looked up only, never iterated
    private var shapeOfJob: [Int32] = []
    private var running: [RankedJobs] = []
    /// Running jobs on fewer devices than their world size, by rank.
    private var shrunk = RankedJobs()
    /// Next rank change of each running job that has one: (time, 0, job).
    private var rankChanges = RankedJobs()
    /// Next promotion of each waiting job that has one (`PriorityRule.promotion`): (time, 0,
    /// job), so a promotion costs O(log jobs) and no pass rescans the waiting jobs.
    private var promotions = RankedJobs()
    private var planned: [SchedulingDecision] = []
    /// Devices on their way back, per cluster: stopping jobs and migration sources (with
    /// their shares, for the what-if) and shrinks (a count: the cluster picks which devices).
    private var inFlight: [[InFlight]] = []
    private var holds: [Hold] = []
    private var prepared = false
    /// Per cluster, advances on every event there that could let a failed room search
    /// succeed: a completion, a release, a failure, a repair, a rank change, a protection
    /// ending; with no quantum, any start (the job is a candidate victim from the next event).
    private var clusterEpoch: [UInt64] = []
    /// For waiting jobs whose room search failed: each cluster's epoch at the failure (a
    /// cluster is searched again for the job only once its epoch moved). Looked up only.
    private var roomFailed: [JobIndex: [UInt64]] = [:]
    /// When each waiting job last searched in vain for a job to migrate. Looked up only.
    private var migrationTriedAt: [JobIndex: VirtualTime] = [:]
    private let migrationRetry = VirtualTime.seconds(Int64(60))

    private mutating func bump(_ cluster: Int32) {
        let c = Int(cluster)
        guard c >= 0 else { return }
        if c >= clusterEpoch.count { clusterEpoch += Array(repeating: 0, count: c + 1 - clusterEpoch.count) }
        clusterEpoch[c] &+= 1
    }

    private mutating func bumpAll() {
        for c in clusterEpoch.indices { clusterEpoch[c] &+= 1 }
    }
    /// Counts passes (and restarts of one after a reservation ends), for `failedInPass`.
    private var pass: UInt64 = 1
    private var passTime = VirtualTime.zero
    /// The earliest end of a protection that kept a victim from being taken this pass.
    private var protectionEnds: VirtualTime?

    public init(rule: Rule, placement: PlacementRule = .bestFit, switches: MechanismSwitches = .init(),
                mechanisms: MechanismSettings = .defaults, quantum: VirtualTime = .zero) {
        self.rule = rule
        self.mechanisms = mechanisms
        self.placement = placement
        self.switches = switches
        self.quantum = quantum
    }

    public var reservations: [Reservation] {
        holds.map { Reservation(job: $0.job, cluster: $0.cluster, accelerators: claim($0)) }
    }

    // MARK: Events

    public mutating func jobArrived(_ job: PendingJob, at now: VirtualTime) {
        precondition(Int(job.index) == jobs.count)
        var tracked = TrackedJob(info: job, key: PriorityKey(0, 0, job: job.index))
        tracked.key = rule.waitingKey(tracked)
        let key = ShapeKey(worldSize: job.worldSize, types: job.acceleratorTypes, group: rule.group(job))
        let s: Int
        if let known = shapeIndex[key] { s = known } else {
            s = shapes.count
            shapes.append(Shape(key: key))
            shapeIndex[key] = s
        }
        shapeOfJob.append(Int32(s))
        jobs.append(tracked)
        shapes[s].waiting.insert(tracked.key)
    }

    public mutating func jobStarted(_ job: PendingJob, on run: JobRun, at now: VirtualTime) {
        let i = Int(job.index)
        // Without a quantum a job started now is a candidate victim from the next event on.
        if quantum == .zero { bump(run.cluster) }
        roomFailed[job.index] = nil
        migrationTriedAt[job.index] = nil
        holds.removeAll { $0.job == job.index }
        if jobs[i].state == .running {
            bankDelivered(i, at: now)
            rule.jobStopped(jobs[i], at: now)
        }
        // Tiresias' `last_pending_time`: the wait just ended counts when the job had run
        // since its last promotion.
        if jobs[i].state == .waiting && jobs[i].info.attainedService > jobs[i].serviceBase {
            jobs[i].pendingAfterRun = jobs[i].pendingAfterRun + max(.zero, now - jobs[i].stoppedAt)
        }
        unrank(i)
        jobs[i].info = job
        jobs[i].state = .running
        jobs[i].cluster = run.cluster
        jobs[i].devices = run.devices
        jobs[i].shares = run.shares
        jobs[i].runningSince = now
        if jobs[i].firstStart == nil { jobs[i].firstStart = now }
        jobs[i].progressFrom = run.progressFrom
        jobs[i].tookRoom = false
        jobs[i].rankChangedAt = now
        jobs[i].hasRunInRank = true
        rule.jobStarted(jobs[i], at: now)
        rankRunning(i, at: now)
    }

    public mutating func jobCompleted(_ job: JobIndex, at now: VirtualTime) {
        let i = Int(job)
        bump(jobs[i].cluster)
        rule.jobStopped(jobs[i], at: now)
        unrank(i)
        jobs[i].state = .done
    }

    public mutating func jobPreempted(_ job: PendingJob, at now: VirtualTime) {
        bump(jobs[Int(job.index)].cluster)
        backToWaiting(job, at: now)
    }

    public mutating func capacityChanged(at now: VirtualTime) { bumpAll() }

    public mutating func jobFailed(_ job: PendingJob, at now: VirtualTime) {
        bump(jobs[Int(job.index)].cluster)
        backToWaiting(job, at: now)
    }

    public mutating func devicesReleased(_ job: JobIndex, cluster: Int32, count: Int, at now: VirtualTime) {
        bump(cluster)
        settle(job, cluster: Int(cluster), stop: false)
    }

    /// A stopped or failed job waits again, ranked by what it has attained and has left.
    private mutating func backToWaiting(_ job: PendingJob, at now: VirtualTime) {
        let i = Int(job.index)
        switch jobs[i].state {
        case .stopping:
            settle(job.index, cluster: Int(jobs[i].cluster), stop: true)
        case .running:
            bankDelivered(i, at: now)
            rule.jobStopped(jobs[i], at: now)
            jobs[i].stoppedAt = now
        case .waiting, .done:
            break
        }
        unrank(i)
        jobs[i].info = job
        jobs[i].state = .waiting
        jobs[i].devices = 0
        jobs[i].shares = []
        jobs[i].key = rule.waitingKey(jobs[i])
        shapes[Int(shapeOfJob[i])].waiting.insert(jobs[i].key)
        if let due = rule.promotion(jobs[i]) {
            let key = PriorityKey(max(due, jobs[i].stoppedAt).microseconds, 0, job: job.index)
            promotions.insert(key)
            jobs[i].promotionEntry = key
        }
    }

    /// Devices on their way back have landed; those released for a reservation count
    /// toward it.
    private mutating func settle(_ job: JobIndex, cluster c: Int, stop: Bool) {
        guard let k = inFlight[c].firstIndex(where: { $0.job == job && $0.isStop == stop }) else {
            preconditionFailure("job \(job): a release the policy did not plan")
        }
        let landed = inFlight[c].remove(at: k)
        if let holder = landed.holder, let h = holds.firstIndex(where: { $0.job == holder }) {
            holds[h].outstanding -= landed.count
        }
    }

    public func wakeup(after now: VirtualTime) -> VirtualTime? {
        var demotion = rankChanges.first.map { VirtualTime(microseconds: $0.major) }
        // Promotions due by now wait for the next event (their jobs stopped in this instant).
        if let promotion = promotions.keys.first(where: { $0.major > now.microseconds }) {
            demotion = min(demotion ?? .limit, VirtualTime(microseconds: promotion.major))
        }
        guard let protection = protectionEnds, protection > now else { return demotion }
        return min(demotion ?? protection, protection)
    }

    // MARK: Decisions

    // The policy is called through `any SchedulingPolicy`, where generic code runs
    // unspecialized (every rule call through a witness table, every job copied to pass it):
    // these make the generic entry jump to a version compiled for each registered rule.
    @_specialize(where Rule == LeastAttainedService)
    @_specialize(where Rule == TierPriority)
    @_specialize(where Rule == ShortestRemainingTime)
    @_specialize(where Rule == GittinsIndex)
    @_specialize(where Rule == FairShare)
    public mutating func nextDecision(at now: VirtualTime, fleet: FleetView) -> SchedulingDecision? {
        if !planned.isEmpty { return planned.removeFirst() }
        passTime = now
        rerankDue(at: now)
        if running.count < fleet.clusters.count {
            running += Array(repeating: RankedJobs(), count: fleet.clusters.count - running.count)
            inFlight += Array(repeating: [], count: fleet.clusters.count - inFlight.count)
        }
        if !prepared {
            rule.prepare(fleet)
            prepared = true
        }
        // A protection that ended may let a search that failed succeed now.
        if let ends = protectionEnds, ends <= now {
            protectionEnds = nil
            bumpAll()
        }
        // Each shape's best-ranked waiting job, best first.
        var heads: [(key: PriorityKey, shape: Int)] = []
        for (s, shape) in shapes.enumerated() { if let first = shape.waiting.first { heads.append((first, s)) } }
        // A job holding a reservation is looked at too, even when others of its shape rank
        // above it: they may be barred from its room (see `held`), it is not.
        for h in holds where jobs[Int(h.job)].state == .waiting && !heads.contains(where: { $0.key.job == h.job }) {
            heads.append((jobs[Int(h.job)].key, Int(shapeOfJob[Int(h.job)])))
        }
        heads.sort { $0.key < $1.key }
        // Within a pass a job that could neither start nor get room stays so (starts only take
        // capacity away, and room made for others is reserved), and under a rule whose
        // preemption follows its order so does a worse-ranked job of the same types needing
        // at least as much: neither is searched again.
        var dominated: [(types: TypeSet, gang: Int)] = []
        // Moving a job for another is the costliest search and the rarest win: only the
        // best-ranked job that cannot start or get room tries it, once per pass, after it has
        // waited `migrationRetry`, and a job whose search found nothing tries again only
        // `migrationRetry` later.
        var migrationTried = false
        for head in heads where jobs[Int(head.key.job)].failedInPass != pass {
            let job = jobs[Int(head.key.job)]
            if let start = start(job, fleet: fleet) { return start }
            if job.tookRoom || holds.contains(where: { $0.job == job.info.index }) { continue }
            if rule.outranksFollowRunningOrder
                && dominated.contains(where: { $0.types == job.info.acceleratorTypes && $0.gang <= job.info.worldSize }) { continue }
            if switches.preemption || switches.elastic, let first = makeRoom(for: job, at: now, fleet: fleet) { return first }
            if switches.migration && !migrationTried && now - max(job.info.submit, job.stoppedAt) >= migrationRetry
                && (migrationTriedAt[job.info.index].map { now - $0 >= migrationRetry } ?? true) {
                migrationTried = true
                if let move = migrateToFit(job, at: now, fleet: fleet) { return move }
                migrationTriedAt[job.info.index] = now
            }
            jobs[Int(head.key.job)].failedInPass = pass
            dominated.append((job.info.acceleratorTypes, job.info.worldSize))
        }
        if switches.elastic && heads.isEmpty, let grow = grow(fleet) { return grow }
        // End of the pass: a reservation whose releases have all landed and whose job still
        // did not start (a better-ranked job took the room, or others took free devices on
        // its nodes) ends here; its job may make room again, and the pass goes on without it
        // so that nothing it held stays idle.
        pass &+= 1
        guard holds.contains(where: { $0.outstanding <= 0 }) else { return nil }
        for h in holds where h.outstanding <= 0 { jobs[Int(h.job)].tookRoom = false }
        holds.removeAll { $0.outstanding <= 0 }
        return nextDecision(at: now, fleet: fleet)
    }

    /// Free accelerators of its cluster a reservation holds now: the gang less what is still
    /// on its way back.
    private func claim(_ hold: Hold) -> Int {
        max(0, jobs[Int(hold.job)].info.worldSize - max(0, hold.outstanding))
    }

    /// Accelerators of `cluster` that `job` may not use: those held for jobs ranked above it,
    /// and for jobs that could take devices from it (under a rule whose preemption order is
    /// not its waiting order, such as `fair-share`, a job stopped to make room must not
    /// restart into that room).
    private func held(in cluster: Int32, against job: TrackedJob) -> Int {
        var total = 0
        for h in holds where h.cluster == cluster && h.job != job.info.index {
            let holder = jobs[Int(h.job)]
            if holder.key < job.key || rule.outranks(holder, job, at: passTime) { total += claim(h) }
        }
        return total
    }

    private func start(_ tracked: TrackedJob, fleet: FleetView) -> SchedulingDecision? {
        let job = tracked.info
        for c in fleet.clusters(of: job.acceleratorTypes) {
            let free = fleet.clusters[Int(c)].free
            guard free.fits(job.worldSize, rule: placement, group: job.tensorGroup),
                  free.totalFree - job.worldSize >= held(in: c, against: tracked) else { continue }
            return .start(job.index, cluster: c, accelerators: job.worldSize)
        }
        if switches.elastic, let (c, devices) = largestSlice(tracked, fleet: fleet) {
            return .start(job.index, cluster: c, accelerators: devices)
        }
        return nil
    }

    /// The cluster offering the most devices (below the world size) that the job's
    /// time-sliced replicas fit in, at a GPU fraction its tier's SLA target allows.
    ///
    /// Fitting shrinks as the device count grows while the fraction and the memory check
    /// improve, so per cluster only the largest count that fits needs checking (found by
    /// bisection); a tier whose target no slicing can meet is not sliced at all.
    private func largestSlice(_ tracked: TrackedJob, fleet: FleetView) -> (Int32, Int)? {
        let job = tracked.info
        let target = mechanisms.slaTarget(for: job.tier)
        func fraction(_ devices: Int) -> Double { job.fraction(on: devices, splicingOverhead: mechanisms.splicingOverhead) }
        guard job.worldSize > 1, fraction(job.worldSize - 1) >= target else { return nil }
        var best: (Int32, Int)?
        for c in fleet.clusters(of: job.acceleratorTypes) {
            let free = fleet.clusters[Int(c)].free
            // A model-parallel job runs whole model replicas: bisect over multiples of them.
            let step = job.replicaDevices
            let usable = job.usableDevices(min(job.worldSize - 1, free.totalFree - held(in: c, against: tracked)))
            guard usable > 0 else { continue }
            var lo = 0, hi = usable / step
            while lo < hi {
                let mid = (lo + hi + 1) / 2
                if free.fits(mid * step, rule: placement, group: job.tensorGroup) { lo = mid } else { hi = mid - 1 }
            }
            lo *= step
            guard lo >= 1, lo > (best?.1 ?? 0), fraction(lo) >= target, fleet.fitsSliced(job, devices: lo, cluster: c) else { continue }
            best = (c, lo)
        }
        return best
    }

    /// Whether a running job may lose devices now: it has made progress since its last
    /// (re)start, did not start in this instant, has run its quantum, and its rule does not
    /// shield it (`PriorityRule.protectedUntil`).
    private mutating func mayTake(_ victim: Int, at now: VirtualTime) -> Bool {
        let runningSince = jobs[victim].runningSince, progressFrom = jobs[victim].progressFrom
        let shield = rule.protectedUntil(jobs[victim], at: now) ?? .zero
        let until = max(progressFrom, runningSince + quantum, shield)
        if runningSince < now && now > progressFrom && now >= until { return true }
        // Wake when a quantum, a restore or a shield ends (a shield without end waits for an
        // event); a job protected only because it started in this instant is looked at again
        // at the next event, as Tiresias does, not a microsecond later.
        if until > now && until < .limit {
            let ends = max(until, progressFrom + VirtualTime(microseconds: 1))
            protectionEnds = min(protectionEnds ?? ends, ends)
        }
        return false
    }

    /// Plans shrinks or preemptions of outranked jobs in one cluster so that `head` fits
    /// there once they are released, and reserves that room.
    private mutating func makeRoom(for head: TrackedJob, at now: VirtualTime, fleet: FleetView) -> SchedulingDecision? {
        let gang = head.info.worldSize
        if clusterEpoch.count < fleet.clusters.count {
            clusterEpoch += Array(repeating: 0, count: fleet.clusters.count - clusterEpoch.count)
        }
        let index = head.info.index
        for c32 in fleet.clusters(of: head.info.acceleratorTypes) where fleet.clusters[Int(c32)].capacity >= gang {
            let c = Int(c32)
            if let failed = roomFailed[index], failed[c] == clusterEpoch[c] { continue }
            var coming = fleet.whatIf(c32)
            for f in inFlight[c] { coming.release(f.shares) }
            // Room already on its way (and not held for a better-ranked job): wait for it.
            if !inFlight[c].isEmpty && coming.fits(gang, rule: placement, group: head.info.tensorGroup)
                && fleet.clusters[c].free.totalFree + inFlight[c].reduce(0, { $0 + $1.count }) - gang >= held(in: c32, against: head) {
                return nil
            }
            guard var victims = chooseVictims(for: head, in: c32, coming: coming, at: now, fleet: fleet) else {
                roomFailed[index, default: Array(repeating: .max, count: fleet.clusters.count)][c] = clusterEpoch[c]
                continue
            }
            // Keep only the victims needed: drop any whose release the gang can do without
            // (for a few victims: each check costs a what-if of all the others).
            var k = victims.count - 1
            while k >= 0 && victims.count > 1 && victims.count <= 16 {
                var without = coming
                for (j, v) in victims.enumerated() where j != k { without.release(jobs[Int(v)].shares) }
                if without.fits(gang, rule: placement, group: head.info.tensorGroup) { victims.remove(at: k) }
                k -= 1
            }
            var decisions: [SchedulingDecision] = []
            var outstanding = 0
            // Shrinks free counts, not node-aligned groups: a head in tensor groups preempts.
            if switches.elastic, head.info.tensorGroup == 1, let shrinks = shrinkPlan(victims, need: gang - fleet.clusters[c].free.totalFree, cluster: c32, fleet: fleet) {
                for (job, target) in shrinks {
                    let freed = jobs[Int(job)].devices - target
                    decisions.append(.resize(job, accelerators: target))
                    inFlight[c].append(InFlight(job: job, shares: [], count: freed, holder: head.info.index, isStop: false))
                    outstanding += freed
                }
            } else {
                guard switches.preemption else { continue }
                for victim in victims {
                    decisions.append(.preempt(victim))
                    outstanding += jobs[Int(victim)].devices
                    stop(Int(victim), for: head.info.index, at: now)
                }
            }
            planned = Array(decisions.dropFirst())
            holds.append(Hold(job: head.info.index, cluster: c32, outstanding: outstanding))
            jobs[Int(head.info.index)].tookRoom = true
            return decisions.first
        }
        return nil
    }

    /// The running jobs of `cluster` to stop so that `head` fits there once they and the
    /// releases already `coming` are back, or nil when no such set exists.
    ///
    /// As Tiresias allocates: the head and the running jobs it outranks share the devices
    /// they hold plus the free and returning ones; walking those jobs from the best-ranked
    /// down, each keeps its devices while they still fit beside the head's gang, and the
    /// rest are stopped, so a large low-ranked job goes before several small ones ranked
    /// below it. Jobs still protected (hysteresis) are always kept. Under a node-local rule,
    /// where that count can be short, victims are taken lowest rank first until a node-exact
    /// what-if says the gang fits.
    private mutating func chooseVictims(for head: TrackedJob, in cluster: Int32, coming: CapacityWhatIf,
                                        at now: VirtualTime, fleet: FleetView) -> [Int32]? {
        let c = Int(cluster), gang = head.info.worldSize
        let available = fleet.clusters[c].free.totalFree + inFlight[c].reduce(0) { $0 + $1.count }
        // Only the lowest-ranked outranked jobs that together cover the shortfall matter: every
        // job above them keeps its devices in the walk below, so the scan stops there. Jobs
        // are referred to by index: copying them would cost more than the search.
        var eligible: [(job: Int32, devices: Int, takeable: Bool)] = []
        var takeable = 0
        for key in running[c].keys.reversed() where takeable < gang - available {
            guard rule.outranks(head, jobs[Int(key.job)], at: now) else {
                if rule.outranksFollowRunningOrder { break } else { continue }
            }
            let may = mayTake(Int(key.job), at: now)
            let devices = jobs[Int(key.job)].devices
            if may { takeable += devices }
            eligible.append((key.job, devices, may))
        }
        guard takeable > 0 else { return nil }
        var remaining = available + takeable - gang
        if remaining >= 0 {
            var victims: [Int32] = []
            for e in eligible.reversed() where e.takeable {
                if e.devices <= remaining { remaining -= e.devices } else { victims.append(e.job) }
            }
            var after = coming
            for v in victims { after.release(jobs[Int(v)].shares) }
            if !victims.isEmpty && after.fits(gang, rule: placement, group: head.info.tensorGroup) { return victims }
        }
        var victims: [Int32] = []
        var after = coming
        for e in eligible where e.takeable {
            victims.append(e.job)
            after.release(jobs[Int(e.job)].shares)
            if after.fits(gang, rule: placement, group: head.info.tensorGroup) { return victims }
        }
        return nil
    }

    /// Splicing instead of preempting (elastic): halve each victim while its replicas fit in
    /// memory, until `need` devices are freed (batch inference, whose speed follows its
    /// devices, may give up all but one); nil when shrinking cannot free enough. Shrinks
    /// free devices on the victims' last nodes, so they are planned only where a count is
    /// exact (`any`, `spread`) or the gang fits one node's worth of freed devices.
    private func shrinkPlan(_ victimIndices: [Int32], need: Int, cluster: Int32, fleet: FleetView) -> [(JobIndex, Int)]? {
        let victims = victimIndices.map { jobs[Int($0)] }
        guard need > 0, !placement.isNodeLocal || need <= fleet.clusters[Int(cluster)].free.acceleratorsPerNode else { return nil }
        var shrinks: [(JobIndex, Int)] = []
        var needed = need
        for victim in victims where needed > 0 && victim.devices > victim.info.replicaDevices {
            // Whole model replicas: a model-parallel victim keeps a multiple of them.
            let half = victim.info.splitsRequests ? 1 : (victim.devices + 1) / 2
            // At least half (rounded up to whole replicas), else enough to cover the need.
            let r = victim.info.replicaDevices
            let target = max((half + r - 1) / r * r, victim.info.usableDevices(victim.devices - needed))
            guard target < victim.devices else { continue }
            guard fleet.fitsSliced(victim.info, devices: target, cluster: cluster) else { continue }
            shrinks.append((victim.info.index, target))
            needed -= victim.devices - target
        }
        return needed <= 0 ? shrinks : nil
    }

    /// Moves one running job out of a cluster where that alone makes `head` fit.
    private mutating func migrateToFit(_ head: TrackedJob, at now: VirtualTime, fleet: FleetView) -> SchedulingDecision? {
        for c32 in fleet.clusters(of: head.info.acceleratorTypes) {
            let c = Int(c32)
            let arriving = fleet.clusters[c].free.totalFree + inFlight[c].reduce(0) { $0 + $1.count }
            var coming: CapacityWhatIf?
            // The lowest-ranked few only: moving a job costs it a dump and a restore.
            for key in running[c].keys.reversed().prefix(32) {
                let mover = jobs[Int(key.job)]
                guard arriving + mover.devices >= head.info.worldSize else { continue }
                if coming == nil {
                    var w = fleet.whatIf(c32)
                    for f in inFlight[c] { w.release(f.shares) }
                    coming = w
                }
                guard var after = coming else { continue }
                after.release(mover.shares)
                guard after.fits(head.info.worldSize, rule: placement, group: head.info.tensorGroup), mayTake(Int(mover.info.index), at: now) else { continue }
                for d in fleet.clusters(of: mover.info.acceleratorTypes) where d != c32
                    && fleet.canMigrate(from: c32, to: d)
                    && fleet.clusters[Int(d)].free.fits(mover.devices, rule: placement, group: mover.info.tensorGroup)
                    && fleet.clusters[Int(d)].free.totalFree - mover.devices >= held(in: d, against: mover) {
                    inFlight[c].append(InFlight(job: mover.info.index, shares: mover.shares, count: mover.devices,
                                                holder: head.info.index, isStop: false))
                    holds.append(Hold(job: head.info.index, cluster: c32, outstanding: mover.devices))
                    jobs[Int(head.info.index)].tookRoom = true
                    return .migrate(mover.info.index, toCluster: d)
                }
            }
        }
        return nil
    }

    /// Grows the best-ranked shrunken job into free devices of its cluster.
    private func grow(_ fleet: FleetView) -> SchedulingDecision? {
        for key in shrunk.keys {
            let job = jobs[Int(key.job)]
            let free = fleet.clusters[Int(job.cluster)].free.freeInGroups(of: job.info.tensorGroup) - held(in: job.cluster, against: job)
            let added = job.info.usableDevices(min(job.info.worldSize - job.devices, free))
            guard added > 0 else { continue }
            return .resize(job.info.index, accelerators: job.devices + added)
        }
        return nil
    }

    // MARK: Ranking

    private mutating func rankRunning(_ i: Int, at now: VirtualTime) {
        jobs[i].key = rule.runningKey(jobs[i], at: now)
        let c = Int(jobs[i].cluster)
        if running.count <= c {
            running += Array(repeating: RankedJobs(), count: c + 1 - running.count)
            inFlight += Array(repeating: [], count: c + 1 - inFlight.count)
        }
        running[c].insert(jobs[i].key)
        if jobs[i].devices < jobs[i].info.worldSize { shrunk.insert(jobs[i].key) }
        if let change = rule.nextRankChange(jobs[i], at: now) {
            let key = PriorityKey(change.microseconds, 0, job: JobIndex(i))
            rankChanges.insert(key)
            jobs[i].rankChange = key
        }
    }

    /// Banks the running job's current run into `TrackedJob.delivered` (it is about to stop
    /// or restart on other devices).
    private mutating func bankDelivered(_ i: Int, at now: VirtualTime) {
        jobs[i].delivered = Int64(jobs[i].deliveredFullSpeed(at: now, splicingOverhead: mechanisms.splicingOverhead).rounded())
    }

    /// Removes a job from whichever orders hold it.
    private mutating func unrank(_ i: Int) {
        let job = jobs[i]
        switch job.state {
        case .waiting:
            shapes[Int(shapeOfJob[i])].waiting.remove(job.key)
            if let entry = job.promotionEntry {
                promotions.remove(entry)
                jobs[i].promotionEntry = nil
            }
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

    /// A victim is stopping: its devices are on their way back for `holder`.
    private mutating func stop(_ i: Int, for holder: JobIndex, at now: VirtualTime) {
        bankDelivered(i, at: now)
        rule.jobStopped(jobs[i], at: now)
        unrank(i)
        jobs[i].state = .stopping
        jobs[i].stoppedAt = now
        inFlight[Int(jobs[i].cluster)].append(InFlight(job: jobs[i].info.index, shares: jobs[i].shares, count: jobs[i].devices,
                                                       holder: holder, isStop: true))
    }

    /// Promotes the waiting jobs whose promotion is due by `now` (not those stopped in this
    /// instant: Tiresias looks at them at its next event): their service count restarts and
    /// they join their new queue (Q0 under `las`) as waiting jobs do, at its back.
    private mutating func promoteDue(at now: VirtualTime) {
        var due: [Int] = []
        for key in promotions.keys {
            guard key.major <= now.microseconds else { break }
            if jobs[Int(key.job)].stoppedAt < now { due.append(Int(key.job)) }
        }
        for i in due {
            unrank(i)
            jobs[i].serviceBase = jobs[i].info.attainedService
            jobs[i].pendingAfterRun = .zero
            jobs[i].rankChangedAt = now
            jobs[i].hasRunInRank = false
            jobs[i].promoted += 1
            jobs[i].key = rule.waitingKey(jobs[i])
            shapes[Int(shapeOfJob[i])].waiting.insert(jobs[i].key)
            // It now outranks more running jobs: its room search starts afresh.
            roomFailed[jobs[i].info.index] = nil
        }
    }

    /// Re-ranks the running jobs whose rank changed by `now`.
    private mutating func rerankDue(at now: VirtualTime) {
        if !promotions.isEmpty { promoteDue(at: now) }
        while let next = rankChanges.first, next.major <= now.microseconds {
            let i = Int(next.job)
            bump(jobs[i].cluster)
            unrank(i)
            jobs[i].rankChangedAt = VirtualTime(microseconds: next.major)
            jobs[i].hasRunInRank = true
            rankRunning(i, at: now)
        }
    }
}

// The policy's bookkeeping types live outside the generic type: nested in it, every array
// of them would need its generic metadata looked up at run time, on the hot path.
fileprivate struct ShapeKey: Hashable {
    var worldSize: Int
    var types: TypeSet
    /// `PriorityRule.group`: jobs the rule's preemption treats alike.
    var group: Int64
}

fileprivate struct Shape {
    var key: ShapeKey
    var waiting = RankedJobs()
}

fileprivate struct InFlight {
    var job: JobIndex
    var shares: [NodeShare]
    var count: Int
    /// The job whose reservation these devices count toward, if any.
    var holder: JobIndex?
    /// The job itself is stopping (a preemption), not only giving back part or a source.
    var isStop: Bool
}

fileprivate struct Hold {
    var job: JobIndex
    var cluster: Int32
    /// Devices still to be released for it.
    var outstanding: Int
}
