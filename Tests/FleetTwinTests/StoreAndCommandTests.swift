import FleetTwinCLI
import FleetTwinMetrics
import FleetTwinScenario
import FleetTwinStore
import Foundation
import Testing

@Suite struct StoreTests {
    @Test func aRunIsStoredWholeAndItsLogReadsBackIdentical() async throws {
        let scenario = try Scenario.load(path: fixture("fifo-hand.yaml"))
        let result = try await runScenario(scenario)
        let metrics = RunMetrics.fold(result)
        let store = try ResultStore()
        let id = try store.store(.init(
            scenarioName: scenario.name, scenarioFile: scenario.file, scenarioHash: scenario.contentHash,
            scenarioText: scenario.text, seed: 1, policy: result.policy, version: "test", result: result,
            metrics: metrics, storeEvents: true))
        let counts = try store.counts(run: id)
        #expect(counts.jobs == 5)
        #expect(counts.events == result.log.records.count)
        #expect(try store.events(run: id) == result.log.records)
        let run = try #require(try store.runs().first)
        #expect(run.eventLogHash == result.eventLogHash)
        #expect(run.metrics["utilization"] == metrics.utilization)
    }
}

@Suite struct CommandTests {
    @Test func runPrintsTheJSONFieldsAndStores() throws {
        let dir = try temporaryDirectory()
        let db = dir.appendingPathComponent("r.sqlite").path
        let out = try runFleettwin(["run", fixture("fifo-hand.yaml"), "--json", "--db", db])
        #expect(out.status == 0, "\(out.stderr)")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(out.stdout.utf8)) as? [String: Any])
        for key in ["scenario", "seed", "jobs", "completed", "utilization", "jct", "queueDelay", "makespan", "eventLogHash"] {
            #expect(object[key] != nil, "missing \(key)")
        }
        for key in ["mean", "p50", "p95", "p99"] {
            #expect((object["jct"] as? [String: Any])?[key] != nil)
            #expect((object["queueDelay"] as? [String: Any])?[key] != nil)
        }
        #expect(object["jobs"] as? Int == 5)
        #expect(object["makespan"] as? Double == 22)
        #expect(try ResultStore(path: db).runs().count == 1)
    }

    @Test func brokenScenarioExitsTwoWithALocatedErrorAndWritesNothing() throws {
        let dir = try temporaryDirectory()
        let db = dir.appendingPathComponent("r.sqlite").path
        let path = fixture("misspelled-key.yaml")
        let out = try runFleettwin(["run", path, "--db", db])
        #expect(out.status == 2)
        #expect(out.stderr.hasPrefix("\(path):6:32: error: unknown key 'acelerators_per_node' in a cluster (did you mean 'accelerators_per_node'?)"))
        #expect(out.stdout.isEmpty)
        #expect(!FileManager.default.fileExists(atPath: db))
        let validate = try runFleettwin(["validate", path])
        #expect(validate.status == 2)
    }

    @Test func missingFileAndBadOptionsAreInvalidInput() throws {
        #expect(try runFleettwin(["run", "/nonexistent.yaml"]).status == 2)
        #expect(try runFleettwin(["run", fixture("fifo-hand.yaml"), "--seed", "minus-one"]).status == 2)
        #expect(try runFleettwin(["frobnicate"]).status == 2)
    }

    @Test func validateDescribesAGoodScenario() throws {
        let out = try runFleettwin(["validate", fixture("fifo-hand.yaml")])
        #expect(out.status == 0)
        #expect(out.stdout.contains("1 regions, 1 clusters, 8 accelerators"))
        #expect(out.stdout.contains("5 jobs"))
    }

    @Test func helpListsTheCommands() async throws {
        let out = try runFleettwin(["--help"])
        #expect(out.status == 0)
        for command in ["run", "validate", "bench"] { #expect(out.stdout.contains(command)) }
    }
}
