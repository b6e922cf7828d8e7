import ArgumentParser
import FleetTwinEngine
import FleetTwinFleet
import FleetTwinMetrics
import FleetTwinScenario
import FleetTwinScheduling
import Foundation

/// Engine throughput on a synthetic scenario. Wall-clock time is measured here, outside
/// the model; nothing measured feeds back into the simulation.
struct BenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measure speed: the simulation engine (default) or the tensor kernels.",
        discussion: """
            Example:
              swift run -c release fleettwin bench --jobs 100000 --accelerators 1000
              swift run -c release fleettwin bench matmul
            """,
        subcommands: [EngineBenchCommand.self, MatmulBenchCommand.self],
        defaultSubcommand: EngineBenchCommand.self)
}

struct EngineBenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "engine",
        abstract: "Measure simulation speed (events per second) on a synthetic fleet.",
        discussion: """
            Builds a fleet of --accelerators H100s (8 per node, clusters of up to 25 nodes, split over \
            2 regions) and --jobs FIFO jobs at about 90% offered load, runs it --repeat times and reports \
            the median. Build with -c release: debug builds are many times slower.
            Example:
              swift run -c release fleettwin bench --jobs 100000 --accelerators 1000
              swift run -c release fleettwin bench --jobs 10000 --accelerators 256 --policy las
            """)

    @Option(help: "Jobs to simulate.") var jobs = 100_000
    @Option(help: "Accelerators in the fleet (a multiple of 8).") var accelerators = 1_000
    @Option(help: "Scheduling policy (with its default mechanisms).") var policy: PolicyName = PolicyName(argument: "fifo")!
    @Option(help: "Runs to take the median of.") var `repeat` = 3
    @Option(help: "Seed.") var seed: UInt64 = 1
    @Flag(help: "Print one JSON object.") var json = false

    func validate() throws {
        // bench measures FleetTwin itself; an external policy's cost is measured per round trip (README).
        guard !(PolicyRegistry.named(policy.value)?.external ?? false) else { throw ValidationError("bench runs built-in policies; not external") }
        // The bounds a scenario has: at most 100,000,000 generated jobs and 2^31 accelerators.
        guard accelerators >= 8, accelerators % 8 == 0, accelerators <= Int(Int32.max) else {
            throw ValidationError("--accelerators must be a positive multiple of 8, at most \(Int32.max); found \(accelerators)")
        }
        guard jobs >= 1, jobs <= 100_000_000 else { throw ValidationError("--jobs must be between 1 and 100000000; found \(jobs)") }
        guard `repeat` >= 1, `repeat` <= 1000 else { throw ValidationError("--repeat must be between 1 and 1000; found \(`repeat`)") }
    }

    func run() async throws {
        // Clusters of 25 nodes (the last one smaller), alternating between two regions.
        let nodes = accelerators / 8
        let clusterNodes = stride(from: 0, to: nodes, by: 25).map { min(25, nodes - $0) }
        let clusters = clusterNodes.enumerated().map { i, n in ClusterSpec(name: "c\(i)", nodes: n, acceleratorsPerNode: 8, acceleratorType: "h100-80gb") }
        let regions = [
            RegionSpec(name: "region-a", clusters: clusters.enumerated().filter { $0.offset % 2 == 0 }.map(\.element)),
            RegionSpec(name: "region-b", clusters: clusters.enumerated().filter { $0.offset % 2 == 1 }.map(\.element)),
        ].filter { !$0.clusters.isEmpty }
        let fleet = FleetSpec(regions: regions, profiles: AcceleratorProfile.builtIn)
        let sizes = WeightedChoice(values: [1, 2, 4, 8, 16], weights: [50, 20, 15, 10, 5])
        let meanSize = zip(sizes.values, sizes.weights).reduce(0.0) { $0 + Double($1.0) * $1.1 } / sizes.weights.reduce(0, +)
        let perHour = 0.9 * Double(accelerators) / meanSize  // mean duration 1 h
        let generator = WorkloadGenerator(
            count: jobs, start: .zero, arrivals: .poisson(perHour: perHour), worldSize: sizes,
            work: .duration(.exponential(mean: .seconds(Int64(3600)))), tiers: WeightedChoice(values: [.premium, .standard, .basic], weights: [0.2, 0.5, 0.3]), acceleratorType: "h100-80gb",
            stateBytes: 0, memoryPerReplicaBytes: 0)
        let specs = generator.generate(seed: seed, horizon: nil)

        var samples: [(seconds: Double, result: SimulationResult)] = []
        for _ in 0..<`repeat` {
            let simulation = try FleetSimulation(SimulationConfiguration(fleet: fleet, jobs: specs, policy: PolicySpec(name: policy.value).make(jobs: specs)))
            let clock = ContinuousClock()
            let started = clock.now
            let result = try await simulation.run()
            let elapsed = clock.now - started
            samples.append((Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18, result))
        }
        let sorted = samples.sorted { $0.seconds < $1.seconds }
        let median = sorted[samples.count / 2], fastest = sorted[0]
        let r = median.result
        let events = r.processedEvents, records = r.log.records.count
        let report: [(String, String)] = [
            ("policy", policy.value), ("jobs", String(jobs)), ("accelerators", String(accelerators)), ("runs", String(`repeat`)),
            ("queue events", String(events)), ("event-log records", String(records)),
            ("wall time (median)", String(format: "%.3f s", median.seconds)),
            ("wall time (fastest)", String(format: "%.3f s", fastest.seconds)),
            ("queue events/s", String(format: "%.0f", Double(events) / median.seconds)),
            ("queue events/s (fastest)", String(format: "%.0f", Double(events) / fastest.seconds)),
            ("log records/s", String(format: "%.0f", Double(records) / median.seconds)),
            ("jobs/s", String(format: "%.0f", Double(jobs) / median.seconds)),
            ("utilization", String(format: "%.3f", RunMetrics.fold(r).utilization)),
            ("event log hash", r.eventLogHash),
        ]
        if json {
            let object = Dictionary(uniqueKeysWithValues: report.map { ($0.0.replacingOccurrences(of: " ", with: "_"), $0.1) })
            let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .prettyPrinted])
            print(String(decoding: data, as: UTF8.self))
        } else {
            let width = report.map(\.0.count).max() ?? 0
            for (k, v) in report { print(k.padding(toLength: width, withPad: " ", startingAt: 0) + "  " + v) }
        }
    }
}
