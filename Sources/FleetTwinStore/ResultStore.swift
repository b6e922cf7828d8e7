/// FleetTwinStore owns the results database: a SQLite file (GRDB on the system
/// libsqlite3) holding runs, their jobs, metrics, utilization series and event logs.
/// The schema only grows through named, append-only migrations (`ResultStore+Schema`);
/// every run is written in one transaction, so a database never holds half a run.
import FleetTwinMetrics
import FleetTwinScheduling
import Foundation
import GRDB

public final class ResultStore {
    public static let defaultPath = "fleettwin.sqlite"
    let database: DatabaseQueue

    /// Opens (creating if needed) the database at `path` and brings its schema up to date.
    public init(path: String) throws {
        var configuration = Configuration()
        // Another process writing the same file makes us wait, then fail clearly.
        configuration.busyMode = .timeout(Self.busyTimeout)
        self.path = path
        database = try Self.busy(path) { try DatabaseQueue(path: path, configuration: configuration) }
        try Self.busy(path) { try Self.migrator.migrate(database) }
    }

    /// Where the database lives (":memory:" for an in-memory one).
    public let path: String
    /// How long a write waits for another process's lock: 10 s, or FLEETTWIN_DB_BUSY_TIMEOUT
    /// seconds.
    static let busyTimeout: TimeInterval =
        ProcessInfo.processInfo.environment["FLEETTWIN_DB_BUSY_TIMEOUT"].flatMap(TimeInterval.init) ?? 10

    /// Another process kept the database locked for longer than the wait.
    public struct Busy: Error, CustomStringConvertible {
        public var path: String
        public var description: String {
            "database busy: another process kept \(path) locked for \(Int(ResultStore.busyTimeout)) s; try again, or write to another file with --db"
        }
    }

    /// Runs `body`, turning SQLite's busy and locked errors into `Busy`.
    static func busy<T>(_ path: String, _ body: () throws -> T) throws -> T {
        do { return try body() } catch let error as DatabaseError
            where error.resultCode == .SQLITE_BUSY || error.resultCode == .SQLITE_LOCKED {
            throw Busy(path: path)
        }
    }

    /// An in-memory database, for tests.
    public init() throws {
        path = ":memory:"
        database = try DatabaseQueue()
        try Self.migrator.migrate(database)
    }

    /// Everything one run produced, ready to store.
    public struct RunRecord: Sendable {
        public var scenarioName: String
        public var scenarioFile: String
        public var scenarioHash: String
        public var scenarioText: String
        public var seed: UInt64
        public var policy: String
        public var version: String
        public var result: SimulationResult
        public var metrics: RunMetrics
        public var storeEvents: Bool
        /// The real workloads' results and analyses as JSON (nil: the run had none).
        public var workloadResultsJSON: String?
        /// The scenario's goals: each is stored with this run's value of its metric.
        public var goals: [Goal] = []

        public init(scenarioName: String, scenarioFile: String, scenarioHash: String, scenarioText: String, seed: UInt64,
                    policy: String, version: String, result: SimulationResult, metrics: RunMetrics, storeEvents: Bool) {
            self.scenarioName = scenarioName
            self.scenarioFile = scenarioFile
            self.scenarioHash = scenarioHash
            self.scenarioText = scenarioText
            self.seed = seed
            self.policy = policy
            self.version = version
            self.result = result
            self.metrics = metrics
            self.storeEvents = storeEvents
        }
    }

    /// Stores a run and returns its id.
    @discardableResult
    public func store(_ run: RunRecord) throws -> Int64 {
        try Self.busy(path) {
            try database.write { db in
                let id = try Self.insert(run, in: db)
                Self.holdForKillTest()
                return id
            }
        }
    }

