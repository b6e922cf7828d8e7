import ArgumentParser
import FleetTwinLive
import FleetTwinMetrics
import FleetTwinPolicy
import FleetTwinScenario
import FleetTwinStore
import Foundation

/// A captured session run through the mirror: the observations it took, in order, each with
/// the mirror's epoch at it (polls refused by the mirror left out), and the events it logged.
struct MirroredPolls {
    var observations: [(observation: SlurmObservation, epoch: Int)]
    var events: [TwinEvent]
}

/// Runs a captured session (`twin capture`'s files, sacct's where captured) through a fresh
/// mirror; an error when no poll could be read.
func mirrored(polls directory: String) throws -> MirroredPolls {
    var polls: CapturedPolls
    do { polls = try CapturedPolls(directory: directory) } catch { throw InvalidInput(message: error.description) }
    var mirror = SlurmMirror()
    var session = MirroredPolls(observations: [], events: [])
    while let poll = polls.next() {
        guard case let .replies(replies) = poll else { continue }
        let step = mirror.observe(replies)
        session.events += step.events
        if let observation = step.observation { session.observations.append((observation, mirror.epoch)) }
    }
    guard !session.observations.isEmpty else {
        throw InvalidInput(message: "\(directory): no poll could be read (expected squeue-NNNN.json, sinfo-NNNN.json, at-NNNN.txt)")
    }
    return session
}

/// Every start the mirror logged, per job (`TwinEvent.jobKey`: a job id reused after a
/// controller restart is another job), Unix seconds in log order: a requeued job's several,
/// sacct's runs included.
func loggedStarts(_ events: [TwinEvent]) -> [String: [Double]] {
    var starts: [String: [Double]] = [:]  // looked up only
    for event in events where event.kind == .started {
        if let key = event.jobKey { starts[key, default: []].append(Double(event.time) / 1e6) }
    }
    return starts
}

/// The runs a twin has seen finish, each once, kept as observations come in (a following
/// twin holds this, not every observation): user, partition, elapsed and limit seconds.
struct FinishedRuns {
    private(set) var runs: [(user: String?, partition: String?, elapsed: Double, limit: Double)] = []
    private var seen: Set<String> = []  // membership only

    init(_ observations: some Sequence<SlurmObservation> = []) {
        for observation in observations { add(observation) }
    }

    mutating func add(_ observation: SlurmObservation) {
        for job in observation.jobs {
            guard case .finished = job.phase, let start = job.start, let end = job.end, let limit = job.timeLimit,
                  seen.insert("\(job.id)@\(start)").inserted else { continue }
            runs.append((job.user.isEmpty ? nil : job.user, job.partition.isEmpty ? nil : job.partition, Double(end - start), Double(limit)))
        }
    }
}

/// Says on standard error that a forecast runs on Slurm's defaults when no slurm.conf is given.
func noteSlurmDefaults(_ slurmConf: String?) {
    if slurmConf == nil { printError("note: no --slurm-conf: forecasts use Slurm's defaults (priority/basic, backfill every 30 s, no preemption)") }
}

/// The forecasts made at one observation (poll `poll`, in the mirror's `epoch`; rows name
/// jobs by `TwinEvent.jobKey`): the twin's, with run times from
/// `history` (the jobs finished by then) over `replicas` replicas seeded `seed + poll`; the
/// time-limit plan's (one replica); and Slurm's own estimate (squeue's `start_time` of a
/// pending job). With them, the twin's and the plan's job-count series to `seriesHorizon` µs
/// after the observation. Empty when nothing is pending.
func forecastRows(_ observation: SlurmObservation, epoch: Int, poll: Int, history: [(user: String?, partition: String?, elapsed: Double, limit: Double)],
                  configuration: SlurmConfiguration, replicas: Int, seed: UInt64, seriesHorizon: Int64) async throws
    -> (rows: [ResultStore.TwinForecast], series: [ResultStore.TwinForecastSeries]) {
    let snapshot: ClusterSnapshot
    do { snapshot = try ClusterSnapshot(observation) } catch { return ([], []) }
    guard !snapshot.pending.isEmpty else { return ([], []) }
    let own = try await Forecaster.forecastWithSeries(snapshot, configuration: configuration, runtimes: RuntimeModel(history: history),
                                                      replicas: replicas, seed: seed &+ UInt64(poll), seriesHorizon: seriesHorizon)
    let plans = try await Forecaster.forecastWithSeries(snapshot, configuration: configuration, runtimes: RuntimeModel(), replicas: 1, seed: seed,
                                                        seriesHorizon: seriesHorizon)
    let rows = zip(own.starts, plans.starts).map { f, plan in
        let estimate = observation.jobs.first { String($0.id) == f.id }?.start.map(Double.init).flatMap { $0 >= snapshot.time ? $0 : nil }
        let key = Int(f.id).map { TwinEvent.jobKey(epoch: epoch, id: $0) } ?? f.id
        return ResultStore.TwinForecast(poll: poll, time: observation.time, job: key, p10: f.p10, p50: f.p50, p90: f.p90,
                                        limitsStart: plan.p50, slurmEstimate: estimate)
    }
    let series = [("limits", plans.series), ("twin", own.series)].map {
        ResultStore.TwinForecastSeries(poll: poll, forecaster: $0.0, time: observation.time, horizon: seriesHorizon, series: $0.1)
    }
    return (rows, series)
}

