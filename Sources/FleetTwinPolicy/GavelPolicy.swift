import FleetTwinEngine
import FleetTwinFleet

/// Gavel's round-based scheduling (Narayanan et al., OSDI'20; stanford-futuredata/gavel
/// `scheduler/scheduler.py` at c4fa400, research/policies.md §6) with one of its allocation
/// policies (`GavelAllocation`): the policy computes X, the fraction of time each job should
/// run on each accelerator type, and rounds of `round` (360 s) time-share the fleet to follow
/// it.
///
/// As Gavel's simulator does:
/// - each job arrives with `round/2` of "time so far" on every type;
/// - X is recomputed only at a round's start, when jobs arrived or left since the last
///   computation, and at most every `resetInterval` (1,920 s) after the last one, except
///   while the last reset happened at time zero (Gavel's `last_reset_time == 0` test); a
///   reset first folds each job's shortfall into its deficit: deficit_j += X_j·elapsed −
///   (time so far_j − round/2), then sets every time so far back to round/2;
/// - at each round, per type (in the fleet's type order), jobs are ranked by priority
///   X_ij / (time so far_ij / Σ_k time so far_kj) (X·10^9 when the share is 0; 0 without an
///   allocation), then deficit, then X, descending; the per-type lists are walked in turn and
///   a job is taken if it is not taken yet, can run on the type and its gang fits the type's
///   remaining accelerators;
/// - a job taken again keeps its accelerators (Gavel's lease extension); the others are
///   preempted and the taken ones started;
/// - a round ends `round` after it began, or earlier once every job it dispatched has
///   finished; when no job is left, the next arrival starts a round and the throttle is
///   lifted (Gavel forces a reset then).
///
/// Where FleetTwin differs, and why:
/// - ties that Gavel leaves to floating-point noise in its solver and deficits go to the job
///   with less remaining work (finish-time fairness and makespan only, which read it), then
///   less running time overall, then the earlier job (this reproduces the golden cases G1-G3);
/// - accelerators Gavel leaves idle within a round (a job without an allocation yet, a job
///   that finished early) go to the next waiting jobs in the round's order, because a
///   FleetTwin run never idles capacity a waiting job fits; a job started so runs until the
///   round ends;
/// - Gavel shuffles the type order per round for its agnostic policies; here it is fixed;
/// - Gavel truncates each round's steps to an integer (a tiny extra round at the end); work
///   here is continuous;
/// - preemption costs what FleetTwin's mechanisms charge (Gavel's simulator charges nothing:
///   `MechanismSettings.free`, `replay --no-overheads`, reproduces it).
///
/// `gavel-gandiva` is Gavel's `Gandiva_Packing` (`policies/gandiva.py`, research/policies.md
/// §5b) on these rounds: its allocation is `GandivaPacking`'s (pairs of equal scale factor
/// drawn from a generator seeded by the run's seed, persisting across recomputations, equal
/// time per combination); a pair is taken in the round's walk as one gang (when the first of
/// the two is reached, if the other may run on the type), started as one job and the other
/// co-located on its accelerators (`SchedulingDecision.colocate`), each at its packed /
/// isolated throughput on the type from `colocation` (Gavel's `simulation_throughputs.json`,
/// matched by the job's `application` and world size and the type's name, any case, or its
/// part before '-'). Where
/// it differs from Gavel's: time so far is kept per job, not per combination (the members of
/// a pair each count the time they ran together); a pair whose members already run apart is
/// packed only once one of them stops; a co-located pair no longer taken together this round
/// is split by preempting the one that joined; when one of a pair leaves, the other runs
/// alone at full speed at once (Gavel keeps the round's packed rate). Without `colocation`,
/// or for jobs whose type the table lacks, no job is packed: equal time shares in rounds.
///
/// Cost: each round ranks every active job, O(jobs x types) plus a solve when X is
/// recomputed; passes between rounds walk the round's order only while accelerators are free.
public struct GavelPolicy: SchedulingPolicy {
    /// Which allocation policy computes X.
    public enum Objective: String, Sendable, CaseIterable {
        /// `max_min_fairness` (Gavel's LAS): equal accelerator-time, every type alike.
        case maxMinFairness = "gavel-las"
        /// `max_min_fairness_perf`: heterogeneity-aware LAS over per-type throughputs.
        case maxMinFairnessPerf = "gavel-las-perf"
        /// `finish_time_fairness_perf`: Themis' finish-time fairness as Gavel implements it.
        case finishTimeFairness = "gavel-ftf"
        /// `min_total_duration_perf`: the allocation that minimises the makespan.
        case minTotalDuration = "gavel-makespan"
        /// `Gandiva_Packing`: equal time per combination, random pairs of equal scale factor
        /// packed on the same accelerators (`GandivaPacking`).
        case gandiva = "gavel-gandiva"

