import FleetTwinCostModel
import FleetTwinEngine
import FleetTwinFleet

/// What gradient synchronisation costs a job on a placement: the fleet's
/// `CommunicationModel` over the interconnect of each cluster's accelerator type.
///
/// Only model-shaped training jobs communicate: their gradient bytes come from the shape and
/// their step time from the cost model. A job given as a duration has neither, so its
/// replicas scale perfectly, as before.
public struct CommunicationCosts: Sendable {
    /// nil: communication is off (every job scales perfectly).
    public let model: CommunicationModel?
    private let acceleratorsPerNode: [Int]
    private let interconnect: [Interconnect]

    public init(fleet: FleetSpec) {
        model = fleet.network.communication
        var perNode: [Int] = [], links: [Interconnect] = []
        for cluster in fleet.clusters {
            perNode.append(cluster.acceleratorsPerNode)
            links.append(fleet.profile(named: cluster.acceleratorType)?.spec.interconnect ?? AcceleratorCatalog.h100.interconnect)
        }
        acceleratorsPerNode = perNode
        interconnect = links
    }

    private init() {
        model = nil
        acceleratorsPerNode = []
        interconnect = []
    }

    /// No communication: every job scales perfectly.
    public static let none = CommunicationCosts()

    /// The job's step at full speed on the reference accelerator (its work / steps), in
    /// seconds, and its gradient bytes; nil when it does not communicate.
    static func profile(_ spec: JobSpec) -> (stepSeconds: Double, gradientBytes: Double)? {
        // An elastic job's speedup curve already prices its communication.
        guard spec.elasticSpeedup == nil, let shape = spec.model, let steps = spec.steps, steps > 0, shape.gradientBytes > 0 else { return nil }
        return (Double(spec.work.microseconds) / 1e6 / Double(steps), shape.gradientBytes)
    }

    /// Whether the job all-reduces gradients when it runs on several accelerators (a
    /// model-shaped training job given in steps).
    public static func communicates(_ spec: JobSpec) -> Bool { profile(spec) != nil }

    /// The rate of a job that would run at `computeRate` with perfect scaling (its speed,
    /// slowed by time-slicing) once its step also pays the all-reduce of its placement: the
    /// reference step over (the step at `computeRate` + exposed communication). `speed` is
    /// the accelerators' own speed for this job (one replica's compute is reference / speed).
    public func rate(_ spec: JobSpec, computeRate: Double, speed: Double, placement: Placement) -> Double {
        guard let model, placement.acceleratorCount > 1, computeRate > 0, speed > 0,
              let (reference, gradient) = Self.profile(spec) else { return computeRate }
        let replicas = placement.shares.map { Int($0.count) }
        let c = Int(placement.cluster)
        let link = CommunicationModel.bindingLink(replicasPerNode: replicas, acceleratorsPerNode: acceleratorsPerNode[c],
                                                  interconnect: interconnect[c])
        let exposed = model.exposedSeconds(gradientBytes: gradient, computeSeconds: reference / speed,
                                           ranks: placement.acceleratorCount, link: link)
        return reference / (reference / computeRate + exposed)
    }
}
