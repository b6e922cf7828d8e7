import FleetTwinScenario
import FleetTwinTraces
import Foundation
import Testing

/// Trace shapes people actually have (issue 14): byte-order marks and CRLF, trace jobs the
/// fleet can never run, recorded timelines out of order, epoch-number times in JSON logs,
/// zone-less datetimes, start/end columns, GPU fractions, and the Alibaba GPU-2020 tables.
/// Every fixture is small and hand-made here.
@Suite struct TraceShapeTests {
    /// Writes `text` (bytes as given) into a fresh folder; returns its path.
    static func file(_ name: String, _ text: String, byteOrderMark: Bool = false) throws -> String {
        let path = try temporaryDirectory().appendingPathComponent(name).path
        let bytes = (byteOrderMark ? [0xEF, 0xBB, 0xBF] : []) + Array(text.utf8)
        #expect(FileManager.default.createFile(atPath: path, contents: Data(bytes)))
        return path
    }

    static func crlf(_ text: String) -> String { text.replacingOccurrences(of: "\n", with: "\r\n") }

    @Test func aByteOrderMarkAndCRLFAreReadByEveryTextReader() throws {
        let tiresias = try Self.file("t.csv", Self.crlf("job_id,num_gpu,submit_time,iterations,model_name,duration,interval\nb1,1,0,100,m,200,30\nb2,2,10,,m,50,10\n"), byteOrderMark: true)
        let (t, _, tJobs) = try importAndRead { try TiresiasImporter(input: tiresias).run(out: $0) }
        #expect(skips(t).isEmpty && tJobs.map(\.id) == ["b1", "b2"])

        let mapped = try Self.file("m.csv", Self.crlf("submit,run_s,gpus\n0,10,1\n5,20,2\n"), byteOrderMark: true)
        let map = try MappedCSVImporter.ColumnMap(parsing: "submit=submit,duration=run_s,gpus=gpus")
        let (m, _, mJobs) = try importAndRead { try MappedCSVImporter(input: mapped, map: map, unit: .s, submitFormat: .seconds).run(out: $0) }
        #expect(skips(m).isEmpty && mJobs.count == 2)

        let native = try Self.file("n.jsonl", Self.crlf("{\"format\":\"fleettwin-trace\",\"version\":1,\"name\":\"n\"}\n{\"id\":\"a\",\"submit\":0,\"worldSize\":1,\"duration\":5}\n"), byteOrderMark: true)
        #expect(try TraceReader(path: native).readAll().1.map(\.id) == ["a"])

        let lines = try Self.file("h.jsonl", Self.crlf("{\"event\":\"step\",\"job\":\"a\",\"seconds\":1}\n{\"event\":\"step\",\"job\":\"a\",\"seconds\":0.5}\n{\"event\":\"step\",\"job\":\"a\",\"seconds\":0.5}\n"), byteOrderMark: true)
        let (h, _, hJobs) = try importAndRead { try H100WorkloadsImporter(input: lines).run(out: $0) }
        #expect(skips(h).isEmpty && hJobs.first?.steps == 2)

        let array = try Self.file("p.json", Self.crlf("[\n{\"jobid\":\"a\",\"status\":\"Pass\",\"submitted_time\":\"2017-10-03 00:00:00\",\"attempts\":[{\"start_time\":\"2017-10-03 00:00:10\",\"end_time\":\"2017-10-03 00:01:10\",\"detail\":[{\"ip\":\"x\",\"gpus\":[\"g0\"]}]}]}\n]\n"), byteOrderMark: true)
        let (p, _, _) = try importAndRead { try PhillyJobLogImporter(input: array).run(out: $0) }
        #expect(skips(p).isEmpty && p.report.jobsWritten == 1)
    }

    static func fleet(memory: String = "80GB") -> String {
        "fleet: { regions: [ { name: r, clusters: [ { name: c, nodes: 1, accelerators_per_node: 1, type: h100-80gb } ] } ] }"
    }

