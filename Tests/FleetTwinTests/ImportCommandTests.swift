import Foundation
import Testing

/// `fleettwin import` as a user runs it: the report on stdout, --json, exit status 2 with a
/// located message for a broken file.
@Suite struct ImportCommandTests {
    @Test func printsWhereItWroteAndTheReport() throws {
        let out = try temporaryDirectory().appendingPathComponent("t.jsonl").path
        let run = try runFleettwin(["import", "tiresias", traceFixture("tiresias.csv"), "--out", out])
        #expect(run.status == 0)
        #expect(run.stdout.hasPrefix("""
            wrote \(out)
            rows read 7, jobs written 4, rows skipped 3
              1 skipped: duration is not positive (line 6)
              1 skipped: iterations '2.5' is not a whole number (line 7)
              1 skipped: num_gpu 'x' is not a number (line 5)
            notes:
            """))
    }

    @Test func jsonIsOneObjectWithTheCounts() throws {
        let out = try temporaryDirectory().appendingPathComponent("o.jsonl").path
        let run = try runFleettwin(["import", "alibaba-openb", traceFixture("openb-pods.csv"), "--out", out, "--json"])
        #expect(run.status == 0)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any])
        #expect(object["out"] as? String == out)
        #expect(object["rowsRead"] as? Int == 6)
        #expect(object["jobsWritten"] as? Int == 3)
        #expect(object["skippedCount"] as? Int == 3)
        let skipped = try #require(object["skipped"] as? [[String: Any]])
        #expect(skipped.first?["line"] as? Int == 4)
        #expect(skipped.first?["reason"] as? String == "no GPU")
    }

    /// A mapped CSV without a header line names the way out rather than a missing column.
    @Test func aHeaderlessCSVSaysItCannotBeMappedByName() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let input = dir.appendingPathComponent("tasks.csv").path
        try "j-1,tensorflow,1.0,Terminated,100.0,700.0,600.0,29.3,50.0,MISC\n".write(toFile: input, atomically: true, encoding: .utf8)
        let run = try runFleettwin(["import", "csv", input, "--map", "submit=start_time,end=end_time,start=start_time,gpus=plan_gpu",
                                    "--out", dir.appendingPathComponent("o.jsonl").path])
        #expect(run.status == 2)
        #expect(run.stderr.contains("tasks.csv:1: error: the header lacks the column 'start_time'"), "\(run.stderr)")
        #expect(run.stderr.contains("expected: start_time, end_time, plan_gpu (the first line names none of them"))
        #expect(run.stderr.contains("import alibaba-pai"))
    }

    @Test func aBrokenFileExitsWithTwoAndSaysWhere() throws {
        let dir = try temporaryDirectory()
        let input = dir.appendingPathComponent("jobs.csv").path
        try "job,gpus\n1,2\n".write(toFile: input, atomically: true, encoding: .utf8)
        let run = try runFleettwin(["import", "tiresias", input, "--out", dir.appendingPathComponent("t.jsonl").path])
        #expect(run.status == 2)
        #expect(run.stderr.hasPrefix("\(input):1: error: the header lacks the column 'job_id'"))
        let map = try runFleettwin(["import", "csv", input, "--map", "submit=job", "--out", dir.appendingPathComponent("c.jsonl").path])
        #expect(map.status == 2)
        #expect(map.stderr == "error: --map: 'gpus=COLUMN' is required (submit and gpus must be mapped, and duration or start and end)\n")
        let missing = try runFleettwin(["import", "philly", dir.appendingPathComponent("none.json").path, "--out", dir.appendingPathComponent("p.jsonl").path])
        #expect(missing.status == 2)
    }

    @Test func fleetsAreWrittenAsFleetFiles() throws {
        let out = try temporaryDirectory().appendingPathComponent("fleet.yaml").path
        let run = try runFleettwin(["import", "philly-vc", traceFixture("philly-vc.csv"), "--out", out, "--gpus-per-node", "2"])
        #expect(run.status == 0)
        #expect(run.stdout.contains("  - fleet: 1 region, 2 clusters, 6 nodes, 12 accelerators\n"))
    }
}
