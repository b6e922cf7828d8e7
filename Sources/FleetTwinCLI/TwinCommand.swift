/// `fleettwin twin ...`: the live twin of a Slurm cluster: follow it with the mirror
/// (FleetTwinLive; `twin slurm`, which can also forecast and keep its forecasts), capture its
/// replies for offline use (`twin capture`), export the observation log as a native trace with
/// the fleet (`twin export`), forecast starts (`twin eta`), score forecasts (`twin score`) and
/// compare changes (`twin whatif`).
import ArgumentParser
import FleetTwinEngine
import FleetTwinLive
import FleetTwinStore
import FleetTwinTraces
import FleetTwinPolicy
import Foundation

struct TwinCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "twin",
        abstract: "The live twin: mirror a running Slurm cluster into an observation log.",
        discussion: """
            Example, offline on a captured run, then replayed under the slurm policy:
              fleettwin twin slurm --replay-polls capture/polls --db twin.sqlite
              fleettwin twin export --db twin.sqlite --out twin.jsonl
              fleettwin replay twin.jsonl --fleet twin-fleet.yaml --policy slurm --slurm-conf slurm.conf --slurm-qos qos.psv --compare-recorded
            """,
        subcommands: [TwinSlurm.self, TwinCapture.self, TwinExport.self, TwinEtaCommand.self, TwinScoreCommand.self, TwinWhatIfCommand.self])
}

/// `--interval`: `5s`, `500ms`, `1m`, or plain seconds.
struct PollInterval: ExpressibleByArgument, Sendable {
    var seconds: Double
    var defaultValueDescription: String { seconds.rounded() == seconds ? "\(Int(seconds))s" : "\(seconds)s" }

    init?(argument: String) {
        let text = argument.trimmingCharacters(in: .whitespaces).lowercased()
        let units: [(String, Double)] = [("ms", 0.001), ("s", 1), ("m", 60)]
        var number = text, scale = 1.0
        for (suffix, factor) in units where text.hasSuffix(suffix) {
            number = String(text.dropLast(suffix.count))
            scale = factor
            break
        }
        guard let value = Double(number), value.isFinite, value > 0, value * scale <= 86_400 else { return nil }
        seconds = value * scale
    }

    static var defaultCompletionKind: CompletionKind { .default }
}

/// The options that say when polling stops.
struct PollLimits: ParsableArguments {
    @Option(help: "Time between polls of a live cluster: 5s, 500ms, 1m (captured polls are read without waiting).") var interval: PollInterval = PollInterval(argument: "5s")!
    @Option(help: "Stop after N polls.") var maxPolls: Int?
    @Flag(help: "Stop once jobs were seen and none is pending or running.") var untilIdle = false

    func validate() throws {
        if let maxPolls, maxPolls < 1 { throw ValidationError("--max-polls must be at least 1") }
    }
}

/// The options that say how to reach a live cluster: its commands (the default) or slurmrestd.
struct LiveOptions: ParsableArguments {
    @Option(help: "Read the cluster through slurmrestd at this address (http://host:port, openapi v0.0.38) instead of its commands; the token comes from SLURM_JWT (`scontrol token`).")
    var rest: String?
    @Option(help: "With --rest: the user the token was made for (default: $USER, else root).") var restUser: String?
    @Flag(help: "Do not ask sacct (a cluster without slurmdbd); runs that begin and end between two polls go unseen.") var noSacct = false

    /// The poll source these options name, and how a session records where it came from.
    func source() throws -> (any PollSource, String) {
        let environment = ProcessInfo.processInfo.environment
        guard let rest else {
            return (LiveSlurm(clock: wallClockMicroseconds, sacct: !noSacct), "squeue/sinfo (SLURM_CONF=\(environment["SLURM_CONF"] ?? "unset"))")
        }
        return try Self.restSource(rest, user: restUser, sacct: !noSacct)
    }

    /// slurmrestd at `rest` (http://host:port), with the token in SLURM_JWT made for `user`
    /// (default $USER, else root). Throws `InvalidInput` for an address that is not one, or
    /// without a token.
    static func restSource(_ rest: String, user restUser: String?, sacct: Bool) throws -> (any PollSource, String) {
        let environment = ProcessInfo.processInfo.environment
        guard rest.hasPrefix("http://") || rest.hasPrefix("https://"), URL(string: rest) != nil else {
            throw InvalidInput(message: "--rest \(rest): expected slurmrestd's address, such as http://127.0.0.1:6820")
        }
        guard let token = environment["SLURM_JWT"], !token.isEmpty else {
            throw InvalidInput(message: "--rest needs a token in SLURM_JWT (`export $(scontrol token username=$USER)`)")
        }
        let user = restUser ?? environment["USER"].flatMap { $0.isEmpty ? nil : $0 } ?? "root"
        return (RestSlurm(base: rest, user: user, token: token, clock: wallClockMicroseconds, sacct: sacct), "slurmrestd \(rest)")
    }
}

