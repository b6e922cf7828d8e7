/// Read-side queries of the results database: what `runs`, `show` and `report` need.
/// Every query orders its rows explicitly, so readers print the same bytes every time.
import FleetTwinMetrics
import FleetTwinScheduling
import Foundation
import GRDB

/// The database a reading command was pointed at does not exist.
public struct MissingDatabase: Error, CustomStringConvertible {
    public var path: String
    public var description: String { "no results database at \(path) (run a scenario first, or pass --db PATH)" }
}

extension ResultStore {
    /// Opens an existing database for reading. Unlike `init(path:)` it never creates a file:
    /// a mistyped `--db` must not leave an empty database behind.
    public convenience init(existingPath path: String) throws {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), !isDirectory.boolValue else {
            throw MissingDatabase(path: path)
        }
        try self.init(path: path)
    }

    /// A stored run's identity, provenance and scenario text.
    public struct RunDetail: Sendable, Equatable {
        public var id: Int64
        public var scenarioName: String
        public var scenarioFile: String
        public var scenarioHash: String
        public var scenarioText: String
        public var seed: UInt64
        public var policy: String
        public var version: String
        public var eventLogHash: String
        public var status: String
        public var endTimeSeconds: Double
        public var processedEvents: Int
        public var capacity: Int
        public var storedEvents: Int
    }

    /// One stored job, times in seconds of virtual time.
    public struct StoredJob: Sendable, Equatable {
        public var index: Int
        public var name: String
        public var tier: String
        public var worldSize: Int
        public var submit: Double
        public var firstStart: Double?
        public var end: Double?
        public var acceleratorSeconds: Double
        public var starts: Int
    }

    /// Ids of every stored run, ascending.
    public func runIds() throws -> [Int64] {
        try read { db in try Int64.fetchAll(db, sql: "SELECT id FROM runs ORDER BY id") }
    }

    /// The run with `id`, or nil when there is none.
    public func runDetail(id: Int64) throws -> RunDetail? {
        try read { db in
            guard let row = try Row.fetchOne(db, sql: """
                SELECT id, scenario_name, scenario_file, scenario_hash, scenario_text, seed, policy, fleettwin_version,
                       event_log_hash, status, end_time_us, processed_events, capacity,
                       (SELECT COUNT(*) FROM events WHERE run_id = runs.id) AS stored_events
                FROM runs WHERE id = ?
                """, arguments: [id]) else { return nil }
            return RunDetail(
                id: row["id"], scenarioName: row["scenario_name"], scenarioFile: row["scenario_file"],
                scenarioHash: row["scenario_hash"], scenarioText: row["scenario_text"],
                seed: UInt64(bitPattern: row["seed"] as Int64), policy: row["policy"], version: row["fleettwin_version"],
                eventLogHash: row["event_log_hash"], status: row["status"],
                endTimeSeconds: Double(row["end_time_us"] as Int64) / 1e6,
                processedEvents: row["processed_events"], capacity: row["capacity"], storedEvents: row["stored_events"])
        }
    }

    /// A run's metrics by name, sorted by name.
    /// The run's real-workload results as stored (JSON), or nil when it had none.
    public func workloadResultsJSON(run id: Int64) throws -> String? {
        try read { db in try String.fetchOne(db, sql: "SELECT results_json FROM workload_results WHERE run_id = ?", arguments: [id]) }
    }

    public func metrics(run id: Int64) throws -> [(name: String, value: Double)] {
        try read { db in
            try Row.fetchAll(db, sql: "SELECT name, value FROM metrics WHERE run_id = ? ORDER BY name", arguments: [id])
                .map { ($0["name"], $0["value"]) }
        }
    }

    /// A run's goals in the scenario's order, each with the run's value (nil: none). Goals
    /// on a metric this FleetTwin does not know (a newer one stored them) are left out.
    public func goals(run id: Int64) throws -> [(goal: Goal, value: Double?)] {
        try read { db in
            try Row.fetchAll(db, sql: "SELECT metric, comparison, target, value FROM goals WHERE run_id = ? ORDER BY position",
                             arguments: [id]).compactMap { row in
                guard let metric = GoalMetric.named(row["metric"]), let comparison = Goal.Comparison(rawValue: row["comparison"]) else {
                    return nil
                }
                return (Goal(metric: metric, comparison: comparison, target: row["target"]), row["value"])
            }
        }
    }

    /// A run's utilization series: bucket start (seconds) and allocated fraction, in time order.
    public func utilization(run id: Int64) throws -> [(start: Double, utilization: Double)] {
        try read { db in
            try Row.fetchAll(db, sql: "SELECT start_s, utilization FROM utilization WHERE run_id = ? ORDER BY bucket",
                             arguments: [id]).map { ($0["start_s"], $0["utilization"]) }
        }
    }

    /// A run's jobs in index order.
    public func jobs(run id: Int64) throws -> [StoredJob] {
        try read { db in
            try Row.fetchAll(db, sql: """
                SELECT job_index, name, tier, world_size, submit_us, first_start_us, end_us, accelerator_seconds, starts
                FROM jobs WHERE run_id = ? ORDER BY job_index
                """, arguments: [id]).map { row in
                StoredJob(index: row["job_index"], name: row["name"], tier: row["tier"], worldSize: row["world_size"],
                          submit: Double(row["submit_us"] as Int64) / 1e6,
                          firstStart: (row["first_start_us"] as Int64?).map { Double($0) / 1e6 },
                          end: (row["end_us"] as Int64?).map { Double($0) / 1e6 },
                          acceleratorSeconds: row["accelerator_seconds"], starts: row["starts"])
            }
        }
    }
}

extension ResultStore {
    func read<T>(_ body: (Database) throws -> T) throws -> T {
        try database.read(body)
    }
}
