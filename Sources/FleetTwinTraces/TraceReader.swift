import Foundation

/// Reads a native trace: the header line, then one job per line, streamed. Every problem
/// is a `TraceError` naming the file and line; blank lines are ignored, and so are a UTF-8
/// byte-order mark and CRLF line ends (`LineReader`). A recorded outcome must keep
/// submit <= recorded start <= recorded end.
public struct TraceReader {
    public let path: String

    public init(path: String) { self.path = path }

    /// Reads the header and calls `body` with each job, in file order.
    public func read(_ body: (TraceJob, Int) throws -> Void) throws -> TraceHeader {
        let lines = LineReader(path: path)
        guard lines.isReadable else { throw TraceError(file: path, line: 0, message: "cannot read the trace file") }
        var header: TraceHeader?
        var ids: Set<String> = []  // membership only
        for line in lines {
            let text = line.text.trimmingCharacters(in: .whitespaces)
            if text.isEmpty { continue }
            let object = try parse(text, line: line.number)
            if header == nil {
                header = try readHeader(object, line: line.number)
                continue
            }
            let job = try readJob(object, line: line.number)
            guard ids.insert(job.id).inserted else { throw error(line.number, "job id '\(job.id)' appears twice") }
            try body(job, line.number)
        }
        guard let header else { throw TraceError(file: path, line: 1, message: "the trace is empty; expected a header line {\"format\": \"\(FleetTwinTraces.format)\", ...}") }
        return header
    }

    /// All jobs at once (for small traces and tests).
    public func readAll() throws -> (TraceHeader, [TraceJob]) {
        var jobs: [TraceJob] = []
        let header = try read { job, _ in jobs.append(job) }
        return (header, jobs)
    }

    private func error(_ line: Int, _ message: String) -> TraceError { TraceError(file: path, line: line, message: message) }

    private func parse(_ text: String, line: Int) throws -> [String: Any] {
        let value: Any
        do { value = try JSONSerialization.jsonObject(with: Data(text.utf8)) } catch {
            // A first line that opens an object but does not close it is most likely another
            // tool's pretty-printed JSON (sacct --json, a Philly log): say what to run.
            let hint = line == 1 && text.trimmingCharacters(in: .whitespaces).hasPrefix("{")
                ? "; a trace is JSON Lines, its header first: convert another tool's output with `fleettwin import` (for `sacct --json`: `fleettwin import slurm-sacct FILE --out TRACE`)"
                : ""
            throw self.error(line, "not a JSON object: \((error as NSError).localizedDescription)\(hint)")
        }
        guard let object = value as? [String: Any] else { throw self.error(line, "expected a JSON object") }
        return object
    }

    private func readHeader(_ o: [String: Any], line: Int) throws -> TraceHeader {
        guard o["format"] as? String == FleetTwinTraces.format else {
            throw error(line, "the first line must be the header {\"format\": \"\(FleetTwinTraces.format)\", \"version\": \(FleetTwinTraces.version), ...}")
        }
        guard let version = o["version"] as? Int, version == FleetTwinTraces.version else {
            throw error(line, "unsupported trace version \(o["version"].map { "\($0)" } ?? "(missing)"); this FleetTwin reads version \(FleetTwinTraces.version)")
        }
        var origin: Double?
        if let value = o["origin"] {
            guard let number = value as? NSNumber, !(value is Bool), number.doubleValue.isFinite, number.doubleValue >= 0 else {
                throw error(line, "origin must be the Unix time (seconds, >= 0) of the trace's time zero; found \(value)")
            }
            origin = number.doubleValue
        }
        return TraceHeader(name: o["name"] as? String ?? "", source: o["source"] as? String ?? "", notes: o["notes"] as? [String] ?? [],
                           origin: origin)
    }

    /// About 100 years: longer times are typos, and would overflow microsecond arithmetic.
    static let maxSeconds = 3.2e9

    static let jobKeys: Set<String> = [
        "id", "submit", "worldSize", "duration", "steps", "stepTime", "tier", "acceleratorType", "stateBytes",
        "memoryPerReplicaBytes", "workload", "user", "virtualCluster", "timeLimit", "partition", "qos", "nodes", "cpus", "eligible", "recorded",
        "requests", "weightBytes", "speedup", "parallelism", "deadline", "statisticalEfficiency", "resources",
    ]

