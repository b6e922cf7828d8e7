import FleetTwinEngine
import FleetTwinTraces
import Foundation
import Testing

/// Mutated importer inputs (the hand-made fixtures, mutated as `FuzzTests` mutates scenarios)
/// must import with every row accounted for and a trace that reads back, or fail with a
/// located `TraceError`: never crash.
@Suite struct ImporterFuzzTests {
    static let importers: [(fixture: String, run: @Sendable (String, String) throws -> ImportResult)] = [
        ("philly-summary.csv", { try PhillySummaryImporter(input: $0).run(out: $1) }),
        ("philly-jobs.json", { try PhillyJobLogImporter(input: $0).run(out: $1) }),
        ("tiresias.csv", { try TiresiasImporter(input: $0).run(out: $1) }),
        ("openb-pods.csv", { try OpenbPodImporter(input: $0).run(out: $1) }),
        ("h100-mini.jsonl", { try H100WorkloadsImporter(input: $0).run(out: $1) }),
        ("mapped.csv", {
            let map = try MappedCSVImporter.ColumnMap(parsing: "submit=start,duration=run_ms,gpus=gpus,id=Job ID,tier=prio,user=who")
            return try MappedCSVImporter(input: $0, map: map, unit: .ms, submitFormat: .datetime).run(out: $1)
        }),
        ("tiresias-cluster.csv", { try TiresiasClusterImporter(input: $0).run(out: $1) }),
        ("philly-vc.csv", { try PhillyVCImporter(input: $0).run(out: $1) }),
        ("openb-nodes.csv", { try OpenbNodesImporter(input: $0).run(out: $1) }),
    ]

    @Test func mutatedInputsImportOrGiveLocatedErrors() throws {
        let dir = try temporaryDirectory()
        let seeds = try Self.importers.map { try String(contentsOfFile: traceFixture($0.fixture), encoding: .utf8) }
        var g = SeededGenerator(seed: 2026, stream: "fuzz-importers")
        var imported = 0, rejected = 0
        for round in 0..<FuzzTests.rounds {
            let which = round % seeds.count
            let input = dir.appendingPathComponent("in-\(round)-\(Self.importers[which].fixture)").path
            let out = dir.appendingPathComponent("out-\(round)").path
            try FuzzTests.mutate(seeds[which], &g).write(toFile: input, atomically: true, encoding: .utf8)
            do {
                let result = try Self.importers[which].run(input, out)
                #expect(result.report.rowsRead == result.report.jobsWritten + result.report.skipped.count)
                // The last three write fleets; the others traces, which must read back.
                if which < Self.importers.count - 3 {
                    let (_, jobs) = try TraceReader(path: out).readAll()
                    #expect(jobs.count == result.report.jobsWritten)
                }
                imported += 1
            } catch let error as TraceError {
                #expect(error.file == input || error.file == out, "\(error)")
                rejected += 1
            }
        }
        #expect(imported > 0 && rejected > 0)
    }
}
