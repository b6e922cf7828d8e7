import FleetTwinEngine

/// `fair-share`: tenants (virtual clusters or users, as the trace names them) with guaranteed
/// shares of the fleet, as Philly's virtual clusters were run by YARN's capacity scheduler
/// (Jeon et al., ATC'19; Hadoop's CapacityScheduler documentation, "Capacity Guarantees",
/// "Elasticity" and preemption of containers from queues over their capacity).
///
/// A tenant's guarantee is its share of the fleet's accelerators, weight over the sum of the
/// weights (equal weights unless the scenario gives `shares`; jobs that name no tenant form
/// one tenant of their own, with no guarantee when other jobs name tenants). Free accelerators go to waiting jobs in arrival order, whoever
/// they belong to (elasticity: a tenant may exceed its guarantee while others leave capacity
/// idle). A waiting job whose tenant would still be within its guarantee with the job running
/// takes accelerators back from tenants above theirs, the most recently started jobs first,
/// never taking a tenant below its guarantee.
public struct FairShare: PriorityRule {
    public let name = "fair-share"
    /// Weights by tenant name; tenants not named weigh 1.
    public let weights: [(tenant: String, weight: Double)]
    /// Guarantee and accelerators held, by tenant index (the last: jobs with no tenant).
    public private(set) var guarantee: [Double] = []
    public private(set) var usage: [Int] = []

    public init(weights: [(tenant: String, weight: Double)] = []) {
        self.weights = weights
    }

    public var outranksFollowRunningOrder: Bool { false }
    /// Whether a job may reclaim depends on its tenant: one group per tenant.
    public func group(_ job: PendingJob) -> Int64 { Int64(job.tenant) }

    public mutating func prepare(_ fleet: FleetView) {
        let names = fleet.tenantNames + ["(none)"]
        // Jobs that name no tenant share a guarantee only when no job names one.
        let w = names.enumerated().map { i, name in
            weights.first { $0.tenant == name }?.weight ?? (i < fleet.tenantNames.count || fleet.tenantNames.isEmpty ? 1 : 0)
        }
        let total = w.reduce(0, +)
        let capacity = Double(fleet.clusters.reduce(0) { $0 + $1.capacity })
        guarantee = w.map { capacity * $0 / total }
        usage = Array(repeating: 0, count: names.count)
        for (tenant, devices) in adopted { usage[tenant >= 0 ? Int(tenant) : usage.count - 1] += devices }
        adopted.removeAll()
    }

    /// Jobs that arrived running (a fork of an observed state) are started before the first
    /// pass tells the rule the fleet: their devices are counted when it does.
    private var adopted: [(tenant: Int32, devices: Int)] = []

    private func tenant(_ job: TrackedJob) -> Int { job.info.tenant >= 0 ? Int(job.info.tenant) : usage.count - 1 }

    public mutating func jobStarted(_ job: TrackedJob, at now: VirtualTime) {
        guard !usage.isEmpty else { return adopted.append((job.info.tenant, job.devices)) }
        usage[tenant(job)] += job.devices
    }
    public mutating func jobStopped(_ job: TrackedJob, at now: VirtualTime) { usage[tenant(job)] -= job.devices }

    public func waitingKey(_ job: TrackedJob) -> PriorityKey {
        PriorityKey(job.info.submit.microseconds, 0, job: job.info.index)
    }

    /// Victims are taken from the end: the most recently started first.
    public func runningKey(_ job: TrackedJob, at now: VirtualTime) -> PriorityKey {
        PriorityKey(job.runningSince.microseconds, job.info.submit.microseconds, job: job.info.index)
    }

    public func outranks(_ candidate: TrackedJob, _ victim: TrackedJob, at now: VirtualTime) -> Bool {
        let mine = tenant(candidate), theirs = tenant(victim)
        guard !usage.isEmpty, mine != theirs else { return false }
        return Double(usage[mine] + candidate.info.worldSize) <= guarantee[mine]
            && Double(usage[theirs] - victim.devices) >= guarantee[theirs]
    }
}
