import FleetTwinFleet

/// The one rule that decides whether a job can ever run on a fleet, whatever its source (a
/// scenario's `jobs:` list, a generator template, a trace in `replay` or in `workload: {trace:}`):
/// its gang must fit the largest cluster of its accelerator type, and one replica's memory
/// must fit one accelerator of that type. A listed job that breaks it is a located scenario
/// error; a trace job that breaks it is a skipped job, counted with this reason.
enum JobFeasibility {
    /// Why a job of `worldSize` replicas of `memoryPerReplicaBytes` bytes (0: unknown) can
    /// never run on accelerators of `type`, or nil when it can. A type no cluster has is the
    /// caller's to report (scenarios name the types present; traces say "no cluster of type").
    static func problem(worldSize: Int, memoryPerReplicaBytes: Int64, type: String, fleet: FleetSpec) -> String? {
        let largest = fleet.largestCluster(ofType: type)
        guard worldSize <= largest else {
            return "a job of world size \(worldSize) can never run: the largest \(type) cluster has \(largest) accelerators"
        }
        if let profile = fleet.profile(named: type), memoryPerReplicaBytes > profile.memoryBytes {
            return "memory per replica \(memoryPerReplicaBytes) bytes (\(gigabytes(memoryPerReplicaBytes))) exceeds the \(profile.memoryBytes) bytes (\(gigabytes(profile.memoryBytes))) of a \(type)"
        }
        return nil
    }

    /// For a job that may run on any type (`types`, the fleet's, in declaration order): the
    /// types it can run on, or why it can run on none (the memory reason of the first type
    /// large enough for its gang, else that no cluster is large enough).
    static func types(worldSize: Int, memoryPerReplicaBytes: Int64, among types: [String], fleet: FleetSpec) -> Result<[String], Reason> {
        var fitting: [String] = [], memoryProblem: String?
        for type in types {
            guard let problem = problem(worldSize: worldSize, memoryPerReplicaBytes: memoryPerReplicaBytes, type: type, fleet: fleet) else {
                fitting.append(type)
                continue
            }
            if memoryProblem == nil && fleet.largestCluster(ofType: type) >= worldSize { memoryProblem = problem }
        }
        if !fitting.isEmpty { return .success(fitting) }
        if let memoryProblem { return .failure(Reason(text: memoryProblem)) }
        let largest = fleet.clusters.map(\.accelerators).max() ?? 0
        return .failure(Reason(text: "world size \(worldSize) exceeds the largest cluster (\(largest))"))
    }

    /// Why tensor groups of `tensor` cannot sit inside the nodes of `type`, or nil when they
    /// can: the tensor degree must divide a node's accelerators, so that whole nodes and the
    /// remainder of a gang hold whole groups (`PlacementRule`; Megatron-LM keeps T within a
    /// node, Narayanan et al., SC'21).
    static func tensorProblem(tensor: Int, type: String, fleet: FleetSpec) -> String? {
        guard tensor > 1 else { return nil }
        for cluster in fleet.clusters where cluster.acceleratorType == type && cluster.acceleratorsPerNode % tensor != 0 {
            return "tensor \(tensor) must divide the \(cluster.acceleratorsPerNode) accelerators of a \(type) node (cluster \(cluster.name)) so that tensor groups sit inside nodes"
        }
        return nil
    }

    /// Why a job cannot run, as a skipped job's reason or a scenario error's message.
    struct Reason: Error { var text: String }

    static func gigabytes(_ bytes: Int64) -> String {
        let gb = Double(bytes) / 1e9
        return gb == gb.rounded() ? "\(Int64(gb)) GB" : String(format: "%.1f GB", gb)
    }
}
