import FleetTwinCostModel
import FleetTwinEngine
import FleetTwinFleet
import FleetTwinScheduling
import FleetTwinTraces
import Foundation
import Yams

extension ScenarioParser {
    func parseWorkload(_ node: YAMLNode, fleet: FleetSpec, horizon: VirtualTime?) throws(ScenarioError) -> WorkloadSource {
        let w = try reader.object(node, "workload", allowed: ["generator", "jobs", "trace"])
        let sources = w.present(["generator", "jobs", "trace"])
        guard sources.count == 1 else {
            throw reader.error(at: node, sources.isEmpty
                ? "workload needs a source: 'generator' (synthetic jobs), 'jobs' (a list) or 'trace' (a trace file)"
                : "workload takes one source; found \(sources.map { "'\($0)'" }.joined(separator: " and "))")
        }
        if let g = w["generator"] { return .generator(try parseGenerator(g, fleet: fleet, horizon: horizon)) }
        if let t = w["trace"] { return .trace(try parseTrace(t, fleet: fleet)) }
        let (jobs, real) = try parseJobList(w["jobs"]!, fleet: fleet)
        return .jobs(jobs, real: real)
    }

    // MARK: Generator

    func parseGenerator(_ node: YAMLNode, fleet: FleetSpec, horizon: VirtualTime?) throws(ScenarioError) -> WorkloadGenerator {
        let keys = ["jobs", "start", "arrivals", "world_size", "duration", "model", "templates", "steps", "tiers", "accelerator_type",
                    "state_size", "memory_per_replica", "parallelism", "deadline_factor"]
        let g = try reader.object(node, "workload.generator", allowed: keys)
        let count = try g["jobs"].map { n throws(ScenarioError) in try reader.int(n, "jobs", min: 1, max: 100_000_000) }
        if count == nil && horizon == nil {
            throw reader.error(at: g["arrivals"] ?? node,
                               "an open arrival process never ends: give workload.generator 'jobs' (a count) or a top-level 'horizon'")
        }
        let worldSizeNode = try g.required("world_size")
        let worldSize = try parseWorldSize(worldSizeNode)
        let work: GeneratedWork
        var type: String
        var memory: Int64 = 0
        if let modelNode = g["model"] {
            let conflicting = g.present(["duration", "memory_per_replica", "state_size"])
            guard conflicting.isEmpty else {
                throw reader.error(at: g[conflicting[0]], "a generator with 'model' gets '\(conflicting[0])' from the cost model; remove it")
            }
            let priced = try pricedWithParallelism(g, shape: try parseModelShape(modelNode), worldSizes: worldSize.values,
                                                   sizeNode: worldSizeNode, fleet: fleet, at: modelNode)
            let stepsNode = try g.required("steps")
            let steps = try parseSteps(stepsNode)
            try checkWork(steps: Int64(steps.values.max()!), stepSeconds: priced.referenceStepSeconds, at: stepsNode)
            work = .model(priced, steps: steps)
            type = priced.acceleratorType
        } else if let p = g["parallelism"] {
            throw reader.error(at: p, "'parallelism' needs a training 'model' to split and price")
        } else if let templatesNode = g["templates"] {
            let conflicting = g.present(["duration", "memory_per_replica", "state_size"])
            guard conflicting.isEmpty else {
                throw reader.error(at: g[conflicting[0]], "a generator with 'templates' takes '\(conflicting[0])' from them; remove it")
            }
            type = try acceleratorType(g["accelerator_type"], fleet: fleet)
            for size in worldSize.values { try checkFits(size, type: type, fleet: fleet, at: worldSizeNode) }
            let templates = try parseTemplates(templatesNode, type: type, fleet: fleet)
            let stepsNode = try g.required("steps")
            let steps = try parseSteps(stepsNode)
            try checkWork(steps: Int64(steps.values.max()!), stepSeconds: templates.map(\.stepSeconds).max()!, at: stepsNode)
            work = .templates(templates, steps: steps)
        } else {
            if let steps = g["steps"] { throw reader.error(at: steps, "'steps' needs a 'model' or 'templates'; without them give 'duration'") }
            type = try acceleratorType(g["accelerator_type"], fleet: fleet)
            for size in worldSize.values { try checkFits(size, type: type, fleet: fleet, at: worldSizeNode) }
            memory = try g["memory_per_replica"].map { n throws(ScenarioError) in try reader.size(n, "memory_per_replica") } ?? 0
            try checkMemory(memory, type: type, fleet: fleet, at: g["memory_per_replica"])
            work = .duration(try parseDuration(try g.required("duration")))
        }
        let start = try g["start"].map { n throws(ScenarioError) in try reader.duration(n, "start", positive: false) } ?? .zero
        let arrivalsNode = try g.required("arrivals")
        let arrivals = try parseArrivals(arrivalsNode)
        try checkArrivals(arrivals, count: count, start: start, horizon: horizon, at: arrivalsNode)
        var generator = WorkloadGenerator(
            count: count,
            start: start,
            arrivals: arrivals,
            worldSize: worldSize,
            work: work,
            tiers: try g["tiers"].map { n throws(ScenarioError) in try parseTiers(n) } ?? Self.defaultTiers,
            acceleratorType: type,
            stateBytes: try g["state_size"].map { n throws(ScenarioError) in try reader.stateSize(n) } ?? 0,
            memoryPerReplicaBytes: memory)
        generator.deadlineFactor = try g["deadline_factor"].map { n throws(ScenarioError) in
            try reader.double(n, "deadline_factor (ElasticFlow's lambda: deadline = submit + factor x the job's duration at full size)",
                              min: 0, exclusiveMin: true, max: 1e6)
        }
        return generator
    }