    /// Test hook for the store-safety test: with `FLEETTWIN_TEST_HOLD_WRITE=PATH` set, the
    /// store creates PATH once every row of a run is written but not committed, then waits
    /// (up to 60 s) so the test's SIGKILL lands inside the write transaction for certain.
    static func holdForKillTest() {
        guard let marker = ProcessInfo.processInfo.environment["FLEETTWIN_TEST_HOLD_WRITE"], !marker.isEmpty else { return }
        FileManager.default.createFile(atPath: marker, contents: Data("inside the write transaction\n".utf8))
        Thread.sleep(forTimeInterval: 60)
    }

    /// `NAME_mean_s`, `NAME_p50_s`, `NAME_p95_s`, `NAME_p99_s`; none for an absent distribution.
    static func distributionRows(_ name: String, _ d: Distribution?) -> [(String, Double)] {
        guard let d else { return [] }
        return [("\(name)_mean_s", d.mean), ("\(name)_p50_s", d.p50), ("\(name)_p95_s", d.p95), ("\(name)_p99_s", d.p99)]
    }

    /// Inserts a run and everything it produced inside the caller's transaction.
    static func insert(_ run: RunRecord, in db: Database) throws -> Int64 {
        let m = run.metrics
        try db.execute(sql: """
            INSERT INTO runs (scenario_name, scenario_file, scenario_hash, scenario_text, seed, policy,
                              fleettwin_version, event_log_hash, status, end_time_us, processed_events, capacity)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """, arguments: [run.scenarioName, run.scenarioFile, run.scenarioHash, run.scenarioText,
                             Int64(bitPattern: run.seed), run.policy, run.version, run.result.eventLogHash,
                             run.result.horizonReached ? "horizon" : "completed",
                             run.result.endTime.microseconds, run.result.processedEvents, run.result.capacity])
        let id = db.lastInsertedRowID

        let headline: [(String, Double)] = [
            ("jobs_submitted", Double(m.jobsSubmitted)), ("jobs_completed", Double(m.jobsCompleted)),
            ("utilization", m.utilization), ("makespan_s", m.makespan), ("accelerator_seconds", m.acceleratorSeconds),
            ("still_waiting", Double(m.stillWaiting)), ("still_running", Double(m.stillRunning)),
            ("energy_kwh", m.energyKWh), ("peak_power_kw", m.peakPowerKW),
            ("goodput_utilization", m.goodputUtilization), ("preemptions", Double(m.preemptions)),
            ("migrations", Double(m.migrations)), ("resizes", Double(m.resizes)), ("checkpoints", Double(m.checkpoints)),
            ("failures", Double(m.failures)), ("lost_work_s", m.lostWorkSeconds),
            ("idle_while_waiting_accelerator_seconds", m.idleWhileWaitingAcceleratorSeconds),
            ("node_failures", Double(m.nodeFailures)), ("outage_node_failures", Double(m.outageNodeFailures)),
            ("node_downtime_s", m.nodeDowntimeSeconds),
            ("overhead_seconds_preemption", m.overheadSeconds.preemption), ("overhead_seconds_restore", m.overheadSeconds.restore),
            ("overhead_seconds_migration", m.overheadSeconds.migration), ("overhead_seconds_resize", m.overheadSeconds.resize),
            ("overhead_seconds_checkpoint", m.overheadSeconds.checkpoint), ("overhead_seconds_splicing", m.overheadSeconds.splicing),
        ]
        // A statistic of no jobs is absent: no row, which `runs` and `show` print as none.
        + Self.distributionRows("jct", m.jct) + Self.distributionRows("queue_delay", m.queueDelay)
        + Self.distributionRows("queue_delay_censored", m.queueDelayCensored)
        + SLATier.allCases.flatMap { tier -> [(String, Double)] in
            guard let jobs = m.slaJobs[tier] else { return [] }
            return [("sla_jobs_\(tier.rawValue)", jobs), ("sla_met_\(tier.rawValue)", m.slaMet[tier] ?? 0),
                    ("sla_attainment_\(tier.rawValue)", m.slaAttainment[tier] ?? 0),
                    ("queue_delay_mean_\(tier.rawValue)_s", m.queueDelayByTier[tier] ?? 0)]
        }
        // Batch inference only, as rows, so `runs`, `show` and sweeps read them like the rest.
        + (m.inference.map { i in
            [("inference_jobs", Double(i.jobs)), ("inference_completed", Double(i.completed)),
             ("inference_requests", Double(i.requestsServed)), ("inference_requests_per_second", i.requestsPerSecond),
             ("inference_accelerator_seconds_per_1k_requests", i.acceleratorSecondsPer1kRequests)]
        } ?? [])
        // Deadlines only (jobs with one, or a policy that declined some).
        + (m.deadlines.map { d in
            [("deadline_jobs", Double(d.jobs)), ("deadline_accepted", Double(d.accepted)), ("deadline_declined", Double(d.declined)),
             ("deadline_satisfaction_ratio", d.satisfactionRatio), ("deadline_met", Double(d.met))]
        } ?? [])
        try BulkInsert(table: "metrics", columns: ["run_id", "name", "value"]).insert(db, count: headline.count) {
            [id, headline[$0].0, headline[$0].1]
        }
        try BulkInsert(table: "utilization", columns: ["run_id", "bucket", "start_s", "utilization", "power_kw"])
            .insert(db, count: m.utilizationSeries.count) {
                [id, $0, m.utilizationSeries[$0].start, m.utilizationSeries[$0].utilization, m.utilizationSeries[$0].powerKW]
            }
        let specs = run.result.jobs
        try BulkInsert(table: "jobs", columns: [
            "run_id", "job_index", "name", "tier", "world_size", "accelerator_type", "submit_us",
            "first_start_us", "end_us", "accelerator_seconds", "starts", "energy_kwh", "achieved_fraction",
            "work_us", "steps", "state_bytes", "memory_per_replica_bytes", "requests", "weight_bytes", "speedup_json",
            "tensor", "pipeline", "micro_batches", "deadline_us", "application",
            "tenant", "time_limit_us", "partition", "qos", "statistical_efficiency_json",
            "cpus_per_accelerator", "memory_gib_per_accelerator", "resource_speedup", "cpus",
        ]).insert(db, count: m.jobs.count) { i in
            let o = m.jobs[i], s = specs[i]
            return [id, i, s.name, s.tier.rawValue, s.worldSize, s.acceleratorType, o.submit.microseconds,
                    o.firstStart?.microseconds, o.end?.microseconds, o.acceleratorSeconds, o.starts, o.energyKWh,
                    o.achievedFraction, s.work.microseconds, s.steps, s.stateBytes, s.memoryPerReplicaBytes,
                    s.inference?.requests, s.inference?.weightBytes,
                    s.elasticSpeedup.map(Self.listText),
                    s.parallelism?.tensor, s.parallelism?.pipeline, s.parallelism?.microBatches,
                    s.deadline?.microseconds, s.application,
                    s.tenant, s.timeLimit?.microseconds, s.partition, s.qos,
                    s.statisticalEfficiency.map { e in
                        Self.listText([e.initialBatch, e.maxBatch, e.minLocalBatch, e.maxLocalBatch, e.gradientVariance, e.gradientSquare])
                    },
                    s.resources?.cpusPerAccelerator, s.resources?.memoryGiBPerAccelerator, s.resources?.speedup, s.cpus]
        }
        try BulkInsert(table: "goals", columns: ["run_id", "position", "metric", "comparison", "target", "value"])
            .insert(db, count: run.goals.count) { i in
                let goal = run.goals[i]
                return [id, i, goal.metric.name, goal.comparison.rawValue, goal.target, goal.metric.value(m)]
            }
        if let json = run.workloadResultsJSON {
            try db.execute(sql: "INSERT INTO workload_results (run_id, results_json) VALUES (?, ?)", arguments: [id, json])
        }
        if run.storeEvents {
            let records = run.result.log.records
            try BulkInsert(table: "events", columns: ["run_id", "seq", "time_us", "kind", "job", "cluster", "accelerators",
                                                      "progress", "overhead"])
                .insert(db, count: records.count) { i in
                    let r = records[i]
                    return [id, i, r.time.microseconds, Int(r.kind.rawValue), Int(r.job), Int(r.cluster), Int(r.accelerators),
                            r.progress, r.overhead]
                }
        }
        return id
    }

