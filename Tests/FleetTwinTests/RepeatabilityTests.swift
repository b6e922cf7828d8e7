import Foundation
import Testing

/// `fleettwin repeatability`: two recorded runs of one workload compared job by job, matched in
/// submission order; figures worked by hand.
@Suite struct RepeatabilityTests {
    static let header = #"{"format":"fleettwin-trace","version":1,"name":"t","source":"hand"}"#

    func write(_ lines: [String], _ name: String, in dir: URL) throws -> String {
        let path = dir.appendingPathComponent(name).path
        try ([Self.header] + lines).joined(separator: "\n").write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    func job(_ id: String, _ submit: Double, _ gpus: Int, _ start: Double, _ end: Double, runs: Int = 1) -> String {
        #"{"id":"\#(id)","submit":\#(submit),"worldSize":\#(gpus),"duration":\#(end - start),"timeLimit":120,"#
            + #""recorded":{"start":\#(start),"end":\#(end),"status":"COMPLETED","attempts":\#(runs),"priority":1}}"#
    }

    /// The second run's jobs (new ids, listed out of order) start 0, 2 and 1 s later than the
    /// first's; its second job ran twice; it submitted its third job 1 s later. |error| p50 1 s,
    /// max 2 s; makespan 20 -> 22 s (+10%); mean wait (0 + 9 + 0) / 3 = 3 s against
    /// (0 + 11 + 0) / 3 = 3.67 s; the first's third job was backfilled past the second, the
    /// second's too.
    @Test func twoRunsAreComparedInSubmissionOrder() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let a = try write([job("1", 0, 4, 0, 10), job("2", 1, 4, 10, 20), job("3", 2, 2, 2, 5)], "a.jsonl", in: dir)
        let b = try write([job("13", 3, 2, 3, 6), job("11", 0, 4, 0, 10), job("12", 1, 4, 12, 22, runs: 2)], "b.jsonl", in: dir)
        let out = try runFleettwin(["repeatability", a, b, "--json"])
        #expect(out.status == 0, "\(out.stderr)")
        let json = try JSONSerialization.jsonObject(with: Data(out.stdout.utf8)) as! [String: Any]
        let error = json["absoluteStartError"] as! [String: Any]
        #expect(error["p50"] as? Double == 1 && error["max"] as? Double == 2)
        let makespan = json["makespan"] as! [String: Any]
        #expect(makespan["recorded"] as? Double == 20 && makespan["simulated"] as? Double == 22)
        let wait = json["meanWait"] as! [String: Any]
        #expect(wait["recorded"] as? Double == 3 && abs((wait["simulated"] as! Double) - 11.0 / 3) < 1e-9)
        let preempted = json["preempted"] as! [String: Any]
        #expect(preempted["recorded"] as? Int == 0 && preempted["simulated"] as? Int == 1)
        let starts = json["starts"] as! [[String: Any]]
        #expect(starts.map { $0["id"] as! String } == ["1/11", "2/12", "3/13"])
        let text = try runFleettwin(["repeatability", a, b])
        #expect(text.stdout.contains("makespan              first 20.0 s, second 22.0 s (+10.0%)"))
        #expect(text.stdout.contains("of job pairs start in the first run's order"), "\(text.stdout)")
    }

    /// Runs of different workloads, and a trace without recorded runs, are refused by name.
    @Test func differentWorkloadsAreRefused() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let a = try write([job("1", 0, 4, 0, 10), job("2", 1, 4, 10, 20)], "a.jsonl", in: dir)
        let b = try write([job("11", 0, 4, 0, 10), job("12", 1, 8, 10, 20)], "b.jsonl", in: dir)
        let c = try write([job("21", 0, 4, 0, 10)], "c.jsonl", in: dir)
        let bare = try write([#"{"id":"x","submit":0,"worldSize":1,"duration":5}"#], "bare.jsonl", in: dir)
        let shape = try runFleettwin(["repeatability", a, b])
        #expect(shape.status != 0 && shape.stderr.contains("job 2 in submission order asks 4 GPUs in \(a) (id 2) and 8 in \(b) (id 12)"))
        let count = try runFleettwin(["repeatability", a, c])
        #expect(count.status != 0 && count.stderr.contains("\(a) has 2 jobs with a recorded run and \(c) 1"))
        let none = try runFleettwin(["repeatability", bare, a])
        #expect(none.status != 0 && none.stderr.contains("\(bare):2: job x has no recorded start and end"))
    }
}
