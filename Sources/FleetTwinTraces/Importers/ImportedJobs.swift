/// What every trace importer shares: jobs are collected in input order (memory bounded by
/// the job count, never the file), then written sorted by submit time and input order, with
/// times measured from the earliest submission and duplicate ids made unique.
///
/// Recorded times are checked here, for every importer: a recorded end before the recorded
/// start, or before the submission, skips the row; a recorded start before the submission is
/// clamped to it (a recorded queueing delay is never negative), a counted note.
public struct ImportedJobs {
    private var jobs: [(job: TraceJob, line: Int)] = []
    public private(set) var report = ImportReport()
    /// Counted adjustments (clamps, roundings), in the order first met; written as notes.
    private var adjustments: [(what: String, lines: [Int])] = []

    public init() {}

    public var isEmpty: Bool { jobs.isEmpty }

    /// The most accelerators a trace job may ask for (`TraceReader` rejects more).
    static let maxWorldSize = 1_000_000

    /// Adds a job, or skips it when the trace format could not hold it (a reader would
    /// reject the whole file for it).
    public mutating func add(_ job: TraceJob, line: Int) {
        guard job.worldSize <= Self.maxWorldSize else {
            return skip(line: line, "\(job.worldSize) GPUs is more than a trace job may ask for (\(Self.maxWorldSize))")
        }
        guard job.submit.isFinite, job.workSeconds > 0, job.workSeconds <= TraceReader.maxSeconds else {
            return skip(line: line, "the work is not between 0 and 3.2e9 s (about 100 years)")
        }
        var job = job
        if var r = job.recorded {
            if let start = r.start, let end = r.end, end < start {
                return skip(line: line, "the recorded end is before the recorded start")
            }
            if let end = r.end, end < job.submit {
                return skip(line: line, "the recorded end is before the submission")
            }
            if let start = r.start, start < job.submit {
                r.start = job.submit
                job.recorded = r
                note("recorded a start before its submission: clamped to the submission, a recorded queueing delay of 0", line: line)
            }
        }
        jobs.append((job, line))
        report.wrote()
    }

    /// Counts an adjustment made to the row at `line` (a clamp, a rounding); `write` adds one
    /// note per kind: "N rows WHAT (lines ...)".
    public mutating func note(_ what: String, line: Int) {
        if let i = adjustments.firstIndex(where: { $0.what == what }) {
            adjustments[i].lines.append(line)
        } else {
            adjustments.append((what, [line]))
        }
    }

    /// Names what the report counts when it is not one input row each (`ImportReport.unit`).
    public mutating func count(_ unit: String, detail: String) {
        report.unit = unit
        report.unitDetail = detail
    }

    public mutating func skip(line: Int, _ reason: String) {
        report.skip(line: line, reason)
    }

    /// The earliest submit time (in the input's clock), or nil when there are no jobs.
    public var earliestSubmit: Double? { jobs.map(\.job.submit).min() }

    /// Writes the trace. Times (submit, recorded start and end) become seconds from
    /// `origin` (default: the earliest submit time). A note is added when ids were renamed.
    /// The jobs are rewritten in place (no second copy of a large trace).
    /// `unixClock`: the input's times are Unix seconds, so the header keeps the origin's.
    public mutating func write(to path: String, name: String, source: String, notes: [String], origin: Double? = nil,
                               unixClock: Bool = false) throws -> ImportResult {
        let origin = origin ?? earliestSubmit ?? 0
        var notes = notes
        for a in adjustments {
            let shown = a.lines.prefix(5).map(String.init).joined(separator: ", ") + (a.lines.count > 5 ? ", ..." : "")
            notes.append("\(a.lines.count) row\(a.lines.count == 1 ? "" : "s") \(a.what) (line\(a.lines.count == 1 ? "" : "s") \(shown))")
        }
        var seen: Set<String> = []  // membership only
        var renamed: [String] = []
        var kept = 0
        for i in jobs.indices {
            var (job, line) = jobs[i]
            // Reading a trace refuses times past about 100 years; such a job is a skipped row here.
            if job.submit - origin > TraceReader.maxSeconds {
                report.rowsRead -= 1
                report.jobsWritten -= 1
                report.skip(line: line, "submitted over 3.2e9 s (about 100 years) after the first submission")
                continue
            }
            if !seen.insert(job.id).inserted {
                var id = "line\(line)-\(job.id)"
                while !seen.insert(id).inserted { id = "line\(line)-\(id)" }
                renamed.append("'\(job.id)' at line \(line)")
                job.id = id
            }
            job.submit -= origin
            if var r = job.recorded {
                r.start = r.start.map { $0 - origin }
                r.end = r.end.map { $0 - origin }
                job.recorded = r
            }
            jobs[kept] = (job, line)
            kept += 1
        }
        jobs.removeLast(jobs.count - kept)
        if !renamed.isEmpty {
            let shown = renamed.prefix(5).joined(separator: ", ") + (renamed.count > 5 ? ", ..." : "")
            notes.append("\(renamed.count) duplicate job id\(renamed.count == 1 ? " was" : "s were") prefixed with 'lineN-' (their input line) to keep ids unique: \(shown)")
        }
        // Stable: input order breaks ties between equal submit times.
        let order = jobs.indices.sorted { (jobs[$0].job.submit, $0) < (jobs[$1].job.submit, $1) }
        var writer = try TraceWriter(path: path, header: TraceHeader(name: name, source: source, notes: notes, origin: unixClock ? origin : nil))
        for index in order { writer.write(jobs[index].job) }
        try writer.close()
        return ImportResult(out: path, report: report, notes: notes)
    }
}

/// An importer's outcome: the report (every row written or skipped with its line and
/// reason) and the notes written into the output (assumptions, roundings, renamings).
public struct ImportResult: Sendable, Equatable {
    public var out: String
    public var report: ImportReport
    public var notes: [String]

    public init(out: String, report: ImportReport, notes: [String]) {
        self.out = out
        self.report = report
        self.notes = notes
    }

    /// One JSON object: out, rowsRead, jobsWritten, skipped (the first 100, {line, reason}),
    /// skippedCount, notes; keys in this fixed order.
    public var json: String {
        let skipped = report.skipped.prefix(100).map {
            TraceWriter.object([("line", String($0.line)), ("reason", TraceWriter.string($0.reason))])
        }
        return TraceWriter.object([
            ("out", TraceWriter.string(out)), ("rowsRead", String(report.rowsRead)), ("jobsWritten", String(report.jobsWritten)),
            ("skipped", "[" + skipped.joined(separator: ",") + "]"), ("skippedCount", String(report.skipped.count)),
            ("notes", "[" + notes.map(TraceWriter.string).joined(separator: ",") + "]"),
        ])
    }

    /// "wrote PATH", the report's summary, then the notes.
    public var text: String {
        var lines = ["wrote \(out)", report.summary]
        if !notes.isEmpty { lines.append("notes:"); lines += notes.map { "  - \($0)" } }
        return lines.joined(separator: "\n")
    }
}

/// The input's file name, for sources and comments: the output must not depend on where
/// the input happened to lie.
func fileName(_ path: String) -> String {
    path.split(separator: "/").last.map(String.init) ?? path
}
