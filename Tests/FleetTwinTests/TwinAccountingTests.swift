import FleetTwinLive
import FleetTwinStore
import FleetTwinTraces
import Foundation
import Testing

/// The live twin's mirror with sacct's records beside squeue's (Fixtures/twin/sacct-*:
/// Slurm 22.05 shapes): runs squeue could not show are logged at sacct's times, never before
/// what the mirror already applied; and job identity across a controller restart that reuses
/// ids (Fixtures/twin/reuse), in the mirror and in `twin score`.
@Suite struct TwinAccountingTests {
    /// The events of a capture mirrored with its sacct files, or with them left out.
    static func events(_ capture: String, sacct: Bool = true) throws -> [[String]] {
        var polls = try CapturedPolls(directory: fixture(capture))
        var mirror = SlurmMirror()
        var steps: [[String]] = []
        while let poll = polls.next() {
            guard case .replies(var replies) = poll else { continue }
            if !sacct { replies.sacct = nil }
            steps.append(mirror.observe(replies).events.map(TwinMirrorTests.summary))
        }
        return steps
    }

    static func node() -> ObservedNode { ObservedNode(name: "n1", state: "mixed", gpus: 8, gres: "gpu:8") }

    /// Job 5 waits at 3000.5; by 3010.5 it ran 3001-3004, was preempted by job 6 and requeued.
    /// squeue shows only the raised restart count; sacct's PREEMPTED record gives the run.
    @Test func aRunStartedAndRequeuedBetweenPollsIsMirroredFromSacct() throws {
        #expect(try Self.events("twin/sacct-requeue") == [
            ["2985 submitted 4", "2990 started 4", "2995 submitted 5"],
            ["3001 completed 4", "3001 started 5", "3003 submitted 6", "3004 requeued 5", "3004 started 6"],
            ["3014 completed 6", "3016 started 5"],
            ["3026 completed 5"],
        ])
        // Without sacct the run is not seen, only said.
        #expect(try Self.events("twin/sacct-requeue", sacct: false)[1] == ["3001 completed 4", "3003 submitted 6", "3004 requeued 5", "3004 started 6"])
        let (steps, _) = try TwinMirrorTests.mirror(fixture("twin/sacct-requeue"))
        let job5 = steps.flatMap(\.events).filter { $0.job == 5 }
        #expect(job5.map { $0.details.note ?? "" } == ["", "seen only in sacct: the run began and was requeued between two polls",
                                                        "seen only in sacct: the run ended PREEMPTED at 3004", "", ""])
        #expect(job5[1].details.gpus == 8 && job5[1].details.nodes == "n1" && job5[2].details.restarts == 1)
        // The records the events came from are kept with the poll (all of job 5's, none of 4's or 6's).
        #expect(steps.map { $0.accounting.map { "\($0.id) \($0.state)" } } == [[], ["5 PREEMPTED", "5 PENDING"], [], []])
        // The export's recorded first start is the unseen run's, and two attempts.
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let db = dir.appendingPathComponent("t.sqlite").path, trace = dir.appendingPathComponent("t.jsonl").path
        #expect(try runFleettwin(["twin", "slurm", "--replay-polls", fixture("twin/sacct-requeue"), "--db", db, "--quiet"]).status == 0)
        #expect(try runFleettwin(["twin", "export", "--db", db, "--out", trace]).status == 0)
        let (_, jobs) = try TraceReader(path: trace).readAll()
        let five = try #require(jobs.first { $0.id == "5" })
        #expect(five.recorded?.start == 16 && five.recorded?.attempts == 2 && five.duration == 10)
    }

    /// Recorded from the project's local Slurm 22.05 (Fixtures/twin/sacct-real: `twin capture
    /// --interval 6s`, kept to jobs 13 and 15, the working directory renamed): job 13 started
    /// when a node freed at 761 and job 15 (QOS high) preempted it at 762, between the polls
    /// at 758.2 and 764.2. With sacct the mirror agrees with the last poll's sacct record by
    /// record: every submission, start, requeue (at the next run's submission) and end.
    @Test func aRecordedRequeueBetweenPollsAgreesWithSacct() throws {
        let (steps, _) = try TwinMirrorTests.mirror(fixture("twin/sacct-real"))
        let events = steps.flatMap(\.events)
        #expect(events.allSatisfy { !$0.isFault })
        let records = try SlurmReplies.runs(Data(contentsOf: URL(fileURLWithPath: fixture("twin/sacct-real/sacct-0005.json"))), source: "sacct")
        #expect(records.count == 3)
        for id in [13, 15] {
            let runs = records.filter { $0.id == id }, mine = events.filter { $0.job == id }
            #expect(mine.first?.kind == .submitted && mine.first?.time == runs[0].submit! * 1_000_000)
            #expect(mine.filter { $0.kind == .started }.map(\.time) == runs.map { $0.start! * 1_000_000 }, "job \(id)")
            #expect(mine.filter { $0.kind == .requeued }.map(\.time) == runs.dropFirst().map { $0.submit! * 1_000_000 }, "job \(id)")
            #expect(mine.last?.kind == .completed && mine.last?.time == runs.last!.end! * 1_000_000, "job \(id)")
        }
        #expect(events.filter { $0.job == 13 }.map(\.kind) == [.submitted, .started, .requeued, .started, .completed])
        // squeue alone: the run at 761 is unseen.
        #expect(try Self.events("twin/sacct-real", sacct: false).joined().filter { $0.hasSuffix(" 13") }
                == ["1796046753 submitted 13", "1796046762 requeued 13", "1796046773 started 13", "1796046783 completed 13"])
    }

    /// slurmrestd's replies (Fixtures/twin/rest: `twin capture --rest` on the local Slurm with
    /// slurmrestd, `GET /slurm/v0.0.38/jobs`, `/nodes` and `/slurmdb/v0.0.38/jobs` byte for
    /// byte but the working directory) are read as the commands' are: no fault, and the
    /// mirror's log agrees with the last accounting reply.
    @Test func slurmrestdRepliesAreReadAsTheCommandsAre() throws {
        let (steps, mirror) = try TwinMirrorTests.mirror(fixture("twin/rest"))
        #expect(steps.allSatisfy { $0.observation != nil && !$0.events.contains { $0.isFault } } && mirror.isIdle)
        let events = steps.flatMap(\.events).map(TwinMirrorTests.summary)
        #expect(events == ["1796047353 submitted 1", "1796047354 started 1", "1796047356 completed 1", "1796047741 submitted 2",
                           "1796047741 submitted 3", "1796047742 started 2", "1796047742 started 3", "1796047745 completed 3",
                           "1796047748 completed 2"])
        let records = try SlurmReplies.runs(Data(contentsOf: URL(fileURLWithPath: fixture("twin/rest/sacct-0002.json"))), source: "rest")
        #expect(records.map { "\($0.id) \($0.state) \($0.start ?? 0) \($0.end ?? 0) \($0.gpus)" }
                == ["2 COMPLETED 1796047742 1796047748 8", "3 COMPLETED 1796047742 1796047745 8"])
        #expect(steps[0].observation?.nodes.map(\.gpus) == [8, 8, 8, 8])
        let live = RestSlurm(base: "http://127.0.0.1:6820/", user: "root", token: "t", clock: { 0 })
        #expect(live.paths(since: 1_000_000, now: 3_500_000) == ("/slurm/v0.0.38/jobs", "/slurm/v0.0.38/nodes", "/slurmdb/v0.0.38/jobs?start_time=now-33"))
        #expect(live.base == "http://127.0.0.1:6820")
    }

    /// The polls stalled from 5000.5 to 5400.5, long enough for squeue to purge finished jobs:
    /// job 7's end, job 8's whole run and job 9 (never listed) come from sacct.
    @Test func aShortRunAndAJobSqueueNeverListedComeFromSacct() throws {
        #expect(try Self.events("twin/sacct-short") == [
            ["4985 submitted 7", "4990 started 7", "4995 submitted 8"],
            ["5010 completed 7", "5010 started 8", "5020 completed 8", "5030 submitted 9", "5030 started 9", "5040 completed 9", "5390 submitted 10"],
            ["5405 started 10"],
            ["5415 completed 10"],
        ])
        #expect(try Self.events("twin/sacct-short", sacct: false)[1] == ["5390 submitted 10", "5400.5 completed 7", "5400.5 cancelled 8"])
        let (steps, mirror) = try TwinMirrorTests.mirror(fixture("twin/sacct-short"))
        #expect(mirror.jobsSeen == 4 && mirror.isIdle && mirror.epoch == 0)
        let notes = steps[1].events.compactMap(\.details.note)
        #expect(notes == ["gone from squeue while running; its end from sacct",
                          "seen only in sacct: the run began and ended between two polls",
                          "gone from squeue while pending; its end from sacct",
                          "seen only in sacct: submitted, ran and left squeue between two polls",
                          "seen only in sacct: the run began and ended between two polls",
                          "never listed by squeue; its end from sacct"])
        #expect(steps[1].events.first { $0.job == 9 && $0.kind == .submitted }?.details.gpus == 2)
    }

    /// The sacct records behind a poll's events are stored with it and rebuild the mirror on
    /// `--resume`: job 9, known only from sacct, is the same job when squeue lists it later
    /// (same submit_time), where a mirror rebuilt from squeue alone would take it for an id
    /// used again (below the highest seen, 10) and a controller restart.
    @Test func theStoredSacctRecordsRebuildTheMirror() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let db = dir.appendingPathComponent("t.sqlite").path
        #expect(try runFleettwin(["twin", "slurm", "--replay-polls", fixture("twin/sacct-short"), "--db", db, "--quiet", "--max-polls", "2"]).status == 0)
        let stored = try ResultStore(existingPath: db).twinObservations(session: 1)
        #expect(stored.map { $0.accounting.map(\.id) } == [[], [7, 8, 9]] && stored.map(\.epoch) == [0, 0])
        let probe = SlurmObservation(time: 5_410_500_000, nodes: [Self.node()], jobs: [
            ObservedJob(id: 9, state: "COMPLETED", gpus: 2, nodes: "n1", submit: 5030, start: 5030, end: 5040),
            ObservedJob(id: 10, state: "PENDING", gpus: 4, submit: 5390)])
        var rebuilt = SlurmMirror(), squeueOnly = SlurmMirror()
        for observation in stored {
            _ = rebuilt.apply(observation.observation, accounting: observation.accounting)
            _ = squeueOnly.apply(observation.observation)
        }
        #expect(rebuilt.apply(probe).events.isEmpty)
        #expect(squeueOnly.apply(probe).events.map(\.kind).first == .controllerRestart)
    }

    /// Slurm records whole seconds: a sacct time in the second of the last applied observation
    /// is kept; one in an earlier second (here the job was pending at 1000.5, yet sacct says it
    /// ran 998-999) is logged at that observation, never before it.
    @Test func sacctTimesBeforeTheLastObservationAreLoggedAtIt() {
        for (start, end, expected) in [(998, 999, ["1000.5 started 1", "1000.5 completed 1"]), (1000, 1002, ["1000 started 1", "1002 completed 1"])] {
            var mirror = SlurmMirror()
            _ = mirror.apply(SlurmObservation(time: 1_000_500_000, nodes: [Self.node()], jobs: [
                ObservedJob(id: 1, state: "PENDING", gpus: 8, submit: 990), ObservedJob(id: 3, state: "PENDING", gpus: 8, submit: 995)]))
            let other = ObservedJob(id: 3, state: "PENDING", gpus: 8, submit: 995)
            let step = mirror.apply(SlurmObservation(time: 1_003_200_000, nodes: [Self.node()], jobs: [other]), accounting: [
                AccountedRun(id: 1, state: "COMPLETED", submit: 990, start: Int64(start), end: Int64(end), gpus: 8, nodes: "n1")])
            #expect(step.events.map(TwinMirrorTests.summary) == expected)
            if start == 998 {
                #expect(step.events[1].details.note == "gone from squeue while pending; its end from sacct; sacct recorded 999, before the last applied observation at 1000.500000: logged at it")
            }
        }
    }

    /// sacct answers after squeue: a run it records that squeue's reply does not count yet
    /// (restart_cnt not raised; here a run of under a second right after squeue answered at
    /// 20.1) waits for the next poll, and is then logged once, in its recorded second.
    @Test func aSacctRunNewerThanSqueuesReplyWaitsForTheNextPoll() {
        var mirror = SlurmMirror()
        let waiting = ObservedJob(id: 2, state: "PENDING", gpus: 8, submit: 5)
        _ = mirror.apply(SlurmObservation(time: 10_000_000, nodes: [Self.node()], jobs: [waiting]))
        let records = [AccountedRun(id: 2, state: "PREEMPTED", submit: 5, start: 20, end: 20, gpus: 8, nodes: "n1"),
                       AccountedRun(id: 2, state: "PENDING", submit: 20)]
        let early = mirror.apply(SlurmObservation(time: 20_100_000, nodes: [Self.node()], jobs: [waiting]), accounting: records)
        #expect(early.events.isEmpty && early.accounting.isEmpty)
        var requeued = waiting
        requeued.restarts = 1
        requeued.submit = 20
        let next = mirror.apply(SlurmObservation(time: 30_000_000, nodes: [Self.node()], jobs: [requeued]), accounting: records)
        #expect(next.events.map(TwinMirrorTests.summary) == ["20 started 2", "20 requeued 2"])
        let again = mirror.apply(SlurmObservation(time: 40_000_000, nodes: [Self.node()], jobs: [requeued]), accounting: records)
        #expect(again.events.isEmpty)
    }

    /// sacct failing (no slurmdbd) or answering garbage is logged once until it changes; the
    /// poll is taken all the same.
    @Test func sacctTroubleIsLoggedOnceAndThePollIsTaken() throws {
        var mirror = SlurmMirror()
        let squeue = try Data(contentsOf: URL(fileURLWithPath: fixture("twin/sacct-short/squeue-0000.json")))
        let sinfo = try Data(contentsOf: URL(fileURLWithPath: fixture("twin/sacct-short/sinfo-0000.json")))
        let disabled = "`sacct --json` exited with 1: Slurm accounting storage is disabled"
        var kinds: [[String]] = []
        for (k, (sacct, failure)) in [(nil, disabled), (nil, disabled), (Data("{".utf8), nil), (Data(#"{"jobs": []}"#.utf8), nil), (nil, disabled)].enumerated() {
            let step = mirror.observe(PollReplies(squeue: squeue, sinfo: sinfo, time: Int64(5_000_000_000 + k * 1_000_000), sacct: sacct, sacctFailure: failure))
            #expect(step.observation != nil)
            kinds.append(step.events.filter(\.isFault).map { $0.kind.rawValue })
            if k == 2 { #expect(step.events[0].details.note?.hasPrefix("sacct --json: error: not JSON") == true) }
            if k == 0 { #expect(step.events[0].details.note == disabled + "; the poll is taken without sacct (runs that begin and end between two polls are not seen)") }
        }
        #expect(kinds == [["commandFailed"], [], ["malformedReply"], [], ["commandFailed"]])
    }

    /// `sacct --json` records: 22.05's shape (Fixtures' records) and later versions' numbers
    /// and state lists; errors name the source and what was expected.
    @Test func sacctRepliesAreReadInBothShapes() throws {
        let runs = try SlurmReplies.runs(Data(contentsOf: URL(fileURLWithPath: fixture("twin/sacct-requeue/sacct-0001.json"))), source: "a.json")
        #expect(runs.map { "\($0.id) \($0.state) \($0.submit ?? 0) \($0.start ?? 0) \($0.end ?? 0) \($0.gpus) \($0.nodes)" } == [
            "4 COMPLETED 2985 2990 3001 8 n1", "5 PREEMPTED 2995 3001 3004 8 n1", "5 PENDING 3004 0 0 8 ", "6 RUNNING 3003 3004 0 8 n1"])
        #expect(runs[1].ranAndEnded && runs[1].finalKind == .preempted && !runs[2].ranAndEnded && runs[0].finalKind == .completed)
        #expect(runs[0].timeLimit == 120 && runs[0].qos == "high" && runs[0].user == "ana" && runs[0].priority == 10000)
        let later = #"""
        {"jobs": [{"job_id": 9, "state": {"current": ["REQUEUED"], "reason": "None"}, "nodes": "n2", "allocation_nodes": 2,
                   "time": {"submission": 50, "start": {"set": true, "infinite": false, "number": 60}, "end": 70, "limit": {"set": true, "infinite": true, "number": 0}},
                   "tres": {"allocated": [{"type": "gres", "name": "gpu", "count": {"set": true, "number": 16}}]}}]}
        """#
        let read = try SlurmReplies.runs(Data(later.utf8), source: "b.json")
        #expect(read == [AccountedRun(id: 9, state: "REQUEUED", submit: 50, start: 60, end: 70, gpus: 16, nodeCount: 2, nodes: "n2")])
        #expect(read[0].ranAndEnded && read[0].finalKind == nil)
        // 22.05 answers a window without records so (seen on the local Slurm): no records, no error.
        let nothing = #"{"errors": [{"description": "Nothing found", "error_number": 9003, "error": "Nothing found with query", "source": "slurmdb_jobs_get"}], "jobs": []}"#
        #expect(try SlurmReplies.runs(Data(nothing.utf8), source: "d.json").isEmpty)
        for (text, message) in [(#"{"jobs": [{"state": {"current": "COMPLETED"}}]}"#, "c.json: error: jobs[0] has no job_id (a positive number)"),
                                (#"{"jobs": [{"job_id": 3}]}"#, #"c.json: error: job 3 (jobs[0]) has no state.current (a string, such as "COMPLETED")"#),
                                (#"{"errors": [{"error": "Slurm accounting storage is disabled"}], "jobs": []}"#,
                                 "c.json: error: Slurm reported errors: Slurm accounting storage is disabled")] {
            #expect(throws: MalformedReply(source: "c.json", message: String(message.dropFirst("c.json: error: ".count)))) {
                try SlurmReplies.runs(Data(text.utf8), source: "c.json")
            }
        }
    }

    /// The live source asks sacct for every user's runs since the last observation, with a
    /// margin, in sacct's relative time; a capture writes sacct's reply or its failure, and
    /// reads them back.
    @Test func sacctIsAskedSinceTheLastObservationAndCaptured() throws {
        let live = LiveSlurm(clock: { 0 })
        #expect(live.sacctArguments(since: 100_000_000, now: 112_300_000) == ["sacct", "--json", "--allusers", "--duplicates", "--starttime", "now-43"])
        #expect(live.sacctArguments(since: nil, now: 5) == ["sacct", "--json", "--allusers", "--duplicates", "--starttime", "now-30"])
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let capture = try PollCapture(directory: dir.path)
        let squeue = Data(#"{"jobs": []}"#.utf8), sinfo = Data(#"{"nodes": [{"name": "n1", "state": "idle", "gres": "gpu:8"}]}"#.utf8)
        try capture.write(.replies(PollReplies(squeue: squeue, sinfo: sinfo, time: 1_000_000, sacct: Data(#"{"jobs": []}"#.utf8))), index: 0, fallbackTime: 0)
        try capture.write(.replies(PollReplies(squeue: squeue, sinfo: sinfo, time: 2_000_000, sacctFailure: "no dbd")), index: 1, fallbackTime: 0)
        try capture.write(.replies(PollReplies(squeue: squeue, sinfo: sinfo, time: 3_000_000)), index: 2, fallbackTime: 0)
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted() == [
            "at-0000.txt", "at-0001.txt", "at-0002.txt", "sacct-0000.json", "sacct-0001.err",
            "sinfo-0000.json", "sinfo-0001.json", "sinfo-0002.json", "squeue-0000.json", "squeue-0001.json", "squeue-0002.json"])
        var polls = try CapturedPolls(directory: dir.path)
        var read: [String] = []
        while case .replies(let r)? = polls.next() { read.append("\(r.sacct.map { String(decoding: $0, as: UTF8.self) } ?? "-") \(r.sacctFailure ?? "-")") }
        #expect(read == [#"{"jobs": []} -"#, "- no dbd", "- -"])
    }

    /// slurmctld restarted without its state and gave jobs 1 and 2 again: the mirror tells
    /// them apart by submit_time (restart_cnt not raised), and `twin score` joins forecasts,
    /// starts and series by (epoch, id). Epoch 0's job 2 was cancelled while it waited, so its
    /// forecast (poll 0) has no start to be scored by; epoch 1's job 2 started at 145.
    @Test func idsReusedAfterAControllerRestartAreOtherJobs() throws {
        let (steps, mirror) = try TwinMirrorTests.mirror(fixture("twin/reuse"))
        #expect(steps.map { $0.events.map(TwinMirrorTests.summary) } == [
            ["85 submitted 1", "90 started 1", "95 submitted 2"], ["105 cancelled 2"], ["115 completed 1"],
            ["130 controllerRestart", "125 submitted 1.1", "125 started 1.1", "126 submitted 1.2"], [],
            ["145 completed 1.1", "145 started 1.2"], [], ["165 completed 1.2"],
        ])
        #expect(mirror.epoch == 1 && steps[3].events[0].details.note
                == "job 1 is listed with submit_time 125, not the 85 seen, and its restart_cnt did not go up (a requeue raises it): slurmctld restarted without its state; no job was open; epoch 1 begins")
        // Scored fresh on the capture and as a following twin kept them: the same numbers.
        // Forecasts: poll 0 for job 2 (never started: not scored), polls 3 and 4 for job 1.2
        // (150 each; it started at 145; the time-limit plan said 185). The series: 7 + 4 + 3
        // later polls. Poll 0 predicted 8 GPUs waiting and 1 job running until 150, then 1
        // running; its jobs count nowhere after the restart (the new jobs 1 and 2 are others),
        // so it misses 8 GPUs at t 110-140 and 1 job at t 120-170; polls 3 and 4 miss 1 job
        // each at t 170 (job 1.2 ended at 165). Persistence holds 8 GPUs: 8 x (7 + 3 + 3).
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let db = dir.appendingPathComponent("t.sqlite").path
        #expect(try runFleettwin(["twin", "slurm", "--replay-polls", fixture("twin/reuse"), "--db", db, "--quiet", "--forecast-every", "1", "--replicas", "5"]).status == 0)
        #expect(try ResultStore(existingPath: db).twinForecasts(session: 1).map { "\($0.poll) \($0.job)" } == ["0 2", "3 1.2", "4 1.2"])
        for arguments in [["--replay-polls", fixture("twin/reuse"), "--every", "1", "--replicas", "5"], ["--db", db]] {
            let run = try runFleettwin(["twin", "score", "--json"] + arguments)
            #expect(run.status == 0, "\(run.stderr)")
            let score = try #require(try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any])
            #expect(score["forecasts"] as? Int == 2 && score["medianAbsStartErrorSeconds"] as? Double == 5, "\(run.stdout)")
            #expect(score["seriesPoints"] as? Int == 14 && score["pendingGPUSeriesMAE"] as? Double == 32.0 / 14, "\(run.stdout)")
            #expect(score["runningJobSeriesMAE"] as? Double == 8.0 / 14, "\(run.stdout)")
            let baseline = try #require(score["baseline"] as? [String: Any])
            #expect(baseline["forecasts"] as? Int == 2 && baseline["medianAbsStartErrorSeconds"] as? Double == 40)
            #expect((score["persistence"] as? [String: Any])?["pendingGPUSeriesMAE"] as? Double == 104.0 / 14)
        }
    }
}