    private func readJob(_ o: [String: Any], line: Int) throws -> TraceJob {
        if let unknown = o.keys.sorted().first(where: { !Self.jobKeys.contains($0) }) {
            throw error(line, "unknown field '\(unknown)'; expected: \(Self.jobKeys.sorted().joined(separator: ", "))")
        }
        guard let id = o["id"] as? String, !id.isEmpty else { throw error(line, "'id' must be a non-empty string") }
        func number(_ key: String) throws -> Double? {
            guard let v = o[key], !(v is NSNull) else { return nil }
            guard let n = v as? NSNumber, !isBoolean(n), n.doubleValue.isFinite else { throw error(line, "'\(key)' must be a number") }
            return n.doubleValue
        }
        func integer(_ key: String) throws -> Int64? {
            guard let d = try number(key) else { return nil }
            guard d == d.rounded(), abs(d) < 9e15 else { throw error(line, "'\(key)' must be a whole number") }
            return Int64(d)
        }
        func string(_ key: String) throws -> String? {
            guard let v = o[key], !(v is NSNull) else { return nil }
            guard let s = v as? String else { throw error(line, "'\(key)' must be a string") }
            return s
        }
        guard let submit = try number("submit"), submit >= 0, submit <= Self.maxSeconds else {
            throw error(line, "'submit' must be a number of seconds from 0 to 3.2e9 (about 100 years)")
        }
        guard let size = try integer("worldSize"), size >= 1, size <= 1_000_000 else { throw error(line, "'worldSize' must be a whole number >= 1") }
        let duration = try number("duration"), steps = try integer("steps"), stepTime = try number("stepTime")
        switch (duration, steps, stepTime) {
        case (let d?, nil, nil) where d > 0 && d <= Self.maxSeconds: break
        case (nil, let n?, let t?) where n >= 1 && t > 0 && Double(n) * t <= Self.maxSeconds: break
        default: throw error(line, "the work must be 'duration' (seconds > 0) or 'steps' (>= 1) with 'stepTime' (seconds > 0)")
        }
        let tier = try string("tier")
        if let tier, !["premium", "standard", "basic"].contains(tier) {
            throw error(line, "'tier' must be premium, standard or basic; found '\(tier)'")
        }
        var recorded: RecordedOutcome?
        if let r = o["recorded"], !(r is NSNull) {
            guard let r = r as? [String: Any] else { throw error(line, "'recorded' must be an object") }
            func rnum(_ key: String) throws -> Double? {
                guard let v = r[key], !(v is NSNull) else { return nil }
                guard let n = v as? NSNumber, !isBoolean(n) else { throw error(line, "'recorded.\(key)' must be a number") }
                return n.doubleValue
            }
            if let priority = try rnum("priority"), priority != priority.rounded() || abs(priority) > 9e15 {
                throw error(line, "'recorded.priority' must be a whole number; found \(priority)")
            }
            recorded = RecordedOutcome(start: try rnum("start"), end: try rnum("end"), status: r["status"] as? String,
                                       attempts: try rnum("attempts").map { Int($0) }, priority: try rnum("priority").map { Int64($0) })
            // The recorded timeline is submit <= start <= end (importers clamp or skip to make it so).
            if let start = recorded?.start, start < submit {
                throw error(line, "'recorded.start' \(start) is before 'submit' \(submit): a recorded run cannot start before it is submitted")
            }
            if let end = recorded?.end, end < (recorded?.start ?? submit) {
                throw error(line, "'recorded.end' \(end) is before \(recorded?.start != nil ? "'recorded.start'" : "'submit'") \(recorded?.start ?? submit)")
            }
        }
        let timeLimit = try number("timeLimit")
        if let timeLimit, !(timeLimit > 0 && timeLimit <= Self.maxSeconds) {
            throw error(line, "'timeLimit' must be seconds > 0 (omit it for no limit); found \(timeLimit)")
        }
        let nodes = try integer("nodes")
        if let nodes, !(nodes >= 1 && nodes <= size) {
            throw error(line, "'nodes' must be a whole number from 1 to the world size \(size); found \(nodes)")
        }
        let eligible = try number("eligible")
        if let eligible, !(eligible >= submit && eligible <= Self.maxSeconds) {
            throw error(line, "'eligible' \(eligible) must be at or after 'submit' \(submit)")
        }
        let requests = try integer("requests"), weightBytes = try integer("weightBytes")
        if let requests, requests < 1 { throw error(line, "'requests' must be a whole number >= 1 (a batch-inference job's requests); found \(requests)") }
        if let weightBytes {
            guard requests != nil else { throw error(line, "'weightBytes' is for batch inference: give 'requests' too, or remove it") }
            guard weightBytes >= 0 else { throw error(line, "'weightBytes' must be a whole number >= 0; found \(weightBytes)") }
        }
        var job = TraceJob(
            id: id, submit: submit, worldSize: Int(size), duration: duration, steps: steps.map(Int.init), stepTime: stepTime,
            tier: tier, acceleratorType: try string("acceleratorType"), stateBytes: try integer("stateBytes"),
            memoryPerReplicaBytes: try integer("memoryPerReplicaBytes"), workload: try string("workload"),
            user: try string("user"), virtualCluster: try string("virtualCluster"), timeLimit: timeLimit,
            partition: try string("partition"), qos: try string("qos"), nodes: nodes.map(Int.init), eligible: eligible, recorded: recorded)
        if let v = o["cpus"], !(v is NSNull) {
            let expected = "'cpus' (CPU cores allocated to the job in all) must be a whole number from 1 to 100000000"
            guard let n = v as? NSNumber, !isBoolean(n) else { throw error(line, "\(expected); found \(v is String ? "the string \"\(v)\"" : "\(v)")") }
            let d = n.doubleValue
            guard d == d.rounded(), d >= 1, d <= 100_000_000 else { throw error(line, "\(expected); found \(n)") }
            job.cpus = Int(d)
        }
        job.requests = requests
        job.weightBytes = weightBytes
        if let deadline = try number("deadline") {
            guard deadline > submit, deadline <= Self.maxSeconds else {
                throw error(line, "'deadline' \(deadline) must be seconds from the origin after 'submit' \(submit) (an instant, like 'submit'; omit it for best effort)")
            }
            job.deadline = deadline
        }
        if let v = o["speedup"], !(v is NSNull) {
            guard requests == nil else {
                throw error(line, "'speedup' is for training whose replicas follow devices; a batch-inference job ('requests') already runs at devices / worldSize of its speed")
            }
            guard let list = v as? [Any], list.count == Int(size),
                  let values = Optional(list.compactMap { ($0 as? NSNumber).flatMap { isBoolean($0) ? nil : $0.doubleValue } }),
                  values.count == list.count, values.allSatisfy({ $0.isFinite && $0 > 0 }) else {
                throw error(line, "'speedup' must be a list of \(size) numbers > 0 (the throughput on 1 to worldSize devices relative to one); found \((v as? [Any]).map { "a list of \($0.count)" } ?? "\(v)")")
            }
            job.speedup = values
        }
        if let v = o["statisticalEfficiency"], !(v is NSNull) {
            guard job.speedup != nil else {
                throw error(line, "'statisticalEfficiency' is for a job whose replicas follow devices: give 'speedup' too")
            }
            job.statisticalEfficiency = try statisticalEfficiency(v, line: line)
        }
        if let v = o["resources"], !(v is NSNull) {
            job.resources = try resources(v, line: line)
        }
        if let v = o["parallelism"], !(v is NSNull) {
            job.parallelism = try parallelism(v, worldSize: Int(size), line: line)
            if let key = job.requests != nil ? "requests" : job.speedup != nil ? "speedup" : nil {
                throw error(line, "'parallelism' is for training with a fixed world; remove '\(key)' or 'parallelism'")
            }
        }
        return job
    }

    /// `{"initialBatch": B0, "maxBatch", "minLocalBatch", "maxLocalBatch", "gradientVariance",
    /// "gradientSquare" | "noiseScale"}`: numbers from 0 to 1e12 (samples), B0 > 0, max batch
    /// >= B0, 1 <= min local <= max local, and either the noise scale or both gradient
    /// statistics (not both 0).
    private func statisticalEfficiency(_ v: Any, line: Int) throws -> TraceStatisticalEfficiency {
        let keys = TraceStatisticalEfficiency.keys
        guard let o = v as? [String: Any] else { throw error(line, "'statisticalEfficiency' must be an object with \(keys.joined(separator: ", "))") }
        if let unknown = o.keys.sorted().first(where: { !keys.contains($0) }) {
            throw error(line, "unknown field 'statisticalEfficiency.\(unknown)'; expected: \(keys.joined(separator: ", "))")
        }
        func number(_ key: String) throws -> Double? {
            guard let x = o[key], !(x is NSNull) else { return nil }
            guard let n = x as? NSNumber, !isBoolean(n), n.doubleValue.isFinite, n.doubleValue >= 0, n.doubleValue <= 1e12 else {
                throw error(line, "'statisticalEfficiency.\(key)' must be a number from 0 to 1e12; found \(x)")
            }
            return n.doubleValue
        }
        guard let initial = try number("initialBatch"), initial > 0 else {
            throw error(line, "'statisticalEfficiency.initialBatch' (B0, samples) is required and must be > 0")
        }
        let e = TraceStatisticalEfficiency(initialBatch: initial, maxBatch: try number("maxBatch"), minLocalBatch: try number("minLocalBatch"),
                                           maxLocalBatch: try number("maxLocalBatch"), gradientVariance: try number("gradientVariance"),
                                           gradientSquare: try number("gradientSquare"), noiseScale: try number("noiseScale"))
        if let most = e.maxBatch, most < initial { throw error(line, "'statisticalEfficiency.maxBatch' \(most) must be at least 'initialBatch' \(initial)") }
        let low = e.minLocalBatch ?? 1
        if low < 1 || (e.maxLocalBatch.map { $0 < low } ?? false) {
            throw error(line, "'statisticalEfficiency' needs 1 <= minLocalBatch (\(low)) <= maxLocalBatch (\(e.maxLocalBatch.map { "\($0)" } ?? "maxBatch"))")
        }
        if e.noiseScale != nil {
            guard e.gradientVariance == nil, e.gradientSquare == nil else {
                throw error(line, "'statisticalEfficiency': give 'noiseScale' or 'gradientVariance' and 'gradientSquare', not both")
            }
        } else {
            guard let variance = e.gradientVariance, let square = e.gradientSquare, variance + square > 0 else {
                throw error(line, "'statisticalEfficiency' needs 'noiseScale' (samples), or 'gradientVariance' and 'gradientSquare' (not both 0)")
            }
        }
        return e
    }

    /// `{"cpusPerGPU": c, "memoryGiBPerGPU": m, "speedup": s}`, all three required: CPUs in
    /// (0, 1e6], memory in [1/1024, 1048576] GiB, speedup in (0, 1e3] (`TraceResources`).
    private func resources(_ v: Any, line: Int) throws -> TraceResources {
        let keys = TraceResources.keys
        guard let o = v as? [String: Any] else { throw error(line, "'resources' must be an object with \(keys.joined(separator: ", "))") }
        if let unknown = o.keys.sorted().first(where: { !keys.contains($0) }) {
            throw error(line, "unknown field 'resources.\(unknown)'; expected: \(keys.joined(separator: ", "))")
        }
        func number(_ key: String, _ low: Double, _ lowIncluded: Bool, _ high: Double, _ meaning: String) throws -> Double {
            guard let x = o[key], let n = x as? NSNumber, !isBoolean(n), n.doubleValue.isFinite,
                  lowIncluded ? n.doubleValue >= low : n.doubleValue > low, n.doubleValue <= high else {
                throw error(line, "'resources.\(key)' (\(meaning)) is required and must be a number \(lowIncluded ? "from \(low)" : "> \(low)") to \(high); found \(o[key].map { "\($0)" } ?? "nothing")")
            }
            return n.doubleValue
        }
        return TraceResources(cpusPerGPU: try number("cpusPerGPU", 0, false, 1e6, "CPU cores per accelerator"),
                              memoryGiBPerGPU: try number("memoryGiBPerGPU", 1.0 / 1024, true, 1_048_576, "host memory per accelerator, GiB"),
                              speedup: try number("speedup", 0, false, 1e3, "at the ideal CPUs and memory, over the fair share"))
    }

    /// `{"tensor": T, "pipeline": P, "microBatches": m}`: whole numbers >= 1 (each defaults
    /// to 1), T x P dividing the world size.
    private func parallelism(_ v: Any, worldSize: Int, line: Int) throws -> TraceParallelism {
        let keys = ["microBatches", "pipeline", "tensor"]
        guard let o = v as? [String: Any] else { throw error(line, "'parallelism' must be an object with \(keys.joined(separator: ", "))") }
        if let unknown = o.keys.sorted().first(where: { !keys.contains($0) }) {
            throw error(line, "unknown field 'parallelism.\(unknown)'; expected: \(keys.joined(separator: ", "))")
        }
        func count(_ key: String) throws -> Int {
            guard let x = o[key], !(x is NSNull) else { return 1 }
            guard let n = x as? NSNumber, !isBoolean(n), n.doubleValue == n.doubleValue.rounded(), n.doubleValue >= 1, n.doubleValue <= 1e6 else {
                throw error(line, "'parallelism.\(key)' must be a whole number from 1 to 1000000; found \(x)")
            }
            return n.intValue
        }
        let p = TraceParallelism(tensor: try count("tensor"), pipeline: try count("pipeline"), microBatches: try count("microBatches"))
        guard worldSize % (p.tensor * p.pipeline) == 0 else {
            throw error(line, "'parallelism': tensor \(p.tensor) x pipeline \(p.pipeline) = \(p.tensor * p.pipeline) must divide worldSize \(worldSize)")
        }
        return p
    }
}

/// JSON true and false arrive as NSNumbers too; they are the ones of C type `char`. (`is Bool`
/// cannot tell: any NSNumber 0 or 1 bridges to Bool.)
private func isBoolean(_ n: NSNumber) -> Bool {
    String(cString: n.objCType) == "c"
}
