import FleetTwinScenario
import FleetTwinStore
import FleetTwinTraces
import Foundation
import Testing

/// Slurm's accounting in: `import slurm-sacct` on a fixture of the documented shape, and, on a
/// machine running the project's local Slurm (Tests/Slurm/local-slurm.sh; `.ci/run` starts it
/// and sets FLEETTWIN_REQUIRE_SLURM=1), jobs really submitted, run and read back from sacct.
@Suite(.serialized) struct SlurmTests {
    /// `sacct --json` of Slurm 22.05 (../shared/slurm/README.md): job 11 preempted once and
    /// rerun, 12 CPU-only, 13 still pending, 14 a task of array job 10.
    static let sacctFixture = #"""
    {"meta": {"plugin": {"type": "openapi/dbv0.0.38"}}, "errors": [], "jobs": [
     {"job_id": 11, "user": "ana", "account": "vision", "state": {"current": "PREEMPTED", "reason": "None"},
      "time": {"submission": 1000, "eligible": 1000, "start": 1010, "end": 1100, "limit": 60},
      "tres": {"allocated": [{"type": "cpu", "count": 1}, {"type": "gres", "name": "gpu", "id": 1001, "count": 4}], "requested": []},
      "array": {"job_id": 0, "task_id": null}},
     {"job_id": 12, "user": "bo", "account": "nlp", "state": {"current": "COMPLETED", "reason": "None"},
      "time": {"submission": 1005, "start": 1006, "end": 1050, "limit": 60},
      "tres": {"allocated": [{"type": "cpu", "count": 4}], "requested": [{"type": "cpu", "count": 4}]}},
     {"job_id": 11, "user": "ana", "account": "vision", "state": {"current": "COMPLETED", "reason": "BeginTime"},
      "time": {"submission": 1100, "eligible": 1111, "start": 1120, "end": 1420, "limit": 60},
      "tres": {"allocated": [{"type": "gres", "name": "gpu", "id": 1001, "count": 4}], "requested": []},
      "array": {"job_id": 0, "task_id": null}},
     {"job_id": 13, "user": "cy", "account": "nlp", "state": {"current": "PENDING", "reason": "Resources"},
      "time": {"submission": 1200, "start": 0, "end": 0, "limit": 60},
      "tres": {"allocated": [], "requested": [{"type": "gres", "name": "gpu", "count": 8}]}},
     {"job_id": 15, "user": "di", "account": "rl", "state": {"current": "COMPLETED", "reason": "None"},
      "time": {"submission": 1300, "start": 1300, "end": 1360, "limit": 60},
      "tres": {"allocated": [{"type": "gres", "name": "gpu", "count": 2}]}, "array": {"job_id": 10, "task_id": 3}}
    ]}
    """#

    @Test func sacctJobsJoinTheirRunsAndSkipWhatCannotReplay() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let input = dir.appendingPathComponent("sacct.json").path, out = dir.appendingPathComponent("s.jsonl").path
        try ("\u{FEFF}" + Self.sacctFixture).write(toFile: input, atomically: true, encoding: .utf8)
        let result = try SlurmSacctImporter(input: input).run(out: out)
        #expect(result.report.skipped.map(\.line) == [2, 4])
        #expect(result.report.skipped.map(\.reason) == ["no GPU in tres: a CPU-only job", "state PENDING: not finished when sacct ran"])
        let (header, jobs) = try TraceReader(path: out).readAll()
        #expect(jobs.map(\.id) == ["11", "10_3"])
        // Time zero is the earliest submission, on the Unix clock (for Slurm's will-run windows).
        #expect(header.origin == 1000)
        let requeued = jobs[0]
        #expect(requeued.submit == 0 && requeued.worldSize == 4 && requeued.duration == 300)
        #expect(requeued.recorded == RecordedOutcome(start: 10, end: 420, status: "COMPLETED", attempts: 2))
        #expect(requeued.user == "ana" && requeued.virtualCluster == "vision")
        #expect(requeued.timeLimit == 3600 && jobs[1].timeLimit == 3600)
        #expect(jobs[1].submit == 300 && jobs[1].worldSize == 2 && jobs[1].duration == 60)
        // CPUs from the first run's cpu TRES (allocated); none given for the array task.
        #expect(requeued.cpus == 1 && jobs[1].cpus == nil)
    }

    /// `sacct -P` (--parsable2 --duplicates): steps skipped, a requeued job's two rows joined,
    /// typed GPU TRES counted, a never-started cancelled job skipped; local times in a zone.
    @Test func sacctPipeOutputIsReadLikeItsJSON() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let input = dir.appendingPathComponent("sacct.psv").path, out = dir.appendingPathComponent("s.jsonl").path
        try """
            JobID|JobName|User|Account|Partition|QOS|State|Submit|Eligible|Start|End|Timelimit|AllocTRES|ReqTRES|NodeList|Priority
            11|train|ana|vision|gpu|normal|PREEMPTED|2026-11-29T10:00:00|2026-11-29T10:00:00|2026-11-29T10:00:10|2026-11-29T10:01:40|01:00:00|billing=1,cpu=1,gres/gpu=4,node=1|cpu=1,gres/gpu=4|n1|1
            11.batch|batch||vision|||CANCELLED|2026-11-29T10:00:10|2026-11-29T10:00:10|2026-11-29T10:00:10|2026-11-29T10:01:40||cpu=1,gres/gpu=4||n1|
            11|train|ana|vision|gpu|normal|COMPLETED|2026-11-29T10:01:40|2026-11-29T10:01:51|2026-11-29T10:02:00|2026-11-29T10:07:00|01:00:00|billing=1,cpu=1,gres/gpu:h100=2,gres/gpu:a100=2,node=1|cpu=1,gres/gpu=4|n2|1
            12|eval|bo|nlp|gpu|normal|CANCELLED by 0|2026-11-29T10:03:00|2026-11-29T10:03:00|Unknown|2026-11-29T10:04:00|01:00:00||cpu=1,gres/gpu=8|None assigned|1

