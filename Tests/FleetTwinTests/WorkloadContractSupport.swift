import FleetTwinEngine
import FleetTwinWorkloads
import Testing

/// Options that keep each kind's job to well under a second in a debug build.
let tinyWorkloadOptions: [String: [String: String]] = [
    "eci": ["docs": "60", "topics": "3", "vocabulary": "300", "ceQueries": "15", "queries": "24", "evalQueries": "15",
            "ceSteps": "6", "steps": "8", "batch": "4", "k": "4", "dim": "8", "candidates": "10"],
    "rag": ["width": "16", "heads": "2", "subjects": "6", "relations": "2", "objects": "4", "fillers": "3",
            "segments": "2", "segmentFillers": "1", "batch": "4", "steps": "6", "probes": "3"],
    "reranker": ["size": "1", "loss": "ranknet", "steps": "12", "evalEvery": "4", "candidates": "8",
                 "batch": "4", "evalQueries": "6", "lr": "0.01"],
    "vlm-meme": ["items": "6", "batch": "5", "layers": "1", "width": "16", "heads": "2", "pretrainSteps": "12",
                 "pretrainBatch": "8"],
]

/// A small job of `kind` (the options above, `extra` on top).
func tinySpec(_ kind: String, seed: UInt64 = 7, worldSize: Int = 1, _ extra: [String: String] = [:]) -> WorkloadSpec {
    var options = tinyWorkloadOptions[kind]!
    for (key, value) in extra { options[key] = value }
    return WorkloadSpec(kind: kind, seed: seed, worldSize: worldSize, options: options)
}

/// The result of `spec` run straight through on `devices` devices.
func finishedResult(_ spec: WorkloadSpec, devices: Int = 1) throws -> WorkloadResult {
    let workload = try WorkloadRegistry.make(spec)
    workload.runToCompletion(devices: devices)
    return try #require(workload.result)
}

/// Runs `spec` to the end on `devices` devices, replacing the workload by a fresh object restored
/// from its checkpoint bytes before each step with probability `probability` (seeded, so the
/// same steps every time), and before any step in `alsoAt`. Returns the result and how many
/// restores happened: the contract's central property is that the result equals an
/// uninterrupted run's.
func runRestoringAtRandomSteps(_ spec: WorkloadSpec, seed: UInt64 = 2024, probability: Double = 1.0 / 3,
                               alsoAt: Set<Int> = [], devices: Int = 1) throws -> (result: WorkloadResult, restores: Int) {
    var workload = try WorkloadRegistry.make(spec)
    var chooser = SeededGenerator(seed: seed)
    var restores = 0
    while !workload.isFinished {
        if chooser.nextUnitDouble() < probability || alsoAt.contains(workload.stepsCompleted) {
            workload = try WorkloadCheckpoint.restore(WorkloadCheckpoint.bytes(of: workload))
            restores += 1
        }
        workload.step(devices: devices)
    }
    return (workload.result!, restores)
}

/// Expects `WorkloadRegistry.make` to reject `base` with each (option, value) of `cases` set,
/// by a `WorkloadError` whose message names the option (quoted) and repeats the bad value.
func expectRejectedNamingTheOption(_ base: WorkloadSpec, _ cases: [(key: String, value: String)]) {
    for (key, value) in cases {
        var spec = base
        spec.options[key] = value
        do {
            _ = try WorkloadRegistry.make(spec)
            Issue.record("\(key)=\(value) was accepted")
        } catch let error as WorkloadError {
            #expect(error.message.contains("'\(key)'") && error.message.contains(value), "\(error.message)")
        } catch { Issue.record("\(key)=\(value): unexpected \(error)") }
    }
}
