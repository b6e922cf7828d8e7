import Foundation

/// How one training job splits its model over accelerators, Megatron-style: `tensor`-way
/// tensor parallelism inside each layer, `pipeline` stages of consecutive layers fed with
/// `microBatches` micro-batches per step, and data parallelism over what is left.
public struct Parallelism: Sendable, Equatable, Codable {
    public var tensor: Int
    public var pipeline: Int
    /// Micro-batches per step (the shape's batch is split among them).
    public var microBatches: Int

    public init(tensor: Int = 1, pipeline: Int = 1, microBatches: Int = 1) {
        self.tensor = tensor
        self.pipeline = pipeline
        self.microBatches = microBatches
    }

    /// Accelerators one model replica occupies: tensor x pipeline.
    public var modelParallel: Int { tensor * pipeline }

    /// The share of a step the pipeline stands idle: (P - 1) / (m + P - 1).
    public var bubbleFraction: Double { Double(pipeline - 1) / Double(microBatches + pipeline - 1) }
}

/// A training step under tensor, pipeline and data parallelism, as `fleettwin predict
/// --tensor T --pipeline P --micro-batches m` reports it.
///
/// Ranks are laid out tensor-fastest (Megatron's order): a tensor group is T consecutive
/// ranks, so it sits inside a node exactly when every node holds a multiple of T of the
/// job's accelerators (and T is at most a node's size); otherwise its traffic crosses the
/// node network, priced there. Per micro-batch (batch / m sequences) each stage computes
/// compute / (T x P x m) and, with T > 1, all-reduces its activations (micro-batch x
/// sequence x hidden x 2 bytes, bf16) four times per layer (two forward, two backward, as
/// Megatron's column- and row-parallel pairs do), on the critical path; with P > 1 it sends
/// the activations forward and their gradients back to its neighbour stage (point to point at
/// the binding link's bus bandwidth). The pipeline runs (m + P - 1) micro-batch slots, of
/// which P - 1 are the bubble. Then the data-parallel groups all-reduce the gradients of the
/// stage's share of the parameters (gradient bytes / (T x P)) as `CommunicationModel` does,
/// overlapped with the pipeline's backward. Compute splits evenly: the launch-bound floor
/// and smaller matrix products' lower efficiency are not modelled.
public struct HybridParallelStep: Sendable, Equatable, Codable {
    public var parallelism: Parallelism
    public var dataParallel: Int
    public var replicasPerNode: [Int]
    /// Whether every tensor group sits inside one node.
    public var tensorInsideNodes: Bool
    /// Seconds per step: the pipeline (compute, tensor all-reduces, stage transfers and the
    /// bubble), the tensor all-reduces and stage transfers within it, the exposed
    /// data-parallel all-reduce, and the whole step.
    public var pipelineSeconds: Double
    public var tensorSeconds: Double
    public var transferSeconds: Double
    public var bubbleSeconds: Double
    public var dataParallelExposedSeconds: Double
    public var stepSeconds: Double
    /// The ideal step (one replica's compute / (T x P)) over the step: the fraction of
    /// perfect scaling.
    public var scalingEfficiency: Double

    /// `computeSeconds` is one whole replica's step on one accelerator (as the cost model
    /// predicts it, even where it would not fit in memory).
    public init(shape: ModelShape, computeSeconds: Double, parallelism p: Parallelism, replicasPerNode: [Int],
                acceleratorsPerNode: Int, interconnect: Interconnect, model: CommunicationModel = .standard) {
        let world = replicasPerNode.reduce(0, +)
        precondition(p.tensor >= 1 && p.pipeline >= 1 && p.microBatches >= 1 && world % p.modelParallel == 0,
                     "the world size must be a multiple of tensor x pipeline")
        let data = world / p.modelParallel
        let m = Double(p.microBatches), stages = Double(p.pipeline)
        let network = CommunicationModel.bindingLink(replicasPerNode: replicasPerNode, acceleratorsPerNode: acceleratorsPerNode,
                                                     interconnect: interconnect)
        let inside = p.tensor <= acceleratorsPerNode && replicasPerNode.allSatisfy { $0 % p.tensor == 0 }
        let tensorLink = inside ? interconnect.nvlink
            : LinkSpec(busBandwidth: min(network.busBandwidth, interconnect.nodeNIC.busBandwidth / Double(max(acceleratorsPerNode, 1))),
                       hopLatency: interconnect.nodeNIC.hopLatency)
        // Activations of one micro-batch at a stage boundary or a tensor all-reduce, bf16.
        let activationBytes = Double(shape.batch) / m * Double(shape.sequence) * Double(shape.hidden) * 2
        let layersPerStage = Double(shape.layers) / stages
        let tensorPerMicroBatch = 4 * layersPerStage
            * CommunicationModel.allReduce(bytes: activationBytes, ranks: p.tensor, link: tensorLink).seconds
        let transferPerMicroBatch = p.pipeline > 1 ? 2 * (network.hopLatency + activationBytes / network.busBandwidth) : 0
        let computePerMicroBatch = computeSeconds / Double(p.modelParallel) / m
        let slot = computePerMicroBatch + tensorPerMicroBatch + transferPerMicroBatch
        let slots = m + stages - 1
        self.parallelism = p
        self.dataParallel = data
        self.replicasPerNode = replicasPerNode
        self.tensorInsideNodes = inside
        self.pipelineSeconds = slots * slot
        self.tensorSeconds = slots * tensorPerMicroBatch
        self.transferSeconds = slots * transferPerMicroBatch
        self.bubbleSeconds = (stages - 1) * slot
        self.dataParallelExposedSeconds = model.exposedSeconds(
            gradientBytes: shape.gradientBytes / Double(p.modelParallel), computeSeconds: pipelineSeconds, ranks: data, link: network)
        self.stepSeconds = pipelineSeconds + dataParallelExposedSeconds
        self.scalingEfficiency = computeSeconds / Double(p.modelParallel) / stepSeconds
    }
}
