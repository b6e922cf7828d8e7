import FleetTwinScenario
@testable import FleetTwinStore
import Foundation
import Testing

@Suite struct SweepTests {
    @Test func unitsAreCanonicalAndShardsPartitionThem() throws {
        let sweep = try Sweep.load(path: fixture("sweep.yaml"))
        #expect(sweep.units.count == 8)
        #expect(sweep.units.map(\.seed) == [1, 2, 1, 2, 1, 2, 1, 2])
        #expect(Set(sweep.units.map(\.id)).count == 8)
        let shards = (0..<3).map { sweep.shard($0, of: 3).map(\.position) }
        #expect(shards == [[0, 3, 6], [1, 4, 7], [2, 5]])
        #expect(try Sweep.load(path: fixture("sweep.yaml")).units.map(\.id) == sweep.units.map(\.id))
    }

    /// Four shards run as four processes and merged give exactly what one process gives;
    /// a re-run shard does nothing; a forged divergent result is caught.
    @Test func fourShardsMergeToTheSingleProcessResult() throws {
        let dir = try temporaryDirectory()
        let single = dir.appendingPathComponent("single.sqlite").path
        #expect(try runFleettwin(["sweep", fixture("sweep.yaml"), "--db", single]).status == 0)
        var shardFiles: [String] = []
        for i in 0..<4 {
            let file = dir.appendingPathComponent("shard-\(i).sqlite").path
            shardFiles.append(file)
            // Shards 0-1 by option, 2-3 as a Kubernetes Indexed Job and a Slurm array task would.
            let environment = i < 2 ? [:] : (i == 2 ? ["JOB_COMPLETION_INDEX": "2", "FLEETTWIN_SHARD_COUNT": "4"]
                                                    : ["SLURM_ARRAY_TASK_ID": "3", "SLURM_ARRAY_TASK_COUNT": "4"])
            let arguments = ["sweep", fixture("sweep.yaml"), "--db", file] + (i < 2 ? ["--shard-index", String(i), "--shard-count", "4"] : [])
            let out = try runFleettwin(arguments, environment: environment)
            #expect(out.status == 0, "\(out.stderr)")
            #expect(out.stdout.hasPrefix("shard \(i) of 4: 2 of 8 units; ran 2"))
        }
        let again = try runFleettwin(["sweep", fixture("sweep.yaml"), "--db", shardFiles[0], "--shard-index", "0", "--shard-count", "4"])
        #expect(again.stdout.contains("ran 0, 2 already in"))
        let merged = dir.appendingPathComponent("merged.sqlite").path
        let out = try runFleettwin(["merge", merged] + shardFiles)
        #expect(out.status == 0, "\(out.stderr)")
        func results(_ path: String) throws -> [String: [String: Double]] {
            let store = try ResultStore(path: path)
            let runs = try store.runs()
            return Dictionary(uniqueKeysWithValues: try store.sweepUnits().map { unit in
                (unit.unitId + " " + unit.eventLogHash, runs.first { $0.id == unit.runId }!.metrics)
            })
        }
        #expect(try results(merged) == results(single))
        #expect(try ResultStore(path: merged).sweepUnits().count == 8)

        // A shard whose unit carries a different result is a determinism failure.
        let forged = dir.appendingPathComponent("forged.sqlite").path
        try FileManager.default.copyItem(atPath: shardFiles[1], toPath: forged)
        try ResultStore(path: forged).database.write { try $0.execute(sql: "UPDATE sweep_units SET event_log_hash = 'deadbeef' WHERE position = 1") }
        let failed = try runFleettwin(["merge", merged, forged])
        #expect(failed.status == 1)
        #expect(failed.stderr.contains("determinism failure: unit"))
    }

    @Test func shardSettingsAreChecked() throws {
        #expect(try runFleettwin(["sweep", fixture("sweep.yaml"), "--shard-index", "4", "--shard-count", "4"]).status == 2)
        #expect(try runFleettwin(["sweep", fixture("sweep.yaml")], environment: ["SLURM_ARRAY_TASK_ID": "1"]).status == 2)
    }
}

/// The documented Slurm and Kubernetes recipes run: each shard as its engine would start it.
@Suite struct ScaleOutRecipeTests {
    @Test func theSlurmScriptRunsAShardAsAnArrayTask() throws {
        let dir = try temporaryDirectory()
        let script = repositoryRoot.appendingPathComponent("docs/slurm-sweep.sh").path
        let bin = try fleettwinExecutable().deletingLastPathComponent().path
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/bash")
        process.arguments = [script, fixture("sweep.yaml")]
        process.currentDirectoryURL = dir
        var environment = ProcessInfo.processInfo.environment
        environment["PATH"] = bin + ":" + (environment["PATH"] ?? "")
        environment["SLURM_ARRAY_TASK_ID"] = "1"
        environment["SLURM_ARRAY_TASK_COUNT"] = "2"
        process.environment = environment
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
        #expect(try ResultStore(path: dir.appendingPathComponent("sweep-shards/shard-1.sqlite").path).sweepUnits().map(\.position) == [1, 3, 5, 7])
    }

    @Test func theKubernetesManifestNamesTheIndexAndCount() throws {
        let manifest = try String(contentsOf: repositoryRoot.appendingPathComponent("docs/k8s-sweep.yaml"), encoding: .utf8)
        #expect(manifest.contains("completionMode: Indexed"))
        #expect(manifest.contains("completions: 8") && manifest.contains("value: \"8\""))
        #expect(manifest.contains("$JOB_COMPLETION_INDEX"))
    }
}
