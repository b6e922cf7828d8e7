import Foundation

/// Imports Slurm's accounting, `sacct --json` (Slurm 22.05, `openapi/dbv0.0.38`; later
/// versions keep these fields): `{"jobs": [...]}` with one record per run of a job, so a job
/// that was requeued (preempted, or its node failed) appears once per run under one `job_id`
/// (../shared/slurm/README.md, "JSON shapes"; Slurm's sacct documentation).
///
/// Per job: submit = the first run's `time.submission` (a requeue resets it); world size = the
/// GPUs of `tres.allocated` (`{"type": "gres", "name": "gpu", "count": N}`, else `requested`);
/// duration = the last run's end - start (a requeued batch job starts over); recorded start =
/// the first run's start, recorded end = the last run's end, attempts = runs, status = the
/// last run's `state.current`; user and account (as the virtual cluster) kept. Skipped with
/// their reason: jobs not finished when sacct ran (PENDING, RUNNING, REQUEUED), jobs that never
/// started, CPU-only jobs, zero-length runs, array and step records without a job. "line" in
/// the report is the record's position in `jobs` (1-based).
public struct SlurmSacctImporter {
    public let input: String

    public init(input: String) {
        self.input = input
    }

    /// One run of a job, as sacct reports it.
    struct Run {
        var record: Int
        var id: String
        var submit: Double
        var start: Double?
        var end: Double?
        var state: String
        var gpus: Int
        var user: String?
        var account: String?
    }

    public func run(out: String) throws -> ImportResult {
        guard let data = FileManager.default.contents(atPath: input) else {
            throw TraceError(file: input, line: 0, message: "cannot read the file")
        }
        let root: Any
        do { root = try JSONSerialization.jsonObject(with: Self.strippingBOM(data)) } catch {
            throw TraceError(file: input, line: 1, message: "not JSON (\(error.localizedDescription)); expected the output of `sacct --json`")
        }
        guard let object = root as? [String: Any], let records = object["jobs"] as? [Any] else {
            throw TraceError(file: input, line: 1, message: "expected an object with a \"jobs\" list, as `sacct --json` prints")
        }
        var jobs = ImportedJobs()
        // Runs grouped by job id, in the order jobs first appear.
        var order: [String] = [], runs: [String: [Run]] = [:]  // looked up; output follows `order`
        for (index, element) in records.enumerated() {
            let record = index + 1
            guard let job = element as? [String: Any] else { jobs.skip(line: record, "a record that is not an object"); continue }
            switch Self.run(job, record: record) {
            case .failure(let reason): jobs.skip(line: record, reason.text)
            case .success(let run):
                if runs[run.id] == nil { order.append(run.id) }
                runs[run.id, default: []].append(run)
            }
        }
        for id in order {
            let all = runs[id]!
            let first = all[0], last = all[all.count - 1]
            guard ["COMPLETED", "FAILED", "TIMEOUT", "CANCELLED", "OUT_OF_MEMORY", "NODE_FAIL", "PREEMPTED", "BOOT_FAIL", "DEADLINE"]
                .contains(last.state), let end = last.end else {
                jobs.skip(line: last.record, "state \(last.state): not finished when sacct ran"); continue
            }
            guard let firstStart = all.compactMap(\.start).first, let lastStart = last.start else {
                jobs.skip(line: last.record, "never started (state \(last.state))"); continue
            }
            guard let gpus = all.map(\.gpus).max(), gpus > 0 else {
                jobs.skip(line: last.record, "no GPU in tres: a CPU-only job"); continue
            }
            guard end > lastStart else { jobs.skip(line: last.record, "the last run has no length (start = end)"); continue }
            jobs.add(TraceJob(id: id, submit: first.submit, worldSize: gpus, duration: end - lastStart, user: first.user,
                              virtualCluster: first.account,
                              recorded: RecordedOutcome(start: firstStart, end: end, status: last.state, attempts: all.count)),
                     line: first.record)
        }
        let origin = jobs.earliestSubmit ?? 0
        return try jobs.write(to: out, name: URL(fileURLWithPath: input).deletingPathExtension().lastPathComponent,
                              source: "slurm sacct --json: \(input)", notes: [
            "submit = seconds from the earliest submission, \(WallClock.format(origin)) UTC (sacct's epoch seconds); recorded start and end on the same clock",
            "one job per job_id: its runs (requeues) joined; duration = the last run's end - start; attempts = runs",
            "worldSize = the GPUs of tres.allocated (tres.requested when none was allocated)",
            "line numbers are record positions in the jobs list",
        ])
    }

    struct Reason: Error { var text: String }

    static func run(_ job: [String: Any], record: Int) -> Result<Run, Reason> {
        guard let jobId = (job["job_id"] as? NSNumber)?.intValue else { return .failure(Reason(text: "no job_id")) }
        // Array tasks carry their own job_id; name them as sacct does (array_job_id_task_id).
        var id = String(jobId)
        if let array = job["array"] as? [String: Any], let arrayJob = (array["job_id"] as? NSNumber)?.intValue, arrayJob > 0,
           let task = (array["task_id"] as? NSNumber)?.intValue {
            id = "\(arrayJob)_\(task)"
        }
        guard let time = job["time"] as? [String: Any], let submission = (time["submission"] as? NSNumber)?.doubleValue else {
            return .failure(Reason(text: "no time.submission"))
        }
        func moment(_ key: String) -> Double? {
            guard let value = (time[key] as? NSNumber)?.doubleValue, value > 0 else { return nil }
            return value
        }
        let state = ((job["state"] as? [String: Any])?["current"] as? String) ?? "UNKNOWN"
        let tres = job["tres"] as? [String: Any]
        func gpus(_ list: String) -> Int? {
            (tres?[list] as? [[String: Any]])?.first { $0["type"] as? String == "gres" && $0["name"] as? String == "gpu" }
                .flatMap { ($0["count"] as? NSNumber)?.intValue }
        }
        return .success(Run(record: record, id: id, submit: submission, start: moment("start"), end: moment("end"), state: state,
                            gpus: gpus("allocated") ?? gpus("requested") ?? 0, user: job["user"] as? String,
                            account: job["account"] as? String))
    }

    static func strippingBOM(_ data: Data) -> Data {
        data.starts(with: [0xEF, 0xBB, 0xBF]) ? data.dropFirst(3) : data
    }
}
