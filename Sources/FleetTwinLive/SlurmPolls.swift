import Foundation

/// What one poll read: both replies of squeue and sinfo, observed at `time`, and sacct's when
/// it was asked (or why it could not answer). The sources name where each came from, for
/// error messages.
public struct PollReplies: Sendable {
    /// `squeue --json`'s reply and where it came from (a file, or the command).
    public var squeue: Data
    public var squeueSource: String
    /// `sinfo --json`'s reply and where it came from.
    public var sinfo: Data
    public var sinfoSource: String
    /// When the poll was observed: Unix µs (when squeue answered).
    public var time: Int64
    /// `sacct --json`'s reply; nil when sacct was not asked (a capture without sacct files).
    public var sacct: Data?
    public var sacctSource: String
    /// Why sacct gave no reply (it failed or ran too long; no slurmdbd); nil when it answered
    /// or was not asked. squeue and sinfo are taken all the same.
    public var sacctFailure: String?

    public init(squeue: Data, sinfo: Data, time: Int64, squeueSource: String = "squeue --json", sinfoSource: String = "sinfo --json",
                sacct: Data? = nil, sacctSource: String = "sacct --json", sacctFailure: String? = nil) {
        self.squeue = squeue
        self.squeueSource = squeueSource
        self.sinfo = sinfo
        self.sinfoSource = sinfoSource
        self.time = time
        self.sacct = sacct
        self.sacctSource = sacctSource
        self.sacctFailure = sacctFailure
    }
}

/// One poll's raw material: the replies, or why there are none.
public enum Poll: Sendable {
    /// The replies read at one observation.
    case replies(PollReplies)
    /// No replies: a command failed or a captured file is missing (`time`: when, Unix µs, or
    /// nil when unknown).
    case failed(time: Int64?, message: String)
}

/// Where polls come from: the live cluster, or a captured directory.
public protocol PollSource {
    /// The next poll; nil when there is none (a capture's end; never for a live cluster).
    /// `since` is the last observation the caller applied (Unix µs), from which a live source
    /// asks sacct for the runs since; nil before the first.
    mutating func next(since: Int64?) -> Poll?
}

extension PollSource {
    /// The next poll, with no observation applied before it.
    public mutating func next() -> Poll? { next(since: nil) }
}

/// Reads a captured run (../shared/slurm/capture-seed8/README.md's format): `squeue-NNNN.json`,
/// `sinfo-NNNN.json` and `at-NNNN.txt` (the observation's Unix time, seconds with up to nine
/// decimals) for NNNN = 0000, 0001, ... in numeric order, and, where present, `sacct-NNNN.json`
/// (that poll's `sacct --json`) or `sacct-NNNN.err` (why sacct failed then); a capture without
/// sacct files (older ones, capture-seed8) is read without sacct. A poll whose squeue, sinfo or
/// at file is missing or whose time cannot be read is a `.failed` poll, so the mirror logs it
/// and goes on.
public struct CapturedPolls: PollSource {
    /// The capture directory.
    public let directory: String
    /// The poll numbers found (from the squeue, sinfo and at files), ascending.
    public let indices: [Int]
    private var position = 0

    /// Lists the directory; throws `MalformedReply` when it cannot be read or holds no poll.
    public init(directory: String) throws(MalformedReply) {
        self.directory = directory
        let names: [String]
        do { names = try FileManager.default.contentsOfDirectory(atPath: directory) } catch {
            throw MalformedReply(source: directory, message: "cannot list the directory (\(error.localizedDescription)); expected a capture: squeue-NNNN.json, sinfo-NNNN.json, at-NNNN.txt")
        }
        var found: Set<Int> = []  // membership only; sorted below
        for name in names {
            for (prefix, suffix) in [("squeue-", ".json"), ("sinfo-", ".json"), ("at-", ".txt")]
            where name.hasPrefix(prefix) && name.hasSuffix(suffix) {
                let digits = name.dropFirst(prefix.count).dropLast(suffix.count)
                if !digits.isEmpty, digits.allSatisfy(\.isASCII), let n = Int(digits), n >= 0 { found.insert(n) }
            }
        }
        guard !found.isEmpty else {
            throw MalformedReply(source: directory, message: "no poll files; expected a capture: squeue-NNNN.json, sinfo-NNNN.json, at-NNNN.txt")
        }
        indices = found.sorted()
    }

