import FleetTwinCostModel
import FleetTwinEngine
import FleetTwinFleet
import FleetTwinScheduling
import FleetTwinTraces
import Foundation
import Yams

extension Scenario {
    /// Every top-level key, in the order Scenarios/README.md documents them.
    public static let topLevelKeys = ["name", "description", "seed", "horizon", "fleet", "workload", "policy", "mechanisms", "failures", "goals", "outputs"]

    /// Reads and validates a scenario file.
    public static func load(path: String) throws(ScenarioError) -> Scenario {
        let text: String
        do { text = try String(contentsOfFile: path, encoding: .utf8) } catch {
            throw ScenarioError(file: path, line: 0, column: 0, message: "cannot read the scenario: \(error.localizedDescription)")
        }
        return try parse(text, file: path)
    }

    /// Reads a fleet for replays: a fleet document (the keys of a scenario's `fleet` section
    /// at the top level, as the trace importers write them) or a whole scenario, whose fleet
    /// and `mechanisms` are used.
    public static func loadFleet(path: String) throws(ScenarioError) -> (fleet: FleetSpec, mechanisms: MechanismSettings?) {
        let text: String
        do { text = try String(contentsOfFile: path, encoding: .utf8) } catch {
            throw ScenarioError(file: path, line: 0, column: 0, message: "cannot read the fleet: \(error.localizedDescription)")
        }
        let parser = ScenarioParser(reader: YAMLReader(file: path, text: text))
        let root = try parser.reader.compose()
        if case .mapping(let mapping) = root, mapping["fleet"] != nil {
            let scenario = try parser.reader.object(root, "the scenario", allowed: topLevelKeys)
            let mechanisms = try scenario["mechanisms"].map { n throws(ScenarioError) in try parser.parseMechanisms(n) }
            return (try parser.parseFleet(try scenario.required("fleet")), mechanisms)
        }
        return (try parser.parseFleet(root), nil)
    }

    /// Where each cluster of the fleet file (or scenario) at `path` is declared, in order, and
    /// whether it gives `cpus_per_node`: for messages that point at the fleet. Empty when the
    /// file cannot be read (`loadFleet` has said why).
    public static func fleetClusterLines(path: String) -> [(name: String, line: Int, cpusGiven: Bool)] {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8),
              let root = try? YAMLReader(file: path, text: text).compose() else { return [] }
        let fleet = root["fleet"] ?? root
        var found: [(name: String, line: Int, cpusGiven: Bool)] = []
        for region in fleet["regions"]?.sequence ?? [] {
            for cluster in region["clusters"]?.sequence ?? [] {
                found.append((cluster["name"]?.string ?? "", cluster.mark?.line ?? 1, cluster["cpus_per_node"] != nil))
            }
        }
        return found
    }

    /// The line of the entry named `name` in the scenario's `workload.jobs` list, if any.
    static func jobLine(name: String, path: String) -> Int? {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8),
              let root = try? YAMLReader(file: path, text: text).compose() else { return nil }
        return (root["workload"]?["jobs"]?.sequence ?? []).first { $0["name"]?.string == name }?.mark?.line
    }

    /// Parses and validates scenario text; `file` names it in errors.
    public static func parse(_ text: String, file: String) throws(ScenarioError) -> Scenario {
        try ScenarioParser(reader: YAMLReader(file: file, text: text)).parse()
    }
}

/// Turns the YAML tree into a `Scenario`, one section at a time, validating as it goes.
struct ScenarioParser {
    let reader: YAMLReader

    /// The largest accelerator-seconds a policy threshold or service sample may give: its
    /// microseconds stay far inside Int64.
    static let maxAcceleratorSeconds = 1e12

