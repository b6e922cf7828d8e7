import FleetTwinEngine
import FleetTwinScheduling

extension RunMetrics {
    /// Folds the event log of `result` into metrics. `interval` is the utilization bucket
    /// width (widened to keep at most a million buckets); nil chooses the span / 100
    /// rounded up to a whole second.
    public static func fold(_ result: SimulationResult, interval: VirtualTime? = nil) -> RunMetrics {
        var fold = LogFold(result, interval: interval)
        for record in result.log.records { fold.consume(record) }
        return fold.finish()
    }
}

/// The state of the fold, record by record.
private struct LogFold {
    let result: SimulationResult
    let clusters: [ClusterInfo]
    let firstArrival: VirtualTime
    let spanEnd: VirtualTime
    let span: Int64
    let width: Int64
    let buckets: Int

    var jobs: [JobOutcome]
    /// Per job: accelerators held now (over all its placements), their busy watts, since when.
    var held: [Int64]
    var heldWatts: [Double]
    var heldSince: [VirtualTime]
    /// Per job: devices and cluster of its current run; the kind of its last stop.
    var devices: [Int32]
    var cluster: [Int32]
    var lastStop: [EventKind?]
    /// Per job: submitted, and holding (or moving between) placements now.
    var submitted: [Bool]
    var running: [Bool]
    /// Per job: declined by the policy (admission control), finished by that decision.
    var declined: [Bool]

    var allocated: Int64 = 0
    var watts: Double
    var last: VirtualTime
    var busy: [Double]
    var joules: [Double]
    var usefulAcceleratorMicroseconds = 0.0
    var lostWorkMicroseconds: Int64 = 0
    var overhead = MechanismOverhead()
    var counts: [EventKind: Int] = [:]  // looked up only
    /// Nodes out of service now, keyed by (cluster, node), since when; node-µs of finished
    /// downtimes.
    var nodeDownSince: [Int64: VirtualTime] = [:]  // looked up only; summed, order-free
    var nodeDowntime: Int64 = 0

    init(_ result: SimulationResult, interval: VirtualTime?) {
        self.result = result
        clusters = result.clusters
        let records = result.log.records
        firstArrival = records.first { $0.kind == .submitted }?.time ?? .zero
        let lastCompletion = records.last { $0.kind == .completed }?.time
        spanEnd = lastCompletion ?? result.endTime
        span = max(0, (spanEnd - firstArrival).microseconds)
        // A given interval is widened to keep at most a million buckets (a 1ms interval over
        // a month would otherwise take gigabytes).
        let fewest = span / 1_000_000 + 1
        width = interval.map { max($0.microseconds, fewest) }
            ?? max(1_000_000, ((span + 99) / 100 + 999_999) / 1_000_000 * 1_000_000)
        buckets = span == 0 ? 0 : Int((span + width - 1) / width)
        let n = result.jobs.count
        jobs = result.jobs.enumerated().map { i, spec in
            JobOutcome(index: Int32(i), submit: spec.submit, firstStart: nil, end: nil, acceleratorMicroseconds: 0,
                       starts: 0, energyKWh: 0, achievedFraction: nil)
        }
        held = Array(repeating: 0, count: n)
        heldWatts = Array(repeating: 0, count: n)
        heldSince = Array(repeating: .zero, count: n)
        devices = Array(repeating: 0, count: n)
        cluster = Array(repeating: -1, count: n)
        lastStop = Array(repeating: nil, count: n)
        submitted = Array(repeating: false, count: n)
        running = Array(repeating: false, count: n)
        declined = Array(repeating: false, count: n)
        watts = clusters.reduce(0.0) { $0 + Double($1.capacity) * $1.idleWatts }
        last = firstArrival
        busy = Array(repeating: 0, count: buckets)
        joules = Array(repeating: 0, count: buckets)
    }

    /// The job's speed on a cluster's accelerators: its own priced speed for model-shaped
    /// jobs, the cluster's relative speed otherwise.
    func speed(_ job: Int, _ c: Int32) -> Double {
        guard c >= 0, Int(c) < clusters.count else { return 1 }
        if let speeds = result.jobs[job].speeds {
            return speeds.first { $0.type == clusters[Int(c)].acceleratorType }?.speed ?? 1
        }
        return clusters[Int(c)].relativeSpeed
    }