    /// The file name of poll `index`: `PREFIX-NNNN.SUFFIX` (four digits at least).
    public static func name(_ prefix: String, _ index: Int, _ suffix: String) -> String {
        let digits = String(index)
        return prefix + "-" + String(repeating: "0", count: max(0, 4 - digits.count)) + digits + suffix
    }

    /// The next poll in number order; nil after the last (`since` is not needed: the capture
    /// holds what sacct said then).
    public mutating func next(since: Int64?) -> Poll? {
        guard position < indices.count else { return nil }
        let index = indices[position]
        position += 1
        func path(_ prefix: String, _ suffix: String) -> String {
            URL(fileURLWithPath: directory).appendingPathComponent(Self.name(prefix, index, suffix)).path
        }
        let at = path("at", ".txt"), squeue = path("squeue", ".json"), sinfo = path("sinfo", ".json")
        guard let atData = FileManager.default.contents(atPath: at) else {
            return .failed(time: nil, message: "\(at): missing; poll \(index) has no observation time")
        }
        let text = String(decoding: atData, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        guard let time = Self.microseconds(text) else {
            return .failed(time: nil, message: "\(at): '\(text.prefix(40))' is not a Unix time in seconds (such as 1795972238.490683798)")
        }
        let missing = [squeue, sinfo].filter { !FileManager.default.fileExists(atPath: $0) }
        guard missing.isEmpty, let q = FileManager.default.contents(atPath: squeue), let s = FileManager.default.contents(atPath: sinfo) else {
            return .failed(time: time, message: "\(missing.first ?? squeue): missing or unreadable")
        }
        var replies = PollReplies(squeue: q, sinfo: s, time: time, squeueSource: squeue, sinfoSource: sinfo)
        let sacct = path("sacct", ".json"), sacctError = path("sacct", ".err")
        if let data = FileManager.default.contents(atPath: sacct) {
            replies.sacct = data
            replies.sacctSource = sacct
        } else if let data = FileManager.default.contents(atPath: sacctError) {
            replies.sacctFailure = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        }
        return .replies(replies)
    }

    /// Unix seconds with up to nine decimals (`1795972238.490683798`) as whole microseconds,
    /// read exactly (no floating point); nil when the text is not that.
    public static func microseconds(_ text: String) -> Int64? {
        let parts = text.split(separator: ".", maxSplits: 1, omittingEmptySubsequences: false)
        guard let whole = parts.first, !whole.isEmpty, whole.allSatisfy({ $0.isASCII && $0.isNumber }),
              let seconds = Int64(whole), seconds < 100_000_000_000 else { return nil }
        var micros: Int64 = 0
        if parts.count == 2 {
            let fraction = parts[1]
            guard !fraction.isEmpty, fraction.count <= 9, fraction.allSatisfy({ $0.isASCII && $0.isNumber }) else { return nil }
            let six = String((fraction + "000000").prefix(6))
            micros = Int64(six)!
        }
        return seconds * 1_000_000 + micros
    }

    /// `time` (Unix µs) as the capture writes it: seconds with six decimals.
    public static func text(_ time: Int64) -> String {
        let fraction = String(time % 1_000_000)
        return "\(time / 1_000_000)." + String(repeating: "0", count: 6 - fraction.count) + fraction
    }
}

/// The live cluster: runs `squeue --json`, `sinfo --json` and `sacct --json` (found on PATH,
/// with the environment's SLURM_CONF and everything else inherited) once per poll. squeue or
/// sinfo that cannot start, exits with an error or runs over `timeout` seconds is a `.failed`
/// poll; sacct failing (no slurmdbd: "Slurm accounting storage is disabled") is said in the
/// replies and the poll is taken without it. Pacing between polls is the caller's.
///
/// sacct is asked for every user's runs since the caller's last observation, less a margin
/// (`sacctMargin`, for records slurmdbd writes late): `sacct --json --allusers --duplicates
/// --starttime now-N` (N seconds; `now-N` is sacct's relative time, so neither side's time
/// zone matters). `--duplicates` keeps the records of an earlier job under a reused id.
public struct LiveSlurm: PollSource {
    /// Seconds a command may run before it is stopped and the poll fails.
    public var timeout: TimeInterval
    /// The commands' environment (SLURM_CONF, PATH; the process's own by default).
    public var environment: [String: String]
    /// When a poll is observed, in Unix microseconds: the wall clock, read by the caller at
    /// the twin's edge (`fleettwin twin`), so that nothing in this module reads a clock.
    public var clock: @Sendable () -> Int64

