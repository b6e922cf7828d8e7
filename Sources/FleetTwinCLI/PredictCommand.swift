import ArgumentParser
import FleetTwinCostModel
import Foundation

extension Architecture: ExpressibleByArgument {}
extension Mode: ExpressibleByArgument {}
extension Precision: ExpressibleByArgument {}

struct PredictCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "predict",
        abstract: "Predict what one replica of a transformer costs on an accelerator.",
        discussion: """
            Parameters, FLOPs per step and checkpoint bytes are computed from the shape; step time from the \
            roofline fitted to the H100 calibration (see `fleettwin calibrate --report`); memory from the fitted \
            memory model; checkpoint and restore times from the measured checkpoint path. Accelerators other \
            than h100-80gb are estimates from datasheet ratios and are marked as such.
            With --gpus N (and --nodes K), a training step of N data-parallel replicas spread as evenly as possible \
            over K nodes: the fp32 gradients are all-reduced in 25 MiB buckets (ring or tree, whichever is faster) \
            over NVLink inside one node, else over the nodes' network shared by their --node-size slots, overlapped \
            with half the backward pass, never the last bucket (see README, Communication). With --tensor T and \
            --pipeline P (and --micro-batches m), the step under tensor, pipeline and data parallelism.
            Examples:
              fleettwin predict --arch bert --layers 24 --hidden 1024 --seq 256 --batch 32 --mode train --accelerator a100-80gb
              fleettwin predict --arch llama --layers 32 --hidden 4096 --seq 2048 --batch 1 --mode train --gpus 16 --nodes 2
            """)

    @Option(help: "Architecture.") var arch: Architecture
    @Option(help: "Transformer layers.") var layers: Int
    @Option(help: "Hidden size.") var hidden: Int
    @Option(help: "Sequence length.") var seq: Int
    @Option(help: "Batch size per replica.") var batch: Int
    @Option(help: "train or infer.") var mode: Mode
    @Option(help: "Compute precision.") var precision: Precision = .bf16
    @Option(help: "Accelerator type: \(AcceleratorCatalog.all.map(\.name).joined(separator: ", ")).")
    var accelerator = "h100-80gb"
    @Option(help: "Data-parallel replicas (accelerators) of a training step.") var gpus = 1
    @Option(help: "Nodes the replicas are spread over (at most --gpus).") var nodes = 1
    @Option(help: "Accelerator slots per node, which share the node's network.") var nodeSize = 8
    @Option(help: "Tensor-parallel ways (with --gpus: a multiple of --tensor x --pipeline).") var tensor = 1
    @Option(help: "Pipeline stages.") var pipeline = 1
    @Option(help: "Micro-batches per step (the batch is split among them; with --pipeline).") var microBatches = 1
    @Flag(help: "Print one JSON object.") var json = false

    func validate() throws {
        guard gpus >= 1, gpus <= 1_000_000 else { throw ValidationError("--gpus must be between 1 and 1000000") }
        guard nodes >= 1, nodes <= gpus else { throw ValidationError("--nodes must be between 1 and --gpus (\(gpus))") }
        guard nodeSize >= 1, nodeSize <= 1024 else { throw ValidationError("--node-size must be between 1 and 1024") }
        guard (gpus + nodes - 1) / nodes <= nodeSize else {
            throw ValidationError("\(gpus) accelerators on \(nodes) node(s) put \((gpus + nodes - 1) / nodes) on a node of --node-size \(nodeSize)")
        }
        for (name, value) in [("--tensor", tensor), ("--pipeline", pipeline), ("--micro-batches", microBatches)] where value < 1 || value > 1024 {
            throw ValidationError("\(name) must be between 1 and 1024")
        }
        guard gpus % (tensor * pipeline) == 0 else {
            throw ValidationError("--gpus \(gpus) must be a multiple of --tensor x --pipeline (\(tensor * pipeline))")
        }
        guard microBatches <= batch else { throw ValidationError("--micro-batches must be at most --batch (\(batch))") }
        guard pipeline <= layers else { throw ValidationError("--pipeline must be at most --layers (\(layers))") }
        if gpus > 1 && mode == .infer { throw ValidationError("--gpus predicts data-parallel training; --mode infer communicates nothing") }
        for (name, value) in [("--layers", layers), ("--hidden", hidden), ("--seq", seq), ("--batch", batch)] where value < 1 {
            throw ValidationError("\(name) must be at least 1")
        }
        if AcceleratorCatalog.named(accelerator) == nil {
            throw ValidationError("unknown accelerator '\(accelerator)'; expected one of: \(AcceleratorCatalog.all.map(\.name).joined(separator: ", "))")
        }
    }

    func run() throws {
        let spec = AcceleratorCatalog.named(accelerator)!
        let shape = ModelShape(architecture: arch, layers: layers, hidden: hidden, sequence: seq, batch: batch,
                               mode: mode, precision: precision)
        let e = CostModel.calibrated.estimate(shape, on: spec)
        let multi = gpus > 1 ? MultiAcceleratorStep(gradientBytes: shape.gradientBytes, computeSeconds: e.stepSeconds, accelerators: gpus,
                                                    nodes: nodes, acceleratorsPerNode: nodeSize, interconnect: spec.interconnect) : nil
        let parallelism = Parallelism(tensor: tensor, pipeline: pipeline, microBatches: microBatches)
        let hybrid = parallelism.modelParallel > 1
            ? HybridParallelStep(shape: shape, computeSeconds: e.stepSeconds, parallelism: parallelism,
                                 replicasPerNode: MultiAcceleratorStep.evenly(gpus, over: nodes), acceleratorsPerNode: nodeSize,
                                 interconnect: spec.interconnect) : nil
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .prettyPrinted]
            let object = JSONWithKey(base: JSONWithKey(base: e, key: "dataParallel", extra: multi), key: "hybridParallel", extra: hybrid)
            print(String(decoding: try encoder.encode(object), as: UTF8.self))
            return
        }
        let rows: [(String, String)] = [
            ("accelerator", "\(spec.name), \(spec.provenance)"),
            ("parameters", grouped(e.params)),
            ("FLOPs per step", String(format: "%.3g", e.flopsPerStep)),
            ("step time", String(format: "%.2f ms (%@)", e.stepSeconds * 1000, e.launchBound ? "launch-bound" : "compute-bound")),
            ("memory per replica", bytes(e.memoryBytes) + (e.fitsInMemory ? "" : " - does not fit in \(bytes(spec.memoryBytes))")),
            ("checkpoint", bytes(e.checkpointBytes)),
            ("checkpoint time", String(format: "%.2f s", e.checkpointSeconds)),
            ("restore time", String(format: "%.2f s", e.restoreSeconds)),
        ]
        printTable(rows + (hybrid.map(Self.rows) ?? multi.map(Self.rows) ?? []))
    }

    /// The rows of a step under tensor and pipeline parallelism.
    static func rows(_ h: HybridParallelStep) -> [(String, String)] {
        let p = h.parallelism
        return [
            ("placement", "\(h.replicasPerNode.reduce(0, +)) accelerators on \(h.replicasPerNode.count) node(s): "
                + h.replicasPerNode.map(String.init).joined(separator: "+")),
            ("parallelism", "tensor \(p.tensor) (\(h.tensorInsideNodes ? "inside nodes" : "across nodes")), pipeline \(p.pipeline) "
                + "x \(p.microBatches) micro-batches, data \(h.dataParallel)"),
            ("pipeline", String(format: "%.2f ms, of which tensor all-reduce %.2f ms, stage transfers %.2f ms, bubble %.2f ms (%.0f%%)",
                                h.pipelineSeconds * 1000, h.tensorSeconds * 1000, h.transferSeconds * 1000, h.bubbleSeconds * 1000,
                                p.bubbleFraction * 100)),
            ("data-parallel exposed", String(format: "%.2f ms", h.dataParallelExposedSeconds * 1000)),
            ("step time", String(format: "%.2f ms (%.0f%% of perfect scaling)", h.stepSeconds * 1000, h.scalingEfficiency * 100)),
        ]
    }

    /// The data-parallel step's rows.
    static func rows(_ m: MultiAcceleratorStep) -> [(String, String)] {
        [
            ("placement", "\(m.accelerators) replicas on \(m.nodes) node(s): \(m.replicasPerNode.map(String.init).joined(separator: "+"))"),
            ("gradient all-reduce", String(format: "%@ per step, %@ at %.1f GB/s bus bandwidth, %.2f ms",
                                           bytes(Int64(m.gradientBytes)), m.algorithm.rawValue, m.busBandwidth / 1e9, m.allReduceSeconds * 1000)),
            ("exposed (not overlapped)", String(format: "%.2f ms", m.exposedSeconds * 1000)),
            ("data-parallel step time", String(format: "%.2f ms (%.0f%% of perfect scaling)", m.stepSeconds * 1000, m.scalingEfficiency * 100)),
        ]
    }
}

func grouped(_ n: Int) -> String {
    let digits = Array(String(n))
    var out = ""
    for (i, d) in digits.enumerated() {
        if i > 0 && (digits.count - i) % 3 == 0 { out.append(",") }
        out.append(d)
    }
    return out
}

func bytes(_ b: Int64) -> String {
    let gib = Double(b) / 1_073_741_824
    return gib >= 1 ? String(format: "%.2f GiB", gib) : String(format: "%.1f MiB", Double(b) / 1_048_576)
}

func printTable(_ rows: [(String, String)]) {
    let width = rows.map(\.0.count).max() ?? 0
    for (k, v) in rows { print(k.padding(toLength: width, withPad: " ", startingAt: 0) + "  " + v) }
}