    /// `steps: 5000` or `steps: {choices: [...], weights: [...]}`.
    func parseSteps(_ node: YAMLNode) throws(ScenarioError) -> WeightedChoice<Int> {
        if node.scalar != nil { return .fixed(try reader.int(node, "steps", min: 1)) }
        let o = try reader.object(node, "steps", allowed: ["choices", "weights"])
        var values: [Int] = []
        for n in try reader.sequence(try o.required("choices"), "steps.choices") { values.append(try reader.int(n, "a step count", min: 1)) }
        guard !values.isEmpty else { throw reader.error(at: o["choices"], "steps.choices is empty") }
        return WeightedChoice(values: values, weights: try parseWeights(o["weights"], count: values.count, at: node))
    }

    static let defaultTiers = WeightedChoice<SLATier>(values: [.premium, .standard, .basic], weights: [0.2, 0.5, 0.3])

    func parseArrivals(_ node: YAMLNode) throws(ScenarioError) -> ArrivalProcess {
        let a = try reader.object(node, "arrivals", allowed: ["poisson", "bursty"])
        let kinds = a.present(["poisson", "bursty"])
        guard kinds.count == 1 else { throw reader.error(at: node, "arrivals takes exactly one of: poisson, bursty") }
        // Rates from one arrival per 100 years (a mean gap the clock holds) to one per
        // microsecond (the clock's resolution).
        func rate(_ node: YAMLNode, _ what: String) throws(ScenarioError) -> Double {
            try reader.double(node, what, min: 3600 / Units.maxSeconds, max: 3.6e9)
        }
        if let p = a["poisson"] {
            let o = try reader.object(p, "arrivals.poisson", allowed: ["per_hour"])
            return .poisson(perHour: try rate(try o.required("per_hour"), "per_hour"))
        }
        let b = try reader.object(a["bursty"]!, "arrivals.bursty", allowed: ["per_hour", "burst_per_hour", "mean_burst", "mean_gap"])
        return .bursty(
            basePerHour: try rate(try b.required("per_hour"), "per_hour"),
            burstPerHour: try rate(try b.required("burst_per_hour"), "burst_per_hour"),
            meanBurst: try reader.period(try b.required("mean_burst"), "mean_burst"),
            meanGap: try reader.period(try b.required("mean_gap"), "mean_gap"))
    }