    func parse() throws(ScenarioError) -> Scenario {
        let root = try reader.object(try reader.compose(), "the scenario", allowed: Scenario.topLevelKeys)
        let defaultName = URL(fileURLWithPath: reader.file).deletingPathExtension().lastPathComponent
        let name = try root["name"].map { n throws(ScenarioError) in try reader.string(n, "name") } ?? defaultName
        if let d = root["description"] { _ = try reader.string(d, "description") }
        let seed = try root["seed"].map { n throws(ScenarioError) in UInt64(try reader.int(n, "seed", min: 0)) } ?? 1
        let horizon = try root["horizon"].map { n throws(ScenarioError) in try reader.duration(n, "horizon") }
        let fleet = try parseFleet(try root.required("fleet"))
        let workload = try parseWorkload(try root.required("workload"), fleet: fleet, horizon: horizon)
        let policy = try root["policy"].map { n throws(ScenarioError) in try parsePolicy(n) } ?? PolicySpec()
        let mechanisms = try root["mechanisms"].map { n throws(ScenarioError) in try parseMechanisms(n) } ?? .defaults
        let outputs = try root["outputs"].map { n throws(ScenarioError) in try parseOutputs(n) } ?? OutputSpec()
        let failures = try root["failures"].map { n throws(ScenarioError) in try parseFailures(n, fleet: fleet) } ?? .none
        let goals = try root["goals"].map { n throws(ScenarioError) in try parseGoals(n) } ?? []
        return Scenario(name: name, file: reader.file, text: reader.text, seed: seed, horizon: horizon, fleet: fleet,
                        workload: workload, policy: policy, mechanisms: mechanisms, failures: failures, outputs: outputs,
                        referencedFiles: reader.referenced.hashed(), goals: goals)
    }

    // MARK: Fleet

    func parseFleet(_ node: YAMLNode) throws(ScenarioError) -> FleetSpec {
        let fleet = try reader.object(node, "fleet", allowed: ["accelerator_types", "network", "regions"])
        var profiles = AcceleratorProfile.builtIn
        if let types = fleet["accelerator_types"] {
            for item in try reader.sequence(types, "fleet.accelerator_types") {
                let (profile, nameNode) = try parseProfile(item, known: profiles)
                guard !profiles.contains(where: { $0.name == profile.name }) else {
                    throw reader.error(at: nameNode, "accelerator type '\(profile.name)' is already defined")
                }
                profiles.append(profile)
            }
        }
        var network = NetworkSpec.defaults
        if let n = fleet["network"] { network = try parseNetwork(n, profiles: &profiles) }
        let regionsNode = try fleet.required("regions")
        var regions: [RegionSpec] = []
        var clusterNames: [String] = []
        for regionNode in try reader.sequence(regionsNode, "fleet.regions") {
            let region = try reader.object(regionNode, "a region", allowed: ["name", "clusters"])
            let regionName = try reader.string(try region.required("name"), "region name")
            guard !regions.contains(where: { $0.name == regionName }) else {
                throw reader.error(at: region["name"], "region '\(regionName)' is declared twice")
            }
            var clusters: [ClusterSpec] = []
            for clusterNode in try reader.sequence(try region.required("clusters"), "clusters of region \(regionName)") {
                let c = try reader.object(clusterNode, "a cluster", allowed: ["name", "nodes", "accelerators_per_node", "type", "cpus_per_node", "memory_per_node"])
                let name = try reader.string(try c.required("name"), "cluster name")
                guard !clusterNames.contains(name) else { throw reader.error(at: c["name"], "cluster '\(name)' is declared twice") }
                clusterNames.append(name)
                let type = try c["type"].map { n throws(ScenarioError) in try reader.string(n, "type") } ?? AcceleratorProfile.h100.name
                guard profiles.contains(where: { $0.name == type }) else {
                    throw reader.error(at: c["type"], "unknown accelerator type '\(type)'; expected one of: \(profiles.map(\.name).joined(separator: ", "))")
                }
                clusters.append(ClusterSpec(
                    name: name,
                    nodes: try reader.int(try c.required("nodes"), "nodes", min: 1, max: 1_000_000),
                    acceleratorsPerNode: try reader.int(try c.required("accelerators_per_node"), "accelerators_per_node", min: 1, max: 1024),
                    acceleratorType: type,
                    cpusPerNode: try c["cpus_per_node"].map { n throws(ScenarioError) in
                        try reader.int(n, "cpus_per_node (CPU cores of one node)", min: 1, max: 1_000_000)
                    },
                    memoryGiBPerNode: try c["memory_per_node"].map { n throws(ScenarioError) in try nodeMemory(n) }))
            }
            guard !clusters.isEmpty else { throw reader.error(at: region["clusters"], "region '\(regionName)' has no clusters") }
            regions.append(RegionSpec(name: regionName, clusters: clusters))
        }
        guard !regions.isEmpty else { throw reader.error(at: regionsNode, "fleet.regions must list at least one region") }
        let spec = FleetSpec(regions: regions, network: network, profiles: profiles)
        guard spec.totalAccelerators <= Int(Int32.max) else { throw reader.error(at: regionsNode, "the fleet has more than 2^31 accelerators") }
        return spec
    }

    /// `memory_per_node`: a node's host memory, a size with its unit (`512GiB`, `500GB`), in GiB.
    func nodeMemory(_ n: YAMLNode) throws(ScenarioError) -> Double { try hostMemory(n, "memory_per_node", example: "512GiB or 500GB") }

