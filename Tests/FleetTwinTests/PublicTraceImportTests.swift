import FleetTwinScenario
import FleetTwinTraces
import Foundation
import Testing

/// The importers on the full public traces in ../shared/traces (beside the repository, as CI
/// clones it); each test reports itself skipped where that folder is absent. Every data row
/// of a file is accounted for: rowsRead equals the file's non-blank lines minus the header.
@Suite struct PublicTraceImportTests {
    /// Non-blank lines after the header.
    func dataRows(_ path: String) -> Int {
        LineReader(path: path).reduce(0) { $0 + ($1.text.isEmpty ? 0 : 1) } - 1
    }

    @Test(.enabled(if: hasSharedTrace("philly/philly.csv"))) func phillySummaryImportsEveryJob() throws {
        let input = sharedTrace("philly/philly.csv")
        let (result, _, jobs) = try importAndRead { try PhillySummaryImporter(input: input).run(out: $0) }
        #expect(result.report.rowsRead == dataRows(input))
        #expect(result.report.jobsWritten == 82_247)
        #expect(jobs.first?.submit == 0)
    }

    @Test(.enabled(if: hasSharedTrace("tiresias/60_job.csv") && hasSharedTrace("bench/tiresias_10000.csv")))
    func tiresiasListsImportEveryJob() throws {
        for (path, count) in [("tiresias/60_job.csv", 60), ("bench/tiresias_10000.csv", 10_000)] {
            let (result, _, _) = try importAndRead { try TiresiasImporter(input: sharedTrace(path)).run(out: $0) }
            #expect(result.report.rowsRead == dataRows(sharedTrace(path)))
            #expect(result.report.jobsWritten == count)
        }
    }

    @Test(.enabled(if: hasSharedTrace("alibaba-openb/openb_pod_list_default.csv"))) func openbPodsAreAllAccountedFor() throws {
        let input = sharedTrace("alibaba-openb/openb_pod_list_default.csv")
        let (result, _, _) = try importAndRead { try OpenbPodImporter(input: input).run(out: $0) }
        #expect(result.report.rowsRead == 8152)
        #expect(result.report.jobsWritten == 7063)
        #expect(result.report.skipped.filter { $0.reason == "no GPU" }.count == 1088)
    }

    /// Traces/h100-workloads.jsonl is this importer's output, committed: it must stay so.
    @Test(.enabled(if: hasSharedTrace("h100-workloads/h100-workloads.jsonl"))) func committedH100TemplatesAreTheImportersOutput() throws {
        let (result, _, jobs) = try importAndRead { try H100WorkloadsImporter(input: sharedTrace("h100-workloads/h100-workloads.jsonl")).run(out: $0) }
        #expect(jobs.count == 15)
        #expect(FileManager.default.contents(atPath: result.out) == FileManager.default.contents(atPath: repositoryRoot.appendingPathComponent("Traces/h100-workloads.jsonl").path))
    }

    @Test(.enabled(if: hasSharedTrace("philly/philly_vc.csv") && hasSharedTrace("alibaba-openb/openb_node_list_all_node.csv")))
    func fleetsFromPublicTracesParse() throws {
        let dir = try temporaryDirectory()
        let philly = try PhillyVCImporter(input: sharedTrace("philly/philly_vc.csv")).run(out: dir.appendingPathComponent("philly.yaml").path)
        #expect(philly.notes.last == "fleet: 1 region, 11 clusters, 352 nodes, 2816 accelerators")
        let openb = try OpenbNodesImporter(input: sharedTrace("alibaba-openb/openb_node_list_all_node.csv")).run(out: dir.appendingPathComponent("openb.yaml").path)
        #expect(openb.report.rowsRead == 1523)
        #expect(openb.notes.last == "fleet: 1 region, 12 clusters, 1213 nodes, 6212 accelerators")
        for result in [philly, openb] { _ = try Scenario.loadFleet(path: result.out) }
    }
}