    /// The arrivals must end inside the clock: a counted generator's expected last arrival
    /// (at its slowest rate) within `Units.maxArrivalSeconds` of its start, an open one's expected
    /// count up to the horizon (at its fastest rate) within the 100,000,000 jobs `jobs` allows.
    func checkArrivals(_ arrivals: ArrivalProcess, count: Int?, start: VirtualTime, horizon: VirtualTime?,
                       at node: YAMLNode) throws(ScenarioError) {
        let (slowest, fastest): (Double, Double)
        switch arrivals {
        case .poisson(let r): (slowest, fastest) = (r, r)
        case let .bursty(base, burst, _, _): (slowest, fastest) = (min(base, burst), max(base, burst))
        }
        if case let .bursty(_, _, meanBurst, meanGap) = arrivals {
            // The process switches state between arrivals: about (mean arrival gap / mean
            // period) switches per arrival, each a loop turn in the generator.
            let switches = 3600 / slowest / min(meanBurst, meanGap).seconds
            guard switches <= 1_000_000 else {
                throw reader.error(at: node, "arrivals every \(VirtualTime.seconds(3600 / slowest)) on average with bursts or gaps of "
                                   + "\(min(meanBurst, meanGap)) switch state about \(switches.clean) times per arrival; expected at most 1000000")
            }
        }
        if let count {
            let span = Double(count) * 3600 / slowest
            guard span <= Units.maxArrivalSeconds else {
                throw reader.error(at: node, "\(count) jobs at \(slowest) per hour arrive over about \(Units.years(span)); "
                                   + "the arrivals must end within 10000 years (3.2e11 seconds)")
            }
        } else if let horizon {
            let expected = fastest * max(0, (horizon - start).seconds) / 3600
            guard expected <= 100_000_000 else {
                throw reader.error(at: node, "\(fastest.clean) arrivals per hour until the horizon \(horizon) make about \(expected.clean) jobs; "
                                   + "expected at most 100000000 (give 'jobs', a lower rate or an earlier horizon)")
            }
        }
    }

    /// `world_size: 4` or `world_size: {choices: [1, 2, 8], weights: [70, 20, 10]}`.
    func parseWorldSize(_ node: YAMLNode) throws(ScenarioError) -> WeightedChoice<Int> {
        if node.scalar != nil { return .fixed(try reader.int(node, "world_size", min: 1)) }
        let o = try reader.object(node, "world_size", allowed: ["choices", "weights"])
        var values: [Int] = []
        for n in try reader.sequence(try o.required("choices"), "world_size.choices") {
            values.append(try reader.int(n, "a world size", min: 1))
        }
        guard !values.isEmpty else { throw reader.error(at: o["choices"], "world_size.choices is empty") }
        return WeightedChoice(values: values, weights: try parseWeights(o["weights"], count: values.count, at: node))
    }

    func parseWeights(_ node: YAMLNode?, count: Int, at owner: YAMLNode) throws(ScenarioError) -> [Double] {
        guard let node else { return Array(repeating: 1, count: count) }
        var weights: [Double] = []
        for n in try reader.sequence(node, "weights") { weights.append(try reader.double(n, "a weight", min: 0)) }
        guard weights.count == count else {
            throw reader.error(at: node, "weights has \(weights.count) entries; expected \(count), one per choice")
        }
        guard weights.reduce(0, +) > 0 else { throw reader.error(at: node, "weights must not all be zero") }
        guard weights.reduce(0, +).isFinite else { throw reader.error(at: node, "weights must add up to a finite number") }
        return weights
    }

    func parseTiers(_ node: YAMLNode) throws(ScenarioError) -> WeightedChoice<SLATier> {
        let names = SLATier.allCases.map(\.rawValue)
        let t = try reader.object(node, "tiers", allowed: names)
        var values: [SLATier] = [], weights: [Double] = []
        for tier in SLATier.allCases {
            if let n = t[tier.rawValue] {
                values.append(tier)
                weights.append(try reader.double(n, "the \(tier.rawValue) share", min: 0))
            }
        }
        guard weights.reduce(0, +) > 0 else { throw reader.error(at: node, "tiers must give at least one tier a share above zero") }
        guard weights.reduce(0, +).isFinite else { throw reader.error(at: node, "the tier shares must add up to a finite number") }
        return WeightedChoice(values: values, weights: weights)
    }