    /// Host memory (`memory_per_node`, a job's `memory_per_gpu`) in GiB: a size with its unit
    /// (a bare number would be bytes), from 1 MiB to 1 PiB.
    func hostMemory(_ n: YAMLNode, _ key: String, example: String) throws(ScenarioError) -> Double {
        guard let text = n.scalar?.string, Double(text.trimmingWhitespace) == nil else {
            throw reader.error(at: n, "\(key) must be a size with its unit, such as \(example); found \(reader.describe(n))")
        }
        let gib = Double(try reader.size(n, key)) / 1_073_741_824
        guard gib >= 1.0 / 1024, gib <= 1_048_576 else { throw reader.error(at: n, "\(key) must be between 1MiB and 1PiB; found \(text)") }
        return gib
    }

    /// A scenario-declared type: `base` copies a known type (default the H100) and the other
    /// keys override it. `relative_speed` also scales the type's compute in the cost model.
    func parseProfile(_ node: YAMLNode, known: [AcceleratorProfile]) throws(ScenarioError) -> (AcceleratorProfile, YAMLNode?) {
        let keys = ["name", "base", "memory", "relative_speed", "device_to_host", "host_to_device",
                    "storage_write", "storage_read", "idle_power_watts", "busy_power_watts"]
        let t = try reader.object(node, "an accelerator type", allowed: keys)
        let name = try reader.string(try t.required("name"), "accelerator type name")
        var base = AcceleratorProfile.h100
        if let baseNode = t["base"] {
            let baseName = try reader.string(baseNode, "base")
            guard let found = known.first(where: { $0.name == baseName }) else {
                throw reader.error(at: baseNode, "unknown base type '\(baseName)'; expected one of: \(known.map(\.name).joined(separator: ", "))")
            }
            base = found
        } else if t["relative_speed"] == nil {
            throw reader.error(at: node, "accelerator type '\(name)' needs 'base' (a type to copy) or 'relative_speed' (relative to an H100)")
        }
        let speed = try t["relative_speed"].map { n throws(ScenarioError) in try reader.double(n, "relative_speed", min: 0.001, max: 1000) } ?? base.relativeSpeed
        var spec = base.spec.scaled(
            name: name, computeFactor: speed / base.relativeSpeed,
            provenance: .estimate(basis: "declared in \(reader.file) from \(base.name)"))
        if let n = t["memory"] { spec.memoryBytes = try reader.size(n, "memory") }
        func leg(_ key: String) throws(ScenarioError) -> CheckpointCostModel.Leg? {
            try t[key].map { n throws(ScenarioError) in .init(fixedSeconds: 0, bytesPerSecond: try reader.bandwidth(n, key)) }
        }
        if let l = try leg("device_to_host") { spec.checkpoint.deviceToHost = l }
        if let l = try leg("storage_write") { spec.checkpoint.hostToStorage = l }
        if let l = try leg("storage_read") { spec.checkpoint.storageToHost = l }
        if let l = try leg("host_to_device") { spec.checkpoint.hostToDevice = l }
        // Up to a megawatt per accelerator: a fleet's energy then stays a finite number.
        if let n = t["idle_power_watts"] { spec.idleWatts = try reader.double(n, "idle_power_watts", min: 0, max: 1e6) }
        if let n = t["busy_power_watts"] { spec.busyWatts = try reader.double(n, "busy_power_watts", min: 0, max: 1e6) }
        return (AcceleratorProfile(spec: spec, relativeSpeed: speed), t["name"])
    }

