import FleetTwinEngine
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
/// last run's `state.current`; user and account (as the virtual cluster) kept; what the job
/// asked the scheduler for, from its first run: time limit (`time.limit`, minutes; none when
/// unlimited), partition, QOS, nodes (`allocation_nodes`, or `node=` of the TRES), CPUs (the
/// `cpu` TRES, allocated else requested: Slurm's AllocCPUS) and the eligible time; the
/// recorded priority is the last run's. Skipped with
/// their reason: jobs not finished when sacct ran (PENDING, RUNNING, REQUEUED), jobs that never
/// started, CPU-only jobs, zero-length runs, array and step records without a job. "line" in
/// the report is the record's position in `jobs` (1-based).
///
/// The same accounting as `sacct -P` (pipe-separated, with a header) is read too, with the
/// fields `SlurmSacctImporter.pipeFields` in any order (`pipeCommand` prints them): times are
/// local datetimes there, read in `timeZone` (UTC when none is given, said in a note); job
/// steps (`12.batch`, `12.0`) are skipped, their job's own row carrying the allocation.
public struct SlurmSacctImporter {
    public let input: String
    /// The zone of `sacct -P`'s zone-less datetimes (nil: UTC, said in a note).
    public let timeZone: WallClock.Zone?

    public init(input: String, timeZone: WallClock.Zone? = nil) {
        self.input = input
        self.timeZone = timeZone
    }

