/// Builds a fleet from a Tiresias cluster spec (num_switch, num_node_p_switch,
/// num_gpu_p_node, num_cpu_p_node, mem_p_node): one region, one cluster per switch.
public struct TiresiasClusterImporter {
    public let input: String
    public let type: String

    public init(input: String, type: String = "h100-80gb") {
        self.input = input
        self.type = type
    }

    public func run(out: String) throws -> ImportResult {
        var report = ImportReport()
        var specs: [(line: Int, switches: Int, nodes: Int, gpus: Int)] = []
        try CSVFile(path: input, required: ["num_switch", "num_node_p_switch", "num_gpu_p_node"]).forEachRow(skip: { report.skip(line: $0, $1) }) { row in
            let switches = try row.integer("num_switch"), nodes = try row.integer("num_node_p_switch"), gpus = try row.integer("num_gpu_p_node")
            guard switches > 0, nodes > 0, gpus > 0 else { throw BadRow("num_switch, num_node_p_switch and num_gpu_p_node must be positive") }
            guard switches <= FleetDocument.maxNodes, nodes <= FleetDocument.maxNodes, switches * nodes <= FleetDocument.maxNodes, gpus <= FleetDocument.maxAcceleratorsPerNode else {
                throw BadRow("more than \(FleetDocument.maxNodes) nodes or \(FleetDocument.maxAcceleratorsPerNode) GPUs per node")
            }
            specs.append((row.line, switches, nodes, gpus))
            report.wrote()
        }
        var fleet = FleetDocument()
        let assumption = FleetImportNotes.typeAssumption(type, gpuSource: "the spec")
        fleet.comments = ["Fleet imported by `fleettwin import tiresias-cluster` from \(fileName(input)).",
                          "One region; one cluster per switch (num_node_p_switch nodes of num_gpu_p_node GPUs).", assumption]
        for spec in specs {
            let region = specs.count == 1 ? "tiresias" : "tiresias-line\(spec.line)"
            fleet.regions.append((region, (0..<spec.switches).map {
                FleetDocument.Cluster(name: "switch-\($0)", nodes: spec.nodes, acceleratorsPerNode: spec.gpus, type: type)
            }))
        }
        return try fleet.write(to: out, report: report, notes: [assumption])
    }
}

/// Assumptions the fleet importers state in the YAML comment and in the report.
enum FleetImportNotes {
    static func typeAssumption(_ type: String, gpuSource: String) -> String {
        type == "h100-80gb"
            ? "\(gpuSource.prefix(1).uppercased() + gpuSource.dropFirst()) names no GPU model: type h100-80gb (relative speed 1), so the trace's durations, measured on its own GPUs, replay as recorded; --type chooses another."
            : "\(gpuSource.prefix(1).uppercased() + gpuSource.dropFirst()) names no GPU model: type \(type) as asked with --type."
    }
}
