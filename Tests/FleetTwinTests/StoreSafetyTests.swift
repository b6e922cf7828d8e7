import Foundation
import GRDB
import Testing

@Suite struct StoreSafetyTests {
    /// A scenario big enough that a debug build simulates it for seconds.
    static func longScenario(in dir: URL) throws -> String {
        let path = dir.appendingPathComponent("long.yaml").path
        try """
            fleet: { regions: [ { name: r, clusters: [ { name: c, nodes: 32, accelerators_per_node: 8 } ] } ] }
            workload:
              generator:
                jobs: 60000
                arrivals: { poisson: { per_hour: 400 } }
                world_size: { choices: [1, 2, 4, 8] }
                duration: { exponential: { mean: 1h } }
            """.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    /// SIGKILL at several moments: the database always passes SQLite's integrity check, the
    /// earlier run stays whole, and the killed run is either absent or complete.
    @Test func aKilledRunLeavesTheDatabaseConsistent() throws {
        let dir = try temporaryDirectory()
        let db = dir.appendingPathComponent("k.sqlite").path
        #expect(try runFleettwin(["run", fixture("fifo-hand.yaml"), "--db", db]).status == 0)
        let scenario = try Self.longScenario(in: dir)
        for delay in [0.3, 1.0, 2.5] {
            let process = Process()
            process.executableURL = try fleettwinExecutable()
            process.arguments = ["run", scenario, "--db", db, "--quiet"]
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            try process.run()
            Thread.sleep(forTimeInterval: delay)
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            let queue = try DatabaseQueue(path: db)
            try queue.read { database in
                #expect(try String.fetchOne(database, sql: "PRAGMA integrity_check") == "ok")
                let runs = try Int64.fetchAll(database, sql: "SELECT id FROM runs ORDER BY id")
                #expect(runs.first == 1)
                for run in runs {
                    let submitted = try Double.fetchOne(database, sql: "SELECT value FROM metrics WHERE run_id = ? AND name = 'jobs_submitted'", arguments: [run])
                    let jobs = try Int.fetchOne(database, sql: "SELECT COUNT(*) FROM jobs WHERE run_id = ?", arguments: [run])
                    #expect(submitted.map(Int.init) == jobs, "run \(run) is stored whole")
                }
            }
        }
    }

    /// A kill that certainly lands inside the write transaction (the store's test hook holds
    /// the transaction open once every row is written, and says so in a marker file) leaves
    /// no trace of the killed run: no run row, no jobs, events or metrics of it.
    @Test func aKillInsideTheWriteTransactionLeavesNoPartialRun() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let db = dir.appendingPathComponent("t.sqlite").path
        #expect(try runFleettwin(["run", fixture("fifo-hand.yaml"), "--db", db]).status == 0)
        let marker = dir.appendingPathComponent("inside").path
        let process = Process()
        process.executableURL = try fleettwinExecutable()
        process.arguments = ["run", fixture("fifo-hand.yaml"), "--db", db, "--quiet"]
        var environment = ProcessInfo.processInfo.environment
        environment["FLEETTWIN_TEST_HOLD_WRITE"] = marker
        process.environment = environment
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        var waited = 0.0
        while !FileManager.default.fileExists(atPath: marker), process.isRunning, waited < 120 {
            Thread.sleep(forTimeInterval: 0.05)
            waited += 0.05
        }
        let inside = FileManager.default.fileExists(atPath: marker)
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        #expect(inside, "the run never reached its write transaction")
        #expect(process.terminationReason == .uncaughtSignal, "the kill landed after the run had finished")
        let queue = try DatabaseQueue(path: db)
        try queue.read { (database: Database) throws in
            #expect(try String.fetchOne(database, sql: "PRAGMA integrity_check") == "ok")
            #expect(try Int64.fetchAll(database, sql: "SELECT id FROM runs") == [1])
            for table in ["jobs", "events", "metrics", "utilization"] {
                #expect(try Int.fetchOne(database, sql: "SELECT COUNT(*) FROM \(table) WHERE run_id <> 1") == 0, "\(table)")
            }
        }
    }

    /// An event kind this FleetTwin does not know is an error naming the run and the row,
    /// never read as some other kind.
    @Test func anUnknownStoredEventKindIsAnError() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let db = dir.appendingPathComponent("u.sqlite").path
        #expect(try runFleettwin(["run", fixture("fifo-hand.yaml"), "--db", db]).status == 0)
        try DatabaseQueue(path: db).write { try $0.execute(sql: "UPDATE events SET kind = 99 WHERE run_id = 1 AND seq = 3") }
        let out = try runFleettwin(["report", "1", "--db", db, "--out", dir.appendingPathComponent("r.html").path])
        #expect(out.status == 1)
        #expect(out.stderr.contains("run 1, event row 3: unknown event kind 99; expected one of 0 (submitted)"), "\(out.stderr)")
    }

    /// A writer that cannot get the lock in time fails clearly (exit 1), after a bounded wait.
    @Test func aBusyDatabaseIsReportedClearly() throws {
        let dir = try temporaryDirectory()
        let db = dir.appendingPathComponent("b.sqlite").path
        #expect(try runFleettwin(["run", fixture("fifo-hand.yaml"), "--db", db]).status == 0)
        // Hold an exclusive lock while another process tries to write.
        let out = try DatabaseQueue(path: db).inDatabase { database in
            try database.execute(sql: "BEGIN EXCLUSIVE")
            defer { try? database.execute(sql: "ROLLBACK") }
            return try runFleettwin(["run", fixture("fifo-hand.yaml"), "--db", db], environment: ["FLEETTWIN_DB_BUSY_TIMEOUT": "1"])
        }
        #expect(out.status == 1)
        #expect(out.stderr.contains("database busy: another process kept \(db) locked for 1 s"), "\(out.stderr)")
        #expect(try runFleettwin(["run", fixture("fifo-hand.yaml"), "--db", db]).status == 0)
    }

    @Test func aScenarioTooBigForThisMachineIsRefusedUpFront() throws {
        let dir = try temporaryDirectory()
        let path = dir.appendingPathComponent("huge.yaml").path
        try """
            fleet: { regions: [ { name: r, clusters: [ { name: c, nodes: 1, accelerators_per_node: 8 } ] } ] }
            workload:
              generator:
                jobs: 100000000
                arrivals: { poisson: { per_hour: 100 } }
                world_size: 1
                duration: 1h
            """.write(toFile: path, atomically: true, encoding: .utf8)
        let db = dir.appendingPathComponent("h.sqlite").path
        let out = try runFleettwin(["run", path, "--db", db])
        #expect(out.status == 2)
        #expect(out.stderr.contains("about 100000000 jobs on 8 accelerators need about"))
        #expect(!FileManager.default.fileExists(atPath: db))
    }
}
