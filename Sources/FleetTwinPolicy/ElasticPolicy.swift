import FleetTwinEngine
import FleetTwinFleet

/// One job as an elastic allocation rule (`ElasticRule`) sees it.
public struct ElasticCandidate: Sendable, Equatable {
    public var job: JobIndex
    public var submit: VirtualTime
    /// Devices it holds now (0 while waiting).
    public var devices: Int
    /// The fewest devices it can run on (its replicas' memory) and the most it can use (its
    /// world size).
    public var minDevices: Int
    public var maxDevices: Int
    /// Its rate on n devices as a fraction of its full-size rate, `throughput[n - 1]` for
    /// n = 1...maxDevices (`PendingJob.fraction`): its speedup curve when replicas follow
    /// devices, devices / world size for batch inference, time-sliced replicas (replica
    /// splicing) for a fixed world.
    public var throughput: [Double]
    /// Full-size work left, µs: exact as of its last stop, estimated from its rate since
    /// (these rules are oracles, as their simulators are).
    public var remaining: Double
    /// Time since its submission, and how many times its allocation changed after its first
    /// start (restarts, resizes, migrations: Pollux's and Sia's `num_restarts`).
    public var age: VirtualTime
    public var restarts: Int
    /// Its name and model architecture (`PendingJob.name`, `.architecture`).
    public var name: String
    public var architecture: String
    /// Its application as its trace names it (`PendingJob.application`); empty: none.
    public var application: String = ""
    /// When it must complete (absolute; `PendingJob.deadline`); nil: best effort.
    public var deadline: VirtualTime? = nil
    /// The home cluster's relative speed for it: work drains at `throughput[n - 1] x speed`.
    public var speed: Double = 1
    /// For a held job (`ElasticRule.divide`) that is running: the instant from which it may
    /// change (it has progressed since its last start or resize); nil otherwise.
    public var changeableAt: VirtualTime? = nil
    /// Its statistical-efficiency inputs (`PendingJob.statisticalEfficiency`), for goodput
    /// rules (Pollux); nil: none given.
    public var efficiency: StatisticalEfficiency? = nil
    /// Accelerator-seconds it has held so far (attained service), for rules that order by it.
    public var attainedService: Double = 0

    /// Time to finish on `devices` devices (full-size µs over the rate); infinite on none.
    public func timeToFinish(on devices: Int) -> Double {
        devices >= 1 ? remaining / throughput[min(devices, maxDevices) - 1] : .infinity
    }

    public init(job: JobIndex, submit: VirtualTime, devices: Int, minDevices: Int, maxDevices: Int, throughput: [Double], remaining: Double,
                age: VirtualTime = .zero, restarts: Int = 0, name: String = "", architecture: String = "") {
        self.age = age
        self.restarts = restarts
        self.name = name
        self.architecture = architecture
        self.job = job
        self.submit = submit
        self.devices = devices
        self.minDevices = minDevices
        self.maxDevices = maxDevices
        self.throughput = throughput
        self.remaining = remaining
    }

    /// `throughput` with 0 devices giving 0.
    public func rate(on devices: Int) -> Double { devices >= 1 ? throughput[min(devices, maxDevices) - 1] : 0 }
}

/// The cluster an elastic rule divides: its devices (in `ElasticRule.divide`, all of them; in
/// `ElasticShareRule.allocate(_:in:)`, those the held jobs leave) and its shape, for rules
/// that allocate in node-shaped configurations (Sia).
public struct ElasticCluster: Sendable, Equatable {
    public var capacity: Int
    public var devicesPerNode: Int
    public var nodes: Int

    public init(capacity: Int, devicesPerNode: Int, nodes: Int) {
        self.capacity = capacity
        self.devicesPerNode = devicesPerNode
        self.nodes = nodes
    }
}

/// One job as a rule that divides the whole fleet at once (`ElasticFleetRule`) sees it: the
/// job as it would be on each cluster of the division, nil where it may not run (not one of
/// its accelerator types, or no device there). Each entry carries that cluster's fewest and
/// most devices, the job's `speed` on the cluster's type and the `devices` it holds there
/// (0 everywhere but where it runs).
public struct ElasticFleetCandidate: Sendable, Equatable {
    public var job: JobIndex
    /// Indexed like the division's clusters.
    public var clusters: [ElasticCandidate?]

    public init(job: JobIndex, clusters: [ElasticCandidate?]) {
        self.job = job
        self.clusters = clusters
    }

