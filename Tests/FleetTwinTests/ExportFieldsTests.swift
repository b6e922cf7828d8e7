import FleetTwinEngine
import FleetTwinScenario
import FleetTwinScheduling
import FleetTwinTraces
import Foundation
import Testing

/// Everything a policy reads from a job survives `export`, so a recorded run replays as it ran
/// under every policy, not only under the ones whose inputs were exported first (until
/// 2026-11-30 a run's tenants, Slurm limits, partitions, QOS, goodput inputs and CPU/memory
/// profiles were dropped).
@Suite struct ExportFieldsTests {
    /// Three jobs that between them set every optional job field a trace can carry.
    static let trace = """
        {"format":"fleettwin-trace","version":1,"name":"fields","source":"hand-made"}
        {"id":"elastic","submit":0,"worldSize":4,"duration":600,"tier":"premium","user":"team-a","timeLimit":900,"partition":"gpu","qos":"normal","cpus":8,"workload":"resnet50","speedup":[1,1.8,2.5,3.1],"statisticalEfficiency":{"initialBatch":128,"maxBatch":1024,"minLocalBatch":16,"maxLocalBatch":256,"noiseScale":512},"deadline":3600,"resources":{"cpusPerGPU":6,"memoryGiBPerGPU":40,"speedup":1.3}}
        {"id":"infer","submit":5,"worldSize":2,"duration":120,"virtualCluster":"vc1","timeLimit":300,"requests":1000,"weightBytes":2000000}
        {"id":"split","submit":10,"worldSize":4,"steps":100,"stepTime":2,"user":"team-b","stateBytes":1000000,"memoryPerReplicaBytes":1000000,"parallelism":{"tensor":2,"pipeline":2,"microBatches":4},"resources":{"cpusPerGPU":2,"memoryGiBPerGPU":10,"speedup":1}}

        """

    static let fleet = """
        name: fields
        fleet: { regions: [{ name: r, clusters: [{ name: c, nodes: 2, accelerators_per_node: 4 }] }] }
        policy: { name: fifo }
        workload: { trace: TRACE }
        """

    /// The jobs a trace gives a run on `fleet`.
    static func jobs(of trace: String, fleetFile: String) throws -> [JobSpec] {
        let text = try String(contentsOfFile: fleetFile, encoding: .utf8).replacingOccurrences(of: "TRACE", with: trace)
        guard case .trace(let workload) = try Scenario.parse(text, file: "fields.yaml").workload else {
            Issue.record("not a trace workload")
            return []
        }
        let (jobs, skipped) = workload.select(seed: 1, fleet: try Scenario.parse(text, file: "fields.yaml").fleet)
        #expect(skipped.isEmpty, "\(skipped)")
        return jobs
    }

    /// A job's optional fields (JobSpec keeps them behind one box), nil while none is set.
    static func optionalFields(_ job: JobSpec) -> Mirror.Children? {
        guard let box = Mirror(reflecting: job).children.first(where: { $0.label == "rare" })?.value,
              let some = Mirror(reflecting: box).children.first?.value,
              let values = Mirror(reflecting: some).children.first(where: { $0.label == "value" })?.value else { return nil }
        return Mirror(reflecting: values).children
    }

    /// The names of a job's optional fields that are set.
    static func setOptionalFields(_ job: JobSpec) -> [String] {
        (optionalFields(job) ?? Mirror(reflecting: ()).children).compactMap { child in
            Mirror(reflecting: child.value).children.isEmpty && Mirror(reflecting: child.value).displayStyle == .optional ? nil : child.label
        }
    }

    /// Every optional field of `JobSpec`, by the labels of its box.
    static var everyOptionalField: [String] {
        let job = JobSpec(name: "x", submit: .zero, tier: .standard, worldSize: 1, acceleratorType: "H100", work: VirtualTime.seconds(1.0), tenant: "t")
        return optionalFields(job)?.compactMap(\.label) ?? []
    }