    /// One stored run's identity and headline metrics.
    public struct StoredRun: Sendable, Equatable {
        public var id: Int64
        public var scenarioName: String
        public var seed: UInt64
        public var policy: String
        public var status: String
        public var eventLogHash: String
        public var metrics: [String: Double]
    }

    public func runs() throws -> [StoredRun] {
        try database.read { db in
            let rows = try Row.fetchAll(db, sql: "SELECT id, scenario_name, seed, policy, status, event_log_hash FROM runs ORDER BY id")
            return try rows.map { row in
                let id: Int64 = row["id"]
                let metrics = try Row.fetchAll(db, sql: "SELECT name, value FROM metrics WHERE run_id = ? ORDER BY name", arguments: [id])
                return StoredRun(
                    id: id, scenarioName: row["scenario_name"], seed: UInt64(bitPattern: row["seed"] as Int64),
                    policy: row["policy"], status: row["status"], eventLogHash: row["event_log_hash"],
                    metrics: Dictionary(uniqueKeysWithValues: metrics.map { ($0["name"] as String, $0["value"] as Double) }))
            }
        }
    }

    /// Row counts of a run's child tables, for checks and listings.
    public func counts(run id: Int64) throws -> (jobs: Int, events: Int, utilization: Int) {
        try database.read { db in
            func count(_ table: String) throws -> Int {
                try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM \(table) WHERE run_id = ?", arguments: [id]) ?? 0
            }
            return (try count("jobs"), try count("events"), try count("utilization"))
        }
    }

