import ArgumentParser
import FleetTwinLive
import FleetTwinPolicy
import FleetTwinScenario
import Foundation

/// The mirror's observations of a captured (or recorded) session, in order, each with the
/// mirror's view of it; polls refused by the mirror are left out.
func observations(fromPolls directory: String) throws -> [SlurmObservation] {
    var polls: CapturedPolls
    do { polls = try CapturedPolls(directory: directory) } catch { throw InvalidInput(message: error.description) }
    var mirror = SlurmMirror()
    var seen: [SlurmObservation] = []
    while let poll = polls.next() {
        guard case let .replies(squeue, sinfo, time, squeueSource, sinfoSource) = poll else { continue }
        if let observation = mirror.observe(squeue: squeue, sinfo: sinfo, time: time, squeueSource: squeueSource, sinfoSource: sinfoSource).observation {
            seen.append(observation)
        }
    }
    guard !seen.isEmpty else { throw InvalidInput(message: "\(directory): no poll could be read (expected squeue-NNNN.json, sinfo-NNNN.json, at-NNNN.txt)") }
    return seen
}

/// The finished jobs of `observations` (each run once), as run-time history: user,
/// partition, elapsed and limit seconds.
func finishedRuns(_ observations: ArraySlice<SlurmObservation>) -> [(user: String?, partition: String?, elapsed: Double, limit: Double)] {
    var history: [(user: String?, partition: String?, elapsed: Double, limit: Double)] = []
    var finished: Set<String> = []  // membership only
    for observation in observations {
        for job in observation.jobs {
            guard case .finished = job.phase, let start = job.start, let end = job.end, let limit = job.timeLimit,
                  finished.insert("\(job.id)@\(start)").inserted else { continue }
            history.append((job.user.isEmpty ? nil : job.user, job.partition.isEmpty ? nil : job.partition, Double(end - start), Double(limit)))
        }
    }
    return history
}

