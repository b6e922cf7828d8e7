import FleetTwinPolicy
import Foundation

/// Reads a throughput table in Gavel's format (stanford-futuredata/gavel `scheduler/
/// simulation_throughputs.json`, c4fa400) into `ColocationThroughputs`:
///
/// ```json
/// { "v100": { "('ResNet-18 (batch size 64)', 1)": { "null": 24.09,
///                                                    "('LM (batch size 20)', 1)": [24.09, 45.64] },
///             "('LM (batch size 20)', 1)":         { "null": 64.74,
///                                                    "('ResNet-18 (batch size 64)', 1)": [45.64, 24.09] } } }
/// ```
///
/// Worker type -> job type `('model', scale factor)` -> `"null"`: steps/s alone, and per
/// other job type `[this job's, the other's]` steps/s when packed together. Every number is
/// finite and ≥ 0 (0: cannot run, or cannot be packed); every job type has its `"null"`;
/// a pair's partner has an entry of its own on the same worker type, and where both orders
/// are given they agree. The file is read as YAML (JSON is YAML), so every error names the
/// file, line and column, the key path, and what was expected.
public enum GavelThroughputFile {
    /// Reads `path`; throws a located `ScenarioError` on an unreadable or malformed file.
    public static func read(path: String) throws(ScenarioError) -> ColocationThroughputs {
        guard let data = FileManager.default.contents(atPath: path), let text = String(data: data, encoding: .utf8) else {
            throw ScenarioError(file: path, line: 1, column: 1, message: "cannot read the throughput file (Gavel's simulation_throughputs.json format)")
        }
        return try parse(text, file: path)
    }

    /// Parses `text`; `file` names it in errors.
    public static func parse(_ text: String, file: String) throws(ScenarioError) -> ColocationThroughputs {
        let reader = YAMLReader(file: file, text: text)
        let root = try reader.compose()
        var table = ColocationThroughputs()
        for (workerNode, jobs) in try mapping(root, "the throughput table", reader) {
            let worker = try reader.string(workerNode, "a worker type")
            var pairs: [(a: GavelJobType, b: GavelJobType, values: (Double, Double), node: YAMLNode, path: String)] = []
            for (jobNode, entries) in try mapping(jobs, worker, reader) {
                let job = try jobType(jobNode, reader, path: worker)
                let path = "\(worker) > \(job)"
                var alone: Double?
                for (keyNode, value) in try mapping(entries, path, reader) {
                    let key = try reader.string(keyNode, "a key of \(path)")
                    if key == "null" {
                        alone = try reader.double(value, "\(path) > null (steps/s alone)", min: 0)
                        continue
                    }
                    let other = try jobType(keyNode, reader, path: path)
                    let values = try reader.sequence(value, "\(path) > \(other) (steps/s of both, packed)")
                    guard values.count == 2 else {
                        throw reader.error(at: value, "\(path) > \(other) must be a list of two numbers, [this job's, the other's] steps/s when packed; found \(values.count)")
                    }
                    let what = "\(path) > \(other)"
                    pairs.append((job, other, (try reader.double(values[0], "\(what)[0] (steps/s)", min: 0),
                                               try reader.double(values[1], "\(what)[1] (steps/s)", min: 0)), value, what))
                }
                guard let alone else {
                    throw reader.error(at: jobNode, "\(path) has no \"null\" entry: expected its throughput alone, in steps/s")
                }
                table.setIsolated(alone, job: job, on: worker)
            }
            for p in pairs {
                guard table.isolated(p.b, on: worker) != nil else {
                    throw reader.error(at: p.node, "\(p.path) names a job type with no entry of its own under \(worker)")
                }
                if let given = table.packed(p.a, p.b, on: worker), given != p.values {
                    throw reader.error(at: p.node, "\(p.path) is [\(p.values.0.clean), \(p.values.1.clean)], but \(worker) > \(p.b) > \(p.a) "
                                       + "says [\(given.1.clean), \(given.0.clean)]; the two orders must agree")
                }
                table.setPacked(p.a, p.b, p.values, on: worker)
            }
        }
        return table
    }

    /// A mapping's entries in document order.
    private static func mapping(_ node: YAMLNode, _ what: String, _ reader: YAMLReader) throws(ScenarioError) -> [(YAMLNode, YAMLNode)] {
        guard case .mapping(let m) = node else {
            throw reader.error(at: node, "\(what) must be a mapping; found \(reader.describe(node))")
        }
        return m.map { ($0.key, $0.value) }
    }

    /// A job type key, `('model', scale factor)` with a scale factor of at least 1.
    private static func jobType(_ node: YAMLNode, _ reader: YAMLReader, path: String) throws(ScenarioError) -> GavelJobType {
        let key = try reader.string(node, "a job type under \(path)")
        let expected = "a job type such as ('ResNet-18 (batch size 64)', 1): the model in quotes and its scale factor (at least 1)"
        guard key.hasPrefix("('"), key.hasSuffix(")"), let split = key.range(of: "', ", options: .backwards),
              split.lowerBound >= key.index(key.startIndex, offsetBy: 2),
              let scale = Int(key[split.upperBound..<key.index(before: key.endIndex)].trimmingCharacters(in: .whitespaces)), scale >= 1
        else { throw reader.error(at: node, "\(path): expected \(expected); found '\(key)'") }
        let model = String(key[key.index(key.startIndex, offsetBy: 2)..<split.lowerBound])
        guard !model.isEmpty else { throw reader.error(at: node, "\(path): expected \(expected); found '\(key)' (no model)") }
        return GavelJobType(model: model, scaleFactor: scale)
    }
}
