import FleetTwinEngine
import FleetTwinScheduling

extension RunMetrics {
    /// Folds the event log of `result` into metrics. `interval` is the utilization bucket
    /// width; nil chooses the span / 100 rounded up to a whole second.
    public static func fold(_ result: SimulationResult, interval: VirtualTime? = nil) -> RunMetrics {
        let records = result.log.records
        var jobs = result.jobs.enumerated().map { i, spec in
            JobOutcome(index: Int32(i), submit: spec.submit, firstStart: nil, end: nil, acceleratorMicroseconds: 0, starts: 0, energyKWh: 0)
        }
        var runningSince = Array(repeating: VirtualTime.zero, count: jobs.count)
        var held = Array(repeating: Int64(0), count: jobs.count)
        var heldOn = Array(repeating: Int32(-1), count: jobs.count)
        let clusters = result.clusters
        // Fleet power now: every accelerator idle until something starts.
        var watts = clusters.reduce(0.0) { $0 + Double($1.capacity) * $1.idleWatts }

        let firstArrival = records.first { $0.kind == .submitted }?.time ?? .zero
        let lastCompletion = records.last { $0.kind == .completed }?.time
        let spanEnd = lastCompletion ?? result.endTime
        let span = max(0, (spanEnd - firstArrival).microseconds)
        let width = interval?.microseconds ?? max(1_000_000, ((span + 99) / 100 + 999_999) / 1_000_000 * 1_000_000)
        let buckets = span == 0 ? 0 : Int((span + width - 1) / width)
        var busy = Array(repeating: 0.0, count: buckets)  // accelerator-microseconds per bucket
        var joules = Array(repeating: 0.0, count: buckets)  // watt-microseconds / 1e6 per bucket
        var allocated: Int64 = 0
        var last = firstArrival

        func cluster(_ index: Int32) -> ClusterInfo? { index >= 0 && Int(index) < clusters.count ? clusters[Int(index)] : nil }

        func integrate(to t: VirtualTime) {
            guard buckets > 0 else { last = t; return }
            var from = max(last.microseconds, firstArrival.microseconds)
            let to = min(t.microseconds, spanEnd.microseconds)
            while from < to {
                let b = Int((from - firstArrival.microseconds) / width)
                let bucketEnd = firstArrival.microseconds + Int64(b + 1) * width
                let until = min(to, bucketEnd)
                busy[min(b, buckets - 1)] += Double(allocated) * Double(until - from)
                joules[min(b, buckets - 1)] += watts * Double(until - from) / 1e6
                from = until
            }
            last = t
        }

        for r in records {
            integrate(to: r.time)
            let i = Int(r.job)
            switch r.kind {
            case .submitted:
                break
            case .started:
                if jobs[i].firstStart == nil { jobs[i].firstStart = r.time }
                jobs[i].starts += 1
                runningSince[i] = r.time
                held[i] = Int64(r.accelerators)
                heldOn[i] = r.cluster
                allocated += held[i]
                if let c = cluster(r.cluster) { watts += Double(r.accelerators) * (c.busyWatts - c.idleWatts) }
            case .completed, .preempted, .migrated, .resized:
                let heldFor = held[i] * (r.time - runningSince[i]).microseconds
                jobs[i].acceleratorMicroseconds += heldFor
                if let c = cluster(heldOn[i]) {
                    jobs[i].energyKWh += Double(heldFor) / 1e6 * c.busyWatts / 3.6e6
                    watts -= Double(held[i]) * (c.busyWatts - c.idleWatts)
                }
                allocated -= held[i]
                held[i] = 0
                if r.kind == .completed { jobs[i].end = r.time }
            }
        }
        integrate(to: result.endTime)
        // Jobs still running when the run stopped (horizon) count up to its end.
        for i in jobs.indices where held[i] > 0 {
            let heldFor = held[i] * (result.endTime - runningSince[i]).microseconds
            jobs[i].acceleratorMicroseconds += heldFor
            if let c = cluster(heldOn[i]) { jobs[i].energyKWh += Double(heldFor) / 1e6 * c.busyWatts / 3.6e6 }
        }

        let submitted = records.filter { $0.kind == .submitted }.count
        let completed = jobs.filter { $0.end != nil }
        let acceleratorMicroseconds = jobs.reduce(Int64(0)) { $0 + $1.acceleratorMicroseconds }
        let capacity = Double(result.capacity)
        let inSpan = busy.reduce(0, +)
        let series = busy.enumerated().map { b, value in
            let start = Int64(b) * width
            let length = min(width, span - start)
            return UtilizationPoint(start: Double(start + firstArrival.microseconds) / 1e6,
                                    utilization: length > 0 ? value / (capacity * Double(length)) : 0,
                                    powerKW: length > 0 ? joules[b] / (Double(length) / 1e6) / 1000 : 0)
        }
        return RunMetrics(
            jobsSubmitted: submitted,
            jobsCompleted: completed.count,
            utilization: span > 0 ? inSpan / (capacity * Double(span)) : 0,
            jct: Distribution(seconds: completed.compactMap { $0.completionTime?.seconds }),
            queueDelay: Distribution(seconds: jobs.compactMap { $0.queueDelay?.seconds }),
            makespan: Double(span) / 1e6,
            acceleratorSeconds: Double(acceleratorMicroseconds) / 1e6,
            capacity: result.capacity,
            utilizationInterval: Double(width) / 1e6,
            utilizationSeries: series,
            energyKWh: joules.reduce(0, +) / 3.6e6,
            peakPowerKW: series.map(\.powerKW).max() ?? 0,
            jobs: jobs)
    }
}