    /// The cluster it runs on now and its devices there; nil while it holds none.
    public var current: (cluster: Int, devices: Int)? {
        for (c, candidate) in clusters.enumerated() {
            if let devices = candidate?.devices, devices > 0 { return (c, devices) }
        }
        return nil
    }
}

/// A rule that divides every cluster's devices in one decision, choosing each job's cluster
/// as well as its devices (Sia's MILP, whose configurations span every GPU type).
/// `ElasticPolicy` uses it instead of per-cluster `divide` when the fleet has more than one
/// cluster; a job given a cluster other than the one it runs on is stopped and started there
/// (a restart).
public protocol ElasticFleetRule: ElasticRule {
    /// Each job's cluster (an index into `clusters`, -1 for none) and devices there, in the
    /// jobs' order. `clusters` are the devices the held jobs leave in each cluster, with the
    /// cluster's shape. Throws as `divide` does.
    func divideFleet(_ jobs: [ElasticFleetCandidate], clusters: [ElasticCluster]) throws -> [(cluster: Int, devices: Int)]
}

/// An elastic allocation rule: how many devices each job of one cluster should hold, and,
/// for an admission controller, which waiting jobs never run.
public protocol ElasticRule: Sendable {
    var name: String { get }
    /// One cluster's division at `now`: `jobs` (in submission order) may change, `held` keep
    /// their `devices` this time (a stopping job, or one that has not progressed since its
    /// last change), `cluster` is the whole cluster (all its devices, and its shape).
    /// `ElasticShareRule` gives it for stateless rules. A rule that cannot decide (a solver
    /// that fails) throws, and the run ends with the error (`SchedulingPolicy.failure`).
    mutating func divide(_ jobs: [ElasticCandidate], held: [ElasticCandidate], in cluster: ElasticCluster, at now: VirtualTime) throws -> ElasticDivision
    /// When the rule wants the next division though nothing happens (a planned change of
    /// allocation); default nil.
    func nextDivision(after now: VirtualTime) -> VirtualTime?
    /// The job completed (or was declined): drop what the rule keeps about it. Default: nothing.
    mutating func forget(_ job: JobIndex)
    /// Whether starts and grows go out largest target first (ElasticFlow's placement order);
    /// default false: submission order.
    var placesLargestFirst: Bool { get }
    /// Whether the devices are re-divided when a job the policy stopped has released its
    /// devices (default true). A rule that decides only at its rounds, arrivals and
    /// completions (Sia, every 60 s in its simulator) says false: re-solving at every release
    /// let two jobs take a device from each other at each of their releases, every second.
    var dividesAtReleases: Bool { get }
    /// Whether an arrival or a completion re-divides the devices at once (default true). A
    /// rule that searches only at its rounds says false (Pollux: its simulator's
    /// `Cluster.step` re-optimises every `--interval`, 60 s, and AdaptDL's allocator every
    /// 60 s); a waiting job whose world fits idle devices still starts at once (work
    /// conservation), and without a round every event divides.
    var dividesAtArrivalsAndCompletions: Bool { get }
    /// Whether a fixed-world job (no speedup curve, not batch inference) may be given fewer
    /// devices than its world, its replicas then time-sliced (default true: Optimus' and
    /// AFS's divisions shrink them). A rule whose original treats such a job as rigid says
    /// false, and the job gets its whole world or nothing (Sia: a `rigid` job has one column,
    /// its GPU count, `sia.py::_compute_rigid_job_goodput_single`).
    var shrinksFixedWorlds: Bool { get }
}

/// What one division decided: devices for each candidate (in order), and the waiting jobs
/// the rule refuses outright (admission control: they never run).
public struct ElasticDivision: Sendable, Equatable {
    public var shares: [Int]
    public var declined: [JobIndex]
    /// Whether this division is a scheduling event of the rule's original simulator (counted
    /// in `SchedulingPolicy.schedulingEvents`, for per-event costs); false for a division that
    /// kept the last plan (ElasticFlow between its events). Default true.
    public var isEvent: Bool

    public init(shares: [Int], declined: [JobIndex] = [], isEvent: Bool = true) {
        self.shares = shares
        self.declined = declined
        self.isEvent = isEvent
    }
}