        /// Whether it reads jobs' remaining work (an oracle).
        public var readsRemainingWork: Bool { self == .finishTimeFairness || self == .minTotalDuration }
    }

    public var name: String { objective.rawValue }
    public let placement: PlacementRule
    public let objective: Objective
    /// Round length (Gavel's `time_per_iteration`, 360 s).
    public let round: VirtualTime
    /// Least time between two recomputations of X (`minimum_time_between_allocation_resets`,
    /// 1,920 s).
    public let resetInterval: VirtualTime

    private struct JobState {
        var job: PendingJob
        /// µs run on each type since the last reset, from round/2.
        var timeSoFar: [Int64]
        /// Seconds of shortfall against X on each type, summed over resets.
        var deficit: [Double]
        var allocation: [Double]?
        /// Where it runs now (-1: waiting or stopping), since when, and since when its time so
        /// far is counted.
        var cluster: Int32 = -1
        var type: Int32 = -1
        var startedAt = VirtualTime.zero
        var since = VirtualTime.zero
        var progressFrom = VirtualTime.zero
        var stopping = false
        /// µs it has run in all, for ties.
        var service: Int64 = 0
        /// Finish-time fairness state (seconds): time its progress would have taken on the
        /// isolated share, and the remaining work and isolated throughput at the last solve.
        var isolatedTimeSoFar = 0.0
        var lastRemaining: Double?
        var lastIsolated: Double?
        var running: Bool { cluster >= 0 }
    }

    private var states: [JobIndex: JobState] = [:]  // looked up, never iterated
    /// Active jobs in arrival order.
    private var active: [JobIndex] = []
    private var typeCount = 0
    private var workerTimeSoFar: [Int64] = []
    private var lastReset = VirtualTime.zero
    private var needsUpdate = false
    private var roundEnd: VirtualTime?
    /// The round's jobs: those taken first (with their type), then the rest in rank order.
    private var order: [JobIndex] = []
    private var takenType: [JobIndex: Int32] = [:]
    private var takenLeft = 0
    private var stopsInFlight = 0
    private var queued: [SchedulingDecision] = []
    private var cursor = 0
    /// Clusters held in this pass for taken jobs waiting on the round's preemptions.
    private var held: [Bool] = []
    public private(set) var reservations: [Reservation] = []

    /// `gavel-gandiva`'s throughput table (nil: nothing is packed), its pairing, the current
    /// allocation's pairs, and who shares whose accelerators now (both ways; looked up only).
    public let colocation: ColocationThroughputs?
    private var packing: GandivaPacking
    private var pairOf: [JobIndex: JobIndex] = [:]
    private var sharesWith: [JobIndex: JobIndex] = [:]
    /// Jobs that joined another's accelerators (`colocate`), as opposed to holding them.
    private var joined: Set<JobIndex> = []  // looked up only

    /// `colocation` and `seed` (the run's) are read by `gavel-gandiva` only.
    public init(objective: Objective, placement: PlacementRule = .bestFit, round: VirtualTime = .seconds(Int64(360)),
                resetInterval: VirtualTime = .seconds(Int64(1920)), colocation: ColocationThroughputs? = nil, seed: UInt64 = 0) {
        self.colocation = colocation
        self.packing = GandivaPacking(seed: seed)
        self.objective = objective
        self.placement = placement
        self.round = round
        self.resetInterval = resetInterval
    }

    // MARK: What happened

    public mutating func jobArrived(_ job: PendingJob, at now: VirtualTime) {
        states[job.index] = JobState(job: job, timeSoFar: Array(repeating: round.microseconds / 2, count: typeCount),
                                     deficit: Array(repeating: 0, count: typeCount))
        active.append(job.index)
        if roundEnd != nil { order.append(job.index) }
        needsUpdate = true
    }

    /// A job that arrives already running (a fork of an observed state) is taken as running
    /// where it is; its accelerator type is read from the fleet at the next pass.
    public var adoptsRunningJobs: Bool { true }
    private var untyped: [JobIndex] = []

