import FleetTwinMetrics
import GRDB

extension ResultStore {
    /// Stores a comparison's runs (in policy-major, seed-minor order) and the comparison
    /// itself, all in one transaction; returns the comparison's id and its runs' ids.
    public func storeComparison(scenarioName: String, policies: [String], seeds: [UInt64], runs: [RunRecord]) throws
        -> (comparison: Int64, runs: [Int64])
    {
        try Self.busy(path) { try database.write { db in
            try db.execute(sql: "INSERT INTO comparisons (scenario_name, policies, seeds) VALUES (?, ?, ?)",
                           arguments: [scenarioName, policies.joined(separator: ","), seeds.map(String.init).joined(separator: ",")])
            let comparison = db.lastInsertedRowID
            var ids: [Int64] = []
            for (position, run) in runs.enumerated() {
                let id = try Self.insert(run, in: db)
                ids.append(id)
                try db.execute(sql: "INSERT INTO comparison_runs (comparison_id, position, run_id) VALUES (?, ?, ?)",
                               arguments: [comparison, position, id])
            }
            return (comparison, ids)
        } }
    }

    /// The runs of a stored comparison, in order; nil if there is no such comparison.
    public func comparisonRuns(_ id: Int64) throws -> [Int64]? {
        try database.read { db in
            guard try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM comparisons WHERE id = ?", arguments: [id]) == 1 else { return nil }
            return try Int64.fetchAll(db, sql: "SELECT run_id FROM comparison_runs WHERE comparison_id = ? ORDER BY position", arguments: [id])
        }
    }

    public func comparisonIds() throws -> [Int64] {
        try database.read { db in try Int64.fetchAll(db, sql: "SELECT id FROM comparisons ORDER BY id") }
    }
}
