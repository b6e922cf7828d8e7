import FleetTwinEngine
import FleetTwinScheduling
import Foundation

/// A synthetic workload: an arrival process and per-job distributions.
///
/// Arrival times come from the generator's own stream; each attribute of each job (world
/// size, tier, duration, steps, template) from its own stream (seed, "job.<attribute>", job
/// number), so changing one distribution never moves another attribute or the arrival times.
public struct WorkloadGenerator: Sendable {
    public var count: Int?
    public var start: VirtualTime
    public var arrivals: ArrivalProcess
    public var worldSize: WeightedChoice<Int>
    public var work: GeneratedWork
    public var tiers: WeightedChoice<SLATier>
    public var acceleratorType: String
    public var stateBytes: Int64
    public var memoryPerReplicaBytes: Int64
    /// Each job's deadline as submit + factor x its work (its isolated duration at full size
    /// on an accelerator of relative speed 1), as ElasticFlow's trace generator sets `ddl`
    /// with its lambda; nil: best effort.
    public var deadlineFactor: Double? = nil

    public init(
        count: Int?, start: VirtualTime = .zero, arrivals: ArrivalProcess, worldSize: WeightedChoice<Int>,
        work: GeneratedWork, tiers: WeightedChoice<SLATier>, acceleratorType: String,
        stateBytes: Int64 = 0, memoryPerReplicaBytes: Int64 = 0
    ) {
        self.count = count
        self.start = start
        self.arrivals = arrivals
        self.worldSize = worldSize
        self.work = work
        self.tiers = tiers
        self.acceleratorType = acceleratorType
        self.stateBytes = stateBytes
        self.memoryPerReplicaBytes = memoryPerReplicaBytes
    }

    /// The jobs in arrival order, named job-0, job-1, ...: `count` of them, or those that
    /// arrive by `horizon`.
    public func generate(seed: UInt64, horizon: VirtualTime?) -> [JobSpec] {
        var arrivalStream = SeededGenerator(seed: seed, stream: "arrivals")
        var process = arrivals.start(at: start, using: &arrivalStream)
        var jobs: [JobSpec] = []
        if let count { jobs.reserveCapacity(count) }
        while count.map({ jobs.count < $0 }) ?? true {
            let t = process.next(using: &arrivalStream)
            if let horizon, t > horizon { break }
            let index = UInt64(jobs.count)
            func stream(_ attribute: String) -> SeededGenerator { SeededGenerator(seed: seed, stream: "job." + attribute, index: index) }
            let name = "job-\(jobs.count)"
            var sizeStream = stream("world_size"), tierStream = stream("tier")
            let size = worldSize.sample(using: &sizeStream)
            let tier = tiers.sample(using: &tierStream)
            switch work {
            case .duration(let distribution):
                var g = stream("duration")
                jobs.append(JobSpec(
                    name: name, submit: t, tier: tier, worldSize: size, acceleratorType: acceleratorType,
                    work: distribution.sample(using: &g), stateBytes: stateBytes, memoryPerReplicaBytes: memoryPerReplicaBytes))
            case let .model(priced, steps):
                var g = stream("steps")
                jobs.append(priced.job(name: name, submit: t, tier: tier, worldSize: size, steps: Int64(steps.sample(using: &g))))
            case let .templates(templates, steps):
                var pick = stream("template"), g = stream("steps")
                let template = templates[Int(pick.next() % UInt64(templates.count))]
                let count = Int64(steps.sample(using: &g))
                jobs.append(JobSpec(
                    name: name, submit: t, tier: tier, worldSize: size, acceleratorType: acceleratorType,
                    work: .seconds(Double(count) * template.stepSeconds), steps: count, stateBytes: template.stateBytes,
                    memoryPerReplicaBytes: template.memoryPerReplicaBytes))
            }
            if let f = deadlineFactor { jobs[jobs.count - 1].deadline = t + .seconds(f * jobs[jobs.count - 1].work.seconds) }
        }
        return jobs
    }
}

/// How much work each generated job carries.
public enum GeneratedWork: Sendable, Equatable {
    /// A duration at full size on an accelerator of relative speed 1.0.
    case duration(DurationDistribution)
    /// A priced model shape and a number of steps.
    case model(PricedModel, steps: WeightedChoice<Int>)
    /// Recorded job templates (step time, state, memory), one picked uniformly per job,
    /// and a number of steps.
    case templates([TemplateJob], steps: WeightedChoice<Int>)
}

