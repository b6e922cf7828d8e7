import FleetTwinScenario
import Foundation
import Testing

/// `fleettwin tune` on a case with a known answer: ten one-hour single-GPU jobs at once meet
/// `jct.max <= 1h` only with at least ten single-GPU nodes.
@Suite struct TuneTests {
    static func scenario(in dir: URL) throws -> String {
        let jobs = (0..<10).map { "    - { name: j\($0), world_size: 1, duration: 1h }" }.joined(separator: "\n")
        let path = dir.appendingPathComponent("t.yaml").path
        try """
            name: tune-known
            fleet:
              regions:
                - name: r
                  clusters:
                    - { name: c, nodes: 4, accelerators_per_node: 1 }   # the knob's value replaces the 4
            workload:
              jobs:
            \(jobs)
            goals:
              jct.max: "<= 1h"
            """.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    @Test func theSmallestFleetMeetingTheGoalIsFound() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = try Self.scenario(in: dir), db = dir.appendingPathComponent("t.sqlite").path
        let plot = dir.appendingPathComponent("front.svg").path
        let out = try runFleettwin(["tune", path, "--knob", "fleet.c.nodes=6..13", "--minimize", "accelerators", "--db", db, "--json",
                                    "--plot", plot])
        #expect(out.status == 0, "\(out.stderr)")
        let svg = try String(contentsOfFile: plot, encoding: .utf8)
        #expect(svg.components(separatedBy: "<circle class=\"setting met\"").count - 1 == 4)
        #expect(svg.components(separatedBy: "<circle class=\"setting missed\"").count - 1 == 4)
        #expect(svg.contains("<circle class=\"chosen\""))
        let json = try #require(JSONSerialization.jsonObject(with: Data(out.stdout.utf8)) as? [String: Any])
        #expect(json["chosen"] as? [String: String] == ["fleet.c.nodes": "10"])
        let evaluated = try #require(json["evaluated"] as? [[String: Any]])
        #expect(evaluated.map { $0["status"] as? String } == ["missed", "missed", "missed", "missed", "met", "met", "met", "met"])
        #expect(json["runs"] as? Int == 16)
        // A rerun reuses every stored unit.
        let again = try runFleettwin(["tune", path, "--knob", "fleet.c.nodes=6..13", "--db", db, "--json"])
        let second = try #require(JSONSerialization.jsonObject(with: Data(again.stdout.utf8)) as? [String: Any])
        #expect(second["runs"] as? Int == 0 && second["reusedRuns"] as? Int == 16)
        // What is stored is what ran: the scenario text with the knob's value.
        let show = try runFleettwin(["show", "9", "--db", db, "--scenario"])
        #expect(show.stdout.contains("{ name: c, nodes: 10, accelerators_per_node: 1 }   # the knob's value replaces the 4"), "\(show.stdout)")
        #expect(show.stdout.contains("# tune: fleet.c.nodes=10"))
    }

    @Test func nothingMeetingTheGoalExitsOne() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let out = try runFleettwin(["tune", try Self.scenario(in: dir), "--knob", "fleet.c.nodes=1..3", "--db", dir.appendingPathComponent("t.sqlite").path])
        #expect(out.status == 1)
        #expect(out.stdout.contains("no setting meets every goal"))
    }

    @Test(arguments: [
        (["--knob", "fleet.x.nodes=1..3"], "expected one of: regions, r, c (a knob changes a value the scenario states)"),
        (["--knob", "fleet.c.node=1..3"], "(did you mean 'nodes'?)"),
        (["--knob", "fleet.c.nodes=0..1"], "the setting fleet.c.nodes=0 makes the scenario invalid:\n"),
        (["--knob", "fleet.c.nodes=5..1"], "a range must be two integers low..high"),
        (["--knob", "fleet.c=1..2"], "has a mapping there, not a single value"),
        // Once a crash in the sweep store (one unit twice), once the first knob's values never run.
        (["--knob", "fleet.c.nodes=2,2"], "--knob fleet.c.nodes=2,2: the value 2 is given twice; expected each value once"),
        (["--knob", "fleet.c.nodes=1..2", "--knob", "fleet.c.nodes=3"], "--knob fleet.c.nodes is given twice; expected each knob once"),
        (["--knob", "fleet.c.nodes=1..2", "--maximize", "accelerators"], "choose one of --minimize accelerators or --maximize utilization"),
    ])
    func badKnobsAreClearErrors(_ arguments: [String], _ message: String) throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let out = try runFleettwin(["tune", try Self.scenario(in: dir)] + arguments + ["--db", dir.appendingPathComponent("t.sqlite").path])
        #expect(out.status == 2)
        #expect(out.stderr.contains(message), "\(out.stderr)")
    }

    @Test func knobsNameListElementsByName() throws {
        let s = try Scenario.parse("""
            fleet:
              regions:
                - name: east
                  clusters: [{ name: a, nodes: 2, accelerators_per_node: 8 }, { name: b, nodes: 3, accelerators_per_node: 8 }]
            workload: { jobs: [{ name: j, world_size: 1, duration: 1h }] }
            mechanisms: { checkpoint_interval: { premium: 30m } }
            goals: { utilization: ">= 0" }
            """, file: "k.yaml")
        let changed = try s.setting([("fleet.b.nodes", "7"), ("fleet.regions.east.clusters.a.accelerators_per_node", "4"),
                                     ("mechanisms.checkpoint_interval.premium", "1h")])
        #expect(changed.fleet.clusters.map(\.nodes) == [2, 7])
        #expect(changed.fleet.clusters.map(\.acceleratorsPerNode) == [4, 8])
        #expect(changed.accelerators == 2 * 4 + 7 * 8)
        #expect(changed.mechanisms.checkpointInterval[0] == .seconds(Int64(3600)))  // premium
    }
}
