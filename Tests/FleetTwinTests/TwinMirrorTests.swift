import FleetTwinLive
import FleetTwinStore
import FleetTwinTraces
import Foundation
import Testing

/// The live twin's mirror (FleetTwinLive) on small synthetic captures of `squeue --json` and
/// `sinfo --json` (Fixtures/twin, Slurm 22.05 shapes with extra keys): the exact event
/// sequence of a job lifecycle and of a troubled session, the parser's readings and errors,
/// the database's observation log, and the export that replays.
@Suite struct TwinMirrorTests {
    /// Runs a captured directory through a fresh mirror, as `twin slurm --replay-polls` does.
    static func mirror(_ directory: String) throws -> (steps: [SlurmMirror.Step], mirror: SlurmMirror) {
        var polls = try CapturedPolls(directory: directory)
        var mirror = SlurmMirror()
        var steps: [SlurmMirror.Step] = []
        while let poll = polls.next() {
            switch poll {
            case .replies(let replies):
                steps.append(mirror.observe(replies))
            case .failed(let time, let message):
                steps.append(mirror.failed(time: time ?? mirror.lastTime, message: message))
            }
        }
        return (steps, mirror)
    }

    /// `SECONDS KIND SUBJECT`, the subject a job (with its epoch after a restart) or a node.
    static func summary(_ event: TwinEvent) -> String {
        let time = event.time % 1_000_000 == 0 ? "\(event.time / 1_000_000)" : String(format: "%.1f", Double(event.time) / 1_000_000)
        let subject = event.job.map { event.epoch > 0 ? " \(event.epoch).\($0)" : " \($0)" } ?? event.node.map { " \($0)" } ?? ""
        return "\(time) \(event.kind.rawValue)\(subject)"
    }