    /// `duration: 2h` or one of `{fixed: D}`, `{uniform: {min, max}}`, `{exponential: {mean}}`,
    /// `{lognormal: {median, sigma}}`.
    func parseDuration(_ node: YAMLNode) throws(ScenarioError) -> DurationDistribution {
        if node.scalar != nil { return .fixed(try reader.duration(node, "duration")) }
        let kinds = ["fixed", "uniform", "exponential", "lognormal"]
        let d = try reader.object(node, "duration", allowed: kinds)
        guard d.present(kinds).count == 1 else { throw reader.error(at: node, "duration takes exactly one of: \(kinds.joined(separator: ", "))") }
        if let n = d["fixed"] { return .fixed(try reader.duration(n, "duration.fixed")) }
        if let n = d["uniform"] {
            let u = try reader.object(n, "duration.uniform", allowed: ["min", "max"])
            let lo = try reader.duration(try u.required("min"), "min"), hi = try reader.duration(try u.required("max"), "max")
            guard hi >= lo else { throw reader.error(at: u["max"], "max must not be shorter than min") }
            return .uniform(min: lo, max: hi)
        }
        if let n = d["exponential"] {
            let e = try reader.object(n, "duration.exponential", allowed: ["mean"])
            return .exponential(mean: try reader.duration(try e.required("mean"), "mean"))
        }
        let l = try reader.object(d["lognormal"]!, "duration.lognormal", allowed: ["median", "sigma"])
        return .lognormal(median: try reader.duration(try l.required("median"), "median"),
                          sigma: try reader.double(try l.required("sigma"), "sigma", min: 0))
    }

    // MARK: Explicit jobs

