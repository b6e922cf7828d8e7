/// FleetTwinPolicy owns what a scheduling policy is: the `SchedulingPolicy` protocol and the
/// values it sees (`PendingJob`, `JobRun`, `FleetView`) and returns (`SchedulingDecision`,
/// `Reservation`); the priority framework (`PriorityRule`, `PriorityPolicy`); the policies;
/// and `PolicyRegistry`, which names them.
///
/// A policy decides; it touches nothing else. It cannot reach job or cluster actors, the
/// event queue, the store or the clock: the scheduler hierarchy (FleetTwinScheduling) tells it
/// what happened, asks it for decisions, validates and carries them out with the shared,
/// costed mechanisms, and checks what it leaves idle.
public enum FleetTwinPolicy {}
