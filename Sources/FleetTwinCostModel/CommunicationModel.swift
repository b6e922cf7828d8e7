import Foundation

/// One class of link a data-parallel all-reduce can cross.
public struct LinkSpec: Sendable, Equatable, Codable {
    /// All-reduce bus bandwidth over this link in bytes per second: NCCL's `busbw`, the
    /// algorithm bandwidth x 2(n-1)/n, which is what one rank's wire carries.
    public var busBandwidth: Double
    /// Seconds per step of the algorithm (one hop: a send, a receive and a reduction).
    public var hopLatency: Double

    public init(busBandwidth: Double, hopLatency: Double) {
        self.busBandwidth = busBandwidth
        self.hopLatency = hopLatency
    }
}

/// How one node's accelerators talk: among themselves (NVLink / NVSwitch) and to other
/// nodes of the cluster (the node's network adapters, shared by its accelerator slots).
public struct Interconnect: Sendable, Equatable, Codable {
    /// Inside a node: the intra-node all-reduce bus bandwidth of the accelerator's NVLink class.
    public var nvlink: LinkSpec
    /// Between nodes: `busBandwidth` is the whole node's network bandwidth (all its NICs
    /// together); a job with c of the node's A accelerators uses c/A of it (rail-optimised
    /// nodes have one NIC per accelerator).
    public var nodeNIC: LinkSpec

    public init(nvlink: LinkSpec, nodeNIC: LinkSpec) {
        self.nvlink = nvlink
        self.nodeNIC = nodeNIC
    }

    /// Per-hop latencies: about 1 µs over NVLink and 5 µs over InfiniBand, the order of
    /// NCCL's small-message all-reduce times (an 8-byte all-reduce over 8 NVLink GPUs takes
    /// roughly 10-20 µs in nccl-tests output, 2 x 7 ring steps); not fitted.
    static let nvlinkHop = 1e-6, networkHop = 5e-6

    /// DGX/HGX H100: NVLink 4 (900 GB/s per GPU, 450 per direction); 8-GPU all-reduce bus
    /// bandwidth 480 GB/s with NVLink SHARP (NVIDIA GTC 2024 talk S62129, quoted in
    /// NVIDIA/nccl issue #1374; nccl-tests reference tables give 460-480 GB/s). Network:
    /// 8 ConnectX-7 at 400 Gb/s = 400 GB/s per node (DGX H100 datasheet).
    public static let hgxH100 = Interconnect(nvlink: LinkSpec(busBandwidth: 480e9, hopLatency: nvlinkHop),
                                             nodeNIC: LinkSpec(busBandwidth: 400e9, hopLatency: networkHop))
    /// DGX/HGX A100: NVLink 3 (600 GB/s per GPU, 300 per direction); 8-GPU all-reduce bus
    /// bandwidth 230 GB/s (nccl-tests reference tables: 230-250 GB/s on 8 x A100 SXM4;
    /// NVIDIA/nccl-tests issue #178 reports 208 GB/s over one NVLink pair). Network: 8
    /// ConnectX-6 at 200 Gb/s = 200 GB/s per node (DGX A100 datasheet).
    public static let hgxA100 = Interconnect(nvlink: LinkSpec(busBandwidth: 230e9, hopLatency: nvlinkHop),
                                             nodeNIC: LinkSpec(busBandwidth: 200e9, hopLatency: networkHop))
    /// DGX-1 with V100 SXM2: NVLink 2 (300 GB/s per GPU, 150 per direction, hybrid cube
    /// mesh, V100 datasheet). Bus bandwidth estimated at 115 GB/s: the A100's measured
    /// 230 of its 300 GB/s per direction, applied to 150 (no measurement at hand). Network:
    /// 4 x 100 Gb/s EDR InfiniBand = 50 GB/s per node (DGX-1 datasheet).
    public static let dgx1V100 = Interconnect(nvlink: LinkSpec(busBandwidth: 115e9, hopLatency: nvlinkHop),
                                              nodeNIC: LinkSpec(busBandwidth: 50e9, hopLatency: networkHop))
}