            """.write(toFile: input, atomically: true, encoding: .utf8)
        let result = try SlurmSacctImporter(input: input, timeZone: try WallClock.Zone(parsing: "+01:00")).run(out: out)
        #expect(result.report.skipped.map(\.line) == [3, 5])
        #expect(result.report.skipped.last?.reason == "never started (state CANCELLED)")
        let (_, jobs) = try TraceReader(path: out).readAll()
        #expect(jobs.count == 1)
        #expect(jobs[0].worldSize == 4 && jobs[0].duration == 300)
        #expect(jobs[0].recorded == RecordedOutcome(start: 10, end: 420, status: "COMPLETED", attempts: 2, priority: 1))
        // What the job asked the scheduler for, from its first run.
        #expect(jobs[0].timeLimit == 3600 && jobs[0].partition == "gpu" && jobs[0].qos == "normal" && jobs[0].nodes == 1)
        #expect(jobs[0].cpus == 1)
        #expect(jobs[0].eligible == nil)
        #expect(result.notes.contains { $0.contains("UTC (sacct -P's datetimes)") && $0.contains("2026-11-29 09:00:00") })
        try "JobID|State|Submit\n1|COMPLETED|2026-11-29T10:00:00\n".write(toFile: input, atomically: true, encoding: .utf8)
        #expect(throws: TraceError.self) { try SlurmSacctImporter(input: input).run(out: out) }
    }

    @Test func notSacctOutputIsAClearError() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let input = dir.appendingPathComponent("squeue.json").path
        try #"{"meta": {}, "jobz": []}"#.write(toFile: input, atomically: true, encoding: .utf8)
        let run = try runFleettwin(["import", "slurm-sacct", input, "--out", dir.appendingPathComponent("o.jsonl").path])
        #expect(run.status == 2)
        #expect(run.stderr.contains("squeue.json:1: error: expected an object with a \"jobs\" list, as `sacct --json` prints"), "\(run.stderr)")
    }

    /// `sinfo --json` nodes: typed and untyped GPUs, a socket-bound gres, a CPU-only node.
    @Test func sinfoNodesBecomeAFleet() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let input = dir.appendingPathComponent("nodes.json").path, out = dir.appendingPathComponent("fleet.yaml").path
        try #"""
            {"meta": {}, "errors": [], "nodes": [
             {"name": "g1", "gres": "gpu:h100:8(S:0-1)", "partitions": ["gpu"], "state": "idle"},
             {"name": "g2", "gres": "gpu:h100:8(S:0-1)", "partitions": ["gpu", "high"], "state": "mixed"},
             {"name": "a1", "gres": "gpu:a100:4,shard:16", "partitions": ["gpu"], "state": "idle"},
             {"name": "u1", "gres": "gpu:2", "partitions": ["debug"], "state": "idle"},
             {"name": "c1", "gres": "", "partitions": ["cpu"], "state": "idle"}
            ]}
            """#.write(toFile: input, atomically: true, encoding: .utf8)
        let result = try SlurmNodesImporter(input: input).run(out: out)
        #expect(result.report.skipped.map(\.line) == [5])
        #expect(result.report.skipped.first?.reason == "node c1 has no GPU gres ('')")
        let fleet = try Scenario.loadFleet(path: out).fleet
        #expect(fleet.clusters.map(\.name) == ["gpu-x2", "a100-x4", "h100-x8"])
        #expect(fleet.clusters.map(\.nodes) == [1, 1, 2])
        #expect(fleet.clusters.map(\.acceleratorType) == ["h100-80gb", "a100-80gb", "h100-80gb"])
        #expect(result.notes.contains { $0.contains("untyped GPUs (gres.conf names no type) = h100-80gb, assumed") })
    }

    /// sinfo's `cpus` becomes the cluster's `cpus_per_node` (the `slurm` policy fits one-node
    /// jobs by CPU cores): written when every node of the cluster reports the same count
    /// (h100-x8, 112), omitted when they differ (a100-x4: 64 and 48) or none is reported
    /// (gpu-x2). The whole file is the golden one, Fixtures/traces/slurm-sinfo-fleet.yaml.
    @Test func sinfoCPUsBecomeCPUsPerNode() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let out = dir.appendingPathComponent("fleet.yaml").path
        let result = try SlurmNodesImporter(input: traceFixture("slurm-sinfo.json")).run(out: out)
        #expect(skips(result) == ["6: node c1 has no GPU gres ('')"])
        // Its rows are nodes, and they became the fleet, not jobs.
        #expect(result.report.summary.hasPrefix("nodes read 6, nodes used 5, nodes skipped 1\n"), "\(result.report.summary)")
        let written = try String(contentsOfFile: out, encoding: .utf8)
        #expect(written == (try String(contentsOfFile: traceFixture("slurm-sinfo-fleet.yaml"), encoding: .utf8)))
        let fleet = try Scenario.loadFleet(path: out).fleet
        #expect(fleet.clusters.map(\.name) == ["gpu-x2", "a100-x4", "h100-x8"])
        #expect(fleet.clusters.map(\.cpusPerNode) == [6, 12, 112])
    }

    /// A `cpus` that is not a positive whole number is an error naming the node's position.
    @Test func sinfoCPUsThatAreNotACountAreAClearError() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let input = dir.appendingPathComponent("nodes.json").path
        // Pretty-printed as sinfo prints it: the error names the line where node g2 is named.
        try """
            {"nodes": [
              {"name": "g1", "gres": "gpu:8", "cpus": 16},
              {"gres": "gpu:8",
               "name": "g2",
               "cpus": "many"}
            ]}
            """.write(toFile: input, atomically: true, encoding: .utf8)
        let out = dir.appendingPathComponent("f.yaml").path
        let run = try runFleettwin(["import", "slurm-nodes", input, "--out", out])
        #expect(run.status == 2)
        #expect(run.stderr.contains("nodes.json:4: error: node g2 (number 2 in \"nodes\"): expected \"cpus\" to be a positive whole number (sinfo's CPUs), got 'many'"), "\(run.stderr)")
        #expect(!FileManager.default.fileExists(atPath: out))
    }

    /// Another tool's JSON given where a trace is expected (the likeliest slip: sacct's output
    /// straight to `replay` or `repeatability`) is answered with the import to run.
    @Test func sacctOutputGivenAsATraceSaysToImportIt() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let input = dir.appendingPathComponent("sacct.json").path
        try "{\n  \"meta\": {},\n  \"jobs\": []\n}\n".write(toFile: input, atomically: true, encoding: .utf8)
        let run = try runFleettwin(["repeatability", input, input])
        #expect(run.status == 2)
        #expect(run.stderr.contains("sacct.json:1: error: not a JSON object"), "\(run.stderr)")
        #expect(run.stderr.contains("`fleettwin import slurm-sacct FILE --out TRACE`"), "\(run.stderr)")
    }

    /// The local Slurm is one cluster for the whole test process: tests that only submit
    /// jobs share it (`share()`), a test that changes its nodes (takes one down) holds it
    /// alone (`exclusive()`), so that no other test's job is killed, requeued or delayed by
    /// that. A readers-writer lock; release what you took (`defer { held.release() }`).
    final class Access: @unchecked Sendable {
        static let shared = Access()
        private let lock = UnsafeMutablePointer<pthread_rwlock_t>.allocate(capacity: 1)
        private init() { pthread_rwlock_init(lock, nil) }

        /// What was taken; `release()` gives it back.
        struct Held {
            fileprivate let lock: UnsafeMutablePointer<pthread_rwlock_t>
            func release() { pthread_rwlock_unlock(lock) }
        }

        func share() -> Held {
            pthread_rwlock_rdlock(lock)
            return Held(lock: lock)
        }

        func exclusive() -> Held {
            pthread_rwlock_wrlock(lock)
            return Held(lock: lock)
        }
    }

    static var localSlurm: Bool {
        ProcessInfo.processInfo.environment["SLURM_CONF"].map { FileManager.default.fileExists(atPath: $0) } ?? false
    }

    /// On CI the local Slurm is required: its absence is a failure, not a skip.
    @Test(.enabled(if: ProcessInfo.processInfo.environment["FLEETTWIN_REQUIRE_SLURM"] == "1"))
    func theLocalSlurmIsRunningWhereRequired() {
        #expect(Self.localSlurm, "FLEETTWIN_REQUIRE_SLURM=1 but SLURM_CONF names no running cluster (start it with Tests/Slurm/local-slurm.sh start)")
    }

    /// Three GPU jobs submitted to the real Slurm, run, and read back through sacct: the trace
    /// has their GPU counts, and their recorded runs last at least their sleep.
    @Test(.enabled(if: localSlurm, "needs the local Slurm: Tests/Slurm/local-slurm.sh start, then SLURM_CONF from its env.sh"))
    func jobsRunOnTheLocalSlurmComeBackThroughSacct() throws {
        let held = Access.shared.share()
        defer { held.release() }
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let tag = "ft-\(UUID().uuidString.prefix(8))"
        var ids: [String] = []
        for gpus in [2, 4, 8] {
            let out = try Self.shell("sbatch", "--parsable", "--gres=gpu:\(gpus)", "--time=1", "-J", "\(tag)-\(gpus)",
                                     "-o", "/dev/null", "--wrap", "sleep 2")
            ids.append(out.trimmingCharacters(in: .whitespacesAndNewlines))
        }
        let input = dir.appendingPathComponent("sacct.json").path
        var done = false
        for _ in 0..<120 where !done {
            Thread.sleep(forTimeInterval: 1)
            let json = try Self.shell("sacct", "--json", "-j", ids.joined(separator: ","))
            let jobs = (try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])?["jobs"] as? [[String: Any]] ?? []
            done = jobs.count >= 3 && jobs.allSatisfy { ($0["state"] as? [String: Any])?["current"] as? String == "COMPLETED" }
            if done { try json.write(toFile: input, atomically: true, encoding: .utf8) }
        }
        let queue = done ? "" : ((try? Self.shell("squeue")) ?? "squeue failed")
        try #require(done, "the three jobs did not complete within two minutes: \(queue)")
        // The same accounting as `sacct -P` gives the same jobs (this machine's clock is UTC here).
        // Both are read while the record stands still (Slurm may still update a finished job's
        // priority; a CI run read 0 in one and 1 in the other): JSON, pipe, JSON again, until
        // the two JSON reads agree.
        let pipe = dir.appendingPathComponent("sacct.psv").path, pipeOut = dir.appendingPathComponent("p.jsonl").path
        let fields = "JobID,JobName,User,Account,Partition,QOS,State,Submit,Eligible,Start,End,Timelimit,AllocTRES,ReqTRES,NodeList,Priority"
        for _ in 0..<20 {
            let before = try Self.shell("sacct", "--json", "-j", ids.joined(separator: ","))
            try Self.shell("TZ=UTC", "sacct", "--duplicates", "--parsable2", "--format=\(fields)", "-j", ids.joined(separator: ","))
                .write(toFile: pipe, atomically: true, encoding: .utf8)
            let after = try Self.shell("sacct", "--json", "-j", ids.joined(separator: ","))
            try after.write(toFile: input, atomically: true, encoding: .utf8)
            if Self.withoutClock(before) == Self.withoutClock(after) { break }
            Thread.sleep(forTimeInterval: 1)
        }
        let out = dir.appendingPathComponent("s.jsonl").path
        let run = try runFleettwin(["import", "slurm-sacct", input, "--out", out])
        #expect(run.status == 0, "\(run.stderr)")
        let (_, jobs) = try TraceReader(path: out).readAll()
        #expect(try runFleettwin(["import", "slurm-sacct", pipe, "--out", pipeOut]).status == 0)
        let (_, piped) = try TraceReader(path: pipeOut).readAll()
        #expect(piped.map(\.id) == jobs.map(\.id) && piped.map(\.worldSize) == jobs.map(\.worldSize))
        #expect(piped.map(\.recorded) == jobs.map(\.recorded))
        #expect(jobs.map(\.id).sorted() == ids.sorted())
        #expect(jobs.map(\.worldSize).sorted() == [2, 4, 8])
        // The cluster itself, from sinfo, as a fleet the trace replays on.
        let nodes = dir.appendingPathComponent("nodes.json").path, fleetFile = dir.appendingPathComponent("fleet.yaml").path
        try Self.shell("sinfo", "--json").write(toFile: nodes, atomically: true, encoding: .utf8)
        #expect(try runFleettwin(["import", "slurm-nodes", nodes, "--out", fleetFile]).status == 0)
        let fleet = try Scenario.loadFleet(path: fleetFile).fleet
        #expect(fleet.clusters.map(\.nodes).reduce(0, +) == 4 && fleet.clusters.allSatisfy { $0.acceleratorsPerNode == 8 })
        let replay = try runFleettwin(["replay", out, "--fleet", fleetFile, "--compare-recorded", "--db", dir.appendingPathComponent("r.sqlite").path])
        #expect(replay.status == 0 && replay.stdout.contains("fidelity over 3 jobs with a recorded start and end"), "\(replay.stdout)\(replay.stderr)")
        for job in jobs {
            let recorded = try #require(job.recorded)
            #expect((recorded.end ?? 0) - (recorded.start ?? 0) >= 2, "\(job)")
            #expect(recorded.status == "COMPLETED" && recorded.attempts == 1)
        }
    }

    /// The sweep recipe (docs/slurm-sweep.sh) as a real job array on the local Slurm: four
    /// array tasks, each a shard; merged, they equal the single-process sweep unit for unit.
    @Test(.enabled(if: localSlurm, "needs the local Slurm: Tests/Slurm/local-slurm.sh start, then SLURM_CONF from its env.sh"))
    func theSweepRecipeRunsAsARealJobArray() throws {
        let held = Access.shared.share()
        defer { held.release() }
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let sweep = fixture("sweep.yaml"), script = repositoryRoot.appendingPathComponent("docs/slurm-sweep.sh").path
        let bin = try fleettwinExecutable().deletingLastPathComponent().path
        let path = bin + ":" + (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin")
        let job = try Self.shell("sbatch", "--parsable", "--array=0-3", "--chdir=\(dir.path)", "--export=ALL,PATH=\(path)",
                                 "--cpus-per-task=1", "--mem=1G", "--time=5", "-o", "/dev/null", script, sweep)
            .trimmingCharacters(in: .whitespacesAndNewlines)
        var finished = false
        for _ in 0..<180 where !finished {
            Thread.sleep(forTimeInterval: 1)
            let states = try Self.shell("sacct", "-n", "-X", "-P", "-o", "State", "-j", job)
                .split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
            finished = states.count == 4 && states.allSatisfy { $0 == "COMPLETED" }
            try #require(!states.contains { ["FAILED", "CANCELLED", "TIMEOUT", "OUT_OF_MEMORY", "NODE_FAIL"].contains($0) },
                         "an array task failed: \(states)")
        }
        try #require(finished, "the job array \(job) did not finish within three minutes")
        let shards = (0..<4).map { dir.appendingPathComponent("sweep-shards/shard-\($0).sqlite").path }
        let merged = dir.appendingPathComponent("merged.sqlite").path, single = dir.appendingPathComponent("single.sqlite").path
        let merge = try runFleettwin(["merge", merged] + shards)
        #expect(merge.status == 0, "\(merge.stderr)")
        #expect(try runFleettwin(["sweep", sweep, "--db", single]).status == 0)
        func units(_ file: String) throws -> [String] {
            try ResultStore(path: file).sweepUnits().map { "\($0.unitId) \($0.eventLogHash)" }.sorted()
        }
        #expect(try units(merged).count == 8)
        #expect(try units(merged) == units(single))
    }

    /// The fidelity check against the real scheduler: 60 scripted jobs (sleeps of 2-40 s on
    /// 1-16 GPUs, time limits above their durations, two partitions, a preempting QOS) run on
    /// the local Slurm, come back through sacct, and are replayed under `slurm` with the
    /// cluster's own configuration. The bounds are loose, for a busy machine: every job
    /// accounted for, the run's invariants checked, most job pairs starting in the recorded
    /// order; the README gives the measured figures.
    @Test(.enabled(if: localSlurm, "needs the local Slurm: Tests/Slurm/local-slurm.sh start, then SLURM_CONF from its env.sh"))
    func theSlurmPolicyReplaysWhatTheLocalSlurmDid() throws {
        let held = Access.shared.share()
        defer { held.release() }
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let out = dir.path
        let script = repositoryRoot.appendingPathComponent("Tests/Slurm/fidelity-workload.sh").path
        let run = try runProcess(URL(fileURLWithPath: "/bin/bash"), [script, out, "60", "8"])
        #expect(run.status == 0, "\(run.stderr)")
        let imported = try runFleettwin(["import", "slurm-sacct", out + "/sacct.json", "--out", out + "/trace.jsonl"])
        #expect(imported.stdout.contains("rows read 60, jobs written 60, rows skipped 0") || imported.stderr.contains("rows read 60, jobs written 60, rows skipped 0"),
                "\(imported.stdout)\(imported.stderr)")
        #expect(try runFleettwin(["import", "slurm-nodes", out + "/sinfo.json", "--out", out + "/fleet.yaml"]).status == 0)
        let replay = try runFleettwin(["replay", out + "/trace.jsonl", "--fleet", out + "/fleet.yaml", "--policy", "slurm",
                                       "--placement", "best-fit", "--slurm-conf", out + "/slurm.conf", "--slurm-qos", out + "/qos.psv",
                                       "--compare-recorded", "--check", "--json", "--db", out + "/r.sqlite"])
        #expect(replay.status == 0, "\(replay.stderr)")
        let object = try JSONSerialization.jsonObject(with: Data(replay.stdout.utf8)) as! [String: Any]
        let schedule = object["scheduleFidelity"] as! [String: Any]
        #expect(schedule["jobs"] as? Int == 60)
        #expect((schedule["startOrderAgreement"] as! Double) >= 0.7)
        let makespan = schedule["makespan"] as! [String: Any]
        #expect(abs(makespan["relativeError"] as! Double) <= 0.25)
    }

    /// `twin eta --live` asks the local Slurm itself: four 8-GPU jobs fill its 32 GPUs for 20 s
    /// (limit 1 minute), a fifth waits; its forecast is after now and, with every job planned
    /// to its limit, no later than a minute and a bit from now.
    @Test(.enabled(if: localSlurm, "needs the local Slurm: Tests/Slurm/local-slurm.sh start, then SLURM_CONF from its env.sh"))
    func etaAsksTheLiveCluster() throws {
        let held = Access.shared.share()
        defer { held.release() }
        let tag = "eta-\(UUID().uuidString.prefix(8))"
        var ids: [String] = []
        defer { _ = try? Self.shell("scancel", ids.joined(separator: ",")) }
        for k in 0..<5 {
            let out = try Self.shell("sbatch", "--parsable", "--gres=gpu:8", "--time=1", "-J", "\(tag)-\(k)", "-o", "/dev/null", "--wrap", "sleep 20")
            ids.append(out.trimmingCharacters(in: .whitespacesAndNewlines))
        }
        var waiting = false
        for _ in 0..<30 where !waiting {
            Thread.sleep(forTimeInterval: 1)
            let states = try Self.shell("squeue", "-h", "-j", ids.joined(separator: ","), "-o", "%i %T")
            waiting = states.split(separator: "\n").filter { $0.hasSuffix("RUNNING") }.count == 4
                && states.contains("\(ids[4]) PENDING")
        }
        #expect(waiting, "the fifth job never waited behind four running ones")
        let now = Date().timeIntervalSince1970
        let out = try runFleettwin(["twin", "eta", "--live", "--slurm-conf", ProcessInfo.processInfo.environment["SLURM_CONF"]!, "--json", ids[4]])
        #expect(out.status == 0, "\(out.stderr)")
        let forecasts = try JSONSerialization.jsonObject(with: Data(out.stdout.utf8)) as? [[String: Any]] ?? []
        let p50 = forecasts.first?["p50"] as? Double ?? 0
        #expect(forecasts.count == 1 && p50 >= now - 2 && p50 <= now + 75, "\(out.stdout)")
    }

    /// Runs a Slurm client (or any command on PATH) with the test process's environment
    /// (SLURM_CONF); its standard output, or `SlurmCommandFailed`.
    @discardableResult
    /// The `jobs` of a `sacct --json` reply, keys sorted: what two reads must agree on (the
    /// reply's `meta` is left out).
    static func withoutClock(_ json: String) -> Data? {
        guard let object = try? JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any],
              let jobs = object["jobs"] else { return nil }
        return try? JSONSerialization.data(withJSONObject: jobs, options: [.sortedKeys])
    }

    static func shell(_ arguments: String...) throws -> String { try shell(arguments) }

    /// `shell` with the arguments as a list.
    @discardableResult
    static func shell(_ arguments: [String]) throws -> String {
        let run = try runProcess(URL(fileURLWithPath: "/usr/bin/env"), arguments)
        guard run.status == 0 else { throw SlurmCommandFailed(command: arguments.joined(separator: " "), output: run.stdout + run.stderr) }
        return run.stdout
    }

    struct SlurmCommandFailed: Error, CustomStringConvertible {
        var command: String
        var output: String
        var description: String { "\(command) failed: \(output)" }
    }
}
