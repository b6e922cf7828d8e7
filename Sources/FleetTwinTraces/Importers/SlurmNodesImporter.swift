import Foundation

/// Builds a fleet from Slurm's node list as `sinfo --json` prints it (22.05: `{"nodes": [...]}`,
/// each with `name`, `gres` such as `gpu:8`, `gpu:h100:8` or `gpu:a100:4(S:0-1)`, `cpus`,
/// `partitions` and `state`): GPU nodes grouped by (GPU type, GPUs per node) into one cluster
/// each, in one region named after the file, with `cpus_per_node` when all its nodes report
/// the same `cpus` (else the fleet's default, 3 cores per GPU). Nodes without a GPU gres are skipped rows; "line" in the
/// report is the node's position in `nodes`. GPU types map to FleetTwin's built-in types
/// (h100, a100, v100), and untyped or other GPUs to the declared or assumed type said in the
/// notes (Slurm's gres.conf and sinfo documentation for the gres syntax).
public struct SlurmNodesImporter {
    public let input: String

    public init(input: String) { self.input = input }

    /// GPUs per node and their type name (empty when gres.conf gives none), from a gres string
    /// (`gpu:8`, `gpu:h100:8(S:0-1)`, `gpu:4(IDX:0-3)`, comma-separated entries summed); nil without a GPU.
    public static func gpus(_ gres: String) -> (count: Int, type: String)? {
        var total = 0, type = ""
        for entry in gres.split(separator: ",") {
            let spec = entry.split(separator: "(").first.map(String.init) ?? ""
            let fields = spec.split(separator: ":").map(String.init)
            guard fields.first == "gpu", let count = fields.last.flatMap({ Int($0) }), count > 0 else { continue }
            total += count
            if fields.count == 3 { type = fields[1] }
        }
        return total > 0 ? (total, type) : nil
    }

    /// The FleetTwin accelerator type of a gres GPU type, and why (h100, a100, v100 built in;
    /// anything else assumed an H100, said).
    public static func mapping(_ type: String) -> (type: String, why: String) {
        let t = type.lowercased()
        if t.hasPrefix("h100") { return ("h100-80gb", "\(type) = h100-80gb (built-in)") }
        if t.hasPrefix("a100") { return ("a100-80gb", "\(type) = a100-80gb (built-in; an A100 40 GB would be a100-40gb)") }
        if t.hasPrefix("v100") { return ("v100-32gb", "\(type) = v100-32gb (built-in)") }
        let shown = type.isEmpty ? "untyped GPUs (gres.conf names no type)" : type
        return ("h100-80gb", "\(shown) = h100-80gb, assumed: give the type in gres.conf, or edit the fleet file")
    }

    public func run(out: String) throws -> ImportResult {
        guard let data = FileManager.default.contents(atPath: input) else {
            throw TraceError(file: input, line: 0, message: "cannot read the file")
        }
        let root: Any
        do { root = try JSONSerialization.jsonObject(with: SlurmSacctImporter.strippingBOM(data)) } catch {
            throw TraceError(file: input, line: 1, message: "not JSON (\(error.localizedDescription)); expected the output of `sinfo --json`")
        }
        guard let nodes = (root as? [String: Any])?["nodes"] as? [Any] else {
            throw TraceError(file: input, line: 1, message: "expected an object with a \"nodes\" list, as `sinfo --json` prints")
        }
        var listed: [(name: String, gres: String, cpus: Int?)?] = []
        for (index, element) in nodes.enumerated() {
            guard let node = element as? [String: Any], let name = node["name"] as? String else { listed.append(nil); continue }
            var cpus: Int?
            if let value = node["cpus"] {
                guard let number = value as? NSNumber, let whole = Int(exactly: number.doubleValue), whole > 0 else {
                    throw TraceError(file: input, line: Self.line(naming: name, in: data) ?? index + 1,
                                     message: "node \(name) (number \(index + 1) in \"nodes\"): expected \"cpus\" to be a positive whole number (sinfo's CPUs), got '\(value)'")
                }
                cpus = whole
            }
            listed.append((name, node["gres"] as? String ?? "", cpus))
        }
        let region = URL(fileURLWithPath: input).deletingPathExtension().lastPathComponent
        return try Self.write(listed: listed, region: region, source: URL(fileURLWithPath: input).lastPathComponent, out: out)
    }

