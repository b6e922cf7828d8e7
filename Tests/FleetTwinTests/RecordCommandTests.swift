import FleetTwinScenario
import FleetTwinTraces
import FleetTwinWorkloads
import Foundation
import Testing

/// `fleettwin record`: real workloads run with a save and restore half way; their profiles
/// land in a native trace (templates) and a step-level profile.
@Suite struct RecordCommandTests {
    static let scenario = RealWorkloadScenarioTests.scenario(RealWorkloadScenarioTests.ragWorkload)

    @Test func recordsEveryStepAndAReplayableTemplate() throws {
        let dir = try temporaryDirectory()
        let path = dir.appendingPathComponent("real.yaml").path
        try Self.scenario.write(toFile: path, atomically: true, encoding: .utf8)
        let out = dir.appendingPathComponent("recorded.jsonl").path
        let run = try runFleettwin(["record", path, "--out", out])
        #expect(run.status == 0, "\(run.stderr)")

        let (header, templates) = try TraceReader(path: out).readAll()
        #expect(header.name == "recorded")
        #expect(templates.map(\.id) == ["rag[layers=2]", "rag[layers=3]"])
        let parsed = try Scenario.parse(Self.scenario, file: path)
        let specs = parsed.realWorkloads.map { $0.spec(runSeed: parsed.seed) }
        let steps = try specs.map { try WorkloadRegistry.make($0).totalSteps }
        #expect(templates.map(\.steps) == steps)
        #expect(templates.allSatisfy { ($0.stepTime ?? 0) > 0 && ($0.stateBytes ?? 0) > 0 && $0.worldSize == 2 })

        let lines = try String(contentsOfFile: dir.appendingPathComponent("recorded.steps.jsonl").path, encoding: .utf8)
            .split(separator: "\n").map { try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any] }
        #expect(lines.first?["format"] as? String == "fleettwin-workload-profile")
        for (job, count) in zip(templates.map(\.id), steps) {
            let mine = lines.filter { $0["job"] as? String == job }
            #expect(mine.filter { $0["event"] as? String == "step" }.count == count)
            #expect(mine.allSatisfy { $0["event"] as? String != "step" || ($0["flops"] as? Int ?? 0) > 0 })
            #expect(mine.contains { $0["event"] as? String == "checkpoint" && ($0["step"] as? Int) == count / 2 })
        }
        // Restored from bytes half way, the recorded results equal uninterrupted runs.
        let hashes = lines.filter { $0["event"] as? String == "end" }.compactMap { $0["resultHash"] as? String }
        let references = ResultVerification.referenceHashes(specs).map { WorkloadResult(metrics: [], hash: $0).hashHex }
        #expect(hashes == references)

        // The recording is a template source for generated workloads.
        let generated = """
            fleet: { regions: [ { name: r, clusters: [ { name: c, nodes: 1, accelerators_per_node: 4 } ] } ] }
            workload: { generator: { jobs: 20, arrivals: { poisson: { per_hour: 10 } }, world_size: 2, templates: recorded.jsonl, steps: { choices: [100, 200], weights: [1, 1] } } }
            """
        let scenario = try Scenario.parse(generated, file: dir.appendingPathComponent("g.yaml").path)
        #expect(scenario.jobs(seed: 1).count == 20)
    }

    @Test func badInputIsAClearError() throws {
        let dir = try temporaryDirectory()
        let out = dir.appendingPathComponent("r.jsonl").path
        let simulated = try runFleettwin(["record", repositoryRoot.appendingPathComponent("Scenarios/quickstart.yaml").path, "--out", out])
        #expect(simulated.status == 2 && simulated.stderr.contains("has no job with a real 'workload'"))
        let path = dir.appendingPathComponent("real.yaml").path
        try Self.scenario.write(toFile: path, atomically: true, encoding: .utf8)
        let unknown = try runFleettwin(["record", path, "--out", out, "--job", "rag[layers=9]"])
        #expect(unknown.status == 2 && unknown.stderr.contains("no real workload job named 'rag[layers=9]'"))
        #expect(!FileManager.default.fileExists(atPath: out), "nothing written on bad input")
    }
}
