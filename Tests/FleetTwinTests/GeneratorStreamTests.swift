import FleetTwinEngine
import FleetTwinScenario
import FleetTwinScheduling
import Foundation
import Testing

/// Scenarios/README.md promises that changing one generator distribution moves nothing
/// else: every job attribute has its own stream, and so do the arrivals.
@Suite struct GeneratorStreamTests {
    /// A generator whose every attribute is drawn (none fixed), with `override` replacing
    /// one line of it.
    static func jobs(_ override: (key: String, value: String)? = nil, work: String = "duration") throws -> [JobSpec] {
        var lines: [(String, String)] = [
            ("jobs", "200"),
            ("arrivals", "{ poisson: { per_hour: 30 } }"),
            ("world_size", "{ choices: [1, 2, 4, 8], weights: [4, 3, 2, 1] }"),
            ("tiers", "{ premium: 0.2, standard: 0.5, basic: 0.3 }"),
        ]
        switch work {
        case "duration": lines.append(("duration", "{ lognormal: { median: 20m, sigma: 1.0 } }"))
        default:
            lines.append(("templates", "../Traces/h100-workloads.jsonl"))
            lines.append(("steps", "{ choices: [100, 1000, 10000], weights: [1, 1, 1] }"))
        }
        if let override, let i = lines.firstIndex(where: { $0.0 == override.key }) { lines[i].1 = override.value }
        let text = """
            seed: 9
            fleet:
              regions:
                - name: r
                  clusters: [{ name: c, nodes: 2, accelerators_per_node: 8 }]
            workload:
              generator:
            \(lines.map { "    \($0.0): \($0.1)" }.joined(separator: "\n"))
            """
        let file = repositoryRoot.appendingPathComponent("Scenarios/streams.yaml").path
        return try Scenario.parse(text, file: file).jobs(seed: 9)
    }

    /// The attributes a generated job carries, by name.
    static func attributes(_ job: JobSpec) -> [String: String] {
        ["submit": "\(job.submit.microseconds)", "world_size": "\(job.worldSize)", "tier": job.tier.rawValue,
         "work": "\(job.work.microseconds)", "steps": "\(job.steps ?? -1)", "state": "\(job.stateBytes)",
         "memory": "\(job.memoryPerReplicaBytes)"]
    }

    /// Asserts that `changed` differs from `base` in the attributes `moved` only (and does
    /// differ there: the change was real).
    static func expectOnly(_ moved: Set<String>, _ base: [JobSpec], _ changed: [JobSpec], _ what: String) {
        #expect(base.count == changed.count, "\(what): the job count changed")
        var differing: [String: String] = [:]
        for (a, b) in zip(base, changed) {
            let x = attributes(a), y = attributes(b)
            for key in x.keys.sorted() where x[key] != y[key] && differing[key] == nil {
                differing[key] = "\(a.name): \(x[key]!) -> \(y[key]!)"
            }
        }
        for key in differing.keys.sorted() where !moved.contains(key) {
            Issue.record("\(what) moved \(key), e.g. \(differing[key]!)")
        }
        #expect(!differing.isEmpty, "\(what) changed nothing")
    }

    @Test func changingOneDistributionMovesNothingElse() throws {
        let base = try Self.jobs()
        // Fixed to drawn and back, other weights, another distribution family (a different
        // number of draws per job): each moves only its own attribute.
        Self.expectOnly(["world_size"], base, try Self.jobs(("world_size", "4")), "a fixed world size")
        Self.expectOnly(["world_size"], base, try Self.jobs(("world_size", "{ choices: [1, 16], weights: [1, 1] }")), "other world sizes")
        Self.expectOnly(["work"], base, try Self.jobs(("duration", "{ exponential: { mean: 30m } }")), "an exponential duration")
        Self.expectOnly(["work"], base, try Self.jobs(("duration", "1h")), "a fixed duration")
        Self.expectOnly(["tier"], base, try Self.jobs(("tiers", "{ premium: 0.6, basic: 0.4 }")), "other tier shares")
        Self.expectOnly(["submit"], base, try Self.jobs(("arrivals", "{ bursty: { per_hour: 10, burst_per_hour: 90, mean_burst: 1h, mean_gap: 3h } }")),
                        "bursty arrivals")
    }

    @Test func changingTheStepsMovesNothingButTheirWork() throws {
        let base = try Self.jobs(work: "templates")
        // The template drawn (its state and memory) stays; only steps and the work they make move.
        Self.expectOnly(["steps", "work"], base, try Self.jobs(("steps", "500"), work: "templates"), "fixed steps")
        Self.expectOnly(["world_size"], base, try Self.jobs(("world_size", "2"), work: "templates"), "a fixed world size")
    }
}
