import Foundation

/// Builds accelerator profiles from the calibration measurements shipped as resources
/// (copied from ../shared/calibration; the measurements are FleetTwin's own).
extension AcceleratorProfile {
    public enum CalibrationError: Error, CustomStringConvertible {
        case missingResource(String)
        case malformed(String, String)

        public var description: String {
            switch self {
            case .missingResource(let name): "calibration resource \(name) is missing from the bundle"
            case .malformed(let name, let why): "calibration file \(name) is malformed: \(why)"
            }
        }
    }

    /// The NVIDIA H100 80GB HBM3 as measured by measure_gpu.py. Loaded once per process.
    public static let h100: AcceleratorProfile = {
        do { return try loadCalibrated(resource: "h100-80gb-hbm3", name: "h100-80gb") } catch {
            // The resource ships inside the package; its absence is a packaging bug.
            preconditionFailure("\(error)")
        }
    }()

    /// Profiles every scenario can name without declaring them.
    public static var builtIn: [AcceleratorProfile] { [h100] }

    static func loadCalibrated(resource: String, name: String) throws -> AcceleratorProfile {
        guard let url = Bundle.module.url(forResource: resource, withExtension: "json", subdirectory: "calibration")
        else { throw CalibrationError.missingResource("\(resource).json") }
        return try fromCalibration(Data(contentsOf: url), source: "\(resource).json", name: name)
    }

    /// Derives a profile from a measure_gpu.py JSON document.
    ///
    /// Checkpoint-path bandwidths come from the largest checkpoint measured (bytes / seconds
    /// for each leg), because small transfers are dominated by fixed costs. Busy power is the
    /// median of the busy samples' watts.
    public static func fromCalibration(_ data: Data, source: String, name: String) throws -> AcceleratorProfile {
        guard let root = try JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw CalibrationError.malformed(source, "top level is not an object")
        }
        guard let env = root["env"] as? [String: Any], let memory = env["memory_bytes"] as? NSNumber else {
            throw CalibrationError.malformed(source, "env.memory_bytes missing")
        }
        guard let checkpoints = root["checkpoint"] as? [[String: Any]],
              let largest = checkpoints.max(by: { number($0["gib"]) < number($1["gib"]) })
        else { throw CalibrationError.malformed(source, "checkpoint table missing") }
        let bytes = number(largest["gib"]) * 1_073_741_824
        func bandwidth(_ key: String) throws -> Double {
            let seconds = number(largest[key])
            guard seconds > 0 else { throw CalibrationError.malformed(source, "checkpoint.\(key) missing") }
            return bytes / seconds
        }
        guard let power = root["power"] as? [String: Any], let idle = power["idle"] as? String,
              let busy = power["busy_samples"] as? [String], !busy.isEmpty
        else { throw CalibrationError.malformed(source, "power section missing") }
        func watts(_ sample: String) -> Double {
            Double(sample.split(separator: ",").first.map { $0.trimmingCharacters(in: .whitespaces) } ?? "") ?? 0
        }
        let busyWatts = busy.map(watts).sorted()
        return AcceleratorProfile(
            name: name,
            memoryBytes: memory.int64Value,
            relativeSpeed: 1.0,
            deviceToHost: try bandwidth("d2h_s"),
            hostToDevice: try bandwidth("h2d_s"),
            storageWrite: try bandwidth("save_s"),
            storageRead: try bandwidth("load_s"),
            idlePowerWatts: watts(idle),
            busyPowerWatts: busyWatts[busyWatts.count / 2],
            provenance: .measured(source: source))
    }
}

private func number(_ any: Any?) -> Double { (any as? NSNumber)?.doubleValue ?? 0 }
