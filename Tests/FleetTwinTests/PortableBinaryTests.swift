import Foundation
import Testing

/// The binary runs where it is copied: no resource folder beside it (the calibration is
/// embedded), and no instructions beyond x86-64-v3 (Haswell) unless built with
/// FLEETTWIN_NATIVE=1.
@Suite struct PortableBinaryTests {
    /// A copy of `fleettwin` alone in an empty folder, run from there: the calibration report
    /// (which reads the embedded measurements) and a real workload (the tensor kernels).
    @Test func aCopiedBinaryRunsWithNothingBesideIt() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let copy = dir.appendingPathComponent("fleettwin")
        try FileManager.default.copyItem(at: try fleettwinExecutable(), to: copy)
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path) == ["fleettwin"])
        // On the building machine a resource bundle would still be found at its build path,
        // so check that the binary names none of the package's own bundles.
        let binary = try Data(contentsOf: copy)
        #expect(binary.range(of: Data("FleetTwin_FleetTwin".utf8)) == nil, "the binary looks for a FleetTwin resource bundle")
        // The folder holds only the binary while it runs (its outputs go elsewhere).
        func run(_ arguments: [String]) throws -> ProcessOutput { try runProcess(copy, arguments, in: dir) }
        let calibration = try run(["calibrate", "--report", "--json"])
        #expect(calibration.status == 0, "\(calibration.stderr)")
        #expect(calibration.stdout.contains("\"leaveOneOut\""), "\(calibration.stdout.prefix(300))")
        let scenario = dir.appendingPathComponent("real.yaml")
        try """
            name: copied
            fleet: { regions: [{ name: r, clusters: [{ name: c, nodes: 1, accelerators_per_node: 2, type: h100-80gb }] }] }
            workload:
              jobs:
                - name: rag
                  world_size: 2
                  step_time: 30s
                  workload:
                    kind: rag
                    options: {width: 16, heads: 2, subjects: 6, relations: 2, objects: 4, fillers: 3, segments: 2, segmentFillers: 1, batch: 4, steps: 6, probes: 3, layers: 2}
            """.write(to: scenario, atomically: true, encoding: .utf8)
        let real = try run(["run", "real.yaml", "--db", "r.sqlite", "--json", "--quiet"])
        #expect(real.status == 0, "\(real.stderr)")
        #expect(real.stdout.contains("\"identical\" : 1"), "\(real.stdout.suffix(400))")
    }

    /// No AVX-512 (zmm registers) in the default build, even on a building machine that has
    /// it: the kernels target Haswell unless FLEETTWIN_NATIVE=1.
    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/objdump")
                   && ProcessInfo.processInfo.environment["FLEETTWIN_NATIVE"] != "1"))
    func theDefaultBuildUsesNoAVX512() throws {
        let dump = try runProcess(URL(fileURLWithPath: "/usr/bin/objdump"), ["-d", "--no-show-raw-insn", try fleettwinExecutable().path])
        #expect(dump.status == 0)
        let text = dump.stdout
        #expect(text.contains("vfmadd"), "the kernels use fused multiply-adds")
        #expect(!text.contains("%zmm"), "AVX-512 instructions in a default build")
    }
}
