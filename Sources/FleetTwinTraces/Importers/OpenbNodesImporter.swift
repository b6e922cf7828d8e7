/// Builds a fleet from the Alibaba PAI "openb" node list (sn, cpu_milli, memory_mib, gpu,
/// model): GPU nodes grouped by (model, GPUs per node) into one cluster each; nodes without
/// GPUs are skipped. GPU models map to FleetTwin's types, or to declared types whose speed
/// and memory are datasheet estimates stated in the file and the report.
public struct OpenbNodesImporter {
    public let input: String

    public init(input: String) { self.input = input }

    /// How an openb GPU model becomes a FleetTwin type, and why.
    struct TypeMapping {
        var type: String
        var declared: FleetDocument.DeclaredType?
        var why: String
    }

    static func mapping(_ model: String) -> TypeMapping {
        switch model.uppercased() {
        case "V100M32":
            return .init(type: "v100-32gb", why: "V100M32 = v100-32gb (built-in)")
        case "V100M16":
            return .init(type: "v100-16gb", declared: .init(name: "v100-16gb", base: "v100-32gb", memory: "16GB"),
                         why: "V100M16 = v100-16gb: a v100-32gb with 16 GB")
        case "P100":
            return .init(type: "p100-16gb", declared: .init(name: "p100-16gb", base: "v100-32gb", memory: "16GB", relativeSpeed: 0.04),
                         why: "P100 = p100-16gb: v100-32gb with 16 GB at relative speed 0.04, assumed (about a third of a V100's 0.13: no tensor cores)")
        case "T4":
            return .init(type: "t4-16gb", declared: .init(name: "t4-16gb", base: "v100-32gb", memory: "16GB", relativeSpeed: 0.07),
                         why: "T4 = t4-16gb: v100-32gb with 16 GB at relative speed 0.07, assumed (datasheet FP16 tensor 65 vs 125 TFLOPS of a V100)")
        case "A10":
            return .init(type: "a10-24gb", declared: .init(name: "a10-24gb", base: "a100-40gb", memory: "24GB", relativeSpeed: 0.13),
                         why: "A10 = a10-24gb: a100-40gb with 24 GB at relative speed 0.13, assumed (datasheet BF16 tensor 125 vs 312 TFLOPS of an A100 at 0.33)")
        default:
            let name = "openb-" + FleetDocument.slug(model.isEmpty ? "unknown" : model)
            return .init(type: name, declared: .init(name: name, base: "v100-32gb"),
                         why: "\(model.isEmpty ? "(no model)" : model) = \(name): a model the trace does not describe, assumed V100-class (a copy of v100-32gb)")
        }
    }

    public func run(out: String) throws -> ImportResult {
        var report = ImportReport()
        var nodesPerGroup: [String: [Int: Int]] = [:]  // model -> GPUs per node -> nodes; output is sorted
        try CSVFile(path: input, required: ["sn", "gpu", "model"]).forEachRow(skip: { report.skip(line: $0, $1) }) { row in
            let gpus = try row.integer("gpu")
            guard gpus >= 0, gpus <= FleetDocument.maxAcceleratorsPerNode else { throw BadRow("gpu must be 0 to \(FleetDocument.maxAcceleratorsPerNode)") }
            guard gpus > 0 else { throw BadRow("no GPU") }
            nodesPerGroup[row.string("model"), default: [:]][gpus, default: 0] += 1
            report.wrote()
        }
        var fleet = FleetDocument()
        var assumptions: [String] = []
        var clusters: [FleetDocument.Cluster] = []
        for model in nodesPerGroup.keys.sorted() {
            let m = Self.mapping(model)
            if let d = m.declared { fleet.declaredTypes.append(d) }
            assumptions.append(m.why)
            for gpus in nodesPerGroup[model]!.keys.sorted() {
                let name = FleetDocument.slug(model.isEmpty ? "unknown" : model) + "-x\(gpus)"
                clusters.append(.init(name: name, nodes: nodesPerGroup[model]![gpus]!, acceleratorsPerNode: gpus, type: m.type))
            }
        }
        fleet.regions = [("alibaba-openb", clusters)]
        let noGPU = report.skipped.filter { $0.reason == "no GPU" }.count
        let notes = ["one cluster per (GPU model, GPUs per node), named MODEL-xGPUS; \(noGPU) node\(noGPU == 1 ? "" : "s") without GPUs skipped"]
            + assumptions.map { "type \($0)" }
            + ["relative speeds scale jobs given as durations (1 = an H100); the trace's pod durations were measured on these GPUs"]
        fleet.comments = ["Fleet imported by `fleettwin import openb-nodes` from \(fileName(input))."] + notes.map { $0.prefix(1).uppercased() + $0.dropFirst() + "." }
        return try fleet.write(to: out, report: report, notes: notes)
    }
}