/// A stateless rule that only shares devices out (Optimus, AFS, Sia): its division is `allocate`
/// over the devices `held` jobs leave, declining none.
public protocol ElasticShareRule: ElasticRule {
    /// Devices for each candidate, in the same order: 0, or from its `minDevices` to its
    /// `maxDevices`; at most `capacity` in all. Candidates come in submission order.
    func allocate(_ jobs: [ElasticCandidate], capacity: Int) -> [Int]
    /// The same over a cluster whose shape the rule may use; what `ElasticPolicy` calls.
    /// Default: `allocate(_:capacity:)`. A rule that cannot decide (a solver that fails)
    /// throws, and the run ends with the error (`SchedulingPolicy.failure`).
    func allocate(_ jobs: [ElasticCandidate], in cluster: ElasticCluster) throws -> [Int]
}

extension ElasticShareRule {
    public func allocate(_ jobs: [ElasticCandidate], in cluster: ElasticCluster) throws -> [Int] {
        allocate(jobs, capacity: cluster.capacity)
    }

    /// `allocate` over the devices `held` jobs leave of `cluster`.
    public mutating func divide(_ jobs: [ElasticCandidate], held: [ElasticCandidate], in cluster: ElasticCluster, at now: VirtualTime) throws -> ElasticDivision {
        var left = cluster
        left.capacity = max(0, held.reduce(cluster.capacity) { $0 - $1.devices })
        return ElasticDivision(shares: jobs.isEmpty ? [] : try allocate(jobs, in: left))
    }
}

extension ElasticRule {
    public func nextDivision(after now: VirtualTime) -> VirtualTime? { nil }
    public mutating func forget(_ job: JobIndex) {}
    public var placesLargestFirst: Bool { false }
    public var dividesAtReleases: Bool { true }
    public var dividesAtArrivalsAndCompletions: Bool { true }
    public var shrinksFixedWorlds: Bool { true }
}

/// A policy that re-divides each cluster's devices among its jobs with an `ElasticRule`
/// (Optimus, AFS, Sia), and carries the division out with FleetTwin's mechanisms: preemption for
/// a job given none, resize for one given fewer or more, start for a waiting one.
///
/// - The division is recomputed at every arrival, completion and release, and every `round`
///   when one is set (Optimus' 60 s interval; its simulator waits for the interval, here an
///   arrival never waits for it, because a run never idles capacity a waiting job fits); a
///   rule may skip releases (`dividesAtReleases`) or arrivals and completions
///   (`dividesAtArrivalsAndCompletions`: Pollux searches at its rounds only).
/// - Each job has a home cluster, chosen when it first needs one (of its types: one whose
///   free devices hold its world, then the most devices per job homed there) and kept; rules
///   divide each cluster among its own jobs, and a waiting job whose world fits idle devices
///   elsewhere starts there (and moves its home). A rule that divides the whole fleet at once
///   (`ElasticFleetRule`: Sia) chooses each job's cluster itself when there are several; a
///   running job it moves is stopped and then started in its new cluster.
/// - A job that has not progressed since its last start or resize keeps its devices until it
///   has (FleetTwin's hysteresis invariant), as do stopping jobs; the rest is divided.
/// - Shrinks and preemptions free devices only after their cut and dump; growing and
///   starting jobs wait for them, holding the cluster's free devices (`reservations`).
/// - Costs are FleetTwin's: a cut and a grow's copy for a resize, a dump and restore for a
///   preemption (the originals charge a flat 30 s restart; `--no-overheads` charges nothing).
///
/// Cost per recomputation: the rule over the cluster's active jobs (AFS: O(jobs x devices);
/// Optimus: O(devices x jobs)); a baseline's cost, not a production scheduler's.
public struct ElasticPolicy<Rule: ElasticRule>: SchedulingPolicy {
    public var name: String { rule.name }
    public let placement: PlacementRule
    public private(set) var rule: Rule
    /// Recomputation interval; nil: at events only.
    public let round: VirtualTime?
    /// The run's replica-splicing overhead, for the throughput of fixed-world jobs.
    public let splicingOverhead: Double
    public var adoptsRunningJobs: Bool { true }
    public private(set) var reservations: [Reservation] = []
    /// Why the rule could not decide (it threw); the run then ends with it.
    public private(set) var failure: String?