    /// `fleet.network`: bandwidths between the fleet's levels, and gradient communication:
    /// `communication` (on unless false), `overlap` (0-1 of the backward pass), `bucket` (the
    /// all-reduce bucket), `node_nic` (every node's network bandwidth, all NICs together) and
    /// `nvlink` (intra-node all-reduce bus bandwidth by accelerator type), which override the
    /// types' `Interconnect` defaults in `profiles`.
    func parseNetwork(_ node: YAMLNode, profiles: inout [AcceleratorProfile]) throws(ScenarioError) -> NetworkSpec {
        let n = try reader.object(node, "fleet.network", allowed: ["intra_node", "intra_cluster", "cross_cluster", "cross_region", "blob",
                                                                  "communication", "overlap", "bucket", "node_nic", "nvlink"])
        var spec = NetworkSpec.defaults
        if let v = n["intra_node"] { spec.intraNode = try reader.bandwidth(v, "intra_node") }
        if let v = n["intra_cluster"] { spec.intraCluster = try reader.bandwidth(v, "intra_cluster") }
        if let v = n["cross_cluster"] { spec.crossCluster = try reader.bandwidth(v, "cross_cluster") }
        if let v = n["cross_region"] { spec.crossRegion = try reader.bandwidth(v, "cross_region") }
        if let v = n["blob"] { spec.blobStore = try reader.bandwidth(v, "blob") }
        var model = CommunicationModel.standard
        if let v = n["overlap"] { model.overlap = try reader.double(v, "overlap", min: 0, max: 1) }
        if let v = n["bucket"] {
            let bytes = try reader.size(v, "bucket")
            guard bytes >= 1024, bytes <= 1 << 40 else { throw reader.error(at: v, "bucket must be between 1KiB and 1TiB; found \(bytes) bytes") }
            model.bucketBytes = Double(bytes)
        }
        if let v = n["communication"] { spec.communication = try reader.bool(v, "communication") ? model : nil } else { spec.communication = model }
        if let v = n["node_nic"] {
            let bandwidth = try reader.bandwidth(v, "node_nic")
            for i in profiles.indices { profiles[i].spec.interconnect.nodeNIC.busBandwidth = bandwidth }
        }
        if let v = n["nvlink"] {
            guard case .mapping(let mapping) = v else {
                throw reader.error(at: v, "nvlink must be a mapping of accelerator type to bandwidth, such as { h100-80gb: 480GBps }; found \(reader.describe(v))")
            }
            for (keyNode, value) in mapping {
                let type = try reader.string(keyNode, "an accelerator type")
                guard let i = profiles.firstIndex(where: { $0.name == type }) else {
                    throw reader.error(at: keyNode, "nvlink: unknown accelerator type '\(type)'; expected one of: \(profiles.map(\.name).joined(separator: ", "))")
                }
                profiles[i].spec.interconnect.nvlink.busBandwidth = try reader.bandwidth(value, "the nvlink bandwidth of \(type)")
            }
        }
        return spec
    }

    // MARK: Policy and outputs

