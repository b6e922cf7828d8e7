import FleetTwinEngine
import FleetTwinFleet
import FleetTwinPolicy
import FleetTwinScheduling
import FleetTwinTraces
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
    /// defined by its configuration (a job naming none takes the defaults). Each reason
    /// starts with the file and line at fault (the fleet's second cluster; the job's line in
    /// its trace or scenario) and says what was expected.
    public func slurmProblem(policy spec: PolicySpec, jobs: [JobSpec]) -> String? {
        guard spec.name == "slurm" else { return nil }
        let clusters = fleet.clusters
        let fleetPath = fleetFile ?? file
        guard clusters.count == 1 else {
            let lines = Self.fleetClusterLines(path: fleetPath)
            let listed = clusters.map { c in lines.first { $0.name == c.name }.map { "\(c.name) at line \($0.line)" } ?? c.name }
            let second = clusters.count > 1 ? lines.first { $0.name == clusters[1].name }?.line ?? 1 : 1
            return "\(fleetPath):\(second): the slurm policy models one Slurm cluster; the fleet has \(clusters.count) (\(listed.joined(separator: ", "))); "
                + "expected a fleet of one cluster, the nodes Slurm schedules (`import slurm-nodes` writes one per GPU type and size: keep the one to replay)"
        }
        let configuration = spec.options.slurm ?? SlurmConfiguration()
        let partitions = configuration.partitions.map(\.name), qos = configuration.qos.map(\.name)
        for job in jobs {
            if let p = job.partition, !partitions.isEmpty, !partitions.contains(p) {
                return "\(place(of: job.name)): job \(job.name) asks for partition '\(p)', which \(configuration.confFile ?? "the slurm configuration") does not define; "
                    + "expected one of: \(partitions.joined(separator: ", "))"
            }
            if let q = job.qos, !qos.contains(q) {
                let table = configuration.qosFile.map { "the QOS table \($0)" } ?? "Slurm's default QOS table (no --slurm-qos)"
                return "\(place(of: job.name)): job \(job.name) asks for QOS '\(q)', which \(table) does not define; expected one of: \(qos.joined(separator: ", "))"
                    + (configuration.qosFile == nil ? " (or give the table that defines it with --slurm-qos)" : "")
            }
        }
        return nil
    }

    /// Jobs the `slurm` policy runs that Slurm would refuse at submission, as warnings: a job
    /// whose `cpus` (the CPUs Slurm allocated it, over the fewest nodes its GPUs fit on) are
    /// more a node than the fleet's nodes have cores (sbatch: "Requested node configuration
    /// is not available"); the twin runs it on all its nodes' cores. The first three are
    /// located (file:line); the rest counted.
    public func slurmJobWarnings(policy spec: PolicySpec, jobs: [JobSpec]) -> [String] {
        guard spec.name == "slurm", fleet.clusters.count == 1, let cluster = fleet.clusters.first else { return [] }
        let perNodeGPUs = max(1, cluster.acceleratorsPerNode), cores = cluster.cpusPerNode
        var warnings: [String] = [], more = 0
        for job in jobs {
            guard let cpus = job.cpus else { continue }
            let nodes = max(1, (job.worldSize + perNodeGPUs - 1) / perNodeGPUs)
            let perNode = SlurmPolicy.coresPerNode(cpus: cpus, worldSize: job.worldSize, gpusPerNode: perNodeGPUs)
            guard perNode > cores else { continue }
            guard warnings.count < 3 else { more += 1; continue }
            warnings.append("\(place(of: job.name)): job \(job.name) asks \(cpus) CPUs, \(perNode) a node on the \(nodes) node(s) its \(job.worldSize) GPUs need, "
                            + "but the fleet's nodes have \(cores) cores (cluster \(cluster.name)): Slurm would refuse it at submission; the twin gives it every core of its nodes")
        }
        if more > 0 { warnings.append("\(more) more job(s) ask more CPUs a node than the fleet's nodes have") }
        return warnings
    }

    /// `file:line` of the job named `name`: its line in the trace, or its entry in the
    /// scenario's `jobs:` list; the scenario file alone where neither says.
    func place(of name: String) -> String {
        switch workload {
        case .trace(let trace):
            var found: Int?
            _ = try? TraceReader(path: trace.path).read { job, line in if found == nil && job.id == name { found = line } }
            return "\(trace.path)\(found.map { ":\($0)" } ?? "")"
        case .jobs:
            return "\(file)\(Self.jobLine(name: name, path: file).map { ":\($0)" } ?? "")"
        case .generator:
            return file
        }
    }
}