    @Test func aJobLifecycleGivesExactlyTheseEvents() throws {
        let (steps, mirror) = try Self.mirror(fixture("twin/lifecycle"))
        #expect(steps.map { $0.events.map(Self.summary) } == [
            ["999 submitted 10", "1000 started 10", "1000 submitted 11"],
            ["1001 submitted 12", "1002 started 11"],
            ["1004.5 malformedReply"],
            ["1005 completed 10", "1006 requeued 11", "1006 started 12", "1006.5 nodeDown n2"],
            ["1007 submitted 13", "1008 failed 12", "1008 cancelled 13", "1008.5 nodeUp n2"],
            ["1007 submitted 14", "1007 started 14", "1009 timeout 14", "1010 started 11"],
            ["1012.5 completed 11"],
        ])
        #expect(steps.map { $0.observation == nil } == [false, false, true, false, false, false, false])
        #expect(mirror.isIdle && mirror.jobsSeen == 5 && mirror.epoch == 0)
        let events = steps.flatMap(\.events)
        func first(_ kind: TwinEvent.Kind, _ job: Int) -> TwinEvent? { events.first { $0.kind == kind && $0.job == job } }
        // GPUs from each source: tres_alloc_str (10), gres_detail without gres/gpu in the TRES (11),
        // tres_per_job (12), tres_per_node x node_count (13, 14).
        #expect([10, 11, 12, 13, 14].map { first(.submitted, $0)?.details.gpus } == [8, 8, 2, 1, 4])
        #expect(first(.started, 11)?.details.gpus == 8 && first(.started, 11)?.details.nodes == "n2")
        #expect(first(.submitted, 12)?.details.timeLimit == 300)
        #expect(first(.requeued, 11)?.details.restarts == 1 && first(.requeued, 11)?.details.reason == "BeginTime")
        #expect(first(.failed, 12)?.details.state == "FAILED" && first(.failed, 12)?.details.exitCode == 768)
        #expect(first(.started, 14)?.details.note == "the run began and ended between two polls")
        #expect(first(.completed, 11)?.details.note?.hasPrefix("gone from squeue while running: assumed completed") == true)
        #expect(first(.started, 13) == nil, "job 13 was cancelled while pending: it never ran")
        #expect(events.first { $0.kind == .nodeDown }?.details.state == "down+NOT_RESPONDING")
        let malformed = try #require(events.first { $0.kind == .malformedReply }?.details.note)
        #expect(malformed.contains("lifecycle/squeue-0002.json: error: not JSON") && malformed.contains("expected the output of `squeue --json`"))
    }

    @Test func aTroubledSessionIsLoggedAndSurvived() throws {
        let (steps, mirror) = try Self.mirror(fixture("twin/restart"))
        #expect(steps.map { $0.events.map(Self.summary) } == [
            ["1999 submitted 20", "2000 started 20", "2000 submitted 21"],
            ["2002 emptyReply"],
            ["2004 malformedReply"],
            ["1999.5 clockWentBack"],
            ["2006 controllerRestart", "2005 submitted 1.1"],
            ["2007 started 1.1"],
            ["2010 commandFailed"],
            ["2011 completed 1.1"],
        ])
        #expect(mirror.epoch == 1 && mirror.isIdle)
        let notes = steps.flatMap(\.events).filter(\.isFault).map { $0.details.note ?? "" }
        #expect(notes[0] == "squeue listed no job while jobs 20, 21 were open; skipped once (taken if the next poll says the same)")
        #expect(notes[1].hasSuffix("restart/squeue-0002.json: error: Slurm reported errors: Unable to contact slurm controller (connect failure), errno 1"))
        #expect(notes[2].hasPrefix("observed at 1999.500000, not after the previous observation at 2000.250000"))
        #expect(notes[3] == "job 1 is new but below the highest job id seen (21): slurmctld restarted without its state; jobs 20, 21 were open and their ends were not observed; epoch 1 begins")
        #expect(notes[4].hasSuffix("restart/sinfo-0006.json: missing or unreadable"))
    }

    @Test func jobsGoneWithoutAnEndAndASecondEmptyReplyAreAssumedAndSaid() {
        var mirror = SlurmMirror()
        let node = ObservedNode(name: "n1", state: "idle", gpus: 8, gres: "gpu:8")
        let open = [ObservedJob(id: 1, state: "RUNNING", gpus: 4, nodes: "n1", submit: 10, start: 11),
                    ObservedJob(id: 2, state: "PENDING", gpus: 8, submit: 12)]
        _ = mirror.apply(SlurmObservation(time: 20_000_000, nodes: [node], jobs: open))
        let first = mirror.apply(SlurmObservation(time: 22_000_000, nodes: [node], jobs: []))
        #expect(first.observation == nil && first.events.map(\.kind) == [.emptyReply])
        let second = mirror.apply(SlurmObservation(time: 24_000_000, nodes: [node], jobs: []))
        #expect(second.observation != nil)
        #expect(second.events.map(Self.summary) == ["24 completed 1", "24 cancelled 2"])
        #expect(second.events.map { $0.details.note?.prefix(24) } == ["gone from squeue while r", "gone from squeue while p"])
    }

    @Test func requeuesWithoutARestartCountPreemptionEndsAndNodesLeavingSinfoAreEvents() {
        var mirror = SlurmMirror()
        let n1 = ObservedNode(name: "n1", state: "mixed", gpus: 8, gres: "gpu:8")
        let n2 = ObservedNode(name: "n2", state: "idle", flags: ["DRAIN"], gpus: 8, gres: "gpu:8")
        let running = [ObservedJob(id: 4, state: "RUNNING", gpus: 8, nodes: "n1", submit: 1, start: 2),
                       ObservedJob(id: 5, state: "RUNNING", gpus: 2, nodes: "n1", submit: 1, start: 2)]
        let first = mirror.apply(SlurmObservation(time: 3_000_000, nodes: [n1, n2], jobs: running))
        #expect(first.events.map(Self.summary) == ["1 submitted 4", "1 submitted 5", "2 started 4", "2 started 5", "3 nodeDown n2"])
        #expect(first.events.last?.details.note == "unavailable when first seen" && first.events.last?.details.state == "idle+DRAIN")
        // Job 4 back to PENDING with the same restart_cnt (REQUEUED seen as pending), job 5 ended
        // PREEMPTED (PreemptMode=CANCEL); n1 left sinfo, n2 was resumed.
        let next = [ObservedJob(id: 4, state: "REQUEUED", gpus: 8, submit: 1, start: 2),
                    ObservedJob(id: 5, state: "PREEMPTED", gpus: 2, nodes: "n1", submit: 1, start: 2, end: 4)]
        let second = mirror.apply(SlurmObservation(time: 5_000_000, nodes: [ObservedNode(name: "n2", state: "idle", gpus: 8, gres: "gpu:8")], jobs: next))
        #expect(second.events.map(Self.summary) == ["4 preempted 5", "5 requeued 4", "5 nodeDown n1", "5 nodeUp n2"])
        #expect(second.events.first { $0.kind == .requeued }?.details.restarts == 0)
        #expect(second.events.first { $0.node == "n1" }?.details.note == "gone from sinfo")
    }

    /// A requeued job seen COMPLETING (its old run's teardown, restart count already raised)
    /// is requeued once and not started: a CI run against the real Slurm caught the mirror
    /// starting it there and requeueing it again at PENDING. It starts once it runs again.
    @Test func aRequeuedJobSeenCompletingIsNotStarted() {
        var mirror = SlurmMirror()
        let node = ObservedNode(name: "n1", state: "mixed", gpus: 8, gres: "gpu:8")
        _ = mirror.apply(SlurmObservation(time: 3_000_000, nodes: [node], jobs: [
            ObservedJob(id: 4, state: "RUNNING", gpus: 8, nodes: "n1", submit: 1, start: 2)]))
        let completing = mirror.apply(SlurmObservation(time: 5_000_000, nodes: [node], jobs: [
            ObservedJob(id: 4, state: "COMPLETING", gpus: 8, nodes: "n1", submit: 4, start: 2, restarts: 1)]))
        #expect(completing.events.map(Self.summary) == ["4 requeued 4"])
        let pending = mirror.apply(SlurmObservation(time: 6_000_000, nodes: [node], jobs: [
            ObservedJob(id: 4, state: "PENDING", gpus: 8, submit: 4, restarts: 1)]))
        #expect(pending.events.isEmpty)
        let again = mirror.apply(SlurmObservation(time: 9_000_000, nodes: [node], jobs: [
            ObservedJob(id: 4, state: "RUNNING", gpus: 8, nodes: "n1", submit: 4, start: 8, restarts: 1)]))
        #expect(again.events.map(Self.summary) == ["8 started 4"])
    }

    /// Two processes (hashing seeded differently) mirror the same captures to the same
    /// events, observations and snapshot hashes, byte for byte.
    @Test func twoProcessesMirrorTheSameCaptureIdentically() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        var dumps: [String] = []
        for copy in 0..<2 {
            let db = dir.appendingPathComponent("twin\(copy).sqlite").path
            for capture in ["twin/lifecycle", "twin/restart"] {
                let run = try runFleettwin(["twin", "slurm", "--replay-polls", fixture(capture), "--db", db])
                #expect(run.status == 0, "\(run.stderr)")
            }
            let store = try ResultStore(existingPath: db)
            var dump = ""
            for session in try store.twinSessions() {
                dump += try store.twinEvents(session: session.id).map(\.line).joined(separator: "\n")
                dump += (try store.lastTwinSnapshot(session: session.id)).map { "\n\($0.time) \($0.snapshot)" } ?? ""
            }
            dumps.append(dump)
        }
        #expect(dumps[0] == dumps[1] && dumps[0].count > 1000)
    }

    /// A twin stopped after k polls and restarted with `--resume` continues its session: for
    /// every k, the session holds the same events (kinds, times, jobs, epochs, details, in the
    /// same order), the same number of polls and the same forecasts as one uninterrupted run.
    /// The restart fixture stops inside its malformed poll and its controller restart too, so
    /// the rebuilt mirror carries the epoch and the jobs seen; the sacct fixtures stop between
    /// a run sacct logged and its job's next events (the records are kept with their poll).
    @Test func aRestartedTwinResumesItsSession() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        for capture in ["twin/lifecycle", "twin/restart", "twin/sacct-requeue", "twin/sacct-short", "twin/reuse"] {
            let polls = fixture(capture)
            let whole = dir.appendingPathComponent("whole.sqlite").path
            try? FileManager.default.removeItem(atPath: whole)
            let forecasts = ["--forecast-every", "2", "--replicas", "3"]
            #expect(try runFleettwin(["twin", "slurm", "--replay-polls", polls, "--db", whole, "--quiet"] + forecasts).status == 0)
            let reference = try ResultStore(existingPath: whole)
            let expected = try reference.twinEvents(session: 1), count = try reference.twinSessions()[0].polls
            let expectedForecasts = try reference.twinForecasts(session: 1)
            for k in 1..<count {
                let db = dir.appendingPathComponent("\(capture.split(separator: "/").last!)-\(k).sqlite").path
                let before = try runFleettwin(["twin", "slurm", "--replay-polls", polls, "--db", db, "--quiet", "--max-polls", "\(k)"] + forecasts)
                let after = try runFleettwin(["twin", "slurm", "--replay-polls", polls, "--db", db, "--quiet", "--resume"] + forecasts)
                #expect(before.status == 0 && after.status == 0 && after.stdout.contains("twin session 1 in \(db), resumed at poll \(k)"),
                        "\(after.stdout)\(after.stderr)")
                let store = try ResultStore(existingPath: db)
                #expect(try store.twinSessions().map(\.polls) == [count], "\(capture) split at \(k)")
                #expect(try store.twinEvents(session: 1) == expected, "\(capture) split at \(k)")
                #expect(try store.twinForecasts(session: 1) == expectedForecasts, "\(capture) split at \(k)")
            }
        }
        let empty = dir.appendingPathComponent("empty.sqlite").path
        let none = try runFleettwin(["twin", "slurm", "--replay-polls", fixture("twin/lifecycle"), "--db", empty, "--resume"])
        #expect(none.status == 2 && none.stderr.contains("holds no twin session to continue"), "\(none.stderr)")
        let other = try runFleettwin(["twin", "slurm", "--replay-polls", fixture("twin/restart"), "--db", dir.appendingPathComponent("lifecycle-1.sqlite").path, "--resume"])
        #expect(other.status == 2 && other.stderr.contains("resume it from the same source"), "\(other.stderr)")
    }

    @Test func theSnapshotIsCanonicalWhateverTheReplyOrder() throws {
        let nodes = [ObservedNode(name: "n2", state: "idle", gpus: 8, gres: "gpu:8"), ObservedNode(name: "n1", state: "mixed", gpus: 8, gres: "gpu:8")]
        let jobs = [ObservedJob(id: 7, state: "PENDING", gpus: 2), ObservedJob(id: 3, state: "RUNNING", gpus: 4, nodes: "n1")]
        let a = SlurmObservation(time: 1, nodes: nodes, jobs: jobs)
        let b = SlurmObservation(time: 2, nodes: nodes.reversed(), jobs: jobs.reversed())
        #expect(a.canonicalJSON == b.canonicalJSON && a.hash == b.hash && a.hash.count == 16)
        #expect(a.jobs.map(\.id) == [3, 7] && a.nodes.map(\.name) == ["n1", "n2"])
        #expect(a.canonicalJSON.hasPrefix(#"{"jobs":[{"gpus":4,"id":3,"nodeCount":1,"nodes":"n1","#))
        var changed = jobs
        changed[0].reason = "Resources"
        #expect(SlurmObservation(time: 1, nodes: nodes, jobs: changed).hash != a.hash)
    }

    @Test func laterSlurmShapesAreReadAndBrokenRepliesNameTheirSource() throws {
        // 23.02 and later: numbers as {"set", "infinite", "number"}, states as lists.
        let squeue = #"""
        {"jobs": [{"job_id": 5, "job_state": ["RUNNING"], "time_limit": {"set": true, "infinite": false, "number": 2},
                   "start_time": {"set": true, "infinite": false, "number": 100}, "submit_time": {"set": true, "number": 90},
                   "end_time": {"set": false, "number": 0}, "tres_per_node": "gres/gpu:h100:4", "node_count": {"set": true, "number": 2},
                   "restart_cnt": 0, "priority": {"set": true, "infinite": false, "number": 7}, "a_key_from_the_future": 1},
                  {"job_id": 6, "job_state": "PENDING", "time_limit": null, "tres_per_job": "gres:gpu:3"}]}
        """#
        let jobs = try SlurmReplies.jobs(Data(squeue.utf8), source: "q.json")
        #expect(jobs.map(\.gpus) == [8, 3] && jobs.map(\.timeLimit) == [120, nil] && jobs[0].start == 100 && jobs[0].end == nil)
        #expect(jobs[0].state == "RUNNING" && jobs[0].priority == 7 && jobs[0].nodeCount == 2)
        let sinfo = #"{"nodes": [{"name": "b", "state": ["IDLE", "DRAIN"], "gres": "gpu:a100:4(S:0)"}, {"name": "a", "state": "down", "gres": ""}]}"#
        let nodes = try SlurmReplies.nodes(Data(sinfo.utf8), source: "s.json")
        #expect(nodes.map(\.name) == ["a", "b"] && nodes.map(\.isAvailable) == [false, false])
        #expect(nodes[1].flags == ["DRAIN"] && nodes[1].gpus == 4 && nodes[1].gpuType == "a100" && nodes[0].gpus == 0)
        let broken: [(String, String)] = [
            ("", "q.json: error: an empty reply; expected the output of `squeue --json`"),
            ("[1]", #"q.json: error: not a JSON object; expected the output of `squeue --json`, an object with a "jobs" list"#),
            (#"{"meta": {}}"#, #"q.json: error: no "jobs" list; expected the output of `squeue --json`"#),
            (#"{"jobs": [{"job_state": "RUNNING"}]}"#, "q.json: error: jobs[0] has no job_id (a positive number)"),
            (#"{"jobs": [{"job_id": 4}]}"#, #"q.json: error: job 4 has no job_state (a string, such as "RUNNING")"#),
        ]
        for (text, message) in broken {
            #expect(throws: MalformedReply.self) { try SlurmReplies.jobs(Data(text.utf8), source: "q.json") }
            do { _ = try SlurmReplies.jobs(Data(text.utf8), source: "q.json") } catch { #expect(error.description == message) }
        }
        do { _ = try SlurmReplies.nodes(Data(#"{"nodes": []}"#.utf8), source: "s.json") } catch {
            #expect(error.description == "s.json: error: no nodes; expected the output of `sinfo --json` on a cluster")
        }
        #expect(CapturedPolls.microseconds("1795972238.490683798") == 1_795_972_238_490_683)
        #expect(CapturedPolls.microseconds("12") == 12_000_000 && CapturedPolls.microseconds("1.5e3") == nil && CapturedPolls.microseconds("") == nil)
        #expect(CapturedPolls.text(1_795_972_238_000_042) == "1795972238.000042")
    }

    /// `twin slurm --replay-polls` writes every poll and its events to the database, and
    /// `twin export` turns the log into a trace (and the fleet) that `replay` reads.
    @Test func theCommandStoresEveryPollAndItsExportReplays() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let db = dir.appendingPathComponent("twin.sqlite").path
        let run = try runFleettwin(["twin", "slurm", "--replay-polls", fixture("twin/lifecycle"), "--db", db])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stdout.contains("1010.000 started job 11: {\"gpus\":8,\"nodeCount\":1,\"nodes\":\"n2\",\"restarts\":1}"))
        #expect(run.stdout.hasSuffix("7 polls (6 taken, 1 refused), 19 events: submitted 5, started 5, requeued 1, completed 2, failed 1, cancelled 1, timeout 1, nodeDown 1, nodeUp 1, malformedReply 1\n"))
        #expect(run.stderr.hasPrefix("twin: 1004.500 malformedReply: "))
        let store = try ResultStore(existingPath: db)
        let sessions = try store.twinSessions()
        #expect(sessions.map(\.polls) == [7] && sessions.map(\.events) == [19])
        let expected = try Self.mirror(fixture("twin/lifecycle")).steps.flatMap(\.events)
        #expect(try store.twinEvents(session: sessions[0].id) == expected)
        let last = try #require(try store.lastTwinSnapshot(session: sessions[0].id))
        #expect(last.time == 1_012_500_000 && last.snapshot.jobs.map(\.id) == [12, 13, 14])

        let trace = dir.appendingPathComponent("twin.jsonl").path
        let export = try runFleettwin(["twin", "export", "--db", db, "--out", trace])
        #expect(export.status == 0, "\(export.stderr)")
        #expect(export.stdout.contains("rows read 5, jobs written 4, rows skipped 1"), "\(export.stdout)")
        let (_, jobs) = try TraceReader(path: trace).readAll()
        #expect(jobs.map(\.id) == ["10", "11", "12", "14"])
        #expect(jobs.map(\.submit) == [0, 1, 2, 8] && jobs.map(\.worldSize) == [8, 8, 2, 4] && jobs.map(\.duration) == [5, 2.5, 2, 2])
        #expect(jobs.map { $0.recorded?.status } == ["COMPLETED", "COMPLETED", "FAILED", "TIMEOUT"])
        #expect(jobs.map { $0.recorded?.attempts } == [1, 2, 1, 1] && jobs.map { $0.recorded?.start } == [1, 3, 7, 8])
        let fleet = dir.appendingPathComponent("twin-fleet.yaml").path
        // sinfo's cpus (16 on both nodes) as the cluster's cores, as `import slurm-nodes` writes them.
        #expect(try String(contentsOfFile: fleet, encoding: .utf8).contains("{ name: gpu-x8, nodes: 2, accelerators_per_node: 8, type: h100-80gb, cpus_per_node: 16 }"))
        let replay = try runFleettwin(["replay", trace, "--fleet", fleet, "--compare-recorded", "--json", "--db", dir.appendingPathComponent("r.sqlite").path])
        #expect(replay.status == 0, "\(replay.stderr)")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(replay.stdout.utf8)) as? [String: Any])
        #expect((object["scheduleFidelity"] as? [String: Any])?["jobs"] as? Int == 4, "\(replay.stdout)")
    }

    @Test func aClusterThatCannotBeReachedIsLoggedNotACrash() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let db = dir.appendingPathComponent("twin.sqlite").path
        // No squeue on this PATH: every poll's command fails.
        let run = try runFleettwin(["twin", "slurm", "--db", db, "--max-polls", "2", "--interval", "100ms"], environment: ["PATH": dir.path])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stdout.contains("2 polls (0 taken, 2 refused), 2 events: commandFailed 2"), "\(run.stdout)")
        #expect(run.stderr.components(separatedBy: "commandFailed").count == 3 && run.stderr.contains("`squeue --json` exited with 127"), "\(run.stderr)")
        let store = try ResultStore(existingPath: db)
        #expect(try store.twinSessions().map(\.polls) == [2])
        #expect(try store.lastTwinSnapshot(session: 1) == nil)
        let export = try runFleettwin(["twin", "export", "--db", db, "--out", dir.appendingPathComponent("t.jsonl").path])
        #expect(export.status == 2 && export.stderr.contains("took no observation"), "\(export.stderr)")
        let missing = try runFleettwin(["twin", "slurm", "--replay-polls", dir.appendingPathComponent("nothing").path, "--db", db])
        #expect(missing.status == 2 && missing.stderr.contains("nothing: error: cannot list the directory"), "\(missing.stderr)")
    }
}
