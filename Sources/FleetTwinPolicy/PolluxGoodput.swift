import Foundation

/// A job's statistical-efficiency inputs, as Pollux's goodput model takes them
/// (petuum/adaptdl osdi21-artifact `simulator/goodput.py`, research/policies.md §10): its
/// initial (reference) batch size B₀, the most it may grow to, the local (per-replica, atomic)
/// batch range, and its gradient statistics (`GradParams`: `sqr`, the squared gradient norm,
/// and `var`, the gradient variance; only their ratio matters, so a gradient noise scale
/// B_noise = var/sqr x B₀ may be given instead). All batch sizes are in samples.
///
/// FleetTwin keeps them fixed for the whole run; Pollux's simulator reads `var` and `sqr`
/// per epoch from its profiles (`validation-<B>.csv`), so a growing noise scale late in
/// training is not modelled.
public struct StatisticalEfficiency: Sendable, Equatable {
    /// B₀: the batch size the job's hyper-parameters were tuned for (samples), > 0.
    public var initialBatch: Double
    /// The largest total batch size Pollux may choose (samples), at least `initialBatch`.
    public var maxBatch: Double
    /// The smallest and largest local (atomic) batch one replica runs per micro-step; the
    /// largest is its memory limit, beyond which gradients accumulate.
    public var minLocalBatch: Double
    public var maxLocalBatch: Double
    /// Gradient variance and squared norm (`var`, `sqr`), both >= 0, not both 0.
    public var gradientVariance: Double
    public var gradientSquare: Double

    public init(initialBatch: Double, maxBatch: Double, minLocalBatch: Double = 1, maxLocalBatch: Double? = nil,
                gradientVariance: Double, gradientSquare: Double) {
        self.initialBatch = initialBatch
        self.maxBatch = maxBatch
        self.minLocalBatch = minLocalBatch
        self.maxLocalBatch = maxLocalBatch ?? maxBatch
        self.gradientVariance = gradientVariance
        self.gradientSquare = gradientSquare
    }

    /// The same from a gradient noise scale B_noise (samples): var/sqr = B_noise / B₀
    /// (`goodput.py`: "PGNS is grad_var / grad_sqr * init_batch_size").
    public init(initialBatch: Double, maxBatch: Double, minLocalBatch: Double = 1, maxLocalBatch: Double? = nil, noiseScale: Double) {
        self.init(initialBatch: initialBatch, maxBatch: maxBatch, minLocalBatch: minLocalBatch, maxLocalBatch: maxLocalBatch,
                  gradientVariance: noiseScale / initialBatch, gradientSquare: 1)
    }

    /// Why these inputs cannot be used, or nil: what a trace or scenario reader reports.
    public var problem: String? {
        let all = [initialBatch, maxBatch, minLocalBatch, maxLocalBatch, gradientVariance, gradientSquare]
        if !all.allSatisfy({ $0.isFinite && $0 >= 0 && $0 <= 1e12 }) { return "every value must be a finite number from 0 to 1e12" }
        if !(initialBatch > 0) { return "the initial batch must be > 0" }
        if maxBatch < initialBatch { return "the max batch (\(maxBatch)) must be at least the initial batch (\(initialBatch))" }
        if !(minLocalBatch >= 1) || maxLocalBatch < minLocalBatch { return "the local batch range must satisfy 1 <= min (\(minLocalBatch)) <= max (\(maxLocalBatch))" }
        if gradientVariance + gradientSquare <= 0 { return "the gradient variance and square must not both be 0" }
        return nil
    }

    /// Statistical efficiency of total batch B (`GoodputFunction.efficiency`): gain / scale,
    /// scale = B / B₀, gain = (var + sqr) / (var / scale + sqr); 1 at B₀, falling as B grows
    /// past the noise scale.
    public func efficiency(batch: Double) -> Double {
        let scale = batch / initialBatch
        let denominator = gradientVariance / scale + gradientSquare
        let gain = denominator > 0 ? (gradientVariance + gradientSquare) / denominator : 1
        return gain / scale
    }

    /// One configuration `goodput` chose: goodput, local (atomic) batch, accumulation steps.
    public struct Choice: Sendable, Equatable {
        public var goodput: Double
        public var localBatch: Int
        public var accumulation: Int
        /// The total batch: replicas x local batch x (accumulation + 1).
        public var batch: Double
    }

    /// Goodput on `replicas` replicas, the best over Pollux's candidate batch sizes
    /// (`GoodputFunction.optimize` with accumulation on): 50 geometric points in
    /// [max(B₀, min local x replicas), max batch]; a local batch above the max local batch is
    /// split into accumulation steps (ceil(local / max local) - 1, at least 1 on one replica
    /// above B₀); a configuration whose atomic batch leaves the local range counts 0; the first
    /// best wins (numpy's argmax). Goodput = throughput x `efficiency`.
    ///
    /// Throughput comes from the job's throughput curve (`rate(r)`, r replicas; FleetTwin's
    /// jobs carry no fitted α/β/γ): the curve is read as weak scaling at local batch B₀, so a
    /// step on r replicas takes T(r) = r / rate(r) (per B₀ samples), of which one replica's
    /// T(1) is compute and T(r) - T(1) network time (`goodput.py`'s perf model with α_c = 0,
    /// γ = 1, and the network term taken from the curve). Compute scales with the atomic batch
    /// b: T_c(b) = T(1) b / B₀; a step of s accumulations takes (s + 1) T_c(b) + T_n(r).
    /// Returns goodput 0 when no batch size is feasible on `replicas`.
    public func goodput(replicas: Int, rate: (Int) -> Double) -> Choice {
        let none = Choice(goodput: 0, localBatch: 0, accumulation: 0, batch: 0)
        guard replicas >= 1, rate(1) > 0, rate(replicas) > 0 else { return none }
        let r = Double(replicas)
        let stepOne = 1 / rate(1)
        let network = max(0, r / rate(replicas) - stepOne)
        let low = max(initialBatch, minLocalBatch * r)
        guard low <= maxBatch else { return none }
        let eps = 1e-8
        var best = none
        for k in 0..<Self.batchPoints {
            let batch = Self.geometric(k, from: low, to: maxBatch)
            let local = batch / r
            var accumulation = Int((local / maxLocalBatch - eps).rounded(.up)) - 1
            if replicas == 1 && local > initialBatch + eps { accumulation = max(accumulation, 1) }
            accumulation = max(accumulation, 0)
            let atomic = (local / Double(accumulation + 1) - eps).rounded(.up)
            guard atomic >= minLocalBatch && atomic <= maxLocalBatch else { continue }
            let steps = Double(accumulation + 1)
            let total = r * atomic * steps
            let time = steps * stepOne * atomic / initialBatch + network
            let value = total / time * efficiency(batch: total)
            if value > best.goodput { best = Choice(goodput: value, localBatch: Int(atomic), accumulation: accumulation, batch: total) }
        }
        return best
    }

    /// How many batch sizes `goodput` tries (`np.geomspace`'s default).
    public static let batchPoints = 50

    /// `np.geomspace(low, high)[k]` of `batchPoints`: exact at both ends.
    static func geometric(_ k: Int, from low: Double, to high: Double) -> Double {
        if k == 0 { return low }
        if k == batchPoints - 1 { return high }
        return exp(log(low) + Double(k) * (log(high) - log(low)) / Double(batchPoints - 1))
    }
}
