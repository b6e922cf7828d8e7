import Foundation

/// The mirror: consecutive observations of a Slurm cluster diffed into `TwinEvent`s. It
/// applies what it observed and decides nothing. The rules, job by job in job-id order:
///
/// - A job first seen is `submitted` at its `submit_time`, then brought up to its state: a
///   running job is `started` at its `start_time`; a finished one (squeue lists finished jobs
///   for `MinJobAge`, 300 s by default) is `started` when it ran (it has nodes) and ends.
/// - `restart_cnt` going up, or RUNNING then PENDING, is `requeued`, at the new `submit_time`
///   when it moved on (Slurm resets it to the requeue time; ../shared/slurm/README.md
///   "Quirks"), else at the observation time. When the job
///   was not seen running, the run began and was requeued between two polls: said in the
///   event's note, and no `started` is made up for it.
/// - PENDING to RUNNING is `started` at `start_time`; a finished state is `completed`,
///   `failed`, `cancelled`, `timeout` or `preempted` at `end_time` (one `started` first when
///   the whole run fell between two polls).
/// - A job that disappears from squeue without being seen finished was purged before the
///   next poll: if it was running it is `completed` at the observation time, if pending
///   `cancelled`, each with a note saying it was assumed.
/// - Nodes, in name order: `nodeDown` when one becomes unavailable (`ObservedNode.isAvailable`)
///   or leaves sinfo, `nodeUp` when it is available again; a node first seen unavailable is
///   `nodeDown`.
///
/// Within one observation the events are ordered by time, then job id, then the order above
/// (a `controllerRestart` first);
/// each job's times never go back (a later event of a job is clamped to its previous one).
///
/// What is refused and survived (one event each, the poll skipped, the mirror's state kept):
/// a reply that cannot be read (`malformedReply`), a command that failed (`commandFailed`),
/// an observation not after the previous one (`clockWentBack`), and an empty job list while
/// jobs were open (`emptyReply`, taken when the next poll says the same). A new job id below
/// the highest seen means slurmctld restarted without its state (`controllerRestart`): the
/// jobs still open are dropped, listed in the event, and a new epoch starts.
public struct SlurmMirror: Sendable {
    /// The last observation taken (nil before the first).
    public private(set) var last: SlurmObservation?
    /// One more after every controller restart.
    public private(set) var epoch = 0
    /// Jobs seen in this epoch.
    public private(set) var jobsSeen = 0

    struct Tracked: Sendable {
        var job: ObservedJob
        var running = false
        var finished = false
        var lastTime: Int64 = .min
    }

    /// Jobs of this epoch still listed by squeue (looked up by id; walked in sorted id order).
    private var tracked: [Int: Tracked] = [:]
    /// Every job id seen in this epoch (membership only).
    private var seen: Set<Int> = []
    private var highestId = 0
    private var emptySkipped = false

    public init() {}

    /// What one poll produced: the observation when it was taken (nil when refused) and the
    /// events, in log order.
    public struct Step: Equatable, Sendable {
        /// The observation taken, nil when the poll was refused.
        public var observation: SlurmObservation?
        /// The poll's events in log order (a refused poll's one fault event).
        public var events: [TwinEvent]
    }

    /// The time of the last observation taken, or 0.
    public var lastTime: Int64 { last?.time ?? 0 }

    /// Whether jobs were seen and none is pending or running now (`--until-idle`).
    public var isIdle: Bool { jobsSeen > 0 && (last?.openJobs.isEmpty ?? true) }

    /// Parses one poll's replies and applies them; a reply that cannot be read is a
    /// `malformedReply` event and the poll is skipped.
    public mutating func observe(squeue: Data, sinfo: Data, time: Int64, squeueSource: String, sinfoSource: String) -> Step {
        let jobs: [ObservedJob], nodes: [ObservedNode]
        do {
            jobs = try SlurmReplies.jobs(squeue, source: squeueSource)
            nodes = try SlurmReplies.nodes(sinfo, source: sinfoSource)
        } catch {
            return Step(observation: nil, events: [TwinEvent(time: time, kind: .malformedReply, epoch: epoch,
                                                             details: .init(note: error.description))])
        }
        return apply(SlurmObservation(time: time, nodes: nodes, jobs: jobs))
    }