    func parseJobList(_ node: YAMLNode, fleet: FleetSpec) throws(ScenarioError) -> ([JobSpec], [RealWorkloadJob]) {
        let keys = ["name", "submit", "tier", "world_size", "accelerator_type", "duration", "steps", "step_time",
                    "model", "samples", "requests", "output_size", "state_size", "memory_per_replica", "workload", "speedup", "elastic",
                    "parallelism", "deadline", "resources", "statistical_efficiency"]
        var jobs: [JobSpec] = []
        var real: [RealWorkloadJob] = []
        var names: [String: Void] = [:]
        for (i, item) in try reader.sequence(node, "workload.jobs").enumerated() {
            let j = try reader.object(item, "a job", allowed: keys)
            let name = try j["name"].map { n throws(ScenarioError) in try reader.string(n, "job name") } ?? "job-\(i)"
            guard names.updateValue((), forKey: name) == nil else { throw reader.error(at: j["name"], "job name '\(name)' is used twice") }
            let sizeNode = try j.required("world_size")
            let size = try reader.int(sizeNode, "world_size", min: 1)
            if let p = j["parallelism"], j["model"] == nil {
                throw reader.error(at: p, "'parallelism' needs a training 'model' to split and price")
            }
            if j["parallelism"] != nil, let key = j.present(["speedup", "elastic"]).first {
                throw reader.error(at: j[key], "'\(key)' and 'parallelism' do not go together: a model-parallel job resizes only in whole model replicas, "
                                   + "which a speedup curve over every device count does not describe")
            }
            if j["model"] != nil {
                var job = try parseModelJob(j, at: item, name: name, worldSize: size, sizeNode: sizeNode, fleet: fleet)
                if let curve = try parseElastic(j, job: job, fleet: fleet) {
                    // Work is time at full size: an elastic model job's full-size step includes
                    // its all-reduce (the curve's W / speedup(W)), which its rate no longer adds.
                    if j["elastic"] != nil, let full = curve.last, full > 0 {
                        job.work = .seconds(job.work.seconds * Double(size) / full)
                    }
                    job.elasticSpeedup = curve
                }
                job.statisticalEfficiency = try parseEfficiency(j, job: job)
                job.deadline = try parseDeadline(j, submit: job.submit)
                job.resources = try parseResources(j)
                jobs.append(job)
                continue
            }
            if let resources = j["resources"], j["workload"] != nil {
                throw reader.error(at: resources, "'resources' (a CPU and memory profile) is for simulated jobs; a real workload's speed is its own")
            }
            if let deadline = j["deadline"], j["workload"] != nil {
                throw reader.error(at: deadline, "'deadline' is for simulated jobs; a real workload has none")
            }
            if let key = j.present(["speedup", "elastic", "statistical_efficiency"]).first, j["workload"] != nil {
                throw reader.error(at: j[key], "'\(key)' is for simulated jobs; a real workload's replicas form a fixed world")
            }
            if j["workload"] != nil {
                for (spec, realJob) in try parseRealWorkloadJob(j, at: item, name: name, worldSize: size, sizeNode: sizeNode, fleet: fleet) {
                    guard names.updateValue((), forKey: spec.name) == nil || spec.name == name else {
                        throw reader.error(at: j["workload"], "job name '\(spec.name)' is used twice")
                    }
                    jobs.append(spec)
                    real.append(realJob)
                }
                continue
            }
            if let samples = j["samples"] { throw reader.error(at: samples, "'samples' needs a 'model' to divide by its batch") }
            if let key = j.present(["requests", "output_size"]).first {
                throw reader.error(at: j[key], "'\(key)' is for batch inference: it needs a 'model' with 'mode: infer'")
            }
            let type = try acceleratorType(j["accelerator_type"], fleet: fleet)
            try checkFits(size, type: type, fleet: fleet, at: sizeNode)
            let memory = try j["memory_per_replica"].map { n throws(ScenarioError) in try reader.size(n, "memory_per_replica") } ?? 0
            try checkMemory(memory, type: type, fleet: fleet, at: j["memory_per_replica"])
            let (work, steps) = try parseWork(j, at: item)
            var plain = JobSpec(
                name: name,
                submit: try j["submit"].map { n throws(ScenarioError) in try reader.duration(n, "submit", positive: false) } ?? .zero,
                tier: try j["tier"].map { n throws(ScenarioError) in try reader.choice(n, "tier", SLATier.self) } ?? .standard,
                worldSize: size, acceleratorType: type, work: work, steps: steps,
                stateBytes: try j["state_size"].map { n throws(ScenarioError) in try reader.stateSize(n) } ?? 0,
                memoryPerReplicaBytes: memory)
            plain.elasticSpeedup = try parseElastic(j, job: plain, fleet: fleet)
            plain.statisticalEfficiency = try parseEfficiency(j, job: plain)
            plain.deadline = try parseDeadline(j, submit: plain.submit)
            plain.resources = try parseResources(j)
            jobs.append(plain)
        }
        guard !jobs.isEmpty else { throw reader.error(at: node, "workload.jobs is empty; list at least one job") }
        return (jobs, real)
    }

    /// `resources: {cpu_per_gpu, memory_per_gpu, speedup}`: the host CPU cores and memory the job
    /// wants per accelerator and its speedup when it gets them over the fair share
    /// (`ResourceProfile`; Synergy's per-model cpu_per_gpu, mem_per_gpu and speedup). All three
    /// are required; nil without the key.
    func parseResources(_ j: YAMLObject) throws(ScenarioError) -> ResourceProfile? {
        guard let node = j["resources"] else { return nil }
        let r = try reader.object(node, "resources", allowed: ["cpu_per_gpu", "memory_per_gpu", "speedup"])
        let cpus = try reader.double(try r.required("cpu_per_gpu"), "cpu_per_gpu (CPU cores per accelerator)", min: 0, exclusiveMin: true, max: 1e6)
        let memory = try hostMemory(try r.required("memory_per_gpu"), "memory_per_gpu", example: "62.5GiB")
        let speedup = try reader.double(try r.required("speedup"), "speedup (at the ideal CPU and memory, over the fair share)",
                                        min: 0, exclusiveMin: true, max: 1e3)
        return ResourceProfile(cpusPerAccelerator: cpus, memoryGiBPerAccelerator: memory, speedup: speedup)
    }

