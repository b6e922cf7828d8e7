import FleetTwinScenario
import FleetTwinTraces
import Foundation
import Testing

/// Fleets from traces: the YAML each fleet importer writes, and that a scenario's fleet
/// parser accepts it.
@Suite struct FleetImporterTests {
    func importFleet(_ run: (String) throws -> ImportResult) throws -> (result: ImportResult, yaml: String) {
        let out = try temporaryDirectory().appendingPathComponent("fleet.yaml").path
        let result = try run(out)
        #expect(result.report.rowsRead == result.report.jobsWritten + result.report.skipped.count)
        _ = try Scenario.loadFleet(path: out)
        return (result, try String(contentsOfFile: out, encoding: .utf8))
    }

    @Test func tiresiasSpecIsOneClusterPerSwitch() throws {
        let (result, yaml) = try importFleet { try TiresiasClusterImporter(input: traceFixture("tiresias-cluster.csv")).run(out: $0) }
        #expect(yaml.hasSuffix("""
            regions:
              - name: tiresias
                clusters:
                  - { name: switch-0, nodes: 4, accelerators_per_node: 8, type: h100-80gb }
                  - { name: switch-1, nodes: 4, accelerators_per_node: 8, type: h100-80gb }

            """))
        #expect(yaml.hasPrefix("# Fleet imported by `fleettwin import tiresias-cluster` from tiresias-cluster.csv.\n"))
        #expect(result.notes.last == "fleet: 1 region, 2 clusters, 8 nodes, 64 accelerators")
        #expect(result.report.summary == "rows read 1, rows used 1, rows skipped 0", "\(result.report.summary)")
    }

    @Test func phillyVCsAssumeEightGPUNodesAndSayWhy() throws {
        let (result, yaml) = try importFleet { try PhillyVCImporter(input: traceFixture("philly-vc.csv")).run(out: $0) }
        #expect(yaml.contains("      - { name: vc-vca, nodes: 4, accelerators_per_node: 8, type: h100-80gb }\n      - { name: vc-0e4a51, nodes: 2, accelerators_per_node: 8, type: h100-80gb }\n"))
        #expect(yaml.contains("# 8 GPUs per node assumed: the file gives only node counts; Philly servers had 8 or 2 GPUs (Jeon et al., ATC'19)"))
        #expect(result.notes[0].hasPrefix("8 GPUs per node assumed"))
        #expect(skips(result) == ["3: node num 'x' is not a number"])
    }

    @Test func openbNodesAreGroupedByModelAndSizeWithDeclaredTypes() throws {
        let (result, yaml) = try importFleet { try OpenbNodesImporter(input: traceFixture("openb-nodes.csv")).run(out: $0) }
        #expect(yaml.contains("""
            accelerator_types:
              - { name: t4-16gb, base: v100-32gb, memory: 16GB, relative_speed: 0.07 }
              - { name: openb-zz, base: v100-32gb }
            regions:
              - name: alibaba-openb
                clusters:
                  - { name: t4-x2, nodes: 1, accelerators_per_node: 2, type: t4-16gb }
                  - { name: v100m32-x8, nodes: 2, accelerators_per_node: 8, type: v100-32gb }
                  - { name: zz-x4, nodes: 1, accelerators_per_node: 4, type: openb-zz }

            """))
        #expect(skips(result) == ["2: no GPU", "7: gpu 'two' is not a number"])
        #expect(result.notes.contains("type ZZ = openb-zz: a model the trace does not describe, assumed V100-class (a copy of v100-32gb)"))
    }
}
