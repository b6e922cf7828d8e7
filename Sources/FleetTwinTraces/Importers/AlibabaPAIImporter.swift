/// Imports the Alibaba PAI GPU-2020 trace (alibaba/clusterdata, cluster-trace-gpu-v2020): its
/// task table, optionally joined with its job table. The published files have no header; their
/// columns are, in this order (a file whose first line names them is read by name instead):
///
/// - pai_task_table: job_name, task_name, inst_num, status, start_time, end_time, plan_cpu,
///   plan_mem, plan_gpu, gpu_type (`taskColumns`);
/// - pai_job_table: job_name, inst_id, user, status, start_time, end_time (`jobColumns`).
///
/// Times are seconds on the trace's own clock. plan_gpu is percent of one GPU per instance
/// (50 is half a GPU, 100 one GPU). One job per job_name, its tasks joined: GPUs = the sum over
/// its tasks of inst_num x plan_gpu / 100 per instance, a fraction rounded up to a whole GPU per
/// instance (`GPUUnit`, a counted note); recorded start = its earliest task start, end = its
/// latest task end, duration = end - start; submit = the job table's start_time (the job's
/// submission) or, without one, the recorded start; user and status from the job table.
///
/// A row of the report is a job, located at its first task line; a task line that cannot be
/// read skips its whole job with that line and reason (a job is not imported short of a task).
/// Jobs without a GPU (CPU-only), with a task that never ended, or of zero length are skipped.
public struct AlibabaPAIImporter {
    /// pai_task_table's published column order.
    public static let taskColumns = ["job_name", "task_name", "inst_num", "status", "start_time", "end_time", "plan_cpu", "plan_mem", "plan_gpu", "gpu_type"]
    /// pai_job_table's published column order.
    public static let jobColumns = ["job_name", "inst_id", "user", "status", "start_time", "end_time"]

    /// The task table's path (pai_task_table.csv).
    public let tasks: String
    /// The job table's path (pai_job_table.csv), when given: submit time, user and status.
    public let jobTable: String?

    /// Reads `tasks`, joined with `jobTable` when given.
    public init(tasks: String, jobTable: String? = nil) {
        self.tasks = tasks
        self.jobTable = jobTable
    }

    struct Job {
        var name: String
        var line: Int
        var gpus = 0
        var rounded = false
        var start: Double?
        var end: Double?
        var status: String?
        /// Which task had not ended, if one had not.
        var unended: String?
        /// Why the job cannot be imported (the first task that says so).
        var problem: String?
    }

    struct JobRecord {
        var line: Int
        var user: String
        var status: String
        var submit: Double?
    }

