/// FleetTwinEngine owns what every simulation needs and nothing of the domain:
/// integer virtual time (`VirtualTime`), the event queue ordered by (time, insertion
/// sequence) (`EventQueue`), the serial executor that all actors of one simulation share
/// (`SimulationExecutor`), per-entity seeded generators (`SeededGenerator`) and a stable
/// hash for event logs (`StableHasher`).
///
/// Nothing here reads a wall clock or iterates a hashed collection, so a simulation built
/// on it is deterministic for a given seed.
public enum FleetTwinEngine {
    /// The package version, bumped with each release.
    public static let version = "0.2.0"

    /// What built this binary: the package version and the content hash of its sources
    /// (`sourceHash`, stamped at build time), as `0.2.0+src.1a2b3c4d5e6f7a8b`. Stored runs,
    /// sweep units and `fleettwin --version` carry it, so results from different code are
    /// told apart from a determinism failure.
    public static var buildIdentity: String { "\(version)+src.\(sourceHash)" }
}
