import FleetTwinTraces
import Foundation
import Testing

/// Each job importer on a hand-made fixture with the quirks of its format: unsorted rows,
/// CRLF, a trailing blank line or no final newline, empty fields, quoted commas, bad numbers.
@Suite struct ImporterTests {
    @Test func phillySummarySortsFromTheEarliestTimestampAndExplainsEverySkip() throws {
        let (result, header, jobs) = try importAndRead { try PhillySummaryImporter(input: traceFixture("philly-summary.csv")).run(out: $0) }
        #expect(jobs == [
            TraceJob(id: "philly-4", submit: 0, worldSize: 4, duration: 10, virtualCluster: "vc,quoted"),
            TraceJob(id: "philly-3", submit: 22384, worldSize: 2, duration: 2951, virtualCluster: "6214e9"),
            TraceJob(id: "philly-10", submit: 22384, worldSize: 1, duration: 30),
            TraceJob(id: "philly-2", submit: 25316, worldSize: 1, duration: 66, virtualCluster: "11cb48"),
        ])
        #expect(result.report.rowsRead == 9)
        #expect(skips(result) == [
            "5: duration is not positive", "6: num_gpus is not positive", "7: duration 'abc' is not a number",
            "8: expected 5 fields as in the header, found 4", "9: timestamp 'yesterday' is not a time like 2017-10-09 07:01:55",
        ])
        #expect(header.notes.first == "submit = seconds from the earliest timestamp, 2017-10-08 23:59:59 UTC")
        #expect(header.notes.last == "4 times had no zone and were read as UTC (no --time-zone given)")
    }

    @Test func tiresiasSplitsWorkIntoIterationsAndRenamesDuplicateIds() throws {
        let (result, header, jobs) = try importAndRead { try TiresiasImporter(input: traceFixture("tiresias.csv")).run(out: $0) }
        #expect(jobs == [
            TraceJob(id: "1", submit: 0, worldSize: 8, duration: 50, workload: "resnet50"),
            TraceJob(id: "line4-1", submit: 10, worldSize: 2, duration: 40),
            TraceJob(id: "0", submit: 30, worldSize: 1, steps: 100, stepTime: 2, workload: "vgg19"),
            TraceJob(id: "5", submit: 60, worldSize: 2, steps: 3, stepTime: 3, workload: "bert"),
        ])
        #expect(skips(result) == ["5: num_gpu 'x' is not a number", "6: duration is not positive", "7: iterations '2.5' is not a whole number"])
        #expect(header.notes.contains("1 duplicate job id was prefixed with 'lineN-' (their input line) to keep ids unique: '1' at line 4"))
    }

    @Test func openbPodsRoundFractionsUpAndKeepWhatRan() throws {
        let (result, header, jobs) = try importAndRead { try OpenbPodImporter(input: traceFixture("openb-pods.csv")).run(out: $0) }
        #expect(jobs == [
            TraceJob(id: "pod-a", submit: 0, worldSize: 1, duration: 1000, recorded: RecordedOutcome(start: 0, end: 1000, status: "Running")),
            TraceJob(id: "pod-d", submit: 30, worldSize: 2, duration: 30, recorded: RecordedOutcome(end: 60, status: "Pending")),
            TraceJob(id: "pod-b", submit: 50, worldSize: 1, duration: 240, recorded: RecordedOutcome(start: 60, end: 300, status: "Running")),
        ])
        #expect(skips(result) == ["4: no GPU", "6: deletion_time is not after creation_time", "7: creation_time 'abc' is not a number"])
        #expect(header.notes[0].hasPrefix("1 pod asked for a GPU fraction (0 < gpu_milli < 1000) and was rounded up to 1 whole GPU"))
        #expect(header.notes[1] == "1 pod never ran (empty scheduled_time): imported without a recorded start")
    }

    @Test func phillyJobLogStreamsTheArrayAndConvertsZonedTimes() throws {
        let (result, header, jobs) = try importAndRead { try PhillyJobLogImporter(input: traceFixture("philly-jobs.json")).run(out: $0) }
        #expect(jobs == [
            TraceJob(id: "application_1", submit: 0, worldSize: 4, duration: 3600, user: "u1", virtualCluster: "vc1",
                     recorded: RecordedOutcome(start: 89, end: 3689, status: "Pass", attempts: 1)),
            TraceJob(id: "application_4", submit: 29, worldSize: 1, duration: 30, user: "u1", virtualCluster: "vc1",
                     recorded: RecordedOutcome(start: 29, end: 59, status: "Failed", attempts: 1)),
            TraceJob(id: "application_2", submit: 55589, worldSize: 1, duration: 3600, user: "u2", virtualCluster: "vc2",
                     recorded: RecordedOutcome(start: 55889, end: 59489, status: "Killed", attempts: 2)),
        ])
        #expect(skips(result) == [
            "11: the first attempt has no start_time", "13: no attempts: the job never started",
            "14: the last attempt has no end_time", "15: not valid JSON",
        ])
        #expect(header.notes.contains("4 times carried a zone and were converted to UTC; 6 times had no zone and were read as UTC (no --time-zone given); zoned and zone-less times are mixed: give --time-zone if the zone-less ones are local"))
        #expect(header.notes.contains("1 job had no submitted_time ('None'): submitted at their first attempt's start"))
    }

    @Test func phillyJobLogThatIsNotOneArrayIsALocatedError() throws {
        let dir = try temporaryDirectory()
        let truncated = dir.appendingPathComponent("truncated.json").path, notArray = dir.appendingPathComponent("object.json").path
        try "[\n  {\"jobid\": \"a\",\n".write(toFile: truncated, atomically: true, encoding: .utf8)
        try "\n{\"jobid\": \"a\"}\n".write(toFile: notArray, atomically: true, encoding: .utf8)
        let out = dir.appendingPathComponent("out.jsonl").path
        #expect(throws: TraceError(file: truncated, line: 2, message: "the file ends inside the object that starts on line 2 (truncated?)")) {
            try PhillyJobLogImporter(input: truncated).run(out: out)
        }
        #expect(throws: TraceError(file: notArray, line: 2, column: 1, message: "expected a JSON array of job objects ('[')")) {
            try PhillyJobLogImporter(input: notArray).run(out: out)
        }
    }

    @Test func h100RecordingsBecomeTemplatesWithoutTheWarmUpStep() throws {
        let (result, header, jobs) = try importAndRead { try H100WorkloadsImporter(input: traceFixture("h100-mini.jsonl")).run(out: $0) }
        #expect(jobs == [
            TraceJob(id: "a", submit: 0, worldSize: 1, steps: 3, stepTime: 0.25, stateBytes: 1000, memoryPerReplicaBytes: 5000, workload: "a"),
            TraceJob(id: "c", submit: 0, worldSize: 1, steps: 2, stepTime: 0.5, workload: "c"),
        ])
        #expect(skips(result) == ["8: b: fewer than 2 steps recorded (the first is warm-up)", "9: not a JSON object", "14: unknown record event 'bogus'"])
        #expect(header.source == "fleettwin import h100-workloads h100-mini.jsonl; hand-made")
        #expect(header.notes == [
            "a: warm-up step 2.00 s; 3 steps after it: median 250.0 ms, p10 150.0 ms, p90 350.0 ms; checkpoint at step 2 of 0.0 MB saved in 500.0 ms, restored in 250.0 ms; peak memory 0.00 GiB",
            "c: warm-up step 1.00 s; 2 steps after it: median 500.0 ms, p10 300.0 ms, p90 700.0 ms; the steps span phases x x2, y x1, so the median is that of a mix",
        ])
    }

    @Test func anyCSVImportsThroughAColumnMap() throws {
        let map = try MappedCSVImporter.ColumnMap(parsing: "submit=start,duration=run_ms,gpus=gpus,id=Job ID,tier=prio,user=who")
        let importer = MappedCSVImporter(input: traceFixture("mapped.csv"), map: map, unit: .ms, submitFormat: .datetime)
        let (result, _, jobs) = try importAndRead { try importer.run(out: $0) }
        #expect(jobs == [
            TraceJob(id: "j2", submit: 0, worldSize: 1, duration: 1.5, user: "bob"),
            TraceJob(id: "j1", submit: 3600, worldSize: 2, duration: 60, tier: "premium", user: "alice"),
        ])
        #expect(skips(result) == [
            "4: prio 'urgent' is not premium, standard or basic", "5: start '' is not a time like 2017-10-09 07:01:55", "6: a quote is not closed",
        ])
    }

    @Test func columnMapsSayWhatIsWrong() {
        #expect(throws: MappedCSVImporter.InvalidColumnMap("'gpus=COLUMN' is required (submit and gpus must be mapped, and duration or start and end)")) {
            try MappedCSVImporter.ColumnMap(parsing: "submit=a,duration=b")
        }
        #expect(throws: MappedCSVImporter.InvalidColumnMap("unknown key 'size'; expected submit, gpus, duration, start, end, id, tier, user, vc, status")) {
            try MappedCSVImporter.ColumnMap(parsing: "submit=a,duration=b,size=c")
        }
        #expect(throws: MappedCSVImporter.InvalidColumnMap("'submit' is mapped twice")) {
            try MappedCSVImporter.ColumnMap(parsing: "submit=a,submit=b")
        }
    }

    @Test func aHeaderWithoutARequiredColumnIsALocatedError() throws {
        let map = try MappedCSVImporter.ColumnMap(parsing: "submit=start,duration=missing,gpus=gpus")
        let out = try temporaryDirectory().appendingPathComponent("out.jsonl").path
        let input = traceFixture("mapped.csv")
        #expect(throws: TraceError(file: input, line: 1, message: "the header lacks the column 'missing'; found: Job ID, start, run_ms, gpus, prio, who; expected: start, missing, gpus")) {
            try MappedCSVImporter(input: input, map: map, unit: .s, submitFormat: .datetime).run(out: out)
        }
    }

    @Test func numbersTheFormatCannotHoldAreSkippedRows() throws {
        let input = try temporaryDirectory().appendingPathComponent("huge.csv").path
        try """
            job_id,num_gpu,submit_time,iterations,model_name,duration,interval
            a,2000000,0,1,m,10,0
            b,1,0,1e300,m,10,0
            c,1,1e400,1,m,10,0
            d,1,0,0,m,1e300,0
            e,1,4e9,0,m,10,0
            f,1,0,0,m,10,0
            """.write(toFile: input, atomically: true, encoding: .utf8)
        let (result, _, jobs) = try importAndRead { try TiresiasImporter(input: input).run(out: $0) }
        #expect(jobs.map(\.id) == ["f"])
        #expect(skips(result) == [
            "2: 2000000 GPUs is more than a trace job may ask for (1000000)", "3: iterations '1e300' is not a whole number",
            "4: submit_time '1e400' is not a number", "5: the work is not between 0 and 3.2e9 s (about 100 years)",
            "6: submitted over 3.2e9 s (about 100 years) after the first submission",
        ])
    }

    @Test func sameInputGivesTheSameBytes() throws {
        let dir = try temporaryDirectory()
        let first = dir.appendingPathComponent("1.jsonl").path, second = dir.appendingPathComponent("2.jsonl").path
        _ = try PhillyJobLogImporter(input: traceFixture("philly-jobs.json")).run(out: first)
        _ = try PhillyJobLogImporter(input: traceFixture("philly-jobs.json")).run(out: second)
        #expect(FileManager.default.contents(atPath: first) == FileManager.default.contents(atPath: second))
    }
}