    /// Adds the fleet's allocation and power since the last record to the buckets.
    mutating func integrate(to t: VirtualTime) {
        guard buckets > 0 else { last = t; return }
        var from = max(last.microseconds, firstArrival.microseconds)
        let to = min(t.microseconds, spanEnd.microseconds)
        while from < to {
            let b = min(Int((from - firstArrival.microseconds) / width), buckets - 1)
            let until = min(to, firstArrival.microseconds + Int64(b + 1) * width)
            busy[b] += Double(allocated) * Double(until - from)
            joules[b] += watts * Double(until - from) / 1e6
            from = until
        }
        last = t
    }

    /// Changes what `job` holds by `delta` accelerators of cluster `c` at `t`.
    mutating func hold(_ job: Int, _ delta: Int64, on c: Int32, at t: VirtualTime) {
        settle(job, at: t)
        held[job] += delta
        allocated += delta
        if c >= 0, Int(c) < clusters.count {
            let info = clusters[Int(c)]
            heldWatts[job] += Double(delta) * info.busyWatts
            watts += Double(delta) * (info.busyWatts - info.idleWatts)
        }
    }

    /// Charges `job` for what it held since its last change.
    mutating func settle(_ job: Int, at t: VirtualTime) {
        let elapsed = max(0, (t - heldSince[job]).microseconds)
        jobs[job].acceleratorMicroseconds = jobs[job].acceleratorMicroseconds.saturatingAdding(held[job].saturatingMultiplied(by: elapsed))
        jobs[job].energyKWh += heldWatts[job] * Double(elapsed) / 1e6 / 3.6e6
        heldSince[job] = t
    }

    /// Work banked by `job`'s current run: useful device-time and splicing cost.
    mutating func bank(_ job: Int, _ work: Int64) {
        guard work > 0 else { return }
        let s = speed(job, cluster[job])
        let world = result.jobs[job].worldSize
        usefulAcceleratorMicroseconds += Double(work) / s * Double(world)
        let p = Int(devices[job])
        // Batch inference and elastic jobs on fewer devices run fewer replicas: nothing is
        // time-sliced.
        if p > 0 && p < world && result.jobs[job].inference == nil && result.jobs[job].elasticSpeedup == nil {
            let slices = (world + p - 1) / p
            overhead.splicing += Double(work) * Double(slices) * result.mechanisms.splicingOverhead / s / 1e6
        }
    }

    mutating func consume(_ r: EventRecord) {
        integrate(to: r.time)
        counts[r.kind, default: 0] += 1
        if let node = r.node {
            let key = Int64(r.cluster) << 32 | Int64(node)
            if r.kind == .nodeRepaired {
                if let since = nodeDownSince.removeValue(forKey: key) { nodeDowntime = nodeDowntime.saturatingAdding((r.time - since).microseconds) }
            } else if nodeDownSince[key] == nil {
                nodeDownSince[key] = r.time
            }
            return
        }
        let i = Int(r.job)
        switch r.kind {
        case .submitted:
            submitted[i] = true
        case .started:
            running[i] = true
            if jobs[i].firstStart == nil { jobs[i].firstStart = r.time }
            jobs[i].starts += 1
            switch lastStop[i] {
            case .migrated?: overhead.migration += Double(r.overhead) / 1e6
            // A first start costs something only for batch inference: loading its weights.
            case .preempted?, .failed?, .requeued?, nil: overhead.restore += Double(r.overhead) / 1e6
            default: break
            }
            devices[i] = r.accelerators
            cluster[i] = r.cluster
            hold(i, Int64(r.accelerators), on: r.cluster, at: r.time)
        case .completed:
            bank(i, r.progress)
            jobs[i].end = r.time
            running[i] = false
            hold(i, -Int64(r.accelerators), on: r.cluster, at: r.time)
            if let first = jobs[i].firstStart, r.time > first {
                let ideal = Double(result.jobs[i].work.microseconds) / speed(i, firstCluster(i))
                jobs[i].achievedFraction = min(1, ideal / Double((r.time - first).microseconds))
            }
        case .preempted, .migrated:
            bank(i, r.progress)
            lastStop[i] = r.kind
            running[i] = r.kind == .migrated  // a migrating job restarts without queueing
            if r.kind == .preempted { overhead.preemption += Double(r.overhead) / 1e6 } else { overhead.migration += Double(r.overhead) / 1e6 }
        case .resized:
            bank(i, r.progress)
            overhead.resize += Double(r.overhead) / 1e6
            let delta = Int64(r.accelerators) - Int64(devices[i])
            // Added devices are held at once; freed ones until their release record.
            if delta > 0 { hold(i, delta, on: r.cluster, at: r.time) }
            devices[i] = r.accelerators
        case .released:
            hold(i, -Int64(r.accelerators), on: r.cluster, at: r.time)
        case .checkpointed:
            bank(i, r.progress)
            overhead.checkpoint += Double(r.overhead) / 1e6
        case .paused:
            // ElasticFlow's per-event overhead models re-forming the job's workers on its
            // devices, its elastic scaling's cost: counted with resizes.
            bank(i, r.progress)
            overhead.resize += Double(r.overhead) / 1e6
        case .rerated:
            bank(i, r.progress)
        case .tookOver:
            // It ran on these accelerators beside the job that held them (its start showed
            // none); it holds them from now.
            hold(i, Int64(r.accelerators), on: r.cluster, at: r.time)
            devices[i] = r.accelerators
        case .nodeFailed, .nodeOutage, .nodeRepaired:
            break  // handled above
        case .declined:
            declined[i] = true
        case .failed, .requeued:
            // Work banked by cuts since the last checkpoint is taken back; all is lost.
            usefulAcceleratorMicroseconds += Double(r.progress) / speed(i, cluster[i]) * Double(result.jobs[i].worldSize)
            lostWorkMicroseconds += r.overhead
            lastStop[i] = r.kind
            running[i] = false
            hold(i, -Int64(r.accelerators), on: r.cluster, at: r.time)
        }
    }