/// Prints a poll's events: cluster events on standard output (unless quiet), poll faults on
/// standard error, each as `TwinEvent.line`.
func report(_ step: SlurmMirror.Step, quiet: Bool) {
    for event in step.events {
        if event.isFault {
            printError("twin: \(event.line)")
        } else if !quiet {
            // Unbuffered, so a piped or redirected twin shows each event as it is found.
            FileHandle.standardOutput.write(Data((event.line + "\n").utf8))
        }
    }
}

struct TwinSlurm: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "slurm",
        abstract: "Follow a Slurm cluster (squeue --json, sinfo --json, sacct --json) and append what changed to the observation log.",
        discussion: """
            Each poll runs `squeue --json`, `sinfo --json` and `sacct --json` for the runs since the last poll \
            (SLURM_CONF and PATH from the environment), or, with --replay-polls, reads the next captured poll; the \
            mirror turns what changed into lifecycle events \
            (submitted, started, requeued, completed, failed, cancelled, timeout, preempted, nodeDown, nodeUp) and \
            the poll is appended to the database in one transaction (tables observations, twin_snapshots, \
            twin_events), so killing the twin loses nothing already observed. A malformed reply, a failed command, \
            time going back, an empty reply or a restarted slurmctld is logged on standard error, recorded as an \
            event and survived. sacct shows the runs squeue could not (one that began and was requeued, or began \
            and ended, between two polls); without slurmdbd sacct fails, which is logged once, and polls go on \
            without it (--no-sacct: never ask). Mirror mode decides nothing. Events are printed as they are found.
            Example:
              fleettwin twin slurm --interval 5s --db twin.sqlite
              fleettwin twin slurm --replay-polls ../shared/slurm/capture-seed8/polls --db twin.sqlite --until-idle
              fleettwin twin slurm --interval 5s --db twin.sqlite --forecast-every 6 --slurm-conf $SLURM_CONF --slurm-qos qos.psv
              fleettwin twin slurm --interval 5s --db twin.sqlite --resume      # after a restart: the last session carries on
              fleettwin twin slurm --rest http://127.0.0.1:6820 --db twin.sqlite   # through slurmrestd (SLURM_JWT set)
            """)

    @Option(help: "The results database (SQLite); created when missing.") var db: String = ResultStore.defaultPath
    @Option(help: "Read captured polls from this directory (squeue-NNNN.json, sinfo-NNNN.json, at-NNNN.txt, sacct-NNNN.json where captured) instead of calling Slurm.")
    var replayPolls: String?
    @OptionGroup var limits: PollLimits
    @Flag(help: "Print only faults and the summary, not every event.") var quiet = false
    @OptionGroup var live: LiveOptions
    @Option(help: "Forecast every pending job's start at every N-th poll and keep the forecasts (`twin score --db`); 0: never.")
    var forecastEvery: Int = 0
    @Option(help: "With --forecast-every: the cluster's slurm.conf.") var slurmConf: String?
    @Option(help: "With --forecast-every: the QOS table (`sacctmgr -P show qos format=Name,Priority,Preempt,PreemptMode,GraceTime`).")
    var slurmQos: String?
    @Option(help: "With --forecast-every: seeded replicas per forecast.") var replicas: Int = 20
    @Option(help: "With --forecast-every: the seed.") var seed: UInt64 = 1
    @Option(help: "With --forecast-every: how far ahead each forecast's job-count series runs (`twin score` scores it to there).")
    var seriesHorizon: PollInterval = .seriesDefault
    @Flag(help: "Continue the database's last twin session (same source) instead of starting a new one: its stored observations rebuild the mirror, polls and events carry on where they stopped; a capture resumes at its next poll.")
    var resume = false

    func run() async throws {
        guard forecastEvery >= 0, (1...10_000).contains(replicas) else {
            throw InvalidInput(message: "--forecast-every must be >= 0 and --replicas from 1 to 10000")
        }
        if forecastEvery > 0 { noteSlurmDefaults(slurmConf) }
        let forecastConfiguration: SlurmConfiguration?
        do { forecastConfiguration = forecastEvery > 0 ? try SlurmConfiguration.read(conf: slurmConf, qos: slurmQos) : nil } catch {
            throw InvalidInput(message: error.description)
        }
        var history = FinishedRuns()
        var source: any PollSource
        var origin: String
        if let replayPolls {
            guard live.rest == nil else { throw InvalidInput(message: "--replay-polls reads a capture; leave out --rest") }
            do { source = try CapturedPolls(directory: replayPolls) } catch { throw InvalidInput(message: error.description) }
            origin = "capture \(replayPolls)"
        } else {
            (source, origin) = try live.source()
        }
        let store = try ResultStore(path: db)
        var mirror = SlurmMirror()
        let session: Int64, first: Int
        if resume {
            (session, first) = try resumeSession(store, origin: origin, mirror: &mirror, history: &history)
            // A capture carries on at the poll after the last one stored.
            for _ in 0..<(replayPolls == nil ? 0 : first) { _ = source.next() }
        } else {
            session = try store.beginTwinSession(source: origin, version: FleetTwinEngine.buildIdentity)
            first = 0
        }
        var polls = 0, taken = 0
        var counts: [TwinEvent.Kind: Int] = [:]  // printed in Kind's declared order
        while limits.maxPolls.map({ polls < $0 }) ?? true {
            let began = Date()
            guard let poll = source.next(since: mirror.last?.time) else { break }
            let step: SlurmMirror.Step
            switch poll {
            case .replies(let replies):
                step = mirror.observe(replies)
            case .failed(let time, let message):
                step = mirror.failed(time: time ?? mirror.lastTime, message: message)
            }
            let number = first + polls
            try store.appendTwinPoll(session: session, poll: number, step: step)
            if let observation = step.observation, let configuration = forecastConfiguration {
                history.add(observation)
                // Forecasts at every N-th poll, from what the twin knows then; kept to be scored.
                if number % forecastEvery == 0 {
                    let made = try await forecastRows(observation, epoch: mirror.epoch, poll: number, history: history.runs, configuration: configuration,
                                                      replicas: replicas, seed: seed, seriesHorizon: seriesHorizon.microseconds)
                    try store.appendTwinForecasts(session: session, made.rows, series: made.series)
                }
            }
            polls += 1
            if step.observation != nil { taken += 1 }
            for event in step.events { counts[event.kind, default: 0] += 1 }
            report(step, quiet: quiet)
            if limits.untilIdle, mirror.isIdle { break }
            if replayPolls == nil, limits.maxPolls.map({ polls < $0 }) ?? true {
                let wait = limits.interval.seconds - Date().timeIntervalSince(began)
                if wait > 0 { pause(seconds: wait) }
            }
        }
        let kinds = TwinEvent.Kind.allCases.compactMap { kind in counts[kind].map { "\(kind.rawValue) \($0)" } }
        print("twin session \(session) in \(db)" + (resume ? ", resumed at poll \(first)" : "") + ": \(polls) polls (\(taken) taken, \(polls - taken) refused), "
              + "\(counts.values.reduce(0, +)) events" + (kinds.isEmpty ? "" : ": " + kinds.joined(separator: ", ")))
    }
}

