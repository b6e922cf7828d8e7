import Dispatch

/// The one serial executor that every actor of a simulation returns as its
/// `unownedExecutor`.
///
/// Because all actors share this executor, an `await` from one to another never switches
/// threads after the first hop: the runtime runs the callee inline. Jobs enqueued from
/// outside (the first call into the simulation, and its return) run in FIFO order on one
/// private serial dispatch queue. It is deliberately *not* also a `TaskExecutor`: an
/// executor that is both was measured 2.7x slower because every event enqueues twice
/// (../shared/engineering.md, section 1).
public final class SimulationExecutor: SerialExecutor, @unchecked Sendable {
    // Dispatch serialises access; the class holds no other mutable state.
    private let queue: DispatchQueue

    public init(label: String = "fleettwin.simulation") {
        queue = DispatchQueue(label: label)
    }

    public func enqueue(_ job: consuming ExecutorJob) {
        let unowned = UnownedJob(job)
        let executor = asUnownedSerialExecutor()
        queue.async { unowned.runSynchronously(on: executor) }
    }

    public func asUnownedSerialExecutor() -> UnownedSerialExecutor {
        UnownedSerialExecutor(ordinary: self)
    }
}