    private enum State { case waiting, running, stopping, done }
    private struct Tracked {
        var info: PendingJob
        var state = State.waiting
        var devices = 0
        /// Where it runs, or for a waiting job where it will (-1: not chosen yet).
        var home: Int32 = -1
        var progressFrom = VirtualTime.zero
        var changedAt = VirtualTime(microseconds: -1)
        /// Remaining work (µs) at `markTime`, progressing from `progressFrom` at `rate` since.
        var mark: Double = 0
        var markTime = VirtualTime.zero
        var rate: Double = 0
        var target = 0
        /// Its throughput curve as rules see it, and its fewest devices in cluster
        /// `minDevicesIn`: fixed for a job, so computed once, not at every division.
        var throughput: [Double] = []
        var minDevices = 1
        var minDevicesIn: Int32 = -1
        /// Starts, resizes and migrations so far (`jobStarted` calls).
        var starts = 0
        /// A fleet-wide division (`ElasticFleetRule`) moved it to another cluster: it stops,
        /// then waits there for `moveTarget` devices (-1: no move).
        var moveTo: Int32 = -1
        var moveTarget = 0
        /// Accelerator-seconds held up to `serviceMark` (attained service).
        var service: Double = 0
        var serviceMark = VirtualTime.zero
    }

    private var jobs: [Tracked] = []
    /// Jobs not yet completed, in submission (index) order.
    private var active: [JobIndex] = []
    private var dirty = false
    private var nextRound: VirtualTime?
    /// When the rule asked for its next division, and the jobs it declined that the
    /// scheduler has not been told of yet (in the rule's order).
    private var divisionDue: VirtualTime?
    private var toDecline: [JobIndex] = []
    /// The rule's scheduling events so far, per cluster (`ElasticDivision.isEvent`).
    public private(set) var schedulingEvents: [Int] = []

    /// Each cluster's accelerator type and each type's relative speed, from the fleet.
    private var clusterType: [Int32] = []
    private var typeSpeeds: [Double] = []

    public init(rule: Rule, placement: PlacementRule, round: VirtualTime? = nil, splicingOverhead: Double = 0) {
        self.rule = rule
        self.placement = placement
        self.round = round
        self.splicingOverhead = splicingOverhead
    }

    public mutating func jobArrived(_ job: PendingJob, at now: VirtualTime) {
        let i = Int(job.index)
        if jobs.count <= i { jobs += Array(repeating: Tracked(info: job), count: i + 1 - jobs.count) }
        jobs[i] = Tracked(info: job, mark: Double(job.remainingWork), markTime: now)
        active.append(job.index)
        if rule.dividesAtArrivalsAndCompletions || round == nil { dirty = true }
        if round != nil && nextRound == nil { nextRound = now }
    }

    public mutating func jobStarted(_ job: PendingJob, on run: JobRun, at now: VirtualTime) {
        let i = Int(job.index)
        jobs[i].mark = remaining(i, at: now)
        jobs[i].markTime = now
        jobs[i].service = service(i, at: now)
        jobs[i].serviceMark = now
        jobs[i].state = .running
        jobs[i].devices = run.devices
        jobs[i].home = run.cluster
        jobs[i].moveTo = -1
        jobs[i].progressFrom = run.progressFrom
        jobs[i].changedAt = now
        jobs[i].starts += 1
        jobs[i].rate = job.fraction(on: run.devices, splicingOverhead: splicingOverhead) * speed(job, cluster: run.cluster)
    }

    public mutating func jobCompleted(_ job: JobIndex, at now: VirtualTime) {
        jobs[Int(job)].state = .done
        active.removeAll { $0 == job }
        rule.forget(job)
        if rule.dividesAtArrivalsAndCompletions || round == nil { dirty = true }
    }

    public mutating func jobPreempted(_ job: PendingJob, at now: VirtualTime) {
        let i = Int(job.index)
        jobs[i].info = job
        jobs[i].service = Double(job.attainedService) / 1e6
        jobs[i].serviceMark = now
        jobs[i].state = .waiting
        jobs[i].devices = 0
        jobs[i].mark = Double(job.remainingWork)
        jobs[i].markTime = now
        jobs[i].rate = 0
        if jobs[i].moveTo >= 0 {
            // Stopped to move: it waits for its share in the cluster the division chose.
            jobs[i].home = jobs[i].moveTo
            jobs[i].target = jobs[i].moveTarget
            jobs[i].moveTo = -1
        }
        if rule.dividesAtReleases { dirty = true }
    }

    /// A failure is not the policy's doing: the devices are re-divided whatever the rule.
    public mutating func jobFailed(_ job: PendingJob, at now: VirtualTime) {
        jobPreempted(job, at: now)
        dirty = true
    }

