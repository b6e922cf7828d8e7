import FleetTwinCostModel
import FleetTwinEngine
import FleetTwinFleet
import FleetTwinScheduling

/// A model-shaped job priced by the cost model for every accelerator type of the fleet.
public struct PricedModel: Sendable, Equatable {
    public var shape: ModelShape
    /// Seconds per step on the reference accelerator (the H100): work = steps x this.
    public var referenceStepSeconds: Double
    /// The types it fits on, with its speed on each relative to the H100.
    public var speeds: [TypeSpeed]
    public var memoryPerReplicaBytes: Int64
    public var stateBytes: Int64
    /// "any", or the one type asked for.
    public var acceleratorType: String
    /// Tensor and pipeline parallelism (`parallelism:`), nil for data parallelism only; then
    /// `memoryPerReplicaBytes` is already one device's share (the replica's / (T x P)).
    public var parallelism: Parallelism?

    /// A job of `steps` mini-batches per replica. An inference shape (`mode: infer`) makes a
    /// batch-inference job serving `requests` (default: steps x batch x world size), whose
    /// state is its outputs (`outputBytesPerRequest` each, unless given) and whose weights
    /// load at every start.
    /// With `parallelism`, one step is the ideal step of one model replica on T x P devices
    /// (the reference step / (T x P)), so work = steps x that.
    func job(name: String, submit: VirtualTime, tier: SLATier, worldSize: Int, steps: Int64,
             requests: Int64? = nil, outputBytesPerRequest: Int64? = nil) -> JobSpec {
        let ideal = referenceStepSeconds / Double(parallelism?.modelParallel ?? 1)
        var spec = JobSpec(name: name, submit: submit, tier: tier, worldSize: worldSize, acceleratorType: acceleratorType,
                           work: VirtualTime.seconds(Double(steps) * ideal), steps: steps,
                           stateBytes: stateBytes, memoryPerReplicaBytes: memoryPerReplicaBytes, speeds: speeds, model: shape)
        spec.parallelism = parallelism
        if shape.mode == .infer {
            let served = requests ?? steps * Int64(shape.batch) * Int64(worldSize)
            spec.inference = BatchInference(requests: served, weightBytes: shape.checkpointBytes)
            spec.stateBytes = served.saturatingMultiplied(by: outputBytesPerRequest ?? shape.outputBytesPerRequest)
        }
        return spec
    }
}

extension ScenarioParser {
    static let modelKeys = ["arch", "layers", "hidden", "seq", "batch", "mode", "precision"]

    /// `model: {arch: bert, layers: 12, hidden: 768, seq: 256, batch: 32, mode: train}`.
    func parseModelShape(_ node: YAMLNode) throws(ScenarioError) -> ModelShape {
        let m = try reader.object(node, "model", allowed: Self.modelKeys)
        return ModelShape(
            architecture: try reader.choice(try m.required("arch"), "arch", Architecture.self),
            layers: try reader.int(try m.required("layers"), "layers", min: 1, max: 1_000),
            hidden: try reader.int(try m.required("hidden"), "hidden", min: 1, max: 1_000_000),
            sequence: try reader.int(try m.required("seq"), "seq", min: 1, max: 10_000_000),
            batch: try reader.int(try m.required("batch"), "batch", min: 1, max: 10_000_000),
            mode: try m["mode"].map { n throws(ScenarioError) in try reader.choice(n, "mode", Mode.self) } ?? .train,
            precision: try m["precision"].map { n throws(ScenarioError) in try reader.choice(n, "precision", Precision.self) } ?? .bf16)
    }

