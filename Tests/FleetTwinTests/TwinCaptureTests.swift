import FleetTwinLive
import FleetTwinStore
import FleetTwinTraces
import Foundation
import Testing

/// The mirror on a real Slurm 22.05 run captured every ~2 s (../shared/slurm/capture-seed8:
/// 48 jobs, 5 requeued by QOS preemption), checked against that run's own accounting
/// (sacct.json) job by job, and its export replayed under the `slurm` policy.
@Suite struct TwinCaptureTests {
    static let capture = repositoryRoot.deletingLastPathComponent().appendingPathComponent("shared/slurm/capture-seed8")
    static var present: Bool { FileManager.default.fileExists(atPath: capture.appendingPathComponent("polls/at-0000.txt").path) }

    /// One run of a job as sacct recorded it (Unix seconds).
    struct Run { var submit: Int64; var start: Int64; var end: Int64; var state: String }

    static func sacctRuns() throws -> [Int: [Run]] {
        let data = try Data(contentsOf: capture.appendingPathComponent("sacct.json"))
        let jobs = try #require((try JSONSerialization.jsonObject(with: data) as? [String: Any])?["jobs"] as? [[String: Any]])
        var runs: [Int: [Run]] = [:]
        for job in jobs {
            let time = try #require(job["time"] as? [String: Any])
            func t(_ key: String) -> Int64 { (time[key] as? NSNumber)?.int64Value ?? 0 }
            let state = ((job["state"] as? [String: Any])?["current"] as? String) ?? ""
            runs[(job["job_id"] as! NSNumber).intValue, default: []].append(Run(submit: t("submission"), start: t("start"), end: t("end"), state: state))
        }
        return runs.mapValues { $0.sorted { $0.start < $1.start } }
    }

    @Test(.enabled(if: present, "needs ../shared/slurm/capture-seed8 (the captured Slurm run)"))
    func theMirrorAgreesWithSacctJobByJob() throws {
        let (steps, mirror) = try TwinMirrorTests.mirror(Self.capture.appendingPathComponent("polls").path)
        #expect(steps.allSatisfy { $0.observation != nil } && mirror.isIdle && mirror.epoch == 0)
        let events = steps.flatMap(\.events)
        #expect(events.allSatisfy { !$0.isFault })
        // The capture polled every ~2 s: the longest gap between two observations bounds how
        // late the mirror can notice anything.
        let times = steps.compactMap { $0.observation?.time }
        let interval = zip(times, times.dropFirst()).map { $1 - $0 }.max() ?? 0
        #expect(interval > 1_900_000 && interval < 2_100_000)
        let runs = try Self.sacctRuns()
        #expect(runs.count == 48 && runs.values.map(\.count).reduce(0, +) == 53)
        let mirrored = Set(events.compactMap(\.job))  // membership only
        #expect(mirrored == Set(runs.keys))
        for id in runs.keys.sorted() {
            let sacct = runs[id]!, mine = events.filter { $0.job == id }
            func seconds(_ t: Int64) -> Int64 { t / 1_000_000 }
            let submitted = try #require(mine.first { $0.kind == .submitted }, "job \(id)")
            #expect(seconds(submitted.time) == sacct[0].submit, "job \(id): submitted")
            // Every run the mirror saw starts when sacct says a run started; a run it did not see
            // began and was requeued between two polls, which its requeue event says.
            let starts = mine.filter { $0.kind == .started }.map { seconds($0.time) }
            let unseen = mine.filter { $0.kind == .requeued && $0.details.note?.hasPrefix("the run was not observed") == true }.count
            #expect(starts.count + unseen == sacct.count, "job \(id): runs \(starts) + \(unseen) unseen vs sacct \(sacct.map(\.start))")
            #expect(starts.allSatisfy { s in sacct.contains { $0.start == s } }, "job \(id): starts \(starts)")
            #expect(starts.last == sacct.last!.start, "job \(id): last start")
            // Each requeue is when sacct's preempted run ended; the end is the last run's.
            let requeues = mine.filter { $0.kind == .requeued }
            let preempted = sacct.filter { $0.state == "PREEMPTED" }
            #expect(requeues.count == preempted.count, "job \(id)")
            for (event, run) in zip(requeues, preempted) { #expect(abs(event.time - run.end * 1_000_000) <= interval, "job \(id): requeue") }
            let end = try #require(mine.last, "job \(id)")
            #expect(end.kind == .completed && end.details.state == "COMPLETED" && seconds(end.time) == sacct.last!.end, "job \(id): \(end)")
        }
        #expect(Set(events.filter { $0.kind == .requeued }.compactMap(\.job)) == [2, 26, 27, 31, 32])
    }

    @Test(.enabled(if: present, "needs ../shared/slurm/capture-seed8 (the captured Slurm run)"))
    func theExportedLogReplaysUnderTheSlurmPolicy() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let db = dir.appendingPathComponent("twin.sqlite").path, trace = dir.appendingPathComponent("twin.jsonl").path
        let run = try runFleettwin(["twin", "slurm", "--replay-polls", Self.capture.appendingPathComponent("polls").path, "--db", db, "--quiet", "--until-idle"])
        #expect(run.status == 0 && run.stderr.isEmpty, "\(run.stderr)")
        // --until-idle stops at the poll that sees the last job finished (104 of the 106 captured).
        #expect(run.stdout.contains("104 polls (104 taken, 0 refused), 153 events: submitted 48, started 52, requeued 5, completed 48"), "\(run.stdout)")
        let export = try runFleettwin(["twin", "export", "--db", db, "--out", trace, "--json"])
        #expect(export.status == 0, "\(export.stderr)")
        let (_, jobs) = try TraceReader(path: trace).readAll()
        #expect(jobs.count == 48 && jobs.filter { $0.recorded?.attempts == 2 }.map(\.id) == ["2", "26", "27", "31", "32"])
        #expect(jobs.allSatisfy { $0.timeLimit != nil && $0.qos != nil && $0.partition == "gpu" })
        let replay = try runFleettwin(["replay", trace, "--fleet", dir.appendingPathComponent("twin-fleet.yaml").path, "--policy", "slurm",
                                       "--placement", "best-fit", "--slurm-conf", Self.capture.appendingPathComponent("slurm.conf").path,
                                       "--slurm-qos", Self.capture.appendingPathComponent("qos.psv").path, "--compare-recorded", "--json",
                                       "--db", dir.appendingPathComponent("r.sqlite").path])
        #expect(replay.status == 0, "\(replay.stderr)")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(replay.stdout.utf8)) as? [String: Any])
        let schedule = try #require(object["scheduleFidelity"] as? [String: Any])
        #expect(schedule["jobs"] as? Int == 48)
        #expect((schedule["startOrderAgreement"] as? Double ?? 0) >= 0.7, "\(schedule)")
    }
}
