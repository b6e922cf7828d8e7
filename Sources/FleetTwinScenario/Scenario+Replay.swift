import FleetTwinEngine
import FleetTwinFleet
import FleetTwinScheduling
import FleetTwinTraces
import Foundation

extension Scenario {
    /// The scenario of `fleettwin replay`: a trace on a fleet under a policy. Its text,
    /// stored with the run, says exactly that.
    public static func replay(trace tracePath: String, fleet fleetPath: String, policy: PolicySpec,
                              noOverheads: Bool, restartCost: RestartCost? = nil, seed: UInt64) throws -> Scenario {
        let (header, jobs) = try TraceReader(path: tracePath).readAll()
        // Slurm's will-run windows are aligned on the Unix clock: the trace says where its zero is.
        var policy = policy
        if let origin = header.origin, policy.options.slurm != nil {
            policy.options.slurm?.clockOrigin = Int64((origin * 1e6).rounded())
        }
        let (fleet, mechanisms) = try loadFleet(path: fleetPath)
        var settings = noOverheads ? (mechanisms ?? .defaults).free : (mechanisms ?? .defaults)
        if let restartCost { settings.restartCost = restartCost }
        let name = header.name.isEmpty ? URL(fileURLWithPath: tracePath).deletingPathExtension().lastPathComponent : header.name
        let text = """
            # fleettwin replay
            name: \(name)
            seed: \(seed)
            trace: \(tracePath)    # \(jobs.count) jobs; source: \(header.source)
            fleet: \(fleetPath)
            policy: \(policy.text)
            overheads: \(noOverheads ? "none" : settings.restartCost.map(Self.describe) ?? "charged")

            """
        let workload = TraceWorkload(path: tracePath, header: header, jobs: jobs, windowFrom: nil, windowTo: nil, limit: nil,
                                     timeScale: 1, tiers: nil, defaultType: nil)
        let files = [ReferencedFile(path: tracePath, given: URL(fileURLWithPath: tracePath).lastPathComponent),
                     ReferencedFile(path: fleetPath, given: URL(fileURLWithPath: fleetPath).lastPathComponent)]
            + policy.options.slurmSources.map { ReferencedFile(path: $0, given: URL(fileURLWithPath: $0).lastPathComponent) }
            .map { file in var f = file; f.contentHash = ReferencedFile.hash(path: f.path); return f }
        var scenario = Scenario(name: name, file: tracePath, text: text, seed: seed, horizon: nil, fleet: fleet,
                                workload: .trace(workload), policy: policy, mechanisms: settings, outputs: OutputSpec(),
                                referencedFiles: files)
        scenario.fleetFile = fleetPath
        return scenario
    }

    /// How a replay's text names its restart cost.
    static func describe(_ cost: RestartCost) -> String {
        switch cost {
        case .flat(let pause): return "a flat \(pause) restart"
        case .compat: return "the policy's original simulator's restart cost (compat)"
        case .byGang: return "a restart of \(cost.description) by gang size"
        case .byApplication: return "a restart of \(cost.description) by application"
        case .elasticFlowEvents: return "ElasticFlow's overhead at every scheduling event"
        }
    }

    /// The recorded outcome of each selected job, in the simulation's job order (nil where
    /// the trace recorded none), for fidelity comparisons.
    public func recordedOutcomes(seed: UInt64) -> [RecordedOutcome?] {
        guard case .trace(let trace) = workload else { return [] }
        let byId = Dictionary(trace.jobs.map { ($0.id, $0.recorded) }, uniquingKeysWith: { a, _ in a })  // looked up only
        return trace.select(seed: seed, fleet: fleet).jobs.map { byId[$0.name] ?? nil }
    }
}