/// Data-parallel gradient synchronisation per training step.
///
/// Gradients are all-reduced in buckets of `bucketBytes`, as PyTorch DDP does (its default
/// `bucket_cap_mb` is 25 MiB); each bucket is one NCCL all-reduce over the slowest link the
/// placement crosses:
///
///     ring  = 2(n-1) x hop latency + 2(n-1)/n x bytes / bus bandwidth
///     tree  = 2 ceil(log2 n) x hop latency + 2 x bytes / bus bandwidth
///     bucket time = min(ring, tree)   (the tree wins for small buckets on many ranks)
///
/// Inside one node the link is NVLink. Across k nodes every bucket crosses each node's
/// network adapters: a job with c_i accelerators on node i of A slots gets c_i/A of the
/// node's bandwidth, and the slowest node (fewest replicas) sets the bus bandwidth, never
/// faster than NVLink. A placement is nodes of one cluster (gangs never span clusters, see
/// `PlacementRule`), so cluster and region links are never crossed and never priced.
///
/// Overlap with the backward pass (two thirds of a training step's FLOPs): buckets become
/// ready while backward runs, so up to `overlap` x backward time of communication hides
/// behind it; the last bucket's all-reduce always follows backward. Exposed time per step =
/// max(last bucket, total - overlap x backward). Inference steps communicate nothing.
/// The default overlap is 0.5, midway between none and perfect pipelining, not fitted:
/// NCCL kernels share the SMs and memory bandwidth with backward, and buckets only become
/// ready as backward reaches them. Against Gavel's V100 measurements (GavelCheckTests,
/// README) 0 and 0.5 fit about equally and 1 is too optimistic for spread placements.
public struct CommunicationModel: Sendable, Equatable, Codable {
    /// DDP's gradient bucket, bytes.
    public var bucketBytes: Double
    /// The fraction of the backward pass during which all-reduce can run, 0...1.
    public var overlap: Double

    public init(bucketBytes: Double = 25 * 1_048_576, overlap: Double = 0.5) {
        self.bucketBytes = bucketBytes
        self.overlap = overlap
    }

    /// PyTorch DDP's 25 MiB buckets, overlapped with half the backward pass.
    public static let standard = CommunicationModel()

    public enum Algorithm: String, Sendable, Codable { case ring, tree }

    /// Seconds of one all-reduce of `bytes` over `ranks` ranks on `link`, by the faster
    /// algorithm; zero for one rank or no bytes.
    public static func allReduce(bytes: Double, ranks: Int, link: LinkSpec) -> (seconds: Double, algorithm: Algorithm) {
        guard ranks > 1, bytes > 0 else { return (0, .ring) }
        let n = Double(ranks)
        let ring = 2 * (n - 1) * link.hopLatency + 2 * (n - 1) / n * bytes / link.busBandwidth
        let depth = Double(Int.bitWidth - (ranks - 1).leadingZeroBitCount)  // ceil(log2 n)
        let tree = 2 * depth * link.hopLatency + 2 * bytes / link.busBandwidth
        return tree < ring ? (tree, .tree) : (ring, .ring)
    }

    /// The link a placement's all-reduce is bound by: NVLink inside one node, else the
    /// node network at the share of the node with the fewest replicas (never faster than
    /// NVLink). `replicasPerNode` lists the job's accelerators on each node it uses.
    public static func bindingLink(replicasPerNode: [Int], acceleratorsPerNode: Int, interconnect: Interconnect) -> LinkSpec {
        let used = replicasPerNode.filter { $0 > 0 }
        guard used.count > 1, let fewest = used.min() else { return interconnect.nvlink }
        let share = interconnect.nodeNIC.busBandwidth * Double(fewest) / Double(max(acceleratorsPerNode, fewest))
        return LinkSpec(busBandwidth: min(share, interconnect.nvlink.busBandwidth),
                        hopLatency: max(interconnect.nodeNIC.hopLatency, interconnect.nvlink.hopLatency))
    }

    /// Seconds of all-reduce per step for `gradientBytes`, bucket by bucket, and the last
    /// bucket's share of them.
    public func allReduceSeconds(gradientBytes: Double, ranks: Int, link: LinkSpec) -> (total: Double, lastBucket: Double) {
        guard ranks > 1, gradientBytes > 0 else { return (0, 0) }
        let full = (gradientBytes / bucketBytes).rounded(.down)
        let rest = gradientBytes - full * bucketBytes
        let perFull = Self.allReduce(bytes: bucketBytes, ranks: ranks, link: link).seconds
        let last = rest > 0 ? Self.allReduce(bytes: rest, ranks: ranks, link: link).seconds : perFull
        return (full * perFull + (rest > 0 ? last : 0), last)
    }

