/// Builds a fleet from Philly's nodes per virtual cluster (philly_vc.csv: "vc,node num"):
/// one cluster per virtual cluster. The file gives no GPUs per node; Philly machines had 2 or
/// 8 GPUs (Jeon et al., ATC'19, describe 8-GPU and 2-GPU servers), and 8 is assumed.
public struct PhillyVCImporter {
    public let input: String
    public let gpusPerNode: Int
    public let type: String

    public init(input: String, gpusPerNode: Int = 8, type: String = "h100-80gb") {
        self.input = input
        self.gpusPerNode = gpusPerNode
        self.type = type
    }

    public func run(out: String) throws -> ImportResult {
        var report = ImportReport()
        var clusters: [FleetDocument.Cluster] = []
        var seen: Set<String> = []  // membership only
        try CSVFile(path: input, required: ["vc", "node num"]).forEachRow(skip: { report.skip(line: $0, $1) }) { row in
            let vc = row.string("vc"), nodes = try row.integer("node num")
            guard !vc.isEmpty else { throw BadRow("vc is empty") }
            guard nodes > 0, nodes <= FleetDocument.maxNodes else { throw BadRow("node num must be 1 to \(FleetDocument.maxNodes)") }
            let name = "vc-" + FleetDocument.slug(vc)
            guard seen.insert(name).inserted else { throw BadRow("virtual cluster '\(vc)' appears twice") }
            clusters.append(.init(name: name, nodes: nodes, acceleratorsPerNode: gpusPerNode, type: type))
            report.wrote()
        }
        let perNode = gpusPerNode == 8
            ? "8 GPUs per node assumed: the file gives only node counts; Philly servers had 8 or 2 GPUs (Jeon et al., ATC'19) and the 8-GPU servers are the ones its multi-GPU jobs need; --gpus-per-node chooses another."
            : "\(gpusPerNode) GPUs per node, as asked with --gpus-per-node (the file gives only node counts)."
        let typeNote = FleetImportNotes.typeAssumption(type, gpuSource: "the file")
        var fleet = FleetDocument()
        fleet.comments = ["Fleet imported by `fleettwin import philly-vc` from \(fileName(input)).",
                          "One region; one cluster per Philly virtual cluster, named vc-HASH.", perNode, typeNote]
        fleet.regions = [("philly", clusters)]
        return try fleet.write(to: out, report: report, notes: [perNode, typeNote])
    }
}