    public mutating func jobStarted(_ job: PendingJob, on run: JobRun, at now: VirtualTime) {
        guard var s = states[job.index] else { return }
        if s.type < 0 { untyped.append(job.index) }
        s.job = job
        s.cluster = run.cluster
        s.startedAt = now
        s.since = now
        s.progressFrom = run.progressFrom
        states[job.index] = s
    }

    public mutating func jobCompleted(_ job: JobIndex, at now: VirtualTime) {
        unshare(job)
        guard var s = states.removeValue(forKey: job) else { return }
        account(&s, until: now)
        active.removeAll { $0 == job }
        if takenType[job] != nil { takenLeft -= 1 }
        needsUpdate = true
    }

    public mutating func jobPreempted(_ job: PendingJob, at now: VirtualTime) {
        unshare(job.index)
        guard var s = states[job.index] else { return }
        account(&s, until: now)
        if s.stopping { stopsInFlight -= 1 }
        s.stopping = false
        s.cluster = -1
        s.job = job
        states[job.index] = s
    }

    /// The engine ends a sharing when either job gives its accelerators back.
    private mutating func unshare(_ job: JobIndex) {
        guard let other = sharesWith.removeValue(forKey: job) else { return }
        sharesWith[other] = nil
        joined.remove(job)
        joined.remove(other)
    }

    /// The table's job type of `job`: its application at its world size (nil: unnamed).
    private func jobType(_ job: PendingJob) -> GavelJobType? {
        job.application.isEmpty ? nil : GavelJobType(model: job.application, scaleFactor: job.worldSize)
    }

    /// What `job` keeps of its isolated throughput packed with `other` on `type` (1 when the
    /// table cannot say, which the pairing rules out).
    private func keeps(_ job: PendingJob, with other: PendingJob, type: Int32, fleet: FleetView) -> Double {
        guard let colocation, let a = jobType(job), let b = jobType(other) else { return 1 }
        let worker = workerName(Int(type), fleet)
        guard let (packed, _) = colocation.packed(a, b, on: worker), let alone = colocation.isolated(a, on: worker), alone > 0, packed > 0 else { return 1 }
        return min(1, packed / alone)
    }

    /// The table's name of accelerator type `type`: the fleet's (any case), else its part
    /// before the first '-' (FleetTwin's `v100-32gb` is Gavel's `v100`).
    private func workerName(_ type: Int, _ fleet: FleetView) -> String {
        let name = fleet.typeNames[type].lowercased()
        guard let colocation, !colocation.workerTypes.contains(name), let dash = name.firstIndex(of: "-") else { return name }
        return String(name[..<dash])
    }

    /// Adds the time run since the last accounting to the job's and its type's time so far.
    private mutating func account(_ s: inout JobState, until now: VirtualTime) {
        guard s.running, s.type >= 0 else { return }
        let ran = (now - s.since).microseconds
        s.timeSoFar[Int(s.type)] += ran
        workerTimeSoFar[Int(s.type)] += ran
        s.service += ran
        s.since = now
    }

    // MARK: Deciding

    public func wakeup(after now: VirtualTime) -> VirtualTime? {
        guard let end = roundEnd, end > now else { return nil }
        return end
    }

    public mutating func nextDecision(at now: VirtualTime, fleet: FleetView) -> SchedulingDecision? {
        if typeCount == 0 { learnTypes(fleet) }
        for j in untyped where states[j]?.running == true { states[j]!.type = fleet.clusters[Int(states[j]!.cluster)].acceleratorType }
        untyped.removeAll()
        if !active.isEmpty, roundEnd.map({ now >= $0 || (takenLeft == 0 && !takenType.isEmpty) }) ?? true {
            beginRound(at: now, fleet: fleet)
        } else if active.isEmpty && roundEnd != nil {
            roundEnd = nil
            lastReset = .zero  // Gavel forces a reset when nothing is left to run
            order.removeAll()
            takenType.removeAll()
        }
        if cursor == 0 { reservations.removeAll(keepingCapacity: true) }
        if !queued.isEmpty { return queued.removeFirst() }
        if let decision = fill(at: now, fleet: fleet) { return decision }
        finishPass(fleet)
        return nil
    }

    private mutating func learnTypes(_ fleet: FleetView) {
        typeCount = fleet.typeNames.count
        workerTimeSoFar = Array(repeating: 0, count: typeCount)
        for j in active {
            states[j]!.timeSoFar = Array(repeating: round.microseconds / 2, count: typeCount)
            states[j]!.deficit = Array(repeating: 0, count: typeCount)
        }
    }

