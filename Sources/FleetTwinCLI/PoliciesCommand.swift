import ArgumentParser
import FleetTwinFleet
import FleetTwinReports
import FleetTwinScenario
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

/// `--external-command` and `--external-timeout`: the `external` policy's process, on the
/// commands that take `--policy`.
struct ExternalPolicyOptions: ParsableArguments {
    @Option(help: "With --policy external: the policy's command line, run by /bin/sh -c in the current folder and spoken to in JSON Lines (docs/external-policy.md), such as \"python3 my_policy.py\".")
    var externalCommand: String?

    @Option(help: "With an external policy: the longest wall-clock wait for one answer, in seconds (default 30).")
    var externalTimeout: Double?

    var given: Bool { externalCommand != nil || externalTimeout != nil }

    /// `spec` with the command line's settings for its external policy; throws when they do
    /// not go together (a command for a built-in policy, an external one with no command).
    func apply(to spec: PolicySpec) throws -> PolicySpec {
        var spec = spec
        if spec.descriptor.external {
            if let command = externalCommand {
                spec.options.external = ExternalPolicySettings(command: command, timeoutSeconds: spec.options.external?.timeoutSeconds ?? ExternalPolicySettings.defaultTimeoutSeconds,
                                                               oracle: spec.options.external?.oracle ?? false)
            }
            if let t = externalTimeout {
                guard t > 0, t <= 86_400 else { throw ValidationError("--external-timeout must be between 0 and 86400 seconds; found \(t)") }
                spec.options.external?.timeoutSeconds = t
            }
            if let problem = spec.problem { throw ValidationError(problem) }
        } else if given {
            throw ValidationError("--external-command and --external-timeout go with --policy external, not \(spec.name)")
        }
        return spec
    }
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
            /// Runs as a child process (`external`), not inside FleetTwin.
            var external: Bool
            var defaultQuantumSeconds: Double
            var options: [PolicyOptionInfo]
        }
        var policies: [Policy]
        var placements: [String]
    }

    func run() throws {
        let listing = Listing(
            policies: PolicyRegistry.all.map {
                .init(name: $0.name, summary: $0.summary, source: $0.source, oracle: $0.oracle, external: $0.external,
                      defaultQuantumSeconds: $0.defaultQuantum.seconds, options: $0.options)
            },
            placements: PlacementRule.allCases.map(\.rawValue))
        if json {
            print(try RunListing.json(listing))
            return
        }
        var lines: [String] = []
        for p in listing.policies {
            lines.append("\(p.name)\(p.oracle ? " (oracle: reads true remaining work)" : "")\(p.external ? " (external: a program you write, run as a child process)" : "")")
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
