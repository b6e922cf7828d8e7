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
/// With sacct's records of the poll (`AccountedRun`, one per run), the runs squeue could not
/// show are logged at the times sacct recorded, each event's note saying it was seen only in
/// sacct. A run counts when it began and is over, began after what the mirror already logged
/// of its job (its last start, its submission or last requeue) and ended by the observation
/// (a record newer than squeue's reply waits for the next poll's squeue):
///
/// - a run before the one squeue shows now (or before the job left squeue) is `started`, then
///   `requeued` at the next record's submission (the requeue; Slurm resets it), and squeue's
///   own diff then adds no second requeue and no "not observed" note;
/// - a job gone from squeue whose last record is over ends as that record says, at its end
///   (`completed`, `failed`, ..., with its `started` when the mirror had not seen the run),
///   instead of being assumed completed or cancelled at the observation;
/// - a job squeue never listed, submitted after the last observation, whose last record is
///   over (submitted, ran and was purged between two polls) is logged whole: `submitted`, its
///   runs, its end.
///
/// Slurm records whole seconds, so a recorded second that holds the last applied observation
/// agrees with it; a sacct time in an earlier second happened before an instant the mirror had
///   already applied (its snapshot said otherwise, and forecasts forked from it), so the event
/// is logged at that observation's time instead, never earlier, its note giving sacct's time.
/// Records of a job's earlier runs are not logged late: a job's log never goes back.
///
/// Within one observation the events are ordered by time, then job id, then the order above
/// (a `controllerRestart` first);
/// each job's times never go back (a later event of a job is clamped to its previous one).
///
/// What is refused and survived (one event each, the poll skipped, the mirror's state kept):
/// a reply that cannot be read (`malformedReply`), a command that failed (`commandFailed`),
/// an observation not after the previous one (`clockWentBack`), and an empty job list while
/// jobs were open (`emptyReply`, taken when the next poll says the same). A sacct reply that
/// cannot be read or a sacct that failed is logged the same way (once until it changes) but
/// the poll is taken without it. slurmctld restarted without its state (`controllerRestart`:
/// the jobs still open are dropped, listed in the event, and a new epoch starts) shows as a
/// job id used again: a new job id below the highest seen, or a job id seen before listed with
/// another `submit_time` and no higher `restart_cnt` (a requeue raises it), or listed again
/// after it had left squeue. A job's identity is (epoch, job id), `TwinEvent.jobKey`.
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
        /// The time (µs) of the last `started` logged, nil before the first.
        var lastStart: Int64?
        /// Runs beginning before this (µs) are before what the mirror logged of the job: its
        /// submission, or its last requeue.
        var runFloor: Int64 = .min
    }

    /// Jobs of this epoch still listed by squeue (looked up by id; walked in sorted id order).
    private var tracked: [Int: Tracked] = [:]
    /// Jobs of this epoch that left squeue (or were never in it), their ends logged (lookups only).
    private var departed: [Int: Tracked] = [:]
    private var highestId = 0
    /// The time of this epoch's first observation: jobs only sacct shows must be submitted after.
    private var epochStart: Int64?
    private var emptySkipped = false
    /// The last sacct trouble logged, so that a cluster without slurmdbd logs it once.
    private var sacctTrouble: String?

    public init() {}

    /// What one poll produced: the observation when it was taken (nil when refused), the
    /// events, in log order, and sacct's records that made events.
    public struct Step: Equatable, Sendable {
        /// The observation taken, nil when the poll was refused.
        public var observation: SlurmObservation?
        /// The poll's events in log order (a refused poll's one fault event).
        public var events: [TwinEvent]
        /// Every sacct record of the jobs sacct made events for (all their records, by job id
        /// then submission): with the observation, what rebuilds the mirror (`apply`).
        public var accounting: [AccountedRun] = []
    }

    /// The time of the last observation taken, or 0.
    public var lastTime: Int64 { last?.time ?? 0 }

    /// Whether jobs were seen and none is pending or running now (`--until-idle`).
    public var isIdle: Bool { jobsSeen > 0 && (last?.openJobs.isEmpty ?? true) }

    /// Parses one poll's replies and applies them; a squeue or sinfo reply that cannot be read
    /// is a `malformedReply` event and the poll is skipped. A sacct reply that cannot be read,
    /// or sacct's failure, is logged once (until it changes) and the poll taken without it.
    public mutating func observe(_ replies: PollReplies) -> Step {
        let time = replies.time
        let jobs: [ObservedJob], nodes: [ObservedNode]
        do {
            jobs = try SlurmReplies.jobs(replies.squeue, source: replies.squeueSource)
            nodes = try SlurmReplies.nodes(replies.sinfo, source: replies.sinfoSource)
        } catch {
            return Step(observation: nil, events: [TwinEvent(time: time, kind: .malformedReply, epoch: epoch,
                                                             details: .init(note: error.description))])
        }
        var runs: [AccountedRun] = [], trouble: (kind: TwinEvent.Kind, message: String)?
        if let sacct = replies.sacct {
            do { runs = try SlurmReplies.runs(sacct, source: replies.sacctSource) } catch { trouble = (.malformedReply, error.description) }
        } else if let failure = replies.sacctFailure {
            trouble = (.commandFailed, failure)
        }
        var step = apply(SlurmObservation(time: time, nodes: nodes, jobs: jobs), accounting: runs)
        // Said only with a poll taken (a refused poll's one event is its own fault).
        guard step.observation != nil else { return step }
        if let trouble {
            if let event = sacctFault(trouble.kind, trouble.message, at: time) { step.events.insert(event, at: 0) }
        } else if replies.sacct != nil {
            sacctTrouble = nil
        }
        return step
    }

    /// A sacct fault event, or nil when the same trouble was logged last.
    mutating func sacctFault(_ kind: TwinEvent.Kind, _ message: String, at time: Int64) -> TwinEvent? {
        guard message != sacctTrouble else { return nil }
        sacctTrouble = message
        return TwinEvent(time: time, kind: kind, epoch: epoch, details: .init(
            note: message + "; the poll is taken without sacct (runs that begin and end between two polls are not seen)"))
    }

    /// A poll that produced no replies (the command failed, a file is missing): a
    /// `commandFailed` event at `time`, the mirror unchanged.
    public mutating func failed(time: Int64, message: String) -> Step {
        Step(observation: nil, events: [TwinEvent(time: time, kind: .commandFailed, epoch: epoch, details: .init(note: message))])
    }

    /// Why `job` cannot be the job this epoch knows under its id (the id was used again, so
    /// slurmctld restarted without its state), or nil when it can be.
    func reuse(_ job: ObservedJob) -> String? {
        if let entry = tracked[job.id] {
            let before = entry.job
            if job.restarts < before.restarts { return "job \(job.id) is listed with restart_cnt \(job.restarts), below the \(before.restarts) seen" }
            if job.restarts == before.restarts, let now = job.submit, let then = before.submit, now != then {
                return "job \(job.id) is listed with submit_time \(now), not the \(then) seen, and its restart_cnt did not go up (a requeue raises it)"
            }
            return nil
        }
        if let gone = departed[job.id] {
            guard let now = job.submit, let then = gone.job.submit, now != then else { return nil }
            return "job \(job.id) is listed with submit_time \(now), but the job \(job.id) seen (submit_time \(then)) had ended and left squeue"
        }
        if job.id < highestId { return "job \(job.id) is new but below the highest job id seen (\(highestId))" }
        return nil
    }

    /// Applies an observation with sacct's records of the same poll (`accounting`, any order):
    /// refused (with its event) when its time goes back or it is an unexplained empty reply;
    /// otherwise diffed against the previous one.
    public mutating func apply(_ observation: SlurmObservation, accounting: [AccountedRun] = []) -> Step {
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
        var reused: String?
        for job in observation.jobs where reused == nil { reused = reuse(job) }
        if let why = reused {
            restart.append(TwinEvent(time: time, kind: .controllerRestart, epoch: epoch, details: .init(
                note: why + ": slurmctld restarted without its state; "
                    + (open.isEmpty ? "no job was open" : "jobs \(Self.list(open)) were open and their ends were not observed")
                    + "; epoch \(epoch + 1) begins")))
            epoch += 1
            tracked = [:]
            departed = [:]
            highestId = 0
            jobsSeen = 0
            epochStart = nil
        }
        if epochStart == nil { epochStart = time }
        // The last applied observation: sacct times before its second are logged at it.
        let lastApplied = restart.isEmpty ? last?.time : nil
        var records: [Int: [AccountedRun]] = [:]  // by job id; looked up only
        for run in accounting { records[run.id, default: []].append(run) }
        // Each job's records sorted on their own: the keys' order decides nothing.
        for id in records.keys { records[id]!.sort { ($0.submit ?? 0, $0.start ?? 0) < ($1.submit ?? 0, $1.start ?? 0) } }
        var used: Set<Int> = []  // membership only; the step's records follow `accounting`'s order
        var order = 1
        func emit(_ kind: TwinEvent.Kind, _ entry: inout Tracked, at moment: Int64?, _ details: TwinEvent.Details) {
            let at = max(moment ?? time, entry.lastTime)
            entry.lastTime = at
            if kind == .started { entry.lastStart = at }
            if kind == .requeued { entry.runFloor = max(entry.runFloor, at) }
            events.append((TwinEvent(time: at, kind: kind, epoch: epoch, job: entry.job.id, details: details), order))
            order += 1
        }
        /// A time sacct recorded (Unix s) as the log's µs, and the note's words when it is
        /// before the last applied observation's second (logged at that observation instead).
        func recorded(_ seconds: Int64) -> (time: Int64, note: String) {
            let at = min(seconds * 1_000_000, time)
            guard let lastApplied, at < lastApplied / 1_000_000 * 1_000_000 else { return (at, "") }
            return (lastApplied, "; sacct recorded \(seconds), before the last applied observation at \(Self.seconds(lastApplied)): logged at it")
        }
        /// sacct's runs of a job the mirror has not logged: begun after its last logged start
        /// and not before its submission or last requeue, over by the observation.
        func unseen(_ entry: Tracked, _ runs: [AccountedRun]) -> [AccountedRun] {
            runs.filter { run in
                guard run.ranAndEnded, let start = run.start, let end = run.end, end * 1_000_000 <= time else { return false }
                return start * 1_000_000 >= entry.runFloor && entry.lastStart.map { start * 1_000_000 > $0 } ?? true
            }
        }
        func startFromSacct(_ entry: inout Tracked, _ run: AccountedRun, _ why: String) {
            let at = recorded(run.start!)
            emit(.started, &entry, at: at.time, .init(gpus: run.gpus, nodeCount: run.nodeCount, nodes: run.nodes, restarts: entry.job.restarts,
                                                       note: "seen only in sacct: " + why + at.note))
            entry.running = true
            used.insert(run.id)
        }
        /// A run sacct shows that was followed by another: its start and its requeue, at the
        /// next record's submission (or `then`, squeue's submit_time of the run now).
        func requeueFromSacct(_ entry: inout Tracked, _ run: AccountedRun, all: [AccountedRun], then: Int64?) {
            startFromSacct(&entry, run, "the run began and was requeued between two polls")
            let next = all.first { ($0.submit ?? 0) > (run.submit ?? 0) }?.submit ?? then
            let at = recorded(next.flatMap { $0 >= run.start! ? $0 : nil } ?? run.end!)
            entry.job.restarts += 1
            emit(.requeued, &entry, at: at.time, .init(restarts: entry.job.restarts, state: run.state,
                                                        note: "seen only in sacct: the run ended \(run.state) at \(run.end!)" + at.note))
            entry.running = false
            entry.finished = false
        }
        for job in observation.jobs {
            var entry: Tracked
            if let known = tracked[job.id] ?? departed.removeValue(forKey: job.id) {
                entry = known
            } else {
                entry = Tracked(job: job)
                highestId = max(highestId, job.id)
                jobsSeen += 1
                emit(.submitted, &entry, at: job.submit.map { $0 * 1_000_000 }, .init(
                    gpus: job.gpus, nodeCount: job.nodeCount, partition: job.partition, qos: job.qos, user: job.user,
                    timeLimit: job.timeLimit, eligible: job.eligible, priority: job.priority,
                    restarts: job.restarts > 0 ? job.restarts : nil,
                    note: job.restarts > 0 ? "first seen after \(job.restarts) requeue(s): submit_time is the last requeue's" : nil))
                entry.runFloor = entry.lastTime
            }
            let all = records[job.id] ?? []
            // Requeues squeue counts (restart_cnt) that the mirror has not logged: sacct's
            // earlier runs fill them in; a run beyond them is newer than squeue's reply (sacct
            // answers after it) and waits for the next poll.
            var confirmed = job.restarts - entry.job.restarts
            for run in unseen(entry, all) {
                if run.start == job.start, job.phase != .pending {
                    // The run squeue shows: its end is squeue's to log, except when squeue shows
                    // it COMPLETING (over, its end logged when squeue says how it ended).
                    guard job.state == "COMPLETING" else { continue }
                    startFromSacct(&entry, run, "the run began between two polls and squeue shows it COMPLETING")
                } else if confirmed > 0 {
                    requeueFromSacct(&entry, run, all: all, then: job.submit)
                    confirmed -= 1
                }
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
        /// Logs a job's end from sacct when its last record is over: the runs the mirror did
        /// not see (each requeued but the last), then the end. False when sacct does not say.
        func endFromSacct(_ entry: inout Tracked, _ all: [AccountedRun], gone: String) -> Bool {
            // The job's last record, over by the observation, and of the job's current run (not
            // an earlier one whose successor slurmdbd has not written yet).
            guard let final = all.last, let kind = final.finalKind, let end = final.end, end * 1_000_000 <= time,
                  (final.start ?? final.submit ?? 0) * 1_000_000 >= entry.runFloor else { return false }
            let runs = unseen(entry, all)
            for run in runs where run != final { requeueFromSacct(&entry, run, all: all, then: nil) }
            if runs.contains(final) { startFromSacct(&entry, final, "the run began and ended between two polls") }
            let at = recorded(end)
            emit(kind, &entry, at: at.time, .init(restarts: entry.job.restarts, state: final.state,
                                                  note: gone + "; its end from sacct" + at.note))
            used.insert(final.id)
            return true
        }
        let listed = Set(observation.jobs.map(\.id))  // membership only
        for id in tracked.keys.sorted() where !listed.contains(id) {
            var entry = tracked[id]!
            tracked[id] = nil
            defer { departed[id] = entry }
            guard !entry.finished else { continue }
            entry.finished = true
            if endFromSacct(&entry, records[id] ?? [], gone: "gone from squeue " + (entry.running ? "while running" : "while pending")) {
                continue
            }
            if entry.running {
                emit(.completed, &entry, at: nil, .init(restarts: entry.job.restarts, note:
                    "gone from squeue while running: assumed completed at the observation time (squeue lists finished jobs for MinJobAge; this one was not seen finished)"))
            } else {
                emit(.cancelled, &entry, at: nil, .init(restarts: entry.job.restarts, note:
                    "gone from squeue while pending: assumed cancelled at the observation time"))
            }
        }
        // Jobs only sacct knows: submitted after this epoch's first observation (the twin saw
        // the cluster then) and over in a second before this one's, so that every job submitted
        // before them was in this reply (a later one waits for the next poll's squeue).
        if lastApplied != nil, let epochStart {
            for id in records.keys.sorted() where tracked[id] == nil && departed[id] == nil && !listed.contains(id) {
                let all = records[id]!.filter { ($0.submit ?? 0) >= epochStart / 1_000_000 }
                guard let first = all.first, let submit = first.submit, all.last!.finalKind != nil,
                      let end = all.last!.end, end < time / 1_000_000 else { continue }
                var entry = Tracked(job: ObservedJob(id: id, state: first.state, partition: first.partition, qos: first.qos, user: first.user,
                                                     gpus: first.gpus, nodeCount: first.nodeCount, submit: submit, eligible: first.eligible,
                                                     timeLimit: first.timeLimit, priority: first.priority))
                let at = recorded(submit)
                emit(.submitted, &entry, at: at.time, .init(
                    gpus: first.gpus, nodeCount: first.nodeCount, partition: first.partition, qos: first.qos, user: first.user,
                    timeLimit: first.timeLimit, eligible: first.eligible, priority: first.priority,
                    note: "seen only in sacct: submitted, ran and left squeue between two polls" + at.note))
                _ = endFromSacct(&entry, all, gone: "never listed by squeue")
                entry.finished = true
                departed[id] = entry
                highestId = max(highestId, id)
                jobsSeen += 1
            }
        }
        events += nodeEvents(observation, order: &order)
        last = observation
        let sorted = events.sorted {
            ($0.event.time, $0.event.job ?? Int.max, $0.order) < ($1.event.time, $1.event.job ?? Int.max, $1.order)
        }
        return Step(observation: observation, events: restart + sorted.map(\.event), accounting: accounting.filter { used.contains($0.id) })
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
