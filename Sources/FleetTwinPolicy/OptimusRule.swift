/// Optimus (Peng et al., EuroSys'18) as Pollux's simulator implements it
/// (`simulator/optimus.py::OptimusPolicy`, research/policies.md §11a; the original's online
/// convergence fitting and parameter-server sizing were not found): every job, in
/// submission order, gets its fewest devices while they last; then devices go one at a time
/// to the job whose completion time falls most, gain = remaining x (1 / throughput(n) −
/// 1 / throughput(n + 1)), recomputed after each grant, while the best gain is positive and
/// no job exceeds its most devices. Remaining work is an oracle's, as in that simulator.
/// Ties go to the earlier job.
public struct OptimusRule: ElasticShareRule {
    public let name = "optimus"
    public init() {}

    public func allocate(_ jobs: [ElasticCandidate], capacity: Int) -> [Int] {
        var shares = Array(repeating: 0, count: jobs.count)
        var left = capacity
        for (k, job) in jobs.enumerated() where job.minDevices <= left {
            shares[k] = job.minDevices
            left -= job.minDevices
        }
        func gain(_ k: Int) -> Double {
            guard shares[k] > 0, shares[k] < jobs[k].maxDevices else { return 0 }
            return jobs[k].timeToFinish(on: shares[k]) - jobs[k].timeToFinish(on: shares[k] + 1)
        }
        var gains = jobs.indices.map(gain)
        while left > 0 {
            var best = -1
            for k in jobs.indices where gains[k] > 0 && (best < 0 || gains[k] > gains[best]) { best = k }
            guard best >= 0 else { break }
            shares[best] += 1
            left -= 1
            gains[best] = gain(best)
        }
        return shares
    }
}
