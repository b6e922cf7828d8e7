/// Imports the Alibaba PAI "openb" pod list (name, num_gpu, gpu_milli, pod_phase,
/// creation_time, deletion_time, scheduled_time; seconds) as whole-GPU jobs. FleetTwin does
/// not share GPUs, so a fractional GPU (0 < gpu_milli < 1000) becomes one whole GPU.
public struct OpenbPodImporter {
    public let input: String

    public init(input: String) { self.input = input }

    public func run(out: String) throws -> ImportResult {
        var jobs = ImportedJobs()
        var rounded = 0, neverScheduled = 0
        let required = ["name", "num_gpu", "gpu_milli", "pod_phase", "creation_time", "deletion_time", "scheduled_time"]
        try CSVFile(path: input, required: required).forEachRow(skip: { jobs.skip(line: $0, $1) }) { row in
            let name = row.string("name")
            guard !name.isEmpty else { throw BadRow("name is empty") }
            let gpus = try row.integer("num_gpu"), milli = try row.optionalNumber("gpu_milli") ?? 0
            guard gpus > 0 else { throw BadRow("no GPU") }
            guard let created = try row.optionalNumber("creation_time") else { throw BadRow("creation_time is empty") }
            guard let deleted = try row.optionalNumber("deletion_time") else { throw BadRow("deletion_time is empty") }
            guard deleted > created else { throw BadRow("deletion_time is not after creation_time") }
            let scheduled = try row.optionalNumber("scheduled_time")
            if milli > 0 && milli < 1000 { rounded += 1 }
            if scheduled == nil { neverScheduled += 1 }
            let phase = row.string("pod_phase")
            // The work is the time it ran (from scheduling); a pod never scheduled keeps its
            // whole life, having no better figure.
            let ran = scheduled.map { deleted - $0 } ?? (deleted - created)
            guard ran > 0 else { throw BadRow("deletion_time is not after scheduled_time") }
            jobs.add(TraceJob(id: name, submit: created, worldSize: gpus, duration: ran,
                              recorded: RecordedOutcome(start: scheduled, end: deleted, status: phase.isEmpty ? nil : phase)), line: row.line)
        }
        return try jobs.write(to: out, name: "alibaba-openb", source: "fleettwin import alibaba-openb \(fileName(input))", notes: [
            "\(rounded) pod\(rounded == 1 ? "" : "s") asked for a GPU fraction (0 < gpu_milli < 1000) and \(rounded == 1 ? "was" : "were") rounded up to 1 whole GPU: FleetTwin allocates whole accelerators only",
            "\(neverScheduled) pod\(neverScheduled == 1 ? "" : "s") never ran (empty scheduled_time): imported without a recorded start",
            "submit = creation_time - the earliest creation_time (seconds); duration = deletion_time - scheduled_time (the time it ran), or - creation_time for pods never scheduled; recorded = {start: scheduled_time, end: deletion_time, status: pod_phase}",
        ])
    }
}