    /// A per-event overhead paused the job: it progresses again from `progressFrom`.
    public mutating func jobPaused(_ job: JobIndex, until progressFrom: VirtualTime, at now: VirtualTime) {
        let i = Int(job)
        jobs[i].mark = remaining(i, at: now)
        jobs[i].markTime = now
        jobs[i].progressFrom = progressFrom
    }

    public mutating func devicesReleased(_ job: JobIndex, cluster: Int32, count: Int, at now: VirtualTime) {
        if rule.dividesAtReleases { dirty = true }
    }
    public mutating func capacityChanged(at now: VirtualTime) { dirty = true }

    public func wakeup(after now: VirtualTime) -> VirtualTime? {
        // A job kept only because it had not progressed yet is looked at again once it has.
        var next = nextRound.flatMap { $0 > now ? $0 : nil }
        if let due = divisionDue, due > now { next = min(next ?? due, due) }
        for j in active where jobs[Int(j)].state == .running && jobs[Int(j)].target != jobs[Int(j)].devices {
            let free = max(jobs[Int(j)].progressFrom, jobs[Int(j)].changedAt) + VirtualTime(microseconds: 1)
            if free > now { next = min(next ?? free, free) }
        }
        return next
    }

    public mutating func nextDecision(at now: VirtualTime, fleet: FleetView) -> SchedulingDecision? {
        if failure != nil { return nil }
        if let r = round, let due = nextRound, now >= due {
            dirty = true
            nextRound = active.isEmpty ? nil : now + r
        }
        if clusterType.count != fleet.clusters.count {
            clusterType = fleet.clusters.map(\.acceleratorType)
            typeSpeeds = fleet.typeSpeeds
        }
        if let due = divisionDue, now >= due {
            divisionDue = nil
            dirty = true
        }
        if dirty {
            dirty = false
            do {
                try divide(at: now, fleet: fleet)
            } catch {
                failure = "\(rule.name) could not divide the devices at \(now.seconds) s: \(error)"
                return nil
            }
            divisionDue = rule.nextDivision(after: now)
        }
        if !toDecline.isEmpty { return .decline(toDecline.removeFirst()) }
        // Devices come back first, then go out: preemptions, shrinks, grows, starts.
        for j in active {
            let t = jobs[Int(j)]
            guard t.state == .running, t.target < t.devices, mayChange(t, at: now) else { continue }
            jobs[Int(j)].changedAt = now
            if t.target == 0 {
                jobs[Int(j)].state = .stopping
                return .preempt(j)
            }
            return .resize(j, accelerators: t.target)
        }
        let order = rule.placesLargestFirst ? active.sorted { (jobs[Int($0)].target, $1) > (jobs[Int($1)].target, $0) } : active
        // Devices running jobs' plans still want (a job started on fewer than its target, or
        // not yet allowed to grow): the work-conservation start below must not take them, or
        // the next division stops that start again in the same instant (`afs` on the bench
        // trace did, for most of its preemptions).
        var wanted: [(cluster: Int32, job: JobIndex, devices: Int)] = []
        for j in order {
            let t = jobs[Int(j)]
            guard t.state == .running, t.target > t.devices else { continue }
            if mayChange(t, at: now) {
                let grow = min(t.target, t.devices + fleet.clusters[Int(t.home)].free.totalFree)
                if grow > t.devices { return .resize(j, accelerators: grow) }
            }
            wanted.append((t.home, j, t.target - t.devices))
        }
        // Devices a move's destination keeps for the job once it has stopped.
        for j in order where jobs[Int(j)].state != .waiting && jobs[Int(j)].moveTo >= 0 {
            wanted.append((jobs[Int(j)].moveTo, j, jobs[Int(j)].moveTarget))
        }
        reservations.removeAll(keepingCapacity: true)
        for j in order {
            let t = jobs[Int(j)]
            guard t.state == .waiting, t.target > 0, t.home >= 0 else { continue }
            let free = fleet.clusters[Int(t.home)].free
            if let n = largestFit(t.target, min: minDevices(Int(j), cluster: t.home, fleet: fleet), group: t.info.tensorGroup, free: free) {
                jobs[Int(j)].state = .running  // until `jobStarted` says so
                return .start(j, cluster: t.home, accelerators: n)
            }
            // Devices are on their way back: hold what is free for it.
            if !reservations.contains(where: { $0.cluster == t.home }) {
                reservations.append(Reservation(job: j, cluster: t.home, accelerators: free.totalFree))
            }
        }
        // What a grow that must wait (hysteresis) or a move will take: held for it meanwhile.
        // The work-conservation start below holds max(reserved, wanted) per cluster, so the
        // reservations (what the liveness check reads) cover min(free, wanted) too. Both
        // are summed per cluster once per decision.
        var reserved = [Int](repeating: 0, count: fleet.clusters.count), planned = reserved
        for r in reservations { reserved[Int(r.cluster)] += r.accelerators }
        for w in wanted { planned[Int(w.cluster)] += w.devices }
        for w in wanted {
            let c = Int(w.cluster)
            let extra = min(fleet.clusters[c].free.totalFree, planned[c]) - reserved[c]
            guard extra > 0 else { continue }
            reservations.append(Reservation(job: w.job, cluster: w.cluster, accelerators: min(extra, w.devices)))
            reserved[c] += min(extra, w.devices)
        }
        // Work conservation whatever the rule decided: a waiting job whose whole world fits
        // devices nobody holds, in any cluster it may use, starts there (the next division
        // may resize it).
        let held = zip(reserved, planned).map { max($0, $1) }
        for j in active where jobs[Int(j)].state == .waiting {
            let t = jobs[Int(j)]
            for c in fleet.clusters(of: t.info.acceleratorTypes) {
                let free = fleet.clusters[Int(c)].free
                guard free.fits(t.info.worldSize, rule: placement, group: t.info.tensorGroup),
                      free.freeInGroups(of: t.info.tensorGroup) - held[Int(c)] >= t.info.worldSize else { continue }
                jobs[Int(j)].state = .running
                jobs[Int(j)].home = c
                // A rule that does not re-divide at releases keeps this start in its plan until
                // its next division; otherwise the plan's stale 0 would stop the job as soon as
                // it progressed, and this fallback would start it again, over and over.
                if !rule.dividesAtReleases { jobs[Int(j)].target = t.info.worldSize }
                return .start(j, cluster: c, accelerators: t.info.worldSize)
            }
        }
        return nil
    }

