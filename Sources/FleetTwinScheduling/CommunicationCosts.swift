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

    /// The job's step at full speed on the reference accelerator (its work / steps; for a
    /// model-parallel job the ideal step of T x P devices), in seconds, and its gradient
    /// bytes; nil when it does not communicate.
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
    ///
    /// A model-parallel job (`JobSpec.parallelism`, T x P > 1) pays, instead, what
    /// `HybridParallelStep` adds to its ideal step on this placement (tensor all-reduces over
    /// NVLink or, for a group split across nodes, the network; stage transfers; the bubble
    /// (P-1)/(m+P-1); the data-parallel all-reduce of each stage's gradients): its reference
    /// step is the ideal one, one replica's H100 step / (T x P), so on a placement of world
    /// size W it runs one step in exactly `fleettwin predict --tensor T --pipeline P
    /// --micro-batches m --gpus W` time (at full speed, untime-sliced).
    public func rate(_ spec: JobSpec, computeRate: Double, speed: Double, placement: Placement) -> Double {
        guard let model, computeRate > 0, speed > 0,
              let (reference, gradient) = Self.profile(spec) else { return computeRate }
        let replicas = placement.shares.map { Int($0.count) }
        let c = Int(placement.cluster)
        if let p = spec.parallelism, p.modelParallel > 1, let shape = spec.model {
            guard placement.acceleratorCount % p.modelParallel == 0 else { return computeRate }
            let ideal = reference / speed
            let step = HybridParallelStep(shape: shape, computeSeconds: ideal * Double(p.modelParallel), parallelism: p,
                                          replicasPerNode: replicas, acceleratorsPerNode: acceleratorsPerNode[c],
                                          interconnect: interconnect[c], model: model)
            return reference / (reference / computeRate + (step.stepSeconds - ideal))
        }
        guard placement.acceleratorCount > 1 else { return computeRate }
        let link = CommunicationModel.bindingLink(replicasPerNode: replicas, acceleratorsPerNode: acceleratorsPerNode[c],
                                                  interconnect: interconnect[c])
        let exposed = model.exposedSeconds(gradientBytes: gradient, computeSeconds: reference / speed,
                                           ranks: placement.acceleratorCount, link: link)
        return reference / (reference / computeRate + exposed)
    }
}