    /// A poll that produced no replies (the command failed, a file is missing): a
    /// `commandFailed` event at `time`, the mirror unchanged.
    public mutating func failed(time: Int64, message: String) -> Step {
        Step(observation: nil, events: [TwinEvent(time: time, kind: .commandFailed, epoch: epoch, details: .init(note: message))])
    }

    /// Applies an observation: refused (with its event) when its time goes back or it is an
    /// unexplained empty reply; otherwise diffed against the previous one.
    public mutating func apply(_ observation: SlurmObservation) -> Step {
        let time = observation.time
        if let last, time <= last.time {
            return Step(observation: nil, events: [TwinEvent(time: time, kind: .clockWentBack, epoch: epoch, details: .init(
                note: "observed at \(Self.seconds(time)), not after the previous observation at \(Self.seconds(last.time)); skipped"))])
        }
        let open = openIds
        if observation.jobs.isEmpty, !open.isEmpty, !emptySkipped {
            emptySkipped = true
            return Step(observation: nil, events: [TwinEvent(time: time, kind: .emptyReply, epoch: epoch, details: .init(
                note: "squeue listed no job while jobs \(Self.list(open)) were open; skipped once (taken if the next poll says the same)"))])
        }
        emptySkipped = false
        var restart: [TwinEvent] = []  // first in the poll's events, before the new epoch's
        var events: [(event: TwinEvent, order: Int)] = []
        if let reused = observation.jobs.first(where: { !seen.contains($0.id) && $0.id < highestId }) {
            restart.append(TwinEvent(time: time, kind: .controllerRestart, epoch: epoch, details: .init(
                note: "job \(reused.id) is new but below the highest job id seen (\(highestId)): slurmctld restarted without its state; "
                    + (open.isEmpty ? "no job was open" : "jobs \(Self.list(open)) were open and their ends were not observed")
                    + "; epoch \(epoch + 1) begins")))
            epoch += 1
            tracked = [:]
            seen = []
            highestId = 0
            jobsSeen = 0
        }
        var order = 1
        func emit(_ kind: TwinEvent.Kind, _ entry: inout Tracked, at moment: Int64?, _ details: TwinEvent.Details) {
            let at = max(moment ?? time, entry.lastTime)
            entry.lastTime = at
            events.append((TwinEvent(time: at, kind: kind, epoch: epoch, job: entry.job.id, details: details), order))
            order += 1
        }
        for job in observation.jobs {
            var entry: Tracked
            if let known = tracked[job.id] {
                entry = known
            } else {
                entry = Tracked(job: job)
                seen.insert(job.id)
                highestId = max(highestId, job.id)
                jobsSeen += 1
                emit(.submitted, &entry, at: job.submit.map { $0 * 1_000_000 }, .init(
                    gpus: job.gpus, nodeCount: job.nodeCount, partition: job.partition, qos: job.qos, user: job.user,
                    timeLimit: job.timeLimit, eligible: job.eligible, priority: job.priority,
                    restarts: job.restarts > 0 ? job.restarts : nil,
                    note: job.restarts > 0 ? "first seen after \(job.restarts) requeue(s): submit_time is the last requeue's" : nil))
            }
            let previous = entry.job
            let restarted = job.restarts > previous.restarts
            if restarted || (entry.running && job.phase == .pending) {
                let requeueTime = restarted ? job.submit.flatMap { $0 > (previous.submit ?? 0) ? $0 : nil } : nil
                let unseen = entry.running ? nil : "the run was not observed: it started and was requeued between two polls"
                entry.job = job
                emit(.requeued, &entry, at: requeueTime.map { $0 * 1_000_000 } ?? time,
                     .init(restarts: job.restarts, state: job.state, reason: job.reason, note: unseen))
                entry.running = false
                entry.finished = false
            }
            entry.job = job
            switch job.phase {
            case .pending:
                break
            case .running:
                // COMPLETING on a job the mirror does not have running is the teardown of a run
                // that ended (a requeue's, seen between the requeue and PENDING; or one that
                // began and ended between polls, whose start comes with its end): not a start.
                if !entry.running && job.state != "COMPLETING" {
                    emit(.started, &entry, at: job.start.map { $0 * 1_000_000 },
                         .init(gpus: job.gpus, nodeCount: job.nodeCount, nodes: job.nodes, restarts: job.restarts))
                    entry.running = true
                }
            case .finished(let kind):
                if !entry.finished {
                    if !entry.running, !job.nodes.isEmpty {
                        emit(.started, &entry, at: job.start.map { $0 * 1_000_000 },
                             .init(gpus: job.gpus, nodeCount: job.nodeCount, nodes: job.nodes, restarts: job.restarts,
                                   note: "the run began and ended between two polls"))
                    }
                    emit(kind, &entry, at: job.end.map { $0 * 1_000_000 },
                         .init(restarts: job.restarts, state: job.state, reason: job.reason, exitCode: job.exitCode))
                    entry.finished = true
                    entry.running = false
                }
            }
            tracked[job.id] = entry
        }
        let listed = Set(observation.jobs.map(\.id))  // membership only
        for id in tracked.keys.sorted() where !listed.contains(id) {
            var entry = tracked[id]!
            tracked[id] = nil
            guard !entry.finished else { continue }
            if entry.running {
                emit(.completed, &entry, at: nil, .init(restarts: entry.job.restarts, note:
                    "gone from squeue while running: assumed completed at the observation time (squeue lists finished jobs for MinJobAge; this one was not seen finished)"))
            } else {
                emit(.cancelled, &entry, at: nil, .init(restarts: entry.job.restarts, note:
                    "gone from squeue while pending: assumed cancelled at the observation time"))
            }
        }
        events += nodeEvents(observation, order: &order)
        last = observation
        let sorted = events.sorted {
            ($0.event.time, $0.event.job ?? Int.max, $0.order) < ($1.event.time, $1.event.job ?? Int.max, $1.order)
        }
        return Step(observation: observation, events: restart + sorted.map(\.event))
    }