extension Scenario {
    /// slurm.conf's `NodeName` lines held against the fleet the `slurm` policy schedules (one
    /// cluster, from `fleetFile`): the lines with a GPU gres (nodes without GPUs are not in a
    /// fleet), their `Gres=gpu:N` against `accelerators_per_node`, their `CPUs=` against
    /// `cpus_per_node`, and their node count against the cluster's.
    ///
    /// What slurmd would report from the fleet's nodes decides: where Slurm would not run them
    /// - a node with fewer GPUs or CPUs than its line configures is drained when it registers
    /// (slurmctld node_mgr.c `validate_node_specs`: "Low CPUs"; gres.c
    /// `gres_node_config_validate`: "gpu count too low") - the replay would model a cluster
    /// that cannot exist: an error naming the slurm.conf line and what each file says. Where Slurm would run fine, the files still disagree, and a replay may be a
    /// deliberate what-if (more nodes, bigger nodes): a warning, returned for stderr - more GPUs
    /// or CPUs than configured (Slurm schedules the configured ones; the twin the fleet's),
    /// `CPUs=` with a fleet that gives no `cpus_per_node` (the twin assumes 3 per GPU), and a
    /// different node count (declared nodes missing from the fleet would be DOWN; fleet nodes
    /// missing from slurm.conf are no Slurm nodes). Nothing is checked without a GPU `NodeName`
    /// line, or for a fleet of more than one cluster (refused with its own error).
    public static func checkSlurmNodes(_ configuration: SlurmConfiguration, fleet: FleetSpec,
                                       fleetFile: String) throws(SlurmConfigurationError) -> [String] {
        let clusters = fleet.clusters
        guard clusters.count == 1, let cluster = clusters.first else { return [] }
        let gpuLines = configuration.nodeLines.compactMap { line in
            line.gres.flatMap(SlurmNodesImporter.gpus).map { (line, $0) }
        }
        guard !gpuLines.isEmpty else { return [] }
        let declared = Self.fleetClusterLines(path: fleetFile).first { $0.name == cluster.name }
        let at = "\(fleetFile):\(declared?.line ?? 1), cluster \(cluster.name)"
        let cpusGiven = declared?.cpusGiven ?? true
        // Every contradiction of every line is gathered, so one run shows all there are to fix.
        var errors: [(line: Int, message: String)] = []
        var warnings: [String] = []
        var nodes = 0, counted = true
        for (node, gpus) in gpuLines {
            let here = "\(node.file):\(node.line): NodeName=\(node.names)"
            let gres = "Gres=\(node.gres ?? "")" + (node.gresFromDefault.map { " (from NodeName=DEFAULT at line \($0))" } ?? "")
            if gpus.count > cluster.acceleratorsPerNode {
                errors.append((node.line, """
                    NodeName=\(node.names) has \(gres), \(gpus.count) GPUs a node, but the fleet's nodes have \(cluster.acceleratorsPerNode) \
                    (\(at): accelerators_per_node: \(cluster.acceleratorsPerNode)); Slurm would drain nodes that report fewer GPUs than configured. \
                    Expected Gres=gpu:\(cluster.acceleratorsPerNode) here\(node.gresFromDefault.map { " (or at line \($0))" } ?? ""), or accelerators_per_node: \(gpus.count) in the fleet
                    """))
            }
            if gpus.count < cluster.acceleratorsPerNode {
                warnings.append("\(here) has \(gpus.count) GPUs a node, the fleet's nodes have \(cluster.acceleratorsPerNode) (\(at)): Slurm would schedule \(gpus.count) of them, the twin schedules \(cluster.acceleratorsPerNode)")
            }
            // A GPU type gres.conf names (gpu:a100:4) against the fleet's type, where the type
            // is one FleetTwin knows (h100, a100, v100); a site's own names cannot be compared.
            let family = gpus.type.lowercased()
            if let known = ["h100", "a100", "v100"].first(where: { family.hasPrefix($0) }),
               !cluster.acceleratorType.lowercased().hasPrefix(known) {
                warnings.append("\(here) has \(gres), \(known.uppercased()) GPUs, but the fleet's nodes are \(cluster.acceleratorType) (\(at)): the twin runs jobs at \(cluster.acceleratorType) speed; give the cluster type: \(SlurmNodesImporter.mapping(gpus.type).type) in the fleet if the cluster has \(known.uppercased())s")
            }
            if let cpus = node.cpus {
                let given = "CPUs=\(cpus)" + (node.cpusFromDefault.map { " (from NodeName=DEFAULT at line \($0))" } ?? "")
                if !cpusGiven {
                    warnings.append("\(here) has \(given); the fleet gives no cpus_per_node (\(at)), so the twin fits jobs on its default \(cluster.cpusPerNode) cores a node: add cpus_per_node: \(cpus) to the fleet")
                } else if cpus > cluster.cpusPerNode {
                    errors.append((node.line, """
                        NodeName=\(node.names) has \(given), but the fleet's nodes have \(cluster.cpusPerNode) cores \
                        (\(at): cpus_per_node: \(cluster.cpusPerNode)); Slurm would drain nodes that report fewer CPUs than configured. \
                        Expected CPUs=\(cluster.cpusPerNode) here\(node.cpusFromDefault.map { " (or at line \($0))" } ?? ""), or cpus_per_node: \(cpus) in the fleet
                        """))
                } else if cpus < cluster.cpusPerNode {
                    warnings.append("\(here) has \(given), the fleet's nodes have \(cluster.cpusPerNode) cores (\(at)): Slurm would allocate \(cpus) of them, the twin fits jobs on \(cluster.cpusPerNode)")
                }
            }
            if let hosts = SlurmHostlist.expand(node.names) { nodes += hosts.count } else { counted = false }
        }
        if let first = errors.first {
            let more = errors.dropFirst().map { "\n  and \(gpuLines[0].0.file):\($0.line): \($0.message)" }.joined()
            throw SlurmConfigurationError(file: gpuLines[0].0.file, line: first.line, message: first.message + more)
        }
        if counted && nodes != cluster.nodes {
            let lines = gpuLines.map { "\($0.0.line)" }.joined(separator: ", ")
            warnings.append("\(gpuLines[0].0.file):\(lines): the NodeName lines declare \(nodes) GPU node\(nodes == 1 ? "" : "s"), the fleet has \(cluster.nodes) (\(at)): "
                            + (nodes > cluster.nodes ? (nodes - cluster.nodes == 1 ? "Slurm would hold the missing one DOWN" : "Slurm would hold the \(nodes - cluster.nodes) missing ones DOWN")
                               : "\(cluster.nodes - nodes) of the fleet's nodes \(cluster.nodes - nodes == 1 ? "is" : "are") not Slurm's")
                            + "; the twin schedules the fleet's \(cluster.nodes)")
        }
        return warnings
    }
}