    var firstClusters: [Int32] = []
    mutating func firstCluster(_ job: Int) -> Int32 {
        if firstClusters.isEmpty {
            firstClusters = Array(repeating: -1, count: jobs.count)
            for r in result.log.records where r.kind == .started && firstClusters[Int(r.job)] < 0 { firstClusters[Int(r.job)] = r.cluster }
        }
        return firstClusters[job]
    }

    mutating func finish() -> RunMetrics {
        integrate(to: result.endTime)
        for i in jobs.indices where held[i] > 0 { settle(i, at: result.endTime) }

        let completed = jobs.filter { $0.end != nil }
        let capacity = Double(result.capacity)
        let series = busy.enumerated().map { b, value in
            let start = Int64(b) * width
            let length = min(width, span - start)
            return UtilizationPoint(start: Double(start + firstArrival.microseconds) / 1e6,
                                    utilization: length > 0 ? value / (capacity * Double(length)) : 0,
                                    powerKW: length > 0 ? joules[b] / (Double(length) / 1e6) / 1000 : 0)
        }
        var attainment = TierValues(), slaJobs = TierValues(), slaMet = TierValues(), delayByTier = TierValues()
        for tier in SLATier.allCases {
            let ofTier = jobs.filter { result.jobs[Int($0.index)].tier == tier }
            let done = ofTier.compactMap(\.achievedFraction)
            if !done.isEmpty {
                let met = done.filter { $0 >= result.mechanisms.slaTarget(for: tier) - 1e-12 }.count
                slaJobs[tier] = Double(done.count)
                slaMet[tier] = Double(met)
                attainment[tier] = Double(met) / Double(done.count)
            }
            let delays = ofTier.compactMap { $0.queueDelay?.seconds }
            if !delays.isEmpty { delayByTier[tier] = delays.reduce(0, +) / Double(delays.count) }
        }
        let unfinished = jobs.indices.filter { submitted[$0] && jobs[$0].end == nil && !declined[$0] }
        let stillRunning = unfinished.filter { running[$0] }.count
        let censoredDelays = jobs.indices.filter { submitted[$0] }.map { i in
            (jobs[i].queueDelay ?? max(.zero, result.endTime - jobs[i].submit)).seconds
        }
        let denominator = capacity * Double(span)
        return RunMetrics(
            jobsSubmitted: counts[.submitted] ?? 0,
            jobsCompleted: completed.count,
            utilization: span > 0 ? busy.reduce(0, +) / denominator : 0,
            jct: Distribution(seconds: completed.compactMap { $0.completionTime?.seconds }),
            queueDelay: Distribution(seconds: jobs.compactMap { $0.queueDelay?.seconds }),
            queueDelayCensored: Distribution(seconds: censoredDelays),
            stillWaiting: unfinished.count - stillRunning, stillRunning: stillRunning,
            makespan: Double(span) / 1e6,
            acceleratorSeconds: Double(jobs.reduce(Int64(0)) { $0.saturatingAdding($1.acceleratorMicroseconds) }) / 1e6,
            capacity: result.capacity,
            utilizationInterval: Double(width) / 1e6,
            utilizationSeries: series,
            energyKWh: joules.reduce(0, +) / 3.6e6,
            peakPowerKW: series.map(\.powerKW).max() ?? 0,
            goodputUtilization: span > 0 ? usefulAcceleratorMicroseconds / denominator : 0,
            // A requeue is a preemption (Slurm's PreemptMode=REQUEUE) that loses its work.
            preemptions: (counts[.preempted] ?? 0) + (counts[.requeued] ?? 0),
            migrations: counts[.migrated] ?? 0,
            resizes: counts[.resized] ?? 0,
            checkpoints: counts[.checkpointed] ?? 0,
            failures: counts[.failed] ?? 0,
            lostWorkSeconds: Double(lostWorkMicroseconds) / 1e6,
            submittedWorkSeconds: jobs.indices.filter { submitted[$0] }.reduce(0.0) { $0 + result.jobs[$1].work.seconds },
            idleWhileWaitingAcceleratorSeconds: result.idleWhileWaitingAcceleratorSeconds,
            nodeFailures: counts[.nodeFailed] ?? 0, outageNodeFailures: counts[.nodeOutage] ?? 0,
            nodeDowntimeSeconds: Double(nodeDownSince.values.reduce(nodeDowntime) { $0.saturatingAdding((result.endTime - $1).microseconds) }) / 1e6,
            overheadSeconds: overhead,
            slaAttainment: attainment, slaJobs: slaJobs, slaMet: slaMet,
            queueDelayByTier: delayByTier,
            jobs: jobs,
            inference: InferenceMetrics(jobs, specs: result.jobs, submitted: submitted),
            deadlines: DeadlineMetrics(jobs, specs: result.jobs, submitted: submitted, declined: declined))
    }
}