/// The counts of the jobs `keys` (`TwinEvent.jobKey`) in `jobs` (one observation, in the
/// mirror's `epoch`): GPUs of those pending, number of those running (a job gone from squeue
/// or finished counts in neither, and so does a job of another epoch under the same id).
func observedCounts(_ jobs: [ObservedJob], epoch: Int, of keys: Set<String>) -> JobCountSeries.Point {
    var point = JobCountSeries.Point(offset: 0, pendingGPUs: 0, runningJobs: 0)
    for job in jobs where keys.contains(TwinEvent.jobKey(epoch: epoch, id: job.id)) {
        switch job.phase {
        case .pending: point.pendingGPUs += job.gpus
        case .running: point.runningJobs += 1
        case .finished: break
        }
    }
    return point
}

/// Adds the series scores to `score`: each stored or fresh series (`twin` and `limits`, at
/// the same polls) set against the observations after it, over the jobs open (with GPUs) at
/// the forecast's own observation, each job known by its id and epoch. `observations` in time order.
func scoreSeries(_ score: inout ForecastScore, _ series: [ResultStore.TwinForecastSeries],
                 observations: [(time: Int64, epoch: Int, jobs: [ObservedJob])]) {
    guard let horizon = series.first?.horizon else { return }
    var at: [Int64: Int] = [:]  // observation time -> position; looked up only
    for (k, o) in observations.enumerated() { at[o.time] = k }
    var twin: [ForecastScore.SeriesForecast] = [], limits: [ForecastScore.SeriesForecast] = [], held: [JobCountSeries.Point] = []
    for row in series {
        guard let k = at[row.time] else { continue }
        let now = observations[k]
        let keys = Set(now.jobs.filter { $0.gpus > 0 && !$0.phase.isFinished }.map { TwinEvent.jobKey(epoch: now.epoch, id: $0.id) })  // membership only
        let later = observations[(k + 1)...].prefix { $0.time - row.time <= row.horizon }
            .map { ($0.time, observedCounts($0.jobs, epoch: $0.epoch, of: keys)) }
        let forecast = ForecastScore.SeriesForecast(at: row.time, predicted: row.series, observed: later)
        if row.forecaster == "twin" {
            twin.append(forecast)
            held.append(observedCounts(now.jobs, epoch: now.epoch, of: keys))
        } else {
            limits.append(forecast)
        }
    }
    score.scoreSeries(twin: twin, limits: limits, horizon: horizon, persistence: held)
}

