import FleetTwinTraces
import Foundation

/// A reply that is not what the command prints: not JSON, not the expected object, an
/// `errors` list that is not empty, a job or node without the keys every record has.
/// `description` names where the reply came from (a file, or the command) and what was expected.
public struct MalformedReply: Error, CustomStringConvertible, Equatable, Sendable {
    /// The file the reply was read from, or the command that printed it.
    public var source: String
    /// What is wrong and what was expected.
    public var message: String

    public init(source: String, message: String) {
        self.source = source
        self.message = message
    }

    /// `SOURCE: error: MESSAGE`.
    public var description: String { "\(source): error: \(message)" }
}

/// Parses the replies of `squeue --json` and `sinfo --json` as Slurm 22.05 prints them
/// (`openapi/v0.0.38`, ../shared/slurm/README.md "JSON shapes"); later versions' shapes of the
/// same fields are read too: numbers as `{"set", "infinite", "number"}` objects, states as
/// lists. Keys not named here are ignored. A reply is taken whole or refused whole
/// (`MalformedReply`): half a job list would look like jobs that ended.
public enum SlurmReplies {
    /// The jobs of a `squeue --json` reply, sorted by job id: `{"jobs": [...], "errors": []}`,
    /// each job with at least `job_id` and `job_state`. Every job slurmctld holds is listed,
    /// finished ones too (for `MinJobAge`); the mirror, not the parser, filters them.
    /// Throws `MalformedReply` naming `source` when the reply is not that.
    public static func jobs(_ data: Data, source: String) throws(MalformedReply) -> [ObservedJob] {
        let list = try topLevelList(data, key: "jobs", source: source, command: "squeue --json")
        var jobs: [ObservedJob] = []
        for (index, element) in list.enumerated() {
            let (job, id) = try jobRecord(element, index: index, source: source)
            guard let state = states(job["job_state"]).first else {
                throw MalformedReply(source: source, message: "job \(id) has no job_state (a string, such as \"RUNNING\")")
            }
            let nodeCount = integer(job["node_count"]).map { max(1, Int($0)) } ?? 1
            var observed = ObservedJob(id: Int(id), state: state.uppercased(), reason: string(job["state_reason"]) ?? "None",
                                       partition: string(job["partition"]) ?? "", qos: string(job["qos"]) ?? "",
                                       user: string(job["user_name"]) ?? "", nodeCount: nodeCount, nodes: string(job["nodes"]) ?? "")
            observed.gpus = gpus(job, nodeCount: nodeCount)
            observed.submit = moment(job["submit_time"])
            observed.eligible = moment(job["eligible_time"])
            observed.start = moment(job["start_time"])
            observed.end = moment(job["end_time"])
            // time_limit is in minutes; null, or Slurm's INFINITE / NO_VAL, is no limit.
            if let minutes = integer(job["time_limit"]), minutes > 0, minutes < 4_294_967_294 { observed.timeLimit = minutes * 60 }
            observed.restarts = integer(job["restart_cnt"]).map { Int($0) } ?? 0
            observed.priority = integer(job["priority"])
            observed.exitCode = integer(job["exit_code"]).map { Int($0) }
            jobs.append(observed)
        }
        return jobs.sorted { $0.id < $1.id }
    }

    /// The nodes of a `sinfo --json` reply, sorted by name: `{"nodes": [...]}`, each node with
    /// at least `name` and `state`. Throws `MalformedReply` naming `source` when the reply is not
    /// that, or lists no node (a cluster without nodes is not something a twin can mirror).
    public static func nodes(_ data: Data, source: String) throws(MalformedReply) -> [ObservedNode] {
        let list = try topLevelList(data, key: "nodes", source: source, command: "sinfo --json")
        guard !list.isEmpty else { throw MalformedReply(source: source, message: "no nodes; expected the output of `sinfo --json` on a cluster") }
        var nodes: [ObservedNode] = []
        for (index, element) in list.enumerated() {
            guard let node = element as? [String: Any], let name = string(node["name"]), !name.isEmpty else {
                throw MalformedReply(source: source, message: "nodes[\(index)] has no name")
            }
            let stateList = states(node["state"])
            guard let base = stateList.first else {
                throw MalformedReply(source: source, message: "node \(name) has no state (a string, such as \"idle\")")
            }
            // 22.05: "state": "idle", "state_flags": ["DRAIN"]; later: "state": ["IDLE", "DRAIN"].
            let flags = (Array(stateList.dropFirst()) + states(node["state_flags"])).map { $0.uppercased() }
            let gres = string(node["gres"]) ?? ""
            let gpu = gpuGres(gres)
            nodes.append(ObservedNode(name: name, state: base.lowercased(), flags: Array(Set(flags)).sorted(), gpus: gpu.count,
                                      gpuType: gpu.type, gres: gres, partitions: states(node["partitions"]).sorted(),
                                      reason: string(node["reason"]) ?? "",
                                      cpus: integer(node["cpus"]).flatMap { $0 > 0 && $0 <= Int64(Int32.max) ? Int($0) : nil }))
        }
        return nodes.sorted { $0.name < $1.name }
    }

    /// Element `index` of a reply's `jobs` list as an object with a positive `job_id`, or the
    /// `MalformedReply` that says which is missing.
    static func jobRecord(_ element: Any, index: Int, source: String) throws(MalformedReply) -> (record: [String: Any], id: Int64) {
        guard let record = element as? [String: Any] else {
            throw MalformedReply(source: source, message: "jobs[\(index)] is not an object")
        }
        guard let id = integer(record["job_id"]), id > 0 else {
            throw MalformedReply(source: source, message: "jobs[\(index)] has no job_id (a positive number)")
        }
        return (record, id)
    }