    @Test func traceJobsFollowTheRuleJobListsAreRefusedBy() throws {
        let trace = try Self.file("big.jsonl", """
            {"format":"fleettwin-trace","version":1,"name":"big"}
            {"id":"needs-200GB","submit":0,"worldSize":1,"duration":100,"memoryPerReplicaBytes":200000000000}
            {"id":"typed","submit":0,"worldSize":1,"duration":100,"acceleratorType":"h100-80gb","memoryPerReplicaBytes":200000000000}
            {"id":"fits","submit":1,"worldSize":1,"duration":10,"memoryPerReplicaBytes":1000000000}

            """)
        let listed: String
        do {
            _ = try Scenario.parse("""
                \(Self.fleet())
                workload: { jobs: [ { name: a, world_size: 1, duration: 1s, memory_per_replica: 200GB } ] }
                """, file: "s.yaml")
            Issue.record("a 200 GB replica was accepted in a jobs: list")
            return
        } catch { listed = error.message }
        let scenario = try Scenario.parse("\(Self.fleet())\nworkload: { trace: \(trace) }\n", file: "t.yaml")
        let (jobs, skipped) = scenario.workloadJobs(seed: 1)
        #expect(jobs.map(\.name) == ["fits"])
        #expect(skipped.map(\.id) == ["needs-200GB", "typed"])
        #expect(skipped.allSatisfy { $0.reason == listed })
        #expect(listed.hasPrefix("memory per replica 200000000000 bytes (200 GB) exceeds the ") && listed.hasSuffix(" of a h100-80gb"))

        let fleetFile = try Self.file("fleet.yaml", "regions: [ { name: r, clusters: [ { name: c, nodes: 1, accelerators_per_node: 1 } ] } ]\n")
        let db = try temporaryDirectory().appendingPathComponent("r.sqlite").path
        let out = try runFleettwin(["replay", trace, "--fleet", fleetFile, "--json", "--quiet", "--db", db])
        #expect(out.status == 0, "\(out.stderr)")
        let summary = try #require(try JSONSerialization.jsonObject(with: Data(out.stdout.utf8)) as? [String: Any])
        #expect(summary["jobs"] as? Int == 1 && summary["skippedJobs"] as? Int == 2)
        let listedSkips = try #require(summary["skipped"] as? [[String: String]])
        #expect(listedSkips.first == ["id": "needs-200GB", "reason": listed])
        let table = try runFleettwin(["replay", trace, "--fleet", fleetFile, "--quiet", "--db", db])
        #expect(table.stdout.contains("jobs skipped"), "\(table.stdout)")
    }

