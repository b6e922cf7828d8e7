import FleetTwinLive
import FleetTwinMetrics
import Foundation
import GRDB

/// The live twin's observation log: sessions, observations (one row per poll, with the hash
/// of its canonical snapshot, or none when the poll was refused), snapshots (stored once per
/// hash), the normalized events (`twin_events`, in `seq` order) and the sacct records the
/// mirror made events from (`twin_accounting`). Every poll is appended in one transaction, so
/// a killed twin loses nothing it had observed.
extension ResultStore {
    /// A stored twin session and how much it holds.
    public struct TwinSession: Equatable, Sendable {
        /// The session's id (`twin export --session`).
        public var id: Int64
        /// What it observed: `squeue/sinfo` (live) or `capture DIR`.
        public var source: String
        /// The build that recorded it.
        public var version: String
        /// Observation rows (every poll, refused ones included) and events.
        public var polls: Int
        public var events: Int
    }

    /// Starts a session; returns its id.
    public func beginTwinSession(source: String, version: String) throws -> Int64 {
        try Self.busy(path) {
            try database.write { db in
                try db.execute(sql: "INSERT INTO twin_sessions (source, fleettwin_version) VALUES (?, ?)", arguments: [source, version])
                return db.lastInsertedRowID
            }
        }
    }

    /// Appends poll number `poll` of `session`: its observation row (time, snapshot hash), the
    /// snapshot when new, its events and the sacct records they came from, in one transaction. `time` is the observation's
    /// (Unix µs), or, for a refused poll, its first event's or 0.
    public func appendTwinPoll(session: Int64, poll: Int, step: SlurmMirror.Step) throws {
        try Self.busy(path) {
            try database.write { db in
                let time = step.observation?.time ?? step.events.first?.time ?? 0
                var hash: String?
                if let observation = step.observation {
                    let h = observation.hash
                    try db.execute(sql: "INSERT OR IGNORE INTO twin_snapshots (hash, snapshot) VALUES (?, ?)",
                                   arguments: [h, observation.canonicalJSON])
                    hash = h
                }
                try db.execute(sql: "INSERT INTO observations (session_id, poll, time_us, snapshot_hash) VALUES (?, ?, ?, ?)",
                               arguments: [session, poll, time, hash])
                let next = try Int.fetchOne(db, sql: "SELECT COALESCE(MAX(seq), -1) + 1 FROM twin_events WHERE session_id = ?",
                                            arguments: [session]) ?? 0
                if !step.accounting.isEmpty {
                    try db.execute(sql: "INSERT INTO twin_accounting (session_id, poll, runs) VALUES (?, ?, ?)",
                                   arguments: [session, poll, Self.json(step.accounting)])
                }
                let events = step.events
                try BulkInsert(table: "twin_events", columns: ["session_id", "seq", "poll", "time_us", "kind", "epoch", "job_id", "node", "details"])
                    .insert(db, count: events.count) { i in
                        let e = events[i]
                        return [session, next + i, poll, e.time, e.kind.rawValue, e.epoch, e.job, e.node, e.details.json]
                    }
            }
        }
    }

    /// The stored twin sessions, oldest first.
    public func twinSessions() throws -> [TwinSession] {
        try database.read { db in
            try Row.fetchAll(db, sql: """
                SELECT s.id, s.source, s.fleettwin_version,
                       (SELECT COUNT(*) FROM observations o WHERE o.session_id = s.id) AS polls,
                       (SELECT COUNT(*) FROM twin_events e WHERE e.session_id = s.id) AS events
                FROM twin_sessions s ORDER BY s.id
                """).map { TwinSession(id: $0["id"], source: $0["source"], version: $0["fleettwin_version"], polls: $0["polls"], events: $0["events"]) }
        }
    }

    /// A stored event whose kind or details this build cannot read.
    public struct UnknownTwinEvent: Error, CustomStringConvertible {
        public var session: Int64
        /// The event's position in its session's log.
        public var seq: Int
        public var message: String
        /// `twin session S, event N: MESSAGE`.
        public var description: String { "twin session \(session), event \(seq): \(message)" }
    }

