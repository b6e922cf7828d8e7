import FleetTwinStore
import Foundation
import Testing

@Suite struct RunsAndShowTests {
    struct Listed: Decodable {
        var id: Int64
        var scenario: String
        var policy: String
        var seed: UInt64
        var status: String
        var eventLogHash: String
        var storedEvents: Int
        var metrics: [String: Double]
    }

    @Test func runsAndShowPrintWhatTheDatabaseHolds() throws {
        let (_, db) = try databaseWithHandRuns(2)
        let stored = try ResultStore(path: db).runs()
        let json = try runFleettwin(["runs", "--json", "--db", db])
        #expect(json.status == 0, "\(json.stderr)")
        let listed = try JSONDecoder().decode([Listed].self, from: Data(json.stdout.utf8))
        #expect(listed.map(\.id) == stored.map(\.id))
        #expect(listed.map(\.seed) == [1, 2])
        #expect(listed.map(\.eventLogHash) == stored.map(\.eventLogHash))
        #expect(listed.map(\.metrics) == stored.map(\.metrics))
        #expect(listed.allSatisfy { $0.scenario == "fifo-hand" && $0.policy == "fifo" && $0.status == "completed" && $0.storedEvents == 15 })

        let table = try runFleettwin(["runs", "--db", db]).stdout.split(separator: "\n")
        #expect(table.count == 3)
        #expect(table[1].split(separator: " ", omittingEmptySubsequences: true)
            == ["1", "fifo-hand", "fifo", "1", "completed", "5/5", "52.8%", "14.0s", "16.0s", "22.0s"])

        let show = try runFleettwin(["show", "2", "--json", "--db", db])
        #expect(show.status == 0)
        let shown = try JSONDecoder().decode(Listed.self, from: Data(show.stdout.utf8))
        #expect(shown.id == 2 && shown.metrics == stored[1].metrics)
        let text = try runFleettwin(["show", "1", "--db", db]).stdout
        let lines = text.split(separator: "\n").map { $0.split(separator: " ").map(String.init) }
        #expect(lines.contains(["event", "log", "hash", stored[0].eventLogHash]))
        #expect(lines.contains(["makespan_s", "22.0s"]))
        let scenario = try runFleettwin(["show", "1", "--scenario", "--db", db]).stdout
        #expect(scenario == (try String(contentsOfFile: fixture("fifo-hand.yaml"), encoding: .utf8)))
    }

    @Test func anEmptyDatabaseListsNothing() throws {
        let dir = try temporaryDirectory()
        let db = dir.appendingPathComponent("empty.sqlite").path
        _ = try ResultStore(path: db)
        let json = try runFleettwin(["runs", "--json", "--db", db])
        #expect(json.status == 0)
        #expect(try JSONDecoder().decode([Listed].self, from: Data(json.stdout.utf8)).isEmpty)
        #expect(try runFleettwin(["runs", "--db", db]).stdout.hasPrefix("no runs stored in \(db)"))
        let unknown = try runFleettwin(["report", "1", "--db", db])
        #expect(unknown.status == 2 && unknown.stderr.contains("holds no runs yet"))
    }

    @Test func badInputExitsTwoWithAClearMessage() throws {
        let (dir, db) = try databaseWithHandRuns(2)
        let cases: [([String], String)] = [
            (["report", "9"], "no run 9 in \(db); stored runs: 1-2"),
            (["show", "9"], "no run 9"),
            (["report", "1", "--latest"], "not more than one"),
            (["report"], "say which runs to report"),
            (["report", "1", "1"], "run 1 is given twice"),
            (["report", "--compare", "7"], "no comparison 7 in \(db); it holds none"),
        ]
        for (arguments, message) in cases {
            let output = arguments[0] == "report" ? ["--out", dir.appendingPathComponent("x.html").path] : []
            let out = try runFleettwin(arguments + ["--db", db] + output)
            #expect(out.status == 2, "\(arguments)")
            #expect(out.stderr.contains(message), "\(arguments): \(out.stderr)")
        }
        #expect(!FileManager.default.fileExists(atPath: dir.appendingPathComponent("x.html").path))
        let noFolder = try runFleettwin(["report", "1", "--db", db, "--out", dir.appendingPathComponent("none/x.html").path])
        #expect(noFolder.status == 2 && noFolder.stderr.contains("there is no folder"))
        let missing = dir.appendingPathComponent("missing.sqlite").path
        for arguments in [["runs"], ["show", "1"], ["report", "--latest"]] {
            let out = try runFleettwin(arguments + ["--db", missing])
            #expect(out.status == 2 && out.stderr.contains("no results database at \(missing)"), "\(arguments)")
        }
        #expect(!FileManager.default.fileExists(atPath: missing))
    }

    @Test func latestReportsTheLastRunAndJSONSaysWhatWasWritten() throws {
        let (dir, db) = try databaseWithHandRuns(2)
        let path = dir.appendingPathComponent("latest.html").path
        let out = try runFleettwin(["report", "--latest", "--json", "--db", db, "--out", path])
        #expect(out.status == 0, "\(out.stderr)")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(out.stdout.utf8)) as? [String: Any])
        #expect(object["runs"] as? [Int] == [2] && object["out"] as? String == path)
        let html = try String(contentsOfFile: path, encoding: .utf8)
        #expect(object["bytes"] as? Int == html.utf8.count)
        #expect(try polylines("cdf", in: html).map(\.run) == [2])
    }

    @Test func noProgressLineWhenStandardErrorIsNotATerminal() throws {
        let dir = try temporaryDirectory()
        let db = dir.appendingPathComponent("r.sqlite").path
        for extra in [[], ["--quiet"]] {
            let out = try runFleettwin(["run", fixture("fifo-hand.yaml"), "--db", db] + extra)
            #expect(out.status == 0 && out.stderr.isEmpty)
        }
    }
}

@Suite struct HelpTests {
    /// Exact help texts (Fixtures/help): regenerate with `fleettwin --help > ...` when they change on purpose.
    @Test(arguments: [(["--help"], "fleettwin.txt"), (["report", "--help"], "report.txt"), (["record", "--help"], "record.txt")])
    func helpIsExactly(_ arguments: [String], _ file: String) throws {
        let out = try runFleettwin(arguments, environment: ["COLUMNS": "80"])
        #expect(out.status == 0)
        #expect(out.stdout == (try String(contentsOfFile: fixture("help/\(file)"), encoding: .utf8)))
    }

    @Test func everyCommandsHelpHasAnExample() throws {
        for command in ["run", "validate", "runs", "show", "report", "bench", "record", "bench matmul"] {
            #expect(try runFleettwin(command.split(separator: " ").map(String.init) + ["--help"]).stdout.contains("Example:"), "\(command)")
        }
    }
}
