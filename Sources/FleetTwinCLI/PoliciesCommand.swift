import ArgumentParser
import FleetTwinFleet
import FleetTwinReports
import FleetTwinScheduling
import Foundation

/// A policy name on the command line, checked against `PolicyRegistry`.
struct PolicyName: ExpressibleByArgument, Sendable {
    let value: String

    init?(argument: String) {
        guard PolicyRegistry.named(argument) != nil else { return nil }
        value = argument
    }

    static var allValueStrings: [String] { PolicyRegistry.names }
    var defaultValueDescription: String { value }
}

extension PlacementRule: ExpressibleByArgument {
    public init?(argument: String) { self.init(name: argument) }
    public static var allValueStrings: [String] { allCases.map(\.rawValue) }
}

struct PoliciesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "policies",
        abstract: "List the scheduling policies and placement rules, with their options and sources.",
        discussion: """
            A scenario names a policy and its options in its policy section, for example
              policy: { name: las, placement: any, thresholds: [3250, 7200], quantum: 0s }
            Options a policy does not list are refused with the line they are on.
            """)

    @Flag(help: "Print one JSON object instead of the table.") var json = false

    struct Listing: Encodable {
        struct Policy: Encodable {
            var name: String
            var summary: String
            var source: String
            var oracle: Bool
            var defaultQuantumSeconds: Double
            var options: [PolicyOptionInfo]
        }
        var policies: [Policy]
        var placements: [String]
    }

    func run() throws {
        let listing = Listing(
            policies: PolicyRegistry.all.map {
                .init(name: $0.name, summary: $0.summary, source: $0.source, oracle: $0.oracle,
                      defaultQuantumSeconds: $0.defaultQuantum.seconds, options: $0.options)
            },
            placements: PlacementRule.allCases.map(\.rawValue))
        if json {
            print(try RunListing.json(listing))
            return
        }
        var lines: [String] = []
        for p in listing.policies {
            lines.append("\(p.name)\(p.oracle ? " (oracle: reads true remaining work)" : "")")
            lines.append("  \(p.summary)")
            lines.append("  source: \(p.source)")
            for o in p.options {
                lines.append("  - \(o.name) (\(o.kind), default \(o.defaultValue == "policy's" ? defaultText(o.name, of: p) : o.defaultValue)): \(o.help)")
            }
        }
        lines.append("")
        lines.append("placement rules (policy.placement, --placement): \(listing.placements.joined(separator: ", ")); consolidated = best-fit")
        print(lines.joined(separator: "\n"))
    }

    private func defaultText(_ option: String, of policy: Listing.Policy) -> String {
        guard let d = PolicyRegistry.named(policy.name) else { return "" }
        switch option {
        case "preemption": return String(d.defaultSwitches.preemption)
        case "elastic": return String(d.defaultSwitches.elastic)
        case "migration": return String(d.defaultSwitches.migration)
        case "quantum": return "\(d.defaultQuantum.seconds.formatted())s"
        default: return ""
        }
    }
}
