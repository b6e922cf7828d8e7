import FleetTwinTraces
import Foundation

/// The observation log as a native trace (Traces/README.md), so a mirrored session replays:
/// `fleettwin replay TRACE --fleet FLEET --policy slurm ... --compare-recorded`. One job per
/// (epoch, job id), named by its id (`E.ID` after a controller restart, epoch E):
///
/// - submit: its first `submitted` time; worldSize: the GPUs of its last `started` (else
///   those asked for); duration: its last run (last `started` to its end; a requeued batch
///   job starts over); timeLimit, partition, qos, user, eligible (when after submit) and
///   nodes (the last run's node count) as observed at submission;
/// - recorded: start = the first `started`, end = the end event's time, status = Slurm's
///   state at the end (COMPLETED for a job assumed completed), attempts = requeues + 1,
///   priority = the priority last seen.
///
/// Skipped with their reason: jobs not finished when the log ends, jobs that never started
/// (cancelled while pending), jobs without GPUs, runs of no length. "line" in the report is
/// the position of the job's `submitted` event in the log (1-based).
public enum TwinTraceExport {
    struct Job {
        var line: Int
        var epoch: Int
        var id: Int
        var submit: Int64
        var asked: TwinEvent.Details
        var firstStart: Int64?
        var lastStart: Int64?
        var runGPUs: Int?
        var runNodes: Int?
        var requeues = 0
        var restarts = 0
        var end: (time: Int64, state: String)?
    }

    /// Writes `events` (one session's log, in order) as a trace at `out`; throws what the trace
    /// writer throws. A job event before its job's `submitted` is ignored (it cannot be).
    public static func write(events: [TwinEvent], to out: String, name: String, source: String) throws -> ImportResult {
        var jobs: [Job] = []
        var index: [String: Int] = [:]  // "epoch.id" -> position in jobs; lookups only
        for (position, event) in events.enumerated() {
            guard let id = event.job else { continue }
            let key = "\(event.epoch).\(id)"
            if event.kind == .submitted {
                index[key] = jobs.count
                jobs.append(Job(line: position + 1, epoch: event.epoch, id: id, submit: event.time, asked: event.details,
                                restarts: event.details.restarts ?? 0))
                continue
            }
            guard let i = index[key] else { continue }
            if let r = event.details.restarts { jobs[i].restarts = max(jobs[i].restarts, r) }
            switch event.kind {
            case .started:
                if jobs[i].firstStart == nil { jobs[i].firstStart = event.time }
                jobs[i].lastStart = event.time
                jobs[i].runGPUs = event.details.gpus
                jobs[i].runNodes = event.details.nodeCount
                jobs[i].end = nil
            case .requeued:
                jobs[i].requeues += 1
                jobs[i].end = nil
            case .completed, .failed, .cancelled, .timeout, .preempted:
                jobs[i].end = (event.time, event.details.state ?? event.kind.rawValue.uppercased())
            default:
                break
            }
        }
        var imported = ImportedJobs()
        for job in jobs {
            guard let end = job.end else { imported.skip(line: job.line, "job \(job.id): not finished when the log ends"); continue }
            guard let first = job.firstStart, let last = job.lastStart else {
                imported.skip(line: job.line, "job \(job.id): never started (\(end.state))"); continue
            }
            let gpus = job.runGPUs ?? job.asked.gpus ?? 0
            guard gpus > 0 else { imported.skip(line: job.line, "job \(job.id): no GPU (a CPU-only job)"); continue }
            guard end.time > last else { imported.skip(line: job.line, "job \(job.id): its last run has no length"); continue }
            func seconds(_ t: Int64) -> Double { Double(t) / 1_000_000 }
            let eligible = job.asked.eligible.flatMap { Double($0) > seconds(job.submit) ? Double($0) : nil }
            let nodes = (job.runNodes ?? job.asked.nodeCount).flatMap { $0 >= 1 && $0 <= gpus ? $0 : nil }
            imported.add(TraceJob(id: TwinEvent.jobKey(epoch: job.epoch, id: job.id), submit: seconds(job.submit),
                                  worldSize: gpus, duration: seconds(end.time - last), user: job.asked.user.flatMap { $0.isEmpty ? nil : $0 },
                                  timeLimit: job.asked.timeLimit.map(Double.init),
                                  partition: job.asked.partition.flatMap { $0.isEmpty ? nil : $0 },
                                  qos: job.asked.qos.flatMap { $0.isEmpty ? nil : $0 }, nodes: nodes, eligible: eligible,
                                  recorded: RecordedOutcome(start: seconds(first), end: seconds(end.time), status: end.state,
                                                            attempts: max(job.requeues, job.restarts) + 1, priority: job.asked.priority)),
                         line: job.line)
        }
        return try imported.write(to: out, name: name, source: source, notes: [
            "submit = seconds from the earliest submission, \(WallClock.format(imported.earliestSubmit ?? 0)) UTC; recorded start and end on the same clock",
            "one job per job id (E.ID after a controller restart, epoch E): the mirror's events joined; duration = the last run's end - start; attempts = requeues + 1",
            "times are Slurm's own where squeue gave them (submit_time, start_time, end_time), else the observation's (a job gone from squeue while running: its end is when the twin noticed)",
            "timeLimit, partition, qos, nodes, eligible, priority: as observed when the job was first seen",
        ])
    }

    /// The fleet of the last observation's nodes (through `SlurmNodesImporter`: one cluster
    /// per GPU type and GPUs per node, with `cpus_per_node` where its nodes' sinfo `cpus`
    /// agree, as `import slurm-nodes` writes it).
    public static func writeFleet(nodes: [ObservedNode], to out: String, name: String) throws -> ImportResult {
        try SlurmNodesImporter.write(nodes: nodes.map { ($0.name, $0.gres, $0.cpus) }, region: name, source: name, out: out)
    }
}