/// A recorded workload a generator can draw jobs from.
public struct TemplateJob: Sendable, Equatable {
    public var name: String
    public var stepSeconds: Double
    public var stateBytes: Int64
    public var memoryPerReplicaBytes: Int64

    public init(name: String, stepSeconds: Double, stateBytes: Int64, memoryPerReplicaBytes: Int64) {
        self.name = name
        self.stepSeconds = stepSeconds
        self.stateBytes = stateBytes
        self.memoryPerReplicaBytes = memoryPerReplicaBytes
    }
}

/// Values drawn with given relative weights.
public struct WeightedChoice<Value: Sendable & Equatable>: Sendable, Equatable {
    public var values: [Value]
    public var weights: [Double]
    private var cumulative: [Double]

    public init(values: [Value], weights: [Double]) {
        precondition(values.count == weights.count && !values.isEmpty)
        self.values = values
        self.weights = weights
        var sum = 0.0
        cumulative = weights.map { sum += $0; return sum }
    }

    public static func fixed(_ value: Value) -> WeightedChoice { WeightedChoice(values: [value], weights: [1]) }

    public func sample(using g: inout SeededGenerator) -> Value {
        if values.count == 1 { return values[0] }
        let u = g.nextUnitDouble() * cumulative[cumulative.count - 1]
        for (i, c) in cumulative.enumerated() where u < c { return values[i] }
        return values[values.count - 1]
    }
}

public enum DurationDistribution: Sendable, Equatable {
    case fixed(VirtualTime)
    case uniform(min: VirtualTime, max: VirtualTime)
    case exponential(mean: VirtualTime)
    case lognormal(median: VirtualTime, sigma: Double)

    /// At least one microsecond, a job always carries some work, and at most the 100 years
    /// of work a scenario may give one job (heavy tails are cut there).
    public func sample(using g: inout SeededGenerator) -> VirtualTime {
        let seconds: Double
        switch self {
        case .fixed(let d): return d
        case let .uniform(lo, hi): seconds = lo.seconds + (hi.seconds - lo.seconds) * g.nextUnitDouble()
        case .exponential(let mean): seconds = -mean.seconds * log(g.nextOpenUnitDouble())
        case let .lognormal(median, sigma): seconds = median.seconds * exp(sigma * standardNormal(&g))
        }
        return VirtualTime(microseconds: max(1, VirtualTime.seconds(min(seconds, Units.maxSeconds)).microseconds))
    }
}

/// Box-Muller; one normal per call keeps each draw's consumption fixed (two uniforms).
func standardNormal(_ g: inout SeededGenerator) -> Double {
    let u1 = g.nextOpenUnitDouble(), u2 = g.nextUnitDouble()
    return (-2 * log(u1)).squareRoot() * cos(2 * Double.pi * u2)
}

public enum ArrivalProcess: Sendable, Equatable {
    case poisson(perHour: Double)
    /// A two-state Markov-modulated Poisson process: calm periods at `basePerHour` with
    /// exponential length of mean `meanGap`, bursts at `burstPerHour` of mean `meanBurst`.
    case bursty(basePerHour: Double, burstPerHour: Double, meanBurst: VirtualTime, meanGap: VirtualTime)

    func start(at t: VirtualTime, using g: inout SeededGenerator) -> ArrivalState {
        var state = ArrivalState(process: self, now: t.seconds, bursting: false, stateEnds: .infinity)
        if case let .bursty(_, _, _, meanGap) = self {
            state.stateEnds = state.now + exponential(mean: meanGap.seconds, &g)
        }
        return state
    }
}

struct ArrivalState {
    let process: ArrivalProcess
    var now: Double
    var bursting: Bool
    var stateEnds: Double

    /// The next arrival instant. Exponential gaps are memoryless, so a gap that crosses a
    /// state change is redrawn from the change at the new rate.
    mutating func next(using g: inout SeededGenerator) -> VirtualTime {
        switch process {
        case .poisson(let perHour):
            now += exponential(mean: 3600 / perHour, &g)
        case let .bursty(base, burst, meanBurst, meanGap):
            while true {
                let gap = exponential(mean: 3600 / (bursting ? burst : base), &g)
                if now + gap <= stateEnds { now += gap; break }
                now = stateEnds
                bursting.toggle()
                stateEnds = now + exponential(mean: (bursting ? meanBurst : meanGap).seconds, &g)
            }
        }
        return VirtualTime.seconds(now)
    }
}

func exponential(mean: Double, _ g: inout SeededGenerator) -> Double {
    -mean * log(g.nextOpenUnitDouble())
}