    /// `policy: {name, placement, <the policy's options>}`; the options a policy takes are
    /// its registry entry's (`fleettwin policies`).
    func parsePolicy(_ node: YAMLNode) throws(ScenarioError) -> PolicySpec {
        // Every policy's option is a known key; then the named policy must take each one given.
        var known = ["name", "placement"]
        for d in PolicyRegistry.all { for o in d.options where !known.contains(o.name) { known.append(o.name) } }
        let p = try reader.object(node, "policy", allowed: known)
        // `policy: {external: "python3 my_policy.py"}` names the external policy by its command.
        let nameNode = try p["external"] != nil && p["name"] == nil ? p.required("external") : p.required("name")
        let name = p["external"] != nil && p["name"] == nil ? "external" : try reader.string(nameNode, "policy name")
        guard let descriptor = PolicyRegistry.named(name) else {
            throw reader.error(at: nameNode, "policy name must be one of: \(PolicyRegistry.names.joined(separator: ", ")); found '\(name)'")
        }
        for field in p.fields where field.key != "name" && field.key != "placement" && !descriptor.takes(field.key) {
            let takes = descriptor.options.map(\.name)
            throw reader.error(at: field.keyNode, "policy \(name) takes no option '\(field.key)'; "
                               + (takes.isEmpty ? "it takes none but placement" : "its options: \(takes.joined(separator: ", "))"))
        }
        var options = PolicyOptions()
        for (key, path) in [("preemption", \PolicyOptions.preemption), ("elastic", \.elastic), ("migration", \.migration)] {
            guard let n = p[key] else { continue }
            options[keyPath: path] = try reader.bool(n, key)
        }
        if let n = p["quantum"] { options.quantumSeconds = try reader.duration(n, "quantum", positive: false).seconds }
        if let n = p["round"] {
            // Rounds shorter than a second would make a run of days billions of rounds.
            let round = try reader.duration(n, "round", positive: true).seconds
            guard round >= 1, round <= 86_400 else { throw reader.error(at: n, "round must be between 1s and 1d; found \(round)s") }
            options.roundSeconds = round
        }
        if let n = p["slot"] {
            let slot = try reader.duration(n, "slot", positive: true).seconds
            guard slot >= 1, slot <= 86_400 else { throw reader.error(at: n, "slot (ElasticFlow's scheduling slot) must be between 1s and 1d; found \(slot.clean)s") }
            options.slotSeconds = slot
        }
        for (key, path, lowest) in [("population", \PolicyOptions.population, 2), ("generations", \PolicyOptions.generations, 0)] {
            guard let n = p[key] else { continue }
            options[keyPath: path] = try reader.int(n, "\(key) (Pollux's genetic search)", min: lowest, max: 1000)
        }
        if let n = p["reset-interval"] { options.resetIntervalSeconds = try reader.duration(n, "reset-interval", positive: false).seconds }
        if let n = p["p"] {
            let value = try reader.double(n, "p (Sia's fairness exponent)", min: -10, max: 10)
            guard value != 0 else { throw reader.error(at: n, "p (Sia's fairness exponent) must not be 0 (every goodput would count as 1)") }
            options.fairnessP = value
        }
        if let n = p["lambda-n"] { options.lambdaN = try reader.double(n, "lambda-n (Sia's penalty per job left without devices)", min: -1e6, max: 1e6) }
        if let n = p["restart-penalty"] {
            options.restartPenaltySeconds = try reader.duration(n, "restart-penalty", positive: false).seconds
        }
        if let n = p["thresholds"] {
            var thresholds: [Double] = []
            for item in try reader.sequence(n, "thresholds") {
                thresholds.append(try reader.double(item, "a threshold", min: 0, exclusiveMin: true, max: Self.maxAcceleratorSeconds))
            }
            guard !thresholds.isEmpty, thresholds == thresholds.sorted(), Set(thresholds).count == thresholds.count else {
                throw reader.error(at: n, "thresholds must be a non-empty list of increasing accelerator-seconds")
            }
            options.thresholds = thresholds
        }
        if let n = p["shares"] {
            guard case .mapping(let mapping) = n else { throw reader.error(at: n, "shares must be a mapping of tenant to weight; found \(reader.describe(n))") }
            var shares: [(tenant: String, weight: Double)] = []
            for (keyNode, value) in mapping {
                let tenant = try reader.string(keyNode, "a tenant")
                shares.append((tenant, try reader.double(value, "the weight of \(tenant)", min: 1e-9, max: 1e9)))
            }
            options.tenantShares = shares
        }
        if let n = p["time-slice"] {
            let slice = try reader.duration(n, "time-slice", positive: true)
            // A quantum below a second would wake the run at every one of millions of instants.
            guard slice >= .seconds(Int64(1)), slice <= .seconds(Int64(366 * 86_400)) else {
                throw reader.error(at: n, "time-slice (Gandiva's round-robin quantum) must be between 1s and 366d; found \(slice.seconds.clean)s")
            }
            options.timeSliceSeconds = slice.seconds
        }
        if let n = p["promote-knob"] {
            options.promoteKnob = try reader.double(n, "promote-knob (Tiresias' starvation knob: 0 for off, or how many times its run time a job may wait)",
                                                    min: 0, max: 1e9)
        }
        if let n = p["sla-headroom"] { options.slaHeadroomSeconds = try reader.duration(n, "sla-headroom", positive: false).seconds }
        if let n = p["urgent-restarts"] { options.urgentRestarts = try reader.bool(n, "urgent-restarts") }
        if let n = p["best-effort"] { options.bestEffort = try reader.choice(n, "best-effort", PolicyOptions.BestEffortOrder.self) }
        if let n = p["ordering"] { options.ordering = try reader.choice(n, "ordering", SynergyPolicy.Ordering.self) }
        if let n = p["mechanism"] { options.synergyMechanism = try reader.choice(n, "mechanism", SynergyPolicy.Mechanism.self) }
        if let n = p["queue-order"] { options.queueOrder = try reader.choice(n, "queue-order", LeastAttainedService.QueueOrder.self) }
        if let n = p["distribution"] { options.serviceSamples = try serviceSamples(n) }
        if let n = p["throughputs"] {
            let given = try reader.string(n, "throughputs (a throughput table in Gavel's simulation_throughputs.json format)")
            // The file's own errors name it, its line and key.
            options.colocation = try GavelThroughputFile.read(path: reader.resolve(given))
            options.colocationSource = given
        }
        if p["slurm-conf"] != nil || p["slurm-qos"] != nil {
            let conf = try p["slurm-conf"].map { n throws(ScenarioError) in (reader.resolve(try reader.string(n, "slurm-conf")), n) }
            let qos = try p["slurm-qos"].map { n throws(ScenarioError) in (reader.resolve(try reader.string(n, "slurm-qos")), n) }
            do {
                options.slurm = try SlurmConfiguration.read(conf: conf?.0, qos: qos?.0)
            } catch {
                throw reader.error(at: p["slurm-conf"] ?? p["slurm-qos"], error.description)
            }
            options.slurmSources = [conf?.0, qos?.0].compactMap { $0 }
        }
        if descriptor.external {
            guard let n = p["external"] else {
                throw reader.error(at: node, "the external policy needs its command, such as external: \"python3 my_policy.py\"")
            }
            let command = try reader.string(n, "external")
            guard !command.trimmingWhitespace.isEmpty else { throw reader.error(at: n, "external must be a command line; found an empty one") }
            // Files the command names (the policy's program) are part of the scenario's identity.
            let folder = URL(fileURLWithPath: reader.file).deletingLastPathComponent().path
            for word in command.split(separator: " ").map(String.init) where !word.hasPrefix("-") && word.contains(".") {
                var isFolder: ObjCBool = false
                let path = word.hasPrefix("/") ? word : folder + "/" + word
                if FileManager.default.fileExists(atPath: path, isDirectory: &isFolder), !isFolder.boolValue { _ = reader.resolve(word) }
            }
            var settings = ExternalPolicySettings(command: command, directory: folder)
            if let t = p["timeout"] {
                let d = try reader.duration(t, "timeout")
                guard d >= VirtualTime(microseconds: 1000), d <= .seconds(Int64(86_400)) else {
                    throw reader.error(at: t, "timeout must be from 1ms to 1d; found \(d)")
                }
                settings.timeoutSeconds = d.seconds
            }
            if let o = p["oracle"] { settings.oracle = try reader.bool(o, "oracle") }
            options.external = settings
        }
        let placement = try p["placement"].map { n throws(ScenarioError) -> PlacementRule in
            let given = try reader.string(n, "placement")
            guard let rule = PlacementRule(name: given) else {
                throw reader.error(at: n, "placement must be one of: \(PlacementRule.allCases.map(\.rawValue).joined(separator: ", ")) (or consolidated, the old name of best-fit); found '\(given)'")
            }
            return rule
        } ?? .bestFit
        return PolicySpec(name: name, placement: placement, options: options)
    }

