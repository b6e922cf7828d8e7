/// Imports any CSV trace through a column mapping (`submit=COL,duration=COL,gpus=COL`, and
/// optionally `id`, `tier`, `user`, `vc`), so an unknown trace can still be replayed.
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
        public static let requiredKeys = ["submit", "duration", "gpus"]
        public static let optionalKeys = ["id", "tier", "user", "vc"]
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
                throw InvalidColumnMap("'\(missing)=COLUMN' is required (submit, duration and gpus must be mapped)")
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

    public init(input: String, map: ColumnMap, unit: TimeUnit, submitFormat: SubmitFormat) {
        self.input = input
        self.map = map
        self.unit = unit
        self.submitFormat = submitFormat
    }

    public func run(out: String) throws -> ImportResult {
        var jobs = ImportedJobs()
        let submitColumn = map["submit"]!, durationColumn = map["duration"]!, gpusColumn = map["gpus"]!
        try CSVFile(path: input, required: map.columns.map(\.column)).forEachRow(skip: { jobs.skip(line: $0, $1) }) { row in
            let submit: Double
            switch submitFormat {
            case .seconds: submit = try row.number(submitColumn) * unit.seconds
            case .datetime:
                let text = row.string(submitColumn)
                guard let time = WallClock.parse(text) else { throw BadRow("\(submitColumn) '\(text)' is not a time like 2017-10-09 07:01:55") }
                submit = time.seconds
            }
            let duration = try row.number(durationColumn) * unit.seconds, gpus = try row.integer(gpusColumn)
            guard duration > 0 else { throw BadRow("\(durationColumn) is not positive") }
            guard gpus > 0 else { throw BadRow("\(gpusColumn) is not positive") }
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
            jobs.add(job, line: row.line)
        }
        let mapping = map.columns.map { "\($0.key)=\($0.column)" }.joined(separator: ",")
        var notes = ["columns: \(mapping); times in \(unit.rawValue); submit = seconds from the earliest submission"]
        if map["id"] == nil { notes.append("ids are line-N (the input line): no id column was mapped") }
        return try jobs.write(to: out, name: "csv", source: "fleettwin import csv \(fileName(input)) --map \(mapping) --time-unit \(unit.rawValue) --submit-format \(submitFormat.rawValue)", notes: notes)
    }
}
