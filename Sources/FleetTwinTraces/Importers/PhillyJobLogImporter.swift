/// Imports Philly's raw `cluster_job_log` (Jeon et al., ATC'19): a JSON array of jobs with
/// jobid, status (Pass, Killed, Failed), vc, user, submitted_time and attempts, each attempt
/// {start_time, end_time, detail: [{ip, gpus: [...]}]}. Times are wall-clock strings, some
/// with a zone suffix (" PST", "+08:00"), numbers of epoch seconds, or "None" when unknown.
/// Zone-less times are read in `timeZone` (UTC by default), said in a note. The timeline is
/// checked: attempts must start in order, each ending after it starts (else the row is skipped).
public struct PhillyJobLogImporter {
    public let input: String
    /// The zone of zone-less times (nil: UTC, said in a note).
    public let timeZone: WallClock.Zone?

    public init(input: String, timeZone: WallClock.Zone? = nil) {
        self.input = input
        self.timeZone = timeZone
    }

    public func run(out: String) throws -> ImportResult {
        var jobs = ImportedJobs()
        var clock = WallClock.Reader(zone: timeZone)
        var submitFromStart = 0
        try JSONArrayObjects(path: input).forEach { element, line in
            switch element {
            case .invalid(let reason): jobs.skip(line: line, reason)
            case .object(let object):
                do throws(BadRow) {
                    let (job, usedStart) = try clock.row { clock throws(BadRow) in try Self.job(object, clock: &clock) }
                    if usedStart { submitFromStart += 1 }
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
        ]
        if let zoneNote = clock.note { notes.append(zoneNote) }
        if submitFromStart > 0 {
            notes.append("\(submitFromStart) job\(submitFromStart == 1 ? "" : "s") had no submitted_time ('None'): submitted at their first attempt's start")
        }
        return try jobs.write(to: out, name: "philly-job-log", source: "fleettwin import philly \(fileName(input))", notes: notes)
    }

    /// The job and whether its submit time is its first start; `clock` reads (and counts) its times.
    static func job(_ o: [String: Any], clock: inout WallClock.Reader) throws(BadRow) -> (TraceJob, Bool) {
        let id: String
        switch o["jobid"] {
        case let s as String where !s.isEmpty: id = s
        case let n as Int: id = String(n)
        default: throw BadRow("no jobid")
        }
        let submitted = try clock.seconds(json: o["submitted_time"], "submitted_time")
        guard let attempts = o["attempts"] as? [[String: Any]], !attempts.isEmpty else {
            throw BadRow("no attempts: the job never started")
        }
        // Every attempt's times, checked in order: each ends after it starts, and starts no
        // earlier than the one before it ended.
        var times: [(start: Double?, end: Double?)] = []
        for (i, attempt) in attempts.enumerated() {
            let start = try clock.seconds(json: attempt["start_time"], "attempt \(i + 1) start_time")
            let end = try clock.seconds(json: attempt["end_time"], "attempt \(i + 1) end_time")
            if let start, let end, end < start { throw BadRow("attempt \(i + 1) ends before it starts") }
            if let start, let previous = times.last.flatMap({ $0.end ?? $0.start }), start < previous {
                throw BadRow("attempt \(i + 1) starts before attempt \(i) \(times.last!.end == nil ? "starts" : "ends"): attempts out of order")
            }
            times.append((start, end))
        }
        guard let start = times.first!.start else { throw BadRow("the first attempt has no start_time") }
        guard let end = times.last!.end else { throw BadRow("the last attempt has no end_time") }
        guard end > start else { throw BadRow("the last attempt does not end after the first starts") }
        let detail = attempts[0]["detail"] as? [[String: Any]] ?? []
        let gpus = detail.reduce(0) { $0 + (($1["gpus"] as? [Any])?.count ?? 0) }
        guard gpus > 0 else { throw BadRow("the first attempt lists no GPUs") }
        let status = o["status"] as? String, user = o["user"] as? String, vc = o["vc"] as? String
        let job = TraceJob(id: id, submit: submitted ?? start, worldSize: gpus, duration: end - start,
                           user: user?.isEmpty == false ? user : nil, virtualCluster: vc?.isEmpty == false ? vc : nil,
                           recorded: RecordedOutcome(start: start, end: end, status: status, attempts: attempts.count))
        return (job, submitted == nil)
    }
}