    @Test func recordedTimelinesAreCheckedByEveryImporter() throws {
        let csv = try Self.file("r.csv", """
            id,submit,start,end,g
            ok,0,10,20,1
            early,30,25,40,1
            backwards,50,60,55,1
            endsBeforeSubmit,100,,90,1

            """)
        let map = try MappedCSVImporter.ColumnMap(parsing: "id=id,submit=submit,start=start,end=end,gpus=g")
        let (result, header, jobs) = try importAndRead { try MappedCSVImporter(input: csv, map: map, unit: .s, submitFormat: .seconds).run(out: $0) }
        #expect(jobs.map(\.id) == ["ok", "early"])
        #expect(jobs[1].recorded?.start == 30 && jobs[1].duration == 15)
        #expect(skips(result) == ["4: end is before start", "5: no work: start is empty; the job has no recorded run"])
        #expect(header.notes.contains("1 row recorded a start before its submission: clamped to the submission, a recorded queueing delay of 0 (line 3)"))

        let log = try Self.file("p.json", """
            [
            {"jobid":"inOrder","submitted_time":0,"attempts":[{"start_time":10,"end_time":20,"detail":[{"gpus":["a"]}]},{"start_time":30,"end_time":40}]},
            {"jobid":"outOfOrder","submitted_time":0,"attempts":[{"start_time":10,"end_time":50,"detail":[{"gpus":["a"]}]},{"start_time":30,"end_time":60}]},
            {"jobid":"backwards","submitted_time":0,"attempts":[{"start_time":10,"end_time":5,"detail":[{"gpus":["a"]}]}]}
            ]
            """)
        let (p, _, pJobs) = try importAndRead { try PhillyJobLogImporter(input: log).run(out: $0) }
        #expect(pJobs.map(\.id) == ["inOrder"])
        #expect(skips(p) == ["3: attempt 2 starts before attempt 1 ends: attempts out of order", "4: attempt 1 ends before it starts"])

        let native = try Self.file("n.jsonl", """
            {"format":"fleettwin-trace","version":1,"name":"n"}
            {"id":"a","submit":10,"worldSize":1,"duration":5,"recorded":{"start":5,"end":12}}

            """)
        #expect(throws: TraceError(file: native, line: 2, message: "'recorded.start' 5.0 is before 'submit' 10.0: a recorded run cannot start before it is submitted")) {
            try TraceReader(path: native).readAll()
        }
    }

    @Test func jsonLogTimesMayBeEpochNumbers() throws {
        let log = try Self.file("p.json", """
            [{"jobid":"n","status":"Pass","submitted_time":1506988800,"attempts":[{"start_time":1506988830.5,"end_time":"2017-10-03 00:01:30","detail":[{"gpus":["a","b"]}]}]},
             {"jobid":"bad","submitted_time":true,"attempts":[{"start_time":1,"end_time":2,"detail":[{"gpus":["a"]}]}]}]
            """)
        let (result, header, jobs) = try importAndRead { try PhillyJobLogImporter(input: log).run(out: $0) }
        #expect(jobs == [TraceJob(id: "n", submit: 0, worldSize: 2, duration: 59.5,
                                  recorded: RecordedOutcome(start: 30.5, end: 90, status: "Pass", attempts: 1))])
        #expect(skips(result) == ["2: submitted_time is neither a time string nor a number of epoch seconds"])
        #expect(header.notes.contains { $0.contains("2 times were numbers, read as epoch seconds (UTC)") })
    }

    @Test func zoneLessTimesAreNotedAndReadInTheGivenZone() throws {
        let csv = try Self.file("z.csv", "id,t,d,g\na,2023-03-01 00:00:00+08:00,10,1\nb,2023-02-28 16:00:00,10,1\nc,2023-03-01 08:00:00,10,1\n")
        let map = try MappedCSVImporter.ColumnMap(parsing: "id=id,submit=t,duration=d,gpus=g")
        let (_, utcHeader, utc) = try importAndRead { try MappedCSVImporter(input: csv, map: map, unit: .s, submitFormat: .datetime).run(out: $0) }
        #expect(utc.map(\.submit) == [0, 0, 57_600])
        #expect(utcHeader.notes.contains("1 time carried a zone and was converted to UTC; 2 times had no zone and were read as UTC (no --time-zone given); zoned and zone-less times are mixed: give --time-zone if the zone-less ones are local"))
        for zone in ["+08:00", "Asia/Shanghai"] {
            let given = try WallClock.Zone(parsing: zone)
            let (_, header, jobs) = try importAndRead { try MappedCSVImporter(input: csv, map: map, unit: .s, submitFormat: .datetime, timeZone: given).run(out: $0) }
            #expect(jobs.map(\.id) == ["b", "a", "c"] && jobs.map(\.submit) == [0, 28_800, 57_600], "\(zone)")
            #expect(header.notes.contains { $0.contains("2 times had no zone and were read in \(zone) (--time-zone)") })
        }
        #expect(throws: WallClock.InvalidZone.self) { try WallClock.Zone(parsing: "+8 hours") }
        let out = try temporaryDirectory().appendingPathComponent("o.jsonl").path
        let bad = try runFleettwin(["import", "csv", csv, "--map", "id=id,submit=t,duration=d,gpus=g", "--submit-format", "datetime", "--time-zone", "Mars/Olympus", "--out", out])
        #expect(bad.status == 2)
        #expect(bad.stderr.hasPrefix("error: --time-zone: 'Mars/Olympus' is not a time zone: expected an offset such as +08:00"))
    }

    @Test func csvMapsStartAndEndAndCountsGPUsInAUnit() throws {
        let log = try Self.file("helios.csv", """
            job_id,user,vc,gpu_num,state,submit_time,start_time,end_time
            1,uA,vc1,1,COMPLETED,2020-06-09 18:41:01,2020-06-09 18:41:31,2020-06-09 19:41:31
            2,uB,vc2,0,COMPLETED,2020-06-09 18:42:00,2020-06-09 18:42:00,2020-06-09 18:52:00
            3,uC,vc1,8,CANCELLED,2020-06-09 18:50:00,2020-06-09 18:50:00,2020-06-09 18:50:00
            4,uA,vc1,2,RUNNING,2020-06-09 18:51:00,2020-06-09 18:51:00,

            """)
        let map = try MappedCSVImporter.ColumnMap(parsing: "submit=submit_time,start=start_time,end=end_time,gpus=gpu_num,id=job_id,user=user,vc=vc,status=state")
        let (result, _, jobs) = try importAndRead { try MappedCSVImporter(input: log, map: map, unit: .s, submitFormat: .datetime).run(out: $0) }
        #expect(jobs == [TraceJob(id: "1", submit: 0, worldSize: 1, duration: 3600, user: "uA", virtualCluster: "vc1",
                                  recorded: RecordedOutcome(start: 30, end: 3630, status: "COMPLETED"))])
        #expect(skips(result) == [
            "3: gpu_num is 0: a CPU-only job (no GPU to schedule)", "4: end_time equals start_time: a zero-length run",
            "5: no work: end_time is empty (status RUNNING); the job has no recorded run",
        ])

        let pai = try Self.file("pai.csv", "id,s,e,g\na,100,160,50\nb,100,130,400\nc,100,120,0.5\n")
        let paiMap = try MappedCSVImporter.ColumnMap(parsing: "id=id,submit=s,start=s,end=e,gpus=g")
        let (_, header, percent) = try importAndRead { try MappedCSVImporter(input: pai, map: paiMap, unit: .s, submitFormat: .seconds, gpuUnit: .percent).run(out: $0) }
        #expect(percent.map(\.worldSize) == [1, 4, 1] && percent.map(\.duration) == [60, 30, 20])
        #expect(header.notes.contains("2 rows asked for a fraction of a GPU: rounded up to whole GPUs, as FleetTwin allocates whole accelerators (lines 2, 4)"))
        let (_, wholeHeader, whole) = try importAndRead { try MappedCSVImporter(input: pai, map: paiMap, unit: .s, submitFormat: .seconds).run(out: $0) }
        #expect(whole.map(\.worldSize) == [50, 400, 1])
        #expect(wholeHeader.notes.contains { $0.hasPrefix("1 row asked for a fraction of a GPU") })
        let (_, _, milli) = try importAndRead { try MappedCSVImporter(input: pai, map: paiMap, unit: .s, submitFormat: .seconds, gpuUnit: .milli).run(out: $0) }
        #expect(milli.map(\.worldSize) == [1, 1, 1])
    }

    static let tasks = """
        j1,tensorflow,1.0,Terminated,1000.0,1060.0,600.0,29.3,50.0,MISC
        j2,worker,4.0,Terminated,1010.0,1110.0,400.0,20.0,100.0,V100
        j2,ps,1.0,Terminated,1005.0,1120.0,600.0,10.0,,
        j3,worker,2.0,Running,1300.0,,800.0,30.0,25.0,T4
        j4,evaluator,1.0,Terminated,1400.0,1500.0,100.0,1.0,,
        j5,worker,1.0,Failed,1600.0,1600.0,100.0,1.0,100.0,T4

        """

    @Test func alibabaPAIJoinsTasksToJobsWithOrWithoutAHeader() throws {
        let header = "job_name,task_name,inst_num,status,start_time,end_time,plan_cpu,plan_mem,plan_gpu,gpu_type\n"
        let expectedSkips = ["4: task 'worker' has no end_time (status Running): the job had not ended",
                             "5: no GPU: a CPU-only job (plan_gpu empty or 0 in every task)", "6: zero-length: its tasks end when they start"]
        for (text, offset) in [(Self.tasks, 0), (header + Self.tasks, 1)] {
            let path = try Self.file("tasks.csv", text)
            let (result, trace, jobs) = try importAndRead { try AlibabaPAIImporter(tasks: path).run(out: $0) }
            #expect(jobs == [
                TraceJob(id: "j1", submit: 0, worldSize: 1, duration: 60, recorded: RecordedOutcome(start: 0, end: 60, status: "Terminated")),
                TraceJob(id: "j2", submit: 5, worldSize: 4, duration: 115, recorded: RecordedOutcome(start: 5, end: 120, status: "Terminated")),
            ])
            #expect(skips(result) == expectedSkips.map { line in
                let n = Int(line.prefix { $0 != ":" })! + offset
                return "\(n)" + line.drop { $0 != ":" }
            })
            #expect(trace.notes.contains("1 row asked for a fraction of a GPU: rounded up to whole GPUs, as FleetTwin allocates whole accelerators (line \(1 + offset))"))
        }
        let tasks = try Self.file("tasks.csv", Self.tasks)
        let jobTable = try Self.file("jobs.csv", "j1,i1,alice,Terminated,990.0,1060.0\nj2,i2,bob,Failed,1000.0,1120.0\nj9,i9,carol,Terminated,1.0,2.0\n")
        let (_, joined, jobs) = try importAndRead { try AlibabaPAIImporter(tasks: tasks, jobTable: jobTable).run(out: $0) }
        #expect(jobs.map(\.id) == ["j1", "j2"] && jobs.map(\.submit) == [0, 10] && jobs.map(\.user) == ["alice", "bob"])
        #expect(jobs.map { $0.recorded?.start } == [10, 15] && jobs[1].recorded?.status == "Failed")
        #expect(joined.notes.contains("1 job of the job table has no task line: not imported (j9)"))

        let out = try temporaryDirectory().appendingPathComponent("pai.jsonl").path
        let run = try runFleettwin(["import", "alibaba-pai", tasks, "--jobs", jobTable, "--out", out])
        #expect(run.status == 0, "\(run.stderr)")
        // The report counts jobs (task lines grouped), and says so.
        #expect(run.stdout.contains("records read 5 (a job per job_name, its task lines grouped, or an unreadable task line; 6 task lines), jobs written 2, records skipped 3"),
                "\(run.stdout)")
    }
}
