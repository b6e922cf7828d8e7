import FleetTwinCostModel
import GRDB

extension ResultStore {
    /// A stored job with everything needed to run it again.
    public struct ReplayableJob: Sendable, Equatable {
        public var name: String
        public var tier: String
        public var worldSize: Int
        public var acceleratorType: String
        public var submitMicroseconds: Int64
        public var workMicroseconds: Int64
        public var steps: Int64?
        public var stateBytes: Int64
        public var memoryPerReplicaBytes: Int64
        public var firstStartMicroseconds: Int64?
        public var endMicroseconds: Int64?
        /// Batch inference's requests and weight bytes; nil for training.
        public var requests: Int64? = nil
        public var weightBytes: Int64? = nil
        /// An elastic job's speedup on 1...worldSize devices; nil for a fixed world.
        public var speedup: [Double]? = nil
        /// A model-parallel job's tensor, pipeline and micro-batch counts; nil for data
        /// parallelism only.
        public var parallelism: Parallelism? = nil
        /// When it had to complete (absolute µs); nil: best effort, or stored before v14.
        public var deadlineMicroseconds: Int64? = nil
        /// The application it trains (a trace's `workload`); nil: unnamed, or stored before v14.
        public var application: String? = nil
    }

    /// The jobs of a run in index order, or nil for a run stored before job work was kept
    /// (schema v5).
    public func replayableJobs(run id: Int64) throws -> [ReplayableJob]? {
        try database.read { db in
            let rows = try Row.fetchAll(db, sql: """
                SELECT name, tier, world_size, accelerator_type, submit_us, work_us, steps, state_bytes,
                       memory_per_replica_bytes, first_start_us, end_us, requests, weight_bytes, speedup_json,
                       tensor, pipeline, micro_batches, deadline_us, application
                FROM jobs WHERE run_id = ? ORDER BY job_index
                """, arguments: [id])
            var jobs: [ReplayableJob] = []
            jobs.reserveCapacity(rows.count)
            for row in rows {
                guard let work: Int64 = row["work_us"] else { return nil }
                jobs.append(ReplayableJob(
                    name: row["name"], tier: row["tier"], worldSize: row["world_size"], acceleratorType: row["accelerator_type"],
                    submitMicroseconds: row["submit_us"], workMicroseconds: work, steps: row["steps"],
                    stateBytes: row["state_bytes"] ?? 0, memoryPerReplicaBytes: row["memory_per_replica_bytes"] ?? 0,
                    firstStartMicroseconds: row["first_start_us"], endMicroseconds: row["end_us"],
                    requests: row["requests"], weightBytes: row["weight_bytes"],
                    speedup: (row["speedup_json"] as String?).map { text in
                        text.dropFirst().dropLast().split(separator: ",").compactMap { Double($0) }
                    },
                    parallelism: (row["tensor"] as Int?).map { Parallelism(tensor: $0, pipeline: row["pipeline"] ?? 1, microBatches: row["micro_batches"] ?? 1) },
                    deadlineMicroseconds: row["deadline_us"], application: row["application"]))
            }
            return jobs
        }
    }
}
