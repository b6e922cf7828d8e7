import Foundation
import GRDB

/// Sweeps: units of (scenario, policy, seed) keyed by a content hash, so shards can run
/// anywhere, be re-run, and be merged, with equal units checked for equal results.
extension ResultStore {
    /// A finished sweep unit.
    public struct SweepUnit: Sendable, Equatable {
        public var unitId: String
        public var position: Int
        public var runId: Int64
        public var scenarioFile: String
        public var policy: String
        public var seed: UInt64
        public var eventLogHash: String
    }

    /// Stores a unit's run and its sweep row in one transaction.
    public func storeSweepUnit(_ run: RunRecord, unitId: String, position: Int) throws -> Int64 {
        try Self.busy(path) {
            try database.write { db in
                let id = try Self.insert(run, in: db)
                try db.execute(sql: """
                    INSERT INTO sweep_units (unit_id, position, run_id, scenario_file, policy, seed, event_log_hash)
                    VALUES (?, ?, ?, ?, ?, ?, ?)
                    """, arguments: [unitId, position, id, run.scenarioFile, run.policy, Int64(bitPattern: run.seed),
                                     run.result.eventLogHash])
                return id
            }
        }
    }

    public func sweepUnits() throws -> [SweepUnit] {
        try database.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM sweep_units ORDER BY position, unit_id").map { row in
                SweepUnit(unitId: row["unit_id"], position: row["position"], runId: row["run_id"], scenarioFile: row["scenario_file"],
                          policy: row["policy"], seed: UInt64(bitPattern: row["seed"] as Int64), eventLogHash: row["event_log_hash"])
            }
        }
    }

    /// The builds (`FleetTwinEngine.buildIdentity`) that ran the stored sweep units, with how
    /// many units each ran, by identity. Units of different builds have different ids, so a
    /// code change shows here, never as a determinism failure.
    public func sweepBuilds() throws -> [(build: String, units: Int)] {
        try database.read { db in
            try Row.fetchAll(db, sql: """
                SELECT runs.fleettwin_version AS build, COUNT(*) AS units FROM sweep_units
                JOIN runs ON runs.id = sweep_units.run_id GROUP BY runs.fleettwin_version ORDER BY runs.fleettwin_version
                """).map { ($0["build"], $0["units"]) }
        }
    }

    /// A unit stored twice with different event-log hashes: a determinism failure.
    public struct Divergence: Sendable, Equatable {
        public var unitId: String
        public var hashes: [String]
        public var sources: [String]
    }

    /// Copies the sweep units of `shard` (and their runs, with every child row) into this
    /// database, skipping units it already holds; returns the units copied and the units
    /// whose results differ from the ones already here.
    public func merge(shard path: String) throws -> (copied: Int, divergent: [Divergence]) {
        try Self.busy(self.path) {
            try database.writeWithoutTransaction { db in
                try db.execute(sql: "ATTACH DATABASE ? AS shard", arguments: [path])
                defer { try? db.execute(sql: "DETACH DATABASE shard") }
                var copied = 0, divergent: [Divergence] = []
                try db.inTransaction {
                    let units = try Row.fetchAll(db, sql: "SELECT * FROM shard.sweep_units ORDER BY position, unit_id")
                    let childTables = ["metrics", "utilization", "jobs", "events", "workload_results", "goals"]
                    var columns: [String: [String]] = [:]  // looked up only
                    for table in childTables + ["runs"] {
                        columns[table] = try Row.fetchAll(db, sql: "PRAGMA main.table_info(\(table))").map { $0["name"] as String }
                    }
                    for unit in units {
                        let unitId: String = unit["unit_id"], hash: String = unit["event_log_hash"]
                        if let existing = try String.fetchOne(db, sql: "SELECT event_log_hash FROM sweep_units WHERE unit_id = ?", arguments: [unitId]) {
                            if existing != hash { divergent.append(Divergence(unitId: unitId, hashes: [existing, hash], sources: [self.path, path])) }
                            continue
                        }
                        let oldRun: Int64 = unit["run_id"]
                        let runColumns = columns["runs"]!.filter { $0 != "id" }.joined(separator: ", ")
                        try db.execute(sql: "INSERT INTO runs (\(runColumns)) SELECT \(runColumns) FROM shard.runs WHERE id = ?", arguments: [oldRun])
                        let newRun = db.lastInsertedRowID
                        for table in childTables {
                            let rest = columns[table]!.filter { $0 != "run_id" }.joined(separator: ", ")
                            try db.execute(sql: "INSERT INTO \(table) (run_id, \(rest)) SELECT ?, \(rest) FROM shard.\(table) WHERE run_id = ?",
                                           arguments: [newRun, oldRun])
                        }
                        try db.execute(sql: """
                            INSERT INTO sweep_units (unit_id, position, run_id, scenario_file, policy, seed, event_log_hash)
                            VALUES (?, ?, ?, ?, ?, ?, ?)
                            """, arguments: [unitId, unit["position"] as Int, newRun, unit["scenario_file"] as String,
                                             unit["policy"] as String, unit["seed"] as Int64, hash])
                        copied += 1
                    }
                    return .commit
                }
                return (copied, divergent)
            }
        }
    }
}
