import FleetTwinCostModel
import FleetTwinEngine
import FleetTwinFleet
import FleetTwinScheduling
import FleetTwinTraces
import Foundation

/// A workload replayed from a native trace, with the scenario's selection and tier rules.
///
/// - window: only jobs submitted in [from, to), shifted so that `from` is time 0;
/// - limit: the first N of those (by submit time);
/// - time_scale: submit times multiplied by it (0.5 arrives twice as fast);
/// - tiers: shares for jobs whose trace gives no tier, drawn from each job's own stream
///   (seed, "trace-tier", position), so the same seed gives the same tiers;
/// - accelerator_type: for jobs whose trace names none; without it such jobs run on any type
///   of the fleet, their duration replayed as recorded (the trace does not say on what).
/// Jobs that break `JobFeasibility` (the rule a `jobs:` list is refused by: the gang fits the
/// largest cluster of its type, a replica fits one accelerator's memory) are skipped and
/// counted with the reason, never dropped silently.
public struct TraceWorkload: Sendable {
    public var path: String
    public var header: TraceHeader
    public var jobs: [TraceJob]
    public var windowFrom: Double?
    public var windowTo: Double?
    public var limit: Int?
    public var timeScale: Double
    public var tiers: WeightedChoice<SLATier>?
    public var defaultType: String?

    /// Jobs of the trace the simulation will run, and the ones skipped with the reason.
    public func select(seed: UInt64, fleet: FleetSpec) -> (jobs: [JobSpec], skipped: [(id: String, reason: String)]) {
        var chosen = jobs.enumerated().filter { _, job in
            (windowFrom.map { job.submit >= $0 } ?? true) && (windowTo.map { job.submit < $0 } ?? true)
        }.sorted { ($0.element.submit, $0.offset) < ($1.element.submit, $1.offset) }
        if let limit { chosen = Array(chosen.prefix(limit)) }
        var specs: [JobSpec] = [], skipped: [(String, String)] = []
        specs.reserveCapacity(chosen.count)
        var fleetTypes: [String] = []
        for c in fleet.clusters where !fleetTypes.contains(c.acceleratorType) { fleetTypes.append(c.acceleratorType) }
        for (position, (_, job)) in chosen.enumerated() {
            let tier: SLATier
            if let named = job.tier.flatMap(SLATier.init(rawValue:)) {
                tier = named
            } else if let tiers {
                var g = SeededGenerator(seed: seed, stream: "trace-tier", index: UInt64(position))
                tier = tiers.sample(using: &g)
            } else {
                tier = .standard
            }
            let submit = VirtualTime.seconds((job.submit - (windowFrom ?? 0)) * timeScale)
            let work = VirtualTime.seconds(max(job.workSeconds, 1e-6))
            let memory = job.memoryPerReplicaBytes ?? 0
            guard let type = job.acceleratorType ?? defaultType else {
                // Any type that passes the rule; none is a skipped job with the rule's reason.
                switch JobFeasibility.types(worldSize: job.worldSize, memoryPerReplicaBytes: memory, among: fleetTypes, fleet: fleet) {
                case .failure(let reason):
                    skipped.append((job.id, reason.text))
                case .success(let types):
                    if let p = job.parallelism, let problem = types.lazy.compactMap({ JobFeasibility.tensorProblem(tensor: p.tensor, type: $0, fleet: fleet) }).first {
                        skipped.append((job.id, problem))
                        continue
                    }
                    var spec = JobSpec(
                        name: job.id, submit: submit, tier: tier, worldSize: job.worldSize, acceleratorType: "any", work: work,
                        steps: job.steps.map(Int64.init), stateBytes: job.stateBytes ?? 0, memoryPerReplicaBytes: memory,
                        speeds: types.map { TypeSpeed(type: $0, speed: 1) }, tenant: job.virtualCluster ?? job.user)
                    setOptionalFields(of: &spec, from: job)
                    specs.append(spec)
                }
                continue
            }
            guard fleet.profile(named: type) != nil, fleet.clusters.contains(where: { $0.acceleratorType == type }) else {
                skipped.append((job.id, "no cluster of type \(type)"))
                continue
            }
            if let problem = JobFeasibility.problem(worldSize: job.worldSize, memoryPerReplicaBytes: memory, type: type, fleet: fleet)
                ?? job.parallelism.flatMap({ JobFeasibility.tensorProblem(tensor: $0.tensor, type: type, fleet: fleet) }) {
                skipped.append((job.id, problem))
                continue
            }
            var spec = JobSpec(
                name: job.id, submit: submit, tier: tier, worldSize: job.worldSize, acceleratorType: type,
                work: work, steps: job.steps.map(Int64.init),
                stateBytes: job.stateBytes ?? 0, memoryPerReplicaBytes: memory,
                tenant: job.virtualCluster ?? job.user)
            setOptionalFields(of: &spec, from: job)
            specs.append(spec)
        }
        return (specs, skipped)
    }

    /// The trace job's optional fields, on the run's clock: a time limit scaled as `submit`
    /// is, a deadline (an instant) shifted and scaled as `submit` is.
    private func setOptionalFields(of spec: inout JobSpec, from job: TraceJob) {
        spec.timeLimit = job.timeLimit.map { VirtualTime.seconds($0 * timeScale) }
        spec.partition = job.partition
        spec.qos = job.qos
        spec.cpus = job.cpus
        spec.inference = job.batchInference
        spec.elasticSpeedup = job.speedup
        spec.application = job.workload
        spec.statisticalEfficiency = job.statisticalEfficiency.map(StatisticalEfficiency.init)
        spec.parallelism = job.parallelism.map(Parallelism.init)
        spec.deadline = job.deadline.map { VirtualTime.seconds(($0 - (windowFrom ?? 0)) * timeScale) }
        spec.resources = job.resources.map {
            ResourceProfile(cpusPerAccelerator: $0.cpusPerGPU, memoryGiBPerAccelerator: $0.memoryGiBPerGPU, speedup: $0.speedup)
        }
    }
}

extension TraceJob {
    /// The job's batch inference, when the trace gives it `requests`.
    var batchInference: BatchInference? {
        requests.map { BatchInference(requests: $0, weightBytes: weightBytes ?? 0) }
    }
}

extension Parallelism {
    /// A trace job's parallelism (validated by `TraceReader`).
    init(_ trace: TraceParallelism) {
        self.init(tensor: trace.tensor, pipeline: trace.pipeline, microBatches: trace.microBatches)
    }
}

extension StatisticalEfficiency {
    /// A trace job's inputs (checked by `TraceReader`); unset limits default as in
    /// `StatisticalEfficiency.init`, a noise scale becomes var / sqr = noise / B0.
    init(_ e: TraceStatisticalEfficiency) {
        if let noise = e.noiseScale {
            self.init(initialBatch: e.initialBatch, maxBatch: e.maxBatch ?? e.initialBatch, minLocalBatch: e.minLocalBatch ?? 1,
                      maxLocalBatch: e.maxLocalBatch, noiseScale: noise)
        } else {
            self.init(initialBatch: e.initialBatch, maxBatch: e.maxBatch ?? e.initialBatch, minLocalBatch: e.minLocalBatch ?? 1,
                      maxLocalBatch: e.maxLocalBatch, gradientVariance: e.gradientVariance ?? 0, gradientSquare: e.gradientSquare ?? 0)
        }
    }
}
