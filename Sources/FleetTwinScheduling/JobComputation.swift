/// Real computation a job may carry: the kernels of a workload that run as the job's simulated
/// progress advances (FleetTwinScenario connects FleetTwinWorkloads to these hooks).
///
/// The job calls the hooks at the moments its simulated state changes, on the simulation's
/// serial executor, so the kernels run in a deterministic order:
/// - progress is banked (a cut, a periodic checkpoint, completion): run the real steps that
///   the banked work covers, with the replicas spread over the devices the work ran on;
/// - the state is dumped (preemption, migration, checkpoint): serialise the real checkpoint
///   bytes; when the job leaves its devices, drop the live state so that the next step
///   restores a fresh object from those bytes, as another node would;
/// - a failure loses the work since the last dump: go back to the last dump's bytes.
public protocol JobComputation: AnyObject {
    /// Runs the real steps covered by `workDone` of `totalWork`, on `devices` devices.
    func advance(workDone: Int64, totalWork: Int64, devices: Int)
    /// Serialises the state; `leavingDevices`: the live state is dropped (restore on resume).
    func dump(leavingDevices: Bool)
    /// Back to the state of the last dump (or the start, if none).
    func rollBack()
    /// Runs the remaining steps and reports the result (checking it against an uninterrupted
    /// run is verification, done outside the model: see FleetTwinScenario's ResultVerification).
    func finish(devices: Int) -> ComputationOutcome
}

/// Makes the computation of each job that has one.
public protocol JobComputationFactory: Sendable {
    func computation(for job: JobSpec) -> (any JobComputation)?
}

/// What a job's real computation produced, and how it got there.
public struct ComputationOutcome: Sendable, Equatable {
    public var job: String
    public var kind: String
    public var steps: Int
    /// Fresh objects built from checkpoint bytes (after preemptions, migrations, failures).
    public var restores: Int
    /// Checkpoint bytes serialised (dumps).
    public var dumps: Int
    /// Distinct device counts the replicas ran on (1 = never resized).
    public var deviceCounts: [Int]
    public var resultHash: UInt64
    /// The result's named metrics, in the workload's order.
    public var metricNames: [String]
    public var metricValues: [Double]

    public init(job: String, kind: String, steps: Int, restores: Int, dumps: Int, deviceCounts: [Int],
                resultHash: UInt64, metricNames: [String], metricValues: [Double]) {
        self.job = job
        self.kind = kind
        self.steps = steps
        self.restores = restores
        self.dumps = dumps
        self.deviceCounts = deviceCounts
        self.resultHash = resultHash
        self.metricNames = metricNames
        self.metricValues = metricValues
    }
}
