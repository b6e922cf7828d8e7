import ArgumentParser
import FleetTwinEngine
import FleetTwinFleet
import FleetTwinMetrics
import FleetTwinPolicy
import FleetTwinReports
import FleetTwinScenario
import FleetTwinScheduling
import FleetTwinTraces
import Foundation


struct ReplayCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "replay",
        abstract: "Replay a trace on a fleet under a policy and store the run.",
        discussion: """
            The fleet is a fleet file (as `fleettwin import tiresias-cluster|philly-vc|openb-nodes|slurm-nodes` write them) \
            or a scenario, whose fleet and mechanisms are used. Jobs the fleet can never run are skipped and \
            listed. --json prints the same object as `run --json`. With --compare-recorded, jobs whose trace \
            recorded a start and an end are compared with their simulation.
            Examples:
              fleettwin replay Traces/h100-workloads.jsonl --fleet Scenarios/quickstart.yaml --policy las
              fleettwin export 1 --out run1.jsonl && fleettwin replay run1.jsonl --fleet Scenarios/quickstart.yaml --policy fifo
              fleettwin replay sacct.jsonl --fleet fleet.yaml --policy slurm --slurm-conf slurm.conf --slurm-qos qos.psv --compare-recorded
            """)

    @Argument(help: "The trace (native format; see Traces/README.md).") var trace: String
    @Option(help: "The fleet file or scenario to take the fleet from.") var fleet: String
    @Option(help: "Scheduling policy (`fleettwin policies` lists them).") var policy: PolicyName = PolicyName(argument: "fifo")!
    @Option(help: "Placement rule.") var placement: PlacementRule = .bestFit
    @Flag(help: "Make every preemption, migration and resize free, as older simulators assume.") var noOverheads = false
    @Option(help: "Instead of FleetTwin's checkpoint-path costs, a flat pause at every start, resize and migration, as peer simulators charge (Pollux's: 30s; SHK's Gavel: 20s); or compat: what the policy's original simulator charges.")
    var restartCost: String?
    @Option(help: "Seed (tiers drawn for jobs whose trace gives none).") var seed: UInt64 = 1
    @Option(help: "With --policy slurm: the cluster's slurm.conf (scheduler, priority and preemption settings, partitions).")
    var slurmConf: String?
    @Option(help: "With --policy slurm: the QOS table, as `sacctmgr -P show qos format=Name,Priority,Preempt,PreemptMode,GraceTime` prints it.")
    var slurmQos: String?
    @Option(help: "With --policy slurm: how long after an event slurmctld's main scheduler runs (a duration such as 0.5s, the default: half a turn of its background thread), or none: at the event itself, with backfill on a fixed grid (the instant model).")
    var slurmLatency: String?
    @Option(help: "With --policy slurm: when backfill plans a job's start, windows (the default): as the select plugin's will-run test, job ends taken in growing time windows; or exact: the earliest instant it fits.")
    var slurmWillRun: String?
    @Option(help: "With --policy slurm: when the backfill thread's first cycle runs, after the trace's time zero: from 0s to below 1s (the thread then wakes every whole second; default 0.5s), or below bf_interval with --slurm-latency none (its fixed grid; default 0s). sacct's whole seconds do not show it: replay with several to see how much of the error it accounts for.")
    var slurmBackfillPhase: String?
    @Option(help: "With --policy gavel-gandiva: a throughput table in Gavel's simulation_throughputs.json format (steps/s alone and packed, per accelerator type and job type: a job's trace workload at its world size).")
    var throughputs: String?
    @Flag(help: "Compare queueing delay and JCT with the ones the trace recorded, and job by job start times, makespan, mean wait, start order, backfilled and preempted jobs, and preemptions (requeues, counted as the summary counts them).") var compareRecorded = false
    @OptionGroup var store: StoreOptions
    @Flag(help: "Print one JSON object instead of the table.") var json = false
    @Flag(help: "Check the fleet's invariants after every event (slow).") var check = false
    @Flag(help: "No progress line on standard error.") var quiet = false
    @OptionGroup var external: ExternalPolicyOptions
    @Flag(help: "Turn gradient communication off: every job's replicas scale perfectly, wherever they are placed (as simulators that ignore the network assume).")
    var noCommunication = false

    func run() async throws {
        var spec = PolicySpec(name: policy.value, placement: placement)
        if slurmConf != nil || slurmQos != nil {
            guard spec.descriptor.takes("slurm-conf") else {
                throw InvalidInput(message: "--slurm-conf and --slurm-qos describe a Slurm cluster; they go with --policy slurm, not \(policy.value)")
            }
            do {
                spec.options.slurm = try SlurmConfiguration.read(conf: slurmConf, qos: slurmQos)
            } catch {
                throw InvalidInput(message: error.description)
            }
            spec.options.slurmSources = [slurmConf, slurmQos].compactMap { $0 }
        }
        if let throughputs {
            guard spec.descriptor.takes("throughputs") else {
                throw InvalidInput(message: "--throughputs is a packing table; it goes with --policy gavel-gandiva, not \(policy.value)")
            }
            do {
                spec.options.colocation = try GavelThroughputFile.read(path: throughputs)
            } catch {
                throw InvalidInput(message: error.description)
            }
            spec.options.colocationSource = throughputs
        }
        if let text = slurmLatency {
            guard spec.name == "slurm" else { throw InvalidInput(message: "--slurm-latency goes with --policy slurm, not \(policy.value)") }
            var configuration = spec.options.slurm ?? SlurmConfiguration()
            if text == "none" {
                configuration.schedulerLatency = nil
            } else {
                guard let d = Units.duration(text), d > .zero else {
                    throw InvalidInput(message: "--slurm-latency must be a duration above zero such as 0.5s, or none; found '\(text)'")
                }
                configuration.schedulerLatency = d
            }
            spec.options.slurm = configuration
        }
        if let text = slurmWillRun {
            guard spec.name == "slurm" else { throw InvalidInput(message: "--slurm-will-run goes with --policy slurm, not \(policy.value)") }
            guard text == "windows" || text == "exact" else {
                throw InvalidInput(message: "--slurm-will-run must be windows or exact; found '\(text)'")
            }
            var configuration = spec.options.slurm ?? SlurmConfiguration()
            configuration.willRunWindow = text == "exact" ? nil : SlurmConfiguration().willRunWindow
            spec.options.slurm = configuration
        }
        if let text = slurmBackfillPhase {
            guard spec.name == "slurm" else { throw InvalidInput(message: "--slurm-backfill-phase goes with --policy slurm, not \(policy.value)") }
            var configuration = spec.options.slurm ?? SlurmConfiguration()
            // Under slurmctld's timing the thread wakes every whole second after a cycle, so a
            // phase is one modulo a second; on the instant model's grid, modulo bf_interval.
            let (limit, meaning) = configuration.schedulerLatency == nil
                ? (configuration.bfInterval, "below bf_interval (\(configuration.bfInterval)) with --slurm-latency none")
                : (VirtualTime.seconds(Int64(1)), "below 1s (the backfill thread wakes every whole second)")
            guard let d = Units.duration(text), d >= .zero, d < limit else {
                throw InvalidInput(message: "--slurm-backfill-phase must be a duration from 0s up to \(meaning), such as 0.75s; found '\(text)'")
            }
            configuration.backfillPhase = d
            spec.options.slurm = configuration
        }
        spec = try external.apply(to: spec)
        if spec.name == "slurm" && slurmConf == nil {
            printError("note: no --slurm-conf: Slurm's defaults (priority/basic, backfill every 30 s, no preemption)")
        }
        let restart = try restartCost.map { text throws(InvalidInput) -> RestartCost in
            if text == "compat" { return .compat }
            guard let d = Units.duration(text), d >= .zero else {
                throw InvalidInput(message: "--restart-cost must be a duration such as 30s or 1m, or compat; found '\(text)'")
            }
            return .flat(d)
        }
        if restart != nil && noOverheads { throw InvalidInput(message: "--restart-cost and --no-overheads contradict each other: give one") }
        let replayed = try Scenario.replay(trace: trace, fleet: fleet, policy: spec, noOverheads: noOverheads, restartCost: restart, seed: seed)
        try ScenarioRun.checkSlurmNodes(policy: spec, fleet: replayed.fleet, fleetFile: fleet)
        let scenario = noCommunication ? replayed.withoutCommunication() : replayed
        let outcome = try await ScenarioRun(scenario: scenario, seed: seed, policy: nil, check: check, quiet: quiet,
                                            database: store.db).execute()
        var fidelity: Fidelity?
        var schedule: ScheduleFidelity?
        if compareRecorded {
            var recorded: [(Double, Double)] = [], simulated: [(Double, Double)] = []
            var starts: [ScheduleFidelity.Input] = []
            for (i, outcomeRecord) in scenario.recordedOutcomes(seed: seed).enumerated() {
                guard let r = outcomeRecord, let start = r.start, let end = r.end,
                      let delay = outcome.metrics.jobs[i].queueDelay, let jct = outcome.metrics.jobs[i].completionTime else { continue }
                let job = outcome.metrics.jobs[i]
                starts.append(ScheduleFidelity.Input(
                    id: outcome.result.jobs[i].name, submit: job.submit.seconds, priority: r.priority ?? 0,
                    recorded: (start, end, r.attempts ?? 1), simulated: (job.firstStart!.seconds, job.end!.seconds, job.starts)))
                // Traces keep seconds; the simulation, microseconds: compare at microseconds.
                func micro(_ s: Double) -> Double { (s * 1e6).rounded() / 1e6 }
                let submit = outcome.result.jobs[i].submit.seconds
                recorded.append((micro(start - submit), micro(end - submit)))
                simulated.append((delay.seconds, jct.seconds))
            }
            guard !recorded.isEmpty else {
                throw InvalidInput(message: "--compare-recorded: no job of \(trace) has a recorded start and end that the replay completed")
            }
            fidelity = Fidelity(recorded: recorded.map { (delay: $0.0, jct: $0.1) }, simulated: simulated.map { (delay: $0.0, jct: $0.1) })
            schedule = ScheduleFidelity(starts)
        }
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
            let object = JSONWithKey(base: JSONWithKey(base: outcome.summary, key: "fidelity", extra: fidelity),
                                     key: "scheduleFidelity", extra: schedule)
            print(String(decoding: try encoder.encode(object), as: UTF8.self))
        } else {
            print(outcome.summary.table() + (fidelity.map { "\n\n" + $0.table() } ?? "") + (schedule.map { "\n\n" + $0.table() } ?? "")
                  + "\n\nresults: \(store.db)")
        }
    }
}

