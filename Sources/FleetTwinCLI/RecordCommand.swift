import ArgumentParser
import FleetTwinCostModel
import FleetTwinScenario
import FleetTwinTraces
import FleetTwinWorkloads
import Foundation

/// Runs a scenario's real workloads outside the simulator and records what each step cost.
/// CPU time is read here, outside the model; it is reported, never fed back into a run.
struct RecordCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "record",
        abstract: "Run a scenario's real workloads and record their per-step profiles.",
        discussion: """
            Every job of the scenario that has a real `workload` runs straight through on its world \
            size, with one checkpoint saved and restored from bytes half way (the rest of the job runs \
            on the restored object).

            --out gets a native trace (Traces/README.md) with one job template per workload: its \
            steps, the H100 step time the cost model gives for the measured FLOPs, its checkpoint \
            bytes and memory. Scenarios replay it at fleet scale with `templates:` or `trace:`.

            --steps-out gets the step-level profile (format fleettwin-workload-profile, version 1): \
            the CPU seconds, FLOPs and activation bytes of every step, the checkpoint's size with \
            its save and restore times, and the result.

            Build with -c release: debug builds run the kernels many times slower.

            Example:
              fleettwin record Scenarios/eci-mining.yaml Scenarios/rag-mechanistic.yaml \
                --out Traces/recorded-workloads.jsonl
            """)

    @Argument(help: "Scenarios whose jobs include real workloads (their jobs are recorded in order).")
    var scenarios: [String]

    @Option(help: "The native trace to write (job templates).")
    var out: String

    @Option(help: "The step-level profile to write (default: --out with .steps.jsonl).")
    var stepsOut: String?

    @Option(help: "Seed for the workloads (default: the scenario's seed).")
    var seed: UInt64?

    @Option(name: .customLong("job"), help: "Record only these jobs (repeatable; default: every real workload).")
    var jobs: [String] = []

    func validate() throws {
        guard !scenarios.isEmpty else { throw ValidationError("name at least one scenario") }
    }

    func run() throws {
        // Every scenario is read and every --job found before anything runs or is written.
        var selected: [(scenario: Scenario, job: RealWorkloadJob)] = []
        for path in scenarios {
            let parsed = try Scenario.load(path: path)
            guard !parsed.realWorkloads.isEmpty else { throw InvalidInput(message: "\(path) has no job with a real 'workload' to record") }
            selected += parsed.realWorkloads.map { (parsed, $0) }
        }
        if !jobs.isEmpty {
            let names = selected.map(\.job.jobName)
            if let unknown = jobs.first(where: { !names.contains($0) }) {
                throw InvalidInput(message: "no real workload job named '\(unknown)'; the scenarios have: \(names.joined(separator: ", "))")
            }
            selected = selected.filter { jobs.contains($0.job.jobName) }
        }
        let stepsPath = stepsOut ?? (out.hasSuffix(".jsonl") ? String(out.dropLast(6)) : out) + ".steps.jsonl"
        let profile = try ProfileWriter(path: stepsPath)
        profile.write(["format": "fleettwin-workload-profile", "version": 1, "scenarios": scenarios,
                       "machine": Self.machine(), "build": Self.build])
        var templates: [TraceJob] = []
        var notes: [String] = []
        for (parsed, real) in selected {
            let runSeed = seed ?? parsed.seed
            let spec = real.spec(runSeed: runSeed)
            let recorded = try Self.record(real.jobName, spec: spec, into: profile)
            let flops = Double(recorded.totalFlops) / Double(max(recorded.steps, 1))
            let h100 = CostModel.calibrated.smallWorkloadStepSeconds(flops: flops, on: AcceleratorCatalog.h100)
            templates.append(TraceJob(
                id: real.jobName, submit: 0, worldSize: spec.worldSize, steps: recorded.steps, stepTime: h100,
                stateBytes: Int64(recorded.checkpointBytes),
                memoryPerReplicaBytes: Int64(recorded.checkpointBytes + recorded.peakActivationBytes / max(spec.worldSize, 1)),
                workload: spec.kind))
            let cpu = recorded.cpuSeconds.sorted()[recorded.cpuSeconds.count / 2]
            notes.append(String(format: "%@: %d steps, median %.2f ms CPU per step here (%.2f GFLOP/s), %.0f FLOPs per step -> %.2f ms on an H100 (cost model); checkpoint %d bytes",
                                real.jobName, recorded.steps, cpu * 1000, flops / max(cpu, 1e-9) / 1e9, flops, h100 * 1000, recorded.checkpointBytes))
            print(notes.last!)
        }
        try profile.close()
        var writer = try TraceWriter(path: out, header: TraceHeader(
            name: URL(fileURLWithPath: out).deletingPathExtension().lastPathComponent,
            source: "fleettwin record \(scenarios.joined(separator: " "))\(seed.map { " --seed \($0)" } ?? "") (\(Self.build) build) on \(Self.machine()); step profile: \(URL(fileURLWithPath: stepsPath).lastPathComponent)",
            notes: ["stepTime: the cost model's H100 training step for the measured matrix-product FLOPs per step (these small workloads are launch-bound there)",
                    "memoryPerReplicaBytes: checkpoint state plus the peak activation bytes of one replica"] + notes))
        for t in templates { writer.write(t) }
        try writer.close()
        print("wrote \(out) (\(templates.count) job templates) and \(stepsPath)")
    }

    struct Recorded {
        var steps = 0
        var totalFlops = 0
        var cpuSeconds: [Double] = []
        var peakActivationBytes = 0
        var checkpointBytes = 0
    }

    /// Runs one workload with a save and a restore half way, writing its profile lines.
    static func record(_ name: String, spec: WorkloadSpec, into profile: ProfileWriter) throws -> Recorded {
        var workload = try WorkloadRegistry.make(spec)
        profile.write(["job": name, "event": "start", "kind": spec.kind, "seed": spec.seed, "worldSize": spec.worldSize,
                       "options": spec.options, "totalSteps": workload.totalSteps,
                       "estimatedFlopsPerStep": workload.estimatedFlopsPerStep])
        var recorded = Recorded()
        let checkpointAt = workload.totalSteps / 2
        while !workload.isFinished {
            if workload.stepsCompleted == checkpointAt && checkpointAt > 0 {
                let saveStart = cpuSeconds()
                let bytes = WorkloadCheckpoint.bytes(of: workload)
                let restoreStart = cpuSeconds()
                workload = try WorkloadCheckpoint.restore(bytes)
                let restoreEnd = cpuSeconds()
                recorded.checkpointBytes = bytes.count
                profile.write(["job": name, "event": "checkpoint", "step": checkpointAt, "bytes": bytes.count,
                               "saveSeconds": restoreStart - saveStart, "restoreSeconds": restoreEnd - restoreStart])
            }
            let step = workload.stepsCompleted
            let start = cpuSeconds()
            let cost = workload.step(devices: spec.worldSize)
            let seconds = cpuSeconds() - start
            recorded.steps += 1
            recorded.totalFlops += cost.flops
            recorded.cpuSeconds.append(seconds)
            recorded.peakActivationBytes = max(recorded.peakActivationBytes, cost.activationBytes)
            profile.write(["job": name, "event": "step", "step": step, "cpuSeconds": seconds, "flops": cost.flops,
                           "activationBytes": cost.activationBytes])
        }
        let finalBytes = WorkloadCheckpoint.bytes(of: workload).count
        if recorded.checkpointBytes == 0 { recorded.checkpointBytes = finalBytes }
        let result = workload.result!
        profile.write(["job": name, "event": "end", "stateBytes": finalBytes, "peakActivationBytes": recorded.peakActivationBytes,
                       "resultHash": result.hashHex,
                       "metrics": Dictionary(result.metrics.map { ($0.name, $0.value) }, uniquingKeysWith: { a, _ in a })])
        return recorded
    }

    /// This process's CPU time in seconds.
    static func cpuSeconds() -> Double {
        var t = timespec()
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t)
        return Double(t.tv_sec) + Double(t.tv_nsec) / 1e9
    }

    static func machine() -> String {
        let model = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8))?
            .split(separator: "\n").first { $0.hasPrefix("model name") }?
            .split(separator: ":", maxSplits: 1).last?.trimmingCharacters(in: .whitespaces)
        return "\(model ?? "unknown CPU"), \(ProcessInfo.processInfo.activeProcessorCount) cores"
    }

    #if DEBUG
    static let build = "debug"
    #else
    static let build = "release"
    #endif
}

/// JSON Lines with sorted keys.
final class ProfileWriter {
    private let handle: FileHandle
    private var buffer = Data()

    init(path: String) throws {
        guard FileManager.default.createFile(atPath: path, contents: nil), let handle = FileHandle(forWritingAtPath: path) else {
            throw InvalidInput(message: "cannot create \(path)")
        }
        self.handle = handle
    }

    func write(_ object: [String: Any]) {
        // Only our own dictionaries of strings, numbers and nested dictionaries reach here.
        buffer.append(try! JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes]))
        buffer.append(0x0A)
        if buffer.count > 1 << 16 { flush() }
    }

    func flush() {
        handle.write(buffer)
        buffer.removeAll(keepingCapacity: true)
    }

    func close() throws {
        flush()
        try handle.close()
    }
}