/// `fleettwin twin score`: how good the twin's start forecasts are. Replays a captured session
/// poll by poll; at every `--every`-th observation with pending jobs it forecasts each one's
/// start (`Forecaster`, run times drawn from the jobs finished so far: nothing from the future)
/// and, when the job is seen starting later, scores the forecast. Beside it, two baselines on
/// the same observations: every job running to its time limit (the naive plan), and Slurm's
/// own estimate (squeue's `start_time` of a pending job, set by backfill).
struct TwinScoreCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "score",
        abstract: "Score the twin's start forecasts on a captured session against what happened, beside two baselines.",
        discussion: """
            Example:
              fleettwin twin score --replay-polls capture/polls --slurm-conf slurm.conf --slurm-qos qos.psv --every 5
            --json prints forecasts, medianAbsStartErrorSeconds, p90AbsStartErrorSeconds, coverageP10P90, and the \
            same under baseline (time limits) and slurmEstimate.
            """)

    @Option(help: "A captured session (`twin capture`: squeue-NNNN.json, sinfo-NNNN.json, at-NNNN.txt).") var replayPolls: String
    @Option(help: "The cluster's slurm.conf.") var slurmConf: String?
    @Option(help: "The QOS table (`sacctmgr -P show qos format=Name,Priority,Preempt,PreemptMode,GraceTime`).") var slurmQos: String?
    @Option(help: "Forecast at every N-th observation.") var every: Int = 5
    @Option(help: "Seeded replicas per forecast.") var replicas: Int = 20
    @Option(help: "Seed.") var seed: UInt64 = 1
    @Flag(help: "Print JSON.") var json = false

    func run() async throws {
        guard every >= 1, (1...10_000).contains(replicas) else { throw InvalidInput(message: "--every must be >= 1 and --replicas from 1 to 10000") }
        let configuration: SlurmConfiguration
        do { configuration = try SlurmConfiguration.read(conf: slurmConf, qos: slurmQos) } catch { throw InvalidInput(message: error.description) }
        let seen = try observations(fromPolls: replayPolls)
        // Every start observed, per job: a requeued job has several.
        var starts: [String: [Double]] = [:]  // looked up only
        for observation in seen {
            for job in observation.jobs where job.phase != .pending {
                guard let start = job.start else { continue }
                let id = String(job.id)
                if !(starts[id]?.contains(Double(start)) ?? false) { starts[id, default: []].append(Double(start)) }
            }
        }
        var own: [ForecastScore.Forecast] = [], naive: [ForecastScore.Forecast] = [], slurm: [ForecastScore.Forecast] = []
        var actual: [String: Double] = [:]  // keyed by job@time; looked up only
        var made = 0
        for (k, observation) in seen.enumerated() {
            guard k % every == 0 else { continue }
            let history = finishedRuns(seen[...k])
            let snapshot: ClusterSnapshot
            do { snapshot = try ClusterSnapshot(observation) } catch { continue }
            guard !snapshot.pending.isEmpty else { continue }
            made += 1
            let forecasts = try await Forecaster.forecast(snapshot, configuration: configuration, runtimes: RuntimeModel(history: history),
                                                          replicas: replicas, seed: seed &+ UInt64(k))
            let plans = try await Forecaster.forecast(snapshot, configuration: configuration, runtimes: RuntimeModel(), replicas: 1, seed: seed)
            for (f, plan) in zip(forecasts, plans) {
                let key = "\(f.id)@\(snapshot.time)"
                // The start that answers this forecast: the job's first start from now on.
                guard let start = starts[f.id]?.sorted().first(where: { $0 >= snapshot.time - 1 }) else { continue }
                actual[key] = start
                if let p50 = f.p50, let p10 = f.p10, let p90 = f.p90 {
                    own.append(.init(at: snapshot.time, id: key, p10: p10, p50: p50, p90: p90))
                }
                if let p = plan.p50 { naive.append(.init(at: snapshot.time, id: key, p10: p, p50: p, p90: p)) }
                if let job = observation.jobs.first(where: { String($0.id) == f.id }), let estimate = job.start, Double(estimate) >= snapshot.time {
                    slurm.append(.init(at: snapshot.time, id: key, p10: Double(estimate), p50: Double(estimate), p90: Double(estimate)))
                }
            }
        }
        var score = ForecastScore(forecasts: own, actualStarts: actual, baseline: ("every job runs to its time limit", naive))
        score.slurmEstimate = ForecastScore(forecasts: slurm, actualStarts: actual).asBaseline(named: "Slurm's own estimate (squeue start_time)")
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .prettyPrinted]
            print(String(decoding: try encoder.encode(score), as: UTF8.self))
            return
        }
        func row(_ name: String, _ n: Int, _ median: Double?, _ p90: Double?, _ coverage: Double?) -> String {
            name.padding(toLength: 40, withPad: " ", startingAt: 0) + String(n).padding(toLength: 11, withPad: " ", startingAt: 0)
                + [median, p90].map { ($0.map { String(format: "%.1f s", $0) } ?? "-").padding(toLength: 12, withPad: " ", startingAt: 0) }.joined()
                + (coverage.map { String(format: "%.0f%%", $0 * 100) } ?? "-")
        }
        print("forecasts made at \(made) of \(seen.count) observations, \(replicas) replicas each")
        print("".padding(toLength: 40, withPad: " ", startingAt: 0) + "forecasts  |error| p50  |error| p90  p10-p90 coverage")
        print(row("the twin (run times from history)", score.forecasts, score.medianAbsStartErrorSeconds, score.p90AbsStartErrorSeconds, score.coverageP10P90))
        for b in [score.baseline, score.slurmEstimate].compactMap({ $0 }) {
            print(row(b.name, b.forecasts, b.medianAbsStartErrorSeconds, b.p90AbsStartErrorSeconds, b.coverageP10P90))
        }
    }
}
