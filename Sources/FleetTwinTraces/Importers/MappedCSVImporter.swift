/// Imports any CSV trace through a column mapping, so an unknown trace can still be replayed:
/// `submit=COL,gpus=COL` and the work, `duration=COL` or `start=COL,end=COL` (duration = end -
/// start; both kept as the recorded run for `replay --compare-recorded`), and optionally `id`,
/// `tier`, `user`, `vc`, `status`. Times (submit, start, end) are numbers in the time unit or
/// datetimes (`WallClock`, zone-less ones in `timeZone`, UTC by default, said in a note); GPUs
/// are counted in `gpuUnit`, a fraction rounding up to whole GPUs (a counted note). Rows
/// without a GPU (CPU-only) or without a run (zero-length, never ended) are skipped rows.
public struct MappedCSVImporter {
    public enum TimeUnit: String, CaseIterable, Sendable {
        case s, ms, us, min, h

        public var seconds: Double {
            switch self {
            case .s: 1
            case .ms: 0.001
            case .us: 0.000_001
            case .min: 60
            case .h: 3600
            }
        }
    }

    public enum SubmitFormat: String, CaseIterable, Sendable {
        /// A number in the time unit.
        case seconds
        /// A calendar time such as 2017-10-09 07:01:55 (see `WallClock`).
        case datetime
    }

    /// Which column holds which job field.
    public struct ColumnMap: Equatable, Sendable {
        /// Always required; the work is `duration`, or `end` - `start` (both mapped).
        public static let requiredKeys = ["submit", "gpus"]
        public static let optionalKeys = ["duration", "start", "end", "id", "tier", "user", "vc", "status"]
        public var columns: [(key: String, column: String)]

        /// Parses "submit=ts,duration=run_s,gpus=n[,id=...]"; the message says what is wrong.
        public init(parsing text: String) throws(InvalidColumnMap) {
            columns = []
            for pair in text.split(separator: ",", omittingEmptySubsequences: true) {
                let parts = pair.split(separator: "=", maxSplits: 1).map { String($0).trimmingSpaces() }
                guard parts.count == 2, !parts[1].isEmpty else { throw InvalidColumnMap("'\(pair)' is not KEY=COLUMN") }
                guard Self.requiredKeys.contains(parts[0]) || Self.optionalKeys.contains(parts[0]) else {
                    throw InvalidColumnMap("unknown key '\(parts[0])'; expected \((Self.requiredKeys + Self.optionalKeys).joined(separator: ", "))")
                }
                guard self[parts[0]] == nil else { throw InvalidColumnMap("'\(parts[0])' is mapped twice") }
                columns.append((parts[0], parts[1]))
            }
            if let missing = Self.requiredKeys.first(where: { self[$0] == nil }) {
                throw InvalidColumnMap("'\(missing)=COLUMN' is required (submit and gpus must be mapped, and duration or start and end)")
            }
            guard self["duration"] != nil || (self["start"] != nil && self["end"] != nil) else {
                throw InvalidColumnMap("the work needs 'duration=COLUMN', or 'start=COLUMN' and 'end=COLUMN' (duration = end - start)")
            }
        }

        public subscript(key: String) -> String? { columns.first { $0.key == key }?.column }

        public static func == (a: ColumnMap, b: ColumnMap) -> Bool { a.columns.elementsEqual(b.columns) { $0 == $1 } }
    }

    public struct InvalidColumnMap: Error, Equatable {
        public var message: String

        public init(_ message: String) { self.message = message }
    }

    public let input: String
    public let map: ColumnMap
    public let unit: TimeUnit
    public let submitFormat: SubmitFormat
    /// How the gpus column counts (whole GPUs, percent or thousandths of one).
    public let gpuUnit: GPUUnit
    /// The zone of zone-less datetimes (nil: UTC, said in a note).
    public let timeZone: WallClock.Zone?

    public init(input: String, map: ColumnMap, unit: TimeUnit, submitFormat: SubmitFormat, gpuUnit: GPUUnit = .whole,
                timeZone: WallClock.Zone? = nil) {
        self.input = input
        self.map = map
        self.unit = unit
        self.submitFormat = submitFormat
        self.gpuUnit = gpuUnit
        self.timeZone = timeZone
    }

