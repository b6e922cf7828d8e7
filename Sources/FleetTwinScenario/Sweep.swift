import FleetTwinEngine
import FleetTwinScheduling
import Foundation

/// A sweep: scenarios x policies x seeds, expanded in a canonical order (scenarios as
/// listed, then policies, then seeds), each unit named by a hash of what determines its
/// result, so that shards can run anywhere and their files be merged and cross-checked.
public struct Sweep: Sendable {
    public struct Unit: Sendable {
        /// Position in the canonical order.
        public var position: Int
        public var id: String
        public var scenario: Scenario
        public var policy: PolicySpec
        public var seed: UInt64
    }

    public var file: String
    public var units: [Unit]

    /// Reads `scenarios` (paths relative to the sweep file), `policies` (names) and `seeds`
    /// (a list, or a range "1-5").
    public static func load(path: String) throws(ScenarioError) -> Sweep { try load(path: path, log: nil) }

    static func load(path: String, log: SchemaLog?) throws(ScenarioError) -> Sweep {
        let text: String
        do { text = try String(contentsOfFile: path, encoding: .utf8) } catch {
            throw ScenarioError(file: path, line: 0, column: 0, message: "cannot read the sweep: \(error.localizedDescription)")
        }
        let reader = YAMLReader(file: path, text: text, log: log)
        let root = try reader.object(try reader.compose(), "the sweep", allowed: ["scenarios", "policies", "seeds"])
        var scenarios: [Scenario] = []
        for node in try reader.sequence(try root.required("scenarios"), "scenarios") {
            let given = try reader.string(node, "a scenario path")
            let file = reader.resolve(given)
            scenarios.append(try Scenario.load(path: file))
        }
        var policies: [String] = []
        for node in try reader.sequence(try root.required("policies"), "policies") {
            let name = try reader.string(node, "a policy")
            guard PolicyRegistry.named(name) != nil else {
                throw reader.error(at: node, "a policy must be one of: \(PolicyRegistry.names.joined(separator: ", ")); found '\(name)'")
            }
            policies.append(name)
        }
        let seedsNode = try root.required("seeds")
        var seeds: [UInt64] = []
        if let range = seedsNode.scalar?.string, range.contains("-") {
            let bounds = range.split(separator: "-").map { UInt64(String($0).trimmingWhitespace) }
            guard bounds.count == 2, let lo = bounds[0], let hi = bounds[1], lo <= hi, hi - lo < 10_000 else {
                throw reader.error(at: seedsNode, "seeds must be a list or a range like 1-5")
            }
            seeds = Array(lo...hi)
        } else {
            for node in try reader.sequence(seedsNode, "seeds") { seeds.append(UInt64(try reader.int(node, "a seed", min: 0))) }
        }
        guard !scenarios.isEmpty, !policies.isEmpty, !seeds.isEmpty else {
            throw reader.error(at: nil, "a sweep needs at least one scenario, one policy and one seed")
        }
        var units: [Unit] = []
        for scenario in scenarios {
            for name in policies {
                // The scenario's own policy options carry over to each policy that takes them.
                let policy = scenario.policy.renamed(name)
                if let problem = policy.problem { throw reader.error(at: root["policies"], "\(scenario.name): \(problem)") }
                for seed in seeds {
                    var h = StableHasher()
                    h.combine(scenario.contentHash)
                    h.combine(policy.text)
                    h.combine(seed)
                    h.combine(FleetTwinEngine.buildIdentity)
                    units.append(Unit(position: units.count, id: h.hex, scenario: scenario,
                                      policy: policy, seed: seed))
                }
            }
        }
        return Sweep(file: path, units: units)
    }

    /// The units shard `index` of `count` runs: those at positions k with k % count == index.
    public func shard(_ index: Int, of count: Int) -> [Unit] {
        units.filter { $0.position % count == index }
    }
}
