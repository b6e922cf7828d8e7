import FleetTwinPolicy
import FleetTwinScheduling
import Foundation

extension SlurmConfiguration {
    /// Reads a Slurm cluster's configuration from its files: `conf`, a slurm.conf, and `qos`,
    /// `sacctmgr -P show qos format=Name,Priority,Preempt,PreemptMode,GraceTime` output
    /// (either may be nil: Slurm's defaults, one QOS `normal`).
    /// Errors name the file and line (a file that cannot be read: line 0).
    public static func read(conf: String?, qos: String?) throws(SlurmConfigurationError) -> SlurmConfiguration {
        func text(_ path: String) throws(SlurmConfigurationError) -> String {
            guard let data = FileManager.default.contents(atPath: path) else {
                throw SlurmConfigurationError(file: path, line: 0, message: "cannot read the file")
            }
            return String(decoding: data, as: UTF8.self)
        }
        var configuration = try conf.map { path throws(SlurmConfigurationError) in try parse(try text(path), file: path) } ?? SlurmConfiguration()
        if let qos { try configuration.readQOS(try text(qos), file: qos) }
        return configuration
    }
}

extension Scenario {
    /// Why `jobs` cannot run under the `slurm` policy `spec` on this scenario's fleet, or nil:
    /// the policy models one Slurm cluster, and every partition and QOS a job names must be
    /// defined by its configuration (a job naming none takes the defaults).
    public func slurmProblem(policy spec: PolicySpec, jobs: [JobSpec]) -> String? {
        guard spec.name == "slurm" else { return nil }
        let clusters = fleet.clusters
        guard clusters.count == 1 else {
            return "the slurm policy models one Slurm cluster; the fleet has \(clusters.count) (\(clusters.map(\.name).joined(separator: ", ")))"
        }
        let configuration = spec.options.slurm ?? SlurmConfiguration()
        let partitions = configuration.partitions.map(\.name), qos = configuration.qos.map(\.name)
        for job in jobs {
            if let p = job.partition, !partitions.isEmpty, !partitions.contains(p) {
                return "job \(job.name) asks for partition '\(p)', which the slurm configuration does not define (it has: \(partitions.joined(separator: ", ")))"
            }
            if let q = job.qos, !qos.contains(q) {
                return "job \(job.name) asks for QOS '\(q)', which the QOS table does not define (it has: \(qos.joined(separator: ", ")); give the table with --slurm-qos)"
            }
        }
        return nil
    }
}