    /// The events of `session`, in log order; an unknown kind or unreadable details is an error.
    public func twinEvents(session: Int64) throws -> [TwinEvent] {
        try database.read { db in
            try Row.fetchAll(db, sql: """
                SELECT seq, time_us, kind, epoch, job_id, node, details FROM twin_events WHERE session_id = ? ORDER BY seq
                """, arguments: [session]).map { row in
                let seq: Int = row["seq"], kindText: String = row["kind"]
                guard let kind = TwinEvent.Kind(rawValue: kindText) else {
                    throw UnknownTwinEvent(session: session, seq: seq, message: "unknown event kind '\(kindText)'")
                }
                let details: TwinEvent.Details
                do { details = try TwinEvent.Details(json: row["details"]) } catch {
                    throw UnknownTwinEvent(session: session, seq: seq, message: "details are not an event's JSON (\(error))")
                }
                return TwinEvent(time: row["time_us"], kind: kind, epoch: row["epoch"], job: row["job_id"], node: row["node"], details: details)
            }
        }
    }

    /// One stored start forecast (`twin_forecasts`): made at poll `poll` (time in Unix µs)
    /// for `job`; Unix seconds, nil where none was made.
    public struct TwinForecast: Equatable, Sendable {
        public var poll: Int
        public var time: Int64
        public var job: String
        public var p10: Double?, p50: Double?, p90: Double?
        public var limitsStart: Double?
        public var slurmEstimate: Double?

        public init(poll: Int, time: Int64, job: String, p10: Double?, p50: Double?, p90: Double?, limitsStart: Double?, slurmEstimate: Double?) {
            self.poll = poll
            self.time = time
            self.job = job
            self.p10 = p10
            self.p50 = p50
            self.p90 = p90
            self.limitsStart = limitsStart
            self.slurmEstimate = slurmEstimate
        }
    }


    /// The forecasts `session` stored, by poll then job.
    public func twinForecasts(session: Int64) throws -> [TwinForecast] {
        try database.read { db in
            try Row.fetchAll(db, sql: """
                SELECT poll, time_us, job, p10, p50, p90, limits_start, slurm_estimate FROM twin_forecasts
                WHERE session_id = ? ORDER BY poll, job
                """, arguments: [session]).map {
                TwinForecast(poll: $0["poll"], time: $0["time_us"], job: $0["job"], p10: $0["p10"], p50: $0["p50"], p90: $0["p90"],
                             limitsStart: $0["limits_start"], slurmEstimate: $0["slurm_estimate"])
            }
        }
    }

    /// A job-count series a twin predicted at one poll (`twin_forecast_series`): `forecaster`
    /// is `twin` (the replicas' median) or `limits` (the time-limit plan); `time` the
    /// forecast's observation (Unix µs, the series' origin), `horizon` how far it runs (µs).
    public struct TwinForecastSeries: Equatable, Sendable {
        /// The poll the forecast was made at.
        public var poll: Int
        /// `twin` or `limits`.
        public var forecaster: String
        /// The observation's time, Unix µs.
        public var time: Int64
        /// How far the series runs, µs.
        public var horizon: Int64
        /// The predicted counts, offsets from `time`.
        public var series: JobCountSeries

        /// One stored series.
        public init(poll: Int, forecaster: String, time: Int64, horizon: Int64, series: JobCountSeries) {
            self.poll = poll
            self.forecaster = forecaster
            self.time = time
            self.horizon = horizon
            self.series = series
        }
    }

