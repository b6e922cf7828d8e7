import DequeModule
import FleetTwinEngine
import FleetTwinFleet

/// Strict first-in, first-out with gang scheduling: the head of the queue starts when all
/// of its accelerators are free in one cluster, and blocks every job behind it until then
/// (Tiresias' `fifo`, `run_sim.py::one_queue_fifo_sim_jobs`, which stops at the first job
/// that does not fit). The head's blocking is an explicit reservation: it holds every free
/// accelerator of the clusters it may use until it starts.
///
/// Per event it does O(1) queue work plus one fit test per cluster of the head's type.
public struct FIFOPolicy: SchedulingPolicy {
    public let name = "fifo"
    public let placement: PlacementRule
    private var queue: Deque<PendingJob> = []
    public private(set) var reservations: [Reservation] = []

    public init(placement: PlacementRule = .bestFit) {
        self.placement = placement
    }

    public var queuedCount: Int { queue.count }

    public mutating func jobArrived(_ job: PendingJob, at now: VirtualTime) {
        queue.append(job)
    }

    public mutating func jobCompleted(_ job: JobIndex, at now: VirtualTime) {}

    /// The job this policy started last; any other start is a job adopted already running (a
    /// fork of an observed state), which arrived just before and leaves the queue's tail.
    private var lastStarted: JobIndex = -1
    public var adoptsRunningJobs: Bool { true }

    public mutating func jobStarted(_ job: PendingJob, on run: JobRun, at now: VirtualTime) {
        guard job.index != lastStarted else { return }
        if let i = queue.lastIndex(where: { $0.index == job.index }) { queue.remove(at: i) }
    }

    /// FIFO never preempts; a job stopped by a failure keeps its place by arrival.
    public mutating func jobPreempted(_ job: PendingJob, at now: VirtualTime) {
        let position = queue.firstIndex { ($0.submit, $0.index) > (job.submit, job.index) } ?? queue.endIndex
        queue.insert(job, at: position)
    }

    public mutating func nextDecision(at now: VirtualTime, fleet: FleetView) -> SchedulingDecision? {
        reservations.removeAll(keepingCapacity: true)
        guard let head = queue.first else { return nil }
        guard let cluster = fleet.firstFit(head.worldSize, types: head.acceleratorTypes, rule: placement, group: head.tensorGroup) else {
            for c in fleet.clusters(of: head.acceleratorTypes) where fleet.clusters[Int(c)].free.totalFree > 0 {
                reservations.append(Reservation(job: head.index, cluster: c, accelerators: fleet.clusters[Int(c)].free.totalFree))
            }
            return nil
        }
        queue.removeFirst()
        lastStarted = head.index
        return .start(head.index, cluster: cluster, accelerators: head.worldSize)
    }
}
