import GRDB

extension ResultStore {
    /// Named, append-only migrations: never edit one that has shipped; add the next.
    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1-runs-jobs-metrics-events") { db in
            try db.execute(sql: """
                CREATE TABLE runs (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    scenario_name TEXT NOT NULL,
                    scenario_file TEXT NOT NULL,
                    scenario_hash TEXT NOT NULL,
                    scenario_text TEXT NOT NULL,
                    seed INTEGER NOT NULL,
                    policy TEXT NOT NULL,
                    fleettwin_version TEXT NOT NULL,
                    event_log_hash TEXT NOT NULL,
                    status TEXT NOT NULL,
                    end_time_us INTEGER NOT NULL,
                    processed_events INTEGER NOT NULL,
                    capacity INTEGER NOT NULL
                );
                CREATE TABLE metrics (
                    run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
                    name TEXT NOT NULL,
                    value REAL NOT NULL,
                    PRIMARY KEY (run_id, name)
                ) WITHOUT ROWID;
                CREATE TABLE utilization (
                    run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
                    bucket INTEGER NOT NULL,
                    start_s REAL NOT NULL,
                    utilization REAL NOT NULL,
                    PRIMARY KEY (run_id, bucket)
                ) WITHOUT ROWID;
                CREATE TABLE jobs (
                    run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
                    job_index INTEGER NOT NULL,
                    name TEXT NOT NULL,
                    tier TEXT NOT NULL,
                    world_size INTEGER NOT NULL,
                    accelerator_type TEXT NOT NULL,
                    submit_us INTEGER NOT NULL,
                    first_start_us INTEGER,
                    end_us INTEGER,
                    accelerator_seconds REAL NOT NULL,
                    starts INTEGER NOT NULL,
                    PRIMARY KEY (run_id, job_index)
                ) WITHOUT ROWID;
                CREATE TABLE events (
                    run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
                    seq INTEGER NOT NULL,
                    time_us INTEGER NOT NULL,
                    kind INTEGER NOT NULL,
                    job INTEGER NOT NULL,
                    cluster INTEGER NOT NULL,
                    accelerators INTEGER NOT NULL,
                    PRIMARY KEY (run_id, seq)
                ) WITHOUT ROWID;
                """)
        }
        migrator.registerMigration("v2-energy") { db in
            try db.execute(sql: """
                ALTER TABLE jobs ADD COLUMN energy_kwh REAL;
                ALTER TABLE utilization ADD COLUMN power_kw REAL;
                """)
        }
        migrator.registerMigration("v3-mechanisms") { db in
            try db.execute(sql: """
                ALTER TABLE events ADD COLUMN progress INTEGER NOT NULL DEFAULT 0;
                ALTER TABLE events ADD COLUMN overhead INTEGER NOT NULL DEFAULT 0;
                ALTER TABLE jobs ADD COLUMN achieved_fraction REAL;
                """)
        }
        migrator.registerMigration("v4-comparisons") { db in
            try db.execute(sql: """
                CREATE TABLE comparisons (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    scenario_name TEXT NOT NULL,
                    policies TEXT NOT NULL,
                    seeds TEXT NOT NULL
                );
                CREATE TABLE comparison_runs (
                    comparison_id INTEGER NOT NULL REFERENCES comparisons(id) ON DELETE CASCADE,
                    position INTEGER NOT NULL,
                    run_id INTEGER NOT NULL REFERENCES runs(id),
                    PRIMARY KEY (comparison_id, position)
                ) WITHOUT ROWID;
                """)
        }
        migrator.registerMigration("v5-job-work") { db in
            try db.execute(sql: """
                ALTER TABLE jobs ADD COLUMN work_us INTEGER;
                ALTER TABLE jobs ADD COLUMN steps INTEGER;
                ALTER TABLE jobs ADD COLUMN state_bytes INTEGER;
                ALTER TABLE jobs ADD COLUMN memory_per_replica_bytes INTEGER;
                """)
        }
        migrator.registerMigration("v6-sweep-units") { db in
            try db.execute(sql: """
                CREATE TABLE sweep_units (
                    unit_id TEXT PRIMARY KEY,
                    position INTEGER NOT NULL,
                    run_id INTEGER NOT NULL REFERENCES runs(id),
                    scenario_file TEXT NOT NULL,
                    policy TEXT NOT NULL,
                    seed INTEGER NOT NULL,
                    event_log_hash TEXT NOT NULL
                ) WITHOUT ROWID;
                """)
        }
        migrator.registerMigration("v7-workload-results") { db in
            // A run's real workloads: per-job results with their verification and each kind's
            // analysis, as the JSON `run --json` prints under "workloads" (json_extract reads it).
            try db.execute(sql: """
                CREATE TABLE workload_results (
                    run_id INTEGER PRIMARY KEY REFERENCES runs(id),
                    results_json TEXT NOT NULL
                );
                """)
        }
        migrator.registerMigration("v8-goals") { db in
            // The scenario's goals and this run's value of each (NULL: the run has none, such as
            // a JCT with no job completed); verdicts over seeds are judged from these values.
            try db.execute(sql: """
                CREATE TABLE goals (
                    run_id INTEGER NOT NULL REFERENCES runs(id),
                    position INTEGER NOT NULL,
                    metric TEXT NOT NULL,
                    comparison TEXT NOT NULL,
                    target REAL NOT NULL,
                    value REAL,
                    PRIMARY KEY (run_id, position)
                ) WITHOUT ROWID;
                """)
        }
        migrator.registerMigration("v9-twin-observations") { db in
            // The live twin's observation log (FleetTwinLive): one session per `twin slurm`;
            // every poll is one observation row, written with its events in one transaction.
            // A refused poll has no snapshot. Snapshots are stored once per distinct hash.
            try db.execute(sql: """
                CREATE TABLE twin_sessions (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    source TEXT NOT NULL,
                    fleettwin_version TEXT NOT NULL
                );
                CREATE TABLE twin_snapshots (
                    hash TEXT PRIMARY KEY,
                    snapshot TEXT NOT NULL
                ) WITHOUT ROWID;
                CREATE TABLE observations (
                    session_id INTEGER NOT NULL REFERENCES twin_sessions(id),
                    poll INTEGER NOT NULL,
                    time_us INTEGER NOT NULL,
                    snapshot_hash TEXT REFERENCES twin_snapshots(hash),
                    PRIMARY KEY (session_id, poll)
                ) WITHOUT ROWID;
                CREATE TABLE twin_events (
                    session_id INTEGER NOT NULL REFERENCES twin_sessions(id),
                    seq INTEGER NOT NULL,
                    poll INTEGER NOT NULL,
                    time_us INTEGER NOT NULL,
                    kind TEXT NOT NULL,
                    epoch INTEGER NOT NULL,
                    job_id INTEGER,
                    node TEXT,
                    details TEXT NOT NULL,
                    PRIMARY KEY (session_id, seq)
                ) WITHOUT ROWID;
                """)
        }
        migrator.registerMigration("v10-twin-forecasts") { db in
            // Start forecasts a live twin made at its polls (`twin slurm --forecast-every`),
            // kept so that `twin score --db` scores them once the jobs start: the twin's
            // median and p10-p90, the time-limit plan's start, Slurm's own estimate (Unix s).
            try db.execute(sql: """
                CREATE TABLE twin_forecasts (
                    session_id INTEGER NOT NULL REFERENCES twin_sessions(id),
                    poll INTEGER NOT NULL,
                    time_us INTEGER NOT NULL,
                    job TEXT NOT NULL,
                    p10 REAL, p50 REAL, p90 REAL,
                    limits_start REAL,
                    slurm_estimate REAL,
                    PRIMARY KEY (session_id, poll, job)
                ) WITHOUT ROWID;
                """)
        }
        migrator.registerMigration("v11-job-kinds") { db in
            // A batch-inference job's requests and weights, and an elastic job's speedup
            // curve (a JSON array), NULL otherwise, so that `export` writes the job it was.
            try db.execute(sql: """
                ALTER TABLE jobs ADD COLUMN requests INTEGER;
                ALTER TABLE jobs ADD COLUMN weight_bytes INTEGER;
                ALTER TABLE jobs ADD COLUMN speedup_json TEXT;
                """)
        }
        migrator.registerMigration("v12-job-parallelism") { db in
            // A model-parallel job's tensor, pipeline and micro-batch counts (issue 18), NULL
            // for data parallelism only, so that `export` writes the job it was.
            try db.execute(sql: """
                ALTER TABLE jobs ADD COLUMN tensor INTEGER;
                ALTER TABLE jobs ADD COLUMN pipeline INTEGER;
                ALTER TABLE jobs ADD COLUMN micro_batches INTEGER;
                """)
        }
        migrator.registerMigration("v13-twin-forecast-series") { db in
            // The job-count series a live twin predicted at a forecast (`twin score --db`
            // scores them against the counts observed later): per poll and forecaster (`twin`,
            // the replicas' median; `limits`, the time-limit plan), the horizon it runs to and
            // its points as JSON ([{offset, pendingGPUs, runningJobs}], offsets µs).
            try db.execute(sql: """
                CREATE TABLE twin_forecast_series (
                    session_id INTEGER NOT NULL REFERENCES twin_sessions(id),
                    poll INTEGER NOT NULL,
                    forecaster TEXT NOT NULL,
                    time_us INTEGER NOT NULL,
                    horizon_us INTEGER NOT NULL,
                    points TEXT NOT NULL,
                    PRIMARY KEY (session_id, poll, forecaster)
                ) WITHOUT ROWID;
                """)
        }
        migrator.registerMigration("v14-twin-accounting") { db in
            // sacct's records a twin's mirror made events from at a poll (`SlurmMirror.Step`
            // .accounting, JSON list of `AccountedRun`): with the poll's snapshot, what
            // `twin slurm --resume` applies again to rebuild the mirror exactly.
            try db.execute(sql: """
                CREATE TABLE twin_accounting (
                    session_id INTEGER NOT NULL REFERENCES twin_sessions(id),
                    poll INTEGER NOT NULL,
                    runs TEXT NOT NULL,
                    PRIMARY KEY (session_id, poll)
                ) WITHOUT ROWID;
                """)
        }
        migrator.registerMigration("v15-job-deadlines") { db in
            // A job's deadline (absolute µs; NULL: best effort) and the application it trains
            // (a trace's `workload`, by which Sia's simulator charges restarts), so that `export`
            // writes them and a replay keeps them (issue 17).
            try db.execute(sql: """
                ALTER TABLE jobs ADD COLUMN deadline_us INTEGER;
                ALTER TABLE jobs ADD COLUMN application TEXT;
                """)
        }
        migrator.registerMigration("v16-job-policy-inputs") { db in
            // The rest of what policies read from a job, so that `export` writes it and a replay
            // decides as the run did: the tenant (`fair-share`), Slurm's time limit (µs),
            // partition and QOS (`slurm`), Pollux's statistical-efficiency inputs as the JSON list
            // [B0, max batch, min local, max local, var, sqr] (`pollux`), and Synergy's CPU and
            // memory profile (`synergy`). NULL: the job had none.
            try db.execute(sql: """
                ALTER TABLE jobs ADD COLUMN tenant TEXT;
                ALTER TABLE jobs ADD COLUMN time_limit_us INTEGER;
                ALTER TABLE jobs ADD COLUMN partition TEXT;
                ALTER TABLE jobs ADD COLUMN qos TEXT;
                ALTER TABLE jobs ADD COLUMN statistical_efficiency_json TEXT;
                ALTER TABLE jobs ADD COLUMN cpus_per_accelerator REAL;
                ALTER TABLE jobs ADD COLUMN memory_gib_per_accelerator REAL;
                ALTER TABLE jobs ADD COLUMN resource_speedup REAL;
                """)
        }
        migrator.registerMigration("v17-job-cpus") { db in
            // The CPU cores a batch scheduler allocated the job in all (a trace's `cpus`, from
            // sacct's TRES), which the `slurm` policy fits nodes by. NULL: not given.
            try db.execute(sql: "ALTER TABLE jobs ADD COLUMN cpus INTEGER")
        }
        return migrator
    }
}

/// Multi-row INSERT in chunks: one cached statement per chunk size, measured about 1.4x
/// faster than row-at-a-time cached statements (../shared/engineering.md, section 2).
struct BulkInsert {
    let table: String
    let columns: [String]
    static let rowsPerStatement = 500

    func insert(_ db: Database, count: Int, row: (Int) -> [(any DatabaseValueConvertible)?]) throws {
        var start = 0
        while start < count {
            let n = min(Self.rowsPerStatement, count - start)
            let placeholders = "(" + Array(repeating: "?", count: columns.count).joined(separator: ",") + ")"
            let sql = "INSERT INTO \(table) (\(columns.joined(separator: ","))) VALUES "
                + Array(repeating: placeholders, count: n).joined(separator: ",")
            let statement = try db.cachedStatement(sql: sql)
            var values: [(any DatabaseValueConvertible)?] = []
            values.reserveCapacity(n * columns.count)
            for i in start..<(start + n) { values += row(i) }
            try statement.execute(arguments: StatementArguments(values))
            start += n
        }
    }
}