    /// Prices `shape` on every type of the fleet (or only `requested`), keeping the types
    /// where a replica fits in memory and whose largest cluster holds `worldSizes`. With
    /// `parallelism` a device holds 1 / (T x P) of the replica's memory (an even split of
    /// weights, gradients, optimizer state and activations).
    func price(_ shape: ModelShape, requested typeNode: YAMLNode?, worldSizes: [Int], fleet: FleetSpec,
               at node: YAMLNode, parallelism: Parallelism? = nil) throws(ScenarioError) -> PricedModel {
        let split = Int64(parallelism?.modelParallel ?? 1)
        let model = CostModel.calibrated
        let reference = model.estimate(shape, on: AcceleratorCatalog.h100)
        let requested = try typeNode.map { n throws(ScenarioError) in try acceleratorType(n, fleet: fleet) }
        var speeds: [TypeSpeed] = []
        var memory: Int64 = 0
        let inFleet = fleet.profiles.filter { p in fleet.clusters.contains { $0.acceleratorType == p.name } }
        for profile in inFleet where requested == nil || requested == profile.name {
            let e = model.estimate(shape, on: profile.spec)
            memory = (e.memoryBytes + split - 1) / split
            guard memory <= profile.spec.memoryBytes, worldSizes.allSatisfy({ $0 <= fleet.largestCluster(ofType: profile.name) }) else { continue }
            speeds.append(TypeSpeed(type: profile.name, speed: reference.stepSeconds / e.stepSeconds))
        }
        guard !speeds.isEmpty else {
            let gib = Double(memory) / 1_073_741_824
            let largest = worldSizes.max() ?? 1
            throw reader.error(at: typeNode ?? node, String(
                format: "this model needs %.1f GiB per %@, %d of them in one cluster; no %@ in the fleet offers both",
                gib, split > 1 ? "device (a replica / tensor x pipeline)" : "replica", largest,
                requested.map { "cluster of type \($0)" } ?? "accelerator type"))
        }
        return PricedModel(shape: shape, referenceStepSeconds: reference.stepSeconds, speeds: speeds,
                           memoryPerReplicaBytes: memory, stateBytes: shape.checkpointBytes,
                           acceleratorType: requested ?? "any", parallelism: parallelism)
    }

    static let parallelismKeys = ["tensor", "pipeline", "micro_batches"]

    /// `parallelism: {tensor: T, pipeline: P, micro_batches: m}` (each a whole number >= 1,
    /// default 1) for a training `model`: T x P must divide every world size the job may
    /// have (`worldSizes`, at `sizeNode`). That T divides a node of every type the priced job
    /// may use is `checkTensor`'s, once the types are known.
    func parseParallelism(_ node: YAMLNode, shape: ModelShape, worldSizes: [Int], sizeNode: YAMLNode) throws(ScenarioError) -> Parallelism {
        let o = try reader.object(node, "parallelism", allowed: Self.parallelismKeys)
        guard shape.mode == .train else {
            throw reader.error(at: node, "'parallelism' splits a training model; an inference model (mode: infer) splits its requests instead")
        }
        func degree(_ key: String) throws(ScenarioError) -> Int {
            try o[key].map { n throws(ScenarioError) in try reader.int(n, "parallelism.\(key)", min: 1, max: 1_000_000) } ?? 1
        }
        let p = Parallelism(tensor: try degree("tensor"), pipeline: try degree("pipeline"), microBatches: try degree("micro_batches"))
        for size in worldSizes where size % p.modelParallel != 0 {
            throw reader.error(at: sizeNode, "world size \(size) is not a multiple of tensor \(p.tensor) x pipeline \(p.pipeline) = \(p.modelParallel) "
                               + "(one model replica's devices, from 'parallelism')")
        }
        if p.pipeline > shape.layers {
            throw reader.error(at: o["pipeline"], "pipeline \(p.pipeline) has more stages than the model's \(shape.layers) layers")
        }
        return p
    }

    /// Tensor groups must fit inside a node of every type `priced` may run on
    /// (`JobFeasibility.tensorProblem`), else an error at `parallelism.tensor`.
    func checkTensor(_ priced: PricedModel, fleet: FleetSpec, at node: YAMLNode?) throws(ScenarioError) {
        guard let p = priced.parallelism else { return }
        for s in priced.speeds {
            if let problem = JobFeasibility.tensorProblem(tensor: p.tensor, type: s.type, fleet: fleet) {
                throw reader.error(at: node, problem)
            }
        }
    }