    /// Stores the start forecasts and the series made at one poll, in one transaction (a
    /// killed twin keeps both or neither).
    public func appendTwinForecasts(session: Int64, _ forecasts: [TwinForecast], series: [TwinForecastSeries] = []) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let texts = try series.map { String(decoding: try encoder.encode($0.series.points), as: UTF8.self) }
        try Self.busy(path) {
            try database.write { db in
                try BulkInsert(table: "twin_forecasts", columns: ["session_id", "poll", "time_us", "job", "p10", "p50", "p90", "limits_start", "slurm_estimate"])
                    .insert(db, count: forecasts.count) { i in
                        let f = forecasts[i]
                        return [session, f.poll, f.time, f.job, f.p10, f.p50, f.p90, f.limitsStart, f.slurmEstimate]
                    }
                try BulkInsert(table: "twin_forecast_series", columns: ["session_id", "poll", "forecaster", "time_us", "horizon_us", "points"])
                    .insert(db, count: series.count) { i in
                        let f = series[i]
                        return [session, f.poll, f.forecaster, f.time, f.horizon, texts[i]]
                    }
            }
        }
    }

    /// The series `session` stored, by poll then forecaster; a stored text that is not a
    /// series' points is an error naming the row.
    public func twinForecastSeries(session: Int64) throws -> [TwinForecastSeries] {
        try database.read { db in
            try Row.fetchAll(db, sql: """
                SELECT poll, forecaster, time_us, horizon_us, points FROM twin_forecast_series
                WHERE session_id = ? ORDER BY poll, forecaster
                """, arguments: [session]).map { row in
                let text: String = row["points"], poll: Int = row["poll"], forecaster: String = row["forecaster"]
                let points: [JobCountSeries.Point]
                do { points = try JSONDecoder().decode([JobCountSeries.Point].self, from: Data(text.utf8)) } catch {
                    throw UnreadableTwinSeries(description: "twin session \(session), poll \(poll): the stored \(forecaster) series is not a list of {offset, pendingGPUs, runningJobs} (\(error))")
                }
                return TwinForecastSeries(poll: poll, forecaster: forecaster, time: row["time_us"], horizon: row["horizon_us"],
                                          series: JobCountSeries(points: points))
            }
        }
    }

    /// A stored series this build cannot read: which session, poll and series, and why.
    public struct UnreadableTwinSeries: Error, CustomStringConvertible {
        public var description: String
    }

    /// One observation a session took, as stored.
    public struct TwinObservation: Sendable {
        /// The poll's number in its session.
        public var poll: Int
        /// When it was observed: Unix µs.
        public var time: Int64
        /// The mirror's epoch at it: controller restarts logged up to this poll (`TwinEvent.epoch`).
        public var epoch: Int
        /// The canonical snapshot (squeue's jobs, sinfo's nodes).
        public var snapshot: SlurmObservation.Snapshot
        /// sacct's records the mirror made events from at this poll (none without).
        public var accounting: [AccountedRun]

        /// The observation as the mirror took it.
        public var observation: SlurmObservation { SlurmObservation(time: time, nodes: snapshot.nodes, jobs: snapshot.jobs) }
    }

    /// Every observation `session` took, in poll order, with its epoch and the sacct records
    /// used at it; refused polls (no snapshot) left out.
    public func twinObservations(session: Int64) throws -> [TwinObservation] {
        try database.read { db in
            let restarts = try Int.fetchAll(db, sql: "SELECT poll FROM twin_events WHERE session_id = ? AND kind = 'controllerRestart' ORDER BY seq",
                                            arguments: [session])
            var epoch = 0
            return try Row.fetchAll(db, sql: """
                SELECT o.poll, o.time_us, s.snapshot, a.runs
                FROM observations o JOIN twin_snapshots s ON s.hash = o.snapshot_hash
                LEFT JOIN twin_accounting a ON a.session_id = o.session_id AND a.poll = o.poll
                WHERE o.session_id = ? ORDER BY o.poll
                """, arguments: [session]).map { row in
                let text: String = row["snapshot"], runs: String? = row["runs"], poll: Int = row["poll"]
                while epoch < restarts.count, restarts[epoch] <= poll { epoch += 1 }
                return TwinObservation(poll: poll, time: row["time_us"], epoch: epoch,
                                       snapshot: try JSONDecoder().decode(SlurmObservation.Snapshot.self, from: Data(text.utf8)),
                                       accounting: try runs.map { try JSONDecoder().decode([AccountedRun].self, from: Data($0.utf8)) } ?? [])
            }
        }
    }

    /// Sorted-key JSON of `value` (encoding plain records cannot fail).
    static func json(_ value: some Encodable) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try! encoder.encode(value), as: UTF8.self)
    }

    /// The last snapshot `session` took and when, or nil when it took none.
    public func lastTwinSnapshot(session: Int64) throws -> (time: Int64, snapshot: SlurmObservation.Snapshot)? {
        try database.read { db in
            guard let row = try Row.fetchOne(db, sql: """
                SELECT o.time_us, s.snapshot FROM observations o JOIN twin_snapshots s ON s.hash = o.snapshot_hash
                WHERE o.session_id = ? ORDER BY o.poll DESC LIMIT 1
                """, arguments: [session]) else { return nil }
            let text: String = row["snapshot"]
            return (row["time_us"], try JSONDecoder().decode(SlurmObservation.Snapshot.self, from: Data(text.utf8)))
        }
    }
}
