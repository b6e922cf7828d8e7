import FleetTwinCostModel
import FleetTwinEngine
import FleetTwinFleet
import FleetTwinScheduling
import FleetTwinTensor
import FleetTwinWorkloads
import Dispatch
import Yams

/// A listed job that is a real workload: its kernels run as the simulated job progresses.
public struct RealWorkloadJob: Sendable, Equatable {
    public var jobName: String
    /// The workload; its seed is `explicitSeed` or, when that is nil, the run's seed.
    public var spec: WorkloadSpec
    public var explicitSeed: UInt64?

    public init(jobName: String, spec: WorkloadSpec, explicitSeed: UInt64?) {
        self.jobName = jobName
        self.spec = spec
        self.explicitSeed = explicitSeed
    }

    public func spec(runSeed: UInt64) -> WorkloadSpec {
        var s = spec
        s.seed = explicitSeed ?? runSeed
        return s
    }
}

/// Connects scenario jobs to their workloads' kernels (see `JobComputation`).
public struct RealWorkloads: JobComputationFactory {
    let specs: [String: WorkloadSpec]

    public init(jobs: [RealWorkloadJob], runSeed: UInt64) {
        specs = Self.specsByJob(jobs, runSeed: runSeed)
    }

    /// Each job's workload with its seed resolved for a run.
    public static func specsByJob(_ jobs: [RealWorkloadJob], runSeed: UInt64) -> [String: WorkloadSpec] {
        var specs: [String: WorkloadSpec] = [:]
        for job in jobs { specs[job.jobName] = job.spec(runSeed: runSeed) }
        return specs
    }

    /// The workload of job `name` (nil: not a real workload).
    public func spec(of name: String) -> WorkloadSpec? { specs[name] }

    public func computation(for job: JobSpec) -> (any JobComputation)? {
        specs[job.name].map { WorkloadComputation(job: job.name, spec: $0) }
    }
}

/// The check behind `resultsVerified`: each real job's result against an uninterrupted run of
/// the same workload on its full world size. It runs after the simulation, outside the model,
/// and uses every core (the references are independent, so their order cannot matter).
public enum ResultVerification {
    /// The result hash of an uninterrupted run of each spec, in order.
    public static func referenceHashes(_ specs: [WorkloadSpec]) -> [UInt64] {
        let hashes = UnsafeMutableBufferPointer<UInt64>.allocate(capacity: specs.count)
        defer { hashes.deallocate() }
        nonisolated(unsafe) let output = hashes
        DispatchQueue.concurrentPerform(iterations: specs.count) { i in
            do {
                let workload = try WorkloadRegistry.make(specs[i])
                workload.runToCompletion(devices: specs[i].worldSize)
                output[i] = workload.result!.hash
            } catch {
                preconditionFailure("cannot build the reference of a \(specs[i].kind) workload: \(error)")
            }
        }
        return Array(hashes)
    }
}

/// How simulated work maps onto a real workload's steps.
public enum WorkloadProgress {
    /// Whole steps covered by `done` of `total` work: floor(done x steps / total), exactly.
    public static func steps(covering done: Int64, of total: Int64, total steps: Int) -> Int {
        guard total > 0 else { return steps }
        let (high, low) = done.multipliedFullWidth(by: Int64(steps))
        let (quotient, _) = total.dividingFullWidth((high, low))
        return Int(min(max(quotient, 0), Int64(steps)))
    }
}

/// One job's real workload as the simulation drives it: live while the job holds devices,
/// bytes while it waits, rolled back to its last dump when a failure loses work.
final class WorkloadComputation: JobComputation {
    let job: String
    let spec: WorkloadSpec
    private var live: (any Workload)?
    private var lastDump: [UInt8]?
    private var restores = 0
    private var dumps = 0
    private var deviceCounts: [Int] = []

    init(job: String, spec: WorkloadSpec) {
        self.job = job
        self.spec = spec
    }