    /// A service distribution: a CSV file whose first column holds accelerator-seconds (a
    /// first line that is not a number is a header), as Tiresias' yarn-gput*.csv.
    func serviceSamples(_ node: YAMLNode) throws(ScenarioError) -> [Double] {
        let path = reader.resolve(try reader.string(node, "distribution"))
        // Through the shared line reader: a byte-order mark or CRLF does not hide the first sample.
        let lines = LineReader(path: path)
        guard lines.isReadable else {
            throw reader.error(at: node, "cannot read the distribution file \(path)")
        }
        var samples: [Double] = []
        var first = true
        for line in lines {
            if line.text.allSatisfy({ $0 == " " || $0 == "\t" }) { continue }
            defer { first = false }
            let field = line.text.split(separator: ",", omittingEmptySubsequences: false).first.map { $0.trimmingCharacters(in: .whitespaces) } ?? ""
            guard let v = Double(field), v.isFinite, v >= 0, v <= Self.maxAcceleratorSeconds else {
                if first { continue }
                throw reader.error(at: node, "\(path) line \(line.number): expected accelerator-seconds (a number from 0 to \(Self.maxAcceleratorSeconds.clean)) in the first column, found '\(field)'")
            }
            samples.append(v)
        }
        guard !samples.isEmpty else { throw reader.error(at: node, "\(path) holds no samples") }
        return samples
    }

