/// Free devices of one cluster over future time, as ElasticFlow's planner keeps them
/// (`CLUSTER.future_free_gpus`): a step function, `free[k]` devices from `times[k]` (µs)
/// until `times[k + 1]`, the last step forever. `times` increase strictly.
public struct FreeTimeline: Sendable, Equatable {
    public private(set) var times: [Int64]
    public private(set) var free: [Int]

    /// All `total` devices free from `now` on (EF resets the timeline to `{now: total}`).
    public init(now: Int64, total: Int) {
        times = [now]
        free = [total]
    }

    /// The index of the step holding `t` (the last breakpoint at or before it; 0 before the first).
    func step(at t: Int64) -> Int {
        var lo = 0, hi = times.count - 1
        while lo < hi {
            let mid = (lo + hi + 1) / 2
            if times[mid] <= t { lo = mid } else { hi = mid - 1 }
        }
        return lo
    }

    /// Free devices at `t`.
    public func free(at t: Int64) -> Int { free[step(at: t)] }

    /// Makes `t` a breakpoint (same free devices as the step it splits); returns its index.
    @discardableResult
    mutating func split(at t: Int64) -> Int {
        let k = step(at: t)
        if times[k] == t { return k }
        if t < times[k] {  // before the first breakpoint: nothing was planned there
            times.insert(t, at: 0)
            free.insert(free[0], at: 0)
            return 0
        }
        times.insert(t, at: k + 1)
        free.insert(free[k], at: k + 1)
        return k + 1
    }

    /// Takes `devices` over [from, to) (negative: gives them back).
    mutating func take(_ devices: Int, from: Int64, to: Int64) {
        guard to > from, devices != 0 else { return }
        let first = split(at: from), last = split(at: to)
        for k in first..<last { free[k] -= devices }
    }

    /// Merges steps with equal free devices (EF's `utils.merge_dict` after every commit).
    mutating func merge() {
        var t: [Int64] = [], f: [Int] = []
        for k in times.indices where f.last != free[k] {
            t.append(times[k])
            f.append(free[k])
        }
        times = t
        free = f
    }
}

/// One job as ElasticFlow's planner sees it: its profiled device levels and rates, its work
/// left and its deadline.
public struct ElasticFlowJob: Sendable, Equatable {
    /// Device counts it may run on, increasing (EF: the throughput table's levels up to
    /// `max_gpu`).
    public var levels: [Int]
    /// Full-size work (µs) done per µs on `levels[k]` devices.
    public var rates: [Double]
    /// Full-size work left, µs.
    public var remaining: Double
    /// Absolute deadline, µs; nil: best effort (EF's `ddl = sys.maxsize`).
    public var deadline: Int64?

    public init(levels: [Int], rates: [Double], remaining: Double, deadline: Int64?) {
        self.levels = levels
        self.rates = rates
        self.remaining = remaining
        self.deadline = deadline
    }

    /// The largest level at most `devices` (EF `utils.get_last_level(gpu_num: devices + 1)`); 0 if none.
    func level(atMost devices: Int) -> Int { levels.last { $0 <= devices } ?? 0 }

    /// The next level above `devices` (EF `utils.get_next_level`): the first level from 0,
    /// the next one from a level, `devices` itself at the top or off the levels.
    func nextLevel(after devices: Int) -> Int {
        if devices == 0 { return levels.first ?? 0 }
        guard let k = levels.firstIndex(of: devices) else { return devices }
        return k + 1 < levels.count ? levels[k + 1] : devices
    }

    func rate(_ devices: Int) -> Double { levels.firstIndex(of: devices).map { rates[$0] } ?? 0 }
}

/// A job's plan: devices from each step's time until the next step (the last until `end`).
public struct ElasticFlowPlan: Sendable, Equatable {
    /// `devices` from `at` (µs) on.
    public struct Step: Sendable, Equatable {
        public var at: Int64
        public var devices: Int

        public init(at: Int64, devices: Int) {
            self.at = at
            self.devices = devices
        }
    }
    /// Steps from the planning instant on, merged (no two neighbours equal).
    public var steps: [Step]
    /// The planned end rounded up to a slot from the step it ends in (EF `end_time`), and
    /// the end itself (EF `real_end_time`), µs; `Int64.max` when it cannot run at all.
    public var end: Int64
    public var realEnd: Int64
    /// Whether `realEnd` is at or before the deadline (EF's return value).
    public var meets: Bool

    /// Devices at `t` (0 before the first step and from `end`).
    public func devices(at t: Int64) -> Int {
        guard t < end else { return 0 }
        return steps.last { $0.at <= t }?.devices ?? 0
    }

    /// Device-µs of the plan up to its slot-aligned end (EF `utils.get_allocation_time`).
    public var deviceTime: Double {
        var total = 0.0
        for (k, s) in steps.enumerated() {
            let until = k + 1 < steps.count ? steps[k + 1].at : end
            total += Double(s.devices) * Double(max(0, until - s.at))
        }
        return total
    }

    static let none = ElasticFlowPlan(steps: [], end: .max, realEnd: .max, meets: false)
}