    /// The live workload, restored from the last dump (a fresh object) when it has none.
    private func current() -> any Workload {
        if let live { return live }
        let workload: any Workload
        do {
            if let lastDump {
                workload = try WorkloadCheckpoint.restore(lastDump)
                restores += 1
            } else {
                workload = try WorkloadRegistry.make(spec)
            }
        } catch {
            // The options were validated when the scenario was read, and the bytes are our own.
            preconditionFailure("job \(job): cannot build its \(spec.kind) workload: \(error)")
        }
        live = workload
        return workload
    }

    func advance(workDone: Int64, totalWork: Int64, devices: Int) {
        let workload = current()
        let target = WorkloadProgress.steps(covering: workDone, of: totalWork, total: workload.totalSteps)
        let d = max(1, min(devices, spec.worldSize))
        if workload.stepsCompleted < target, !deviceCounts.contains(d) { deviceCounts.append(d) }
        while workload.stepsCompleted < target { workload.step(devices: d) }
    }


    func dump(leavingDevices: Bool) {
        lastDump = WorkloadCheckpoint.bytes(of: current())
        dumps += 1
        if leavingDevices { live = nil }
    }

    func rollBack() {
        live = nil
    }

    func finish(devices: Int) -> ComputationOutcome {
        let workload = current()
        advance(workDone: 1, totalWork: 1, devices: devices)
        guard let result = workload.result else {
            preconditionFailure("job \(job): its \(spec.kind) workload finished \(workload.stepsCompleted) of \(workload.totalSteps) steps without a result")
        }
        return ComputationOutcome(
            job: job, kind: spec.kind, steps: workload.stepsCompleted, restores: restores, dumps: dumps,
            deviceCounts: deviceCounts, resultHash: result.hash,
            metricNames: result.metrics.map(\.name), metricValues: result.metrics.map(\.value))
    }
}

extension ScenarioParser {
    static let realWorkloadKeys = ["kind", "seed", "options", "matrix"]