    /// Starts the next job of the round's order that fits: taken jobs on their type, then
    /// any waiting job, except on clusters held for a taken job that waits for this round's
    /// preempted jobs to release their accelerators.
    private mutating func fill(at now: VirtualTime, fleet: FleetView) -> SchedulingDecision? {
        if held.count != fleet.clusters.count { held = Array(repeating: false, count: fleet.clusters.count) }
        guard fleet.clusters.contains(where: { $0.free.totalFree > 0 }) else { return nil }
        while cursor < order.count {
            let j = order[cursor]
            cursor += 1
            guard var s = states[j], !s.running, !s.stopping else { continue }
            // A taken pair's member joins its partner where the partner runs alone.
            if takenType[j] != nil, let p = pairOf[j], takenType[p] != nil, let host = states[p], host.running, !host.stopping,
               host.type >= 0, sharesWith[p] == nil, host.job.worldSize == s.job.worldSize, s.job.acceleratorTypes.contains(host.type) {
                s.type = host.type
                states[j] = s
                sharesWith[j] = p
                sharesWith[p] = j
                joined.insert(j)
                return .colocate(j, with: p, keeps: keeps(s.job, with: host.job, type: host.type, fleet: fleet),
                                 hostKeeps: keeps(host.job, with: s.job, type: host.type, fleet: fleet))
            }
            // A taken job goes to its type; failing that (fragmentation, failed nodes) to any
            // type it runs on with room now, rather than leave that room idle.
            var cluster = takenType[j].flatMap { fleet.firstFit(s.job.worldSize, types: .single($0), rule: placement, group: s.job.tensorGroup) }
            if cluster == nil {
                cluster = fleet.clusters(of: s.job.acceleratorTypes).first {
                    !held[Int($0)] && fleet.clusters[Int($0)].free.fits(s.job.worldSize, rule: placement, group: s.job.tensorGroup)
                }
            }
            if cluster == nil, let type = takenType[j], stopsInFlight > 0 {
                for c in fleet.clusters(ofType: type) where !held[Int(c)] {
                    held[Int(c)] = true
                    reservations.append(Reservation(job: j, cluster: c, accelerators: 0))
                }
            }
            guard let c = cluster else { continue }
            s.type = fleet.clusters[Int(c)].acceleratorType
            states[j] = s
            // Its taken partner, waiting, joins it once it has started (the next decision).
            if takenType[j] != nil, let p = pairOf[j], takenType[p] != nil, let other = states[p], !other.running, !other.stopping,
               other.job.worldSize == s.job.worldSize, other.job.acceleratorTypes.contains(s.type) {
                states[p]!.type = s.type
                sharesWith[j] = p
                sharesWith[p] = j
                joined.insert(p)
                queued.append(.colocate(p, with: j, keeps: keeps(other.job, with: s.job, type: s.type, fleet: fleet),
                                        hostKeeps: keeps(s.job, with: other.job, type: s.type, fleet: fleet)))
            }
            return .start(j, cluster: c, accelerators: s.job.worldSize)
        }
        return nil
    }

    /// The clusters held this pass hold all their free accelerators for the taken job that
    /// waits there; the holds end with the pass (the stops land at this instant or the next).
    private mutating func finishPass(_ fleet: FleetView) {
        for i in reservations.indices { reservations[i].accelerators = fleet.clusters[Int(reservations[i].cluster)].free.totalFree }
        reservations.removeAll { $0.accelerators == 0 }
        for i in held.indices { held[i] = false }
        cursor = 0
    }

    // MARK: A round

    private mutating func beginRound(at now: VirtualTime, fleet: FleetView) {
        for j in active {
            var s = states[j]!
            account(&s, until: now)
            states[j] = s
        }
        if needsUpdate && (lastReset == .zero || now - lastReset >= resetInterval) {
            reset(at: now)
            allocate(at: now, fleet: fleet)
            needsUpdate = false
        }
        roundEnd = now + round
        rank(at: now, fleet: fleet)
        cursor = 0
    }

    /// Gavel's `_reset_time_run_so_far`.
    private mutating func reset(at now: VirtualTime) {
        let elapsed = (now - lastReset).seconds
        let half = round.microseconds / 2
        for t in 0..<typeCount { workerTimeSoFar[t] = 0 }
        for j in active {
            var s = states[j]!
            for t in 0..<typeCount {
                let received = Double(s.timeSoFar[t] - half) / 1e6
                s.deficit[t] += (s.allocation?[t] ?? 0) * elapsed - received
                s.timeSoFar[t] = half
                workerTimeSoFar[t] += half
            }
            states[j] = s
        }
        lastReset = now
    }