    /// `deadline`: an instant like `submit` (time from the run's start), after `submit`.
    func parseDeadline(_ j: YAMLObject, submit: VirtualTime) throws(ScenarioError) -> VirtualTime? {
        guard let node = j["deadline"] else { return nil }
        let deadline = try reader.duration(node, "deadline", positive: false)
        guard deadline > submit else {
            throw reader.error(at: node, "deadline \(deadline.seconds.clean)s must come after the job's submit \(submit.seconds.clean)s "
                + "(it is an instant from the run's start, like submit; omit it for best effort)")
        }
        return deadline
    }

    /// Work as `duration`, or as `steps` x `step_time`.
    func parseWork(_ j: YAMLObject, at node: YAMLNode) throws(ScenarioError) -> (VirtualTime, Int64?) {
        let hasDuration = j["duration"] != nil, hasSteps = j["steps"] != nil || j["step_time"] != nil
        guard hasDuration != hasSteps else {
            throw reader.error(at: node, hasDuration
                ? "a job gives its work as 'duration' or as 'steps' with 'step_time', not both"
                : "a job needs its work: 'duration', or 'steps' with 'step_time'")
        }
        if let d = j["duration"] { return (try reader.duration(d, "duration"), nil) }
        let stepsNode = try j.required("steps")
        let steps = Int64(try reader.int(stepsNode, "steps", min: 1))
        let stepTime = try reader.duration(try j.required("step_time"), "step_time")
        try checkWork(steps: steps, stepSeconds: stepTime.seconds, at: stepsNode)
        return (VirtualTime(microseconds: steps * stepTime.microseconds), steps)
    }

    /// Refuses, at `node`, `steps` steps of `stepSeconds` each when they come to more work
    /// than one job may carry (`Units.maxSeconds`): their product, not only each factor,
    /// must fit the simulated clock.
    func checkWork(steps: Int64, stepSeconds: Double, at node: YAMLNode?) throws(ScenarioError) {
        let seconds = Double(steps) * stepSeconds
        guard seconds <= Units.maxSeconds else {
            throw reader.error(at: node, "\(steps) steps of \(VirtualTime.seconds(stepSeconds)) come to \(Units.years(seconds)) of work; "
                               + "a job carries \(Units.maxSecondsExpected)")
        }
    }

    // MARK: Checks against the fleet

    func acceleratorType(_ node: YAMLNode?, fleet: FleetSpec) throws(ScenarioError) -> String {
        guard let node else {
            // Default: the type of the first cluster.
            return fleet.regions[0].clusters[0].acceleratorType
        }
        let type = try reader.string(node, "accelerator_type")
        let present = fleet.clusters.map(\.acceleratorType)
        guard present.contains(type) else {
            var seen: [String] = []
            for t in present where !seen.contains(t) { seen.append(t) }
            throw reader.error(at: node, "no cluster has accelerator type '\(type)'; the fleet has: \(seen.joined(separator: ", "))")
        }
        return type
    }

    /// A gang larger than every cluster of its type would block a FIFO queue forever
    /// (`JobFeasibility`, the rule trace jobs are skipped by).
    func checkFits(_ size: Int, type: String, fleet: FleetSpec, at node: YAMLNode) throws(ScenarioError) {
        if let problem = JobFeasibility.problem(worldSize: size, memoryPerReplicaBytes: 0, type: type, fleet: fleet) {
            throw reader.error(at: node, problem)
        }
    }

    /// A replica larger than one accelerator's memory could never start (`JobFeasibility`).
    func checkMemory(_ bytes: Int64, type: String, fleet: FleetSpec, at node: YAMLNode?) throws(ScenarioError) {
        if let problem = JobFeasibility.problem(worldSize: 0, memoryPerReplicaBytes: bytes, type: type, fleet: fleet) {
            throw reader.error(at: node, problem)
        }
    }
}

