import ArgumentParser
import FleetTwinLive
import FleetTwinPolicy
import FleetTwinScenario
import FleetTwinTraces
import Foundation

/// `fleettwin twin eta`: when will each pending job start? Forks a snapshot of the cluster
/// into seeded simulations under the `slurm` policy (`Forecaster`) and prints, per pending
/// job, the median start and its p10-p90 interval with the reason Slurm gives for the wait.
struct TwinEtaCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "eta",
        abstract: "Forecast when each pending job of a Slurm cluster starts, from a snapshot of its state.",
        discussion: """
            The snapshot is the cluster at one instant (JSON: time, acceleratorType, nodes [{name, gpus, up}], \
            running [{id, gpus, submit, start, timeLimit, partition, qos, user, shares [{node, gpus}]}], pending \
            [{id, gpus, submit, eligible, timeLimit, partition, qos, user, reason}]; times in Unix seconds, limits in \
            seconds). Run times are drawn from --history (a native trace of the cluster's finished jobs, as \
            `import slurm-sacct` writes it: each job's run time over its time limit, per user and partition where \
            five or more were seen); without it every job runs to its time limit, as Slurm plans.
            Example:
              fleettwin twin eta --snapshot now.json --slurm-conf slurm.conf --slurm-qos qos.psv --history sacct.jsonl
              fleettwin twin eta --replay-polls capture/polls --poll 40 --slurm-conf slurm.conf --slurm-qos qos.psv
              fleettwin twin eta --live --slurm-conf $SLURM_CONF --slurm-qos qos.psv --history sacct.jsonl 1234
              fleettwin twin eta --live --rest http://127.0.0.1:6820 --slurm-conf slurm.conf 1234   # SLURM_JWT set
            """)

    @Option(help: "The cluster's state (JSON, see above).") var snapshot: String?
    @Option(help: "Or a captured session (`twin capture`): the state at --poll, run times from the jobs finished by then.")
    var replayPolls: String?
    @Option(help: "With --replay-polls: the observation to forecast from (0-based; default the last with pending jobs).") var poll: Int?
    @Flag(help: "Or the live cluster now (squeue --json and sinfo --json with the environment's SLURM_CONF; --history for run times).") var live = false
    @Option(help: "With --live: read the cluster through slurmrestd at this address (http://host:port) instead of its commands; the token comes from SLURM_JWT.")
    var rest: String?
    @Option(help: "With --rest: the user the token was made for (default: $USER, else root).") var restUser: String?
    @Option(help: "The cluster's slurm.conf.") var slurmConf: String?
    @Option(help: "The QOS table (`sacctmgr -P show qos format=Name,Priority,Preempt,PreemptMode,GraceTime`).") var slurmQos: String?
    @Option(help: "A native trace of finished jobs with time limits, for run times.") var history: String?
    @Option(help: "Seeded replicas (each draws every job's run time).") var replicas: Int = 20
    @Option(help: "Seed.") var seed: UInt64 = 1
    @Argument(help: "Only this job.") var jobId: String?
    @Flag(help: "Print JSON.") var json = false

    func run() async throws {
        guard (1...10_000).contains(replicas) else { throw InvalidInput(message: "--replicas must be from 1 to 10000; found \(replicas)") }
        let (state, observedHistory, source) = try twinState(snapshot: snapshot, replayPolls: replayPolls, poll: poll, live: live, rest: rest, restUser: restUser)
        noteSlurmDefaults(slurmConf)
        let configuration: SlurmConfiguration
        do { configuration = try SlurmConfiguration.read(conf: slurmConf, qos: slurmQos) } catch { throw InvalidInput(message: error.description) }
        var model = RuntimeModel(history: observedHistory)
        if let history {
            let (_, jobs) = try TraceReader(path: history).readAll()
            model = RuntimeModel(history: jobs.compactMap { job in
                job.timeLimit.map { (user: job.user, partition: job.partition, elapsed: job.workSeconds, limit: $0) }
            })
            guard !model.overall.isEmpty else { throw InvalidInput(message: "\(history): no job has a time limit; expected `import slurm-sacct` output") }
        }
        if let jobId, !state.pending.contains(where: { $0.id == jobId }) {
            throw InvalidInput(message: "job \(jobId) is not pending in \(source); pending: \(state.pending.map(\.id).joined(separator: ", "))")
        }
        var forecasts: [StartForecast]
        do {
            forecasts = try await Forecaster.forecast(state, configuration: configuration, runtimes: model, replicas: replicas, seed: seed)
        } catch let problem as Forecaster.Problem {
            throw InvalidInput(message: "\(source): \(problem.description)")
        }
        if let jobId { forecasts = forecasts.filter { $0.id == jobId } }
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .prettyPrinted]
            print(String(decoding: try encoder.encode(forecasts), as: UTF8.self))
            return
        }
        func when(_ t: Double?) -> String { t.map { String(format: "+%.0fs", $0 - state.time) } ?? "-" }
        print("job".padding(toLength: 12, withPad: " ", startingAt: 0) + "median    p10       p90       reason")
        for f in forecasts {
            print(f.id.padding(toLength: 12, withPad: " ", startingAt: 0)
                  + [when(f.p50), when(f.p10), when(f.p90)].map { $0.padding(toLength: 10, withPad: " ", startingAt: 0) }.joined()
                  + (f.reason ?? "") + (f.notStarted > 0 ? "  (not started in \(f.notStarted) of \(replicas) replicas within 7 days)" : ""))
        }
        print("\nfrom \(source) at \(WallClock.format(state.time)) UTC; \(replicas) replicas, run times "
              + (model.overall.isEmpty ? "at their time limits" : "drawn from \(model.overall.count) finished jobs"))
    }
}

extension Optional {
    /// The value, or `error` thrown.
    func orThrow(_ error: @autoclosure () -> some Error) throws -> Wrapped {
        guard let value = self else { throw error() }
        return value
    }
}