/// Continues the last twin session in `store` (`twin slurm --resume`): refused unless it
/// followed `origin` (the same capture directory as given, or the live cluster with the same
/// SLURM_CONF). Its stored observations, in poll order, with the sacct records the mirror used
/// at each, are applied again to a fresh mirror (their events, already stored, are dropped)
/// and to the run-time history, which rebuilds
/// both as they were after the last stored poll. Returns the session and the next poll
/// number. Not rebuilt: a pending `emptyReply` skip (a refused poll stores no observation),
/// so an empty reply right after a restart is taken at once, nor a sacct trouble logged before
/// the stop (logged again if it persists).
func resumeSession(_ store: ResultStore, origin: String, mirror: inout SlurmMirror, history: inout FinishedRuns) throws -> (Int64, Int) {
    guard let last = try store.twinSessions().last else {
        throw InvalidInput(message: "--resume: \(store.path) holds no twin session to continue (leave out --resume to start one)")
    }
    guard last.source == origin else {
        throw InvalidInput(message: "--resume: twin session \(last.id) in \(store.path) followed \(last.source), not \(origin); resume it from the same source")
    }
    for stored in try store.twinObservations(session: last.id) {
        let observation = stored.observation
        _ = mirror.apply(observation, accounting: stored.accounting)
        history.add(observation)
    }
    return (last.id, last.polls)
}

