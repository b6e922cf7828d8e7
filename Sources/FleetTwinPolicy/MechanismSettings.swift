import FleetTwinEngine

/// The parameters of Singularity's mechanisms, as a scenario sets them (defaults from the
/// paper where it gives them).
public struct MechanismSettings: Sendable, Equatable {
    /// A consistent cut completes at a step boundary within this many mini-batches.
    public var cutSteps: Double
    /// The step of a job whose work was not given in steps.
    public var defaultStepTime: VirtualTime
    /// The first dump of a job is its full state; later dumps are this many times smaller.
    public var deduplication: Double
    /// Extra cost of time-slicing replicas on one device (replica splicing).
    public var splicingOverhead: Double
    /// Periodic checkpoint interval of running jobs, by tier rank (nil: none).
    public var checkpointInterval: [VirtualTime?]
    /// GPU-fraction SLA targets by tier rank (premium, standard, basic).
    public var slaTargets: [Double]
    /// False: every cut, dump, restore, transfer and copy takes no time and splicing costs
    /// nothing, as older simulators assume (`replay --no-overheads`).
    public var chargesCosts = true
    /// Compatibility with peer simulators: a pause at every start (the first included),
    /// resize and migration, in place of FleetTwin's checkpoint-path costs (dumps, transfers,
    /// restores and copies then take no time), or `compat`, what the policy's original
    /// simulator charges (`RestartCost`). nil: FleetTwin's own costs.
    public var restartCost: RestartCost? = nil

    public init(
        cutSteps: Double = 2, defaultStepTime: VirtualTime = .seconds(Int64(1)), deduplication: Double = 10,
        splicingOverhead: Double = 0.03, checkpointInterval: [VirtualTime?] = [nil, nil, nil],
        slaTargets: [Double] = [0.95, 0.70, 0]
    ) {
        self.cutSteps = cutSteps
        self.defaultStepTime = defaultStepTime
        self.deduplication = deduplication
        self.splicingOverhead = splicingOverhead
        self.checkpointInterval = checkpointInterval
        self.slaTargets = slaTargets
    }

    public static let defaults = MechanismSettings()

    /// These settings with every mechanism free.
    public var free: MechanismSettings {
        var s = self
        s.chargesCosts = false
        s.cutSteps = 0
        s.splicingOverhead = 0
        return s
    }

    public func checkpointInterval(for tier: SLATier) -> VirtualTime? { checkpointInterval[tier.rank] }
    public func slaTarget(for tier: SLATier) -> Double { slaTargets[tier.rank] }
}
