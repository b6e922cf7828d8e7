import FleetTwinEngine
import FleetTwinFleet

/// ElasticFlow (Gu et al., ASPLOS'23) deadline-aware admission control with minimum
/// satisfactory shares, as its authors' simulator runs it: schedule `ef-accessctrl`,
/// `scheduler.py::ef_sim_jobs_access_control` with `ef_sim_allocation`, `get_marginal` and
/// `allocate_free_gpus` (pkusys/ElasticFlow 04a0109; research/policies.md section 15). At
/// every division of a cluster:
///
/// 1. Admission: each job not yet admitted, in submission order, is planned with the
///    admitted jobs in EDF order on a fresh free-device timeline (`ElasticFlowPlanner`); if
///    any plan misses its deadline the job is declined (it never runs), unless it is best
///    effort (no deadline), which is admitted anyway, or already runs (adopted).
/// 2. Re-plan: the admitted jobs in EDF order on a fresh timeline; each job's devices now
///    are its plan's.
/// 3. Spare devices (`allocate_free_gpus`): each job that can go up a level within the free
///    devices is priced by re-planning it with the next level forced from now:
///    marginal = (device-time of that plan - device-time of its plan) / added devices;
///    +infinity for a job holding none, -infinity for one that cannot go up. Jobs are sorted
///    by marginal **descending** and the first that fits goes up one level; all are priced
///    again, until the free devices are gone or nobody fits. The descending order is EF's
///    code taken literally (research/policies.md could not reconcile it with the paper,
///    which speaks of the largest reduction of GPU time; a job that gains the most
///    device-time by going up is served first here, as there).
/// 4. Placement: starts and grows go out largest share first (EF `--scheme=elastic` places
///    jobs of a whole node or more, then smaller ones by size, descending).
///
/// Re-planning happens at arrivals, completions and the earliest planned change of any
/// job's devices (EF's `first_scale_event_time`); other divisions (devices released by a
/// resize, a job free to change again) keep the last plan's shares.
///
/// Where FleetTwin differs, and why:
/// - Levels: powers of two up to the job's most devices, plus that most itself (EF's tables
///   are profiled at 1, 2, 4 ... 64; a world of 6 may use 6 here), none below the fewest its
///   replicas fit on.
/// - Each new job is admitted or declined on its own (EF decides all jobs of one event
///   together); EDF ties go to the earlier submission (EF keeps its list's last order).
/// - Decisions are taken at every event (EF merges events less than one slot apart onto the
///   slot after the current event, which delays arrivals and completions).
/// - Jobs held at a re-plan (not progressed since their last change, or stopping) keep
///   their devices from now to their plan's next breakpoint and are planned first.
/// - Mechanism costs are FleetTwin's (`--no-overheads`: none); `restart_cost: compat` charges
///   EF's instead: every running job pauses 2 s + 2 (log2 g + 1) s at every re-plan
///   (`utils.estimate_overhead`; `RestartCost.elasticFlowEvents`), each re-plan here being
///   one of EF's scheduling events (`ElasticDivision.isEvent`).
/// - Deadlines are judged on real completion times (`DeadlineMetrics`); EF judges them on its
///   plan, overheads excluded.
///
/// Cost per division, as EF's: a plan is O(levels x timeline steps), the timeline has O(jobs)
/// steps; admission and re-planning plan every admitted job (O(levels x jobs^2)), and each
/// spare device re-prices every running job that could take it (a job holding none is
/// planned only when chosen). A baseline's cost: the heterogeneous example (400 jobs, 96
/// devices) takes minutes in a debug build where `afs` takes a second.
public struct ElasticFlowRule: ElasticRule {
    public let name = "elasticflow"
    /// The planning slot (EF `--scheduling_slot`; 60 s in its simulation scripts).
    public let slot: VirtualTime
    public var placesLargestFirst: Bool { true }

    /// Per job index: admitted (a plan was guaranteed, or best effort).
    private var admitted: [Bool] = []
    private var nextChange: VirtualTime?
    /// The jobs (candidates and held, by index, increasing) and shares of the last re-plan.
    private var lastJobs: [JobIndex] = []
    private var lastShares: [Int] = []