    /// The stored event log of a run, in order.
    /// - Throws: `CorruptStoredEvent` for a row whose kind this FleetTwin does not know (a
    ///   newer FleetTwin's log, or a damaged database): misreading it would change every
    ///   metric folded from the log.
    public func events(run id: Int64) throws -> [EventRecord] {
        try database.read { db in
            try Row.fetchAll(db, sql: "SELECT seq, time_us, kind, job, cluster, accelerators, progress, overhead FROM events WHERE run_id = ? ORDER BY seq",
                             arguments: [id]).map { row in
                let raw: Int = row[2]
                guard let kind = UInt8(exactly: raw).flatMap(EventKind.init(rawValue:)) else {
                    throw CorruptStoredEvent(database: path, run: id, seq: row[0], kind: raw)
                }
                return EventRecord(time: .init(microseconds: row[1]), kind: kind,
                                   job: Int32(row[3] as Int), cluster: Int32(row[4] as Int), accelerators: Int32(row[5] as Int),
                                   progress: row[6], overhead: row[7])
            }
        }
    }

    /// Adds named metrics to a stored run (replacing equal names): figures computed after
    /// the run was stored, and fixtures in tests.
    public func addMetrics(run id: Int64, _ metrics: [(name: String, value: Double)]) throws {
        try database.write { db in
            for metric in metrics {
                try db.execute(sql: "INSERT OR REPLACE INTO metrics (run_id, name, value) VALUES (?, ?, ?)",
                               arguments: [id, metric.name, metric.value])
            }
        }
    }
}

/// A stored event row this FleetTwin cannot read: it names the database, the run and the
/// row (`seq` in the events table) and the unknown kind.
public struct CorruptStoredEvent: Error, CustomStringConvertible {
    public var database: String
    public var run: Int64
    public var seq: Int64
    public var kind: Int

    public var description: String {
        let known = EventKind.allCases.map { "\($0.rawValue) (\($0.name))" }.joined(separator: ", ")
        return "\(database): run \(run), event row \(seq): unknown event kind \(kind); expected one of \(known) (stored by a newer FleetTwin, or the database is damaged)"
    }
}