    /// Job i's throughput on each type, as the objective sees it.
    private func throughputs(_ job: PendingJob, fleet: FleetView) -> [Double] {
        (0..<typeCount).map { t in
            guard job.acceleratorTypes.contains(Int32(t)), !fleet.clusters(ofType: Int32(t)).isEmpty else { return 0 }
            if objective == .maxMinFairness || objective == .gandiva { return 1 }
            let speed = job.typeSpeeds.isEmpty ? (fleet.typeSpeeds.isEmpty ? 1 : fleet.typeSpeeds[t]) : job.typeSpeeds[t]
            return max(0, speed)
        }
    }

    /// What is left of a job's work now, in seconds of reference work.
    private func remaining(_ s: JobState, at now: VirtualTime, fleet: FleetView) -> Double {
        var left = Double(s.job.remainingWork)
        if s.running, now > s.progressFrom, s.type >= 0 {
            left -= throughputs(s.job, fleet: fleet)[Int(s.type)] * Double((now - s.progressFrom).microseconds)
        }
        return max(0, left) / 1e6
    }

    private mutating func allocate(at now: VirtualTime, fleet: FleetView) {
        let workers = (0..<typeCount).map { t in fleet.clusters(ofType: Int32(t)).reduce(0) { $0 + fleet.clusters[Int($1)].capacity } }
        let rows = active.map { throughputs(states[$0]!.job, fleet: fleet) }
        let problem = GavelAllocation.Problem(throughputs: rows, scaleFactors: active.map { states[$0]!.job.worldSize }, workers: workers)
        var x: [[Double]]?
        switch objective {
        case .gandiva:
            let members = active.map { j in
                GandivaPacking.Member(index: j, scaleFactor: states[j]!.job.worldSize, type: colocation == nil ? nil : jobType(states[j]!.job))
            }
            // The cluster's types are those it has accelerators of (Gavel's cluster spec).
            let present = (0..<typeCount).filter { workers[$0] > 0 }
            let combinations = packing.allocate(members, workers: present.map { (workerName($0, fleet), workers[$0]) },
                                                throughputs: colocation ?? ColocationThroughputs())
            pairOf.removeAll()
            var shares: [JobIndex: [Double]] = [:]  // looked up only
            for c in combinations {
                var row = Array(repeating: 0.0, count: typeCount)
                for (k, t) in present.enumerated() { row[t] = c.shares[k] }
                for j in c.jobs { shares[j] = row }
                if c.jobs.count == 2 { pairOf[c.jobs[0]] = c.jobs[1]; pairOf[c.jobs[1]] = c.jobs[0] }
            }
            x = active.enumerated().map { i, j in zip(shares[j]!, rows[i]).map { $1 > 0 ? $0 : 0 } }
        case .maxMinFairness, .maxMinFairnessPerf:
            x = try? GavelAllocation.maxMinFairness(problem).x
        case .minTotalDuration:
            x = try? GavelAllocation.minTotalDuration(problem, remaining: active.map { remaining(states[$0]!, at: now, fleet: fleet) }).x
        case .finishTimeFairness:
            let left = active.map { remaining(states[$0]!, at: now, fleet: fleet) }
            let isolated = problem.isolatedThroughputs
            // cum_isolated_time += progress since the last solve / the isolated throughput then.
            for (i, j) in active.enumerated() {
                if let before = states[j]!.lastRemaining, let iso = states[j]!.lastIsolated, iso > 0 {
                    states[j]!.isolatedTimeSoFar += max(0, before - left[i]) / iso
                }
                states[j]!.lastRemaining = left[i]
                states[j]!.lastIsolated = isolated[i]
            }
            x = try? GavelAllocation.finishTimeFairness(problem, remaining: left, age: active.map { (now - states[$0]!.job.submit).seconds },
                                                        isolatedTimeSoFar: active.map { states[$0]!.isolatedTimeSoFar }).x
        }
        // A solver failure falls back to the isolated (equal) shares, as Gavel's FTF does.
        let shares: [[Double]] = x ?? zip(problem.isolatedShares, rows).map { shares, row in
            zip(shares, row).map { $1 > 0 ? $0 : 0 }
        }
        for (i, j) in active.enumerated() { states[j]!.allocation = shares[i] }
    }