    public init(slot: VirtualTime = .seconds(Int64(60))) {
        self.slot = slot
    }

    public func nextDivision(after now: VirtualTime) -> VirtualTime? {
        nextChange.flatMap { $0 > now ? $0 : nil }
    }

    public mutating func forget(_ job: JobIndex) {
        if Int(job) < admitted.count { admitted[Int(job)] = false }
    }

    private func isAdmitted(_ job: JobIndex) -> Bool { Int(job) < admitted.count && admitted[Int(job)] }

    private mutating func admit(_ job: JobIndex) {
        if admitted.count <= Int(job) { admitted += Array(repeating: false, count: Int(job) + 1 - admitted.count) }
        admitted[Int(job)] = true
    }

    public mutating func divide(_ jobs: [ElasticCandidate], held: [ElasticCandidate], in cluster: ElasticCluster, at now: VirtualTime) -> ElasticDivision {
        let capacity = cluster.capacity
        let t = now.microseconds, slot = self.slot.microseconds
        // EF re-plans at arrivals, completions and planned changes only; a division FleetTwin's
        // mechanisms cause (devices released after a resize, a job that may change again)
        // keeps the plan, or the jobs would trade devices at every release.
        let present = (jobs + held).map(\.job).sorted()
        if present == lastJobs, nextChange.map({ t < $0.microseconds }) ?? true {
            return ElasticDivision(shares: jobs.map { lastShares[lastJobs.firstIndex(of: $0.job)!] }, isEvent: false)
        }
        // Held jobs are admitted already (they ran), so they count as such.
        // Indices into `jobs` of the admitted ones, in submission order.
        var members = jobs.indices.filter { isAdmitted(jobs[$0].job) }
        var declined: [JobIndex] = []
        for k in jobs.indices where !isAdmitted(jobs[k].job) {
            // A job that already runs (one adopted from an observed state) is admitted: EF
            // declines arrivals only.
            if jobs[k].devices > 0 {
                admit(jobs[k].job)
                members.append(k)
                continue
            }
            let (_, _, allMeet) = Self.planAll((members + [k]).map { jobs[$0] }, held: held, capacity: capacity, now: t, slot: slot)
            if allMeet || jobs[k].deadline == nil {
                admit(jobs[k].job)
                members.append(k)
            } else {
                declined.append(jobs[k].job)
            }
        }
        members.sort()
        let pool = members.map { jobs[$0] }
        var (plans, timeline, _) = Self.planAll(pool, held: held, capacity: capacity, now: t, slot: slot)
        var devices = plans.map { $0.devices(at: t) }
        Self.handOutSpare(pool, plans: &plans, devices: &devices, timeline: &timeline, capacity: capacity, now: t, slot: slot)

        var shares = Array(repeating: 0, count: jobs.count)
        for (k, j) in members.enumerated() { shares[j] = devices[k] }
        // The next planned change of devices (a completion comes as its own event), and the
        // instant held jobs may change.
        var next: Int64?
        for (k, plan) in plans.enumerated() {
            if let change = plan.steps.first(where: { $0.at > t && $0.devices != devices[k] })?.at {
                next = min(next ?? change, change)
            }
        }
        nextChange = next.map { VirtualTime(microseconds: $0) }
        lastJobs = present.filter { j in !declined.contains(j) }
        lastShares = lastJobs.map { j in
            if let k = jobs.firstIndex(where: { $0.job == j }) { return shares[k] }
            return held.first { $0.job == j }!.devices
        }
        return ElasticDivision(shares: shares, declined: declined)
    }

    /// The planner's view of a candidate.
    static func job(_ c: ElasticCandidate) -> ElasticFlowJob {
        var levels: [Int] = []
        var n = 1
        while n < c.maxDevices {
            if n >= c.minDevices { levels.append(n) }
            n *= 2
        }
        levels.append(c.maxDevices)
        return ElasticFlowJob(levels: levels, rates: levels.map { c.rate(on: $0) * c.speed }, remaining: c.remaining,
                              deadline: c.deadline?.microseconds)
    }

