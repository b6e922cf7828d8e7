import DequeModule
import FleetTwinEngine
import FleetTwinFleet

/// Strict first-in, first-out with gang scheduling: the head of the queue starts when all
/// of its accelerators are free in one cluster, and blocks every job behind it until then.
///
/// Per event it does O(1) queue work plus one fit test per cluster of the head's type.
public struct FIFOPolicy: SchedulingPolicy {
    public let name = "fifo"
    public let placement: PlacementRule
    private var queue: Deque<PendingJob> = []

    public init(placement: PlacementRule = .consolidated) {
        self.placement = placement
    }

    public var queuedCount: Int { queue.count }

    public mutating func jobArrived(_ job: PendingJob, at now: VirtualTime) {
        queue.append(job)
    }

    public mutating func jobCompleted(_ job: JobIndex, at now: VirtualTime) {}

    /// FIFO never preempts; a job preempted by someone else keeps its place by arrival.
    public mutating func jobPreempted(_ job: PendingJob, at now: VirtualTime) {
        let position = queue.firstIndex { ($0.submit, $0.index) > (job.submit, job.index) } ?? queue.endIndex
        queue.insert(job, at: position)
    }

    public mutating func nextDecision(at now: VirtualTime, fleet: FleetView) -> SchedulingDecision? {
        guard let head = queue.first,
              let cluster = fleet.firstFit(head.worldSize, types: head.acceleratorTypes, rule: placement)
        else { return nil }
        queue.removeFirst()
        return .start(head.index, cluster: cluster, accelerators: head.worldSize)
    }
}
