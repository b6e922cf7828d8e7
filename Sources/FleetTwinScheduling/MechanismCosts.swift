import FleetTwinCostModel
import FleetTwinEngine
import FleetTwinFleet

/// What each mechanism costs in time, from the checkpoint path of each cluster's
/// accelerators (fitted to the calibration) and the fleet's network.
///
/// - dump: device -> host -> storage of the job's state; the first dump of a job is its full
///   state, later ones are smaller by the deduplication factor.
/// - restore: storage -> host -> device of the full state.
/// - transfer (migration): upload of the dump to blob storage and download at the
///   destination, each at the slower of the blob store and the network path between them.
/// - grow (resize): copying parameters and optimizer state to the new devices over the
///   cluster network, in parallel.
///
/// Batch inference (`BatchInference`) has no optimizer state: its dump is the cursor and the
/// last step's outputs, every start loads the weights, and a grow copies them.
public struct MechanismCosts: Sendable {
    public let settings: MechanismSettings
    private let checkpoint: [CheckpointCostModel]
    private let region: [Int32]
    private let network: NetworkSpec

    public init(fleet: FleetSpec, settings: MechanismSettings) {
        self.settings = settings
        var checkpoint: [CheckpointCostModel] = [], region: [Int32] = []
        for (r, spec) in fleet.regions.enumerated() {
            for cluster in spec.clusters {
                checkpoint.append(fleet.profile(named: cluster.acceleratorType)?.spec.checkpoint ?? AcceleratorCatalog.h100.checkpoint)
                region.append(Int32(r))
            }
        }
        self.checkpoint = checkpoint
        self.region = region
        self.network = fleet.network
    }

    /// Bytes a dump writes: the full state the first time, deduplicated after; nothing when
    /// the job has not progressed since its last dump.
    public func dumpBytes(state: Int64, dumpsSoFar: Int, workSinceDump: Int64) -> Int64 {
        if dumpsSoFar > 0 && workSinceDump == 0 { return 0 }
        return dumpsSoFar == 0 ? state : Int64((Double(state) / settings.deduplication).rounded(.up))
    }

    /// Bytes a batch-inference job's dump writes: its cursor and the outputs of its last
    /// step, the rest having been appended to storage as each step finished (as batch
    /// inference writes result shards); nothing when it has not progressed since its last
    /// dump. `outputBytes` is the size of all its outputs, `steps` its mini-batch rounds
    /// (nil: one round per `defaultStep` of its `work`).
    public func inferenceDumpBytes(outputBytes: Int64, steps: Int64?, work: VirtualTime, defaultStep: VirtualTime,
                                   progressed: Bool) -> Int64 {
        guard progressed else { return 0 }
        let rounds = steps ?? max(1, work.microseconds / max(1, defaultStep.microseconds))
        return BatchInference.cursorBytes + (outputBytes + rounds - 1) / max(1, rounds)
    }

    /// The peer simulator's restart pause of `job` that replaces the checkpoint-path costs
    /// (`restartCost`), when one is set and costs are charged.
    public func flatRestart(_ job: JobSpec) -> VirtualTime? {
        settings.chargesCosts ? settings.restartCost?.pause(worldSize: job.worldSize, application: job.application) : nil
    }

    /// Bytes a dump of `job` writes now: `dumpBytes(state:…)` for training, the cursor and
    /// last step's outputs (`inferenceDumpBytes`) for batch inference.
    public func dumpBytes(_ job: JobSpec, dumpsSoFar: Int, workSinceDump: Int64) -> Int64 {
        guard job.inference != nil else { return dumpBytes(state: job.stateBytes, dumpsSoFar: dumpsSoFar, workSinceDump: workSinceDump) }
        return inferenceDumpBytes(outputBytes: job.stateBytes, steps: job.steps, work: job.work, defaultStep: settings.defaultStepTime,
                                  progressed: dumpsSoFar == 0 || workSinceDump > 0)
    }

    /// What a (re)start of `job` waits for before progressing: nothing for a training job
    /// never dumped (unless a restart cost is set), else its restore.
    public func startTime(_ job: JobSpec, dumpsSoFar: Int, cluster: Int32) -> VirtualTime {
        dumpsSoFar > 0 || job.inference != nil || flatRestart(job) != nil ? restoreTime(job, cluster: cluster) : .zero
    }

    /// What a (re)start loads: a training job's full state; a batch-inference job's weights
    /// and cursor.
    public func restoreTime(_ job: JobSpec, cluster: Int32) -> VirtualTime {
        if let flat = flatRestart(job) { return flat }
        return restoreTime(state: job.inference.map { $0.weightBytes + BatchInference.cursorBytes } ?? job.stateBytes, cluster: cluster)
    }

    /// A resize's pause: a grow copies the shared state (a batch-inference job's weights) to
    /// the new devices; a shrink frees devices after the cut (a restart cost pauses both).
    public func resizeTime(_ job: JobSpec, grow: Bool) -> VirtualTime {
        if let flat = flatRestart(job) { return flat }
        return grow ? growTime(state: job.inference?.weightBytes ?? job.stateBytes) : .zero
    }

    public func dumpTime(bytes: Int64, cluster: Int32) -> VirtualTime {
        settings.chargesCosts && settings.restartCost == nil ? .seconds(checkpoint[Int(cluster)].checkpointSeconds(bytes)) : .zero
    }

    public func restoreTime(state: Int64, cluster: Int32) -> VirtualTime {
        settings.chargesCosts ? .seconds(checkpoint[Int(cluster)].restoreSeconds(state)) : .zero
    }

    /// Upload from `source` to blob storage plus download at `destination`.
    public func transferTime(bytes: Int64, from source: Int32, to destination: Int32) -> VirtualTime {
        guard bytes > 0, settings.chargesCosts, settings.restartCost == nil else { return .zero }
        let path: Double
        if source == destination { path = network.intraCluster }
        else if region[Int(source)] == region[Int(destination)] { path = network.crossCluster }
        else { path = network.crossRegion }
        return .seconds(2 * Double(bytes) / min(path, network.blobStore))
    }

    /// Copying the shared parameters and optimizer state onto newly added devices.
    public func growTime(state: Int64) -> VirtualTime {
        state <= 0 || !settings.chargesCosts ? .zero : .seconds(Double(state) / network.intraCluster)
    }
}
