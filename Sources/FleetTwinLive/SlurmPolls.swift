import Foundation

/// One poll's raw material: both replies and when they were observed, or why there are none.
public enum Poll: Sendable {
    /// The replies of `squeue --json` and `sinfo --json`, observed at `time` (Unix µs);
    /// `squeueSource` and `sinfoSource` name where they came from, for error messages.
    case replies(squeue: Data, sinfo: Data, time: Int64, squeueSource: String, sinfoSource: String)
    /// No replies: a command failed or a captured file is missing (`time`: when, Unix µs, or
    /// nil when unknown).
    case failed(time: Int64?, message: String)
}

/// Where polls come from: the live cluster, or a captured directory.
public protocol PollSource {
    /// The next poll; nil when there is none (a capture's end; never for a live cluster).
    mutating func next() -> Poll?
}

/// Reads a captured run (../shared/slurm/capture-seed8/README.md's format): `squeue-NNNN.json`,
/// `sinfo-NNNN.json` and `at-NNNN.txt` (the observation's Unix time, seconds with up to nine
/// decimals) for NNNN = 0000, 0001, ... in numeric order. A poll whose files are incomplete or
/// whose time cannot be read is a `.failed` poll, so the mirror logs it and goes on.
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

    /// The next poll in number order; nil after the last.
    public mutating func next() -> Poll? {
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
        return .replies(squeue: q, sinfo: s, time: time, squeueSource: squeue, sinfoSource: sinfo)
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

/// The live cluster: runs `squeue --json` and `sinfo --json` (found on PATH, with the
/// environment's SLURM_CONF and everything else inherited) once per poll. A command that
/// cannot start, exits with an error or runs over `timeout` seconds is a `.failed` poll.
/// Pacing between polls is the caller's.
public struct LiveSlurm: PollSource {
    /// Seconds a command may run before it is stopped and the poll fails.
    public var timeout: TimeInterval
    /// The commands' environment (SLURM_CONF, PATH; the process's own by default).
    public var environment: [String: String]
    /// When a poll is observed, in Unix microseconds: the wall clock, read by the caller at
    /// the twin's edge (`fleettwin twin`), so that nothing in this module reads a clock.
    public var clock: @Sendable () -> Int64

    public init(clock: @escaping @Sendable () -> Int64, timeout: TimeInterval = 60,
                environment: [String: String] = ProcessInfo.processInfo.environment) {
        self.clock = clock
        self.timeout = timeout
        self.environment = environment
    }

    /// Runs `squeue --json`, then `sinfo --json`; never nil.
    public mutating func next() -> Poll? {
        let squeue = Self.run(["squeue", "--json"], timeout: timeout, environment: environment)
        // The observation's time: when squeue answered (sinfo follows within milliseconds).
        let time = clock()
        guard case .success(let jobs) = squeue else { return .failed(time: time, message: squeue.failure) }
        let sinfo = Self.run(["sinfo", "--json"], timeout: timeout, environment: environment)
        guard case .success(let nodes) = sinfo else { return .failed(time: time, message: sinfo.failure) }
        return .replies(squeue: jobs, sinfo: nodes, time: time, squeueSource: "squeue --json", sinfoSource: "sinfo --json")
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