    /// Plans held jobs (their devices forced from now), then `jobs` in EDF order, on a fresh
    /// timeline (EF `estimate_all_jobs`). Returns the plans of `jobs` in their order, the
    /// timeline, and whether every plan meets its deadline.
    static func planAll(_ jobs: [ElasticCandidate], held: [ElasticCandidate], capacity: Int, now: Int64, slot: Int64)
        -> (plans: [ElasticFlowPlan], timeline: FreeTimeline, allMeet: Bool) {
        var timeline = FreeTimeline(now: now, total: capacity)
        var allMeet = true
        for h in held where h.devices > 0 {
            let plan = ElasticFlowPlanner.plan(job(h), on: &timeline, now: now, slot: slot, total: capacity, forced: h.devices)
            allMeet = allMeet && plan.meets
        }
        let order = jobs.indices.sorted {
            (jobs[$0].deadline?.microseconds ?? .max, jobs[$0].job) < (jobs[$1].deadline?.microseconds ?? .max, jobs[$1].job)
        }
        var plans = Array(repeating: ElasticFlowPlan.none, count: jobs.count)
        for k in order {
            plans[k] = ElasticFlowPlanner.plan(job(jobs[k]), on: &timeline, now: now, slot: slot, total: capacity)
            allMeet = allMeet && plans[k].meets
        }
        return (plans, timeline, allMeet)
    }

    /// EF `allocate_free_gpus` with `get_marginal`: free devices now go one level at a time
    /// to the job of highest marginal device-time (see the type's documentation).
    static func handOutSpare(_ jobs: [ElasticCandidate], plans: inout [ElasticFlowPlan], devices: inout [Int],
                             timeline: inout FreeTimeline, capacity: Int, now: Int64, slot: Int64) {
        var free = timeline.free(at: now)
        guard free > 0, !jobs.isEmpty else { return }
        let views = jobs.map(job)
        var marginal = Array(repeating: -Double.infinity, count: jobs.count)
        var eligible = Array(repeating: false, count: jobs.count)
        var priced: [(plan: ElasticFlowPlan, timeline: FreeTimeline)?] = Array(repeating: nil, count: jobs.count)
        // The job's plan with the next level forced from now, on the timeline without its own plan.
        func replan(_ k: Int) -> (plan: ElasticFlowPlan, timeline: FreeTimeline) {
            var line = timeline
            let steps = plans[k].steps
            for (s, step) in steps.enumerated() {
                line.take(-step.devices, from: step.at, to: s + 1 < steps.count ? steps[s + 1].at : plans[k].end)
            }
            line.merge()
            let plan = ElasticFlowPlanner.plan(views[k], on: &line, now: now, slot: slot, total: capacity,
                                               forced: views[k].nextLevel(after: devices[k]))
            return (plan, line)
        }
        func price(_ k: Int) {
            let next = views[k].nextLevel(after: devices[k])
            eligible[k] = next != devices[k] && next - devices[k] <= free
            priced[k] = nil
            guard eligible[k] else {
                marginal[k] = -.infinity
                return
            }
            // A job holding nothing comes first whatever its plan (EF: sys.maxsize), so its plan
            // is made only if it is chosen.
            if devices[k] == 0 {
                marginal[k] = .infinity
                return
            }
            let repriced = replan(k)
            priced[k] = repriced
            marginal[k] = (repriced.plan.deviceTime - plans[k].deviceTime) / Double(next - devices[k])
        }
        for k in jobs.indices { price(k) }
        // Sorted descending, ties in the previous order (Python's stable sort).
        var order = Array(jobs.indices)
        func sort() { order = order.enumerated().sorted { (marginal[$0.element], -$0.offset) > (marginal[$1.element], -$1.offset) }.map(\.element) }
        sort()
        while free > 0 {
            guard let k = order.first(where: { eligible[$0] }) else { break }
            let (plan, line) = priced[k] ?? replan(k)
            // A plan that does not hold the next level now (a job that cannot run at it) is
            // no step up: the job leaves the hand-out.
            guard plan.devices(at: now) > devices[k], plan.devices(at: now) - devices[k] <= free else {
                eligible[k] = false
                marginal[k] = -.infinity
                sort()
                continue
            }
            free -= plan.devices(at: now) - devices[k]
            devices[k] = plan.devices(at: now)
            plans[k] = plan
            timeline = line
            for j in jobs.indices { price(j) }
            sort()
        }
    }
}