struct TwinCapture: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "capture",
        abstract: "Record a live Slurm cluster's replies in the capture format `twin slurm --replay-polls` reads.",
        discussion: """
            Each poll writes squeue-NNNN.json, sinfo-NNNN.json and sacct-NNNN.json (byte for byte what \
            `squeue --json`, `sinfo --json` and `sacct --json` for the runs since the previous poll printed; \
            sacct-NNNN.err instead when sacct failed) and at-NNNN.txt (the observation's Unix time, seconds with \
            six decimals); a failed poll writes only its at file, and is logged on standard error.
            Example:
              fleettwin twin capture run1/polls --interval 2s --until-idle
              fleettwin twin slurm --replay-polls run1/polls --db twin.sqlite
            """)

    @Argument(help: "The directory to write (created when missing).") var directory: String
    @OptionGroup var limits: PollLimits
    @OptionGroup var live: LiveOptions

    func run() throws {
        let capture: PollCapture
        do { capture = try PollCapture(directory: directory) } catch {
            throw InvalidInput(message: "\(directory): cannot create the directory (\(error.localizedDescription))")
        }
        var (source, _) = try live.source()
        var mirror = SlurmMirror()  // to know when the cluster is idle, and since when to ask sacct
        var polls = 0
        while limits.maxPolls.map({ polls < $0 }) ?? true {
            let began = Date()
            guard let poll = source.next(since: mirror.last?.time) else { break }
            try capture.write(poll, index: polls, fallbackTime: wallClockMicroseconds())
            polls += 1
            switch poll {
            case .replies(let replies):
                report(mirror.observe(replies), quiet: true)
            case .failed(let time, let message):
                report(mirror.failed(time: time ?? mirror.lastTime, message: message), quiet: true)
            }
            if limits.untilIdle, mirror.isIdle { break }
            if limits.maxPolls.map({ polls < $0 }) ?? true {
                let wait = limits.interval.seconds - Date().timeIntervalSince(began)
                if wait > 0 { pause(seconds: wait) }
            }
        }
        print("captured \(polls) polls in \(directory)")
    }
}

struct TwinExport: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Write a twin session's observation log as a native trace, and the fleet it last saw as a fleet file.",
        discussion: """
            The trace has one job per observed job with its recorded start, end, status and attempts, for \
            `replay --compare-recorded`; jobs not finished, never started or without GPUs are skipped rows with \
            their reason. The fleet comes from the session's last sinfo, one cluster per GPU type and count.
            Example:
              fleettwin twin export --db twin.sqlite --out twin.jsonl
              fleettwin replay twin.jsonl --fleet twin-fleet.yaml --policy slurm --slurm-conf slurm.conf --slurm-qos qos.psv --compare-recorded
            """)

    @Option(help: "The results database holding the session.") var db: String = ResultStore.defaultPath
    @Option(help: "Where to write the trace.") var out: String
    @Option(help: "Where to write the fleet (default: the trace's name with -fleet.yaml).") var fleetOut: String?
    @Option(help: "The session's id (default: the last one).") var session: Int64?
    @Flag(help: "Print the trace's and the fleet's results as one JSON object {trace, fleet}.") var json = false

    func run() throws {
        let store: ResultStore
        do { store = try ResultStore(existingPath: db) } catch let error as MissingDatabase { throw InvalidInput(message: error.description) }
        let sessions = try store.twinSessions()
        guard let chosen = session ?? sessions.last?.id else { throw InvalidInput(message: "no twin session in \(db) (run `fleettwin twin slurm --db \(db)` first)") }
        guard sessions.contains(where: { $0.id == chosen }) else {
            throw InvalidInput(message: "no twin session \(chosen) in \(db); stored: \(sessions.map { String($0.id) }.joined(separator: ", "))")
        }
        for path in [out, fleetPath] {
            let folder = URL(fileURLWithPath: path).deletingLastPathComponent().path
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: folder, isDirectory: &isDirectory), isDirectory.boolValue else {
                throw InvalidInput(message: "\(path): there is no folder \(folder) to write it in")
            }
        }
        let name = "twin-session-\(chosen)"
        let trace = try TwinTraceExport.write(events: try store.twinEvents(session: chosen), to: out, name: name,
                                              source: "fleettwin twin export of session \(chosen) from \(db)")
        guard let last = try store.lastTwinSnapshot(session: chosen) else {
            throw InvalidInput(message: "twin session \(chosen) in \(db) took no observation, so there is no fleet to write")
        }
        let fleet = try TwinTraceExport.writeFleet(nodes: last.snapshot.nodes, to: fleetPath, name: name)
        if json {
            print("{\"trace\":\(trace.json),\"fleet\":\(fleet.json)}")
        } else {
            print(trace.text)
            print(fleet.text)
        }
    }

    var fleetPath: String {
        fleetOut ?? (URL(fileURLWithPath: out).deletingPathExtension().path + "-fleet.yaml")
    }
}

/// The wall clock in Unix microseconds: when the live twin observes a poll (its edge; the
/// model never reads it).
@Sendable func wallClockMicroseconds() -> Int64 { Int64((Date().timeIntervalSince1970 * 1_000_000).rounded()) }

/// Waits on the wall clock between live polls (the twin's edge; nothing in the model waits).
func pause(seconds: Double) {
    Thread.sleep(forTimeInterval: seconds)
}
