import FleetTwinEngine
/// Failures of the simulator itself: each is a bug or a violated invariant, never a
/// property of the scenario (scenarios are validated before they run).
public enum SimulationError: Error, Equatable, CustomStringConvertible {
    case placementFailed(job: Int32, cluster: String, accelerators: Int)
    case invariantViolated(String)
    case invalidDecision(String)
    /// The run ran out of events (or could only wait for faults) with jobs that could still
    /// run waiting: the policy stalled. Names the first few of them.
    case stalled(policy: String, at: VirtualTime, waiting: Int, jobs: [String])

    public var description: String {
        switch self {
        case let .placementFailed(job, cluster, n): "placement of job \(job) on \(n) accelerators in cluster \(cluster) failed"
        case let .invariantViolated(what): "invariant violated: \(what)"
        case let .invalidDecision(what): "invalid scheduling decision: \(what)"
        case let .stalled(policy, at, waiting, jobs):
            "policy \(policy) stalled at \(at.seconds) s: \(waiting) job(s) wait that the fleet could run and nothing is left to happen "
                + "(first: \(jobs.joined(separator: ", ")))"
        }
    }
}
