/// Imports the Philly per-job summary published with Pollux (philly.csv: timestamp, duration,
/// num_gpus, gpu_time, cluster). Its rows are not sorted and it has no job ids or outcomes:
/// ids are "philly-LINE", submit times are seconds from the earliest timestamp.
public struct PhillySummaryImporter {
    public let input: String
    /// The zone of zone-less timestamps (nil: UTC, said in a note).
    public let timeZone: WallClock.Zone?

    public init(input: String, timeZone: WallClock.Zone? = nil) {
        self.input = input
        self.timeZone = timeZone
    }

    public func run(out: String) throws -> ImportResult {
        var jobs = ImportedJobs()
        var clock = WallClock.Reader(zone: timeZone)
        try CSVFile(path: input, required: ["timestamp", "duration", "num_gpus", "cluster"]).forEachRow(skip: { jobs.skip(line: $0, $1) }) { row in
            let stamp = row.string("timestamp")
            guard WallClock.parse(stamp) != nil else { throw BadRow("timestamp '\(stamp)' is not a time like 2017-10-09 07:01:55") }
            let duration = try row.number("duration"), gpus = try row.integer("num_gpus")
            guard duration > 0 else { throw BadRow("duration is not positive") }
            guard gpus > 0 else { throw BadRow("num_gpus is not positive") }
            let submit = clock.seconds(stamp)!  // counted only for rows imported
            let cluster = row.string("cluster")
            jobs.add(TraceJob(id: "philly-\(row.line)", submit: submit, worldSize: gpus, duration: duration,
                              virtualCluster: cluster.isEmpty ? nil : cluster), line: row.line)
        }
        let origin = jobs.earliestSubmit ?? 0
        return try jobs.write(to: out, name: "philly", source: "fleettwin import philly-summary \(fileName(input))", notes: [
            "submit = seconds from the earliest timestamp, \(WallClock.format(origin)) UTC",
            "ids are philly-LINE (the input line): the summary has no job ids",
            "duration = the recorded run time in seconds, replayed as is; virtualCluster = cluster",
        ] + [clock.note].compactMap { $0 })
    }
}
