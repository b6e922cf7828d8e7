import FleetTwinLive
import FleetTwinStore
import Foundation
import Testing

/// The live twin against the project's local Slurm (Tests/Slurm/local-slurm.sh; `.ci/run`
/// starts it and sets FLEETTWIN_REQUIRE_SLURM=1): `twin slurm` and `twin capture` follow the
/// cluster while jobs run, are killed, and what they had stored agrees with sacct.
@Suite(.serialized) struct TwinSlurmTests {
    /// Starts `fleettwin ARGUMENTS` in the background; output goes to files in `directory`.
    static func start(_ arguments: [String], in directory: URL, name: String) throws -> Process {
        let process = Process()
        process.executableURL = try fleettwinExecutable()
        process.arguments = arguments
        var environment = ProcessInfo.processInfo.environment
        environment.removeValue(forKey: "SWIFT_DETERMINISTIC_HASHING")
        process.environment = environment
        for (suffix, assign) in [("out", { (h: FileHandle) in process.standardOutput = h }), ("err", { (h: FileHandle) in process.standardError = h })] {
            let path = directory.appendingPathComponent("\(name).\(suffix)").path
            _ = FileManager.default.createFile(atPath: path, contents: nil)
            assign(try FileHandle(forWritingTo: URL(fileURLWithPath: path)))
        }
        try process.run()
        return process
    }

    @Test(.enabled(if: SlurmTests.localSlurm, "needs the local Slurm: Tests/Slurm/local-slurm.sh start, then SLURM_CONF from its env.sh"))
    func theTwinFollowsTheLocalSlurmAndLosesNothingWhenKilled() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let db = dir.appendingPathComponent("twin.sqlite").path, polls = dir.appendingPathComponent("polls")
        let twin = try Self.start(["twin", "slurm", "--interval", "1s", "--db", db], in: dir, name: "twin")
        let capture = try Self.start(["twin", "capture", polls.path, "--interval", "1s"], in: dir, name: "capture")
        defer {
            for process in [twin, capture] where process.isRunning { kill(process.processIdentifier, SIGKILL) }
        }
        Thread.sleep(forTimeInterval: 2)
        let tag = "twin-\(UUID().uuidString.prefix(8))"
        var ids: [Int] = []
        for (gpus, script) in [(8, "sleep 4"), (2, "sleep 2"), (1, "sleep 2; exit 3")] {
            let out = try SlurmTests.shell("sbatch", "--parsable", "--gres=gpu:\(gpus)", "--time=1", "-J", tag, "-o", "/dev/null", "--wrap", script)
            ids.append(try #require(Int(out.trimmingCharacters(in: .whitespacesAndNewlines))))
        }
        // Wait until sacct has every job finished, then give the twin two more polls.
        var sacct: [[String: Any]] = []
        for _ in 0..<120 {
            Thread.sleep(forTimeInterval: 1)
            let json = try SlurmTests.shell("sacct", "--json", "-j", ids.map(String.init).joined(separator: ","))
            sacct = (try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])?["jobs"] as? [[String: Any]] ?? []
            let finished = sacct.filter { ["COMPLETED", "FAILED"].contains(($0["state"] as? [String: Any])?["current"] as? String ?? "") }
            if finished.count >= ids.count { break }
        }
        Thread.sleep(forTimeInterval: 3)
        // Killed without warning: every poll it had made is in the database all the same.
        kill(twin.processIdentifier, SIGKILL)
        kill(capture.processIdentifier, SIGKILL)
        twin.waitUntilExit()
        capture.waitUntilExit()
        #expect(twin.terminationReason == .uncaughtSignal, "the twin stopped by itself: \((try? String(contentsOf: dir.appendingPathComponent("twin.err"), encoding: .utf8)) ?? "")")
        let store = try ResultStore(existingPath: db)
        let session = try #require(try store.twinSessions().last)
        #expect(session.polls >= 5)
        let events = try store.twinEvents(session: session.id)
        for record in sacct {
            let id = (record["job_id"] as! NSNumber).intValue
            let time = record["time"] as! [String: Any]
            func t(_ key: String) -> Int64 { (time[key] as! NSNumber).int64Value * 1_000_000 }
            let state = (record["state"] as! [String: Any])["current"] as! String
            let mine = events.filter { $0.job == id }
            #expect(mine.map(\.kind) == [.submitted, .started, state == "FAILED" ? .failed : .completed], "job \(id): \(mine.map(\.line))")
            #expect(mine.map(\.time) == [t("submission"), t("start"), t("end")], "job \(id): \(mine.map(\.line))")
        }
        #expect(events.first { $0.job == ids[2] && $0.kind == .failed }?.details.exitCode == 768)
        // The capture replays to the same events for these jobs.
        let replayDb = dir.appendingPathComponent("replay.sqlite").path
        let replay = try runFleettwin(["twin", "slurm", "--replay-polls", polls.path, "--db", replayDb, "--quiet"])
        #expect(replay.status == 0, "\(replay.stderr)")
        let replayed = try ResultStore(existingPath: replayDb).twinEvents(session: 1)
        func ours(_ list: [TwinEvent]) -> [String] {
            list.filter { $0.job.map(ids.contains) ?? false }.map { "\($0.job!) \($0.kind.rawValue) \($0.time)" }.sorted()
        }
        #expect(ours(replayed) == ours(events))
    }
}
