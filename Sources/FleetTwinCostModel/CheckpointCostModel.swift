/// Time to move a checkpoint along each leg of its path, fitted per leg to the measured
/// checkpoints (0.25, 1 and 4 GiB in both runs) as `fixed + bytes / bandwidth`:
/// device -> host and host -> storage to save; storage -> host and host -> device to restore.
public struct CheckpointCostModel: Sendable, Codable, Equatable {
    public struct Leg: Sendable, Codable, Equatable {
        public var fixedSeconds: Double
        public var bytesPerSecond: Double

        public init(fixedSeconds: Double, bytesPerSecond: Double) {
            self.fixedSeconds = fixedSeconds
            self.bytesPerSecond = bytesPerSecond
        }

        public func seconds(_ bytes: Int64) -> Double {
            bytes <= 0 ? 0 : fixedSeconds + Double(bytes) / bytesPerSecond
        }

        /// Least squares of seconds on bytes, the intercept kept non-negative.
        static func fit(_ samples: [(bytes: Double, seconds: Double)]) -> Leg {
            let n = Double(samples.count)
            let sx = samples.reduce(0) { $0 + $1.bytes }, sy = samples.reduce(0) { $0 + $1.seconds }
            let sxx = samples.reduce(0) { $0 + $1.bytes * $1.bytes }, sxy = samples.reduce(0) { $0 + $1.bytes * $1.seconds }
            let slope = (n * sxy - sx * sy) / (n * sxx - sx * sx)
            let intercept = (sy - slope * sx) / n
            if intercept >= 0 && slope > 0 { return Leg(fixedSeconds: intercept, bytesPerSecond: 1 / slope) }
            return Leg(fixedSeconds: 0, bytesPerSecond: sxx / sxy)
        }
    }

    public var deviceToHost: Leg
    public var hostToStorage: Leg
    public var storageToHost: Leg
    public var hostToDevice: Leg

    public init(deviceToHost: Leg, hostToStorage: Leg, storageToHost: Leg, hostToDevice: Leg) {
        self.deviceToHost = deviceToHost
        self.hostToStorage = hostToStorage
        self.storageToHost = storageToHost
        self.hostToDevice = hostToDevice
    }

    public init(fitting runs: [Calibration]) {
        let rows = runs.flatMap(\.checkpoint)
        func leg(_ seconds: (Calibration.Checkpoint) -> Double) -> Leg {
            Leg.fit(rows.map { ($0.gib * 1_073_741_824, seconds($0)) })
        }
        self.init(deviceToHost: leg(\.d2hS), hostToStorage: leg(\.saveS), storageToHost: leg(\.loadS), hostToDevice: leg(\.h2dS))
    }

    /// Dump: device -> host -> storage.
    public func checkpointSeconds(_ bytes: Int64) -> Double {
        deviceToHost.seconds(bytes) + hostToStorage.seconds(bytes)
    }

    /// Restore: storage -> host -> device.
    public func restoreSeconds(_ bytes: Int64) -> Double {
        storageToHost.seconds(bytes) + hostToDevice.seconds(bytes)
    }

    /// Migration: dump, upload to blob storage and download at the destination (each at
    /// `transferBytesPerSecond`, the slower of the blob store and the network path), restore.
    public func migrationSeconds(_ bytes: Int64, transferBytesPerSecond: Double) -> Double {
        guard bytes > 0 else { return 0 }
        return checkpointSeconds(bytes) + 2 * Double(bytes) / transferBytesPerSecond + restoreSeconds(bytes)
    }
}