    /// `failures: {nodes: {mtbf, distribution, shape, repair}, outages: [{at, clusters | regions, duration}]}`.
    func parseFailures(_ node: YAMLNode, fleet: FleetSpec) throws(ScenarioError) -> FailureSettings {
        let f = try reader.object(node, "failures", allowed: ["nodes", "accelerators", "outages", "degraded", "partitions"])
        var settings = FailureSettings()
        for key in ["nodes", "accelerators"] {
            guard let n = f[key] else { continue }
            let o = try reader.object(n, "failures.\(key)", allowed: ["mtbf", "distribution", "shape", "repair"])
            let mtbf = try reader.period(try o.required("mtbf"), "mtbf")
            let kind = try o["distribution"].map { n throws(ScenarioError) in try reader.string(n, "distribution") } ?? "exponential"
            let tbf: FailureSettings.TimeBetweenFailures
            switch kind {
            case "exponential":
                if let s = o["shape"] { throw reader.error(at: s, "'shape' applies to the weibull distribution only") }
                tbf = .exponential(mean: mtbf)
            case "weibull":
                // Shapes from 0.1 (Gamma(11) scales the mean) to 20 (nearly constant intervals).
                let shape = try reader.double(try o.required("shape"), "shape", min: 0.1, max: 20)
                // Scale so that the mean time between failures is `mtbf`: mean = scale x Gamma(1 + 1/shape).
                tbf = .weibull(scale: .seconds(mtbf.seconds / tgamma(1 + 1 / shape)), shape: shape)
            default:
                throw reader.error(at: o["distribution"], "distribution must be one of: exponential, weibull; found '\(kind)'")
            }
            if key == "nodes" { settings.nodeTimeBetweenFailures = tbf } else { settings.acceleratorTimeBetweenFailures = tbf }
            if let r = o["repair"] { settings.repair = try reader.period(r, "repair") }
        }
        if let list = f["outages"] {
            for item in try reader.sequence(list, "failures.outages") {
                let o = try reader.object(item, "an outage", allowed: ["at", "every", "clusters", "regions", "duration"])
                let clusters = try targets(o, at: item, fleet: fleet)
                let duration = try reader.duration(try o.required("duration"), "duration")
                switch (o["at"], o["every"]) {
                case (let at?, nil):
                    settings.outages.append(.init(at: try reader.duration(at, "at", positive: false), clusters: clusters, duration: duration))
                case (nil, let every?):
                    settings.randomOutages.append(.init(every: try reader.period(every, "every"), clusters: clusters, duration: duration))
                default:
                    throw reader.error(at: item, "an outage takes 'at' (a time) or 'every' (a mean interval for random outages), not both")
                }
            }
        }
        if let list = f["degraded"] {
            for item in try reader.sequence(list, "failures.degraded") {
                let o = try reader.object(item, "a degradation", allowed: ["at", "clusters", "regions", "factor", "duration"])
                let factorNode = try o.required("factor")
                let factor = try reader.double(factorNode, "factor", min: 0, exclusiveMin: true)
                guard factor >= 0.001, factor <= 1 else {
                    throw reader.error(at: factorNode, "factor is the share of speed left, between 0.001 and 1; found \(factor.clean)")
                }
                settings.degradations.append(.init(at: try reader.duration(try o.required("at"), "at", positive: false),
                                                   clusters: try targets(o, at: item, fleet: fleet), factor: factor,
                                                   duration: try reader.duration(try o.required("duration"), "duration")))
            }
        }
        if let list = f["partitions"] {
            for item in try reader.sequence(list, "failures.partitions") {
                let o = try reader.object(item, "a partition", allowed: ["at", "regions", "duration"])
                var regions: [Int32] = []
                for name in try reader.sequence(try o.required("regions"), "regions") {
                    let n = try reader.string(name, "a region name")
                    guard let r = fleet.regions.firstIndex(where: { $0.name == n }) else {
                        throw reader.error(at: name, "no region '\(n)'; the fleet has: \(fleet.regions.map(\.name).joined(separator: ", "))")
                    }
                    regions.append(Int32(r))
                }
                guard !regions.isEmpty else { throw reader.error(at: o["regions"], "a partition cuts off at least one region") }
                settings.partitions.append(.init(at: try reader.duration(try o.required("at"), "at", positive: false),
                                                 regions: Array(Set(regions)).sorted(),
                                                 duration: try reader.duration(try o.required("duration"), "duration")))
            }
        }
        return settings
    }

    /// The clusters an outage or degradation names, by `clusters` or whole `regions`.
    func targets(_ o: YAMLObject, at item: YAMLNode, fleet: FleetSpec) throws(ScenarioError) -> [Int32] {
        let clusterNames = fleet.clusters.map(\.name)
        var found: [Int32] = []
        if let c = o["clusters"] {
            for name in try reader.sequence(c, "clusters") {
                let n = try reader.string(name, "a cluster name")
                guard let i = clusterNames.firstIndex(of: n) else {
                    throw reader.error(at: name, "no cluster '\(n)'; the fleet has: \(clusterNames.joined(separator: ", "))")
                }
                found.append(Int32(i))
            }
        }
        if let r = o["regions"] {
            for name in try reader.sequence(r, "regions") {
                let n = try reader.string(name, "a region name")
                guard let region = fleet.regions.firstIndex(where: { $0.name == n }) else {
                    throw reader.error(at: name, "no region '\(n)'; the fleet has: \(fleet.regions.map(\.name).joined(separator: ", "))")
                }
                let first = fleet.regions[..<region].reduce(0) { $0 + $1.clusters.count }
                found += (0..<fleet.regions[region].clusters.count).map { Int32(first + $0) }
            }
        }
        guard !found.isEmpty else { throw reader.error(at: item, "name the hardware: 'clusters' or 'regions'") }
        return Array(Set(found)).sorted()
    }