    /// Writes the trace to `out`. A missing file, or a header lacking a needed column, is a
    /// located `TraceError`; everything else is a written job or a skipped row.
    public func run(out: String) throws -> ImportResult {
        var jobs = ImportedJobs()
        var notes: [String] = []
        // The job table, looked up by name only; output follows the task table's order.
        var records: [String: JobRecord] = [:]
        var recordOrder: [String] = []
        var jobTableHeader = true
        if let jobTable {
            var unreadable: [Int] = []
            var duplicates = 0
            jobTableHeader = try CSVFile(path: jobTable, required: ["job_name", "user", "status", "start_time"], headerless: Self.jobColumns)
                .forEachRow(skip: { line, _ in unreadable.append(line) }) { row in
                    let name = row.string("job_name")
                    guard !name.isEmpty else { throw BadRow("job_name is empty") }
                    guard records[name] == nil else { duplicates += 1; return }
                    records[name] = JobRecord(line: row.line, user: row.string("user"), status: row.string("status"),
                                              submit: try row.optionalNumber("start_time"))
                    recordOrder.append(name)
                }
            if !unreadable.isEmpty {
                notes.append("\(unreadable.count) job table line\(unreadable.count == 1 ? " was" : "s were") unreadable and not used (line\(unreadable.count == 1 ? "" : "s") \(unreadable.prefix(5).map(String.init).joined(separator: ", "))\(unreadable.count > 5 ? ", ..." : ""))")
            }
            if duplicates > 0 { notes.append("\(duplicates) job table line\(duplicates == 1 ? " repeats a job_name" : "s repeat job_names"): the first line of each is used") }
        }
        var order: [Job] = []
        var index: [String: Int] = [:]  // looked up; output follows `order`
        var taskLines = 0
        let taskHeader = try CSVFile(path: tasks, required: ["job_name", "inst_num", "status", "start_time", "end_time", "plan_gpu"], headerless: Self.taskColumns)
            .forEachRow(skip: { taskLines += 1; jobs.skip(line: $0, $1) }) { row in
                taskLines += 1
                let name = row.string("job_name")
                guard !name.isEmpty else { throw BadRow("job_name is empty") }
                if index[name] == nil {
                    index[name] = order.count
                    order.append(Job(name: name, line: row.line))
                }
                let i = index[name]!
                do throws(BadRow) {
                    try Self.add(row, to: &order[i])
                } catch {
                    if order[i].problem == nil { order[i].problem = "task line \(row.line): \(error.reason)" }
                }
            }
        var notInJobTable = 0
        for job in order {
            if let problem = job.problem {
                jobs.skip(line: job.line, problem)
                continue
            }
            guard job.gpus > 0 else {
                jobs.skip(line: job.line, "no GPU: a CPU-only job (plan_gpu empty or 0 in every task)")
                continue
            }
            guard let start = job.start else {
                jobs.skip(line: job.line, "no task has a start_time: the job never ran")
                continue
            }
            if let unended = job.unended {
                jobs.skip(line: job.line, "\(unended): the job had not ended")
                continue
            }
            guard let end = job.end else {
                jobs.skip(line: job.line, "no task has an end_time: the job had not ended")
                continue
            }
            guard end > start else {
                jobs.skip(line: job.line, "zero-length: its tasks end when they start")
                continue
            }
            var submit = start, status = job.status, user: String?
            if jobTable != nil {
                if let record = records[job.name] {
                    if let s = record.submit { submit = s }
                    if !record.status.isEmpty { status = record.status }
                    if !record.user.isEmpty { user = record.user }
                } else {
                    notInJobTable += 1
                }
            }
            if job.rounded { jobs.note(GPUUnit.roundingNote, line: job.line) }
            jobs.add(TraceJob(id: job.name, submit: submit, worldSize: job.gpus, duration: end - start, user: user,
                              recorded: RecordedOutcome(start: start, end: end, status: status)), line: job.line)
        }
        jobs.count("records", detail: "a job per job_name, its task lines grouped, or an unreadable task line; \(taskLines) task line\(taskLines == 1 ? "" : "s")")
        var source = "fleettwin import alibaba-pai \(fileName(tasks))"
        notes.insert(contentsOf: [
            "task table \(taskHeader ? "with a header" : "without a header: columns \(Self.taskColumns.joined(separator: ","))"); one job per job_name, its task lines joined",
            "worldSize = sum over tasks of inst_num x plan_gpu/100 (plan_gpu is percent of one GPU per instance), a fraction rounded up per instance",
            "recorded start = earliest task start_time, end = latest task end_time; duration = end - start; submit = \(jobTable == nil ? "the recorded start (no job table given)" : "the job table's start_time") - the earliest submit",
            "gpu_type is not kept: jobs run on any accelerator type of the fleet",
        ], at: 0)
        if let jobTable {
            source += " --jobs \(fileName(jobTable))"
            notes.append("job table \(jobTableHeader ? "with a header" : "without a header: columns \(Self.jobColumns.joined(separator: ","))"); user and status from it")
            if notInJobTable > 0 {
                notes.append("\(notInJobTable) job\(notInJobTable == 1 ? " is" : "s are") not in the job table: submitted at \(notInJobTable == 1 ? "its" : "their") first task's start")
            }
            let unmatched = recordOrder.filter { index[$0] == nil }
            if !unmatched.isEmpty {
                notes.append("\(unmatched.count) job\(unmatched.count == 1 ? "" : "s") of the job table \(unmatched.count == 1 ? "has" : "have") no task line: not imported (\(unmatched.prefix(5).joined(separator: ", "))\(unmatched.count > 5 ? ", ..." : ""))")
            }
        }
        return try jobs.write(to: out, name: "alibaba-pai", source: source, notes: notes)
    }

    /// Adds one task line to its job.
    static func add(_ row: CSVRow, to job: inout Job) throws(BadRow) {
        let instances = try row.integer("inst_num")
        guard instances >= 0 else { throw BadRow("inst_num is negative") }
        let (perInstance, rounded) = try GPUUnit.percent.devices(try row.optionalNumber("plan_gpu") ?? 0, column: "plan_gpu")
        let (gpus, overflow) = instances.multipliedReportingOverflow(by: perInstance)
        guard !overflow, gpus <= 1_000_000 - job.gpus else { throw BadRow("inst_num x plan_gpu is more than 1000000 GPUs") }
        job.gpus += gpus
        if rounded && instances > 0 { job.rounded = true }
        if let start = try row.optionalNumber("start_time") { job.start = min(job.start ?? start, start) }
        let status = row.string("status")
        if job.status == nil && !status.isEmpty { job.status = status }
        if let end = try row.optionalNumber("end_time") {
            job.end = max(job.end ?? end, end)
        } else if job.unended == nil {
            // A job ends with its last task; one task still running leaves it without an end.
            job.unended = "task \(row.string("task_name").isEmpty ? "at line \(row.line)" : "'\(row.string("task_name"))'") has no end_time"
                + (status.isEmpty ? "" : " (status \(status))")
        }
    }
}
