import FleetTwinEngine
/// Failures of the simulator itself: each is a bug or a violated invariant, never a
/// property of the scenario (scenarios are validated before they run); or of a policy whose
/// decisions come from outside, an external process (`policyFailed`, and the invalid
/// decisions it relays, which cite its answer).
public enum SimulationError: Error, Equatable, CustomStringConvertible {
    case placementFailed(job: Int32, cluster: String, accelerators: Int)
    case invariantViolated(String)
    case invalidDecision(String)
    /// The run ran out of events (or could only wait for faults) with jobs that could still
    /// run waiting: the policy stalled. Names the first few of them.
    case stalled(policy: String, at: VirtualTime, waiting: Int, jobs: [String])
    /// The policy could not decide (`SchedulingPolicy.failure`): an external policy's
    /// process crashed, timed out or answered outside the protocol. `message` says which.
    case policyFailed(policy: String, at: VirtualTime, message: String)

    public var description: String {
        switch self {
        case let .placementFailed(job, cluster, n): "placement of job \(job) on \(n) accelerators in cluster \(cluster) failed"
        case let .invariantViolated(what): "invariant violated: \(what)"
        case let .invalidDecision(what): "invalid scheduling decision: \(what)"
        case let .stalled(policy, at, waiting, jobs):
            "policy \(policy) stalled at \(at.seconds) s: \(waiting) job(s) wait that the fleet could run and nothing is left to happen "
                + "(first: \(jobs.joined(separator: ", ")))"
        case let .policyFailed(policy, at, message): "policy \(policy) failed at \(at.seconds) s: \(message)"
        }
    }

    /// The error with `origin` (where the refused decision came from) appended.
    func citing(_ origin: String) -> SimulationError {
        switch self {
        case let .invalidDecision(what): .invalidDecision("\(what); \(origin)")
        case let .invariantViolated(what): .invariantViolated("\(what); \(origin)")
        default: self
        }
    }
}
