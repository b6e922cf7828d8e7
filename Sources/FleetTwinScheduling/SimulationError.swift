/// Failures of the simulator itself: each is a bug or a violated invariant, never a
/// property of the scenario (scenarios are validated before they run).
public enum SimulationError: Error, Equatable, CustomStringConvertible {
    case placementFailed(job: Int32, cluster: String, accelerators: Int)
    case invariantViolated(String)
    case invalidDecision(String)

    public var description: String {
        switch self {
        case let .placementFailed(job, cluster, n): "placement of job \(job) on \(n) accelerators in cluster \(cluster) failed"
        case let .invariantViolated(what): "invariant violated: \(what)"
        case let .invalidDecision(what): "invalid scheduling decision: \(what)"
        }
    }
}
