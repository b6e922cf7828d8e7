/// Imports Philly's raw `cluster_job_log` (Jeon et al., ATC'19): a JSON array of jobs with
/// jobid, status (Pass, Killed, Failed), vc, user, submitted_time and attempts, each attempt
/// {start_time, end_time, detail: [{ip, gpus: [...]}]}. Times are wall-clock strings, some
/// with a zone suffix (" PST", "+08:00"), or "None" when unknown.
public struct PhillyJobLogImporter {
    public let input: String

    public init(input: String) { self.input = input }

    public func run(out: String) throws -> ImportResult {
        var jobs = ImportedJobs()
        var zoned = 0, submitFromStart = 0
        try JSONArrayObjects(path: input).forEach { element, line in
            switch element {
            case .invalid(let reason): jobs.skip(line: line, reason)
            case .object(let object):
                do throws(BadRow) {
                    let (job, usedStart, zonedTimes) = try Self.job(object)
                    if usedStart { submitFromStart += 1 }
                    zoned += zonedTimes
                    jobs.add(job, line: line)
                } catch {
                    jobs.skip(line: line, error.reason)
                }
            }
        }
        let origin = jobs.earliestSubmit ?? 0
        var notes = [
            "submit = seconds from the earliest submission, \(WallClock.format(origin)) UTC; recorded start and end on the same clock",
            "worldSize = the GPUs of the first attempt; duration = last attempt's end - first attempt's start (it includes the gaps between attempts)",
            "\(zoned) time\(zoned == 1 ? "" : "s") carried a zone suffix and \(zoned == 1 ? "was" : "were") converted to UTC; times without one were taken as UTC",
        ]
        if submitFromStart > 0 {
            notes.append("\(submitFromStart) job\(submitFromStart == 1 ? "" : "s") had no submitted_time ('None'): submitted at their first attempt's start")
        }
        return try jobs.write(to: out, name: "philly-job-log", source: "fleettwin import philly \(fileName(input))", notes: notes)
    }

    /// The job, whether its submit time is its first start, and how many times were zoned.
    static func job(_ o: [String: Any]) throws(BadRow) -> (TraceJob, Bool, Int) {
        var zoned = 0
        func time(_ value: Any?, _ what: String) throws(BadRow) -> Double? {
            guard let text = value as? String, text != "None", !text.isEmpty else { return nil }
            guard let t = WallClock.parse(text) else { throw BadRow("\(what) '\(text)' is not a time") }
            if t.zoned { zoned += 1 }
            return t.seconds
        }
        let id: String
        switch o["jobid"] {
        case let s as String where !s.isEmpty: id = s
        case let n as Int: id = String(n)
        default: throw BadRow("no jobid")
        }
        guard let attempts = o["attempts"] as? [[String: Any]], let first = attempts.first, let last = attempts.last else {
            throw BadRow("no attempts: the job never started")
        }
        guard let start = try time(first["start_time"], "start_time") else { throw BadRow("the first attempt has no start_time") }
        guard let end = try time(last["end_time"], "end_time") else { throw BadRow("the last attempt has no end_time") }
        guard end > start else { throw BadRow("the last attempt does not end after the first starts") }
        let detail = first["detail"] as? [[String: Any]] ?? []
        let gpus = detail.reduce(0) { $0 + (($1["gpus"] as? [Any])?.count ?? 0) }
        guard gpus > 0 else { throw BadRow("the first attempt lists no GPUs") }
        let submitted = try time(o["submitted_time"], "submitted_time")
        let status = o["status"] as? String, user = o["user"] as? String, vc = o["vc"] as? String
        let job = TraceJob(id: id, submit: submitted ?? start, worldSize: gpus, duration: end - start,
                           user: user?.isEmpty == false ? user : nil, virtualCluster: vc?.isEmpty == false ? vc : nil,
                           recorded: RecordedOutcome(start: start, end: end, status: status, attempts: attempts.count))
        return (job, submitted == nil, zoned)
    }
}
