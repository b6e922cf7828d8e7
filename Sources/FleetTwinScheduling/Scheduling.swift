/// FleetTwinScheduling owns jobs and the decisions about them: the `Job` actors, the
/// scheduler hierarchy (`GlobalScheduler` -> `RegionalScheduler` -> `ClusterScheduler`),
/// the policy protocol and its policies (`FIFOPolicy`), and `FleetSimulation`, the driver
/// that owns the event queue and the event log.
///
/// Policies decide (which job, which cluster, preempt, migrate, resize); the hierarchy
/// carries decisions out (reserve, bind, release) through mechanisms every policy shares.
public enum FleetTwinScheduling {}