    // MARK: Dividing

    private mutating func divide(at now: VirtualTime, fleet: FleetView) throws {
        if fleet.clusters.count > 1, let fleetRule = rule as? any ElasticFleetRule {
            return try divideFleet(fleetRule, at: now, fleet: fleet)
        }
        // A job keeps its home once it has one (re-homing waiting jobs at every division made
        // them churn between clusters); new jobs are homed in submission order. A waiting job
        // whose world fits idle devices elsewhere starts there anyway (`nextDecision`).
        var perCluster = Array(repeating: [JobIndex](), count: fleet.clusters.count)
        for j in active where jobs[Int(j)].home >= 0 && Int(jobs[Int(j)].home) < fleet.clusters.count {
            perCluster[Int(jobs[Int(j)].home)].append(j)
        }
        for j in active where jobs[Int(j)].home < 0 || Int(jobs[Int(j)].home) >= fleet.clusters.count {
            jobs[Int(j)].home = chooseHome(jobs[Int(j)].info, fleet: fleet, counts: perCluster)
            if jobs[Int(j)].home >= 0 { perCluster[Int(jobs[Int(j)].home)].append(j) }
        }
        for c in perCluster.indices { perCluster[c].sort() }
        for (c, members) in perCluster.enumerated() where !members.isEmpty {
            var candidates: [ElasticCandidate] = [], held: [ElasticCandidate] = []
            for j in members {
                let t = jobs[Int(j)]
                let w = t.info.worldSize, count = max(1, min(w, fleet.clusters[c].capacity))
                if t.throughput.count != count {
                    jobs[Int(j)].throughput = (1...count).map { t.info.fraction(on: $0, splicingOverhead: splicingOverhead) }
                }
                var candidate = elasticCandidate(j, cluster: Int32(c), devices: t.devices, throughput: jobs[Int(j)].throughput, at: now, fleet: fleet)
                // Stopping jobs and jobs that may not change yet keep what they hold.
                if t.state == .stopping || (t.state == .running && !mayChange(t, at: now)) {
                    jobs[Int(j)].target = t.state == .stopping ? 0 : t.devices
                    if t.state == .running { candidate.changeableAt = max(t.progressFrom, t.changedAt) + VirtualTime(microseconds: 1) }
                    held.append(candidate)
                    continue
                }
                candidates.append(candidate)
            }
            let shape = fleet.clusters[c].nodes
            let division = try rule.divide(candidates, held: held, in: ElasticCluster(capacity: fleet.clusters[c].capacity,
                                                                                      devicesPerNode: shape.acceleratorsPerNode, nodes: shape.nodeCount), at: now)
            for (k, candidate) in candidates.enumerated() { jobs[Int(candidate.job)].target = division.shares[k] }
            if division.isEvent {
                if schedulingEvents.count <= c { schedulingEvents += Array(repeating: 0, count: c + 1 - schedulingEvents.count) }
                schedulingEvents[c] += 1
            }
            for j in division.declined where jobs[Int(j)].state == .waiting && !toDecline.contains(j) {
                jobs[Int(j)].state = .done
                active.removeAll { $0 == j }
                rule.forget(j)
                toDecline.append(j)
            }
        }
    }

