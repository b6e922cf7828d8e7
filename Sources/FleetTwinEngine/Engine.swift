/// FleetTwinEngine owns what every simulation needs and nothing of the domain:
/// integer virtual time (`VirtualTime`), the event queue ordered by (time, insertion
/// sequence) (`EventQueue`), the serial executor that all actors of one simulation share
/// (`SimulationExecutor`), per-entity seeded generators (`SeededGenerator`) and a stable
/// hash for event logs (`StableHasher`).
///
/// Nothing here reads a wall clock or iterates a hashed collection, so a simulation built
/// on it is deterministic for a given seed.
public enum FleetTwinEngine {
    /// Bumped when the event-log encoding or generator derivation changes meaning.
    public static let version = "0.1.0"
}