/// Scores stored or fresh forecasts against the starts seen (per job key, every start logged,
/// a requeued job's several): each forecast answers to the job's first start from its time on.
func scoreForecasts(_ rows: [ResultStore.TwinForecast], starts: [String: [Double]]) -> ForecastScore {
    var own: [ForecastScore.Forecast] = [], naive: [ForecastScore.Forecast] = [], slurm: [ForecastScore.Forecast] = []
    var actual: [String: Double] = [:]  // keyed by job@time; looked up only
    for row in rows {
        let at = Double(row.time) / 1e6, key = "\(row.job)@\(row.time)"
        guard let start = starts[row.job]?.sorted().first(where: { $0 >= at - 1 }) else { continue }
        actual[key] = start
        if let p10 = row.p10, let p50 = row.p50, let p90 = row.p90 { own.append(.init(at: at, id: key, p10: p10, p50: p50, p90: p90)) }
        if let p = row.limitsStart { naive.append(.init(at: at, id: key, p10: p, p50: p, p90: p)) }
        if let p = row.slurmEstimate { slurm.append(.init(at: at, id: key, p10: p, p50: p, p90: p)) }
    }
    var score = ForecastScore(forecasts: own, actualStarts: actual, baseline: ("every job runs to its time limit", naive))
    score.slurmEstimate = ForecastScore(forecasts: slurm, actualStarts: actual).asBaseline(named: "Slurm's own estimate (squeue start_time)")
    return score
}

