// The policy API is part of what this module's users program against (jobs, decisions,
// the fleet view), so it is re-exported: importing FleetTwinScheduling is enough.
@_exported import FleetTwinPolicy

/// FleetTwinScheduling owns jobs and the decisions about them: the `Job` actors, the
/// scheduler hierarchy (`GlobalScheduler` -> `RegionalScheduler` -> `ClusterScheduler`),
/// and `FleetSimulation`, the driver
/// that owns the event queue and the event log.
///
/// Policies decide (which job, which cluster, preempt, migrate, resize); the hierarchy
/// carries decisions out (reserve, bind, release) through mechanisms every policy shares.
public enum FleetTwinScheduling {}
