import Foundation

/// What the simulator needs to know about one kind of accelerator.
///
/// Bandwidths are bytes per second along a checkpoint's path: device -> host, host ->
/// storage, storage -> host, host -> device. `relativeSpeed` scales step times against the
/// H100 80GB (1.0). `provenance` says where the numbers came from, so measured data and
/// estimates never mix unnoticed.
public struct AcceleratorProfile: Sendable, Equatable {
    public enum Provenance: Sendable, Equatable, CustomStringConvertible {
        case measured(source: String)
        case estimate(basis: String)
        case scenario

        public var description: String {
            switch self {
            case .measured(let source): "measured (\(source))"
            case .estimate(let basis): "estimate (\(basis))"
            case .scenario: "declared in the scenario"
            }
        }
    }

    public var name: String
    public var memoryBytes: Int64
    public var relativeSpeed: Double
    public var deviceToHost: Double
    public var hostToDevice: Double
    public var storageWrite: Double
    public var storageRead: Double
    public var idlePowerWatts: Double
    public var busyPowerWatts: Double
    public var provenance: Provenance

    public init(
        name: String, memoryBytes: Int64, relativeSpeed: Double,
        deviceToHost: Double, hostToDevice: Double, storageWrite: Double, storageRead: Double,
        idlePowerWatts: Double, busyPowerWatts: Double, provenance: Provenance
    ) {
        self.name = name
        self.memoryBytes = memoryBytes
        self.relativeSpeed = relativeSpeed
        self.deviceToHost = deviceToHost
        self.hostToDevice = hostToDevice
        self.storageWrite = storageWrite
        self.storageRead = storageRead
        self.idlePowerWatts = idlePowerWatts
        self.busyPowerWatts = busyPowerWatts
        self.provenance = provenance
    }
}
