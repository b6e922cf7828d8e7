import FleetTwinEngine
import FleetTwinMetrics
import FleetTwinScheduling
import FleetTwinStore
import Foundation
import Testing

/// `twin eta` and `twin score` through the CLI: forecasts from a captured session's
/// observation and from a snapshot file, their errors, and the score on a real captured run.
@Suite struct TwinForecastTests {
    static let lifecycle = fixture("twin/lifecycle")
    /// One up node of 4 GPUs; 7 runs there (limit 300 s, 100 s in); 9 and 8 wait.
    static let snapshotText = #"""
            {"time": 1000000000, "acceleratorType": "h100-80gb",
             "nodes": [{"name": "n1", "gpus": 4, "up": true}],
             "running": [{"id": "7", "gpus": 4, "submit": 999999850, "start": 999999900, "timeLimit": 300, "shares": [{"node": "n1", "gpus": 4}]}],
             "pending": [{"id": "9", "gpus": 4, "submit": 999999980, "timeLimit": 60, "reason": "Resources"},
                         {"id": "8", "gpus": 2, "submit": 999999970, "timeLimit": 60, "reason": "Priority"}]}
            """#

    /// Observation 1 of the lifecycle fixture (t = 1002.5): job 10 on n1 since 1000 with a
    /// 10-minute limit, 11 on n2 since 1002, 12 pending. With no job finished yet there is no
    /// history, so every job runs to its limit and 12 starts when 10's limit ends, at 1600.
    @Test func etaFromACapturedObservation() throws {
        let out = try runFleettwin(["twin", "eta", "--replay-polls", Self.lifecycle, "--poll", "1", "--json"])
        #expect(out.status == 0, "\(out.stderr)")
        let forecasts = try JSONSerialization.jsonObject(with: Data(out.stdout.utf8)) as! [[String: Any]]
        #expect(forecasts.count == 1)
        #expect(forecasts[0]["id"] as? String == "12" && forecasts[0]["p50"] as? Double == 1600 && forecasts[0]["p10"] as? Double == 1600)
        #expect(forecasts[0]["reason"] as? String == "Priority")
        let table = try runFleettwin(["twin", "eta", "--replay-polls", Self.lifecycle, "--poll", "1"])
        #expect(table.stdout.contains("12          +598s") && table.stdout.contains("run times at their time limits"))
    }

    /// A snapshot file: one up node of 4 GPUs; 7 runs to +200 (limit 300, 100 s in); 8 then 9.
    @Test func etaFromASnapshotFileAndItsErrors() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("now.json").path
        try Self.snapshotText.write(toFile: path, atomically: true, encoding: .utf8)
        let out = try runFleettwin(["twin", "eta", "--snapshot", path, "--json", "9"])
        #expect(out.status == 0, "\(out.stderr)")
        let forecasts = try JSONSerialization.jsonObject(with: Data(out.stdout.utf8)) as! [[String: Any]]
        #expect(forecasts.map { $0["id"] as? String } == ["9"] && forecasts[0]["p50"] as? Double == 1_000_000_260)
        let missing = try runFleettwin(["twin", "eta", "--snapshot", path, "42"])
        #expect(missing.status == 2 && missing.stderr.contains("job 42 is not pending"))
        let neither = try runFleettwin(["twin", "eta"])
        #expect(neither.status == 2 && neither.stderr.contains("--snapshot FILE, --replay-polls DIR or --live"))
        for (text, message) in [("{\"time\": 1}", "nodes is missing"),
                                ("{\"time\": 1, \"nodes\": [], \"running\": [], \"pending\": [{\"id\": \"1\", \"gpus\": 1, \"submit\": 0, \"timeLimt\": 60}]}",
                                 "unknown key 'timeLimt' in pending[0]"),
                                ("{\"time\": 1, \"nodes\": [], \"running\": [], \"pending\": [{\"id\": \"1\", \"gpus\": \"x\", \"submit\": 0}]}",
                                 "pending[0].gpus must be a number"),
                                ("{\"time\": 1,", "not JSON")] {
            try text.write(toFile: path, atomically: true, encoding: .utf8)
            let broken = try runFleettwin(["twin", "eta", "--snapshot", path])
            #expect(broken.status == 2 && broken.stderr.contains(message), "\(broken.stderr)")
        }
        let poll = try runFleettwin(["twin", "eta", "--replay-polls", Self.lifecycle, "--poll", "99"])
        #expect(poll.status == 2 && poll.stderr.contains("--poll 99"))
    }

    /// The snapshot of `etaFromASnapshotFileAndItsErrors`, forked with two more nodes: 8 and 9
    /// start at once instead of at +200 and +260, so the mean wait falls by exactly 230 s in
    /// every replica (an interval of 0).
    @Test func whatIfComparesPairedForks() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("now.json").path
        try Self.snapshotText.write(toFile: path, atomically: true, encoding: .utf8)
        let out = try runFleettwin(["twin", "whatif", "--snapshot", path, "--add-nodes", "2", "--replicas", "4", "--json"])
        #expect(out.status == 0, "\(out.stderr)")
        let result = try JSONSerialization.jsonObject(with: Data(out.stdout.utf8)) as! [String: Any]
        #expect(result["meanWaitUnchangedSeconds"] as? Double == 230 && result["meanWaitChangedSeconds"] as? Double == 0)
        #expect(result["meanWaitDifferenceSeconds"] as? Double == -230 && result["meanWaitDifferenceCI95"] as? Double == 0)
        let jobs = result["jobs"] as! [[String: Any]]
        #expect(jobs.map { $0["id"] as? String } == ["8", "9"] && jobs.map { $0["deltaSeconds"] as? Double } == [-200, -260])
        let none = try runFleettwin(["twin", "whatif", "--snapshot", path])
        #expect(none.status == 2 && none.stderr.contains("no change"))
        let unknown = try runFleettwin(["twin", "whatif", "--snapshot", path, "--fail-nodes", "n9"])
        #expect(unknown.status == 2 && unknown.stderr.contains("no node n9"))
        let badSet = try runFleettwin(["twin", "whatif", "--snapshot", path, "--set", "PreemptMode=SUSPEND"])
        #expect(badSet.status == 2 && badSet.stderr.contains("PreemptMode SUSPEND is not modelled"))
    }

    /// One node of 4 GPUs: 7 holds 2 until +200; 8 (4 GPUs, 60 s) waits ahead of 9 (2 GPUs,
    /// 600 s). Slurm's backfill will not start 9 now, since it would delay 8's reservation at
    /// +200: 8 runs at +200, 9 at +260. Under `las` 9 takes the free GPUs at once (greedy
    /// backfill) and 8 waits for it, to +600; `fifo` keeps Slurm's order.
    static let backfillSnapshot = #"""
            {"time": 1000000000, "acceleratorType": "h100-80gb",
             "nodes": [{"name": "n1", "gpus": 4, "up": true}],
             "running": [{"id": "7", "gpus": 2, "submit": 999999850, "start": 999999900, "timeLimit": 300, "shares": [{"node": "n1", "gpus": 2}]}],
             "pending": [{"id": "8", "gpus": 4, "submit": 999999970, "timeLimit": 60, "reason": "Resources"},
                         {"id": "9", "gpus": 2, "submit": 999999990, "timeLimit": 600, "reason": "Priority"}]}
            """#

    @Test func whatIfUnderAnotherPolicy() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("now.json").path
        try Self.backfillSnapshot.write(toFile: path, atomically: true, encoding: .utf8)
        func deltas(_ policy: String) throws -> [Double?] {
            let out = try runFleettwin(["twin", "whatif", "--snapshot", path, "--policy", policy, "--replicas", "2", "--json"])
            #expect(out.status == 0, "\(policy): \(out.stderr)")
            guard out.status == 0 else { return [] }
            let result = try JSONSerialization.jsonObject(with: Data(out.stdout.utf8)) as! [String: Any]
            #expect((result["changes"] as? [String]) == ["policy \(policy)"])
            return (result["jobs"] as! [[String: Any]]).map { $0["deltaSeconds"] as? Double }
        }
        #expect(try deltas("las") == [400, -260])
        #expect(try deltas("fifo") == [0, 0])
        // Every policy that can start from running jobs does, on the same fork.
        for name in PolicyRegistry.builtInNames where name != "slurm" && PolicyRegistry.named(name)!.make().adoptsRunningJobs {
            #expect(try deltas(name).count == 2, "\(name)")
        }
        let unknown = try runFleettwin(["twin", "whatif", "--snapshot", path, "--policy", "lsa"])
        #expect(unknown.status == 2 && unknown.stderr.contains("--policy must be one of: fifo"), "\(unknown.stderr)")
        let same = try runFleettwin(["twin", "whatif", "--snapshot", path, "--policy", "slurm"])
        #expect(same.status == 2 && same.stderr.contains("--policy slurm is the unchanged fork's policy already"), "\(same.stderr)")
        let gandiva = try runFleettwin(["twin", "whatif", "--snapshot", path, "--policy", "gandiva"])
        #expect(gandiva.status == 2 && gandiva.stderr.contains("cannot start from a cluster with running jobs"), "\(gandiva.stderr)")
        let external = try runFleettwin(["twin", "whatif", "--snapshot", path, "--policy", "external"])
        #expect(external.status == 2 && external.stderr.contains("cannot start from a cluster with running jobs"), "\(external.stderr)")
    }

    /// `--db`: both forks' replicas stored as runs and the pair as a comparison, which
    /// `report --compare` draws with the forks as its two "policies".
    @Test func whatIfIsStoredAsAComparison() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("now.json").path, db = dir.appendingPathComponent("w.sqlite").path
        try Self.backfillSnapshot.write(toFile: path, atomically: true, encoding: .utf8)
        let out = try runFleettwin(["twin", "whatif", "--snapshot", path, "--policy", "las", "--replicas", "3", "--db", db])
        #expect(out.status == 0 && out.stdout.contains("stored as comparison 1 in \(db)"), "\(out.stderr)")
        let store = try ResultStore(path: db)
        #expect(try store.comparisonRuns(1)?.count == 6)
        let runs = try runFleettwin(["runs", "--db", db])
        #expect(runs.stdout.components(separatedBy: "unchanged (slurm)").count == 4 && runs.stdout.components(separatedBy: "changed (las)").count == 4)
        let html = dir.appendingPathComponent("w.html").path
        let report = try runFleettwin(["report", "--compare", "1", "--db", db, "--out", html])
        #expect(report.status == 0, "\(report.stderr)")
        #expect(try String(contentsOfFile: html, encoding: .utf8).contains("changed (las)"))
    }

    /// Without a cluster to ask (no squeue on PATH), `--live` says so and writes nothing.
    @Test func etaLiveWithoutAClusterIsAClearError() throws {
        let out = try runFleettwin(["twin", "eta", "--live"], environment: ["PATH": "/nonexistent", "SLURM_CONF": "/nonexistent/slurm.conf"])
        #expect(out.status == 2 && out.stderr.contains("the live cluster did not answer"), "\(out.stderr)")
    }

    /// `--rest` on `twin eta` and `twin whatif` is refused where it cannot be used, before
    /// anything is asked: without `--live`, with an address that is not one, without a token;
    /// and a slurmrestd that does not answer is named.
    @Test func liveForecastsThroughSlurmrestdRefuseBadInput() throws {
        for command in [["twin", "eta"], ["twin", "whatif", "--add-nodes", "1"]] {
            let noLive = try runFleettwin(command + ["--rest", "http://127.0.0.1:1"], environment: ["SLURM_JWT": "t"])
            #expect(noLive.status == 2 && noLive.stderr.contains("--rest reads the live cluster: give --live with it"), "\(noLive.stderr)")
            let notAnAddress = try runFleettwin(command + ["--live", "--rest", "127.0.0.1:6820"], environment: ["SLURM_JWT": "t"])
            #expect(notAnAddress.status == 2 && notAnAddress.stderr.contains("expected slurmrestd's address"), "\(notAnAddress.stderr)")
            let noToken = try runFleettwin(command + ["--live", "--rest", "http://127.0.0.1:1"], environment: ["SLURM_JWT": ""])
            #expect(noToken.status == 2 && noToken.stderr.contains("--rest needs a token in SLURM_JWT"), "\(noToken.stderr)")
            let nobody = try runFleettwin(command + ["--live", "--rest", "http://127.0.0.1:1"], environment: ["SLURM_JWT": "t"])
            #expect(nobody.status == 2 && nobody.stderr.contains("the live cluster did not answer"), "\(nobody.stderr)")
        }
    }

    /// Fixture twin/series: one node of 8 GPUs, polls at 1000, 1010, 1020, 1030, 1040, 1060
    /// and 1070. Job 100 finished before (ran 30 s of its 60 s limit: the only history, ratio
    /// 0.5); 101 runs since 990 (limit 60 s) and ends at 1018; 102 (8 GPUs, limit 60 s) waits,
    /// runs from 1018 and ends at 1065. Forecasts at 1000 and 1010 (102 pending). The twin
    /// runs every job half its limit: 101 ends and 102 starts at 1020, 102 ends at 1050. The
    /// time-limit plan: 101 ends and 102 starts at 1050, 102 ends at 1110. Observed counts of
    /// {101, 102}, (pending GPUs, running jobs): 1010 (8, 1), 1020-1060 (0, 1), 1070 (0, 0).
    /// Pairs: 6 from 1000 and 5 from 1010 = 11. The twin misses only 102 running at 1060 (2
    /// errors of one job); the plan has 8 GPUs pending too many at 1020, 1030 and 1040 (48
    /// GPUs) and 102 running at 1070; persistence (8, 1) held misses 8 GPUs at 10 of the 11
    /// pairs and 102's end at 1070 twice.
    static let series = fixture("twin/series")

    /// Jobs 0 (4 GPUs, adopted running) and 1 (2 GPUs) and 2 (8 GPUs) waiting: 1 starts at
    /// 5 s, is requeued at 7 s and starts again at 9 s with 0 ending; 2 is declined at 12 s,
    /// an event past the 10 s horizon. Counts after each instant, unchanged ones left out.
    @Test func jobCountSeriesFoldsALogAndTakesMedians() {
        func at(_ s: Int64, _ kind: EventKind, _ job: Int32) -> EventRecord { EventRecord(time: .seconds(Double(s)), kind: kind, job: job) }
        let log = [at(0, .submitted, 0), at(0, .started, 0), at(1, .submitted, 1), at(5, .started, 1), at(7, .requeued, 1),
                   at(9, .started, 1), at(9, .completed, 0), at(12, .declined, 2)]
        let series = JobCountSeries.fold(log, gpus: [4, 2, 8], horizon: 10_000_000)
        typealias P = JobCountSeries.Point
        #expect(series.points == [P(offset: 0, pendingGPUs: 10, runningJobs: 1), P(offset: 5_000_000, pendingGPUs: 8, runningJobs: 2),
                                  P(offset: 7_000_000, pendingGPUs: 10, runningJobs: 1), P(offset: 9_000_000, pendingGPUs: 8, runningJobs: 1)])
        #expect(series.value(at: 6_999_999)?.runningJobs == 2 && series.value(at: 7_000_000)?.runningJobs == 1 && series.value(at: -1) == nil)
        // A log whose first event is later starts from every job waiting.
        #expect(JobCountSeries.fold([at(3, .started, 0)], gpus: [4], horizon: 10_000_000).points
                == [P(offset: 0, pendingGPUs: 4, runningJobs: 0), P(offset: 3_000_000, pendingGPUs: 0, runningJobs: 1)])
        // Median of three: each count's middle value at every offset where one changes (at
        // 10 only a has moved; at 30 c's change leaves the middles as they were).
        let a = JobCountSeries(points: [P(offset: 0, pendingGPUs: 8, runningJobs: 1), P(offset: 10, pendingGPUs: 0, runningJobs: 2)])
        let b = JobCountSeries(points: [P(offset: 0, pendingGPUs: 8, runningJobs: 1), P(offset: 20, pendingGPUs: 0, runningJobs: 2)])
        let c = JobCountSeries(points: [P(offset: 0, pendingGPUs: 8, runningJobs: 1), P(offset: 30, pendingGPUs: 4, runningJobs: 0)])
        #expect(JobCountSeries.median([a, b, c]).points
                == [P(offset: 0, pendingGPUs: 8, runningJobs: 1), P(offset: 20, pendingGPUs: 0, runningJobs: 2)])
    }

    @Test func seriesAreScoredAgainstTheObservedCounts() throws {
        let out = try runFleettwin(["twin", "score", "--replay-polls", Self.series, "--every", "1", "--replicas", "4", "--json"])
        #expect(out.status == 0, "\(out.stderr)")
        let score = try JSONSerialization.jsonObject(with: Data(out.stdout.utf8)) as! [String: Any]
        let baseline = score["baseline"] as! [String: Any], persistence = score["persistence"] as! [String: Any]
        #expect(score["forecasts"] as? Int == 2 && score["medianAbsStartErrorSeconds"] as? Double == 2)
        #expect(baseline["medianAbsStartErrorSeconds"] as? Double == 32)
        #expect(score["seriesPoints"] as? Int == 11 && score["seriesHorizonSeconds"] as? Double == 120)
        // JSON's decimal text read back: equal to 1e-12.
        func near(_ value: Any?, _ expected: Double) -> Bool { (value as? Double).map { abs($0 - expected) < 1e-12 } ?? false }
        #expect(near(score["pendingGPUSeriesMAE"], 0) && near(score["runningJobSeriesMAE"], 2.0 / 11))
        #expect(near(baseline["pendingGPUSeriesMAE"], 48.0 / 11) && near(baseline["runningJobSeriesMAE"], 2.0 / 11))
        #expect(near(persistence["pendingGPUSeriesMAE"], 80.0 / 11) && near(persistence["runningJobSeriesMAE"], 2.0 / 11))
        #expect(score["slurmEstimate"].map { ($0 as! [String: Any])["pendingGPUSeriesMAE"] == nil } == true)
        // A 30 s horizon keeps 1010-1030 from 1000 and 1020-1040 from 1010: the plan's 8
        // GPUs too many at 1020 and 1030, then at all three.
        let short = try runFleettwin(["twin", "score", "--replay-polls", Self.series, "--every", "1", "--replicas", "4", "--json", "--series-horizon", "30s"])
        let shortScore = try JSONSerialization.jsonObject(with: Data(short.stdout.utf8)) as! [String: Any]
        #expect(shortScore["seriesPoints"] as? Int == 6 && near(shortScore["runningJobSeriesMAE"], 0))
        #expect(near((shortScore["baseline"] as! [String: Any])["pendingGPUSeriesMAE"], 40.0 / 6))
        // Kept by a following twin (table twin_forecast_series), they score the same.
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let db = dir.appendingPathComponent("twin.sqlite").path
        let follow = try runFleettwin(["twin", "slurm", "--replay-polls", Self.series, "--db", db, "--quiet", "--forecast-every", "1", "--replicas", "4"])
        #expect(follow.status == 0, "\(follow.stderr)")
        let kept = try runFleettwin(["twin", "score", "--db", db, "--json"])
        #expect(kept.status == 0 && kept.stdout == out.stdout, "\(kept.stdout)\(kept.stderr)")
        let table = try runFleettwin(["twin", "score", "--db", db])
        #expect(table.stdout.contains("at the 11 later polls up to 120 s") && table.stdout.contains("pending-GPU MAE"), "\(table.stdout)")
        let refused = try runFleettwin(["twin", "score", "--db", db, "--series-horizon", "30s"])
        #expect(refused.status == 2 && refused.stderr.contains("--series-horizon make forecasts on --replay-polls"), "\(refused.stderr)")
    }

    static let capture = repositoryRoot.deletingLastPathComponent().appendingPathComponent("shared/slurm/capture-seed8").path

    /// A session that forecasts as it follows (`twin slurm --forecast-every`) keeps its
    /// forecasts, and `twin score --db` scores them against the starts it then observed; a
    /// session without forecasts, or no database, is a clear error.
    @Test func aFollowingSessionKeepsItsForecastsAndScoresThem() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let db = dir.appendingPathComponent("twin.sqlite").path
        let follow = try runFleettwin(["twin", "slurm", "--replay-polls", Self.lifecycle, "--db", db, "--quiet", "--forecast-every", "1"])
        #expect(follow.status == 0, "\(follow.stderr)")
        let out = try runFleettwin(["twin", "score", "--db", db, "--json"])
        #expect(out.status == 0, "\(out.stderr)")
        let score = try JSONSerialization.jsonObject(with: Data(out.stdout.utf8)) as! [String: Any]
        // Forecasts at the 4 polls with a pending job (job 11 at polls 0, 3 and 4, job 12 at
        // 1: at 1600, its predecessor's limit end), each scored against the start that followed.
        #expect(score["forecasts"] as? Int == 4 && (score["baseline"] as! [String: Any])["forecasts"] as? Int == 4)
        #expect((score["slurmEstimate"] as! [String: Any])["forecasts"] as? Int == 3)
        let bare = dir.appendingPathComponent("bare.sqlite").path
        _ = try runFleettwin(["twin", "slurm", "--replay-polls", Self.lifecycle, "--db", bare, "--quiet"])
        let none = try runFleettwin(["twin", "score", "--db", bare])
        #expect(none.status == 2 && none.stderr.contains("kept no forecasts"))
        let missing = try runFleettwin(["twin", "score", "--db", dir.appendingPathComponent("nope.sqlite").path])
        #expect(missing.status == 2 && missing.stderr.contains("no such database"))
    }

    /// On the captured run, forecasts kept while following equal those made afterwards on
    /// the same polls: the same score, byte for byte.
    @Test(.enabled(if: FileManager.default.fileExists(atPath: capture + "/polls/squeue-0000.json"), "needs ../shared/slurm/capture-seed8"))
    func keptForecastsScoreAsFreshOnes() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let db = dir.appendingPathComponent("twin.sqlite").path
        let conf = ["--slurm-conf", Self.capture + "/slurm.conf", "--slurm-qos", Self.capture + "/qos.psv"]
        #expect(try runFleettwin(["twin", "slurm", "--replay-polls", Self.capture + "/polls", "--db", db, "--quiet", "--forecast-every", "5"] + conf).status == 0)
        let kept = try runFleettwin(["twin", "score", "--db", db, "--json"])
        let fresh = try runFleettwin(["twin", "score", "--replay-polls", Self.capture + "/polls", "--every", "5", "--json"] + conf)
        #expect(kept.status == 0 && fresh.status == 0 && kept.stdout == fresh.stdout, "\(kept.stderr)\(fresh.stderr)")
    }

    /// The real captured run (48 jobs, polls every ~2 s): the twin's forecasts, made with run
    /// times learnt only from jobs finished before each forecast, beat both baselines.
    @Test(.enabled(if: FileManager.default.fileExists(atPath: capture + "/polls/squeue-0000.json"), "needs ../shared/slurm/capture-seed8"))
    func theTwinBeatsItsBaselinesOnACapturedRun() throws {
        let out = try runFleettwin(["twin", "score", "--replay-polls", Self.capture + "/polls", "--slurm-conf", Self.capture + "/slurm.conf",
                                    "--slurm-qos", Self.capture + "/qos.psv", "--every", "5", "--json"])
        #expect(out.status == 0, "\(out.stderr)")
        let score = try JSONSerialization.jsonObject(with: Data(out.stdout.utf8)) as! [String: Any]
        let baseline = score["baseline"] as! [String: Any], slurm = score["slurmEstimate"] as! [String: Any]
        #expect((score["forecasts"] as! Int) > 100)
        let median = score["medianAbsStartErrorSeconds"] as! Double
        #expect(median < baseline["medianAbsStartErrorSeconds"] as! Double && median < slurm["medianAbsStartErrorSeconds"] as! Double)
        let coverage = score["coverageP10P90"] as! Double
        #expect(coverage > 0 && coverage <= 1)
    }
}