    /// The list under `key` of a reply object whose `errors` list is empty, or holds only
    /// errors numbered in `harmless`.
    static func topLevelList(_ data: Data, key: String, source: String, command: String, harmless: Set<Int64> = []) throws(MalformedReply) -> [Any] {
        let body = data.starts(with: [0xEF, 0xBB, 0xBF]) ? data.dropFirst(3) : data
        guard !body.allSatisfy({ $0 == 0x20 || $0 == 0x0A || $0 == 0x0D || $0 == 0x09 }) else {
            throw MalformedReply(source: source, message: "an empty reply; expected the output of `\(command)`")
        }
        let root: Any
        do { root = try JSONSerialization.jsonObject(with: body) } catch {
            throw MalformedReply(source: source, message: "not JSON (\(error.localizedDescription)); expected the output of `\(command)`")
        }
        guard let object = root as? [String: Any] else {
            throw MalformedReply(source: source, message: "not a JSON object; expected the output of `\(command)`, an object with a \"\(key)\" list")
        }
        if let errors = object["errors"] as? [Any],
           !errors.allSatisfy({ integer(($0 as? [String: Any])?["error_number"]).map(harmless.contains) ?? false }) {
            let text = errors.map { error -> String in
                guard let e = error as? [String: Any] else { return "\(error)" }
                return [string(e["error"]), string(e["description"]), integer(e["error_number"] ?? e["errno"]).map { "errno \($0)" }]
                    .compactMap { $0 }.filter { !$0.isEmpty }.joined(separator: ", ")
            }
            throw MalformedReply(source: source, message: "Slurm reported errors: \(text.joined(separator: "; "))")
        }
        guard let list = object[key] as? [Any] else {
            throw MalformedReply(source: source, message: "no \"\(key)\" list; expected the output of `\(command)`")
        }
        return list
    }

    /// The job's GPUs in all (see `ObservedJob.gpus` for the order of the sources).
    static func gpus(_ job: [String: Any], nodeCount: Int) -> Int {
        if let n = tresGPUs(string(job["tres_alloc_str"]) ?? ""), n > 0 { return n }
        let detail = (job["gres_detail"] as? [Any] ?? []).compactMap { string($0) }.map { gpuGres($0).count }.reduce(0, +)
        if detail > 0 { return detail }
        if let n = gresRequest(string(job["tres_per_job"]) ?? ""), n > 0 { return n }
        if let n = gresRequest(string(job["tres_per_node"]) ?? ""), n > 0 { return n * nodeCount }
        return tresGPUs(string(job["tres_req_str"]) ?? "") ?? 0
    }

    /// `gres/gpu=N` in a TRES string (`cpu=1,node=1,billing=1,gres/gpu=4`); typed
    /// `gres/gpu:h100=N` entries are summed when no total is given.
    static func tresGPUs(_ tres: String) -> Int? {
        var total: Int?, typed = 0
        for entry in tres.split(separator: ",") {
            let parts = entry.split(separator: "=", maxSplits: 1)
            guard parts.count == 2, let n = Int(parts[1]) else { continue }
            if parts[0] == "gres/gpu" { total = n } else if parts[0].hasPrefix("gres/gpu:") { typed += n }
        }
        return total ?? (typed > 0 ? typed : nil)
    }

    /// GPUs in a request such as `gres:gpu:4`, `gres:gpu:h100:4`, `gres/gpu:4` or `gpu:2`
    /// (`tres_per_node`, `tres_per_job`), summed over comma-separated entries.
    static func gresRequest(_ text: String) -> Int? {
        var total = 0
        for entry in text.split(separator: ",") {
            var spec = Substring(entry)
            for prefix in ["gres:", "gres/"] where spec.hasPrefix(prefix) { spec = spec.dropFirst(prefix.count) }
            total += gpuGres(String(spec)).count
        }
        return total > 0 ? total : nil
    }

    /// GPUs and their type in a gres entry list: `gpu:8`, `gpu:h100:8(S:0-1)`, `gpu:4(IDX:0-3)`
    /// (the node importer's reading); (0, "") without a GPU.
    static func gpuGres(_ gres: String) -> (count: Int, type: String) {
        SlurmNodesImporter.gpus(gres) ?? (0, "")
    }

    /// A whole number: plain, or `{"set": true, "infinite": false, "number": N}` (23.02 and
    /// later); nil when absent, unset or infinite.
    static func integer(_ value: Any?) -> Int64? {
        if let n = value as? NSNumber { return n.int64Value }
        guard let object = value as? [String: Any], object["set"] as? Bool != false, object["infinite"] as? Bool != true,
              let n = object["number"] as? NSNumber else { return nil }
        return n.int64Value
    }

    /// A Unix time; nil when 0 (Slurm's "not set") or absent.
    static func moment(_ value: Any?) -> Int64? {
        integer(value).flatMap { $0 > 0 ? $0 : nil }
    }

    static func string(_ value: Any?) -> String? { value as? String }

    /// A state as a string (22.05) or a list of strings (later versions).
    static func states(_ value: Any?) -> [String] {
        if let s = value as? String { return s.isEmpty ? [] : [s] }
        return (value as? [Any] ?? []).compactMap { $0 as? String }
    }
}