    public func run(out: String) throws -> ImportResult {
        var jobs = ImportedJobs()
        var clock = WallClock.Reader(zone: timeZone)
        let submitColumn = map["submit"]!, gpusColumn = map["gpus"]!
        // An empty start or end is no time (a job not started or not ended); an empty submit is a bad row.
        func time(_ row: CSVRow, _ column: String, optional: Bool = true) throws(BadRow) -> Double? {
            let text = row.string(column)
            if text.isEmpty && optional { return nil }
            switch submitFormat {
            case .seconds: return try row.number(column) * unit.seconds
            case .datetime:
                guard let t = clock.seconds(text) else { throw BadRow("\(column) '\(text)' is not a time like 2017-10-09 07:01:55") }
                return t
            }
        }
        func importRow(_ row: CSVRow) throws(BadRow) {
            let submit = try time(row, submitColumn, optional: false)!
            let (gpus, rounded) = try gpuUnit.devices(try row.optionalNumber(gpusColumn) ?? 0, column: gpusColumn)
            guard gpus > 0 else {
                throw BadRow("\(gpusColumn) is \(row.string(gpusColumn).isEmpty ? "empty" : "0"): a CPU-only job (no GPU to schedule)")
            }
            let start = try map["start"].flatMap { c throws(BadRow) in try time(row, c) }
            let end = try map["end"].flatMap { c throws(BadRow) in try time(row, c) }
            let duration: Double
            if let column = map["duration"], let given = try row.optionalNumber(column) {
                duration = given * unit.seconds
                guard duration > 0 else { throw BadRow("\(column) is not positive (a zero-length run)") }
            } else if let start, let end {
                duration = end - start
                guard duration > 0 else {
                    throw BadRow(duration == 0 ? "\(map["end"]!) equals \(map["start"]!): a zero-length run" : "\(map["end"]!) is before \(map["start"]!)")
                }
            } else {
                let missing = [map["duration"], map["start"].flatMap { start == nil ? $0 : nil }, map["end"].flatMap { end == nil ? $0 : nil }]
                    .compactMap { $0 }.joined(separator: " and ")
                let status = map["status"].map { row.string($0) }.flatMap { $0.isEmpty ? nil : " (status \($0))" } ?? ""
                throw BadRow("no work: \(missing) \(missing.contains(" and ") ? "are" : "is") empty\(status); the job has no recorded run")
            }
            if rounded { jobs.note(GPUUnit.roundingNote, line: row.line) }
            var job = TraceJob(id: "line-\(row.line)", submit: submit, worldSize: gpus, duration: duration)
            if let column = map["id"] {
                guard !row.string(column).isEmpty else { throw BadRow("\(column) (the id) is empty") }
                job.id = row.string(column)
            }
            if let column = map["tier"], !row.string(column).isEmpty {
                let tier = row.string(column).lowercased()
                guard ["premium", "standard", "basic"].contains(tier) else { throw BadRow("\(column) '\(row.string(column))' is not premium, standard or basic") }
                job.tier = tier
            }
            if let column = map["user"], !row.string(column).isEmpty { job.user = row.string(column) }
            if let column = map["vc"], !row.string(column).isEmpty { job.virtualCluster = row.string(column) }
            let status = map["status"].map { row.string($0) }.flatMap { $0.isEmpty ? nil : $0 }
            if start != nil || end != nil || status != nil { job.recorded = RecordedOutcome(start: start, end: end, status: status) }
            jobs.add(job, line: row.line)
        }
        try CSVFile(path: input, required: map.columns.map(\.column)).forEachRow(skip: { jobs.skip(line: $0, $1) }) { row in
            // A skipped row's times are not counted in the zone note.
            let saved = clock
            do { try importRow(row) } catch {
                clock = saved
                throw error
            }
        }
        let mapping = map.columns.map { "\($0.key)=\($0.column)" }.joined(separator: ",")
        var notes = ["columns: \(mapping); times in \(unit.rawValue); submit = seconds from the earliest submission"]
        if map["duration"] == nil {
            notes.append("duration = end - start (the recorded run time)")
        } else if map["start"] != nil && map["end"] != nil {
            notes.append("duration as given; where it is empty, end - start")
        }
        if map["start"] != nil || map["end"] != nil { notes.append("recorded start and end kept (replay --compare-recorded compares them)") }
        notes.append("gpus in \(gpuUnit.rawValue) (\(gpuUnit == .whole ? "whole GPUs" : "\(Int(gpuUnit.perGPU)) = one GPU")); a fraction of a GPU rounds up to whole GPUs")
        if let zoneNote = clock.note { notes.append(zoneNote) }
        if map["id"] == nil { notes.append("ids are line-N (the input line): no id column was mapped") }
        var source = "fleettwin import csv \(fileName(input)) --map \(mapping) --time-unit \(unit.rawValue) --submit-format \(submitFormat.rawValue) --gpu-unit \(gpuUnit.rawValue)"
        if let timeZone { source += " --time-zone \(timeZone.name)" }
        return try jobs.write(to: out, name: "csv", source: source, notes: notes)
    }
}