    /// Job `j` as a rule sees it on `cluster`, holding `devices` there, with its `throughput`
    /// curve up to the cluster's size.
    private mutating func elasticCandidate(_ j: JobIndex, cluster c: Int32, devices: Int, throughput: [Double], at now: VirtualTime, fleet: FleetView) -> ElasticCandidate {
        let t = jobs[Int(j)]
        var candidate = ElasticCandidate(
            job: j, submit: t.info.submit, devices: devices,
            minDevices: minDevices(Int(j), cluster: c, fleet: fleet), maxDevices: min(t.info.worldSize, fleet.clusters[Int(c)].capacity),
            throughput: throughput, remaining: remaining(Int(j), at: now),
            age: now - t.info.submit, restarts: max(0, t.starts - 1), name: t.info.name, architecture: t.info.architecture)
        candidate.application = t.info.application
        candidate.deadline = t.info.deadline
        candidate.efficiency = t.info.statisticalEfficiency
        candidate.attainedService = service(Int(j), at: now)
        candidate.speed = speed(t.info, cluster: c)
        return candidate
    }

    /// One division of the whole fleet by an `ElasticFleetRule`: every active job, on every
    /// cluster of its types, as a candidate per cluster; held jobs (stopping, or not yet
    /// progressed since their last change) keep their devices, which the clusters' capacities
    /// leave out. A running job given another cluster stops (`moveTo`) and starts there.
    private mutating func divideFleet(_ fleetRule: any ElasticFleetRule, at now: VirtualTime, fleet: FleetView) throws {
        var left = fleet.clusters.map { entry in
            ElasticCluster(capacity: entry.capacity, devicesPerNode: entry.nodes.acceleratorsPerNode, nodes: entry.nodes.nodeCount)
        }
        var candidates: [ElasticFleetCandidate] = []
        for j in active {
            let t = jobs[Int(j)]
            if t.state == .stopping || (t.state == .running && !mayChange(t, at: now)) {
                jobs[Int(j)].target = t.state == .stopping ? 0 : t.devices
                if t.state == .running { jobs[Int(j)].moveTo = -1 }
                if t.home >= 0 { left[Int(t.home)].capacity = max(0, left[Int(t.home)].capacity - t.devices) }
                continue
            }
            jobs[Int(j)].moveTo = -1
            let w = t.info.worldSize
            let most = fleet.clusters(of: t.info.acceleratorTypes).reduce(1) { max($0, min(w, fleet.clusters[Int($1)].capacity)) }
            if t.throughput.count != most {
                jobs[Int(j)].throughput = (1...most).map { t.info.fraction(on: $0, splicingOverhead: splicingOverhead) }
            }
            var perCluster = [ElasticCandidate?](repeating: nil, count: fleet.clusters.count)
            for c in fleet.clusters(of: t.info.acceleratorTypes) where fleet.clusters[Int(c)].capacity >= 1 {
                let count = min(w, fleet.clusters[Int(c)].capacity)
                perCluster[Int(c)] = elasticCandidate(j, cluster: c, devices: t.state == .running && t.home == c ? t.devices : 0,
                                                      throughput: Array(jobs[Int(j)].throughput.prefix(count)), at: now, fleet: fleet)
            }
            candidates.append(ElasticFleetCandidate(job: j, clusters: perCluster))
        }
        guard !candidates.isEmpty else { return }
        let shares = try fleetRule.divideFleet(candidates, clusters: left)
        for (k, candidate) in candidates.enumerated() {
            let i = Int(candidate.job), share = shares[k]
            if share.cluster < 0 || share.devices == 0 {
                jobs[i].target = 0
            } else if jobs[i].state == .running && Int(jobs[i].home) != share.cluster {
                jobs[i].target = 0
                jobs[i].moveTo = Int32(share.cluster)
                jobs[i].moveTarget = share.devices
            } else {
                jobs[i].home = Int32(share.cluster)
                jobs[i].target = share.devices
            }
        }
        if schedulingEvents.count < fleet.clusters.count {
            schedulingEvents += Array(repeating: 0, count: fleet.clusters.count - schedulingEvents.count)
        }
        for c in fleet.clusters.indices { schedulingEvents[c] += 1 }
    }