/// `fleettwin twin score`: how good the twin's start forecasts are, scored against the starts
/// that happened, beside two baselines on the same forecasts: every job running to its time
/// limit (the naive plan), and Slurm's own estimate (squeue's `start_time` of a pending job,
/// set by backfill). Either the forecasts a live session kept (`--db`, from `twin slurm
/// --forecast-every`), or fresh ones made on a captured session (`--replay-polls`): at every
/// `--every`-th observation with pending jobs, run times learnt only from the jobs finished by
/// then (nothing from the future).
struct TwinScoreCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "score",
        abstract: "Score the twin's start forecasts against what happened, beside two baselines.",
        discussion: """
            Examples:
              fleettwin twin score --db twin.sqlite                    # what `twin slurm --forecast-every N` kept
              fleettwin twin score --replay-polls capture/polls --slurm-conf slurm.conf --slurm-qos qos.psv --every 5
            --json prints forecasts, medianAbsStartErrorSeconds, p90AbsStartErrorSeconds, coverageP10P90, and the \
            same under baseline (time limits) and slurmEstimate. The series: at each forecast, the predicted GPUs \
            waiting and jobs running among the jobs open then, at every later poll up to the horizon (120 s by \
            default), against what the mirror observed: pendingGPUSeriesMAE and runningJobSeriesMAE (pooled over \
            seriesPoints pairs, seriesHorizonSeconds), the same under baseline, and under persistence (the counts at \
            the forecast held).
            """)

    @Option(help: "A captured session (`twin capture`: squeue-NNNN.json, sinfo-NNNN.json, at-NNNN.txt).") var replayPolls: String?
    @Option(help: "Or the results database of a `twin slurm --forecast-every` session.") var db: String?
    @Option(help: "With --db: the session (default the last).") var session: Int64?
    @Option(help: "The cluster's slurm.conf.") var slurmConf: String?
    @Option(help: "The QOS table (`sacctmgr -P show qos format=Name,Priority,Preempt,PreemptMode,GraceTime`).") var slurmQos: String?
    @Option(help: "Forecast at every N-th observation.") var every: Int = 5
    @Option(help: "Seeded replicas per forecast.") var replicas: Int = 20
    @Option(help: "Seed.") var seed: UInt64 = 1
    @Option(help: "With --replay-polls: how far after each forecast its job-count series is scored (5s, 2m; a session's kept series have their own).")
    var seriesHorizon: PollInterval?
    @Flag(help: "Print JSON.") var json = false

    func run() async throws {
        guard every >= 1, (1...10_000).contains(replicas) else { throw InvalidInput(message: "--every must be >= 1 and --replicas from 1 to 10000") }
        let rows: [ResultStore.TwinForecast], starts: [String: [Double]], summary: String
        let series: [ResultStore.TwinForecastSeries], polled: [(time: Int64, epoch: Int, jobs: [ObservedJob])]
        switch (replayPolls, db) {
        case let (directory?, nil):
            noteSlurmDefaults(slurmConf)
            let configuration: SlurmConfiguration
            do { configuration = try SlurmConfiguration.read(conf: slurmConf, qos: slurmQos) } catch { throw InvalidInput(message: error.description) }
            let session = try mirrored(polls: directory)
            let seen = session.observations.map(\.observation)
            var made: [ResultStore.TwinForecast] = [], predicted: [ResultStore.TwinForecastSeries] = []
            var history = FinishedRuns()
            let horizon = (seriesHorizon ?? .seriesDefault).microseconds
            for (k, observation) in seen.enumerated() {
                history.add(observation)
                guard k % every == 0 else { continue }
                let at = try await forecastRows(observation, epoch: session.observations[k].epoch, poll: k, history: history.runs, configuration: configuration,
                                                replicas: replicas, seed: seed, seriesHorizon: horizon)
                made += at.rows
                predicted += at.series
            }
            rows = made
            series = predicted
            polled = session.observations.map { ($0.observation.time, $0.epoch, $0.observation.jobs) }
            starts = loggedStarts(session.events)
            summary = "forecasts made at \(Set(made.map(\.poll)).count) of \(seen.count) observations, \(replicas) replicas each"
        case let (nil, path?):
            guard slurmConf == nil, slurmQos == nil, seriesHorizon == nil else {
                throw InvalidInput(message: "--slurm-conf, --slurm-qos and --series-horizon make forecasts on --replay-polls; a session's kept forecasts were made with its own")
            }
            guard FileManager.default.fileExists(atPath: path) else { throw InvalidInput(message: "\(path): no such database") }
            let store = try ResultStore(path: path)
            guard let id = try session ?? store.twinSessions().last?.id else { throw InvalidInput(message: "\(path) holds no twin session") }
            rows = try store.twinForecasts(session: id)
            guard !rows.isEmpty else { throw InvalidInput(message: "twin session \(id) kept no forecasts (run `twin slurm --forecast-every N`)") }
            starts = loggedStarts(try store.twinEvents(session: id))
            series = try store.twinForecastSeries(session: id)
            polled = try store.twinObservations(session: id).map { ($0.time, $0.epoch, $0.snapshot.jobs) }
            summary = "forecasts kept by twin session \(id) at \(Set(rows.map(\.poll)).count) polls"
        default:
            throw InvalidInput(message: "give the forecasts as --db PATH (a twin session's) or make them on --replay-polls DIR (one of them)")
        }
        var score = scoreForecasts(rows, starts: starts)
        scoreSeries(&score, series, observations: polled)
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .prettyPrinted]
            print(String(decoding: try encoder.encode(score), as: UTF8.self))
            return
        }
        func cell(_ value: Double?, _ format: String, _ width: Int? = nil) -> String {
            let text = value.map { String(format: format, $0) } ?? "-"
            return width.map { text.padding(toLength: $0, withPad: " ", startingAt: 0) } ?? text
        }
        func row(_ name: String, _ n: Int, _ median: Double?, _ p90: Double?, _ coverage: Double?, _ pending: Double?, _ running: Double?) -> String {
            name.padding(toLength: 44, withPad: " ", startingAt: 0) + String(n).padding(toLength: 11, withPad: " ", startingAt: 0)
                + cell(median, "%.1f s", 12) + cell(p90, "%.1f s", 12) + cell(coverage.map { $0 * 100 }, "%.0f%%", 18)
                + cell(pending, "%.2f", 18) + cell(running, "%.2f")
        }
        print(summary)
        if let horizon = score.seriesHorizonSeconds, let points = score.seriesPoints {
            print("series: counts of the jobs open at each forecast, at the \(points) later polls up to \(Int(horizon)) s after it")
        }
        print("".padding(toLength: 44, withPad: " ", startingAt: 0)
              + "forecasts  |error| p50  |error| p90  p10-p90 coverage  pending-GPU MAE   running-job MAE")
        print(row("the twin (run times from history)", score.forecasts, score.medianAbsStartErrorSeconds, score.p90AbsStartErrorSeconds,
                  score.coverageP10P90, score.pendingGPUSeriesMAE, score.runningJobSeriesMAE))
        for b in [score.baseline, score.slurmEstimate, score.persistence].compactMap({ $0 }) {
            print(row(b.name, b.forecasts, b.medianAbsStartErrorSeconds, b.p90AbsStartErrorSeconds, b.coverageP10P90,
                      b.pendingGPUSeriesMAE, b.runningJobSeriesMAE))
        }
    }
}

extension PollInterval {
    /// `twin score`'s and `twin slurm`'s series horizon unless given: two minutes.
    static let seriesDefault = PollInterval(argument: "120s")!

    /// The interval in whole microseconds.
    var microseconds: Int64 { Int64((seconds * 1_000_000).rounded()) }
}