    /// `workload: {kind: reranker, options: {...}, matrix: {size: [0, 1], loss: [bce]}, seed: 7}`
    /// on a listed job: one job, or one per combination of the matrix values (first key
    /// slowest), named `NAME[key=value,...]`. Work is steps x `step_time` (default: the cost
    /// model's time for the workload's FLOPs per step on an H100).
    func parseRealWorkloadJob(_ j: YAMLObject, at item: YAMLNode, name: String, worldSize: Int, sizeNode: YAMLNode,
                              fleet: FleetSpec) throws(ScenarioError) -> [(JobSpec, RealWorkloadJob)] {
        let node = j["workload"]!
        if let conflicting = j.present(["duration", "steps", "model", "samples", "requests", "output_size", "state_size"]).first {
            throw reader.error(at: j[conflicting], "a job with a real 'workload' gets '\(conflicting)' from the workload; remove it")
        }
        let w = try reader.object(node, "a job's workload", allowed: Self.realWorkloadKeys)
        let kindNode = try w.required("kind")
        let kind = try reader.string(kindNode, "workload kind")
        guard WorkloadRegistry.type(of: kind) != nil else {
            throw reader.error(at: kindNode, "unknown workload kind '\(kind)'; expected one of: \(WorkloadRegistry.kindNames.joined(separator: ", "))")
        }
        let seed = try w["seed"].map { n throws(ScenarioError) in UInt64(try reader.int(n, "workload seed", min: 0)) }
        var options: [String: String] = [:]
        // Where each option is written (its value, or its matrix key), for errors.
        var optionNodes: [(key: String, node: YAMLNode)] = []
        if let o = w["options"] {
            guard case .mapping(let mapping) = o else { throw reader.error(at: o, "workload options must be a mapping of option: value") }
            for (k, v) in mapping {
                let key = try reader.string(k, "an option name")
                options[key] = try reader.string(v, "option '\(k.scalar?.string ?? "")'")
                optionNodes.append((key, v))
            }
        }
        if case .mapping(let mapping)? = w["matrix"] {
            for (k, _) in mapping { if let key = k.scalar?.string { optionNodes.append((key, k)) } }
        }
        var combinations: [[(String, String)]] = [[]]
        if let m = w["matrix"] {
            guard case .mapping(let mapping) = m else { throw reader.error(at: m, "workload matrix must be a mapping of option: [values]") }
            for (k, v) in mapping {
                let key = try reader.string(k, "a matrix option")
                if options[key] != nil { throw reader.error(at: k, "option '\(key)' is in both 'options' and 'matrix'") }
                let values = try reader.sequence(v, "matrix option '\(key)'").map { n throws(ScenarioError) in try reader.string(n, "a value of '\(key)'") }
                guard !values.isEmpty else { throw reader.error(at: v, "matrix option '\(key)' needs at least one value") }
                combinations = combinations.flatMap { c in values.map { c + [(key, $0)] } }
            }
        }
        let type = try acceleratorType(j["accelerator_type"], fleet: fleet)
        try checkFits(worldSize, type: type, fleet: fleet, at: sizeNode)
        let memory = try j["memory_per_replica"].map { n throws(ScenarioError) in try reader.size(n, "memory_per_replica") } ?? 0
        try checkMemory(memory, type: type, fleet: fleet, at: j["memory_per_replica"])
        let submit = try j["submit"].map { n throws(ScenarioError) in try reader.duration(n, "submit", positive: false) } ?? .zero
        let tier = try j["tier"].map { n throws(ScenarioError) in try reader.choice(n, "tier", SLATier.self) } ?? .standard
        let stepTime = try j["step_time"].map { n throws(ScenarioError) in try reader.duration(n, "step_time") }

        var out: [(JobSpec, RealWorkloadJob)] = []
        for combination in combinations {
            var jobOptions = options
            for (k, v) in combination { jobOptions[k] = v }
            let spec = WorkloadSpec(kind: kind, seed: seed ?? 1, worldSize: worldSize, options: jobOptions)
            let workload: any Workload
            do { workload = try WorkloadRegistry.make(spec) } catch {
                // The kinds name a bad option in quotes: point at it where it is written.
                let at = optionNodes.first { "\(error)".contains("'\($0.key)'") }?.node ?? node
                throw reader.error(at: at, "\(combination.isEmpty ? "" : "with \(combination.map { "\($0.0)=\($0.1)" }.joined(separator: ", ")): ")\(error)")
            }
            let jobName = combination.isEmpty ? name : "\(name)[\(combination.map { "\($0.0)=\($0.1)" }.joined(separator: ","))]"
            let step = stepTime ?? .seconds(CostModel.calibrated.smallWorkloadStepSeconds(
                flops: Double(workload.estimatedFlopsPerStep), on: AcceleratorCatalog.h100,
                mode: workload.inferenceRequests == nil ? .train : .infer))
            let steps = Int64(workload.totalSteps)
            let stepMicroseconds = max(step.microseconds, 1)
            try checkWork(steps: steps, stepSeconds: Double(stepMicroseconds) / 1e6, at: j["step_time"] ?? node)
            let work = steps * stepMicroseconds
            var job = JobSpec(name: jobName, submit: submit, tier: tier, worldSize: worldSize, acceleratorType: type,
                              work: VirtualTime(microseconds: work), steps: steps,
                              stateBytes: Int64(WorkloadCheckpoint.bytes(of: workload).count), memoryPerReplicaBytes: memory)
            // Batch inference: the weights load at every start; its dumps are priced from the
            // checkpoint's size before the first request (cursor and spec; outputs are small).
            if let requests = workload.inferenceRequests {
                job.inference = BatchInference(requests: Int64(requests), weightBytes: Int64(workload.inferenceWeightBytes))
            }
            out.append((job, RealWorkloadJob(jobName: jobName, spec: spec, explicitSeed: seed)))
        }
        return out
    }
}