extension DeadlineMetrics {
    /// The figures over submitted jobs; nil when none has a deadline and none was declined.
    init?(_ jobs: [JobOutcome], specs: [JobSpec], submitted: [Bool], declined: [Bool]) {
        let withDeadline = jobs.indices.filter { submitted[$0] && specs[$0].deadline != nil }
        let refused = jobs.indices.filter { declined[$0] }.count
        guard !withDeadline.isEmpty || refused > 0 else { return nil }
        let accepted = withDeadline.filter { !declined[$0] }.count
        let completed = withDeadline.filter { jobs[$0].end != nil }
        let met = completed.filter { jobs[$0].end! <= specs[$0].deadline! }.count
        self.init(jobs: withDeadline.count, declined: refused, accepted: accepted,
                  satisfactionRatio: accepted + refused > 0 ? Double(accepted) / Double(accepted + refused) : 0,
                  completed: completed.count, met: met)
    }
}

extension InferenceMetrics {
    /// Folded from the outcomes of the batch-inference jobs; nil when no submitted job is one.
    init?(_ outcomes: [JobOutcome], specs: [JobSpec], submitted: [Bool]) {
        let ofInference = outcomes.indices.filter { submitted[$0] && specs[$0].inference != nil }
        guard !ofInference.isEmpty else { return nil }
        var requests: Int64 = 0, running: Int64 = 0, held: Int64 = 0, completed = 0
        for i in ofInference {
            guard let start = outcomes[i].firstStart, let end = outcomes[i].end else { continue }
            completed += 1
            requests += specs[i].inference!.requests
            running = running.saturatingAdding((end - start).microseconds)
            held = held.saturatingAdding(outcomes[i].acceleratorMicroseconds)
        }
        self.init(jobs: ofInference.count, completed: completed, requestsServed: requests,
                  requestsPerSecond: running > 0 ? Double(requests) / (Double(running) / 1e6) : 0,
                  acceleratorSecondsPer1kRequests: requests > 0 ? Double(held) / 1e6 / Double(requests) * 1000 : 0)
    }
}