    /// A model job's `parallelism`, parsed and priced with the model: nil without the key.
    func pricedWithParallelism(_ o: YAMLObject, shape: ModelShape, worldSizes: [Int], sizeNode: YAMLNode, fleet: FleetSpec,
                               at modelNode: YAMLNode) throws(ScenarioError) -> PricedModel {
        let parallelism = try o["parallelism"].map { n throws(ScenarioError) in
            try parseParallelism(n, shape: shape, worldSizes: worldSizes, sizeNode: sizeNode)
        }
        let priced = try price(shape, requested: o["accelerator_type"], worldSizes: worldSizes, fleet: fleet, at: modelNode,
                               parallelism: parallelism)
        if let n = o["parallelism"] {
            try checkTensor(priced, fleet: fleet, at: try reader.object(n, "parallelism", allowed: Self.parallelismKeys)["tensor"] ?? n)
        }
        return priced
    }

    /// An explicit job given as `model` with `steps` (mini-batches) or `samples` (split over
    /// the data-parallel replicas: steps = ceil(samples / (batch x world size))); an inference
    /// model (`mode: infer`) is a batch-inference job given `requests` (split over its
    /// replicas the same way) or `steps`, and may set `output_size` (bytes per request).
    func parseModelJob(_ j: YAMLObject, at item: YAMLNode, name: String, worldSize: Int, sizeNode: YAMLNode,
                       fleet: FleetSpec) throws(ScenarioError) -> JobSpec {
        let conflicting = j.present(["duration", "step_time", "memory_per_replica", "state_size"])
        guard conflicting.isEmpty else {
            throw reader.error(at: j[conflicting[0]], "a job with 'model' gets '\(conflicting[0])' from the cost model; remove it")
        }
        let shape = try parseModelShape(j["model"]!)
        let inference = shape.mode == .infer
        if inference, let samples = j["samples"] {
            throw reader.error(at: samples, "an inference model (mode: infer) serves 'requests', which its replicas split; use 'requests' instead of 'samples'")
        }
        if !inference, let key = j.present(["requests", "output_size"]).first {
            throw reader.error(at: j[key], "'\(key)' is for batch inference: give the model 'mode: infer', or use 'steps' or 'samples' for training")
        }
        let countKey = inference ? "requests" : "samples"
        let counts = j.present(["steps", countKey])
        guard counts.count == 1 else {
            throw reader.error(at: item, "a job with \(inference ? "an inference " : "")'model' needs exactly one of 'steps' or '\(countKey)'")
        }
        let priced = try pricedWithParallelism(j, shape: shape, worldSizes: [worldSize], sizeNode: sizeNode, fleet: fleet, at: j["model"]!)
        let steps: Int64
        var requests: Int64?
        let countNode = j["steps"] ?? j[countKey]!
        if j["steps"] != nil {
            steps = Int64(try reader.int(countNode, "steps", min: 1))
        } else {
            let samples = Int64(try reader.int(countNode, countKey, min: 1))
            // Data-parallel replicas: world size / (tensor x pipeline).
            let perStep = Int64(shape.batch) * Int64(worldSize / (priced.parallelism?.modelParallel ?? 1))
            steps = samples / perStep + (samples % perStep == 0 ? 0 : 1)
            if inference { requests = samples }
        }
        try checkWork(steps: steps, stepSeconds: priced.referenceStepSeconds / Double(priced.parallelism?.modelParallel ?? 1), at: countNode)
        let output = try j["output_size"].map { n throws(ScenarioError) in try reader.size(n, "output_size") }
        return priced.job(
            name: name,
            submit: try j["submit"].map { n throws(ScenarioError) in try reader.duration(n, "submit", positive: false) } ?? .zero,
            tier: try j["tier"].map { n throws(ScenarioError) in try reader.choice(n, "tier", SLATier.self) } ?? .standard,
            worldSize: worldSize, steps: steps, requests: requests, outputBytesPerRequest: output)
    }
}
