import FleetTwinCostModel
import FleetTwinFleet
import FleetTwinPolicy
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
        /// Its tenant (fair share), Slurm time limit (µs), partition and QOS; nil: none, or
        /// stored before v16.
        public var tenant: String? = nil
        public var timeLimitMicroseconds: Int64? = nil
        public var partition: String? = nil
        public var qos: String? = nil
        /// Pollux's statistical-efficiency inputs and Synergy's CPU and memory profile; nil:
        /// none, or stored before v16.
        public var statisticalEfficiency: StatisticalEfficiency? = nil
        public var resources: ResourceProfile? = nil
        /// The CPU cores a batch scheduler allocated it (a trace's `cpus`); nil: none given, or
        /// stored before v17.
        public var cpus: Int? = nil
    }

    /// The jobs of a run in index order, or nil for a run stored before job work was kept
    /// (schema v5).
    public func replayableJobs(run id: Int64) throws -> [ReplayableJob]? {
        try database.read { db in
            let rows = try Row.fetchAll(db, sql: """
                SELECT name, tier, world_size, accelerator_type, submit_us, work_us, steps, state_bytes,
                       memory_per_replica_bytes, first_start_us, end_us, requests, weight_bytes, speedup_json,
                       tensor, pipeline, micro_batches, deadline_us, application,
                       tenant, time_limit_us, partition, qos, statistical_efficiency_json,
                       cpus_per_accelerator, memory_gib_per_accelerator, resource_speedup, cpus
                FROM jobs WHERE run_id = ? ORDER BY job_index
                """, arguments: [id])
            var jobs: [ReplayableJob] = []
            jobs.reserveCapacity(rows.count)
            for row in rows {
                guard let work: Int64 = row["work_us"] else { return nil }
                var job = ReplayableJob(
                    name: row["name"], tier: row["tier"], worldSize: row["world_size"], acceleratorType: row["accelerator_type"],
                    submitMicroseconds: row["submit_us"], workMicroseconds: work, steps: row["steps"],
                    stateBytes: row["state_bytes"] ?? 0, memoryPerReplicaBytes: row["memory_per_replica_bytes"] ?? 0,
                    firstStartMicroseconds: row["first_start_us"], endMicroseconds: row["end_us"],
                    requests: row["requests"], weightBytes: row["weight_bytes"],
                    speedup: (row["speedup_json"] as String?).map(Self.listValues),
                    parallelism: (row["tensor"] as Int?).map { Parallelism(tensor: $0, pipeline: row["pipeline"] ?? 1, microBatches: row["micro_batches"] ?? 1) },
                    deadlineMicroseconds: row["deadline_us"], application: row["application"])
                job.tenant = row["tenant"]
                job.timeLimitMicroseconds = row["time_limit_us"]
                job.partition = row["partition"]
                job.qos = row["qos"]
                job.cpus = row["cpus"]
                if let text = row["statistical_efficiency_json"] as String? {
                    let v = Self.listValues(text)
                    guard v.count == 6 else {
                        throw UnreadableStoredJob(description: "\(path): run \(id), job \(job.name): statistical_efficiency_json must be a list of six numbers [B0, max batch, min local, max local, var, sqr]; found \(text) (the database is damaged)")
                    }
                    job.statisticalEfficiency = StatisticalEfficiency(initialBatch: v[0], maxBatch: v[1], minLocalBatch: v[2],
                                                                      maxLocalBatch: v[3], gradientVariance: v[4], gradientSquare: v[5])
                }
                if let cpus = row["cpus_per_accelerator"] as Double?, let memory = row["memory_gib_per_accelerator"] as Double?,
                   let speedup = row["resource_speedup"] as Double? {
                    job.resources = ResourceProfile(cpusPerAccelerator: cpus, memoryGiBPerAccelerator: memory, speedup: speedup)
                }
                jobs.append(job)
            }
            return jobs
        }
    }
}

extension ResultStore {
    /// A list of numbers as the jobs table stores it (`speedup_json`,
    /// `statistical_efficiency_json`): `[1.0,1.8]`, each in Swift's shortest exact form.
    static func listText(_ values: [Double]) -> String {
        "[" + values.map { "\($0)" }.joined(separator: ",") + "]"
    }

    /// The numbers of a `listText`.
    static func listValues(_ text: String) -> [Double] {
        text.dropFirst().dropLast().split(separator: ",").compactMap { Double($0) }
    }
}

/// A stored job row this FleetTwin cannot read back for `export`: the database, run, job and why.
public struct UnreadableStoredJob: Error, CustomStringConvertible {
    public var description: String
}
