/// AFS (Apathetic Future Share, Hwang et al., NSDI'21) in its AFS-L form, as the only
/// citable implementation writes it: heyfey/vodascheduler `pkg/algorithm/afsl.go::AFSL.Schedule`
/// (third-party; no author code was found, research/policies.md §13), labelled "AFS-L (Voda
/// port)". Devices are handed out one at a time, in submission order of the candidates, to
/// the winner of a pairwise scan:
/// - two jobs without devices: the one with less estimated remaining time;
/// - otherwise l is the job that would finish sooner on its current devices (remaining /
///   throughput; infinite on none) and h the other; h gets the device if its relative gain
///   (sp_h(n+1) − sp_h(n)) / sp_h(n+1) exceeds l's, (sp_l(n+1) − sp_l(n)) / sp_l(n), else l.
/// A job leaves the scan at its most devices; a job without devices takes its fewest at
/// once, or leaves the scan when they are not left. Voda computes the second job's length
/// with the first job's device count (a bug); here each job uses its own.
public struct AFSRule: ElasticShareRule {
    public let name = "afs"
    public init() {}

    public func allocate(_ jobs: [ElasticCandidate], capacity: Int) -> [Int] {
        var shares = Array(repeating: 0, count: jobs.count)
        var left = capacity
        var open = Array(jobs.indices)
        while left > 0 {
            open.removeAll { shares[$0] >= jobs[$0].maxDevices || (shares[$0] == 0 && jobs[$0].minDevices > left) }
            guard var winner = open.first else { break }
            for k in open.dropFirst() where prefers(k, over: winner, jobs, shares) { winner = k }
            let add = shares[winner] == 0 ? jobs[winner].minDevices : 1
            shares[winner] += add
            left -= add
        }
        return shares
    }

    /// Whether the scan moves from the current winner `a` to `b`.
    private func prefers(_ b: Int, over a: Int, _ jobs: [ElasticCandidate], _ shares: [Int]) -> Bool {
        let ja = jobs[a], jb = jobs[b], na = shares[a], nb = shares[b]
        if na == 0 && nb == 0 { return jb.remaining < ja.remaining }
        // l finishes sooner on what it has; ties keep the earlier job as l.
        let bIsShorter = jb.timeToFinish(on: nb) < ja.timeToFinish(on: na)
        let (l, nl, h, nh) = bIsShorter ? (jb, nb, ja, na) : (ja, na, jb, nb)
        let gainH = (h.rate(on: nh + 1) - h.rate(on: nh)) / h.rate(on: nh + 1)
        let gainL = nl == 0 ? Double.infinity : (l.rate(on: nl + 1) - l.rate(on: nl)) / l.rate(on: nl)
        let hWins = gainH > gainL
        // The device goes to h or l; b is preferred when it is that one.
        return hWins != bIsShorter
    }
}