    /// The line of the file where an object names node `name` (`"name": "n2"`, as sinfo
    /// prints each node), so that an error points at the node; nil when no line does.
    static func line(naming name: String, in data: Data) -> Int? {
        guard let text = String(data: data, encoding: .utf8) else { return nil }
        let quoted = "\"\(name)\""
        for (k, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated()
        where line.contains("\"name\"") && line.contains(quoted) {
            return k + 1
        }
        return nil
    }

    /// Writes the fleet of `nodes` (name, `gres` string and `cpus` each, as sinfo reports them)
    /// to `out`, in one region named `region`; `source` is said in the file's comment. The
    /// live twin's export uses it for the nodes it last observed.
    public static func write(nodes: [(name: String, gres: String, cpus: Int?)], region: String, source: String, out: String) throws -> ImportResult {
        try write(listed: nodes.map { ($0.name, $0.gres, $0.cpus) }, region: region, source: source, out: out)
    }

    /// The grouping behind both: a nil entry is a node without a name (a skipped row). A
    /// cluster's `cpus_per_node` is its nodes' CPUs when every node reports the same count
    /// (Slurm's select plugin fits jobs by CPU cores; `--policy slurm` reads it).
    static func write(listed nodes: [(name: String, gres: String, cpus: Int?)?], region: String, source: String, out: String) throws -> ImportResult {
        var report = ImportReport()
        report.unit = "nodes"  // "line" in its skips is the node's position in the list
        var groups: [String: [Int: Int]] = [:]  // GPU type -> GPUs per node -> nodes; output is sorted
        var cpus: [String: [Int: Set<Int?>]] = [:]  // the CPU counts seen per group (membership only)
        for (index, entry) in nodes.enumerated() {
            guard let (name, gres, nodeCPUs) = entry else {
                report.skip(line: index + 1, "a node without a name"); continue
            }
            guard let gpus = Self.gpus(gres), gpus.count <= FleetDocument.maxAcceleratorsPerNode else {
                report.skip(line: index + 1, "node \(name) has no GPU gres ('\(gres)')"); continue
            }
            groups[gpus.type, default: [:]][gpus.count, default: 0] += 1
            cpus[gpus.type, default: [:]][gpus.count, default: []].insert(nodeCPUs)
            report.wrote()
        }
        var fleet = FleetDocument()
        var clusters: [FleetDocument.Cluster] = []
        var types: [String] = [], mixed: [String] = []
        for type in groups.keys.sorted() {
            let m = Self.mapping(type)
            types.append(m.why)
            for gpus in groups[type]!.keys.sorted() {
                let name = FleetDocument.slug(type.isEmpty ? "gpu" : type) + "-x\(gpus)"
                let seen = cpus[type]![gpus]!
                if seen.count > 1 {
                    let counts = seen.map { $0.map(String.init) ?? "none" }.sorted()
                    mixed.append("cluster \(name): its nodes report different CPUs (\(counts.joined(separator: ", "))), cpus_per_node left to the default (3 per GPU)")
                }
                clusters.append(.init(name: name, nodes: groups[type]![gpus]!, acceleratorsPerNode: gpus, type: m.type,
                                      cpusPerNode: seen.count == 1 ? seen.first! : nil))
            }
        }
        fleet.regions = [(FleetDocument.slug(region), clusters)]
        let notes = ["one cluster per (GPU type, GPUs per node), named TYPE-xGPUS; partitions are not clusters (a node may be in several)"]
            + types.map { "type \($0)" } + mixed
        fleet.comments = ["Fleet imported by `fleettwin import slurm-nodes` from \(source)."]
            + notes.map { $0.prefix(1).uppercased() + $0.dropFirst() + "." }
        return try fleet.write(to: out, report: report, notes: notes)
    }
}