struct ExportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Write a stored run's jobs as a native trace, with their outcomes recorded.",
        discussion: """
            Every job field a policy reads is written (tenant, time limit, partition, QOS, elastic curve, \
            goodput inputs, CPU and memory profile, parallelism, deadline, application). Replaying the \
            trace on the run's fleet under the run's policy reproduces its event log exactly (the same \
            event-log hash); under another policy it answers "what if". Model-shaped jobs are \
            exported with their work at H100 speed and without their shape, so they replay at the types' \
            relative speeds and without gradient communication: such runs replay only approximately.
            Example:
              fleettwin export 1 --out run1.jsonl
            """)

    @Argument(help: "The run's id (see `fleettwin runs`).") var runId: Int64
    @Option(help: "Where to write the trace.") var out: String
    @OptionGroup var store: StoreOptions

    func run() throws {
        let database = try store.openForReading()
        guard let detail = try database.runDetail(id: runId) else {
            throw InvalidInput(message: "no run \(runId) in \(store.db)")
        }
        guard let jobs = try database.replayableJobs(run: runId) else {
            throw InvalidInput(message: "run \(runId) was stored before FleetTwin kept each job's work; run it again to export it")
        }
        var writer = try TraceWriter(path: out, header: TraceHeader(
            name: detail.scenarioName, source: "fleettwin export of run \(runId) (\(detail.policy), seed \(detail.seed)) from \(store.db)",
            notes: ["recorded outcomes are this run's simulated ones"]))
        for job in jobs {
            var traced = TraceJob(
                id: job.name, submit: Double(job.submitMicroseconds) / 1e6, worldSize: job.worldSize,
                duration: Double(job.workMicroseconds) / 1e6, tier: job.tier,
                acceleratorType: job.acceleratorType == "any" ? nil : job.acceleratorType,
                stateBytes: job.stateBytes == 0 ? nil : job.stateBytes,
                memoryPerReplicaBytes: job.memoryPerReplicaBytes == 0 ? nil : job.memoryPerReplicaBytes,
                recorded: RecordedOutcome(start: job.firstStartMicroseconds.map { Double($0) / 1e6 },
                                          end: job.endMicroseconds.map { Double($0) / 1e6 },
                                          status: job.endMicroseconds == nil ? "unfinished" : "completed"))
            // Work given in steps keeps them: a preemption's cut is counted in steps.
            if let steps = job.steps, steps > 0 {
                traced.duration = nil
                traced.steps = Int(steps)
                traced.stepTime = Double(job.workMicroseconds) / 1e6 / Double(steps)
            }
            traced.requests = job.requests
            traced.weightBytes = job.weightBytes
            traced.speedup = job.speedup
            traced.parallelism = job.parallelism.map { TraceParallelism(tensor: $0.tensor, pipeline: $0.pipeline, microBatches: $0.microBatches) }
            // Deadlines (for `elasticflow` and the deadline goals) and the application (Sia's
            // restart charge) replay as they ran.
            traced.deadline = job.deadlineMicroseconds.map { Double($0) / 1e6 }
            traced.workload = job.application
            // What the other policies read: the tenant (`fair-share`), Slurm's limit, partition,
            // QOS and CPUs (`slurm`), goodput inputs (`pollux`), CPU and memory profile (`synergy`).
            traced.user = job.tenant
            traced.timeLimit = job.timeLimitMicroseconds.map { Double($0) / 1e6 }
            traced.partition = job.partition
            traced.qos = job.qos
            traced.cpus = job.cpus
            traced.statisticalEfficiency = job.statisticalEfficiency.map {
                TraceStatisticalEfficiency(initialBatch: $0.initialBatch, maxBatch: $0.maxBatch, minLocalBatch: $0.minLocalBatch,
                                           maxLocalBatch: $0.maxLocalBatch, gradientVariance: $0.gradientVariance,
                                           gradientSquare: $0.gradientSquare)
            }
            traced.resources = job.resources.map {
                TraceResources(cpusPerGPU: $0.cpusPerAccelerator, memoryGiBPerGPU: $0.memoryGiBPerAccelerator, speedup: $0.speedup)
            }
            writer.write(traced)
        }
        try writer.close()
        print("wrote \(out): \(jobs.count) jobs of run \(runId)")
    }
}