    /// Ranks the active jobs per type, takes what fits (Gavel's
    /// `_schedule_jobs_on_workers_helper`), and queues the preemptions of running jobs not
    /// taken again on their type.
    private mutating func rank(at now: VirtualTime, fleet: FleetView) {
        var free = (0..<typeCount).map { t in
            fleet.clusters(ofType: Int32(t)).reduce(0) { sum, c in
                let nodes = fleet.clusters[Int(c)].nodes
                return sum + nodes.capacity - nodes.isDown.reduce(0) { $0 + ($1 ? nodes.acceleratorsPerNode : 0) }
            }
        }
        takenType.removeAll(keepingCapacity: true)
        var taken: [JobIndex] = []
        // A job that started or resumed in this instant, or has not yet made progress, keeps
        // its accelerators this round.
        for j in active {
            let s = states[j]!
            guard s.running, s.type >= 0, s.startedAt == now || s.progressFrom > now else { continue }
            takenType[j] = s.type
            free[Int(s.type)] -= s.job.worldSize
            taken.append(j)
        }
        typealias Entry = (job: JobIndex, type: Int32, canRun: Bool, priority: Double, deficit: Double, allocation: Double, left: Double,
                           service: Int64, arrival: Int)
        var entries: [Entry] = []
        let rows = active.map { throughputs(states[$0]!.job, fleet: fleet) }  // once per round, not per type
        // Ties: the oracle objectives, which read remaining work anyway, prefer the job with
        // less of it; the others cannot see it.
        let left = active.map { objective.readsRemainingWork ? remaining(states[$0]!, at: now, fleet: fleet) : 0 }
        for t in 0..<typeCount {
            var perType: [Entry] = []
            for (arrival, j) in active.enumerated() {
                let s = states[j]!
                let x = s.allocation?[t] ?? 0
                let fraction = workerTimeSoFar[t] == 0 ? 0 : Double(s.timeSoFar[t]) / Double(workerTimeSoFar[t])
                let canRun = rows[arrival][t] > 0
                let priority = s.allocation == nil || x == 0 || !canRun ? 0 : fraction == 0 ? x * 1e9 : x / fraction
                perType.append((j, Int32(t), canRun, priority, s.deficit[t], x, left[arrival], s.service, arrival))
            }
            perType.sort {
                ($0.priority, $0.deficit, $0.allocation) != ($1.priority, $1.deficit, $1.allocation)
                    ? ($0.priority, $0.deficit, $0.allocation) > ($1.priority, $1.deficit, $1.allocation)
                    : ($0.left, $0.service, $0.arrival) < ($1.left, $1.service, $1.arrival)
            }
            entries += perType
        }
        var rest: [JobIndex] = []
        var seen = Set<JobIndex>(taken)
        for e in entries {
            let s = states[e.job]!
            if takenType[e.job] == nil, free[Int(e.type)] > 0, !s.stopping, e.canRun,
               s.job.worldSize <= free[Int(e.type)] {
                free[Int(e.type)] -= s.job.worldSize
                takenType[e.job] = e.type
                taken.append(e.job)
                // Its pair (gavel-gandiva) is taken with it, as one gang on the same accelerators,
                // unless the two already run apart.
                if let p = pairOf[e.job], takenType[p] == nil, let other = states[p], !other.stopping,
                   other.job.acceleratorTypes.contains(e.type) {
                    if other.running && s.running && sharesWith[p] != e.job { free[Int(e.type)] -= other.job.worldSize }
                    takenType[p] = e.type
                    taken.append(p)
                    seen.insert(p)
                }
            } else if !seen.contains(e.job) {
                rest.append(e.job)
            }
            seen.insert(e.job)
        }
        rest.removeAll { takenType[$0] != nil }
        order = taken + rest
        takenLeft = taken.count
        queued.removeAll()
        for j in active {
            let s = states[j]!
            guard s.running, !s.stopping else { continue }
            // A job that joined another's accelerators and is taken again, but not with it as
            // a pair, leaves it (unless it only just started).
            let split = joined.contains(j) && takenType[j] != nil && sharesWith[j].map { takenType[$0] != nil && pairOf[j] != $0 } == true
                && s.startedAt != now && s.progressFrom <= now
            guard takenType[j] != s.type || split else { continue }
            states[j]!.stopping = true
            stopsInFlight += 1
            queued.append(.preempt(j))
        }
    }
}
