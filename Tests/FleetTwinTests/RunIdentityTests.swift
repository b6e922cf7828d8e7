import FleetTwinEngine
import FleetTwinScenario
import Foundation
import GRDB
import Testing

/// Runs name the code and the inputs that produced them: the build identity stamped at build
/// time, and the bytes of every file a scenario reads.
@Suite struct RunIdentityTests {
    @Test func versionPrintsTheBuildIdentity() throws {
        let out = try runFleettwin(["--version"])
        let printed = out.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(printed == FleetTwinEngine.buildIdentity)
        #expect(printed.wholeMatch(of: /\d+\.\d+\.\d+\+src\.[0-9a-f]{16}/) != nil, "\(printed)")
    }

    /// The generator behind `sourceHash`: the same sources give the same hash wherever the
    /// checkout is; one changed byte or a renamed file gives another.
    @Test func theSourceHashFollowsContentNotLocation() throws {
        let codegen = try fleettwinExecutable().deletingLastPathComponent().appendingPathComponent("fleettwin-codegen")
        try #require(FileManager.default.isExecutableFile(atPath: codegen.path), "fleettwin-codegen is built beside fleettwin")
        func hash(_ files: [String: String]) throws -> String {
            let root = try temporaryDirectory()
            defer { try? FileManager.default.removeItem(at: root) }
            for (name, text) in files { try text.write(to: root.appendingPathComponent(name), atomically: true, encoding: .utf8) }
            let out = root.appendingPathComponent("out.swift")
            let run = try runProcess(codegen, ["identity", out.path, root.path] + files.keys.sorted().map { root.appendingPathComponent($0).path })
            try #require(run.status == 0, "\(run.stderr)")
            let text = try String(contentsOf: out, encoding: .utf8)
            return String(try #require(text.firstMatch(of: /sourceHash = "([0-9a-f]{16})"/)).output.1)
        }
        let base = try hash(["a.swift": "let a = 1\n", "b.swift": "let b = 2\n"])
        #expect(try hash(["a.swift": "let a = 1\n", "b.swift": "let b = 2\n"]) == base, "another folder, same sources")
        #expect(try hash(["a.swift": "let a = 1\n", "b.swift": "let b = 3\n"]) != base)
        #expect(try hash(["a.swift": "let a = 1\n", "c.swift": "let b = 2\n"]) != base)
    }

    /// Editing a trace a scenario reads changes the scenario's identity, and so every sweep
    /// unit's id; the text of the scenario alone would not.
    @Test func referencedFilesAreInTheScenarioIdentity() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let trace = dir.appendingPathComponent("t.jsonl")
        func writeTrace(duration: Int) throws {
            try """
                {"format":"fleettwin-trace","version":1}
                {"id":"a","submit":0,"worldSize":1,"duration":\(duration)}

                """.write(to: trace, atomically: true, encoding: .utf8)
        }
        let scenario = dir.appendingPathComponent("s.yaml")
        try """
            fleet: { regions: [{ name: r, clusters: [{ name: c, nodes: 1, accelerators_per_node: 1 }] }] }
            workload: { trace: t.jsonl }
            """.write(to: scenario, atomically: true, encoding: .utf8)
        try "scenarios: [s.yaml]\npolicies: [fifo]\nseeds: [1]\n".write(to: dir.appendingPathComponent("w.yaml"), atomically: true, encoding: .utf8)

        try writeTrace(duration: 10)
        let before = try Scenario.load(path: scenario.path)
        let unitBefore = try Sweep.load(path: dir.appendingPathComponent("w.yaml").path).units[0].id
        #expect(before.referencedFiles.map(\.given) == ["t.jsonl"])
        try writeTrace(duration: 20)
        let after = try Scenario.load(path: scenario.path)
        #expect(after.text == before.text)
        #expect(after.contentHash != before.contentHash)
        #expect(try Sweep.load(path: dir.appendingPathComponent("w.yaml").path).units[0].id != unitBefore)
        try writeTrace(duration: 10)
        #expect(try Scenario.load(path: scenario.path).contentHash == before.contentHash)
    }

    /// Shards run by different builds merge without a determinism failure, and the merge
    /// says that the code changed.
    @Test func aMergeReportsACodeChangeAsACodeChange() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let sweep = fixture("sweep.yaml")
        let a = dir.appendingPathComponent("a.sqlite").path, b = dir.appendingPathComponent("b.sqlite").path
        #expect(try runFleettwin(["sweep", sweep, "--db", a]).status == 0)
        #expect(try runFleettwin(["sweep", sweep, "--db", b]).status == 0)
        // b as an older build would have stored it: its own identity, so its own unit ids.
        try DatabaseQueue(path: b).write { db in
            try db.execute(sql: "UPDATE runs SET fleettwin_version = '0.1.0+src.0000000000000000'")
            try db.execute(sql: "UPDATE sweep_units SET unit_id = unit_id || '-old'")
        }
        let out = try runFleettwin(["merge", dir.appendingPathComponent("m.sqlite").path, a, b])
        #expect(out.status == 0, "\(out.stderr)")
        #expect(!out.stderr.contains("determinism failure"))
        #expect(out.stdout.contains("note: the units were run by 2 different builds"), "\(out.stdout)")
        #expect(out.stdout.contains(FleetTwinEngine.buildIdentity))
    }
}