    /// Communication seconds a training step adds to `computeSeconds` (one replica's step,
    /// of which two thirds are backward), once overlap is taken off.
    public func exposedSeconds(gradientBytes: Double, computeSeconds: Double, ranks: Int, link: LinkSpec) -> Double {
        let (total, last) = allReduceSeconds(gradientBytes: gradientBytes, ranks: ranks, link: link)
        guard total > 0 else { return 0 }
        return max(last, total - overlap * computeSeconds * 2 / 3)
    }

    /// A training step of `computeSeconds` on a placement: compute plus exposed all-reduce.
    public func stepSeconds(gradientBytes: Double, computeSeconds: Double, replicasPerNode: [Int],
                            acceleratorsPerNode: Int, interconnect: Interconnect) -> Double {
        let ranks = replicasPerNode.reduce(0, +)
        let link = Self.bindingLink(replicasPerNode: replicasPerNode, acceleratorsPerNode: acceleratorsPerNode, interconnect: interconnect)
        return computeSeconds + exposedSeconds(gradientBytes: gradientBytes, computeSeconds: computeSeconds, ranks: ranks, link: link)
    }
}

extension ModelShape {
    /// Bytes all-reduced per training step: one fp32 gradient per parameter (training keeps
    /// fp32 weights under bf16 autocast, and DDP reduces gradients in the parameters'
    /// dtype); nothing for inference.
    public var gradientBytes: Double { mode == .train ? 4 * Double(parameters) : 0 }
}

/// A data-parallel training step of one shape on several accelerators, as `fleettwin
/// predict --gpus N --nodes K` reports it.
public struct MultiAcceleratorStep: Sendable, Equatable, Codable {
    /// Accelerators (replicas) and the nodes they are spread over, as evenly as possible.
    public var accelerators: Int
    public var nodes: Int
    public var replicasPerNode: [Int]
    /// Gradient bytes all-reduced per step.
    public var gradientBytes: Double
    /// The binding link's bus bandwidth, bytes per second, and the algorithm of a full bucket.
    public var busBandwidth: Double
    public var algorithm: CommunicationModel.Algorithm
    /// Seconds per step: one replica's compute, all-reduce in all, exposed all-reduce, and
    /// the step (compute + exposed).
    public var computeSeconds: Double
    public var allReduceSeconds: Double
    public var exposedSeconds: Double
    public var stepSeconds: Double
    /// compute / step: the fraction of perfect scaling reached.
    public var scalingEfficiency: Double

    /// `accelerators` spread over `nodes` nodes as evenly as possible (the first nodes take
    /// one more when they do not divide).
    public static func evenly(_ accelerators: Int, over nodes: Int) -> [Int] {
        precondition(accelerators >= 1 && nodes >= 1 && nodes <= accelerators, "need 1 <= nodes <= accelerators")
        return (0..<nodes).map { accelerators / nodes + ($0 < accelerators % nodes ? 1 : 0) }
    }

    /// `accelerators` replicas over `nodes` nodes of `acceleratorsPerNode` slots, each
    /// replica's step taking `computeSeconds`.
    public init(gradientBytes: Double, computeSeconds: Double, accelerators: Int, nodes: Int, acceleratorsPerNode: Int,
                interconnect: Interconnect, model: CommunicationModel = .standard) {
        let per = Self.evenly(accelerators, over: nodes)
        let link = CommunicationModel.bindingLink(replicasPerNode: per, acceleratorsPerNode: acceleratorsPerNode, interconnect: interconnect)
        self.accelerators = accelerators
        self.nodes = nodes
        self.replicasPerNode = per
        self.gradientBytes = gradientBytes
        self.busBandwidth = link.busBandwidth
        self.algorithm = CommunicationModel.allReduce(bytes: min(gradientBytes, model.bucketBytes), ranks: accelerators, link: link).algorithm
        self.computeSeconds = computeSeconds
        self.allReduceSeconds = model.allReduceSeconds(gradientBytes: gradientBytes, ranks: accelerators, link: link).total
        self.exposedSeconds = model.exposedSeconds(gradientBytes: gradientBytes, computeSeconds: computeSeconds, ranks: accelerators, link: link)
        self.stepSeconds = computeSeconds + exposedSeconds
        self.scalingEfficiency = computeSeconds / stepSeconds
    }
}