    /// `restart_cost:` a duration (a flat pause), `compat` (the policy's original simulator's
    /// charge), or `{gpus: [limits], pauses: [durations]}` (by gang size, one more pause than
    /// limits, limits increasing), as `RestartCost` defines them.
    func parseRestartCost(_ node: YAMLNode) throws(ScenarioError) -> RestartCost {
        if let text = node.scalar?.string {
            return text == "compat" ? .compat : .flat(try reader.duration(node, "restart_cost (a duration, compat, or {gpus, pauses})", positive: false))
        }
        let m = try reader.object(node, "restart_cost", allowed: ["gpus", "pauses"])
        let limitNodes = try reader.sequence(try m.required("gpus"), "restart_cost.gpus")
        let pauseNodes = try reader.sequence(try m.required("pauses"), "restart_cost.pauses")
        var limits: [Int] = []
        for n in limitNodes {
            let limit = try reader.int(n, "restart_cost.gpus entry", min: 1, max: 1_000_000)
            if let last = limits.last, limit <= last { throw reader.error(at: n, "restart_cost.gpus must increase; \(limit) follows \(last)") }
            limits.append(limit)
        }
        var pauses: [VirtualTime] = []
        for n in pauseNodes { pauses.append(try reader.duration(n, "restart_cost.pauses entry", positive: false)) }
        guard pauses.count == limits.count + 1 else {
            throw reader.error(at: node, "restart_cost.pauses needs one more entry than restart_cost.gpus (a pause up to each limit, then one above the last); found \(pauses.count) pauses for \(limits.count) limits")
        }
        return .byGang(gangLimits: limits, pauses: pauses)
    }

    /// `mechanisms:` the costs and targets of Singularity's mechanisms.
    func parseMechanisms(_ node: YAMLNode) throws(ScenarioError) -> MechanismSettings {
        let keys = ["cut_steps", "default_step_time", "deduplication", "splicing_overhead", "checkpoint_interval", "sla_targets", "restart_cost"]
        let m = try reader.object(node, "mechanisms", allowed: keys)
        var s = MechanismSettings.defaults
        if let n = m["cut_steps"] { s.cutSteps = try reader.double(n, "cut_steps", min: 0, max: 1_000_000) }
        if let n = m["default_step_time"] { s.defaultStepTime = try reader.duration(n, "default_step_time") }
        if let n = m["deduplication"] { s.deduplication = try reader.double(n, "deduplication", min: 1, max: 1e15) }
        if let n = m["splicing_overhead"] { s.splicingOverhead = try reader.double(n, "splicing_overhead", min: 0, max: 100) }
        if let n = m["restart_cost"] { s.restartCost = try parseRestartCost(n) }
        if let n = m["checkpoint_interval"] {
            if n.scalar != nil {
                let every = try reader.period(n, "checkpoint_interval")
                s.checkpointInterval = [every, every, every]
            } else {
                let t = try reader.object(n, "checkpoint_interval", allowed: SLATier.allCases.map(\.rawValue))
                for tier in SLATier.allCases {
                    if let v = t[tier.rawValue] { s.checkpointInterval[tier.rank] = try reader.period(v, "checkpoint_interval.\(tier.rawValue)") }
                }
            }
        }
        if let n = m["sla_targets"] {
            let t = try reader.object(n, "sla_targets", allowed: SLATier.allCases.map(\.rawValue))
            for tier in SLATier.allCases {
                guard let v = t[tier.rawValue] else { continue }
                let target = try reader.double(v, "sla_targets.\(tier.rawValue)", min: 0)
                guard target <= 1 else { throw reader.error(at: v, "an SLA target is a GPU fraction between 0 and 1; found \(target)") }
                s.slaTargets[tier.rank] = target
            }
        }
        return s
    }

    func parseOutputs(_ node: YAMLNode) throws(ScenarioError) -> OutputSpec {
        let o = try reader.object(node, "outputs", allowed: ["event_log", "utilization_interval"])
        return OutputSpec(
            eventLog: try o["event_log"].map { n throws(ScenarioError) in try reader.bool(n, "event_log") } ?? true,
            utilizationInterval: try o["utilization_interval"].map { n throws(ScenarioError) in try reader.duration(n, "utilization_interval") })
    }
}
