import FleetTwinEngine
import FleetTwinScheduling

/// Jobs waiting (submitted, or preempted, and not started again) at one instant. A
/// migration logs its stop and its start at the destination at the same instant, so it
/// nets out; a resize keeps the job running.
public struct QueueLengthPoint: Sendable, Equatable, Codable {
    public var time: Double
    public var length: Int

    public init(time: Double, length: Int) {
        self.time = time
        self.length = length
    }
}

extension QueueLengthPoint {
    /// The queue length as a step function, folded from an ordered event log: one point
    /// where the length changed, taken after every event of that instant, plus the first and
    /// last instants of the log. A job submitted and started at one instant never shows.
    public static func series(_ records: [EventRecord]) -> [QueueLengthPoint] {
        var points: [QueueLengthPoint] = []
        var length = 0
        var index = 0
        while index < records.count {
            let now = records[index].time
            while index < records.count, records[index].time == now {
                switch records[index].kind {
                case .submitted, .preempted, .migrated, .failed, .requeued: length += 1
                case .started, .declined: length -= 1
                case .completed, .resized, .released, .checkpointed, .paused, .rerated, .tookOver, .nodeFailed, .nodeOutage, .nodeRepaired: break
                }
                index += 1
            }
            let isLast = index == records.count
            if points.isEmpty || points[points.count - 1].length != length || isLast {
                points.append(QueueLengthPoint(time: now.seconds, length: length))
            }
        }
        return points
    }
}