    /// Node availability changes against the previous observation, in name order.
    func nodeEvents(_ observation: SlurmObservation, order: inout Int) -> [(event: TwinEvent, order: Int)] {
        var events: [(event: TwinEvent, order: Int)] = []
        let before = last?.nodes ?? []
        func add(_ kind: TwinEvent.Kind, _ node: ObservedNode, note: String? = nil) {
            let state = ([node.state] + node.flags).joined(separator: "+")
            events.append((TwinEvent(time: observation.time, kind: kind, epoch: epoch, node: node.name, details: .init(
                gpus: node.gpus, state: state, reason: node.reason.isEmpty ? nil : node.reason, note: note)), order))
            order += 1
        }
        var i = 0
        for node in observation.nodes {
            while i < before.count, before[i].name < node.name {
                if before[i].isAvailable { add(.nodeDown, before[i], note: "gone from sinfo") }
                i += 1
            }
            if i < before.count, before[i].name == node.name {
                if before[i].isAvailable != node.isAvailable { add(node.isAvailable ? .nodeUp : .nodeDown, node) }
                i += 1
            } else if !node.isAvailable {
                add(.nodeDown, node, note: last == nil ? "unavailable when first seen" : "new in sinfo, unavailable")
            }
        }
        for node in before[i...] where node.isAvailable { add(.nodeDown, node, note: "gone from sinfo") }
        return events
    }

    /// Ids of jobs pending or running, sorted.
    var openIds: [Int] {
        tracked.keys.sorted().filter { !tracked[$0]!.finished && !(tracked[$0]!.job.phase.isFinished) }
    }

    static func list(_ ids: [Int]) -> String {
        ids.prefix(20).map(String.init).joined(separator: ", ") + (ids.count > 20 ? ", ... (\(ids.count) in all)" : "")
    }

    static func seconds(_ microseconds: Int64) -> String { String(format: "%.6f", Double(microseconds) / 1_000_000) }
}

extension ObservedJob.Phase {
    /// Whether the job has ended (any finished state).
    public var isFinished: Bool { if case .finished = self { return true } else { return false } }
}