    @Test func anExportedRunGivesBackEveryJobFieldItRanWith() throws {
        let dir = try temporaryDirectory()
        let trace = dir.appendingPathComponent("t.jsonl").path, exported = dir.appendingPathComponent("e.jsonl").path
        let fleet = dir.appendingPathComponent("f.yaml").path, db = dir.appendingPathComponent("r.sqlite").path
        try Self.trace.write(toFile: trace, atomically: true, encoding: .utf8)
        try Self.fleet.write(toFile: fleet, atomically: true, encoding: .utf8)
        let original = try Self.jobs(of: trace, fleetFile: fleet)
        // The fixture must set every optional field but the model shape (a trace carries none):
        // a field added to JobSpec fails here until export carries it too.
        let covered = Set(original.flatMap(Self.setOptionalFields))
        let all = Self.everyOptionalField
        #expect(all.count >= 13, "\(all)")
        #expect(all.filter { !covered.contains($0) } == ["model"], "the fixture leaves unset: \(all.filter { !covered.contains($0) })")

        #expect(try runFleettwin(["replay", trace, "--fleet", fleet, "--policy", "fifo", "--quiet", "--db", db]).status == 0)
        #expect(try runFleettwin(["export", "1", "--out", exported, "--db", db]).status == 0)
        let back = try Self.jobs(of: exported, fleetFile: fleet)
        #expect(back.count == original.count)
        for (a, b) in zip(original, back) {
            #expect(a == b, "\(a.name): \(Self.setOptionalFields(a)) became \(Self.setOptionalFields(b))")
        }
    }

    /// The policies that read those fields decide the same on the exported run: the same
    /// event log as the run it was exported from.
    @Test(arguments: ["fair-share", "slurm", "synergy", "pollux", "elasticflow"])
    func anExportedRunReplaysAsItRan(policy: String) throws {
        let dir = try temporaryDirectory()
        let trace = dir.appendingPathComponent("t.jsonl").path, exported = dir.appendingPathComponent("e.jsonl").path
        let fleet = dir.appendingPathComponent("f.yaml").path, db = dir.appendingPathComponent("r.sqlite").path
        try Self.trace.write(toFile: trace, atomically: true, encoding: .utf8)
        try Self.fleet.write(toFile: fleet, atomically: true, encoding: .utf8)
        let ran = try jsonObject(try runFleettwin(["replay", trace, "--fleet", fleet, "--policy", policy, "--json", "--db", db]))
        #expect(try runFleettwin(["export", "1", "--out", exported, "--db", db]).status == 0)
        let replayed = try jsonObject(try runFleettwin(["replay", exported, "--fleet", fleet, "--policy", policy, "--json", "--db", db]))
        #expect(ran["completed"] as? Int == 3)
        #expect(replayed["eventLogHash"] as? String == ran["eventLogHash"] as? String)
    }

    @Test func badResourcesInATraceAreLocated() throws {
        let dir = try temporaryDirectory()
        let header = #"{"format":"fleettwin-trace","version":1,"name":"r","source":"s"}"#
        let cases: [(String, String)] = [
            (#""resources":{"cpusPerGPU":6,"memoryGiBPerGPU":40}"#, "'resources.speedup' (at the ideal CPUs and memory, over the fair share) is required"),
            (#""resources":{"cpusPerGPU":0,"memoryGiBPerGPU":40,"speedup":1}"#, "'resources.cpusPerGPU' (CPU cores per accelerator) is required and must be a number > 0.0 to 1000000.0; found 0"),
            (#""resources":{"cpusPerGPU":4,"memoryGiBPerGPU":40,"speedup":1,"gpus":2}"#, "unknown field 'resources.gpus'; expected: cpusPerGPU, memoryGiBPerGPU, speedup"),
            (#""resources":[4,40,1]"#, "'resources' must be an object with cpusPerGPU, memoryGiBPerGPU, speedup"),
            (#""cpus":0"#, "'cpus' (CPU cores allocated to the job in all) must be a whole number from 1 to 100000000; found 0"),
            (#""cpus":2.5"#, "'cpus' (CPU cores allocated to the job in all) must be a whole number from 1 to 100000000; found 2.5"),
            (#""cpus":"4""#, "'cpus' (CPU cores allocated to the job in all) must be a whole number from 1 to 100000000; found the string \"4\""),
        ]
        for (field, expected) in cases {
            let path = dir.appendingPathComponent("bad.jsonl").path
            try (header + "\n" + #"{"id":"a","submit":0,"worldSize":1,"duration":5,"# + field + "}\n").write(toFile: path, atomically: true, encoding: .utf8)
            do {
                _ = try TraceReader(path: path).readAll()
                Issue.record("accepted \(field)")
            } catch {
                #expect("\(error)".contains("bad.jsonl:2"), "\(error)")
                #expect("\(error)".contains(expected), "\(error)")
            }
        }
    }
}
