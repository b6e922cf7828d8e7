import Foundation

/// Writes a native trace deterministically: keys in a fixed order, numbers in Swift's
/// shortest round-trip form, one job per line. Equal jobs give equal bytes.
public struct TraceWriter {
    private var output: FileHandle
    private var pending = ""
    public let path: String

    public init(path: String, header: TraceHeader) throws {
        guard FileManager.default.createFile(atPath: path, contents: nil), let handle = FileHandle(forWritingAtPath: path) else {
            throw TraceError(file: path, line: 0, message: "cannot create the trace file")
        }
        self.path = path
        output = handle
        var fields = [("format", Self.string(FleetTwinTraces.format)), ("version", String(FleetTwinTraces.version)),
                      ("name", Self.string(header.name)), ("source", Self.string(header.source))]
        if !header.notes.isEmpty { fields.append(("notes", "[" + header.notes.map(Self.string).joined(separator: ",") + "]")) }
        if let origin = header.origin { fields.append(("origin", Self.number(origin))) }
        append(Self.object(fields))
    }

    public mutating func write(_ job: TraceJob) {
        var f: [(String, String)] = [("id", Self.string(job.id)), ("submit", Self.number(job.submit)), ("worldSize", String(job.worldSize))]
        if let d = job.duration { f.append(("duration", Self.number(d))) }
        if let s = job.steps { f.append(("steps", String(s))) }
        if let t = job.stepTime { f.append(("stepTime", Self.number(t))) }
        if let v = job.tier { f.append(("tier", Self.string(v))) }
        if let v = job.acceleratorType { f.append(("acceleratorType", Self.string(v))) }
        if let v = job.stateBytes { f.append(("stateBytes", String(v))) }
        if let v = job.memoryPerReplicaBytes { f.append(("memoryPerReplicaBytes", String(v))) }
        if let v = job.workload { f.append(("workload", Self.string(v))) }
        if let v = job.user { f.append(("user", Self.string(v))) }
        if let v = job.virtualCluster { f.append(("virtualCluster", Self.string(v))) }
        if let v = job.timeLimit { f.append(("timeLimit", Self.number(v))) }
        if let v = job.partition { f.append(("partition", Self.string(v))) }
        if let v = job.qos { f.append(("qos", Self.string(v))) }
        if let v = job.nodes { f.append(("nodes", String(v))) }
        if let v = job.cpus { f.append(("cpus", String(v))) }
        if let v = job.eligible { f.append(("eligible", Self.number(v))) }
        if let v = job.requests { f.append(("requests", String(v))) }
        if let v = job.weightBytes { f.append(("weightBytes", String(v))) }
        if let v = job.speedup { f.append(("speedup", "[" + v.map(Self.number).joined(separator: ",") + "]")) }
        if let e = job.statisticalEfficiency {
            f.append(("statisticalEfficiency", Self.object(zip(TraceStatisticalEfficiency.keys, e.values).compactMap { key, value in
                value.map { (key, Self.number($0)) }
            })))
        }
        if let p = job.parallelism {
            f.append(("parallelism", Self.object([("tensor", String(p.tensor)), ("pipeline", String(p.pipeline)),
                                                  ("microBatches", String(p.microBatches))])))
        }
        if let v = job.deadline { f.append(("deadline", Self.number(v))) }
        if let r = job.resources {
            f.append(("resources", Self.object(zip(TraceResources.keys, [r.cpusPerGPU, r.memoryGiBPerGPU, r.speedup]).map { ($0, Self.number($1)) })))
        }
        if let r = job.recorded {
            var rf: [(String, String)] = []
            if let v = r.start { rf.append(("start", Self.number(v))) }
            if let v = r.end { rf.append(("end", Self.number(v))) }
            if let v = r.status { rf.append(("status", Self.string(v))) }
            if let v = r.attempts { rf.append(("attempts", String(v))) }
            if let v = r.priority { rf.append(("priority", String(v))) }
            f.append(("recorded", Self.object(rf)))
        }
        append(Self.object(f))
    }

    public mutating func close() throws {
        flush()
        try output.close()
    }

    private mutating func append(_ line: String) {
        pending += line
        pending += "\n"
        if pending.utf8.count > 1 << 20 { flush() }
    }

    private mutating func flush() {
        output.write(Data(pending.utf8))
        pending = ""
    }

    static func object(_ fields: [(String, String)]) -> String {
        "{" + fields.map { "\(string($0.0)):\($0.1)" }.joined(separator: ",") + "}"
    }

    /// Whole numbers without a fraction; others in Swift's shortest round-trip form.
    static func number(_ v: Double) -> String {
        v == v.rounded() && abs(v) < 1e15 ? String(Int64(v)) : String(v)
    }

    static func string(_ s: String) -> String {
        var out = "\""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20: out += String(format: "\\u%04x", scalar.value)
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }
}
