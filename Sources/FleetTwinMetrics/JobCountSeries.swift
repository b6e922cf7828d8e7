import FleetTwinEngine
import FleetTwinScheduling

/// Two counts over a fixed set of jobs as a step function of time: the GPUs of the jobs
/// waiting (not running and not finished) and the number of jobs running. What a start
/// forecast predicts besides each job's start, and what `twin score` sets against the counts
/// the mirror then observed (the "pending-GPU and running-job series" of issue 16).
/// `offset` is µs after the series' origin (the forecast's observation); points are in
/// ascending offset, the first at 0, and two consecutive points never hold equal counts.
public struct JobCountSeries: Sendable, Equatable, Codable {
    /// The counts from `offset` (µs after the origin) until the next point.
    public struct Point: Sendable, Equatable, Codable {
        /// µs after the series' origin.
        public var offset: Int64
        /// GPUs asked for by the jobs waiting.
        public var pendingGPUs: Int
        /// Jobs holding their GPUs (a running job counts once whatever its GPUs).
        public var runningJobs: Int

        /// The counts from `offset` on.
        public init(offset: Int64, pendingGPUs: Int, runningJobs: Int) {
            self.offset = offset
            self.pendingGPUs = pendingGPUs
            self.runningJobs = runningJobs
        }
    }

    /// The steps, in ascending offset (see the type's comment).
    public var points: [Point]

    /// A series of these points, taken as given (ascending offsets, the first at 0).
    public init(points: [Point]) { self.points = points }

    /// The counts in force at `offset` (the last point at or before it); nil before the first
    /// point or when there is none.
    public func value(at offset: Int64) -> Point? {
        var low = 0, high = points.count  // first point after offset
        while low < high {
            let mid = (low + high) / 2
            if points[mid].offset <= offset { low = mid + 1 } else { high = mid }
        }
        return low == 0 ? nil : points[low - 1]
    }

    /// The series of one simulated fork, folded from its ordered event log up to `horizon`
    /// (µs): every job of the run is known at time 0 and waits until it starts, so a job
    /// that arrives later in the fork (a requeued job not yet eligible) counts as waiting from
    /// 0, as squeue lists it PENDING. `started` makes a job running; `preempted`, `migrated`,
    /// `failed` and `requeued` make it wait again (a migration's start at its destination
    /// follows at the same instant); `completed` and `declined` end it. Counts are taken after
    /// every event of an instant. `gpus[i]`: job index i's GPUs (`JobSpec.worldSize`).
    public static func fold(_ records: [EventRecord], gpus: [Int], horizon: Int64) -> JobCountSeries {
        enum State { case waiting, running, done }
        var state = [State](repeating: .waiting, count: gpus.count)
        var pending = gpus.reduce(0, +), running = 0
        var points: [Point] = []
        func record(_ offset: Int64) {
            if let last = points.last, last.pendingGPUs == pending, last.runningJobs == running { return }
            points.append(Point(offset: offset, pendingGPUs: pending, runningJobs: running))
        }
        func move(_ job: Int, to next: State) {
            guard job >= 0, job < state.count, state[job] != next, state[job] != .done else { return }
            switch state[job] {
            case .waiting: pending -= gpus[job]
            case .running: running -= 1
            case .done: break
            }
            switch next {
            case .waiting: pending += gpus[job]
            case .running: running += 1
            case .done: break
            }
            state[job] = next
        }
        var index = 0
        while index < records.count {
            let now = records[index].time.microseconds
            guard now <= horizon else { break }
            // The counts before the first instant with events.
            if now > 0, points.isEmpty { points.append(Point(offset: 0, pendingGPUs: pending, runningJobs: running)) }
            while index < records.count, records[index].time.microseconds == now {
                let r = records[index]
                switch r.kind {
                case .started: move(Int(r.job), to: .running)
                case .preempted, .migrated, .failed, .requeued: move(Int(r.job), to: .waiting)
                case .completed, .declined: move(Int(r.job), to: .done)
                case .submitted, .resized, .released, .checkpointed, .paused, .rerated, .tookOver, .nodeFailed, .nodeOutage, .nodeRepaired: break
                }
                index += 1
            }
            if points.isEmpty { points.append(Point(offset: now, pendingGPUs: pending, runningJobs: running)) } else { record(now) }
        }
        if points.isEmpty { points.append(Point(offset: 0, pendingGPUs: pending, runningJobs: running)) }
        return JobCountSeries(points: points)
    }

    /// The replicas' median series: at every offset where some replica changes, each count's
    /// median over the replicas (nearest rank, the lower middle of an even number, as
    /// `Distribution.nearestRank` at 0.5). The median minimises the absolute error the
    /// series is scored by. Empty for no replica.
    public static func median(_ replicas: [JobCountSeries]) -> JobCountSeries {
        guard !replicas.isEmpty else { return JobCountSeries(points: []) }
        let offsets = Array(Set(replicas.flatMap { $0.points.map(\.offset) })).sorted()  // sorted before use
        var points: [Point] = []
        for offset in offsets {
            let values = replicas.compactMap { $0.value(at: offset) }
            guard !values.isEmpty else { continue }
            // Nearest rank at 0.5: the lower middle of an even count.
            func middle(_ xs: [Int]) -> Int { xs.sorted()[(xs.count + 1) / 2 - 1] }
            let point = Point(offset: offset, pendingGPUs: middle(values.map(\.pendingGPUs)), runningJobs: middle(values.map(\.runningJobs)))
            if let last = points.last, last.pendingGPUs == point.pendingGPUs, last.runningJobs == point.runningJobs { continue }
            points.append(point)
        }
        return JobCountSeries(points: points)
    }
}
