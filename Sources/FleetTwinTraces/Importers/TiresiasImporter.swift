/// Imports a Tiresias simulator job list (job_id, num_gpu, submit_time, iterations,
/// model_name, duration, interval; seconds): work is iterations x (duration / iterations)
/// when iterations are known, else the duration.
public struct TiresiasImporter {
    public let input: String

    public init(input: String) { self.input = input }

    public func run(out: String) throws -> ImportResult {
        var jobs = ImportedJobs()
        let required = ["job_id", "num_gpu", "submit_time", "iterations", "model_name", "duration"]
        try CSVFile(path: input, required: required).forEachRow(skip: { jobs.skip(line: $0, $1) }) { row in
            let id = row.string("job_id")
            guard !id.isEmpty else { throw BadRow("job_id is empty") }
            let gpus = try row.integer("num_gpu"), submit = try row.number("submit_time"), duration = try row.number("duration")
            let iterations = try row.optionalNumber("iterations") ?? 0
            guard gpus > 0 else { throw BadRow("num_gpu is not positive") }
            guard submit >= 0 else { throw BadRow("submit_time is negative") }
            guard duration > 0 else { throw BadRow("duration is not positive") }
            guard iterations == iterations.rounded(), iterations >= 0, iterations < 1e15 else { throw BadRow("iterations '\(row.string("iterations"))' is not a whole number") }
            let model = row.string("model_name")
            var job = TraceJob(id: id, submit: submit, worldSize: gpus, workload: model.isEmpty ? nil : model)
            if iterations > 0 {
                job.steps = Int(iterations)
                job.stepTime = duration / iterations
            } else {
                job.duration = duration
            }
            jobs.add(job, line: row.line)
        }
        return try jobs.write(to: out, name: "tiresias", source: "fleettwin import tiresias \(fileName(input))", notes: [
            "submit = submit_time - the earliest submit_time (seconds); work = iterations steps of duration/iterations seconds, or the duration when iterations is 0 or empty",
        ])
    }
}
