import Foundation

/// Turns the step-level H100 recordings (h100-workloads.jsonl: start, step, phase,
/// checkpoint, end and source records; see Traces/README.md) into one job template per
/// recorded job: steps and the median step time after the warm-up step, the checkpoint's
/// bytes and the peak memory. A row here is a job (located at its first record); a record
/// that names no job or cannot be read is a skipped row of its own.
public struct H100WorkloadsImporter {
    public let input: String

    public init(input: String) { self.input = input }

    struct Recording {
        var name: String
        var line: Int
        var steps: [(seconds: Double, phase: String?)] = []
        var phases: [(name: String, seconds: Double, items: Int?)] = []
        var checkpoints: [(step: Int?, bytes: Int64, save: Double, restore: Double)] = []
        var peakMemory: Int64?
    }

    public func run(out: String) throws -> ImportResult {
        let lines = LineReader(path: input)
        guard lines.isReadable else { throw TraceError(file: input, line: 0, message: "cannot read the file") }
        var recordings: [Recording] = []
        var index: [String: Int] = [:]  // looked up; output follows `recordings`
        var jobs = ImportedJobs()
        var sources: [String] = []
        for line in lines {
            let text = line.text.trimmingCharacters(in: .whitespaces)
            if text.isEmpty { continue }
            guard let record = (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String: Any] else {
                jobs.skip(line: line.number, "not a JSON object")
                continue
            }
            let event = record["event"] as? String ?? ""
            if event == "source" {
                if let s = record["text"] as? String { sources.append(s) }
                continue
            }
            guard let name = record["job"] as? String, !name.isEmpty, name != "*" else {
                jobs.skip(line: line.number, "a '\(event)' record that names no job")
                continue
            }
            if index[name] == nil {
                index[name] = recordings.count
                recordings.append(Recording(name: name, line: line.number))
            }
            if let reason = Self.apply(record, event: event, to: &recordings[index[name]!]) { jobs.skip(line: line.number, reason) }
        }
        var notes: [String] = []
        for r in recordings {
            let after = Array(r.steps.dropFirst())
            guard let warmUp = r.steps.first, !after.isEmpty else {
                jobs.skip(line: r.line, "\(r.name): fewer than 2 steps recorded (the first is warm-up)")
                continue
            }
            let sorted = after.map(\.seconds).sorted()
            let median = Self.quantile(sorted, 0.5)
            let biggest = r.checkpoints.max { $0.bytes < $1.bytes }
            jobs.add(TraceJob(id: r.name, submit: 0, worldSize: 1, steps: after.count, stepTime: median, stateBytes: biggest?.bytes,
                              memoryPerReplicaBytes: r.peakMemory, workload: r.name), line: r.line)
            notes.append(Self.note(r, warmUp: warmUp.seconds, sorted: sorted))
        }
        return try jobs.write(to: out, name: "h100-workloads", source: (["fleettwin import h100-workloads \(fileName(input))"] + sources).joined(separator: "; "),
                              notes: notes, origin: 0)
    }

    /// Adds one record to its job; returns why the record cannot be used, if so.
    static func apply(_ record: [String: Any], event: String, to r: inout Recording) -> String? {
        func number(_ key: String) -> Double? { (record[key] as? NSNumber).map(\.doubleValue).flatMap { $0.isFinite ? $0 : nil } }
        // Counts and byte sizes as whole numbers a 64-bit integer holds, else nil (never a trap).
        func whole(_ key: String) -> Int64? { number(key).flatMap { $0 >= 0 && $0 < 9e18 ? Int64($0) : nil } }
        switch event {
        case "start": return nil
        case "step":
            guard let s = number("seconds"), s > 0 else { return "a step record without positive seconds" }
            r.steps.append((s, record["phase"] as? String))
        case "phase":
            guard let s = number("seconds"), let name = record["phase"] as? String else { return "a phase record without phase and seconds" }
            r.phases.append((name, s, whole("items").map { Int($0) }))
        case "checkpoint":
            guard let b = whole("bytes"), let save = number("save_s"), let restore = number("restore_s") else {
                return "a checkpoint record without bytes, save_s and restore_s"
            }
            r.checkpoints.append((whole("step").map { Int($0) }, b, save, restore))
        case "end":
            r.peakMemory = whole("peak_memory_bytes")
        default:
            return "unknown record event '\(event)'"
        }
        return nil
    }

    /// Linear interpolation between closest ranks (the usual "type 7" quantile).
    static func quantile(_ sorted: [Double], _ q: Double) -> Double {
        let position = q * Double(sorted.count - 1)
        let low = Int(position.rounded(.down)), high = min(low + 1, sorted.count - 1)
        return sorted[low] + (sorted[high] - sorted[low]) * (position - Double(low))
    }

    static func note(_ r: Recording, warmUp: Double, sorted: [Double]) -> String {
        var parts = ["\(r.name): warm-up step \(seconds(warmUp))",
                     "\(sorted.count) steps after it: median \(seconds(quantile(sorted, 0.5))), p10 \(seconds(quantile(sorted, 0.1))), p90 \(seconds(quantile(sorted, 0.9)))"]
        var phaseOrder: [String] = [], perPhase: [String: Int] = [:]  // looked up; output follows phaseOrder
        for step in r.steps {
            guard let phase = step.phase else { continue }
            if perPhase[phase] == nil { phaseOrder.append(phase) }
            perPhase[phase, default: 0] += 1
        }
        if phaseOrder.count > 1 {
            parts.append("the steps span phases \(phaseOrder.map { "\($0) x\(perPhase[$0]!)" }.joined(separator: ", ")), so the median is that of a mix")
        }
        for p in r.phases {
            parts.append("phase \(p.name) \(seconds(p.seconds))" + (p.items.map { " (\($0) items)" } ?? ""))
        }
        for c in r.checkpoints {
            parts.append("checkpoint\(c.step.map { " at step \($0)" } ?? "") of \(String(format: "%.1f", Double(c.bytes) / 1e6)) MB saved in \(seconds(c.save)), restored in \(seconds(c.restore))")
        }
        if let m = r.peakMemory { parts.append("peak memory \(String(format: "%.2f", Double(m) / 1_073_741_824)) GiB") }
        return parts.joined(separator: "; ")
    }

    static func seconds(_ s: Double) -> String {
        s >= 1 ? String(format: "%.2f s", s) : String(format: "%.1f ms", s * 1000)
    }
}
