import FleetTwinEngine
import FleetTwinLive
import FleetTwinScenario
import FleetTwinTraces

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