extension ScenarioParser {
    /// `trace: PATH` or `trace: {path, window: {from, to}, limit, time_scale, tiers, accelerator_type}`.
    /// A relative path is taken from the scenario file's folder.
    func parseTrace(_ node: YAMLNode, fleet: FleetSpec) throws(ScenarioError) -> TraceWorkload {
        var pathNode = node
        var t: YAMLObject?
        if node.scalar == nil {
            let o = try reader.object(node, "workload.trace", allowed: ["path", "window", "limit", "time_scale", "tiers", "accelerator_type"])
            pathNode = try o.required("path")
            t = o
        }
        let given = try reader.string(pathNode, "the trace path")
        let path = reader.resolve(given)
        let (header, jobs): (TraceHeader, [TraceJob])
        do { (header, jobs) = try TraceReader(path: path).readAll() } catch let error as TraceError {
            throw reader.error(at: pathNode, "trace \(given): \(error.description)")
        } catch {
            throw reader.error(at: pathNode, "trace \(given): \(error)")
        }
        var workload = TraceWorkload(path: path, header: header, jobs: jobs, windowFrom: nil, windowTo: nil, limit: nil,
                                     timeScale: 1, tiers: nil, defaultType: nil)
        guard let t else { return workload }
        if let w = t["window"] {
            let o = try reader.object(w, "window", allowed: ["from", "to"])
            workload.windowFrom = try o["from"].map { n throws(ScenarioError) in try reader.duration(n, "from", positive: false).seconds }
            workload.windowTo = try o["to"].map { n throws(ScenarioError) in try reader.duration(n, "to").seconds }
            if let from = workload.windowFrom, let to = workload.windowTo, to <= from {
                throw reader.error(at: o["to"], "the window must end after it starts")
            }
        }
        workload.limit = try t["limit"].map { n throws(ScenarioError) in try reader.int(n, "limit", min: 1) }
        workload.timeScale = try t["time_scale"].map { n throws(ScenarioError) in try reader.double(n, "time_scale", min: 1e-6, max: 1e6) } ?? 1
        workload.tiers = try t["tiers"].map { n throws(ScenarioError) in try parseTiers(n) }
        if let n = t["accelerator_type"] { workload.defaultType = try acceleratorType(n, fleet: fleet) }
        return workload
    }
}

extension ScenarioParser {
    /// `templates: PATH`: recorded jobs of a native trace (e.g. Traces/h100-workloads.jsonl)
    /// given as steps and a step time; a relative path is taken from the scenario's folder.
    /// Templates whose replica does not fit the accelerator type's memory are left out.
    func parseTemplates(_ node: YAMLNode, type: String, fleet: FleetSpec) throws(ScenarioError) -> [TemplateJob] {
        let given = try reader.string(node, "the templates path")
        let path = reader.resolve(given)
        let jobs: [TraceJob]
        do { jobs = try TraceReader(path: path).readAll().1 } catch {
            throw reader.error(at: node, "templates \(given): \(error)")
        }
        let templates = jobs.compactMap { job -> TemplateJob? in
            guard let step = job.stepTime,
                  JobFeasibility.problem(worldSize: 0, memoryPerReplicaBytes: job.memoryPerReplicaBytes ?? 0, type: type, fleet: fleet) == nil
            else { return nil }
            return TemplateJob(name: job.workload ?? job.id, stepSeconds: step, stateBytes: job.stateBytes ?? 0,
                               memoryPerReplicaBytes: job.memoryPerReplicaBytes ?? 0)
        }
        guard !templates.isEmpty else { throw reader.error(at: node, "templates \(given) has no job with a step time that fits a \(type)") }
        return templates
    }
}

