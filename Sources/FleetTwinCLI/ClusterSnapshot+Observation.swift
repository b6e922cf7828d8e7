import FleetTwinEngine
import FleetTwinLive
import FleetTwinScenario
import FleetTwinTraces
import Foundation

extension ClusterSnapshot {
    /// What the mirror observed at one poll, as a forecast's starting state: nodes with their
    /// GPUs (available or not), running jobs on their nodes (a multi-node job's GPUs split
    /// evenly, as `--gres` asks them per node), pending jobs in job-id order with Slurm's
    /// reason. The accelerator type is the first typed node's (`SlurmNodesImporter.mapping`).
    init(_ observation: SlurmObservation) throws(Forecaster.Problem) {
        let type = SlurmNodesImporter.mapping(observation.nodes.first { !$0.gpuType.isEmpty }?.gpuType ?? "").type
        var running: [Job] = [], pending: [Job] = []
        for job in observation.openJobs {
            let limit = job.timeLimit.map(Double.init)
            var entry = Job(id: String(job.id), gpus: job.gpus, submit: Double(job.submit ?? 0), eligible: job.eligible.map(Double.init),
                            timeLimit: limit, partition: job.partition.isEmpty ? nil : job.partition,
                            qos: job.qos.isEmpty ? nil : job.qos, user: job.user.isEmpty ? nil : job.user, reason: job.reason)
            guard job.gpus > 0 else { continue }  // CPU-only jobs take no GPUs
            switch job.phase {
            case .running:
                guard let names = SlurmHostlist.expand(job.nodes), !names.isEmpty else {
                    throw Forecaster.Problem(description: "running job \(job.id) has no node list it can read ('\(job.nodes)')")
                }
                let each = job.gpus / names.count, extra = job.gpus % names.count
                entry.start = Double(job.start ?? observation.time / 1_000_000)
                entry.shares = names.enumerated().map { Share(node: $0.element, gpus: each + ($0.offset < extra ? 1 : 0)) }
                running.append(entry)
            default:
                pending.append(entry)
            }
        }
        self.init(time: Double(observation.time) / 1e6, acceleratorType: type,
                  nodes: observation.nodes.filter { $0.gpus > 0 }.map { Node(name: $0.name, gpus: $0.gpus, up: $0.isAvailable) },
                  running: running, pending: pending)
    }
}

extension ClusterSnapshot {
    static let keys = ["time", "acceleratorType", "nodes", "running", "pending"]
    static let nodeKeys = ["name", "gpus", "up"]
    static let jobKeys = ["id", "gpus", "submit", "eligible", "timeLimit", "partition", "qos", "user", "reason", "start", "shares"]
    static let shareKeys = ["node", "gpus"]

    /// Reads a snapshot file strictly: a misspelt key is an error (it would otherwise vanish,
    /// and a job lose its time limit), and a wrong value names where it is and what was
    /// expected. `file` names the file in the messages.
    static func decode(_ data: Data, file: String) throws -> ClusterSnapshot {
        func fail(_ message: String) -> InvalidInput {
            InvalidInput(message: "\(file): \(message); expected the snapshot JSON in `fleettwin twin eta --help`")
        }
        let root: Any
        do { root = try JSONSerialization.jsonObject(with: data) } catch { throw fail("not JSON (\(error.localizedDescription))") }
        func check(_ value: Any?, _ allowed: [String], _ place: String) throws {
            guard let object = value as? [String: Any] else { return }
            if let unknown = object.keys.sorted().first(where: { !allowed.contains($0) }) {
                throw fail("unknown key '\(unknown)' in \(place); expected one of: \(allowed.joined(separator: ", "))")
            }
        }
        try check(root, keys, "the snapshot")
        let top = root as? [String: Any] ?? [:]
        for (i, node) in (top["nodes"] as? [Any] ?? []).enumerated() { try check(node, nodeKeys, "nodes[\(i)]") }
        for list in ["running", "pending"] {
            for (i, job) in (top[list] as? [Any] ?? []).enumerated() {
                try check(job, jobKeys, "\(list)[\(i)]")
                for (k, share) in ((job as? [String: Any])?["shares"] as? [Any] ?? []).enumerated() {
                    try check(share, shareKeys, "\(list)[\(i)].shares[\(k)]")
                }
            }
        }
        do {
            return try JSONDecoder().decode(ClusterSnapshot.self, from: data)
        } catch let DecodingError.keyNotFound(key, context) {
            throw fail("\(place(context.codingPath + [key])) is missing")
        } catch let DecodingError.typeMismatch(type, context) {
            throw fail("\(place(context.codingPath)) must be \(type == String.self ? "a string" : type == Bool.self ? "true or false" : type is any Collection.Type ? "a list" : "a number")")
        } catch let DecodingError.valueNotFound(_, context) {
            throw fail("\(place(context.codingPath)) is null")
        } catch {
            throw fail("\(error)")
        }
    }

    /// `pending[1].gpus` for a decoding path.
    private static func place(_ path: [any CodingKey]) -> String {
        path.reduce("") { text, key in key.intValue.map { "\(text)[\($0)]" } ?? (text.isEmpty ? key.stringValue : "\(text).\(key.stringValue)") }
    }
}
