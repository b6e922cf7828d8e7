/// Fills the report value types (FleetTwinReports) from the results store, and turns a
/// missing database or an unknown run id into invalid input (exit status 2).
import FleetTwinMetrics
import FleetTwinReports
import FleetTwinStore

extension StoreOptions {
    /// The database, which must already exist: reading commands never create one.
    func openForReading() throws -> ResultStore {
        do {
            return try ResultStore(existingPath: db)
        } catch let missing as MissingDatabase {
            throw InvalidInput(message: missing.description)
        }
    }
}

extension ResultStore {
    func runInfo(id: Int64, database path: String) throws -> (info: RunInfo, scenarioText: String) {
        guard let detail = try runDetail(id: id) else {
            let ids = try runIds()
            throw InvalidInput(message: ids.isEmpty
                ? "no run \(id): the database \(path) holds no runs yet"
                : "no run \(id) in \(path); stored runs: \(Self.describe(ids))")
        }
        let info = RunInfo(
            id: detail.id, scenario: detail.scenarioName, scenarioFile: detail.scenarioFile, scenarioHash: detail.scenarioHash,
            policy: detail.policy, seed: detail.seed, status: detail.status, version: detail.version,
            eventLogHash: detail.eventLogHash, capacity: detail.capacity, processedEvents: detail.processedEvents,
            storedEvents: detail.storedEvents, endTime: detail.endTimeSeconds,
            metrics: Dictionary(uniqueKeysWithValues: try metrics(run: id).map { ($0.name, $0.value) }))
        return (info, detail.scenarioText)
    }

    /// Everything the HTML report draws for one run. Queue length is folded from the stored
    /// event log, JCTs from the stored jobs, the science from the stored workload results.
    func reportRun(id: Int64, database path: String) throws -> ReportRun {
        let (info, scenarioText) = try runInfo(id: id, database: path)
        let goals = try self.goals(run: id).map { StoredGoal(goal: $0.goal, value: $0.value) }
        let series = try utilization(run: id).map { TimePoint(time: $0.start, value: $0.utilization) }
        let spanEnd = info.metrics["makespan_s"].flatMap { makespan in series.first.map { $0.time + makespan } }
        return ReportRun(
            info: info, scenarioText: scenarioText, utilization: series, utilizationEnd: spanEnd ?? info.endTime,
            completionTimes: try jobs(run: id).compactMap { job in job.end.map { $0 - job.submit } },
            queueLength: info.storedEvents > 0 ? QueueLengthPoint.series(try events(run: id)) : nil, goals: goals,
            workloads: try workloadResultsJSON(run: id).map { try WorkloadResults(json: $0) })
    }

    /// `1-3, 5, 8-9`: stored ids, short even when there are thousands.
    static func describe(_ ids: [Int64]) -> String {
        var parts: [String] = []
        var start = 0
        while start < ids.count {
            var end = start
            while end + 1 < ids.count, ids[end + 1] == ids[end] + 1 { end += 1 }
            parts.append(end == start ? "\(ids[start])" : "\(ids[start])-\(ids[end])")
            start = end + 1
        }
        return parts.joined(separator: ", ")
    }
}
