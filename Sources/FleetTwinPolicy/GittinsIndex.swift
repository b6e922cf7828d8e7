import Foundation
import FleetTwinEngine

/// `dlas-gpu-gittins`: Tiresias' discretised 2D-LAS queues with jobs ordered inside each
/// queue by their Gittins index over an empirical distribution of job service (GPU-time),
/// higher index first, ties to the earlier submission. Unlike `las`, a waiting job with a
/// higher index preempts a running job of its own queue (Tiresias `run_sim.py`,
/// `dlas_sim_jobs` with `schedule == 'dlas-gpu-gittins'`; research/policies.md §3).
///
/// The index is computed as Tiresias' `cal_r_gittins_index` does, including its deviation
/// from the textbook index (the expected cost sums the samples' absolute service, not the
/// service left): for attained service a, with samples d₀ ≤ … ≤ dₙ₋₁ and Δ the first
/// threshold, idx = first i with dᵢ > a, idxΔ = first i with dᵢ > a + Δ (n − 1 when a + Δ > dₙ₋₁ − 1),
/// P = round((idxΔ − idx)/(n − idx), 5), E = ⌊(Σ_{idx ≤ i < idxΔ} dᵢ + Δ (n − idxΔ))/(n − idx)⌋
/// (Python 2 integer division over whole seconds), index = round(P·10⁶/E, 4); it is precomputed at a = dₖ − 1 and looked up at the first
/// sample above the job's attained service (0 beyond the largest sample).
public struct GittinsIndex: PriorityRule {
    public let name = "dlas-gpu-gittins"
    public let queues: LeastAttainedService
    /// Service samples in accelerator-µs, ascending, and the index at each.
    public let samples: [Int64]
    public let indexAt: [Double]

    /// - Parameters:
    ///   - serviceSeconds: the empirical distribution of job service in accelerator-seconds
    ///     (any order; at least one sample).
    ///   - thresholdSeconds: queue boundaries; the first is also Δ, as in Tiresias.
    ///   - promoteKnob: Tiresias' starvation knob (`LeastAttainedService.promoteKnob`; 0, off,
    ///     is what `dlas-gpu-gittins` runs with). A promotion also restarts the service the
    ///     index is taken at, as Tiresias' rank reads the reset `executed_time`.
    public init(serviceSeconds: [Double], thresholdSeconds: [Double] = [3_250, 7_200], promoteKnob: Double = 0) {
        queues = LeastAttainedService(thresholdSeconds: thresholdSeconds, promoteKnob: promoteKnob)
        let d = serviceSeconds.sorted()
        let delta = thresholdSeconds.first ?? 3_250
        // In accelerator-µs, saturating: a run's own jobs may hold more (a century on
        // thousands of accelerators) than 64 bits of microseconds.
        samples = d.map { $0 * 1e6 < 9e18 ? Int64(($0 * 1e6).rounded()) : 9_000_000_000_000_000_000 }
        indexAt = d.map { Self.index(at: ($0 - 1).rounded(.down), samples: d, delta: delta) }
    }

    /// Tiresias' `cal_r_gittins_index(job_data, a)`.
    public static func index(at a: Double, samples d: [Double], delta: Double) -> Double {
        let n = d.count
        guard let idx = d.firstIndex(where: { $0 > a }) else { return 0 }
        let idxDelta = a + delta > d[n - 1] - 1 ? n - 1 : (d.firstIndex(where: { $0 > a + delta }) ?? n - 1)
        // As Tiresias computes it: P rounded to 5 decimals, E by Python 2 integer division
        // (its samples and Δ are whole seconds), the index rounded to 4 decimals.
        let p = (Double(idxDelta - idx) / Double(n - idx) * 1e5).rounded() / 1e5
        var sum = 0.0
        for i in idx..<max(idx, idxDelta) { sum += d[i] }
        let e = ((sum + delta * Double(n - idxDelta)) / Double(n - idx)).rounded(.down)
        guard e > 0 else { return 0 }
        return (p * 1e6 / e * 1e4).rounded() / 1e4
    }

    /// The index of a job that has attained `attained` accelerator-µs.
    public func index(attained: Int64) -> Double {
        guard let i = firstSample(above: attained) else { return 0 }
        return indexAt[i]
    }

    private func firstSample(above attained: Int64) -> Int? {
        var lo = 0, hi = samples.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if samples[mid] > attained { hi = mid } else { lo = mid + 1 }
        }
        return lo < samples.count ? lo : nil
    }

    /// (queue, then higher index first) in one number: the index in ten-thousandths is below 2³⁵.
    private func major(_ attained: Int64) -> Int64 {
        queues.queue(attained) << 36 + ((1 << 35) - Int64((index(attained: attained) * 1e4).rounded()))
    }

    public func waitingKey(_ job: TrackedJob) -> PriorityKey {
        PriorityKey(major(job.info.attainedService - job.serviceBase), job.info.submit.microseconds, job: job.info.index)
    }

    public func runningKey(_ job: TrackedJob, at now: VirtualTime) -> PriorityKey {
        PriorityKey(major(job.serviceSincePromotion(at: now)), job.info.submit.microseconds, job: job.info.index)
    }

    public func outranks(_ candidate: TrackedJob, _ victim: TrackedJob, at now: VirtualTime) -> Bool {
        waitingKey(candidate) < runningKey(victim, at: now)
    }

    /// Queue thresholds only, as Tiresias wakes for them: a running job's index is compared
    /// at its current attained service in every pass (`outranks`), but crossing a sample
    /// point alone wakes no pass.
    public func nextRankChange(_ job: TrackedJob, at now: VirtualTime) -> VirtualTime? {
        queues.nextRankChange(job, at: now)
    }

    /// As `las`: Tiresias applies the same starvation guard under `dlas-gpu-gittins`.
    public func promotion(_ job: TrackedJob) -> VirtualTime? { queues.promotion(job) }
}