    /// The fields a `sacct -P` file must have (by header name).
    public static let pipeFields = ["JobID", "User", "Account", "State", "Submit", "Start", "End", "AllocTRES", "ReqTRES"]
    /// A command that prints them for every user's jobs, every run of a requeued job included.
    public static let pipeCommand = "sacct --allusers --duplicates --parsable2 --format=JobID,JobName,User,Account,Partition,QOS,State,Submit,Eligible,Start,End,Timelimit,AllocTRES,ReqTRES,NodeList,Priority --starttime 2026-11-01"

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
        /// Seconds; nil: unlimited or not reported.
        var timeLimit: Double? = nil
        var partition: String? = nil
        var qos: String? = nil
        var nodes: Int? = nil
        var cpus: Int? = nil
        var eligible: Double? = nil
        var priority: Int64? = nil
    }

    public func run(out: String) throws -> ImportResult {
        guard let data = FileManager.default.contents(atPath: input) else {
            throw TraceError(file: input, line: 0, message: "cannot read the file")
        }
        // JSON starts with '{'; anything else is read as `sacct -P`.
        if Self.strippingBOM(data).first(where: { ![0x20, 0x09, 0x0A, 0x0D].contains($0) }) != UInt8(ascii: "{") {
            return try runPipe(out: out)
        }
        let root: Any
        do { root = try JSONSerialization.jsonObject(with: Self.strippingBOM(data)) } catch {
            throw TraceError(file: input, line: 1, message: "not JSON (\(error.localizedDescription)); expected the output of `sacct --json`")
        }
        guard let object = root as? [String: Any], let records = object["jobs"] as? [Any] else {
            throw TraceError(file: input, line: 1, message: "expected an object with a \"jobs\" list, as `sacct --json` prints")
        }
        var jobs = ImportedJobs()
        var runs = RunsByJob()
        for (index, element) in records.enumerated() {
            let record = index + 1
            guard let job = element as? [String: Any] else { jobs.skip(line: record, "a record that is not an object"); continue }
            switch Self.run(job, record: record) {
            case .failure(let reason): jobs.skip(line: record, reason.text)
            case .success(let run): runs.add(run)
            }
        }
        return try write(runs, into: &jobs, out: out, clock: "sacct's epoch seconds", notes: ["line numbers are record positions in the jobs list"])
    }

    /// Runs grouped by job id, in the order jobs first appear.
    struct RunsByJob {
        var order: [String] = []
        var runs: [String: [Run]] = [:]  // looked up; output follows `order`

        mutating func add(_ run: Run) {
            if runs[run.id] == nil { order.append(run.id) }
            runs[run.id, default: []].append(run)
        }
    }

    /// One job per job id, its runs joined; what cannot be replayed is skipped with its reason.
    func write(_ grouped: RunsByJob, into jobs: inout ImportedJobs, out: String, clock: String, notes: [String]) throws -> ImportResult {
        // By job id, which is Slurm's order of submission (and its tie-break between equal
        // priorities): jobs submitted in the same second keep it. Array tasks by (job, task).
        func key(_ id: String) -> (Int, Int) {
            let parts = id.split(separator: "_").map { Int($0) ?? Int.max }
            return (parts.first ?? Int.max, parts.count > 1 ? parts[1] : -1)
        }
        let order = grouped.order.enumerated().sorted { (key($0.element).0, key($0.element).1, $0.offset) < (key($1.element).0, key($1.element).1, $1.offset) }
            .map { $0.element }
        let runs = grouped.runs
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
            // A begin time before submission is sacct's "eligible at once" (0 or the submit).
            let eligible = first.eligible.flatMap { $0 > first.submit ? $0 : nil }
            var job = TraceJob(id: id, submit: first.submit, worldSize: gpus, duration: end - lastStart, user: first.user,
                              virtualCluster: first.account, timeLimit: first.timeLimit, partition: first.partition, qos: first.qos,
                              nodes: first.nodes.flatMap { $0 >= 1 && $0 <= gpus ? $0 : nil }, eligible: eligible,
                              recorded: RecordedOutcome(start: firstStart, end: end, status: last.state, attempts: all.count,
                                                        priority: last.priority))
            job.cpus = first.cpus.flatMap { $0 >= 1 ? $0 : nil }
            jobs.add(job, line: first.record)
        }
        return try jobs.write(to: out, name: URL(fileURLWithPath: input).deletingPathExtension().lastPathComponent,
                              source: "slurm sacct: \(input)", notes: [
            "submit = seconds from the earliest submission, \(WallClock.format(jobs.earliestSubmit ?? 0)) UTC (\(clock)); recorded start and end on the same clock",
            "one job per job id: its runs (requeues) joined; duration = the last run's end - start; attempts = runs",
            "worldSize = the GPUs of the allocated TRES (the requested ones when none was allocated)",
"timeLimit, partition, qos, nodes, cpus, eligible: as the job's first run asked (cpus: the cpu TRES, allocated else requested); eligible is relative to the trace's origin like submit",
        ] + notes, unixClock: true)
    }

    /// `sacct -P`: a header, then `|`-separated rows.
    func runPipe(out: String) throws -> ImportResult {
        var jobs = ImportedJobs()
        var runs = RunsByJob()
        var clock = WallClock.Reader(zone: timeZone)
        var columns: [String: Int]?
        for line in LineReader(path: input) {
            let fields = line.text.split(separator: "|", omittingEmptySubsequences: false).map(String.init)
            if fields.allSatisfy({ $0.trimmingCharacters(in: .whitespaces).isEmpty }) { continue }
            guard let index = columns else {
                var found: [String: Int] = [:]
                for (i, name) in fields.enumerated() where found[name] == nil { found[name] = i }
                if let missing = Self.pipeFields.first(where: { found[$0] == nil }) {
                    throw TraceError(file: input, line: line.number, message: "the header lacks the field '\(missing)'; found: \(fields.joined(separator: ", ")); expected sacct --parsable2 output with \(Self.pipeFields.joined(separator: ", ")) (for example: \(Self.pipeCommand))")
                }
                columns = found
                continue
            }
            func field(_ name: String) -> String { index[name].map { $0 < fields.count ? fields[$0] : "" } ?? "" }
            let jobId = field("JobID")
            if jobId.contains(".") { jobs.skip(line: line.number, "job step \(jobId): its job's own row carries the allocation"); continue }
            do throws(BadRow) {
                let run = try clock.row { clock throws(BadRow) -> Run in
                    func time(_ name: String) throws(BadRow) -> Double? {
                        let text = field(name)
                        if ["", "Unknown", "None"].contains(text) { return nil }
                        guard let t = clock.seconds(text) else { throw BadRow("\(name) '\(text)' is not a time like 2026-11-29T16:58:04") }
                        return t
                    }
                    guard let submit = try time("Submit") else { throw BadRow("no Submit time") }
                    let state = field("State").split(separator: " ").first.map(String.init) ?? "UNKNOWN"
                    func text(_ name: String) -> String? { field(name).isEmpty ? nil : field(name) }
                    var run = Run(record: line.number, id: jobId, submit: submit, start: try time("Start"), end: try time("End"), state: state,
                                  gpus: Self.gpus(tres: field("AllocTRES")) ?? Self.gpus(tres: field("ReqTRES")) ?? 0,
                                  user: text("User"), account: text("Account"))
                    if let limit = text("Timelimit") {
                        guard let seconds = SlurmTimeFormat.seconds(limit) else {
                            throw BadRow("Timelimit '\(limit)' is not [days-]hours:minutes:seconds, minutes or UNLIMITED")
                        }
                        run.timeLimit = seconds.isFinite ? seconds : nil
                    }
                    run.partition = text("Partition")
                    run.qos = text("QOS")
                    run.nodes = Self.tresCount("node", tres: field("AllocTRES")) ?? Self.tresCount("node", tres: field("ReqTRES"))
                    run.cpus = Self.tresCount("cpu", tres: field("AllocTRES")) ?? Self.tresCount("cpu", tres: field("ReqTRES"))
                    run.eligible = try time("Eligible")
                    if let p = text("Priority") {
                        guard let value = Int64(p) else { throw BadRow("Priority '\(p)' is not a whole number") }
                        run.priority = value
                    }
                    return run
                }
                runs.add(run)
            } catch {
                jobs.skip(line: line.number, error.reason)
            }
        }
        guard columns != nil else {
            throw TraceError(file: input, line: 1, message: "the file is empty; expected sacct --parsable2 output (\(Self.pipeCommand))")
        }
        return try write(runs, into: &jobs, out: out, clock: "sacct -P's datetimes", notes: clock.note.map { [$0] } ?? [])
    }

    /// GPUs in a TRES string (`billing=1,cpu=1,gres/gpu=4,mem=1G,node=1`; typed
    /// `gres/gpu:h100=4` entries count too, once each type when no total is given).
    static func gpus(tres: String) -> Int? {
        var total: Int?, typed = 0
        for entry in tres.split(separator: ",") {
            let parts = entry.split(separator: "=", maxSplits: 1).map(String.init)
            guard parts.count == 2, let count = Int(parts[1]) else { continue }
            if parts[0] == "gres/gpu" { total = count } else if parts[0].hasPrefix("gres/gpu:") { typed += count }
        }
        return total ?? (typed > 0 ? typed : nil)
    }

    /// A count of `name=` in a TRES string (`node=2`).
    static func tresCount(_ name: String, tres: String) -> Int? {
        for entry in tres.split(separator: ",") {
            let parts = entry.split(separator: "=", maxSplits: 1)
            if parts.count == 2, parts[0] == Substring(name), let n = Int(parts[1]) { return n }
        }
        return nil
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
        func cpus(_ list: String) -> Int? {
            (tres?[list] as? [[String: Any]])?.first { $0["type"] as? String == "cpu" }.flatMap { ($0["count"] as? NSNumber)?.intValue }
        }
        var run = Run(record: record, id: id, submit: submission, start: moment("start"), end: moment("end"), state: state,
                      gpus: gpus("allocated") ?? gpus("requested") ?? 0, user: job["user"] as? String,
                      account: job["account"] as? String)
        // time.limit is minutes; null or a very large value (Slurm's INFINITE) is no limit.
        if let minutes = number(time["limit"]), minutes > 0, minutes < 4_294_967_294 { run.timeLimit = minutes * 60 }
        run.partition = (job["partition"] as? String).flatMap { $0.isEmpty ? nil : $0 }
        run.qos = (job["qos"] as? String).flatMap { $0.isEmpty ? nil : $0 }
        run.nodes = number(job["allocation_nodes"]).map { Int($0) }
        run.cpus = cpus("allocated") ?? cpus("requested")
        run.eligible = moment("eligible")
        run.priority = number(job["priority"]).map { Int64($0) }
        return .success(run)
    }

    /// A number as sacct writes it: plain (22.05) or `{"set": true, "infinite": false,
    /// "number": N}` (23.02 and later); nil when unset or infinite.
    static func number(_ value: Any?) -> Double? {
        if let n = value as? NSNumber { return n.doubleValue }
        guard let object = value as? [String: Any], object["set"] as? Bool != false, object["infinite"] as? Bool != true,
              let n = object["number"] as? NSNumber else { return nil }
        return n.doubleValue
    }

    static func strippingBOM(_ data: Data) -> Data {
        data.starts(with: [0xEF, 0xBB, 0xBF]) ? data.dropFirst(3) : data
    }
}