    /// Of the clusters the job may run on: one whose free devices hold its whole world now
    /// (a run never idles capacity a waiting job fits), then the most devices per job homed
    /// there, then the most free devices; ties to the first.
    private func chooseHome(_ job: PendingJob, fleet: FleetView, counts: [[JobIndex]]) -> Int32 {
        var best: (cluster: Int32, fits: Bool, perJob: Double, free: Int)?
        for c in fleet.clusters(of: job.acceleratorTypes) where fleet.clusters[Int(c)].capacity >= 1 {
            let entry = fleet.clusters[Int(c)]
            let fits = entry.free.fits(job.worldSize, rule: placement, group: job.tensorGroup)
            let perJob = Double(entry.capacity) / Double(counts[Int(c)].count + 1)
            if let b = best, (b.fits ? 1 : 0, b.perJob, b.free) >= (fits ? 1 : 0, perJob, entry.free.totalFree) { continue }
            best = (c, fits, perJob, entry.free.totalFree)
        }
        return best?.cluster ?? -1
    }

    /// The fewest devices job `i`'s replicas fit in memory on in `cluster` (1 when they
    /// always do), found once per job and cluster. A model-parallel job (tensor x pipeline
    /// > 1) is divided all or nothing, its world size: the rules' divisions do not keep
    /// counts in multiples of its model replica.
    private mutating func minDevices(_ i: Int, cluster: Int32, fleet: FleetView) -> Int {
        if jobs[i].info.replicaDevices > 1 { return jobs[i].info.worldSize }
        if !rule.shrinksFixedWorlds && jobs[i].info.speedup.isEmpty && !jobs[i].info.splitsRequests { return jobs[i].info.worldSize }
        if jobs[i].minDevicesIn != cluster {
            var n = 1
            while n < jobs[i].info.worldSize && !fleet.fitsSliced(jobs[i].info, devices: n, cluster: cluster) { n += 1 }
            jobs[i].minDevices = n
            jobs[i].minDevicesIn = cluster
        }
        return jobs[i].minDevices
    }

    /// The most devices up to `target`, and at least `min`, that the placement rule fits now
    /// (in whole tensor groups of `group` per node).
    private func largestFit(_ target: Int, min lowest: Int, group: Int, free: CapacitySummary) -> Int? {
        var n = target
        while n >= lowest {
            if free.fits(n, rule: placement, group: group) { return n }
            n -= 1
        }
        return nil
    }

    private func mayChange(_ t: Tracked, at now: VirtualTime) -> Bool {
        now > t.progressFrom && now > t.changedAt
    }

    /// Remaining full-size work (µs) now: exact at its last mark, less its progress since.
    private func remaining(_ i: Int, at now: VirtualTime) -> Double {
        let t = jobs[i]
        guard t.state == .running else { return t.mark }
        let from = max(t.markTime, t.progressFrom)
        return max(0, t.mark - Double(max(0, (now - from).microseconds)) * t.rate)
    }

    /// Accelerator-seconds job `i` has held up to `now`.
    private func service(_ i: Int, at now: VirtualTime) -> Double {
        let t = jobs[i]
        guard t.state == .running || t.state == .stopping else { return t.service }
        return t.service + Double(t.devices) * max(0, (now - t.serviceMark).seconds)
    }

    /// The job's speed on the cluster's type (its own per-type speed when it has one).
    private func speed(_ job: PendingJob, cluster: Int32) -> Double {
        guard cluster >= 0, Int(cluster) < clusterType.count else { return 1 }
        let type = Int(clusterType[Int(cluster)])
        if type < job.typeSpeeds.count { return job.typeSpeeds[type] }
        return type < typeSpeeds.count ? typeSpeeds[type] : 1
    }
}