/// ElasticFlow's minimum satisfactory share (Gu et al., ASPLOS'23, section 4.1), as its
/// simulator plans it: `scheduler.py::ef_sim_allocation` (pkusys/ElasticFlow 04a0109,
/// research/policies.md section 15).
///
/// For q = each level in turn, walk the timeline's steps backwards from the slot-aligned
/// deadline, giving the job q devices in each (or the largest level the step has free),
/// until the work so gathered covers what is left; the first q that does is its share. The
/// plan is then committed forward from now: steps from where the walk stopped get q, earlier
/// steps the level before q; the end is rounded up to a slot from the step it falls in, and
/// the devices are taken off the timeline until then. When no q meets the deadline, the job
/// gets the largest level free in every step until it is done, and misses.
///
/// Differences from the Python, each harmless to its results: time is µs, not whole seconds
/// (ends are rounded up to a µs, not a second); a step that straddles the true deadline counts
/// at most to it and never negatively (EF would count a negative span for a step starting
/// between the deadline and its slot-aligned form).
public enum ElasticFlowPlanner {
    /// EF `utils.align_to_time_slot`: `start` plus whole slots, at or after `t`.
    public static func align(_ t: Int64, from start: Int64, slot: Int64) -> Int64 {
        let span = t - start
        let slots = span >= 0 ? (span + slot - 1) / slot : -((-span) / slot)
        return start + slots * slot
    }

    /// Best effort's deadline: far beyond any run, yet far from overflow.
    static let never = Int64.max / 4

    /// `x` µs rounded up, at most `never` (a rate near 0 gives a span beyond any run).
    static func span(_ x: Double) -> Int64 { x.isNaN || x >= Double(never) ? never : Int64(x.rounded(.up)) }

    /// Plans `job` at `now` on `timeline`, taking its devices off it. `forced`: the job holds
    /// exactly this many devices from `now` to the timeline's next breakpoint, then is planned
    /// from there (EF's `assign_gpu`, used to price the next level for spare devices).
    public static func plan(_ job: ElasticFlowJob, on timeline: inout FreeTimeline, now: Int64, slot: Int64,
                            total: Int, forced: Int? = nil) -> ElasticFlowPlan {
        let levels = job.levels.filter { $0 <= total }
        guard !levels.isEmpty else { return .none }
        let deadline = job.deadline ?? never
        let alignedDeadline = deadline >= never ? never : align(deadline, from: now, slot: slot)
        let original = timeline
        var line = timeline
        if alignedDeadline >= now { line.split(at: alignedDeadline) }
        line.split(at: now)
        // A job about to complete (its estimate at 0) still needs its devices for an instant.
        var left = max(job.remaining, 1)
        var steps: [ElasticFlowPlan.Step] = []
        var from = now
        // The effective end of a step: the true deadline for the step ending at its aligned form.
        func until(_ next: Int64) -> Int64 { next == alignedDeadline ? min(deadline, next) : next }

        if let q = forced, job.rate(q) > 0 {
            let next = original.times.first { $0 > now } ?? alignedDeadline
            let realEnd = now + span(left / job.rate(q))
            let end = align(realEnd, from: now, slot: slot)
            if next >= end && deadline >= realEnd {
                line.take(q, from: now, to: end)
                line.merge()
                timeline = line
                return ElasticFlowPlan(steps: [.init(at: now, devices: q)], end: end, realEnd: realEnd, meets: true)
            }
            line.take(q, from: now, to: next)
            left -= Double(max(0, until(next) - now)) * job.rate(q)
            steps.append(.init(at: now, devices: q))
            from = next
            line.split(at: from)
        }

        // The smallest level whose backward walk from the deadline gathers the work left.
        var previous = 0, chosen: (point: Int64, q: Int, before: Int)?
        if left > 0 {
            search: for q in levels {
                var gathered = 0.0, periodEnd = alignedDeadline
                for k in line.times.indices.reversed() where line.times[k] < alignedDeadline {
                    let start = line.times[k]
                    if start < from { break }
                    let devices = min(q, job.level(atMost: line.free[k]))
                    if devices == 0 {
                        periodEnd = start
                        continue
                    }
                    gathered += Double(max(0, until(periodEnd) - start)) * job.rate(devices)
                    if gathered >= left {
                        chosen = (start, q, previous)
                        break search
                    }
                    periodEnd = start
                }
                previous = q
            }
        }
        // None: the largest level free in every step, the deadline missed.
        let (point, q, before) = chosen ?? (from, previous, previous)

        // Commit forward from `from`.
        var realEnd = Int64.max, end = Int64.max
        if left <= 0 {
            // The forced step alone finished it, past its deadline (EF would assert here).
            realEnd = now + span(max(job.remaining, 1) / job.rate(forced!))
            end = align(realEnd, from: now, slot: slot)
            line.take(forced!, from: from, to: max(from, end))
        } else {
            var k = line.step(at: from)
            while k < line.times.count {
                let start = line.times[k]
                let next: Int64? = k + 1 < line.times.count ? line.times[k + 1] : nil
                let devices = min(start >= point ? q : before, job.level(atMost: line.free[k]))
                steps.append(.init(at: start, devices: devices))
                if devices > 0 {
                    let done = next.map { Double(max(0, until($0) - start)) * job.rate(devices) } ?? .infinity
                    if done >= left {
                        let time = span(left / job.rate(devices))
                        realEnd = start + time
                        end = start + align(time, from: 0, slot: slot)
                        line.take(devices, from: start, to: end)
                        break
                    }
                    left -= done
                    line.take(devices, from: start, to: next!)
                } else if next == nil {
                    return .none  // nothing free ever again: it cannot run here
                }
                k += 1
            }
        }
        line.merge()
        timeline = line
        var merged: [ElasticFlowPlan.Step] = []
        for s in steps where s.at < end && merged.last?.devices != s.devices { merged.append(s) }
        return ElasticFlowPlan(steps: merged, end: end, realEnd: realEnd, meets: realEnd <= deadline)
    }
}
