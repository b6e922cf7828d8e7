import FleetTwinTraces
import Foundation
import Testing

/// A hand-made trace fixture (Tests/FleetTwinTests/Fixtures/traces).
func traceFixture(_ name: String) -> String { fixture("traces/\(name)") }

/// The public traces beside the repository (CI clones it with shared/ next to it).
let sharedTraces = repositoryRoot.deletingLastPathComponent().appendingPathComponent("shared/traces")

func sharedTrace(_ path: String) -> String { sharedTraces.appendingPathComponent(path).path }

func hasSharedTrace(_ path: String) -> Bool { FileManager.default.fileExists(atPath: sharedTrace(path)) }

/// Runs an importer into a fresh file, reads the trace back with `TraceReader` and checks
/// that every row was written or skipped and that the header carries the notes.
func importAndRead(_ run: (String) throws -> ImportResult) throws -> (result: ImportResult, header: TraceHeader, jobs: [TraceJob]) {
    let out = try temporaryDirectory().appendingPathComponent("imported.jsonl").path
    let result = try run(out)
    let (header, jobs) = try TraceReader(path: out).readAll()
    #expect(result.report.rowsRead == result.report.jobsWritten + result.report.skipped.count)
    #expect(jobs.count == result.report.jobsWritten)
    #expect(header.notes == result.notes)
    #expect(jobs.map(\.submit) == jobs.map(\.submit).sorted())
    return (result, header, jobs)
}

/// "LINE: reason" of every skipped row, in line order.
func skips(_ result: ImportResult) -> [String] {
    result.report.skipped.sorted { $0.line < $1.line }.map { "\($0.line): \($0.reason)" }
}