extension ScenarioParser {
    /// A listed job whose replicas follow its devices (`JobSpec.elasticSpeedup`): `speedup`,
    /// its throughput on 1...world_size devices relative to one (a list of world_size
    /// numbers > 0), or `elastic: true` on a model-shaped training job, whose curve the cost
    /// model computes: n x one replica's step / the step of n replicas packed on as few
    /// nodes of its type as hold them (the gradient all-reduce included; n without
    /// communication). nil: a fixed world.
    func parseElastic(_ j: YAMLObject, job: JobSpec, fleet: FleetSpec) throws(ScenarioError) -> [Double]? {
        if job.inference != nil, let key = j.present(["speedup", "elastic"]).first {
            throw reader.error(at: j[key], "'\(key)' is for training whose replicas follow devices; a batch-inference job already runs at devices / world_size of its speed")
        }
        if let node = j["speedup"] {
            if let elastic = j["elastic"] { throw reader.error(at: elastic, "give 'speedup' or 'elastic', not both: 'speedup' makes the job elastic") }
            let items = try reader.sequence(node, "speedup")
            guard items.count == job.worldSize else {
                throw reader.error(at: node, "speedup needs one number per device count, 1 to world_size \(job.worldSize); found \(items.count)")
            }
            return try items.map { n throws(ScenarioError) in try reader.double(n, "a speedup", min: 0, exclusiveMin: true, max: 1e6) }
        }
        guard let node = j["elastic"] else { return nil }
        guard try reader.bool(node, "elastic") else { return nil }
        guard let shape = job.model, shape.mode == .train else {
            throw reader.error(at: node, "'elastic: true' needs a training 'model' to compute its speedup from; otherwise give 'speedup: [...]'")
        }
        guard let model = fleet.network.communication, let steps = job.steps, steps > 0, shape.gradientBytes > 0,
              let type = job.speeds?.first?.type ?? fleet.clusters.first?.acceleratorType,
              let cluster = fleet.clusters.first(where: { $0.acceleratorType == type }),
              let profile = fleet.profile(named: type) else {
            return (1...job.worldSize).map(Double.init)
        }
        let compute = job.work.seconds / Double(steps)
        return (1...job.worldSize).map { n in
            let nodes = (n + cluster.acceleratorsPerNode - 1) / cluster.acceleratorsPerNode
            let step = MultiAcceleratorStep(gradientBytes: shape.gradientBytes, computeSeconds: compute, accelerators: n, nodes: nodes,
                                            acceleratorsPerNode: cluster.acceleratorsPerNode, interconnect: profile.spec.interconnect, model: model)
            return Double(n) * compute / step.stepSeconds
        }
    }

    /// `statistical_efficiency: {initial_batch, max_batch, min_local_batch, max_local_batch,
    /// gradient_variance, gradient_square | noise_scale}` (samples; `StatisticalEfficiency`):
    /// Pollux's goodput inputs, for a job whose replicas follow its devices. nil: none given.
    func parseEfficiency(_ j: YAMLObject, job: JobSpec) throws(ScenarioError) -> StatisticalEfficiency? {
        guard let node = j["statistical_efficiency"] else { return nil }
        guard job.elasticSpeedup != nil else {
            throw reader.error(at: node, "'statistical_efficiency' is for a job whose replicas follow its devices: give 'speedup' (or 'elastic: true') too")
        }
        let keys = ["initial_batch", "max_batch", "min_local_batch", "max_local_batch", "gradient_variance", "gradient_square", "noise_scale"]
        let o = try reader.object(node, "statistical_efficiency", allowed: keys)
        func number(_ key: String) throws(ScenarioError) -> Double? {
            try o[key].map { n throws(ScenarioError) in try reader.double(n, "statistical_efficiency.\(key)", min: 0, max: 1e12) }
        }
        let initial = try reader.double(try o.required("initial_batch"), "statistical_efficiency.initial_batch", min: 0, exclusiveMin: true, max: 1e12)
        let most = try number("max_batch") ?? initial
        let low = try number("min_local_batch") ?? 1, high = try number("max_local_batch")
        let efficiency: StatisticalEfficiency
        if let noise = try number("noise_scale") {
            if let key = o.present(["gradient_variance", "gradient_square"]).first {
                throw reader.error(at: o[key], "give 'noise_scale' or 'gradient_variance' and 'gradient_square', not both")
            }
            efficiency = StatisticalEfficiency(initialBatch: initial, maxBatch: most, minLocalBatch: low, maxLocalBatch: high, noiseScale: noise)
        } else {
            guard let variance = try number("gradient_variance"), let square = try number("gradient_square") else {
                throw reader.error(at: node, "statistical_efficiency needs 'noise_scale' (samples), or 'gradient_variance' and 'gradient_square'")
            }
            efficiency = StatisticalEfficiency(initialBatch: initial, maxBatch: most, minLocalBatch: low, maxLocalBatch: high,
                                               gradientVariance: variance, gradientSquare: square)
        }
        if let problem = efficiency.problem { throw reader.error(at: node, "statistical_efficiency: \(problem)") }
        return efficiency
    }
}