    /// Seconds of sacct's window before the last observation (and the whole window before the
    /// first): records slurmdbd wrote late are still asked for.
    public var sacctMargin: Int64 = 30
    /// Whether sacct is asked at all.
    public var sacct: Bool

    public init(clock: @escaping @Sendable () -> Int64, timeout: TimeInterval = 60,
                environment: [String: String] = ProcessInfo.processInfo.environment, sacct: Bool = true) {
        self.clock = clock
        self.timeout = timeout
        self.environment = environment
        self.sacct = sacct
    }

    /// sacct's arguments for the runs since `since` (Unix µs; nil: the margin only), seen at `now`.
    public func sacctArguments(since: Int64?, now: Int64) -> [String] {
        let back = since.map { max(0, now - $0 + 999_999) / 1_000_000 } ?? 0
        return ["sacct", "--json", "--allusers", "--duplicates", "--starttime", "now-\(back + sacctMargin)"]
    }

    /// Runs `squeue --json`, then `sinfo --json`, then sacct for the runs since `since`; never nil.
    public mutating func next(since: Int64?) -> Poll? {
        let squeue = Self.run(["squeue", "--json"], timeout: timeout, environment: environment)
        // The observation's time: when squeue answered (sinfo follows within milliseconds).
        let time = clock()
        guard case .success(let jobs) = squeue else { return .failed(time: time, message: squeue.failure) }
        let sinfo = Self.run(["sinfo", "--json"], timeout: timeout, environment: environment)
        guard case .success(let nodes) = sinfo else { return .failed(time: time, message: sinfo.failure) }
        var replies = PollReplies(squeue: jobs, sinfo: nodes, time: time)
        guard sacct else { return .replies(replies) }
        let arguments = sacctArguments(since: since, now: time)
        switch Self.run(arguments, timeout: timeout, environment: environment) {
        case .success(let runs): replies.sacct = runs
        case .failure(let message): replies.sacctFailure = message
        }
        replies.sacctSource = arguments.joined(separator: " ")
        return .replies(replies)
    }


    /// What a command gave: its standard output, or why it gave none.
    public enum Outcome: Sendable {
        case success(Data)
        case failure(String)

        var failure: String { if case .failure(let m) = self { return m } else { return "" } }
    }

    /// Runs `arguments` through /usr/bin/env (so PATH finds the command). Output goes to
    /// temporary files, not pipes (Foundation's pipe reads trap on EINTR).
    public static func run(_ arguments: [String], timeout: TimeInterval, environment: [String: String]) -> Outcome {
        let command = arguments.joined(separator: " ")
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("fleettwin-twin-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        do {
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            let out = folder.appendingPathComponent("stdout"), err = folder.appendingPathComponent("stderr")
            _ = FileManager.default.createFile(atPath: out.path, contents: nil)
            _ = FileManager.default.createFile(atPath: err.path, contents: nil)
            let outHandle = try FileHandle(forWritingTo: out), errHandle = try FileHandle(forWritingTo: err)
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            process.arguments = arguments
            process.environment = environment
            process.standardOutput = outHandle
            process.standardError = errHandle
            let done = DispatchSemaphore(value: 0)
            process.terminationHandler = { _ in done.signal() }
            try process.run()
            let timedOut = done.wait(timeout: .now() + timeout) == .timedOut
            if timedOut {
                process.terminate()
                done.wait()
            }
            try outHandle.close()
            try errHandle.close()
            let stderr = String(decoding: (try? Data(contentsOf: err)) ?? Data(), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            if timedOut { return .failure("`\(command)` ran over \(Int(timeout)) s and was stopped") }
            guard process.terminationReason == .exit, process.terminationStatus == 0 else {
                let status = process.terminationReason == .exit ? "exited with \(process.terminationStatus)" : "was killed by signal \(process.terminationStatus)"
                return .failure("`\(command)` \(status)" + (stderr.isEmpty ? "" : ": \(stderr.prefix(500))"))
            }
            return .success(try Data(contentsOf: out))
        } catch {
            return .failure("`\(command)` could not run: \(error.localizedDescription)")
        }
    }
}
